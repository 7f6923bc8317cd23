//! Procedure events from the case page: one small form per event type the procedure allows
//! now, all posting to `/console/cases/{reference}/events` with an `event_type` field.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::cases::{Kept, refused};
use super::{Choice, ticked};
use crate::procedure::letters::long_date;
use crate::procedure::{
    EscalationReason, EventType, NotWhistleblowingKind, Outcome, parse_typed_date,
};
use crate::service::case_events::EventInput;
use crate::service::casework::{CaseDetail, CaseEvent};
use crate::service::{Portal, ServiceError};
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

/// What an event form holds, as typed (kept when the service refuses it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventValues {
    pub event_type: &'static str,
    pub escalation: String,
    pub until: String,
    pub reason: String,
    pub authorised_by: String,
    pub outcome: String,
    pub not_whistleblowing: String,
    pub findings: String,
    pub actions: String,
    pub learning: String,
    pub learning_publishable: bool,
    pub message: String,
    pub points: String,
}

/// One form of the "record a step" list.
#[derive(Debug, Serialize)]
pub struct EventFormView {
    pub kind: &'static str,
    pub heading: &'static str,
    pub explain: String,
    pub button: &'static str,
    pub choices: Vec<Choice>,
    pub values: EventValues,
    pub error: Option<String>,
    /// Closing at stage 2 is the final decision: findings are required.
    pub final_decision: bool,
}

fn escalation_label(reason: EscalationReason) -> &'static str {
    match reason {
        EscalationReason::Complex => "Too complex for early resolution",
        EscalationReason::Escalated => "Stage 1 could not resolve it",
        EscalationReason::ReporterRequested => "The reporter asked for an investigation",
        EscalationReason::ExtensionCapReached => {
            "Stage 1 needs more time than its extension limit allows"
        }
    }
}

fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Upheld => "Upheld",
        Outcome::PartiallyUpheld => "Partially upheld",
        Outcome::NotUpheld => "Not upheld",
    }
}

const NOT_WHISTLEBLOWING: [(NotWhistleblowingKind, &str, &str); 4] = [
    (
        NotWhistleblowingKind::Grievance,
        "grievance",
        "Grievance: about the reporter's own employment",
    ),
    (
        NotWhistleblowingKind::PatientComplaint,
        "patient_complaint",
        "Patient complaint: about care or treatment someone received",
    ),
    (
        NotWhistleblowingKind::AdultProtection,
        "adult_protection",
        "Adult protection",
    ),
    (
        NotWhistleblowingKind::ChildProtection,
        "child_protection",
        "Child protection",
    ),
];

/// The timeline's words for an event.
pub fn event_words(event: &CaseEvent) -> String {
    match event.event_type {
        EventType::Received => "Concern received".to_owned(),
        EventType::Acknowledge => "Concern acknowledged".to_owned(),
        EventType::Stage1 => "Handled at stage 1 (early resolution)".to_owned(),
        EventType::Stage2 => {
            let why = EscalationReason::ALL
                .into_iter()
                .find(|r| Some(r.as_str()) == event.reason)
                .map(|r| format!(": {}", escalation_label(r).to_lowercase()))
                .unwrap_or_default();
            format!("Moved to stage 2 (investigation){why}")
        }
        EventType::NotWhistleblowing => "Recorded as not a whistleblowing concern".to_owned(),
        EventType::Extend => match event.until {
            Some(until) => format!("Response date extended to {}", long_date(until)),
            None => "Response date extended".to_owned(),
        },
        EventType::Update => "Reporter updated".to_owned(),
        EventType::Withdraw => "Withdrawn by the reporter".to_owned(),
        EventType::Close => {
            let outcome = Outcome::ALL
                .into_iter()
                .find(|o| Some(o.as_str()) == event.outcome)
                .map(|o| format!(": {}", outcome_label(o).to_lowercase()))
                .unwrap_or_default();
            format!("Closed{outcome}")
        }
    }
}

