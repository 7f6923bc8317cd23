//! The handler console, driven like a browser without JavaScript: sign-in, the inbox, a case
//! worked through the procedure forms, hand-overs, deadlines, the admin pages, the account page,
//! role boundaries and CSRF. Every page rendered goes through a basic accessibility self-check.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::api_client::{
    bearer, call, confidential_concern, get, post_json, raise, sign_in, totp_code,
};
use crate::browser::{Browser, Page, html_unescape};
use crate::support::{Person, TestApp};

pub(crate) const SESSION_COOKIE: &str = "__Host-speakup-session";
pub(crate) const CSRF_COOKIE: &str = "__Host-speakup-csrf";

pub(crate) fn app() -> TestApp {
    // One test signs in many times from one (address-less) test client.
    TestApp::with_settings(|raw| {
        raw.handler_sign_ins_per_minute = 1000;
        raw.mailbox_sign_ins_per_minute = 1000;
        raw.concern_submissions_per_hour = 1000;
    })
}

// ---------------------------------------------------------------------------------------------
// Accessibility self-check

/// The opening tags named `name` (e.g. "input"), without their closing `>`.
fn tags<'a>(body: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let next = after.chars().next().unwrap_or('>');
        let end = after.find('>').unwrap_or(after.len());
        if next == ' ' || next == '>' || next == '\n' {
            found.push(&after[..end]);
        }
        rest = &after[end..];
    }
    found
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(&tag[start..end])
}

/// Labels, ids, headings, tables, and nothing the CSP would block.
pub(crate) fn check_accessibility(page: &Page) {
    let body = &page.body;
    let context = || page.text().chars().take(300).collect::<String>();
    assert_eq!(
        body.matches("<h1").count(),
        1,
        "exactly one <h1>: {}",
        context()
    );
    assert!(!body.contains("style="), "no inline style: {}", context());
    // Scripts only from this origin and pinned by integrity (the console's crypto module and
    // console.js); never inline.
    for tag in tags(body, "script") {
        assert!(
            attribute(tag, "src").is_some_and(|src| src.starts_with("/static/"))
                && attribute(tag, "integrity").is_some_and(|i| i.starts_with("sha384-")),
            "only pinned scripts from /static: {tag} in {}",
            context()
        );
    }

    let mut ids: Vec<&str> = Vec::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find(" id=\"") {
        let value = &rest[start + 5..];
        let id = &value[..value.find('"').unwrap()];
        assert!(!ids.contains(&id), "id {id:?} is used twice: {}", context());
        ids.push(id);
        rest = value;
    }
    for name in ["input", "select", "textarea"] {
        for tag in tags(body, name) {
            if attribute(tag, "type") == Some("hidden") {
                continue;
            }
            let id =
                attribute(tag, "id").unwrap_or_else(|| panic!("a <{name}> without an id: {tag}"));
            assert!(
                body.contains(&format!("<label for=\"{id}\"")),
                "no <label for=\"{id}\">: {}",
                context()
            );
            if let Some(described) = attribute(tag, "aria-describedby") {
                for target in described.split_whitespace() {
                    assert!(
                        body.contains(&format!("id=\"{target}\"")),
                        "aria-describedby points at a missing {target:?}"
                    );
                }
            }
        }
    }
    // Radio buttons are grouped in a fieldset with a legend.
    for (at, _) in body.match_indices("type=\"radio\"") {
        let before = &body[..at];
        let opened = before.rfind("<fieldset").expect("radio outside a fieldset");
        assert!(
            before
                .rfind("</fieldset>")
                .is_none_or(|closed| closed < opened),
            "radio outside a fieldset"
        );
        assert!(
            before[opened..].contains("<legend>"),
            "fieldset without a legend"
        );
    }

    // Headings in order: never more than one level deeper than the one before.
    let mut previous = 0;
    let mut rest = body.as_str();
    while let Some(start) = rest.find("<h") {
        let level = rest[start + 2..]
            .chars()
            .next()
            .and_then(|c| c.to_digit(10));
        if let Some(level) = level {
            assert!(
                level <= previous + 1,
                "heading h{level} after h{previous}: {}",
                context()
            );
            previous = level;
        }
        rest = &rest[start + 2..];
    }

    assert_eq!(
        body.matches("<table").count(),
        body.matches("<caption>").count(),
        "every table has a caption"
    );
    for th in tags(body, "th") {
        assert!(attribute(th, "scope").is_some(), "<th{th}> needs a scope");
    }
}

// ---------------------------------------------------------------------------------------------
// Browser helpers

pub(crate) async fn open<S, B>(browser: &mut Browser<S>, uri: &str) -> Page
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let page = browser.get(uri).await;
    if page.status != StatusCode::SEE_OTHER {
        check_accessibility(&page);
    }
    page
}

/// A case page is split into parts, each its own page; this opens the overview and every part
/// (each checked on its own) and joins them, for assertions about the case as a whole.
pub(crate) async fn open_case<S, B>(browser: &mut Browser<S>, uri: &str) -> Page
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (path, query) = uri.split_once('?').map_or((uri, ""), |(p, q)| (p, q));
    let first = open(browser, uri).await;
    if first.status != StatusCode::OK {
        return first;
    }
    let mut body = first.body.clone();
    for part in ["conversation", "procedure", "access", "audit"] {
        let part_uri = if query.is_empty() {
            format!("{path}/{part}")
        } else {
            format!("{path}/{part}?{query}")
        };
        let page = open(browser, &part_uri).await;
        assert_eq!(page.status, StatusCode::OK, "{part_uri}");
        body.push_str(&page.body);
    }
    Page {
        status: first.status,
        headers: first.headers,
        body,
    }
}

