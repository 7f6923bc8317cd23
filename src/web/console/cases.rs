//! The inbox, the deadlines list and the case page, with the case page's own forms: reply,
//! note, grant, revoke and conflict of interest. Procedure events are in `events.rs`.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::events::{self, EventFormView, EventValues};
use super::{Day, Done, Moment, Shell, day, moment, refusal, render, see_other, segment, ticked};
use crate::crypto::Secret;
use crate::model::Author;
use crate::procedure::{DeadlineKind, Service, Urgency};
use crate::service::casework::{CaseDetail, InboxEntry};
use crate::service::sessions::Handler;
use crate::service::{Portal, ServiceError};
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

/// A tag with its meaning in words (colour only repeats it).
#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub class: &'static str,
    pub text: &'static str,
}

pub fn urgency_tag(level: &str) -> Option<Tag> {
    Some(match level {
        "overdue" => Tag {
            class: "overdue",
            text: "Overdue",
        },
        "over90" => Tag {
            class: "over90",
            text: "Over 90% of the time used",
        },
        "over75" => Tag {
            class: "over75",
            text: "Over 75% of the time used",
        },
        "over50" => Tag {
            class: "over50",
            text: "Over 50% of the time used",
        },
        "fine" => Tag {
            class: "fine",
            text: "Within time",
        },
        _ => return None,
    })
}

pub fn service_words(service: Service) -> &'static str {
    match service {
        Service::Nhs => "NHS",
        Service::LocalAuthority => "Local authority",
    }
}

pub fn deadline_words(kind: DeadlineKind) -> &'static str {
    match kind {
        DeadlineKind::Acknowledge => "Acknowledge the concern",
        DeadlineKind::Respond => "Full response",
        DeadlineKind::Update => "Update the reporter",
    }
}

/// "at stage 1" → "At stage 1".
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub fn case_href(reference: &str) -> String {
    format!("/console/cases/{}", segment(reference))
}

#[derive(Serialize)]
struct CaseRow {
    reference: String,
    href: String,
    service: &'static str,
    received: Day,
    stage: String,
    open: bool,
    due: Option<Day>,
    next: Option<NextDeadline>,
    urgency: Option<Tag>,
    unread: bool,
}

#[derive(Serialize)]
struct NextDeadline {
    what: &'static str,
    due: Day,
    used: u32,
    allowed: u32,
}

fn next_deadline(urgency: &Urgency) -> NextDeadline {
    NextDeadline {
        what: deadline_words(urgency.deadline),
        due: day(urgency.due),
        used: urgency.used,
        allowed: urgency.allowed,
    }
}

fn row(entry: &InboxEntry) -> CaseRow {
    CaseRow {
        href: case_href(&entry.reference),
        reference: entry.reference.clone(),
        service: service_words(entry.service),
        received: day(entry.received_on),
        stage: capitalised(entry.state_label),
        open: entry.status == "open",
        due: entry.due_on.map(day),
        next: entry.next_deadline.as_ref().map(next_deadline),
        urgency: entry.urgency.and_then(urgency_tag),
        unread: entry.unread,
    }
}

#[derive(Serialize)]
struct ListPage {
    cases: Vec<CaseRow>,
}

async fn held_cases(portal: &Portal, handler: Handler) -> Result<Vec<InboxEntry>, ServiceError> {
    let portal = portal.clone();
    blocking(move || portal.inbox(&handler)).await
}

pub async fn inbox(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    done: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let handler = handler.0;
    let user = handler.user.clone();
    let cases = if user.role.may_hold_cases() {
        held_cases(&portal, handler)
            .await?
            .iter()
            .map(row)
            .collect()
    } else {
        Vec::new()
    };
    let title = if user.role.may_hold_cases() {
        "Your cases"
    } else {
        "Console"
    };
    render(
        "console/inbox.html",
        Shell::new(title, &csrf, Some(&user)).notice(&done),
        &ListPage { cases },
        StatusCode::OK,
    )
}

/// Open cases, overdue first, then by the share of the time already used.
fn by_urgency(entries: Vec<InboxEntry>) -> Vec<InboxEntry> {
    let mut open: Vec<InboxEntry> = entries.into_iter().filter(|e| e.status == "open").collect();
    open.sort_by(|a, b| {
        let overdue = |e: &InboxEntry| e.urgency == Some("overdue");
        let share = |e: &InboxEntry| e.urgency_share.unwrap_or(f64::NEG_INFINITY);
        overdue(b)
            .cmp(&overdue(a))
            .then(share(b).total_cmp(&share(a)))
            .then(a.due_on.cmp(&b.due_on))
    });
    open
}

