//! The reporter's HTML pages, driven like a browser without JavaScript: raise a concern, keep
//! the case key, come back through the mailbox.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use speakup::crypto::{CaseKey, KeyKind, KeyPair, Secret, SubmissionToken};
use speakup::ids::{CaseId, EventId, OrganisationId, UserId};
use speakup::procedure::{Anonymity, Event, EventKind, Outcome, Service, Topic};
use speakup::service::intake::{NewConcern, Receipt, ReporterIdentity};
use speakup::store::organisations::Organisation;
use speakup::store::wraps::{self, Recipient};
use speakup::store::{StoreError, cases, events};

use crate::browser::{Browser, Page, html_unescape};
use crate::support::TestApp;

const MAILBOX_COOKIE: &str = "__Host-speakup-mailbox";

// ---------------------------------------------------------------------------------------------
// Reading pages

/// Every start tag `<name …>` in `html`, as written.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = html[from..].find(&open) {
        let start = from + offset;
        let after = start + open.len();
        let is_tag = html[after..].starts_with(|c: char| c.is_whitespace() || c == '>');
        let end = html[after..]
            .find('>')
            .map_or(html.len(), |e| after + e + 1);
        if is_tag {
            found.push(&html[start..end]);
        }
        from = after;
    }
    found
}

/// The value of `name="…"` in a tag, unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(html_unescape(&tag[start..end]))
}

/// Whether a boolean attribute such as `checked` is present.
fn flag(tag: &str, name: &str) -> bool {
    let marker = format!(" {name}");
    tag.match_indices(&marker)
        .any(|(index, _)| tag[index + marker.len()..].starts_with(['>', ' ', '=']))
}

/// The markup of the `<form>` posting to `action`.
fn form<'a>(page: &'a Page, action: &str) -> &'a str {
    let body = page.body.as_str();
    let tag = tags(body, "form")
        .into_iter()
        .find(|tag| attr(tag, "action").as_deref() == Some(action))
        .unwrap_or_else(|| panic!("no form posting to {action}:\n{body}"));
    let start = body.find(tag).unwrap();
    let end = start + body[start..].find("</form>").unwrap();
    &body[start..end]
}

/// What a browser would send for that form before any button is added: hidden and text inputs,
/// ticked boxes and chosen radios, and textareas.
fn form_fields(page: &Page, action: &str) -> Vec<(String, String)> {
    let markup = form(page, action);
    let mut fields = Vec::new();
    for tag in tags(markup, "input") {
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        let kind = attr(tag, "type").unwrap_or_else(|| "text".to_owned());
        match kind.as_str() {
            "checkbox" | "radio" if !flag(tag, "checked") => {}
            "submit" | "button" => {}
            _ => fields.push((name, attr(tag, "value").unwrap_or_default())),
        }
    }
    for tag in tags(markup, "textarea") {
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        let start = markup.find(tag).unwrap() + tag.len();
        let end = start + markup[start..].find("</textarea>").unwrap();
        fields.push((name, html_unescape(&markup[start..end])));
    }
    fields
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(key, _)| key != name);
    fields.push((name.to_owned(), value.to_owned()));
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn refs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect()
}

/// The `<input>` with this id.
fn input_by_id<'a>(page: &'a Page, id: &str) -> &'a str {
    tags(&page.body, "input")
        .into_iter()
        .find(|tag| attr(tag, "id").as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no input #{id}"))
}

fn textarea_text(page: &Page, name: &str) -> String {
    let tag = tags(&page.body, "textarea")
        .into_iter()
        .find(|tag| {
            attr(tag, "name").as_deref() == Some(name) || attr(tag, "id").as_deref() == Some(name)
        })
        .unwrap_or_else(|| panic!("no textarea {name}"));
    let start = page.body.find(tag).unwrap() + tag.len();
    let end = start + page.body[start..].find("</textarea>").unwrap();
    html_unescape(&page.body[start..end])
}

fn case_key_on(page: &Page) -> String {
    let marker = "<p class=\"case-key\"";
    let start = page.body.find(marker).expect("a case key on the page") + marker.len();
    let start = start + page.body[start..].find('>').unwrap() + 1;
    let end = start + page.body[start..].find("</p>").unwrap();
    // The key is split into groups for display; its text is what a reader copies.
    let mut text = String::new();
    let mut in_tag = false;
    for c in page.body[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    html_unescape(text.trim())
}

/// Visible text, with the space `Page::text` leaves after `</strong>` before a comma removed.
fn words(page: &Page) -> String {
    page.text().replace(" ,", ",")
}

/// A basic accessibility self-check of one page.
fn assert_accessible(page: &Page, what: &str) {
    let html = page.body.as_str();
    assert!(html.contains("<html lang=\"en-GB\">"), "{what}: language");
    assert_eq!(tags(html, "h1").len(), 1, "{what}: exactly one h1");
    assert!(!html.contains("style="), "{what}: inline style");
    // Scripts only from the portal, pinned by integrity (issue 14); never inline. Every page
    // works without them.
    for tag in tags(html, "script") {
        assert!(
            attr(tag, "src").is_some_and(|src| src.starts_with("/static/"))
                && attr(tag, "integrity").is_some_and(|i| i.starts_with("sha384-")),
            "{what}: script {tag}"
        );
    }
    assert_eq!(
        html.to_lowercase().matches("<script").count(),
        tags(html, "script").len(),
        "{what}: script"
    );
    assert!(html.contains("<title>"), "{what}: title");

    let mut ids = BTreeSet::new();
    for (index, _) in html.match_indices(" id=\"") {
        let start = index + 5;
        let end = start + html[start..].find('"').unwrap();
        assert!(
            ids.insert(html[start..end].to_owned()),
            "{what}: duplicate id {}",
            &html[start..end]
        );
    }
    for name in ["input", "textarea", "select"] {
        for tag in tags(html, name) {
            if attr(tag, "type").as_deref() == Some("hidden") {
                continue;
            }
            let id = attr(tag, "id").unwrap_or_else(|| panic!("{what}: {tag} has no id"));
            assert!(
                html.contains(&format!("<label for=\"{id}\"")),
                "{what}: {tag} has no label"
            );
        }
    }
    for tag in tags(html, "input")
        .into_iter()
        .chain(tags(html, "textarea"))
        .chain(tags(html, "fieldset"))
    {
        if let Some(described) = attr(tag, "aria-describedby") {
            for id in described.split_whitespace() {
                assert!(ids.contains(id), "{what}: {tag} describedby missing #{id}");
            }
        }
    }
    assert_eq!(
        tags(html, "fieldset").len(),
        tags(html, "legend").len(),
        "{what}: every fieldset has a legend"
    );
    for radio in tags(html, "input")
        .into_iter()
        .filter(|tag| attr(tag, "type").as_deref() == Some("radio"))
    {
        let position = html.find(radio).unwrap();
        let opened = html[..position].matches("<fieldset").count();
        let closed = html[..position].matches("</fieldset>").count();
        assert!(opened > closed, "{what}: {radio} outside a fieldset");
    }
    // Headings never skip a level on the way down.
    let mut previous = 0;
    for (index, _) in html.match_indices("<h") {
        let Some(level) = html[index + 2..]
            .chars()
            .next()
            .and_then(|c| c.to_digit(10))
        else {
            continue;
        };
        assert!(level <= previous + 1, "{what}: h{level} after h{previous}");
        previous = level;
    }
    for link in tags(html, "a") {
        if attr(link, "href").is_some_and(|href| href.starts_with("http")) {
            assert_eq!(
                attr(link, "rel").as_deref(),
                Some("noreferrer noopener"),
                "{what}: {link}"
            );
        }
    }
}

fn set_cookie_for<'a>(page: &'a Page, name: &str) -> Option<&'a str> {
    page.headers
        .get_all("set-cookie")
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
}