/// A step's name on its confirmation page.
fn step_title(event_type: EventType) -> &'static str {
    match event_type {
        EventType::Received => "concern received",
        EventType::Acknowledge => "acknowledge the concern",
        EventType::Stage1 => "handle at stage 1",
        EventType::Stage2 => "move to stage 2",
        EventType::NotWhistleblowing => "not a whistleblowing concern",
        EventType::Extend => "extend the response date",
        EventType::Update => "update the reporter",
        EventType::Withdraw => "the reporter withdrew",
        EventType::Close => "close the case",
    }
}

/// The forms for the event types allowed now, in the procedure's order. `kept` refills the
/// one that was refused, which also gets `error` beside it.
pub fn forms(
    detail: &CaseDetail,
    kept: Option<&EventValues>,
    error: Option<String>,
) -> Vec<EventFormView> {
    let at_stage2 = detail.state == "stage2";
    detail
        .allowed_events
        .iter()
        .filter_map(|&event_type| {
            let kind = event_type.as_str();
            let refused = kept.filter(|values| values.event_type == kind);
            let values = refused.cloned().unwrap_or_else(|| EventValues {
                event_type: kind,
                ..EventValues::default()
            });
            let (heading, explain, button, choices): (_, String, _, Vec<Choice>) = match event_type
            {
                EventType::Received => return None,
                EventType::Acknowledge => (
                    "Acknowledge the concern",
                    "Tells the reporter in writing that their concern has been received \
                         and when they will have a full response. At stage 2 this is due \
                         within 3 working days."
                        .to_owned(),
                    "Record the acknowledgement",
                    Vec::new(),
                ),
                EventType::Stage1 => (
                    "Handle at stage 1 (early resolution)",
                    "For a concern that can be resolved quickly: a full response within \
                         5 working days."
                        .to_owned(),
                    "Start stage 1",
                    Vec::new(),
                ),
                EventType::Stage2 => (
                    "Move to stage 2 (investigation)",
                    "An acknowledgement within 3 working days and a full response within \
                         20 working days. The reporter is told why."
                        .to_owned(),
                    "Move to stage 2",
                    detail
                        .allowed_escalation_reasons
                        .iter()
                        .map(|&r| Choice {
                            value: r.as_str(),
                            label: escalation_label(r),
                            selected: values.escalation == r.as_str(),
                        })
                        .collect(),
                ),
                EventType::Extend => (
                    "Extend the response date",
                    "Only in exceptional cases, authorised by a senior manager. The \
                         reporter is told the new date and the reason."
                        .to_owned(),
                    "Record the extension",
                    Vec::new(),
                ),
                EventType::Update => (
                    "Update the reporter",
                    "Tell the reporter how things stand. While a stage 2 investigation is \
                         extended, this is due at least every 20 working days."
                        .to_owned(),
                    "Send the update",
                    Vec::new(),
                ),
                EventType::NotWhistleblowing => (
                    "Not a whistleblowing concern",
                    "Record that the concern belongs to another procedure. The reporter \
                         is told which one and where to take it."
                        .to_owned(),
                    "Record and signpost",
                    NOT_WHISTLEBLOWING
                        .iter()
                        .map(|&(_, value, label)| Choice {
                            value,
                            label,
                            selected: values.not_whistleblowing == value,
                        })
                        .collect(),
                ),
                EventType::Withdraw => (
                    "Withdrawn",
                    "Record that the concern is withdrawn, and why: the reporter's own request \
                         (for example made by phone) or another reason they will read. They are \
                         told, and can write back if that is not what they wanted."
                        .to_owned(),
                    "Record the withdrawal",
                    Vec::new(),
                ),
                EventType::Close => (
                    "Close with a full response",
                    if at_stage2 {
                        "This is the final decision of the investigation. The findings are \
                             required at stage 2; the reporter reads them, the outcome and the \
                             actions, and is signposted to the INWO or other bodies."
                            .to_owned()
                    } else {
                        "The stage 1 response. The reporter reads the outcome, the findings \
                             and the actions, and can ask for stage 2. Findings are required \
                             at stage 2."
                            .to_owned()
                    },
                    "Close the case",
                    Outcome::ALL
                        .into_iter()
                        .map(|o| Choice {
                            value: o.as_str(),
                            label: outcome_label(o),
                            selected: values.outcome == o.as_str(),
                        })
                        .collect(),
                ),
            };
            Some(EventFormView {
                kind,
                heading,
                explain,
                button,
                choices,
                error: refused.and(error.clone()),
                values,
                final_decision: at_stage2,
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct EventForm {
    #[serde(default)]
    csrf: String,
    event_type: EventType,
    #[serde(default)]
    escalation: Option<EscalationReason>,
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    authorised_by: String,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    not_whistleblowing: Option<NotWhistleblowingKind>,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    learning: String,
    #[serde(default)]
    learning_publishable: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    points: String,
}

impl EventForm {
    fn values(&self) -> EventValues {
        EventValues {
            event_type: self.event_type.as_str(),
            escalation: self
                .escalation
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            until: self.until.clone(),
            reason: self.reason.clone(),
            authorised_by: self.authorised_by.clone(),
            outcome: self
                .outcome
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            not_whistleblowing: self
                .not_whistleblowing
                .and_then(|k| NOT_WHISTLEBLOWING.iter().find(|(kind, ..)| *kind == k))
                .map(|(_, value, _)| (*value).to_owned())
                .unwrap_or_default(),
            findings: self.findings.clone(),
            actions: self.actions.clone(),
            learning: self.learning.clone(),
            learning_publishable: ticked(&self.learning_publishable),
            message: self.message.clone(),
            points: self.points.clone(),
        }
    }

    fn input(self) -> Result<EventInput, ServiceError> {
        let until = match self.until.trim() {
            "" => None,
            text => Some(parse_typed_date(text).map_err(|_| {
                ServiceError::invalid(
                    "invalid_date",
                    "enter the new date like 4 December 2026 or 4/12/2026",
                )
            })?),
        };
        Ok(EventInput {
            event_type: self.event_type,
            on: None,
            until,
            escalation: self.escalation,
            outcome: self.outcome,
            not_whistleblowing: self.not_whistleblowing,
            reason: self.reason,
            authorised_by: self.authorised_by,
            findings: self.findings,
            actions: self.actions,
            learning: self.learning,
            learning_publishable: ticked(&self.learning_publishable),
            message: self.message,
            points: self.points,
        })
    }
}

pub async fn record(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    reference: web::Path<String>,
    posted: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let posted = posted.into_inner();
    // The same fields as a struct (the last value of a repeated name wins).
    let object: serde_json::Map<String, serde_json::Value> = posted
        .iter()
        .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
        .collect();
    let form: EventForm = serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|_| ServiceError::invalid("invalid_form", "choose a step to record"))?;
    csrf.verify(&form.csrf)?;
    let handler = Arc::new(handler.0);
    let reference = reference.into_inner();
    let values = form.values();
    let event_type = form.event_type;
    let input = form.input();
    // Every step writes a letter to the reporter: ask once more, unless the form is refused.
    if input.is_ok() && !super::confirmed(&posted) {
        let action = format!("/console/cases/{}/events", super::segment(&reference));
        let back = format!("/console/cases/{}/procedure", super::segment(&reference));
        let heading = format!("Record this step: {}?", step_title(event_type));
        return super::confirmation_page(
            super::Shell::new(heading.clone(), &csrf, Some(&handler.user)),
            super::Confirmation {
                heading: &heading,
                consequence: "Recording it writes a letter to the reporter, which they will \
                              read in their mailbox, and moves the case on. It cannot be undone.",
                yes: "Yes, record it and write to the reporter",
                action: &action,
                back_href: &back,
                fields: posted
                    .into_iter()
                    .filter(|(name, _)| name != "csrf" && name != "confirm")
                    .collect(),
                quoted: Some(values.message.trim().to_owned()).filter(|m| !m.is_empty()),
            },
        );
    }
    let outcome = match input {
        Ok(input) => {
            let (portal, handler, reference) = (
                portal.get_ref().clone(),
                Arc::clone(&handler),
                reference.clone(),
            );
            blocking(move || portal.record_event(&handler, &reference, input))
                .await
                .map(|_| ())
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => Ok(super::cases::back_to_case(
            &reference,
            "recorded",
            "procedure",
        )),
        Err(error) => {
            let kept = Kept {
                event: Some(values),
                form: "event",
                ..Kept::default()
            };
            refused(&portal, handler, &csrf, reference, error, kept).await
        }
    }
}