pub async fn deadlines(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
) -> Result<HttpResponse, PageError> {
    let handler = handler.0;
    let user = handler.user.clone();
    let cases = if user.role.may_hold_cases() {
        by_urgency(held_cases(&portal, handler).await?)
            .iter()
            .map(row)
            .collect()
    } else {
        Vec::new()
    };
    render(
        "console/deadlines.html",
        Shell::new("Deadlines", &csrf, Some(&user)),
        &ListPage { cases },
        StatusCode::OK,
    )
}

/// What a refused form typed, so the page can show it again.
#[derive(Default)]
pub struct Kept {
    pub reply: String,
    pub note: String,
    pub grant_email: String,
    pub grant_identity: bool,
    pub event: Option<EventValues>,
    /// Which form the error belongs to.
    pub form: &'static str,
}

pub struct Failure {
    pub status: StatusCode,
    pub message: String,
    pub kept: Kept,
}

#[derive(Serialize)]
struct MessageView {
    class: &'static str,
    who: String,
    body: String,
    sent: Day,
}

#[derive(Serialize)]
struct NoteView {
    author: String,
    body: String,
    written: Day,
}

#[derive(Serialize)]
struct TimelineEntry {
    /// For a session whose key is in the browser, which fills in the detail.
    event_id: String,
    on: Day,
    what: String,
    by: Option<String>,
    detail: Option<String>,
    authorised_by: Option<String>,
}

#[derive(Serialize)]
struct HolderView {
    name: String,
    email: String,
    role: &'static str,
    identity: bool,
    granted: Day,
    granted_by: Option<String>,
    is_me: bool,
}

#[derive(Serialize)]
struct AuditView {
    at: Moment,
    who: String,
    action: String,
    subject: Option<String>,
    detail: String,
}

#[derive(Serialize)]
struct DueView {
    acknowledge_by: Option<Day>,
    respond_by: Option<Day>,
    update_by: Option<Day>,
    extended: bool,
    provisional: bool,
}

#[derive(Serialize)]
struct IdentityShown {
    name: String,
    contact: String,
}

#[derive(Serialize)]
struct CasePage {
    reference: String,
    base: String,
    attachments: Vec<crate::web::attachments::AttachmentView>,
    max_attachment: String,
    /// For a session whose key is in the browser, which checks the size before sealing.
    max_attachment_bytes: u64,
    organisation: String,
    service: &'static str,
    anonymous: bool,
    received: Day,
    became_aware: Option<Day>,
    stage: String,
    open: bool,
    due: DueView,
    urgency: Option<Tag>,
    concern: String,
    identity: Option<IdentityShown>,
    identity_withheld: bool,
    messages: Vec<MessageView>,
    notes: Vec<NoteView>,
    timeline: Vec<TimelineEntry>,
    forms: Vec<EventFormView>,
    holders: Vec<HolderView>,
    can_revoke: bool,
    can_grant_identity: bool,
    /// The session's key is in the browser: content slots that console.js fills.
    opened_in_browser: bool,
    conflicts: Vec<String>,
    audit: Vec<AuditView>,
    reply: String,
    note: String,
    grant_email: String,
    grant_identity: bool,
    error_in: &'static str,
    /// Which part of the case this page shows: "" (overview), "conversation", "procedure",
    /// "access" or "audit".
    part: &'static str,
}

/// The parts of a case page, each its own address, so no page runs to thousands of pixels.
pub const CASE_PARTS: [&str; 4] = ["conversation", "procedure", "access", "audit"];

/// The part a form's section lives in.
pub fn part_of(section: &str) -> &'static str {
    match section {
        "conversation" | "notes" | "reply" | "note" | "evidence" => "conversation",
        "procedure" | "event" => "procedure",
        "holders" | "grant" | "revoke" | "conflict" => "access",
        "audit" => "audit",
        _ => "",
    }
}

fn part_href(reference: &str, part: &str) -> String {
    if part.is_empty() {
        case_href(reference)
    } else {
        format!("{}/{part}", case_href(reference))
    }
}