fn case_by_reference(app: &TestApp, reference: &str) -> cases::Case {
    app.portal()
        .store
        .read(|tx| cases::find_by_reference(tx, reference))
        .unwrap()
        .expect("the case exists")
}

fn cases_in(app: &TestApp, slug: &str) -> usize {
    let organisation: OrganisationId = app.portal().organisation_by_slug(slug).unwrap().id;
    app.portal()
        .store
        .read(|tx| cases::in_organisation(tx, &organisation))
        .unwrap()
        .len()
}

/// A concern raised straight through the service, for the mailbox tests.
fn raise(app: &TestApp, anonymity: Anonymity) -> Receipt {
    app.portal()
        .submit_concern(NewConcern {
            organisation: "nhs-testshire".to_owned(),
            service: Service::Nhs,
            anonymity,
            topic: Topic::General,
            concern: Secret::new("Medicines are left unlocked on ward 3.".to_owned()),
            became_aware_on: None,
            exclude: Vec::new(),
            identity: (anonymity == Anonymity::Confidential).then(|| ReporterIdentity {
                name: Secret::new("Sam Student".to_owned()),
                contact: Secret::new("07700 900111".to_owned()),
            }),
        })
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The whole journey

#[actix_web::test]
async fn a_reporter_raises_a_concern_keeps_the_key_and_uses_the_mailbox() {
    let app = TestApp::new();
    let staff = app.staff();
    let (cora, colm) = (&staff.contacts[0], &staff.contacts[1]);
    let mut browser = Browser::new(app.service().await);

    // The start page leads to both journeys and keeps its explanations.
    let start = browser.get("/").await;
    assert_eq!(start.status, StatusCode::OK);
    assert_accessible(&start, "start page");
    assert!(start.body.contains("href=\"/concerns/new\""));
    assert!(start.body.contains("href=\"/mailbox\""));
    let text = start.text();
    for words in [
        "Raise a concern",
        "Check your concern with your case key",
        "Anonymous",
        "Confidential",
        "INWO",
        "5 working days",
    ] {
        assert!(text.contains(words), "{words}");
    }

    // With one organisation the list is skipped.
    let only = browser.get("/concerns/new").await;
    assert_eq!(only.status, StatusCode::SEE_OTHER);
    assert_eq!(
        only.location().as_deref(),
        Some("/concerns/new?organisation=nhs-testshire")
    );

    // With two, the reporter chooses.
    app.portal()
        .add_organisation(
            "nhs-otherfield",
            "NHS Otherfield",
            speakup::service::organisations::ServiceSet {
                nhs: true,
                local_authority: false,
            },
        )
        .unwrap();
    app.add_person(
        "nhs-otherfield",
        "olga@otherfield.scot",
        "Olga Other",
        speakup::model::Role::Contact,
        true,
    );
    let choose = browser.get("/concerns/new").await;
    assert_eq!(choose.status, StatusCode::OK);
    assert_accessible(&choose, "organisation list");
    assert!(choose.text().contains("NHS Testshire"));
    assert!(choose.text().contains("NHS Otherfield"));
    assert!(choose.body.contains("id=\"organisation-nhs-testshire\""));
    let nothing_chosen = browser.get("/concerns/new?organisation=").await;
    assert_eq!(nothing_chosen.status, StatusCode::BAD_REQUEST);
    assert_accessible(&nothing_chosen, "organisation list with an error");
    assert!(nothing_chosen.text().contains("Choose the organisation"));

    // The form: both services offered, every contact ticked.
    let form_page = browser
        .get("/concerns/new?organisation=nhs-testshire")
        .await;
    assert_eq!(form_page.status, StatusCode::OK, "{}", form_page.body);
    assert_accessible(&form_page, "concern form");
    let text = words(&form_page);
    assert!(text.contains("Raise a concern with NHS Testshire"));
    assert!(text.contains("20,000 characters"));
    assert!(text.contains("the INWO cannot review"));
    assert!(text.contains("Check before sending"));
    assert!(!text.contains("recovery key"), "no recovery key configured");
    for contact in [cora, colm] {
        assert!(text.contains(&format!(
            "{}, {}'s job: can read my concern",
            contact.name, contact.name
        )));
        assert!(flag(
            input_by_id(&form_page, &format!("reader-{}", contact.id)),
            "checked"
        ));
    }
    assert!(form_page.body.contains("id=\"service-nhs\""));
    // A text box that takes the date as people write it, not a browser date picker.
    assert!(!form_page.body.contains("type=\"date\""));
    assert!(text.contains("For example 1 October 2026 or 1/10/2026"));

    // Fill it in, leaving Colm out.
    let concern_text = "The night shift on ward 7 is left with one nurse.\nIt has happened three times this month.";
    let mut fields = form_fields(&form_page, "/concerns/check");
    set(&mut fields, "service", "nhs");
    set(&mut fields, "anonymity", "confidential");
    set(&mut fields, "name", "Rowan Reporter");
    set(&mut fields, "contact", "07700 900456");
    set(&mut fields, "became_aware_on", "1/10/2026");
    set(&mut fields, "public_money", "yes");
    set(&mut fields, "concern", concern_text);
    fields.retain(|(key, _)| key != &format!("reader_{}", colm.id));
    assert_eq!(field(&fields, &format!("reader_{}", cora.id)), Some("yes"));

    let review = browser.post_form("/concerns/check", &refs(&fields)).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert_accessible(&review, "review page");
    let text = words(&review);
    assert!(text.contains("Check your concern before sending it"));
    assert!(text.contains("Cora Contact, Cora Contact's job"));
    assert!(
        text.contains("any files for 6 years after the last thing that happens on it"),
        "the page says how long it is kept"
    );
    assert!(
        !text.contains("Colm Contact"),
        "the excluded contact is not listed"
    );
    assert!(
        !review.body.contains(colm.id.as_str()),
        "nor carried in a field"
    );
    assert!(text.contains("You chose: confidential"));
    assert!(text.contains("Rowan Reporter"));
    assert!(text.contains("Thursday 1 October 2026"));
    assert!(text.contains("About public money or fraud Yes"));
    assert!(
        review
            .body
            .contains("The night shift on ward 7 is left with one nurse.\nIt has happened")
    );
    assert!(text.contains("Send my concern"));
    assert!(text.contains("Change something"));
    assert!(
        !app.database_contains("Rowan Reporter") && cases_in(&app, "nhs-testshire") == 0,
        "checking saves nothing"
    );

    // "Change something" shows the form again with everything kept.
    let send_fields = form_fields(&review, "/concerns");
    assert_eq!(
        field(&send_fields, "concern")
            .map(|c| c.replace("\r\n", "\n"))
            .as_deref(),
        Some(concern_text)
    );
    let mut change = send_fields.clone();
    set(&mut change, "change", "yes");
    let again = browser.post_form("/concerns/check", &refs(&change)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_accessible(&again, "form shown again");
    assert_eq!(again.input_value("name").as_deref(), Some("Rowan Reporter"));
    assert_eq!(
        again.input_value("became_aware_on").as_deref(),
        Some("1 October 2026")
    );
    assert_eq!(textarea_text(&again, "concern"), concern_text);
    assert!(flag(
        input_by_id(&again, "anonymity-confidential"),
        "checked"
    ));
    assert!(flag(input_by_id(&again, "public_money"), "checked"));
    assert!(flag(
        input_by_id(&again, &format!("reader-{}", cora.id)),
        "checked"
    ));
    assert!(!flag(
        input_by_id(&again, &format!("reader-{}", colm.id)),
        "checked"
    ));

    // Send it: the response is the case key page.
    let mut send = send_fields.clone();
    set(&mut send, "csrf", &review.csrf());
    let sent = browser.post_form("/concerns", &refs(&send)).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert_accessible(&sent, "case key page");
    let case_key = case_key_on(&sent);
    assert_eq!(case_key.len(), 34, "{case_key}");
    CaseKey::parse(&case_key).expect("a well-formed key");
    let reference = sent.input_value("reference").unwrap();
    assert!(reference.starts_with("SU-"));
    let text = sent.text();
    assert!(text.contains(&format!("Your reference: {reference}")));
    assert!(
        sent.body.find("class=\"case-key\"").unwrap() < sent.body.find(&reference).unwrap(),
        "the key comes before the reference"
    );
    assert!(
        !text.contains("already sent"),
        "a first send says nothing about sending twice"
    );
    for words in [
        "only way back",
        "employer cannot see",
        "Do not e-mail it to yourself on a work account",
        "Nobody can recover it",
        "5 working days",
        "20 working days",
        "Type your case key to check you have it",
        "I have saved it somewhere safe",
    ] {
        assert!(text.contains(words), "{words}");
    }
    // The key is in the body only: not in a header, a cookie or a URL.
    for (name, value) in &sent.headers {
        assert!(
            !value.to_str().unwrap_or("").contains(&case_key),
            "key in header {name}"
        );
    }
    assert!(sent.location().is_none());
    // Nothing the reporter did moved a metric (a counter would date the submission).
    let metrics = app.state.metrics.encode().unwrap();
    assert!(!metrics.contains("concern"), "{metrics}");

    // Only the contacts left ticked can read it; Colm has no wrap at all.
    let case = case_by_reference(&app, &reference);
    assert_eq!(case.anonymity, "confidential");
    assert_eq!(case.topic, "public_money");
    assert_eq!(case.service, "nhs");
    let case_id: CaseId = case.id.clone();
    let held = app
        .portal()
        .store
        .read(|tx| wraps::for_case(tx, &case_id))
        .unwrap();
    let holds = |recipient: &Recipient, kind: KeyKind| {
        held.iter()
            .any(|wrap| &wrap.recipient == recipient && wrap.key_kind == kind)
    };
    let cora_id = Recipient::User(UserId::from_stored(cora.id.clone()));
    let colm_id = Recipient::User(UserId::from_stored(colm.id.clone()));
    assert!(holds(&cora_id, KeyKind::Case));
    assert!(holds(&cora_id, KeyKind::Identity));
    assert!(holds(&Recipient::Reporter, KeyKind::Case));
    assert!(
        !held.iter().any(|wrap| wrap.recipient == colm_id),
        "the excluded contact cannot read the concern"
    );
    assert!(!app.database_contains("Rowan Reporter"));
    assert!(!app.database_contains("three times this month"));
    assert!(!app.database_contains(&case_key));
    assert!(!app.database_contains(field(&send, "submission").unwrap()));

    // Reloading the key page sends the same form again: the same key, still one concern.
    let reloaded = browser.post_form("/concerns", &refs(&send)).await;
    assert_eq!(reloaded.status, StatusCode::OK, "{}", reloaded.body);
    assert_accessible(&reloaded, "case key page after a reload");
    assert_eq!(case_key_on(&reloaded), case_key);
    assert_eq!(
        reloaded.input_value("reference").as_deref(),
        Some(reference.as_str())
    );
    assert!(
        reloaded
            .text()
            .contains("You had already sent this concern")
    );
    // Back to the check page (the browser posts the form again) and send again: the same.
    let review_again = browser.post_form("/concerns/check", &refs(&fields)).await;
    let mut send_again = form_fields(&review_again, "/concerns");
    set(&mut send_again, "csrf", &review_again.csrf());
    assert_eq!(field(&send_again, "submission"), field(&send, "submission"));
    let resent = browser.post_form("/concerns", &refs(&send_again)).await;
    assert_eq!(case_key_on(&resent), case_key);
    assert_eq!(cases_in(&app, "nhs-testshire"), 1, "still one concern");
    assert!(
        !app.state.metrics.encode().unwrap().contains("concern"),
        "no metric moves with a submission or its resend"
    );

    // Typing the key back: a wrong key is refused and the key shown again.
    let saved_fields = form_fields(&sent, "/concerns/saved");
    assert_eq!(field(&saved_fields, "key"), Some(case_key.as_str()));
    let mut wrong = saved_fields.clone();
    let other_key = CaseKey::generate().to_display_string();
    set(&mut wrong, "typed", other_key.expose_secret());
    set(&mut wrong, "action", "check");
    let refused = browser.post_form("/concerns/saved", &refs(&wrong)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_accessible(&refused, "case key page with an error");
    assert!(refused.text().contains("That doesn't match"));
    assert_eq!(case_key_on(&refused), case_key);
    assert_eq!(
        attr(input_by_id(&refused, "typed"), "value").as_deref(),
        Some(other_key.expose_secret().as_str()),
        "a typo does not clear what was typed"
    );

    let mut empty = saved_fields.clone();
    set(&mut empty, "action", "check");
    let refused = browser.post_form("/concerns/saved", &refs(&empty)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("Type your case key in the box"));

    // …and the right one is accepted however it is typed.
    let mut right = saved_fields.clone();
    set(
        &mut right,
        "typed",
        &format!("  {}  ", case_key.to_lowercase().replace('-', " ")),
    );
    set(&mut right, "action", "check");
    let done = browser.post_form("/concerns/saved", &refs(&right)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_accessible(&done, "done page");
    assert!(done.text().contains("You're done"));
    assert!(done.body.contains("href=\"/mailbox\""));
    assert!(!done.body.contains(&case_key));

    let mut skipped = saved_fields.clone();
    set(&mut skipped, "action", "saved");
    let done = browser.post_form("/concerns/saved", &refs(&skipped)).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.text().contains("You're done"));

    // Back through the mailbox.
    let sign_in = browser.get("/mailbox").await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert_accessible(&sign_in, "mailbox sign-in");
    let key_input = input_by_id(&sign_in, "case_key");
    assert_eq!(attr(key_input, "autocomplete").as_deref(), Some("off"));
    assert_eq!(
        attr(key_input, "autocapitalize").as_deref(),
        Some("characters")
    );
    assert_eq!(attr(key_input, "spellcheck").as_deref(), Some("false"));

    let typed = case_key.to_lowercase().replace('-', " ");
    let signed_in = browser
        .post_form(
            "/mailbox/sign-in",
            &[("csrf", &sign_in.csrf()), ("case_key", &typed)],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location().as_deref(), Some("/mailbox"));
    let cookie = set_cookie_for(&signed_in, MAILBOX_COOKIE).expect("a mailbox cookie");
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Domain"));
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "a browser-session cookie, gone when the browser closes: {cookie}"
    );
    let token = browser.cookie(MAILBOX_COOKIE).unwrap().clone();
    assert!(!token.contains(&case_key) && !case_key.contains(&token));

    let mailbox = browser.get("/mailbox").await;
    assert_eq!(mailbox.status, StatusCode::OK, "{}", mailbox.body);
    assert_accessible(&mailbox, "mailbox");
    let text = mailbox.text();
    assert!(text.contains(&format!("Your concern {reference}")));
    assert!(text.contains("NHS Testshire"));
    assert!(text.contains("Received Monday 16 November 2026"));
    assert!(text.contains("Stage Received"));
    assert!(text.contains("Confidentially"));
    // Received Monday 16 November: the provisional stage 1 clock runs to Friday 20 November.
    assert!(text.contains(
        "Your concern has not been assessed yet. If it stays at stage 1, the full response is due by Friday 20 November 2026."
    ));
    assert!(text.contains("There are no messages yet"));
    assert!(!text.contains("Your message has been sent"));
    assert!(
        !text.contains("Where you can go next"),
        "no signposting while open"
    );

    // Reply; the message appears with its line breaks.
    let empty = browser
        .post_form(
            "/mailbox/messages",
            &[("csrf", &mailbox.csrf()), ("body", "   ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_accessible(&empty, "mailbox with an error");
    assert!(empty.text().contains("Write a message before sending it."));

    let reply = "It happened again last night.\nTwo agency staff, no nurse.";
    let posted = browser
        .post_form(
            "/mailbox/messages",
            &[("csrf", &mailbox.csrf()), ("body", reply)],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    assert_eq!(posted.location().as_deref(), Some("/mailbox?sent=1"));
    let mailbox = browser.get("/mailbox?sent=1").await;
    assert_eq!(mailbox.status, StatusCode::OK);
    assert_accessible(&mailbox, "mailbox after a reply");
    let text = mailbox.text();
    assert!(text.contains("Your message has been sent."));
    assert!(text.contains("From you, Monday 16 November 2026"));
    assert!(
        mailbox
            .body
            .contains("It happened again last night.\nTwo agency staff, no nurse.")
    );
    assert!(!text.contains("There are no messages yet"));

    // Sign out: the session ends and the cookie is cleared.
    let out = browser
        .post_form("/mailbox/sign-out", &[("csrf", &mailbox.csrf())])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location().as_deref(), Some("/"));
    let cleared = set_cookie_for(&out, MAILBOX_COOKIE).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(browser.cookie(MAILBOX_COOKIE).is_none());
    assert!(app.portal().mailbox(&token).is_err(), "the session is gone");
    let after = browser.get("/mailbox").await;
    assert!(after.text().contains("Sign in"));
    assert!(!after.text().contains(&reference));
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[actix_web::test]
async fn forms_without_the_csrf_field_are_refused() {
    let app = TestApp::new();
    app.staff();
    let mut browser = Browser::new(app.service().await);
    browser.get("/").await; // the browser now holds a CSRF cookie
    for (uri, fields) in [
        (
            "/concerns/check",
            vec![
                ("organisation", "nhs-testshire"),
                ("service", "nhs"),
                ("anonymity", "anonymous"),
                ("concern", "x"),
            ],
        ),
        (
            "/concerns",
            vec![
                ("organisation", "nhs-testshire"),
                ("service", "nhs"),
                ("anonymity", "anonymous"),
                ("concern", "x"),
            ],
        ),
        ("/concerns/saved", vec![("key", "x"), ("action", "saved")]),
        ("/mailbox/sign-in", vec![("case_key", "x")]),
        ("/mailbox/messages", vec![("body", "x")]),
        ("/mailbox/sign-out", vec![]),
    ] {
        let page = browser.post_form(uri, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri}: {}", page.body);
        assert_accessible(&page, uri);
        let mut forged = fields.clone();
        forged.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        let page = browser.post_form(uri, &forged).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri} forged");
    }
    assert_eq!(cases_in(&app, "nhs-testshire"), 0);
}

#[actix_web::test]
async fn mistakes_are_explained_and_what_was_typed_is_kept() {
    let app = TestApp::new();
    let staff = app.staff();
    let mut browser = Browser::new(app.service().await);
    let form_page = browser
        .get("/concerns/new?organisation=nhs-testshire")
        .await;
    let csrf = form_page.csrf();
    let base = form_fields(&form_page, "/concerns/check");

    // Nothing chosen, a bad date, no concern: all said at once, values kept.
    let mut fields = base.clone();
    set(&mut fields, "name", "");
    set(&mut fields, "became_aware_on", "last spring");
    set(&mut fields, "concern", "");
    let page = browser.post_form("/concerns/check", &refs(&fields)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_accessible(&page, "form with errors");
    assert!(page.body.contains("<title>Error: "));
    assert!(page.body.contains("role=\"alert\""));
    let text = page.text();
    for message in [
        "Choose whether your concern is about an NHS service or a council service.",
        "Choose confidential or anonymous.",
        "Enter the date you became aware like 1 October 2026",
        "Write down your concern before sending it.",
    ] {
        assert_eq!(
            text.matches(message).count(),
            2,
            "summary and field: {message}"
        );
    }
    assert!(page.body.contains("href=\"#concern\""));
    assert_eq!(
        attr(input_by_id(&page, "became_aware_on"), "aria-describedby").as_deref(),
        Some("became_aware_on-hint became_aware_on-error")
    );

    // Confidential without a name is refused, and the concern text survives.
    let concern_text = "Fire doors on level 2 are wedged open <every night> & nobody checks.";
    let mut fields = base.clone();
    set(&mut fields, "service", "local_authority");
    set(&mut fields, "anonymity", "confidential");
    set(&mut fields, "contact", "sam@example.org");
    set(&mut fields, "became_aware_on", "3/11/2026");
    set(&mut fields, "concern", concern_text);
    let page = browser.post_form("/concerns/check", &refs(&fields)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_accessible(&page, "confidential without a name");
    assert!(
        page.text()
            .contains("Enter your name, or choose anonymous.")
    );
    assert_eq!(textarea_text(&page, "concern"), concern_text);
    assert_eq!(
        page.input_value("contact").as_deref(),
        Some("sam@example.org")
    );
    assert_eq!(
        page.input_value("became_aware_on").as_deref(),
        Some("3 November 2026")
    );
    assert!(flag(
        input_by_id(&page, "service-local_authority"),
        "checked"
    ));
    assert!(flag(
        input_by_id(&page, "anonymity-confidential"),
        "checked"
    ));
    assert!(!page.body.contains("<every night>"), "escaped");

    // Anonymous with a name is refused rather than silently dropping it.
    let mut fields = base.clone();
    set(&mut fields, "service", "nhs");
    set(&mut fields, "anonymity", "anonymous");
    set(&mut fields, "name", "Sam");
    set(&mut fields, "concern", concern_text);
    let page = browser.post_form("/concerns/check", &refs(&fields)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.text()
            .contains("You chose anonymous, so leave your name")
    );

    // The service's own rules come back as messages next to the field.
    let mut fields = base.clone();
    set(&mut fields, "service", "nhs");
    set(&mut fields, "anonymity", "anonymous");
    set(&mut fields, "concern", &"x".repeat(20_001));
    let page = browser.post_form("/concerns/check", &refs(&fields)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.text()
            .contains("A concern can be at most 20000 characters")
    );
    assert!(page.body.contains("id=\"concern-error\""));
    assert_eq!(textarea_text(&page, "concern").len(), 20_001);

    let mut fields = base.clone();
    set(&mut fields, "service", "nhs");
    set(&mut fields, "anonymity", "anonymous");
    set(&mut fields, "became_aware_on", "2027-01-01");
    set(&mut fields, "concern", concern_text);
    let page = browser.post_form("/concerns/check", &refs(&fields)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.text()
            .contains("The date you became aware cannot be in the future.")
    );

    // Nobody left to read it.
    let mut fields = base.clone();
    set(&mut fields, "service", "nhs");
    set(&mut fields, "anonymity", "anonymous");
    set(&mut fields, "concern", concern_text);
    fields.retain(|(key, _)| !key.starts_with("reader_"));
    let page = browser.post_form("/concerns/check", &refs(&fields)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_accessible(&page, "no readers");
    assert!(
        page.text()
            .contains("At least one person must be able to read your concern")
    );
    for contact in &staff.contacts {
        assert!(!flag(
            input_by_id(&page, &format!("reader-{}", contact.id)),
            "checked"
        ));
    }

    // The same checks stand at sending, whatever the hidden fields say.
    let mut fields = base.clone();
    set(&mut fields, "service", "nhs");
    set(&mut fields, "anonymity", "confidential");
    set(&mut fields, "concern", concern_text);
    set(&mut fields, "csrf", &csrf);
    let page = browser.post_form("/concerns", &refs(&fields)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.text()
            .contains("Enter your name, or choose anonymous.")
    );
    assert_eq!(cases_in(&app, "nhs-testshire"), 0, "nothing was saved");

    // An unknown organisation.
    let page = browser.get("/concerns/new?organisation=nhs-nowhere").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_accessible(&page, "unknown organisation");
    assert!(page.text().contains("not taking concerns here"));
}

#[actix_web::test]
async fn a_single_service_organisation_with_a_recovery_key() {
    let app = TestApp::new();
    let recovery = KeyPair::generate();
    app.portal()
        .store
        .write(|tx| {
            speakup::store::organisations::insert(
                tx,
                &Organisation {
                    id: OrganisationId::generate(),
                    slug: "care-partnership".to_owned(),
                    name: "Care Partnership".to_owned(),
                    serves_nhs: false,
                    serves_local_authority: true,
                    day_one_rule: "receipt_or_next_working_day".to_owned(),
                    stage1_extension_cap: 10,
                    board_exact_figures: false,
                    recovery_public_key: Some(recovery.public.to_bytes().to_vec()),
                    created_at: app.clock.now_utc_naive(),
                    retention_months: 72,
                },
            )?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    app.add_person(
        "care-partnership",
        "cara@care.scot",
        "Cara Carer",
        speakup::model::Role::Contact,
        true,
    );
    let mut browser = Browser::new(app.service().await);
    let form_page = browser
        .get("/concerns/new?organisation=care-partnership")
        .await;
    assert_eq!(form_page.status, StatusCode::OK);
    assert_accessible(&form_page, "single-service form");
    assert!(
        !form_page.body.contains("id=\"service-nhs\""),
        "no service question"
    );
    assert_eq!(
        form_page.input_value("service").as_deref(),
        Some("local_authority")
    );
    let text = form_page.text();
    assert!(text.contains("offline recovery key, held by its executive lead"));
    assert!(text.contains("never your name"));
    assert!(
        !text.contains("INWO normally needs"),
        "the INWO is for NHS services"
    );

    let mut fields = form_fields(&form_page, "/concerns/check");
    set(&mut fields, "anonymity", "anonymous");
    set(
        &mut fields,
        "concern",
        "Residents are not being turned at night.",
    );
    let review = browser.post_form("/concerns/check", &refs(&fields)).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(review.text().contains("Cara Carer"));
    assert!(review.text().contains("offline recovery key"));
    assert!(review.text().contains("You chose: anonymous"));
    let sent = browser
        .post_form("/concerns", &refs(&form_fields(&review, "/concerns")))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let case = case_by_reference(&app, &sent.input_value("reference").unwrap());
    assert_eq!(case.service, "local_authority");
    assert_eq!(case.anonymity, "anonymous");
    let held = app
        .portal()
        .store
        .read(|tx| wraps::for_case(tx, &case.id))
        .unwrap();
    assert!(
        held.iter()
            .any(|wrap| wrap.recipient == Recipient::Recovery && wrap.key_kind == KeyKind::Case)
    );
    assert!(!held.iter().any(|wrap| wrap.key_kind == KeyKind::Identity));
}

#[actix_web::test]
async fn a_typo_at_sign_in_is_reported_as_a_typo_and_never_echoed() {
    let app = TestApp::new();
    app.staff();
    let receipt = raise(&app, Anonymity::Anonymous);
    let key = receipt.case_key.expose_secret().clone();
    let mut typo: Vec<char> = key.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();

    let mut browser = Browser::new(app.service().await);
    let form_page = browser.get("/mailbox").await;
    let page = browser
        .post_form(
            "/mailbox/sign-in",
            &[("csrf", &form_page.csrf()), ("case_key", &typo)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_accessible(&page, "sign-in typo");
    assert!(
        page.text()
            .contains("That case key has a typo: check each group of four characters.")
    );
    assert!(!page.body.contains(&typo), "the typed key is not sent back");
    assert_eq!(page.input_value("case_key").as_deref(), None);
    assert!(browser.cookie(MAILBOX_COOKIE).is_none());

    let page = browser
        .post_form(
            "/mailbox/sign-in",
            &[("csrf", &form_page.csrf()), ("case_key", "ABCD")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text().contains("28 letters and digits"));

    let unknown = CaseKey::generate().to_display_string();
    let page = browser
        .post_form(
            "/mailbox/sign-in",
            &[
                ("csrf", &form_page.csrf()),
                ("case_key", unknown.expose_secret()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_accessible(&page, "sign-in unknown key");
    assert!(
        page.text()
            .contains("We could not find a concern with that case key.")
    );
    assert!(browser.cookie(MAILBOX_COOKIE).is_none());
}

#[actix_web::test]
async fn an_ended_mailbox_session_asks_to_sign_in_again() {
    let app = TestApp::new();
    app.staff();
    let receipt = raise(&app, Anonymity::Confidential);
    let mut browser = Browser::new(app.service().await);
    let csrf = browser.get("/mailbox").await.csrf();
    let key = receipt.case_key.expose_secret().clone();

    let signed_in = browser
        .post_form("/mailbox/sign-in", &[("csrf", &csrf), ("case_key", &key)])
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert!(
        browser
            .get("/mailbox")
            .await
            .text()
            .contains(&receipt.reference)
    );

    // A reply written after the session ended is not lost from the screen.
    app.clock.advance(time::Duration::minutes(31));
    let late = browser
        .post_form(
            "/mailbox/messages",
            &[("csrf", &csrf), ("body", "Written slowly.\nSecond line.")],
        )
        .await;
    assert_eq!(late.status, StatusCode::UNAUTHORIZED);
    assert_accessible(&late, "ended session with an unsent message");
    assert!(late.text().contains("Your session ended"));
    assert!(late.text().contains("Your message was not sent"));
    assert_eq!(
        textarea_text(&late, "unsent"),
        "Written slowly.\nSecond line."
    );
    assert!(browser.cookie(MAILBOX_COOKIE).is_none(), "cookie cleared");

    // Reading after expiry shows the sign-in form again.
    let signed_in = browser
        .post_form("/mailbox/sign-in", &[("csrf", &csrf), ("case_key", &key)])
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    app.clock.advance(time::Duration::minutes(31));
    let ended = browser.get("/mailbox").await;
    assert_eq!(ended.status, StatusCode::OK);
    assert_accessible(&ended, "ended session");
    assert!(ended.text().contains("Your session ended"));
    assert!(ended.body.contains("id=\"case_key\""));
    assert!(!ended.text().contains(&receipt.reference));
    let cleared = set_cookie_for(&ended, MAILBOX_COOKIE).expect("cleared");
    assert!(cleared.contains("Max-Age=0"));
    assert!(browser.cookie(MAILBOX_COOKIE).is_none());
    let fresh = browser.get("/mailbox").await;
    assert!(!fresh.text().contains("Your session ended"));
}

#[actix_web::test]
async fn sign_in_is_rate_limited_within_eleven_attempts() {
    let app = TestApp::new();
    app.staff();
    let mut browser =
        Browser::new(app.service().await).peer_addr("203.0.113.9:40000".parse().unwrap());
    let csrf = browser.get("/mailbox").await.csrf();
    let mut limited_after = None;
    // The limit is 10 a minute, refilled one every 6 seconds of real time: on a loaded machine
    // a slow run earns a token back, so allow one more attempt per 6 seconds taken.
    let started = std::time::Instant::now();
    for attempt in 1..=40 {
        let guess = CaseKey::generate().to_display_string();
        let page = browser
            .post_form(
                "/mailbox/sign-in",
                &[("csrf", &csrf), ("case_key", guess.expose_secret())],
            )
            .await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(page.headers.get("retry-after").is_some());
            assert_accessible(&page, "rate limited");
            assert!(
                page.text()
                    .contains("You have tried to sign in too many times")
            );
            limited_after = Some(attempt);
            break;
        }
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let refilled = u32::try_from(started.elapsed().as_secs() / 6).unwrap_or(u32::MAX);
    let limited_after = limited_after.expect("sign-in is rate limited");
    assert!(
        (11..=11 + refilled).contains(&limited_after),
        "limited after {limited_after} attempts, {refilled} refilled"
    );
}

// ---------------------------------------------------------------------------------------------
// Later stages

fn record(app: &TestApp, reference: &str, kinds: &[EventKind]) {
    let case = case_by_reference(app, reference);
    let today = app.clock.today();
    app.portal()
        .store
        .write(|tx| {
            for kind in kinds {
                events::append(
                    tx,
                    &case.id,
                    &EventId::generate(),
                    &Event::new(today, *kind),
                    None,
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[actix_web::test]
async fn after_a_stage_1_response_the_mailbox_signposts_and_still_takes_a_reply() {
    let app = TestApp::new();
    app.staff();
    let receipt = raise(&app, Anonymity::Confidential);
    app.clock.advance(time::Duration::days(1));
    record(
        &app,
        &receipt.reference,
        &[
            EventKind::Stage1,
            EventKind::Close {
                outcome: Outcome::Upheld,
            },
        ],
    );
    let mut browser = Browser::new(app.service().await);
    let csrf = browser.get("/mailbox").await.csrf();
    browser
        .post_form(
            "/mailbox/sign-in",
            &[
                ("csrf", &csrf),
                ("case_key", receipt.case_key.expose_secret()),
            ],
        )
        .await;
    let page = browser.get("/mailbox").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_accessible(&page, "closed at stage 1");
    let text = page.text();
    assert!(text.contains("Stage Closed at stage 1"));
    assert!(text.contains("Where you can go next"));
    assert!(text.contains("Stage 2 investigation (this organisation)"));
    assert!(text.contains("Independent National Whistleblowing Officer (INWO)"));
    assert!(
        page.body.contains(
            "<a href=\"https:&#x2F;&#x2F;inwo.spso.org.uk\" rel=\"noreferrer noopener\">"
        ) || page
            .body
            .contains("<a href=\"https://inwo.spso.org.uk\" rel=\"noreferrer noopener\">"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("href=\"Freephone"));
    assert!(
        !text.contains("Next dates"),
        "nothing is due on a closed case"
    );
    // The signposting says to reply here to ask for stage 2, so the form stays.
    assert!(text.contains("you can ask for stage 2"));
    assert!(page.body.contains("action=\"/mailbox/messages\""));
}

#[actix_web::test]
async fn a_withdrawn_concern_still_takes_messages_and_reports() {
    let app = TestApp::new();
    app.staff();
    let receipt = raise(&app, Anonymity::Anonymous);
    record(&app, &receipt.reference, &[EventKind::Withdraw]);
    let mut browser = Browser::new(app.service().await);
    let csrf = browser.get("/mailbox").await.csrf();
    browser
        .post_form(
            "/mailbox/sign-in",
            &[
                ("csrf", &csrf),
                ("case_key", receipt.case_key.expose_secret()),
            ],
        )
        .await;
    let page = browser.get("/mailbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_accessible(&page, "withdrawn");
    assert!(page.text().contains("Stage Withdrawn"));
    assert!(page.text().contains("Anonymously"));
    // The reporter is never shut out: they can write, and report being treated badly.
    assert!(page.body.contains("action=\"/mailbox/messages\""));
    assert!(page.text().contains("Report being treated badly"));
    assert!(page.text().contains("You are protected for speaking up"));
    assert!(page.body.contains("href=\"/protection\""));
    // Nothing left to withdraw, nor to take to stage 2.
    assert!(!page.text().contains("Withdraw my concern"));
    assert!(!page.text().contains("Ask for stage 2"));
    let csrf = page.csrf();
    let reported = browser
        .post_form(
            "/mailbox/requests",
            &[
                ("csrf", &csrf),
                ("type", "detriment"),
                ("message", "Moved to nights."),
            ],
        )
        .await;
    assert_eq!(reported.status, StatusCode::SEE_OTHER);
    let page = browser.get("/mailbox?requested=detriment").await;
    assert!(
        page.text().contains("Your report has been sent"),
        "{}",
        page.text()
    );
    assert_accessible(&page, "detriment reported");
}

#[actix_web::test]
async fn withdrawing_from_the_mailbox_asks_for_confirmation() {
    let app = TestApp::new();
    app.staff();
    let receipt = raise(&app, Anonymity::Confidential);
    let mut browser = Browser::new(app.service().await);
    let csrf = browser.get("/mailbox").await.csrf();
    browser
        .post_form(
            "/mailbox/sign-in",
            &[
                ("csrf", &csrf),
                ("case_key", receipt.case_key.expose_secret()),
            ],
        )
        .await;
    let page = browser.get("/mailbox").await;
    assert!(page.text().contains("Withdraw my concern"));
    assert!(page.text().contains("Ask for stage 2"));
    let csrf = page.csrf();
    let unconfirmed = browser
        .post_form(
            "/mailbox/requests",
            &[("csrf", &csrf), ("type", "withdraw")],
        )
        .await;
    assert_eq!(unconfirmed.status, StatusCode::SEE_OTHER);
    let page = browser.get("/mailbox?refused=confirm").await;
    assert!(page.text().contains("Nothing was withdrawn"));
    assert!(page.text().contains("Stage Received"), "{}", page.text());
    let confirmed = browser
        .post_form(
            "/mailbox/requests",
            &[("csrf", &csrf), ("type", "withdraw"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    let page = browser.get("/mailbox?requested=withdraw").await;
    assert!(page.text().contains("Your concern has been withdrawn"));
    assert!(page.text().contains("Stage Withdrawn"));
    // The protection page is there for whoever follows the link.
    let protection = browser.get("/protection").await;
    assert_eq!(protection.status, StatusCode::OK);
    assert_accessible(&protection, "protection");
    assert!(protection.text().contains("If you are treated badly"));
}

#[actix_web::test]
async fn change_something_works_without_formaction_and_a_rate_limit_keeps_the_text() {
    let app = TestApp::with_settings(|raw| raw.concern_submissions_per_hour = 1);
    app.staff();
    let mut browser = Browser::new(app.service().await);
    let form_page = browser
        .get("/concerns/new?organisation=nhs-testshire")
        .await;
    let mut fields = form_fields(&form_page, "/concerns/check");
    set(&mut fields, "service", "nhs");
    set(&mut fields, "anonymity", "anonymous");
    set(
        &mut fields,
        "concern",
        "Agency staff are not shown the fire exits.",
    );
    let review = browser.post_form("/concerns/check", &refs(&fields)).await;
    let send = form_fields(&review, "/concerns");

    // A browser that ignores `formaction` sends "Change something" to /concerns: still the form.
    let mut change = send.clone();
    set(&mut change, "change", "yes");
    let again = browser.post_form("/concerns", &refs(&change)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        textarea_text(&again, "concern"),
        "Agency staff are not shown the fire exits."
    );
    assert_eq!(cases_in(&app, "nhs-testshire"), 0);

    let first = browser.post_form("/concerns", &refs(&send)).await;
    assert_eq!(first.status, StatusCode::OK);
    // The same form again is a reload, not a second concern: the limit does not refuse it.
    let reload = browser.post_form("/concerns", &refs(&send)).await;
    assert_eq!(reload.status, StatusCode::OK);
    assert_eq!(case_key_on(&reload), case_key_on(&first));
    // A second concern (another submission token) is over the limit.
    let mut another = send.clone();
    set(
        &mut another,
        "submission",
        SubmissionToken::generate().to_form_value().expose_secret(),
    );
    let second = browser.post_form("/concerns", &refs(&another)).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(second.headers.get("retry-after").is_some());
    assert_accessible(&second, "concern rate limited");
    assert!(second.text().contains("has not been sent yet"));
    assert_eq!(
        textarea_text(&second, "concern"),
        "Agency staff are not shown the fire exits."
    );
    assert_eq!(cases_in(&app, "nhs-testshire"), 1);
}

#[actix_web::test]
async fn an_old_page_sent_again_on_a_later_day_says_it_was_already_sent() {
    let app = TestApp::new();
    app.staff();
    let mut browser = Browser::new(app.service().await);
    let form_page = browser
        .get("/concerns/new?organisation=nhs-testshire")
        .await;
    let mut fields = form_fields(&form_page, "/concerns/check");
    set(&mut fields, "service", "nhs");
    set(&mut fields, "anonymity", "anonymous");
    set(
        &mut fields,
        "concern",
        "The hoist on ward 4 has not been serviced.",
    );
    let review = browser.post_form("/concerns/check", &refs(&fields)).await;
    let send = form_fields(&review, "/concerns");
    let sent = browser.post_form("/concerns", &refs(&send)).await;
    assert_eq!(sent.status, StatusCode::OK);
    let case_key = case_key_on(&sent);
    let reference = sent.input_value("reference").unwrap();

    app.clock.advance(time::Duration::days(1));
    let later = browser.post_form("/concerns", &refs(&send)).await;
    assert_eq!(later.status, StatusCode::CONFLICT);
    assert_accessible(&later, "already sent");
    let text = later.text();
    assert!(text.contains("Your concern has already been sent"));
    assert!(text.contains(&reference), "{text}");
    assert!(text.contains("16 November 2026"), "{text}");
    assert!(
        !later.body.contains(&case_key),
        "the key is not shown again"
    );
    assert!(!later.body.contains(&case_key.replace('-', "")));
    assert_eq!(cases_in(&app, "nhs-testshire"), 1);
}

#[test]
fn the_accessibility_check_catches_mistakes() {
    let page = |main: &str| Page {
        status: StatusCode::OK,
        headers: actix_web::http::header::HeaderMap::new(),
        body: format!(
            "<!doctype html><html lang=\"en-GB\"><head><title>t</title></head><body><main>{main}</main></body></html>"
        ),
    };
    let good = "<h1>Title</h1><h2>Part</h2><label for=\"a\">A</label><input type=\"text\" id=\"a\" name=\"a\">\
                <input type=\"hidden\" name=\"csrf\" value=\"x\">";
    assert_accessible(&page(good), "good");
    for bad in [
        "<h1>One</h1><h1>Two</h1>",
        "<h1>T</h1><input type=\"text\" id=\"a\" name=\"a\">",
        "<h1>T</h1><textarea id=\"b\" name=\"b\"></textarea>",
        "<h1>T</h1><h3>Skipped a level</h3>",
        "<h1 style=\"color: red\">T</h1>",
        "<h1>T</h1><script>alert(1)</script>",
        "<h1>T</h1><p id=\"x\"></p><p id=\"x\"></p>",
        "<h1>T</h1><label for=\"a\">A</label><input type=\"text\" id=\"a\" aria-describedby=\"nope\">",
        "<h1>T</h1><label for=\"r\">R</label><input type=\"radio\" id=\"r\" name=\"r\">",
        "<h1>T</h1><a href=\"https://example.org\">out</a>",
    ] {
        let result = std::panic::catch_unwind(|| assert_accessible(&page(bad), "bad"));
        assert!(result.is_err(), "not caught: {bad}");
    }
}
