//! What handlers do with cases they hold: read (audited), talk to the reporter, keep notes,
//! hand cases on. Holding a wrap of the case key is the only way in; a handler without one
//! gets "not found", exactly as for a case that does not exist.

use std::collections::HashMap;

use serde::Serialize;
use time::{Date, PrimitiveDateTime};

use super::accounts::crypto_failure;
use super::casefile::{self, RecordDraft, open_json, stored_public_key};
use super::content::{ConcernContent, EventContent, IdentityContent, MessageContent};
use super::mailbox::{checked_message, parse_service};
use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::crypto::{self, DataKey, KeyKind, RecordKind, Secret, WrapContext};
use crate::ids::{CaseId, RecordId, UserId};
use crate::model::Author;
use crate::procedure::{Due, EscalationReason, EventType, Service, Urgency, UrgencyLevel};
use crate::store::audit::{self, NewEntry};
use crate::store::cases::{self, Case};
use crate::store::organisations::{self, Organisation};
use crate::store::users::{self, User};
use crate::store::wraps::{self, Recipient, Wrap};
use crate::store::{Tx, conflicts, events, reads};

/// A case the handler holds, opened.
pub(super) struct OpenCase {
    pub case: Case,
    pub key: DataKey,
    pub organisation: Organisation,
}

/// Finds a case by reference and unwraps its key with the handler's secret.
pub(super) fn open_case(
    tx: &mut Tx,
    handler: &Handler,
    reference: &str,
) -> Result<OpenCase, ServiceError> {
    let case = cases::find_by_reference(tx, reference.trim())?.ok_or(ServiceError::NotFound)?;
    let wrap = wraps::find(
        tx,
        &case.id,
        &Recipient::User(handler.user.id.clone()),
        KeyKind::Case,
    )?
    .ok_or(ServiceError::NotFound)?;
    let key = crypto::unwrap_key(
        handler.secret()?,
        &wrap.wrapped,
        &WrapContext::new(case.id.as_str(), KeyKind::Case),
    )
    .map_err(|_| ServiceError::NotFound)?;
    let organisation = organisations::find(tx, &case.organisation_id)?
        .ok_or_else(|| ServiceError::Internal("case without organisation".into()))?;
    Ok(OpenCase {
        case,
        key,
        organisation,
    })
}

/// Finds a case by reference that the handler holds (a wrap of its key for them), without
/// opening anything: for sessions whose key is in the browser.
pub(super) fn find_held_case(
    tx: &mut Tx,
    handler: &Handler,
    reference: &str,
) -> Result<(Case, Organisation), ServiceError> {
    let case = cases::find_by_reference(tx, reference.trim())?.ok_or(ServiceError::NotFound)?;
    wraps::find(
        tx,
        &case.id,
        &Recipient::User(handler.user.id.clone()),
        KeyKind::Case,
    )?
    .ok_or(ServiceError::NotFound)?;
    let organisation = organisations::find(tx, &case.organisation_id)?
        .ok_or_else(|| ServiceError::Internal("case without organisation".into()))?;
    Ok((case, organisation))
}

fn identity_key(
    tx: &mut Tx,
    handler: &Handler,
    case: &CaseId,
) -> Result<Option<DataKey>, ServiceError> {
    let Some(wrap) = wraps::find(
        tx,
        case,
        &Recipient::User(handler.user.id.clone()),
        KeyKind::Identity,
    )?
    else {
        return Ok(None);
    };
    crypto::unwrap_key(
        handler.secret()?,
        &wrap.wrapped,
        &WrapContext::new(case.as_str(), KeyKind::Identity),
    )
    .map(Some)
    .map_err(|_| ServiceError::Internal(format!("identity wrap on {case} does not open")))
}