/// Posts a form with the browser's CSRF token, as the page's hidden field would.
pub(crate) async fn submit<S, B>(
    browser: &mut Browser<S>,
    uri: &str,
    fields: &[(&str, &str)],
) -> Page
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let csrf = browser.cookie(CSRF_COOKIE).cloned().unwrap_or_default();
    let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
    all.extend_from_slice(fields);
    let page = browser.post_form(uri, &all).await;
    if page.status != StatusCode::SEE_OTHER {
        check_accessibility(&page);
    }
    page
}

async fn sign_in_as<S, B>(app: &TestApp, browser: &mut Browser<S>, person: &Person) -> Page
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    app.clock.advance(time::Duration::seconds(30));
    open(browser, "/console/sign-in").await;
    let code = totp_code(app, person);
    submit(
        browser,
        "/console/sign-in",
        &[
            ("email", &person.email),
            ("password", &person.password),
            ("code", &code),
        ],
    )
    .await
}

pub(crate) async fn signed_in<S, B>(app: &TestApp, service: S, person: &Person) -> Browser<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut browser = Browser::new(service);
    let page = sign_in_as(app, &mut browser, person).await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "{} could not sign in: {}",
        person.email,
        page.text()
    );
    assert_eq!(page.location().as_deref(), Some("/console"));
    browser
}

pub(crate) fn assert_redirect(page: &Page, to: &str) {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    assert_eq!(page.location().as_deref(), Some(to), "{}", page.text());
}

/// The event types the case page offers a form for.
fn offered_events(page: &Page) -> Vec<String> {
    tags(&page.body, "input")
        .into_iter()
        .filter(|tag| attribute(tag, "name") == Some("event_type"))
        .filter_map(|tag| attribute(tag, "value").map(str::to_owned))
        .collect()
}

/// The options of the select with `id`.
fn options_of(page: &Page, id: &str) -> Vec<String> {
    let start = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = start + page.body[start..].find("</select>").unwrap();
    tags(&page.body[start..end], "option")
        .into_iter()
        .filter_map(|tag| attribute(tag, "value").map(str::to_owned))
        .collect()
}

/// The value of the first `<textarea id="…">`.
fn textarea(page: &Page, id: &str) -> String {
    let start = page.body.find(&format!("id=\"{id}\"")).unwrap();
    let open_end = start + page.body[start..].find('>').unwrap() + 1;
    let close = open_end + page.body[open_end..].find("</textarea>").unwrap();
    html_unescape(&page.body[open_end..close])
}