fn message_view(message: &crate::service::casework::CaseMessage) -> MessageView {
    let (class, who) = match message.from {
        Author::Reporter => ("from-reporter", "The reporter".to_owned()),
        Author::Handler => (
            "from-handler",
            message
                .author
                .clone()
                .unwrap_or_else(|| "A handler".to_owned()),
        ),
        Author::System => (
            "from-handler letter",
            match &message.author {
                Some(name) => format!("Procedure letter, sent by {name}"),
                None => "Procedure letter".to_owned(),
            },
        ),
    };
    MessageView {
        class,
        who,
        body: message.body.clone(),
        sent: day(message.sent_on),
    }
}

fn action_words(action: &str) -> String {
    match action {
        "case_viewed" => "Viewed the case",
        "message_sent" => "Wrote to the reporter",
        "note_added" => "Added an internal note",
        "grant" => "Gave access",
        "revoke" => "Removed access",
        "conflict_declared" => "Declared a conflict of interest",
        "event_recorded" => "Recorded a procedure step",
        "recovery_wrap_added" => "Added the organisation's recovery key",
        "case_recovered" => "Recovered the case with the recovery key",
        "attachment_added" => "Added a file",
        "attachment_downloaded" => "Downloaded a file",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

fn case_view(
    detail: CaseDetail,
    me: &str,
    failure: Option<&Failure>,
    max_attachment_bytes: u64,
) -> CasePage {
    let kept = failure.map(|f| &f.kept);
    let error = failure.map(|f| super::sentence(&f.message));
    let forms = events::forms(&detail, kept.and_then(|k| k.event.as_ref()), error);
    let holders: Vec<HolderView> = detail
        .holders
        .iter()
        .map(|h| HolderView {
            name: h.name.clone(),
            email: h.email.clone(),
            role: h.role,
            identity: h.identity,
            granted: day(h.granted_on),
            granted_by: h.granted_by.clone(),
            is_me: h.email == me,
        })
        .collect();
    CasePage {
        attachments: crate::web::attachments::views(&detail.attachments, |id| {
            format!("{}/attachments/{id}", case_href(&detail.reference))
        }),
        max_attachment: crate::web::attachments::human_size(max_attachment_bytes),
        max_attachment_bytes,
        base: case_href(&detail.reference),
        reference: detail.reference,
        organisation: detail.organisation,
        service: service_words(detail.service),
        anonymous: detail.anonymity != "confidential",
        received: day(detail.received_on),
        became_aware: detail.became_aware_on.map(day),
        stage: capitalised(detail.state_label),
        open: detail.status == "open",
        due: DueView {
            acknowledge_by: detail.due.acknowledge_by.map(day),
            respond_by: detail.due.respond_by.map(day),
            update_by: detail.due.update_by.map(day),
            extended: detail.due.extended,
            provisional: detail.due.provisional,
        },
        urgency: detail.urgency.and_then(urgency_tag),
        concern: detail.concern,
        identity: detail.identity.map(|i| IdentityShown {
            name: i.name,
            contact: i.contact,
        }),
        identity_withheld: detail.identity_withheld,
        messages: detail.messages.iter().map(message_view).collect(),
        notes: detail
            .notes
            .into_iter()
            .map(|n| NoteView {
                author: n.author,
                body: n.body,
                written: day(n.written_on),
            })
            .collect(),
        timeline: detail
            .events
            .iter()
            .map(|e| TimelineEntry {
                event_id: e.id.clone(),
                on: day(e.on),
                what: events::event_words(e),
                by: e.by.clone(),
                detail: e.detail.clone(),
                authorised_by: e.authorised_by.clone(),
            })
            .collect(),
        forms,
        can_revoke: holders.len() > 1,
        holders,
        can_grant_identity: detail.can_grant_identity,
        opened_in_browser: detail.opened_in_browser,
        conflicts: detail.conflicts,
        audit: detail
            .audit
            .into_iter()
            .rev()
            .map(|line| AuditView {
                at: moment(line.at),
                who: line.actor.unwrap_or_else(|| "The portal".to_owned()),
                action: action_words(&line.action),
                subject: line.subject,
                detail: line.detail,
            })
            .collect(),
        reply: kept.map(|k| k.reply.clone()).unwrap_or_default(),
        note: kept.map(|k| k.note.clone()).unwrap_or_default(),
        grant_email: kept.map(|k| k.grant_email.clone()).unwrap_or_default(),
        grant_identity: kept.is_some_and(|k| k.grant_identity),
        error_in: kept.map(|k| k.form).unwrap_or(""),
        part: "",
    }
}

/// Renders the case page (an audited read), with a refused form's reason if there is one.
pub async fn case_page(
    portal: &Portal,
    handler: Arc<Handler>,
    csrf: &CsrfToken,
    reference: String,
    done: &Done,
    failure: Option<Failure>,
    part: &'static str,
) -> Result<HttpResponse, PageError> {
    let user = handler.user.clone();
    let max_attachment_bytes = portal.settings.max_attachment_bytes;
    let portal = portal.clone();
    let detail = match blocking(move || portal.case_detail(&handler, &reference)).await {
        Ok(detail) => detail,
        Err(ServiceError::NotFound) => {
            return super::console_error(
                Shell::new("Case not found", csrf, Some(&user)),
                "Case not found",
                "There is no case with that reference that you hold. Check the reference, or ask \
                 the person who holds the case to give you access.",
                ("/console", "Back to your cases"),
                StatusCode::NOT_FOUND,
            );
        }
        Err(other) => return Err(other.into()),
    };
    let title = format!("Case {}", detail.reference);
    let status = failure.as_ref().map_or(StatusCode::OK, |f| f.status);
    let mut shell = Shell::new(title, csrf, Some(&user))
        .notice(done)
        .error(failure.as_ref().map(|f| f.message.clone()));
    if detail.opened_in_browser {
        shell = shell.with_scripts();
    }
    let mut page = case_view(detail, &user.email, failure.as_ref(), max_attachment_bytes);
    page.part = part;
    render("console/case.html", shell, &page, status)
}

pub async fn show(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    done: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    case_page(
        &portal,
        Arc::new(handler.0),
        &csrf,
        reference.into_inner(),
        &done,
        None,
        "",
    )
    .await
}

/// `GET /console/cases/{reference}/{part}`: one part of the case.
pub async fn show_part(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    path: web::Path<(String, String)>,
    done: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let (reference, part) = path.into_inner();
    let part = CASE_PARTS
        .into_iter()
        .find(|known| *known == part)
        .ok_or(ServiceError::NotFound)?;
    case_page(
        &portal,
        Arc::new(handler.0),
        &csrf,
        reference,
        &done,
        None,
        part,
    )
    .await
}

/// After a form worked: back to the part of the case the form was in, at its section.
pub fn back_to_case(reference: &str, done: &str, section: &str) -> HttpResponse {
    see_other(&format!(
        "{}?done={done}#{section}",
        part_href(reference, part_of(section))
    ))
}

/// The case page again, with the reason the service refused a form and what was typed, or
/// the error page if the refusal is not one the person can fix.
pub async fn refused(
    portal: &Portal,
    handler: Arc<Handler>,
    csrf: &CsrfToken,
    reference: String,
    error: ServiceError,
    kept: Kept,
) -> Result<HttpResponse, PageError> {
    let (status, message) = refusal(error)?;
    let part = part_of(kept.form);
    let failure = Failure {
        status,
        message,
        kept,
    };
    case_page(
        portal,
        handler,
        csrf,
        reference,
        &Done::default(),
        Some(failure),
        part,
    )
    .await
}

/// Either back to the page with a notice, or the page again with the service's reason.
async fn finish(
    portal: &Portal,
    handler: Arc<Handler>,
    csrf: &CsrfToken,
    reference: String,
    outcome: Result<(), ServiceError>,
    success: (&str, &str),
    kept: Kept,
) -> Result<HttpResponse, PageError> {
    match outcome {
        Ok(()) => Ok(back_to_case(&reference, success.0, success.1)),
        Err(error) => refused(portal, handler, csrf, reference, error, kept).await,
    }
}

#[derive(Deserialize)]
pub struct BodyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

/// Which text a posted form adds to the case.
#[derive(Clone, Copy)]
enum CaseText {
    /// A message the reporter will see.
    Reply,
    /// An internal note.
    Note,
}

async fn add_text(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<BodyForm>,
    kind: CaseText,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let handler = Arc::new(handler.0);
    let reference = reference.into_inner();
    let typed = form.into_inner().body;
    let body = Secret::new(typed.clone());
    let outcome = {
        let (portal, reference) = (portal.get_ref().clone(), reference.clone());
        let handler = Arc::clone(&handler);
        blocking(move || match kind {
            CaseText::Reply => portal.handler_message(&handler, &reference, &body),
            CaseText::Note => portal.add_note(&handler, &reference, &body),
        })
        .await
    };
    let (done, kept) = match kind {
        CaseText::Reply => (
            ("replied", "conversation"),
            Kept {
                reply: typed,
                form: "reply",
                ..Kept::default()
            },
        ),
        CaseText::Note => (
            ("noted", "notes"),
            Kept {
                note: typed,
                form: "note",
                ..Kept::default()
            },
        ),
    };
    finish(&portal, handler, &csrf, reference, outcome, done, kept).await
}

pub async fn reply(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<BodyForm>,
) -> Result<HttpResponse, PageError> {
    add_text(portal, handler, csrf, reference, form, CaseText::Reply).await
}

pub async fn note(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<BodyForm>,
) -> Result<HttpResponse, PageError> {
    add_text(portal, handler, csrf, reference, form, CaseText::Note).await
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    identity: Option<String>,
}

pub async fn grant(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<GrantForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let handler = Arc::new(handler.0);
    let reference = reference.into_inner();
    let form = form.into_inner();
    let with_identity = ticked(&form.identity);
    let outcome = {
        let (portal, reference, email) = (
            portal.get_ref().clone(),
            reference.clone(),
            form.email.clone(),
        );
        let handler = Arc::clone(&handler);
        blocking(move || portal.grant(&handler, &reference, &email, with_identity)).await
    };
    finish(
        &portal,
        handler,
        &csrf,
        reference,
        outcome,
        ("granted", "holders"),
        Kept {
            grant_email: form.email,
            grant_identity: with_identity,
            form: "grant",
            ..Kept::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    /// `yes` once the confirmation page was answered.
    #[serde(default)]
    confirm: String,
}

/// A form whose only content is its answer to the confirmation page.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let handler = Arc::new(handler.0);
    let reference = reference.into_inner();
    let RevokeForm { email, confirm, .. } = form.into_inner();
    if confirm != "yes" {
        let heading = "Remove this person's access?";
        return super::confirmation_page(
            Shell::new(heading, &csrf, Some(&handler.user)),
            super::Confirmation {
                heading,
                consequence: "They lose their keys to this case at once and can no longer \
                              read it. Only someone who holds the case can give it back.",
                yes: "Yes, remove their access",
                action: &format!("{}/revoke", case_href(&reference)),
                back_href: &part_href(&reference, "access"),
                fields: vec![("email".to_owned(), email)],
                quoted: None,
            },
        );
    }
    let myself = email.trim().eq_ignore_ascii_case(&handler.user.email);
    let outcome = {
        let (portal, reference) = (portal.get_ref().clone(), reference.clone());
        let handler = Arc::clone(&handler);
        blocking(move || portal.revoke(&handler, &reference, &email)).await
    };
    if myself && outcome.is_ok() {
        // Having let go of the case, its page would now be "not found".
        return Ok(see_other("/console?done=revoked"));
    }
    finish(
        &portal,
        handler,
        &csrf,
        reference,
        outcome,
        ("revoked", "holders"),
        Kept {
            form: "revoke",
            ..Kept::default()
        },
    )
    .await
}

pub async fn conflict(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let handler = Arc::new(handler.0);
    let reference = reference.into_inner();
    if form.confirm != "yes" {
        let heading = "Declare a conflict of interest?";
        return super::confirmation_page(
            Shell::new(heading, &csrf, Some(&handler.user)),
            super::Confirmation {
                heading,
                consequence: "You lose your access to this case for good: your keys to it are \
                              deleted and nobody can give it back to you.",
                yes: "Yes, declare the conflict and give up the case",
                action: &format!("{}/conflict", case_href(&reference)),
                back_href: &part_href(&reference, "access"),
                fields: Vec::new(),
                quoted: None,
            },
        );
    }
    let outcome = {
        let (portal, reference) = (portal.get_ref().clone(), reference.clone());
        let handler = Arc::clone(&handler);
        blocking(move || portal.declare_conflict(&handler, &reference)).await
    };
    match outcome {
        Ok(()) => Ok(see_other("/console?done=conflict_declared")),
        Err(error) => {
            let kept = Kept {
                form: "conflict",
                ..Kept::default()
            };
            refused(&portal, handler, &csrf, reference, error, kept).await
        }
    }
}