pub(super) fn audit_case(
    tx: &mut Tx,
    handler: &Handler,
    case: &Case,
    action: &'static str,
    subject: Option<&UserId>,
    detail: String,
    at: PrimitiveDateTime,
) -> Result<(), ServiceError> {
    audit::append(
        tx,
        NewEntry {
            actor_user_id: Some(handler.user.id.as_str().to_owned()),
            action,
            organisation_id: Some(case.organisation_id.as_str().to_owned()),
            case_id: Some(case.id.as_str().to_owned()),
            subject_user_id: subject.map(|id| id.as_str().to_owned()),
            detail,
        },
        at,
    )?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    pub reference: String,
    pub service: Service,
    pub received_on: Date,
    pub stage: &'static str,
    pub status: &'static str,
    pub state_label: &'static str,
    pub due_on: Option<Date>,
    pub urgency: Option<&'static str>,
    pub urgency_share: Option<f64>,
    /// The most pressing obligation: which one, its date, and working days used of those allowed.
    pub next_deadline: Option<Urgency>,
    pub unread: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseMessage {
    pub from: Author,
    pub author: Option<String>,
    pub body: String,
    pub sent_on: Date,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseNote {
    pub author: String,
    pub body: String,
    pub written_on: Date,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseEvent {
    /// The event's id, which its letter is bound to (for the page; not in the API's JSON).
    #[serde(skip)]
    pub id: String,
    pub on: Date,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub until: Option<Date>,
    pub outcome: Option<&'static str>,
    pub reason: Option<&'static str>,
    pub by: Option<String>,
    pub letter: Option<String>,
    pub detail: Option<String>,
    pub authorised_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Holder {
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub identity: bool,
    pub granted_on: Date,
    pub granted_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditLine {
    pub at: PrimitiveDateTime,
    pub actor: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct CaseDetail {
    pub reference: String,
    pub organisation: String,
    pub service: Service,
    pub anonymity: String,
    pub topic: String,
    pub received_on: Date,
    pub became_aware_on: Option<Date>,
    pub stage: &'static str,
    pub status: &'static str,
    pub state: &'static str,
    pub state_label: &'static str,
    pub due: Due,
    pub urgency: Option<&'static str>,
    pub concern: String,
    pub identity: Option<IdentityView>,
    /// A confidential case whose identity this handler has not been given.
    pub identity_withheld: bool,
    pub messages: Vec<CaseMessage>,
    pub attachments: Vec<super::attachments::AttachmentListing>,
    pub notes: Vec<CaseNote>,
    pub events: Vec<CaseEvent>,
    pub allowed_events: Vec<EventType>,
    /// The reasons a `stage2` event may give now (empty when stage 2 is not offered).
    pub allowed_escalation_reasons: Vec<EscalationReason>,
    pub holders: Vec<Holder>,
    pub conflicts: Vec<String>,
    pub audit: Vec<AuditLine>,
    /// Whether this handler may pass the identity on.
    pub can_grant_identity: bool,
    /// A session whose key is in the browser: no sealed content above; the page's script
    /// opens it from [`Portal::sealed_case`].
    pub opened_in_browser: bool,
}

#[derive(Debug, Serialize)]
pub struct IdentityView {
    pub name: String,
    pub contact: String,
}

fn urgency_name(level: UrgencyLevel) -> &'static str {
    level.as_str()
}

/// Display names for user ids, for lists that mention people.
fn names(tx: &mut Tx, organisation: &Organisation) -> Result<HashMap<UserId, User>, ServiceError> {
    Ok(users::list_in_organisation(tx, &organisation.id)?
        .into_iter()
        .map(|user| (user.id.clone(), user))
        .collect())
}

impl Portal {
    /// The cases this handler holds, most urgent first.
    pub fn inbox(&self, handler: &Handler) -> Result<Vec<InboxEntry>, ServiceError> {
        let today = self.clock.today();
        self.store.read(|tx| {
            let held = wraps::cases_held_by(tx, &handler.user.id)?;
            let found = cases::find_many(tx, &held)?;
            let mut histories = events::for_cases(tx, &held)?;
            let seen = reads::seen_by(tx, &handler.user.id, &held)?;
            let latest = cases::latest_reporter_seqs(tx, &held)?;
            let mut calendars: HashMap<
                String,
                (crate::procedure::Calendar, crate::procedure::Settings),
            > = HashMap::new();
            let mut entries = Vec::with_capacity(found.len());
            for case in found {
                if !calendars.contains_key(case.organisation_id.as_str()) {
                    let organisation =
                        organisations::find(tx, &case.organisation_id)?.ok_or_else(|| {
                            ServiceError::Internal("case without organisation".into())
                        })?;
                    let calendar = casefile::calendar_for(tx, &organisation)?;
                    calendars.insert(
                        case.organisation_id.as_str().to_owned(),
                        (calendar, casefile::procedure_settings(&organisation)),
                    );
                }
                let Some((calendar, settings)) = calendars.get(case.organisation_id.as_str())
                else {
                    continue;
                };
                let history = histories.remove(&case.id).unwrap_or_default();
                let procedure = casefile::replay(&history, calendar, settings)?;
                let urgency = procedure.urgency(today, calendar);
                let due = procedure.due();
                let seen = seen.get(&case.id).copied().unwrap_or(0);
                let latest = latest.get(&case.id).copied().unwrap_or(0);
                entries.push(InboxEntry {
                    reference: case.reference,
                    service: parse_service(&case.service).unwrap_or(Service::Nhs),
                    received_on: case.received_on,
                    stage: procedure.stage().as_str(),
                    status: procedure.status().as_str(),
                    state_label: procedure.state().label(),
                    due_on: due
                        .acknowledge_by
                        .into_iter()
                        .chain(due.respond_by)
                        .chain(due.update_by)
                        .min(),
                    urgency: urgency.map(|u| urgency_name(u.level)),
                    urgency_share: urgency.map(|u| u.share),
                    next_deadline: urgency,
                    unread: latest > seen,
                });
            }
            entries.sort_by(|a, b| {
                let rank = |e: &InboxEntry| (e.status != "open", e.due_on.is_none(), e.due_on);
                rank(a).cmp(&rank(b))
            });
            Ok(entries)
        })
    }

    /// Opens a case for reading. Every view is audited, in the same transaction.
    pub fn case_detail(
        &self,
        handler: &Handler,
        reference: &str,
    ) -> Result<CaseDetail, ServiceError> {
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        if handler.key_in_browser() {
            return self.store.write(|tx| {
                // Nothing is opened here: the page carries no content, which the browser opens
                // from `sealed_case` (audited there).
                let (case, organisation) = find_held_case(tx, handler, reference)?;
                self.read_case(tx, handler, &case, None, &organisation, today)
            });
        }
        self.store.write(|tx| {
            let open = open_case(tx, handler, reference)?;
            add_missing_recovery_wrap(tx, handler, &open, today, now)?;
            // Written before the trail is read, so the page shows the view it records.
            audit_case(
                tx,
                handler,
                &open.case,
                "case_viewed",
                None,
                String::new(),
                now,
            )?;
            let detail = self.read_case(
                tx,
                handler,
                &open.case,
                Some(&open.key),
                &open.organisation,
                today,
            )?;
            let latest = cases::latest_seq(tx, &open.case.id)?;
            reads::mark_seen(tx, &open.case.id, &handler.user.id, latest)?;
            Ok(detail)
        })
    }

    /// Everything about a case for its page. Without `key` (a session whose key is in the
    /// browser) the sealed content is left out and `opened_in_browser` is set.
    fn read_case(
        &self,
        tx: &mut Tx,
        handler: &Handler,
        case: &Case,
        key: Option<&DataKey>,
        organisation: &Organisation,
        today: Date,
    ) -> Result<CaseDetail, ServiceError> {
        let people = names(tx, organisation)?;
        let name_of = |id: &UserId| people.get(id).map(|u| u.display_name.clone());
        let calendar = casefile::calendar_for(tx, organisation)?;
        let settings = casefile::procedure_settings(organisation);
        let history = events::for_case(tx, &case.id)?;
        let procedure = casefile::replay(&history, &calendar, &settings)?;
        let records = if key.is_none() {
            Vec::new()
        } else {
            cases::records(
                tx,
                &case.id,
                &[
                    RecordKind::Concern.as_str(),
                    RecordKind::Identity.as_str(),
                    RecordKind::Message.as_str(),
                    RecordKind::Note.as_str(),
                    RecordKind::EventText.as_str(),
                ],
            )?
        };
        let identity_key = match key {
            Some(_) => identity_key(tx, handler, &case.id)?,
            None => None,
        };
        let has_identity_wrap = wraps::find(
            tx,
            &case.id,
            &Recipient::User(handler.user.id.clone()),
            KeyKind::Identity,
        )?
        .is_some();
        let mut concern = String::new();
        let mut identity = None;
        let mut messages = Vec::new();
        let mut notes = Vec::new();
        let mut event_texts: HashMap<String, EventContent> = HashMap::new();
        for record in &records {
            match record.kind.as_str() {
                kind if kind == RecordKind::Concern.as_str() => {
                    if let Some(key) = key {
                        concern =
                            open_json::<ConcernContent>(key, record, RecordKind::Concern)?.text;
                    }
                }
                kind if kind == RecordKind::Identity.as_str() => {
                    if let Some(key) = &identity_key {
                        let content: IdentityContent =
                            open_json(key, record, RecordKind::Identity)?;
                        identity = Some(IdentityView {
                            name: content.name,
                            contact: content.contact,
                        });
                    }
                }
                kind if kind == RecordKind::Message.as_str() => {
                    let Some(key) = key else { continue };
                    let content: MessageContent = open_json(key, record, RecordKind::Message)?;
                    messages.push(CaseMessage {
                        from: record.author,
                        author: record.author_user_id.as_ref().and_then(&name_of),
                        body: content.body,
                        sent_on: record.created_on,
                    });
                }
                kind if kind == RecordKind::Note.as_str() => {
                    let Some(key) = key else { continue };
                    let content: MessageContent = open_json(key, record, RecordKind::Note)?;
                    notes.push(CaseNote {
                        author: record
                            .author_user_id
                            .as_ref()
                            .and_then(&name_of)
                            .unwrap_or_default(),
                        body: content.body,
                        written_on: record.created_on,
                    });
                }
                kind if kind == RecordKind::EventText.as_str() => {
                    let Some(key) = key else { continue };
                    let content: EventContent = open_json(key, record, RecordKind::EventText)?;
                    if let Some(event_id) = &record.event_id {
                        event_texts.insert(event_id.clone(), content);
                    }
                    messages.push(CaseMessage {
                        from: Author::System,
                        author: record.author_user_id.as_ref().and_then(&name_of),
                        body: event_texts
                            .get(record.event_id.as_deref().unwrap_or(""))
                            .map(|c| c.letter.clone())
                            .unwrap_or_default(),
                        sent_on: record.created_on,
                    });
                }
                _ => {}
            }
        }
        let events = history
            .iter()
            .map(|stored| {
                let text = event_texts.get(stored.id.as_str());
                let kind = stored.event.kind;
                CaseEvent {
                    id: stored.id.as_str().to_owned(),
                    on: stored.event.on,
                    event_type: kind.event_type(),
                    until: match kind {
                        crate::procedure::EventKind::Extend { until } => Some(until),
                        _ => None,
                    },
                    outcome: match kind {
                        crate::procedure::EventKind::Close { outcome } => Some(outcome.as_str()),
                        _ => None,
                    },
                    reason: match kind {
                        crate::procedure::EventKind::Stage2 { reason } => Some(reason.as_str()),
                        _ => None,
                    },
                    by: stored.actor.as_ref().and_then(&name_of),
                    letter: text.map(|t| t.letter.clone()),
                    detail: text.map(|t| t.detail.clone()).filter(|d| !d.is_empty()),
                    authorised_by: text
                        .map(|t| t.authorised_by.clone())
                        .filter(|a| !a.is_empty()),
                }
            })
            .collect();
        let all_wraps = wraps::for_case(tx, &case.id)?;
        let mut holders: Vec<Holder> = Vec::new();
        for wrap in all_wraps.iter().filter(|w| w.key_kind == KeyKind::Case) {
            let Recipient::User(user_id) = &wrap.recipient else {
                continue;
            };
            let Some(user) = people.get(user_id) else {
                continue;
            };
            let has_identity = all_wraps
                .iter()
                .any(|w| w.key_kind == KeyKind::Identity && w.recipient == wrap.recipient);
            holders.push(Holder {
                name: user.display_name.clone(),
                email: user.email.clone(),
                role: user.role.label(),
                identity: has_identity,
                granted_on: wrap.granted_on,
                granted_by: wrap.granted_by.as_ref().and_then(&name_of),
            });
        }
        let conflicts = conflicts::for_case(tx, &case.id)?
            .iter()
            .filter_map(|(user, _)| name_of(user))
            .collect();
        let audit = audit::for_case(tx, case.id.as_str())?
            .into_iter()
            .map(|entry| AuditLine {
                at: entry.at,
                actor: entry.actor_user_id.map(|id| {
                    name_of(&UserId::from_stored(id)).unwrap_or_else(|| "a former account".into())
                }),
                action: entry.action,
                subject: entry
                    .subject_user_id
                    .and_then(|id| name_of(&UserId::from_stored(id))),
                detail: entry.detail,
            })
            .collect();
        let state = procedure.state();
        Ok(CaseDetail {
            reference: case.reference.clone(),
            organisation: organisation.name.clone(),
            service: parse_service(&case.service).unwrap_or(Service::Nhs),
            anonymity: case.anonymity.clone(),
            topic: case.topic.clone(),
            received_on: case.received_on,
            became_aware_on: case.became_aware_on,
            stage: procedure.stage().as_str(),
            status: procedure.status().as_str(),
            state: state.as_str(),
            state_label: state.label(),
            due: procedure.due(),
            urgency: procedure
                .urgency(today, &calendar)
                .map(|u| urgency_name(u.level)),
            concern,
            identity_withheld: case.anonymity == "confidential"
                && identity.is_none()
                && (key.is_some() || !has_identity_wrap),
            // A browser session holds the identity if it has the wrap (it opens it itself).
            can_grant_identity: identity.is_some() || (key.is_none() && has_identity_wrap),
            identity,
            messages,
            attachments: match key {
                Some(key) => super::attachments::listing(tx, &case.id, key)?,
                None => Vec::new(),
            },
            opened_in_browser: key.is_none(),
            notes,
            events,
            allowed_events: procedure.allowed_events(today),
            allowed_escalation_reasons: procedure.allowed_escalation_reasons(),
            holders,
            conflicts,
            audit,
        })
    }

    fn append_handler_record(
        &self,
        handler: &Handler,
        reference: &str,
        body: &Secret<String>,
        kind: RecordKind,
        action: &'static str,
    ) -> Result<(), ServiceError> {
        let body = checked_message(body)?;
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        let record = RecordId::generate();
        self.store.write(|tx| {
            let open = open_case(tx, handler, reference)?;
            casefile::append_sealed(
                tx,
                &open.key,
                &RecordDraft {
                    id: &record,
                    case_id: &open.case.id,
                    kind,
                    author: Author::Handler,
                    author_user_id: Some(&handler.user.id),
                    event_id: None,
                    written_on: today,
                },
                &MessageContent { body },
            )?;
            audit_case(tx, handler, &open.case, action, None, String::new(), now)
        })
    }

    /// A message to the reporter, shown in their mailbox.
    pub fn handler_message(
        &self,
        handler: &Handler,
        reference: &str,
        body: &Secret<String>,
    ) -> Result<(), ServiceError> {
        self.append_handler_record(
            handler,
            reference,
            body,
            RecordKind::Message,
            "message_sent",
        )
    }

    /// An internal note: sealed like everything else, never shown to the reporter.
    pub fn add_note(
        &self,
        handler: &Handler,
        reference: &str,
        body: &Secret<String>,
    ) -> Result<(), ServiceError> {
        self.append_handler_record(handler, reference, body, RecordKind::Note, "note_added")
    }

    /// Gives another handler the case key (and, if asked and held, the reporter's identity).
    pub fn grant(
        &self,
        handler: &Handler,
        reference: &str,
        email: &str,
        with_identity: bool,
    ) -> Result<(), ServiceError> {
        self.grant_with_reason(handler, reference, email, with_identity, "")
    }

    /// As [`Portal::grant`]; `reason` is what the reporter reads when asked to share their
    /// identity with the new holder.
    pub fn grant_with_reason(
        &self,
        handler: &Handler,
        reference: &str,
        email: &str,
        with_identity: bool,
        reason: &str,
    ) -> Result<(), ServiceError> {
        let email = super::accounts::normalise_email(email)?;
        let reason = super::identity_consent::checked_reason(reason)?;
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let open = open_case(tx, handler, reference)?;
            let case = &open.case;
            let target = grant_target(tx, case, &email)?;
            super::exclusions::ensure_not_excluded(tx, case, &open.key, &target)?;
            let recipient = Recipient::User(target.id.clone());
            let target_key = stored_public_key(&target.public_key)?;
            let mut granted = Vec::new();
            if wraps::find(tx, &case.id, &recipient, KeyKind::Case)?.is_none() {
                let wrapped = crypto::wrap_key(
                    &open.key,
                    &target_key,
                    &WrapContext::new(case.id.as_str(), KeyKind::Case),
                )
                .map_err(crypto_failure)?;
                wraps::insert(
                    tx,
                    &Wrap {
                        case_id: case.id.clone(),
                        recipient: recipient.clone(),
                        key_kind: KeyKind::Case,
                        wrapped,
                        granted_by: Some(handler.user.id.clone()),
                        granted_on: today,
                    },
                )?;
                granted.push("case");
            }
            if with_identity {
                let identity =
                    identity_key(tx, handler, &case.id)?.ok_or_else(identity_not_held)?;
                // Never shared directly: the reporter is asked first (Part 8 of the Standards).
                if wraps::find(tx, &case.id, &recipient, KeyKind::Identity)?.is_none()
                    && super::identity_consent::request(
                        tx, &open, handler, &target, &identity, &reason, today,
                    )?
                {
                    granted.push("identity_requested");
                }
            }
            if granted.is_empty() {
                return Err(already_granted(&target));
            }
            super::notices::tell(
                tx,
                &target.id,
                &crate::notify::Notice::Granted {
                    reference: case.reference.clone(),
                },
                &self.settings.public_url,
                now,
            )?;
            audit_case(
                tx,
                handler,
                case,
                "grant",
                Some(&target.id),
                format!("keys={}", granted.join("+")),
                now,
            )
        })
    }

    /// For a session whose key is in the browser: checks a grant as [`Portal::grant`] does
    /// (an active account of the organisation in a role that holds cases, no conflict of
    /// interest, not already granted, the identity only from someone who holds it) and answers
    /// the person's public key for the browser to wrap the case key to. Records nothing. The
    /// reporter's exclusions are sealed with the concern, so the browser checks those.
    pub fn check_browser_grant(
        &self,
        handler: &Handler,
        reference: &str,
        email: &str,
        with_identity: bool,
    ) -> Result<GrantRecipient, ServiceError> {
        let email = super::accounts::normalise_email(email)?;
        self.store.read(|tx| {
            let (case, _) = find_held_case(tx, handler, reference)?;
            let target = grant_target(tx, &case, &email)?;
            let (case_wrap, identity_request) =
                browser_grant_plan(tx, handler, &case, &target, with_identity)?;
            Ok(GrantRecipient {
                case_id: case.id.as_str().to_owned(),
                user_id: target.id.as_str().to_owned(),
                name: target.display_name.clone(),
                role: target.role.label(),
                public_key: stored_public_key(&target.public_key)?.to_bytes(),
                case_wrap,
                identity_request,
            })
        })
    }

    /// Stores a grant whose wraps the browser made: checked again under the case's lock as
    /// [`Portal::check_browser_grant`] checks it; the browser must send exactly what the grant
    /// needs now (400 `wrap_missing` / `unexpected_wrap` otherwise). The server checks the
    /// wraps' length, not what they hold: it cannot open them. Notified and audited
    /// ("wrapped in the browser") in the same transaction.
    pub fn record_browser_grant(
        &self,
        handler: &Handler,
        reference: &str,
        grant: &BrowserGrant<'_>,
    ) -> Result<(), ServiceError> {
        let email = super::accounts::normalise_email(grant.email)?;
        if let Some(wrap) = grant.case_wrap {
            check_wrap(wrap)?;
        }
        if let Some(identity) = &grant.identity {
            check_wrap(identity.identity_wrap)?;
            super::identity_consent::check_sealed_reason(
                identity.request_id,
                identity.sealed_reason,
            )?;
        }
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let (case, _) = find_held_case(tx, handler, reference)?;
            cases::lock(tx, &case.id)?;
            let target = grant_target(tx, &case, &email)?;
            let (needs_case_wrap, needs_identity) =
                browser_grant_plan(tx, handler, &case, &target, grant.with_identity)?;
            let case_wrap = sent_as_needed(
                needs_case_wrap,
                grant.case_wrap,
                "the case key wrapped for this person is needed",
                "this person already holds the case key",
            )?;
            let identity = sent_as_needed(
                needs_identity,
                grant.identity.as_ref(),
                "the identity key wrapped for this person, and the sealed reason, are needed",
                "no identity request is to be made for this person",
            )?;
            let mut granted = Vec::new();
            if let Some(wrapped) = case_wrap {
                wraps::insert(
                    tx,
                    &Wrap {
                        case_id: case.id.clone(),
                        recipient: Recipient::User(target.id.clone()),
                        key_kind: KeyKind::Case,
                        wrapped: wrapped.to_vec(),
                        granted_by: Some(handler.user.id.clone()),
                        granted_on: today,
                    },
                )?;
                granted.push("case");
            }
            if let Some(identity) = identity {
                super::identity_consent::insert_request(
                    tx, &case, handler, &target, identity, today,
                )?;
                granted.push("identity_requested");
            }
            super::notices::tell(
                tx,
                &target.id,
                &crate::notify::Notice::Granted {
                    reference: case.reference.clone(),
                },
                &self.settings.public_url,
                now,
            )?;
            audit_case(
                tx,
                handler,
                &case,
                "grant",
                Some(&target.id),
                format!("keys={}; wrapped in the browser", granted.join("+")),
                now,
            )
        })
    }

    /// Takes a case (and identity) away from a handler. Someone must always keep it.
    pub fn revoke(
        &self,
        handler: &Handler,
        reference: &str,
        email: &str,
    ) -> Result<(), ServiceError> {
        let email = super::accounts::normalise_email(email)?;
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            // Needs no key: deleting wraps opens nothing, so a session whose key is in the
            // browser can do it too.
            let (case, _) = find_held_case(tx, handler, reference)?;
            let target = users::find_by_email(tx, &email)?
                .map(|(user, _)| user)
                .filter(|user| user.organisation_id == case.organisation_id)
                .ok_or(ServiceError::NotFound)?;
            remove_holder(tx, &handler.user.id, &case, &target.id)?;
            audit_case(
                tx,
                handler,
                &case,
                "revoke",
                Some(&target.id),
                String::new(),
                now,
            )
        })
    }

    /// The handler steps away from a case for good: their keys are deleted and no one can
    /// grant it to them again.
    pub fn declare_conflict(&self, handler: &Handler, reference: &str) -> Result<(), ServiceError> {
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            // Needs no key (wraps are deleted, nothing is opened): works the same for a session
            // whose key is in the browser.
            let (case, _) = find_held_case(tx, handler, reference)?;
            remove_holder(tx, &handler.user.id, &case, &handler.user.id)?;
            conflicts::declare(tx, &case.id, &handler.user.id, today)?;
            audit_case(
                tx,
                handler,
                &case,
                "conflict_declared",
                Some(&handler.user.id),
                String::new(),
                now,
            )
        })
    }
}