async fn mailbox<S, B>(service: &S, case_key: &str) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, session) = call(
        service,
        post_json("/api/v1/mailbox/session", json!({"case_key": case_key})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap();
    let (status, mailbox) = call(service, bearer(get("/api/v1/mailbox"), token)).await;
    assert_eq!(status, StatusCode::OK, "{mailbox}");
    mailbox
}

fn mailbox_bodies(mailbox: &Value) -> Vec<String> {
    mailbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_contact_signs_in_and_works_a_case_through_the_console() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (case_key, reference) = raise(
        &api,
        confidential_concern("Night shift rotas leave ward 7 with one nurse."),
    )
    .await;
    let case_uri = format!("/console/cases/{reference}");
    let cora = &staff.contacts[0];

    // Signed out, the console sends the browser to the sign-in page.
    let mut browser = Browser::new(app.service().await);
    assert_redirect(&browser.get("/console").await, "/console/sign-in");
    let form = open(&mut browser, "/console/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("inputmode=\"numeric\""));
    assert!(form.body.contains("autocomplete=\"one-time-code\""));

    // A wrong code is refused with the reason; the e-mail address is kept, the password is not.
    let wrong = submit(
        &mut browser,
        "/console/sign-in",
        &[
            ("email", &cora.email),
            ("password", &cora.password),
            ("code", "000000"),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.text().contains("6-digit code is not right"),
        "{}",
        wrong.text()
    );
    assert_eq!(
        wrong.input_value("email").as_deref(),
        Some(cora.email.as_str())
    );
    assert!(!wrong.body.contains(&cora.password));
    assert!(browser.cookie(SESSION_COOKIE).is_none());

    // The right code: a session cookie that dies with the browser, and the inbox.
    app.clock.advance(time::Duration::seconds(30));
    let code = totp_code(&app, cora);
    let signed = submit(
        &mut browser,
        "/console/sign-in",
        &[
            ("email", &cora.email),
            ("password", &cora.password),
            ("code", &code),
        ],
    )
    .await;
    assert_redirect(&signed, "/console");
    let cookie = signed
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(SESSION_COOKIE))
        .expect("a session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");

    let inbox = open(&mut browser, "/console").await;
    assert_eq!(inbox.status, StatusCode::OK);
    let text = inbox.text();
    assert!(text.contains(&reference), "{text}");
    assert!(text.contains("Unread"), "{text}");
    assert!(text.contains("Received"), "{text}");
    assert!(text.contains("Friday 20 November 2026"), "{text}");
    assert!(inbox.body.contains(&format!("href=\"{case_uri}\"")));
    assert!(inbox.body.contains("scope=\"col\""));

    // The case page: the concern, the identity, and only the steps allowed now.
    let case = open_case(&mut browser, &case_uri).await;
    assert_eq!(case.status, StatusCode::OK, "{}", case.text());
    let text = case.text();
    assert!(text.contains("Night shift rotas leave ward 7 with one nurse."));
    assert!(text.contains("Rhona Reporter") && text.contains("rhona@example.org"));
    assert!(text.contains("Confidentially"));
    assert!(text.contains("provisional"), "{text}");
    assert_eq!(
        offered_events(&case),
        ["stage1", "stage2", "not_whistleblowing", "withdraw"]
    );
    assert_eq!(
        options_of(&case, "stage2-escalation"),
        ["complex", "reporter_requested"]
    );
    assert!(case.body.contains("id=\"grant-identity\""));
    let inbox = open(&mut browser, "/console").await;
    assert!(
        !inbox.text().contains("Unread"),
        "reading clears the marker"
    );

    // A reply reaches the reporter's mailbox.
    let replied = submit(
        &mut browser,
        &format!("{case_uri}/messages"),
        &[("body", "Thank you. Which weeks were affected?")],
    )
    .await;
    assert_redirect(
        &replied,
        &format!("{case_uri}/conversation?done=replied#conversation"),
    );
    let case = open_case(&mut browser, &format!("{case_uri}?done=replied")).await;
    assert!(case.text().contains("Your message has been sent"));
    assert!(
        case.text()
            .contains("Thank you. Which weeks were affected?")
    );
    let bodies = mailbox_bodies(&mailbox(&api, &case_key).await);
    assert!(
        bodies
            .iter()
            .any(|b| b == "Thank you. Which weeks were affected?")
    );

    // An empty reply is refused on the page itself.
    let empty = submit(
        &mut browser,
        &format!("{case_uri}/messages"),
        &[("body", "  ")],
    )
    .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.text());
    assert!(empty.body.contains("class=\"error-summary\""));

    // A note stays internal.
    let noted = submit(
        &mut browser,
        &format!("{case_uri}/notes"),
        &[("body", "Check the rota archive with HR.")],
    )
    .await;
    assert_redirect(&noted, &format!("{case_uri}/conversation?done=noted#notes"));
    let case = open_case(&mut browser, &case_uri).await;
    assert!(case.text().contains("Check the rota archive with HR."));
    let bodies = mailbox_bodies(&mailbox(&api, &case_key).await);
    assert!(
        !bodies.iter().any(|b| b.contains("rota archive")),
        "{bodies:?}"
    );

    // Stage 1.
    let events_uri = format!("{case_uri}/events");
    // A step writes to the reporter: the first post only asks for confirmation.
    let asked = submit(&mut browser, &events_uri, &[("event_type", "stage1")]).await;
    assert_eq!(asked.status, StatusCode::OK);
    check_accessibility(&asked);
    assert!(
        asked
            .text()
            .contains("Record this step: handle at stage 1?")
    );
    assert!(asked.text().contains("It cannot be undone"));
    assert!(asked.body.contains("name=\"confirm\" value=\"yes\""));
    assert!(asked.body.contains("name=\"event_type\" value=\"stage1\""));
    let unchanged = open_case(&mut browser, &case_uri).await;
    assert!(
        !unchanged.text().contains("Handled at stage 1"),
        "nothing recorded yet"
    );
    let recorded = submit(
        &mut browser,
        &events_uri,
        &[("event_type", "stage1"), ("confirm", "yes")],
    )
    .await;
    assert_redirect(
        &recorded,
        &format!("{case_uri}/procedure?done=recorded#procedure"),
    );
    let case = open_case(&mut browser, &case_uri).await;
    assert!(
        case.text()
            .contains("Handled at stage 1 (early resolution)")
    );
    assert!(!case.text().contains("provisional"));
    assert_eq!(
        offered_events(&case),
        [
            "acknowledge",
            "stage2",
            "not_whistleblowing",
            "extend",
            "update",
            "withdraw",
            "close"
        ]
    );

    // An extension without its authoriser is refused, keeping what was typed; then accepted.
    let refused = submit(
        &mut browser,
        &events_uri,
        &[
            ("event_type", "extend"),
            ("confirm", "yes"),
            ("until", "2026-11-27"),
            ("reason", "The ward manager is on leave until Monday."),
            ("authorised_by", ""),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    assert!(
        refused
            .text()
            .contains("Who authorised the extension is needed"),
        "{}",
        refused.text()
    );
    assert_eq!(
        textarea(&refused, "extend-reason"),
        "The ward manager is on leave until Monday."
    );
    assert!(refused.body.contains("id=\"event-extend-error\""));
    let extended = submit(
        &mut browser,
        &events_uri,
        &[
            ("event_type", "extend"),
            ("confirm", "yes"),
            ("until", "2026-11-27"),
            ("reason", "The ward manager is on leave until Monday."),
            ("authorised_by", "Dr Head, Medical Director"),
        ],
    )
    .await;
    assert_redirect(
        &extended,
        &format!("{case_uri}/procedure?done=recorded#procedure"),
    );
    let case = open_case(&mut browser, &case_uri).await;
    let text = case.text();
    assert!(
        text.contains("Response date extended to Friday 27 November 2026"),
        "{text}"
    );
    assert!(
        text.contains("Extension authorised by Dr Head, Medical Director"),
        "{text}"
    );
    assert!(text.contains("(extended)"), "{text}");
    assert!(case.body.contains("<time datetime=\"2026-11-27\">"));

    // The stage 1 response, with learning.
    let closed = submit(
        &mut browser,
        &events_uri,
        &[
            ("event_type", "close"),
            ("confirm", "yes"),
            ("outcome", "partially_upheld"),
            ("findings", "Two weeks in October had one nurse at night."),
            ("actions", "A second nurse is now rostered."),
            ("learning", "Check night cover when rotas change."),
            ("learning_publishable", "yes"),
        ],
    )
    .await;
    assert_redirect(
        &closed,
        &format!("{case_uri}/procedure?done=recorded#procedure"),
    );
    let case = open_case(&mut browser, &case_uri).await;
    let text = case.text();
    assert!(text.contains("Closed at stage 1"), "{text}");
    assert!(text.contains("Closed: partially upheld"), "{text}");
    assert!(
        text.contains("Learning: Check night cover when rotas change."),
        "{text}"
    );
    assert_eq!(
        offered_events(&case),
        ["stage2"],
        "only the reporter's stage 2 remains"
    );
    assert_eq!(
        options_of(&case, "stage2-escalation"),
        ["reporter_requested"]
    );
    let mailbox_now = mailbox(&api, &case_key).await;
    let letters = mailbox_bodies(&mailbox_now);
    assert!(
        letters
            .iter()
            .any(|b| b.contains("Two weeks in October had one nurse at night.")),
        "{letters:?}"
    );
    assert!(
        letters
            .iter()
            .any(|b| b.contains("This extension was authorised by Dr Head")),
        "{letters:?}"
    );

    // Hand the case to the investigator (without the identity) …
    let ivy = &staff.investigator;
    let granted = submit(
        &mut browser,
        &format!("{case_uri}/grants"),
        &[("email", &ivy.email)],
    )
    .await;
    assert_redirect(&granted, &format!("{case_uri}/access?done=granted#holders"));
    let case = open_case(&mut browser, &case_uri).await;
    assert!(case.text().contains("Ivy Investigator"));

    // … who sees it in her own console, without the reporter's name.
    let mut ivy_browser = signed_in(&app, app.service().await, ivy).await;
    let inbox = open(&mut ivy_browser, "/console").await;
    assert!(inbox.text().contains(&reference), "{}", inbox.text());
    let her_view = open_case(&mut ivy_browser, &case_uri).await;
    assert_eq!(her_view.status, StatusCode::OK);
    let text = her_view.text();
    assert!(text.contains("Night shift rotas leave ward 7 with one nurse."));
    assert!(text.contains("Withheld: only the contacts the reporter chose hold it."));
    assert!(!text.contains("Rhona Reporter") && !text.contains("rhona@example.org"));
    assert!(!her_view.body.contains("id=\"grant-identity\""));

    // Revoked, she loses it at once.
    let asked = submit(
        &mut browser,
        &format!("{case_uri}/revoke"),
        &[("email", &ivy.email)],
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK);
    check_accessibility(&asked);
    assert!(asked.text().contains("Remove this person's access?"));
    assert_eq!(
        ivy_browser.get(&case_uri).await.status,
        StatusCode::OK,
        "asking removes nothing"
    );
    let revoked = submit(
        &mut browser,
        &format!("{case_uri}/revoke"),
        &[("email", &ivy.email), ("confirm", "yes")],
    )
    .await;
    assert_redirect(&revoked, &format!("{case_uri}/access?done=revoked#holders"));
    assert_eq!(
        ivy_browser.get(&case_uri).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !open(&mut ivy_browser, "/console")
            .await
            .text()
            .contains(&reference)
    );

    // Colm, the other intake contact, declares a conflict of interest and loses the case.
    let colm = &staff.contacts[1];
    let mut colm_browser = signed_in(&app, app.service().await, colm).await;
    let his_view = open_case(&mut colm_browser, &case_uri).await;
    assert!(
        his_view
            .text()
            .contains("removes your access to this case for good")
    );
    let asked = submit(&mut colm_browser, &format!("{case_uri}/conflict"), &[]).await;
    assert_eq!(asked.status, StatusCode::OK);
    check_accessibility(&asked);
    assert!(
        asked
            .text()
            .contains("You lose your access to this case for good")
    );
    assert_eq!(colm_browser.get(&case_uri).await.status, StatusCode::OK);
    let declared = submit(
        &mut colm_browser,
        &format!("{case_uri}/conflict"),
        &[("confirm", "yes")],
    )
    .await;
    assert_redirect(&declared, "/console?done=conflict_declared");
    let inbox = open(&mut colm_browser, "/console?done=conflict_declared").await;
    assert!(
        inbox
            .text()
            .contains("Your conflict of interest is recorded")
    );
    assert!(!inbox.text().contains(&reference));
    assert_eq!(
        colm_browser.get(&case_uri).await.status,
        StatusCode::NOT_FOUND
    );

    // He cannot be given it again; the refusal is shown on the page with a 409.
    let again = submit(
        &mut browser,
        &format!("{case_uri}/grants"),
        &[("email", &colm.email)],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    assert!(
        again
            .text()
            .contains("declared a conflict of interest on this case")
    );
    assert!(
        again.body.contains(&format!("value=\"{}\"", colm.email)),
        "typed address kept"
    );

    // Cora, the last holder, cannot declare a conflict and leave the case with nobody.
    let last = submit(
        &mut browser,
        &format!("{case_uri}/conflict"),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.text());
    assert!(last.text().contains("Nobody else holds this case"));

    // The audit trail tells the story.
    let case = open_case(&mut browser, &case_uri).await;
    let text = case.text();
    for line in [
        "Viewed the case",
        "Wrote to the reporter",
        "Added an internal note",
        "Recorded a procedure step",
        "Gave access",
        "Removed access",
        "Declared a conflict of interest",
    ] {
        assert!(text.contains(line), "audit trail lacks {line:?}: {text}");
    }
    assert!(
        text.contains("Declared a conflict of interest (cannot be given this case): Colm Contact")
    );

    // No case content in the reporter-facing part that should not be there, and none in logs of
    // the page: the note stays internal.
    let reporter_view = serde_json::to_string(&mailbox_now).unwrap();
    assert!(!reporter_view.contains("rota archive"));
    assert!(!reporter_view.contains("Check night cover"));
}

#[actix_web::test]
async fn the_deadlines_page_puts_overdue_cases_first() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let cora = &staff.contacts[0];
    // Monday 16 November: A (due Friday 20). Wednesday 18: B (due Tuesday 24).
    let (_, a) = raise(&api, confidential_concern("Concern A.")).await;
    app.clock.advance(time::Duration::days(2));
    let (_, b) = raise(&api, confidential_concern("Concern B.")).await;
    let (_, closed) = raise(&api, confidential_concern("Concern D, closed.")).await;
    let token = sign_in(&app, &api, cora).await;
    for body in [
        json!({"type": "stage1"}),
        json!({"type": "close", "outcome": "upheld", "findings": "Sorted."}),
    ] {
        let (status, answer) = call(
            &api,
            bearer(
                post_json(&format!("/api/v1/cases/{closed}/events"), body),
                &token,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    // Monday 23 November: C arrives; A is overdue, B has used 4 of its 5 days.
    app.clock.advance(time::Duration::days(5));
    let (_, c) = raise(&api, confidential_concern("Concern C.")).await;

    let mut browser = signed_in(&app, app.service().await, cora).await;
    let page = open(&mut browser, "/console/deadlines").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    let position = |reference: &str| {
        text.find(reference)
            .unwrap_or_else(|| panic!("{reference} missing: {text}"))
    };
    assert!(
        position(&a) < position(&b) && position(&b) < position(&c),
        "{text}"
    );
    assert!(
        !text.contains(&closed),
        "closed cases have no deadline: {text}"
    );
    assert!(text.contains("Overdue"), "{text}");
    assert!(text.contains("Over 75% of the time used"), "{text}");
    assert!(text.contains("Within time"), "{text}");
    assert!(text.contains("6 of 5"), "{text}");
    assert!(text.contains("Full response"), "{text}");

    // The inbox still lists all four, the closed one too.
    let inbox = open(&mut browser, "/console").await;
    for reference in [&a, &b, &c, &closed] {
        assert!(inbox.text().contains(reference.as_str()));
    }
    assert!(inbox.text().contains("Closed at stage 1"));
}

/// The id in `/console/admin/users/{id}/…` on the row for `email`.
pub(crate) fn user_id_on_row(page: &Page, email: &str) -> String {
    let row = page.body.find(email).expect("row for the e-mail address");
    let marker = "/console/admin/users/";
    let start = row + page.body[row..].find(marker).unwrap() + marker.len();
    let end = start + page.body[start..].find('/').unwrap();
    page.body[start..end].to_owned()
}

#[actix_web::test]
async fn an_admin_manages_accounts_the_intake_list_and_the_calendar() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    // Colm holds two cases, which a reset will take from him.
    raise(&api, confidential_concern("First.")).await;
    raise(&api, confidential_concern("Second.")).await;

    let mut admin = signed_in(&app, app.service().await, &staff.admin).await;
    let home = open(&mut admin, "/console").await;
    assert!(
        home.text().contains("cannot read concerns"),
        "{}",
        home.text()
    );
    assert!(home.body.contains("href=\"/console/admin/users\""));
    assert!(
        home.body.contains("href=\"/console/reports\""),
        "admins may read the figures"
    );

    let users = open(&mut admin, "/console/admin/users").await;
    assert_eq!(users.status, StatusCode::OK);
    for person in [&staff.contacts[0], &staff.investigator, &staff.lead] {
        assert!(users.text().contains(&person.email));
    }

    // A bad address is refused, keeping what was typed.
    let bad = submit(
        &mut admin,
        "/console/admin/users",
        &[
            ("name", "Nina New"),
            ("email", "nina at testshire"),
            ("job_title", "Practice educator"),
            ("role", "investigator"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.input_value("name").as_deref(), Some("Nina New"));
    assert!(
        !bad.body.contains("type=\"password\""),
        "admins choose no password"
    );

    // Added: Nina is e-mailed a one-time link; the admin sees no password, code or link.
    let created = submit(
        &mut admin,
        "/console/admin/users",
        &[
            ("name", "Nina New"),
            ("email", "nina@testshire.scot"),
            ("job_title", "Practice educator"),
            ("role", "investigator"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    assert!(
        created.text().contains("one-time link by e-mail"),
        "{}",
        created.text()
    );
    for secret in ["<svg", "otpauth://", "/enrol/"] {
        assert!(
            !created.body.contains(secret),
            "{secret} shown to the admin"
        );
    }
    let invited = Person {
        id: String::new(),
        email: "nina@testshire.scot".to_owned(),
        name: "Nina New".to_owned(),
        password: String::new(),
        totp_uri: String::new(),
    };
    let nina = app.enrol(&invited, &staff.organisation, "nina's own long password");
    let mut nina_browser = signed_in(&app, app.service().await, &nina).await;
    assert_eq!(nina_browser.get("/console").await.status, StatusCode::OK);

    // Disabled: her session ends and she can no longer sign in.
    let users = open(&mut admin, "/console/admin/users").await;
    let nina_id = user_id_on_row(&users, "nina@testshire.scot");
    let disabled = submit(
        &mut admin,
        &format!("/console/admin/users/{nina_id}/active"),
        &[("value", "false")],
    )
    .await;
    assert_redirect(&disabled, "/console/admin/users?done=disabled");
    assert_redirect(&nina_browser.get("/console").await, "/console/sign-in");
    let refused = sign_in_as(&app, &mut nina_browser, &nina).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        refused.text()
    );

    // The last admin cannot disable themselves.
    let last = submit(
        &mut admin,
        &format!("/console/admin/users/{}/active", staff.admin.id),
        &[("value", "false")],
    )
    .await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.text());

    // Reset Colm: a new enrolment, and the grants he loses are counted.
    let colm = &staff.contacts[1];
    let reset_uri = format!("/console/admin/users/{}/reset", colm.id);
    let form = open(&mut admin, &reset_uri).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("every case they hold is lost to them"));
    assert!(
        !form.body.contains("type=\"password\""),
        "admins choose no password"
    );
    let reset = submit(&mut admin, &reset_uri, &[]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text());
    for secret in ["<svg", "otpauth://", "/enrol/"] {
        assert!(!reset.body.contains(secret), "{secret} shown to the admin");
    }
    assert!(
        reset.text().contains(
            "2 case grants were removed; the other holders must grant those cases to this person again"
        ),
        "{}",
        reset.text()
    );

    // Intake: take Cora off the list and put her back.
    let cora = &staff.contacts[0];
    let intake_uri = format!("/console/admin/users/{}/intake", cora.id);
    let removed = submit(&mut admin, &intake_uri, &[("value", "false")]).await;
    assert_redirect(&removed, "/console/admin/users?done=intake_removed");
    let (_, organisations) = call(&api, get("/api/v1/organisations")).await;
    let intake = organisations[0]["intake"].to_string();
    assert!(!intake.contains("Cora Contact"), "{intake}");
    let added = submit(&mut admin, &intake_uri, &[("value", "true")]).await;
    assert_redirect(&added, "/console/admin/users?done=intake_added");
    // Putting her back waits for a second person: reporters do not see her yet …
    let (_, organisations) = call(&api, get("/api/v1/organisations")).await;
    assert!(
        !organisations[0]["intake"]
            .to_string()
            .contains("Cora Contact")
    );
    let users = open(&mut admin, "/console/admin/users").await;
    assert!(
        users.text().contains("Waiting for approval"),
        "{}",
        users.text()
    );
    // … the admin who asked cannot approve it …
    let approvals = open(&mut admin, "/console/admin/approvals").await;
    assert_eq!(approvals.status, StatusCode::OK);
    assert!(
        approvals.text().contains("Joins the intake list"),
        "{}",
        approvals.text()
    );
    // Colm's reset waits too; take the form on Cora's row.
    let marker = "action=\"/console/admin/approvals/";
    let row = approvals.body.find(&cora.email).expect("Cora's row");
    let start = row + approvals.body[row..].find(marker).expect("a decision form") + marker.len();
    let id = approvals.body[start..start + approvals.body[start..].find('"').unwrap()].to_owned();
    let own = submit(
        &mut admin,
        &format!("/console/admin/approvals/{id}"),
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text());
    // … the whistleblowing champion can.
    let champion = app.add_person(
        &staff.organisation,
        "chris@testshire.scot",
        "Chris Champion",
        speakup::model::Role::Champion,
        false,
    );
    let mut chris = signed_in(&app, app.service().await, &champion).await;
    let approved = submit(
        &mut chris,
        &format!("/console/admin/approvals/{id}"),
        &[("decision", "approve")],
    )
    .await;
    assert_redirect(&approved, "/console/admin/approvals");
    let (_, organisations) = call(&api, get("/api/v1/organisations")).await;
    assert!(
        organisations[0]["intake"]
            .to_string()
            .contains("Cora Contact")
    );
    // An investigator cannot be put on it.
    let refused = submit(
        &mut admin,
        &format!("/console/admin/users/{}/intake", staff.investigator.id),
        &[("value", "true")],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );

    // The calendar: St Andrew's Day is observed on Monday 30 November 2026.
    let year = open(&mut admin, "/console/admin/holidays?year=2026").await;
    assert_eq!(year.status, StatusCode::OK);
    let text = year.text();
    assert!(text.contains("Monday 30 November 2026"), "{text}");
    assert!(text.contains("No changes"), "{text}");
    let holidays = |app: &TestApp| {
        app.portal()
            .holidays_in_year("nhs-testshire", 2026)
            .unwrap()
            .into_iter()
            .map(|h| h.date.to_string())
            .collect::<Vec<_>>()
    };

    let added = submit(
        &mut admin,
        "/console/admin/holidays",
        &[
            ("action", "add"),
            ("date", "2026-12-24"),
            ("label", "Christmas Eve closure"),
            ("year", "2026"),
        ],
    )
    .await;
    assert_redirect(
        &added,
        "/console/admin/holidays?year=2026&done=holiday_added",
    );
    let year = open(&mut admin, "/console/admin/holidays?year=2026").await;
    let text = year.text();
    assert!(
        text.contains("Thursday 24 December 2026 Christmas Eve closure Local holiday"),
        "{text}"
    );
    assert!(holidays(&app).contains(&"2026-12-24".to_owned()));

    let worked = submit(
        &mut admin,
        "/console/admin/holidays",
        &[
            ("action", "worked"),
            ("date", "2026-11-30"),
            ("label", "St Andrew's Day"),
            ("year", "2026"),
        ],
    )
    .await;
    assert_redirect(
        &worked,
        "/console/admin/holidays?year=2026&done=holiday_worked",
    );
    assert!(!holidays(&app).contains(&"2026-11-30".to_owned()));
    let year = open(&mut admin, "/console/admin/holidays?year=2026").await;
    assert!(
        year.text().contains("Bank holiday worked"),
        "{}",
        year.text()
    );

    for date in ["2026-12-24", "2026-11-30"] {
        let cleared = submit(
            &mut admin,
            "/console/admin/holidays",
            &[("action", "clear"), ("date", date), ("year", "2026")],
        )
        .await;
        assert_redirect(
            &cleared,
            "/console/admin/holidays?year=2026&done=holiday_cleared",
        );
    }
    let now = holidays(&app);
    assert!(now.contains(&"2026-11-30".to_owned()) && !now.contains(&"2026-12-24".to_owned()));
    let year = open(&mut admin, "/console/admin/holidays?year=2026").await;
    assert!(year.text().contains("No changes"), "{}", year.text());
    assert!(!year.text().contains("24 December 2026"), "{}", year.text());
    assert!(
        year.text()
            .contains("Monday 30 November 2026 St Andrew's Day Bank holiday")
    );

    let bad = submit(
        &mut admin,
        "/console/admin/holidays",
        &[
            ("action", "add"),
            ("date", "24/13/2026"),
            ("label", "x"),
            ("year", "2026"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text()
            .contains("Enter the date like 24 December 2026 or 24/12/2026"),
        "{}",
        bad.text()
    );

    // A day that has come keeps the calendar it was counted on: dates already given to
    // reporters and figures already reported must not move.
    let past = submit(
        &mut admin,
        "/console/admin/holidays",
        &[
            ("action", "add"),
            ("date", "2026-11-02"),
            ("label", "Retrospective closure"),
            ("year", "2026"),
        ],
    )
    .await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST);
    assert!(
        past.text().contains("only later days can be changed"),
        "{}",
        past.text()
    );
    assert!(!holidays(&app).contains(&"2026-11-02".to_owned()));

    // Admins cannot open cases either.
    assert_eq!(
        admin.get("/console/cases/SU-0000-0000").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn leads_and_admins_cannot_read_concerns_and_only_admins_see_admin_pages() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (_, reference) = raise(&api, confidential_concern("Visible to holders only.")).await;
    let case_uri = format!("/console/cases/{reference}");

    let mut lead = signed_in(&app, app.service().await, &staff.lead).await;
    let home = open(&mut lead, "/console").await;
    let text = home.text();
    assert!(text.contains("cannot read concerns"), "{text}");
    assert!(!text.contains(&reference));
    assert!(home.body.contains("href=\"/console/reports\""));
    assert!(!home.body.contains("href=\"/console/admin/users\""));
    assert!(
        open(&mut lead, "/console/deadlines")
            .await
            .text()
            .contains("cannot read concerns")
    );
    let not_found = open_case(&mut lead, &case_uri).await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert!(!not_found.text().contains("Visible to holders only."));
    for page in [
        "/console/admin/users",
        "/console/admin/holidays",
        &format!("/console/admin/users/{}/reset", staff.contacts[0].id),
    ] {
        assert_eq!(
            open(&mut lead, page).await.status,
            StatusCode::NOT_FOUND,
            "{page}"
        );
    }
    for (uri, fields) in [
        (
            "/console/admin/users".to_owned(),
            vec![
                ("name", "X"),
                ("email", "x@testshire.scot"),
                ("role", "admin"),
                ("password", "a long enough password"),
            ],
        ),
        (
            format!("/console/admin/users/{}/active", staff.contacts[0].id),
            vec![("value", "false")],
        ),
        (
            "/console/admin/holidays".to_owned(),
            vec![("action", "add"), ("date", "2026-12-24")],
        ),
    ] {
        assert_eq!(
            submit(&mut lead, &uri, &fields).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    // Nor can a lead post to a case.
    let posted = submit(
        &mut lead,
        &format!("{case_uri}/messages"),
        &[("body", "hi")],
    )
    .await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    // The investigator, who holds nothing, sees an empty inbox and no admin link.
    let mut ivy = signed_in(&app, app.service().await, &staff.investigator).await;
    let inbox = open(&mut ivy, "/console").await;
    assert!(
        inbox.text().contains("You do not hold any cases"),
        "{}",
        inbox.text()
    );
    assert!(!inbox.body.contains("/console/admin/users"));
    assert_eq!(
        open(&mut ivy, "/console/admin/users").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn a_password_change_keeps_cases_readable_and_sign_out_clears_the_cookie() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (_, reference) = raise(&api, confidential_concern("Readable after the change.")).await;
    let cora = &staff.contacts[0];
    let mut browser = signed_in(&app, app.service().await, cora).await;

    let account = open(&mut browser, "/console/account").await;
    assert!(
        account.text().contains("Your cases stay readable"),
        "{}",
        account.text()
    );
    // The fingerprint a reporter's browser shows next to Cora (issue 14).
    let (_, keys) = crate::api_client::call(
        &api,
        crate::api_client::get("/api/v1/organisations/nhs-testshire/intake-keys"),
    )
    .await;
    let cora_key = keys["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == cora.id.as_str())
        .unwrap()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes: [u8; 32] = data_encoding::HEXLOWER
        .decode(cora_key.as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    let fingerprint = speakup::crypto::PublicKey::from_bytes(bytes).fingerprint();
    assert!(account.text().contains(&fingerprint), "{}", account.text());
    let new_password = "a completely different passphrase";
    let mismatch = submit(
        &mut browser,
        "/console/account",
        &[
            ("current", &cora.password),
            ("new", new_password),
            ("new_again", "nope"),
        ],
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(
        mismatch
            .text()
            .contains("The two new passwords are not the same")
    );
    let wrong = submit(
        &mut browser,
        "/console/account",
        &[
            ("current", "not my password at all"),
            ("new", new_password),
            ("new_again", new_password),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.text().contains("current password is not right"),
        "{}",
        wrong.text()
    );
    assert!(!wrong.body.contains(new_password));
    let changed = submit(
        &mut browser,
        "/console/account",
        &[
            ("current", &cora.password),
            ("new", new_password),
            ("new_again", new_password),
        ],
    )
    .await;
    assert_redirect(&changed, "/console/account?done=password_changed");

    // Sign out: the session ends and the cookie is cleared.
    let out = submit(&mut browser, "/console/sign-out", &[]).await;
    assert_redirect(&out, "/console/sign-in?done=signed_out");
    let cleared = out
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(SESSION_COOKIE))
        .expect("the session cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(browser.cookie(SESSION_COOKIE).is_none());
    assert_redirect(&browser.get("/console").await, "/console/sign-in");
    assert!(
        open(&mut browser, "/console/sign-in?done=signed_out")
            .await
            .text()
            .contains("You have signed out")
    );

    // The old password no longer works; the new one does, and the case still opens.
    let old = sign_in_as(&app, &mut browser, cora).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let renewed = Person {
        password: new_password.to_owned(),
        ..Person::clone_of(cora)
    };
    let mut browser = signed_in(&app, app.service().await, &renewed).await;
    let case = open_case(&mut browser, &format!("/console/cases/{reference}")).await;
    assert_eq!(case.status, StatusCode::OK);
    assert!(case.text().contains("Readable after the change."));
}

#[actix_web::test]
async fn forms_without_their_csrf_token_are_refused_and_signed_out_visits_go_to_sign_in() {
    let app = app();
    let staff = app.staff();
    let api = app.service().await;
    let (_, reference) = raise(&api, confidential_concern("CSRF check.")).await;
    let case_uri = format!("/console/cases/{reference}");

    // Signed out: every console page sends the browser to sign in.
    let mut stranger = Browser::new(app.service().await);
    for page in [
        "/console",
        "/console/deadlines",
        case_uri.as_str(),
        "/console/account",
        "/console/admin/users",
        "/console/admin/holidays",
    ] {
        assert_redirect(&stranger.get(page).await, "/console/sign-in");
    }
    open(&mut stranger, "/console/sign-in").await;
    assert_redirect(
        &submit(
            &mut stranger,
            &format!("{case_uri}/messages"),
            &[("body", "x")],
        )
        .await,
        "/console/sign-in",
    );
    // A sign-in without the token is refused before the password is checked.
    let forged = stranger
        .post_form(
            "/console/sign-in",
            &[
                ("email", &staff.contacts[0].email),
                ("password", "x"),
                ("code", "123456"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let mut cora = signed_in(&app, app.service().await, &staff.contacts[0]).await;
    let mut admin = signed_in(&app, app.service().await, &staff.admin).await;
    let id = &staff.contacts[1].id;
    for (as_admin, uri, fields) in [
        (false, format!("{case_uri}/messages"), vec![("body", "x")]),
        (false, format!("{case_uri}/notes"), vec![("body", "x")]),
        (
            false,
            format!("{case_uri}/events"),
            vec![("event_type", "stage1")],
        ),
        (
            false,
            format!("{case_uri}/grants"),
            vec![("email", "ivy@testshire.scot")],
        ),
        (
            false,
            format!("{case_uri}/revoke"),
            vec![("email", "colm@testshire.scot")],
        ),
        (false, format!("{case_uri}/conflict"), vec![]),
        (
            false,
            "/console/account".to_owned(),
            vec![("current", "x"), ("new", "y"), ("new_again", "y")],
        ),
        (false, "/console/sign-out".to_owned(), vec![]),
        (
            true,
            "/console/admin/users".to_owned(),
            vec![
                ("name", "X"),
                ("email", "x@testshire.scot"),
                ("role", "contact"),
                ("password", "a long enough password"),
            ],
        ),
        (
            true,
            format!("/console/admin/users/{id}/active"),
            vec![("value", "false")],
        ),
        (
            true,
            format!("/console/admin/users/{id}/intake"),
            vec![("value", "false")],
        ),
        (
            true,
            format!("/console/admin/users/{id}/reset"),
            vec![
                ("password", "a long enough password"),
                ("password_again", "a long enough password"),
            ],
        ),
        (
            true,
            "/console/admin/holidays".to_owned(),
            vec![("action", "add"), ("date", "2026-12-24")],
        ),
    ] {
        let browser = if as_admin { &mut admin } else { &mut cora };
        let page = browser.post_form(&uri, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri}: {}", page.text());
    }
    // Nothing happened: the case has no events beyond its receipt and Cora is still signed in.
    let case = open_case(&mut cora, &case_uri).await;
    assert_eq!(case.status, StatusCode::OK);
    assert!(!case.text().contains("Handled at stage 1"));
    assert!(!case.text().contains("Wrote to the reporter"));
}

#[actix_web::test]
async fn repeated_failures_make_the_sign_in_page_say_how_long_to_wait() {
    let app = app();
    let staff = app.staff();
    let cora = &staff.contacts[0];
    let mut browser = Browser::new(app.service().await);
    open(&mut browser, "/console/sign-in").await;
    for _ in 0..5 {
        let page = submit(
            &mut browser,
            "/console/sign-in",
            &[
                ("email", &cora.email),
                ("password", "wrong password!"),
                ("code", "000000"),
            ],
        )
        .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let waiting = submit(
        &mut browser,
        "/console/sign-in",
        &[
            ("email", &cora.email),
            ("password", &cora.password),
            ("code", "000000"),
        ],
    )
    .await;
    assert_eq!(
        waiting.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        waiting.text()
    );
    assert!(waiting.headers.contains_key("retry-after"));
    assert!(
        waiting
            .text()
            .contains("please wait 1 second, then try again"),
        "{}",
        waiting.text()
    );
}

#[test]
fn the_accessibility_check_catches_what_it_is_for() {
    let page = |body: &str| Page {
        status: StatusCode::OK,
        headers: actix_web::http::header::HeaderMap::new(),
        body: body.to_owned(),
    };
    let good = "<h1>T</h1><h2>S</h2><label for=\"a\">A</label><input type=\"text\" id=\"a\">\
                <input type=\"hidden\" name=\"csrf\" value=\"x\">\
                <fieldset><legend>L</legend><input type=\"radio\" id=\"r\"><label for=\"r\">R</label></fieldset>\
                <table><caption>C</caption><tr><th scope=\"col\">H</th></tr></table>";
    check_accessibility(&page(good));
    for bad in [
        good.replace("<label for=\"a\">A</label>", ""),
        good.replace("<h2>S</h2>", "<h3>S</h3>"),
        format!("{good}<h1>Again</h1>"),
        format!("{good}<p style=\"color:red\">x</p>"),
        format!("{good}<script>x</script>"),
        good.replace("<caption>C</caption>", ""),
        good.replace(" scope=\"col\"", ""),
        good.replace("<fieldset><legend>L</legend>", "")
            .replace("</fieldset>", ""),
        format!("{good}<p id=\"a\">dup</p>"),
        good.replace("id=\"a\">", "id=\"a\" aria-describedby=\"nowhere\">"),
    ] {
        let outcome = std::panic::catch_unwind(|| check_accessibility(&page(&bad)));
        assert!(outcome.is_err(), "not caught: {bad}");
    }
}