/// The person a case may be granted to: an active account of the case's organisation, in a
/// role that holds cases, without a declared conflict of interest. (Whether the reporter left
/// them out is sealed with the concern: checked where the case key is.)
fn grant_target(tx: &mut Tx, case: &Case, email: &str) -> Result<User, ServiceError> {
    let target = users::find_by_email(tx, email)?
        .map(|(user, _)| user)
        .filter(|user| user.active && user.organisation_id == case.organisation_id)
        .ok_or_else(|| {
            ServiceError::invalid(
                "unknown_user",
                "no active account in this organisation has that e-mail address",
            )
        })?;
    if !target.role.may_hold_cases() {
        return Err(ServiceError::invalid(
            "role_cannot_hold_cases",
            format!(
                "{} is {}; only confidential contacts and investigators can be given cases",
                target.display_name,
                target.role.label()
            ),
        ));
    }
    if conflicts::exists(tx, &case.id, &target.id)? {
        return Err(ServiceError::Conflict {
            code: "conflict_of_interest",
            message: format!(
                "{} has declared a conflict of interest on this case",
                target.display_name
            ),
        });
    }
    Ok(target)
}

fn already_granted(target: &User) -> ServiceError {
    ServiceError::Conflict {
        code: "already_granted",
        message: format!("{} already holds this case", target.display_name),
    }
}

fn identity_not_held() -> ServiceError {
    ServiceError::invalid(
        "identity_not_held",
        "only someone who holds the reporter's identity can share it",
    )
}

/// What a grant from a browser session has to make, decided from the case as it stands: a wrap
/// of the case key (unless the person holds it already) and an identity request (if asked for,
/// and none is already waiting for them).
fn browser_grant_plan(
    tx: &mut Tx,
    handler: &Handler,
    case: &Case,
    target: &User,
    with_identity: bool,
) -> Result<(bool, bool), ServiceError> {
    let recipient = Recipient::User(target.id.clone());
    let case_wrap = wraps::find(tx, &case.id, &recipient, KeyKind::Case)?.is_none();
    let identity_request = if with_identity {
        wraps::find(
            tx,
            &case.id,
            &Recipient::User(handler.user.id.clone()),
            KeyKind::Identity,
        )?
        .ok_or_else(identity_not_held)?;
        wraps::find(tx, &case.id, &recipient, KeyKind::Identity)?.is_none()
            && crate::store::identity_requests::pending_for(tx, &case.id, &target.id)?.is_none()
    } else {
        false
    };
    if !case_wrap && !identity_request {
        return Err(already_granted(target));
    }
    Ok((case_wrap, identity_request))
}

/// What a browser sent for one part of a grant, against whether the grant needs it now (decided
/// under the case's lock): the part when both agree, nothing when neither does; 400
/// `wrap_missing` or `unexpected_wrap` otherwise.
fn sent_as_needed<T>(
    needed: bool,
    sent: Option<T>,
    missing: &str,
    unexpected: &str,
) -> Result<Option<T>, ServiceError> {
    match (needed, sent) {
        (true, Some(sent)) => Ok(Some(sent)),
        (false, None) => Ok(None),
        (true, None) => Err(ServiceError::invalid("wrap_missing", missing)),
        (false, Some(_)) => Err(ServiceError::invalid("unexpected_wrap", unexpected)),
    }
}

/// Someone a browser session is about to give a case to: who, their public key (for the
/// browser to wrap to), and what the browser has to make.
#[derive(Debug, Clone)]
pub struct GrantRecipient {
    pub case_id: String,
    pub user_id: String,
    pub name: String,
    pub role: &'static str,
    pub public_key: [u8; 32],
    /// A wrap of the case key is needed (false: they hold the case, only the identity is asked).
    pub case_wrap: bool,
    /// An identity request is made: the identity key wrapped for them and the reason sealed.
    pub identity_request: bool,
}

/// The identity request a browser made: its id, the identity key wrapped for the new holder
/// (held back until the reporter agrees), and the reason sealed under the case key (bound to
/// the case, `identity-request` and the id).
pub struct BrowserIdentityRequest<'a> {
    pub request_id: &'a str,
    pub identity_wrap: &'a [u8],
    pub sealed_reason: &'a [u8],
}

/// A grant whose wraps a browser session made.
pub struct BrowserGrant<'a> {
    pub email: &'a str,
    pub with_identity: bool,
    pub case_wrap: Option<&'a [u8]>,
    pub identity: Option<BrowserIdentityRequest<'a>>,
}

pub(super) fn check_wrap(wrap: &[u8]) -> Result<(), ServiceError> {
    if wrap.len() == crypto::WRAPPED_KEY_LEN {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "invalid_wrap",
            format!(
                "a wrapped key is {} bytes (base64)",
                crypto::WRAPPED_KEY_LEN
            ),
        ))
    }
}

/// Whether the case key is wrapped for the organisation's recovery key.
pub(super) fn has_recovery_wrap(tx: &mut Tx, case: &Case) -> Result<bool, ServiceError> {
    Ok(wraps::find(tx, &case.id, &Recipient::Recovery, KeyKind::Case)?.is_some())
}

/// Cases raised before the organisation created its recovery key gain a recovery wrap the
/// first time a holder opens them, since only a holder has the case key to wrap. Checked again
/// under the case's lock, so a browser session adding it at the same moment
/// ([`Portal::add_browser_recovery_wrap`]) is decided one after the other.
fn add_missing_recovery_wrap(
    tx: &mut Tx,
    handler: &Handler,
    open: &OpenCase,
    today: Date,
    now: PrimitiveDateTime,
) -> Result<(), ServiceError> {
    let Some(recovery) = &open.organisation.recovery_public_key else {
        return Ok(());
    };
    if has_recovery_wrap(tx, &open.case)? {
        return Ok(());
    }
    cases::lock(tx, &open.case.id)?;
    if has_recovery_wrap(tx, &open.case)? {
        return Ok(());
    }
    let public = stored_public_key(recovery)?;
    let wrapped = crypto::wrap_key(
        &open.key,
        &public,
        &WrapContext::new(open.case.id.as_str(), KeyKind::Case),
    )
    .map_err(crypto_failure)?;
    insert_recovery_wrap(
        tx,
        handler,
        &open.case,
        wrapped,
        String::new(),
        (today, now),
    )
}

/// Stores a case's recovery wrap, made by `handler`'s session (on the server, or in the
/// browser as `detail` says), with its audit entry in the same transaction.
pub(super) fn insert_recovery_wrap(
    tx: &mut Tx,
    handler: &Handler,
    case: &Case,
    wrapped: Vec<u8>,
    detail: String,
    (today, now): (Date, PrimitiveDateTime),
) -> Result<(), ServiceError> {
    wraps::insert(
        tx,
        &Wrap {
            case_id: case.id.clone(),
            recipient: Recipient::Recovery,
            key_kind: KeyKind::Case,
            wrapped,
            granted_by: Some(handler.user.id.clone()),
            granted_on: today,
        },
    )?;
    audit_case(tx, handler, case, "recovery_wrap_added", None, detail, now)
}

/// Deletes a handler's wraps on a case, refusing to leave the case with no active handler.
/// The case row is locked before anything is counted, so two holders revoking each other at
/// the same moment are decided one after the other: the second finds it no longer holds the
/// case, or that it would be the last.
fn remove_holder(
    tx: &mut Tx,
    acting: &UserId,
    case: &Case,
    user: &UserId,
) -> Result<(), ServiceError> {
    cases::lock(tx, &case.id)?;
    let holds = |tx: &mut Tx, who: &UserId| {
        wraps::find(tx, &case.id, &Recipient::User(who.clone()), KeyKind::Case)
            .map(|found| found.is_some())
    };
    if !holds(tx, acting)? || !holds(tx, user)? {
        return Err(ServiceError::NotFound);
    }
    let recipient = Recipient::User(user.clone());
    if super::custody::other_active_holders(tx, &case.id, user)? == 0 {
        return Err(ServiceError::Conflict {
            code: "last_holder",
            message: "nobody else holds this case; give it to someone else first".to_owned(),
        });
    }
    wraps::delete(
        tx,
        &case.id,
        &recipient,
        &[KeyKind::Case, KeyKind::Identity],
    )?;
    Ok(())
}
