//! Where a reporter can go next, in plain words.
//!
//! The reader may be frightened and is often not a native speaker of procedure: short sentences,
//! no abbreviations without the full name first, and always the next concrete step.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use super::dates::iso_date;

/// Which kind of service a concern is about. NHS services are covered by the Standards and the
/// INWO; a partnership may use the same procedure for local-authority services, but the bodies
/// at the end differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Nhs,
    LocalAuthority,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nhs => "nhs",
            Self::LocalAuthority => "local_authority",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anonymity {
    /// Nobody, not even the confidential contact, knows who raised it.
    Anonymous,
    /// The reporter's identity is shared only with the people they agreed to.
    Confidential,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    General,
    /// Public money or fraud in a body audited by Audit Scotland.
    PublicMoney,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotWhistleblowingKind {
    /// About the reporter's own employment.
    Grievance,
    /// About care or treatment someone received.
    PatientComplaint,
    AdultProtection,
    ChildProtection,
}

impl NotWhistleblowingKind {
    pub const ALL: [Self; 4] = [
        Self::Grievance,
        Self::PatientComplaint,
        Self::AdultProtection,
        Self::ChildProtection,
    ];

    /// The name in forms and JSON (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grievance => "grievance",
            Self::PatientComplaint => "patient_complaint",
            Self::AdultProtection => "adult_protection",
            Self::ChildProtection => "child_protection",
        }
    }
}

/// How the concern ended, as far as signposting is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Route {
    Stage2Closed,
    Stage1Closed,
    NotWhistleblowing {
        kind: NotWhistleblowingKind,
    },
    /// Withdrawn, by the reporter or for a reason a handler recorded.
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignpostRequest {
    pub service: Service,
    pub anonymity: Anonymity,
    pub topic: Topic,
    pub route: Route,
    #[serde(with = "iso_date::option", default)]
    pub became_aware_on: Option<Date>,
}

/// One place the reporter can go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signpost {
    pub body_name: String,
    pub plain_text: String,
    /// Ready to print, one line each: phone, web address, postal address.
    pub contact: Vec<String>,
    /// The last day the body normally accepts the concern, when known.
    #[serde(with = "iso_date::option", default)]
    pub deadline: Option<Date>,
}

const INWO: &str = "Independent National Whistleblowing Officer (INWO)";
const INWO_PHONE: &str = "Freephone 0800 008 6112";
const INWO_WEB: &str = "https://inwo.spso.org.uk";
const SPSO_POST: &str = "Bridgeside House, 99 McDonald Road, Edinburgh EH7 4NS";
const SPSO: &str = "Scottish Public Services Ombudsman (SPSO)";
const SPSO_PHONE: &str = "Freephone 0800 377 7330";
const SPSO_WEB: &str = "https://www.spso.org.uk";
const CARE_INSPECTORATE: &str = "Care Inspectorate";
const CARE_INSPECTORATE_PHONE: &str = "Phone 0345 600 9527";
const CARE_INSPECTORATE_WEB: &str = "https://www.careinspectorate.com";
const AUDIT_SCOTLAND: &str = "Audit Scotland";
const AUDIT_SCOTLAND_PHONE: &str = "Phone 0131 625 1500";
const AUDIT_SCOTLAND_WEB: &str = "https://www.audit-scotland.gov.uk";

/// The last day of the 12 months from the day the reporter became aware of the issue: the day
/// before the anniversary, so that the date we give is never later than the INWO's. A 29 February
/// start ends on 28 February of the next year.
pub fn inwo_deadline(became_aware_on: Date) -> Option<Date> {
    let year = became_aware_on.year().checked_add(1)?;
    let anniversary = became_aware_on.replace_year(year).ok().or_else(|| {
        // 29 February has no anniversary in a common year: the period runs to its last day.
        Date::from_calendar_date(year, Month::March, 1).ok()
    })?;
    anniversary.previous_day()
}

fn contact(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

fn signpost(body: &str, text: String, lines: &[&str], deadline: Option<Date>) -> Signpost {
    Signpost {
        body_name: body.to_owned(),
        plain_text: text,
        contact: contact(lines),
        deadline,
    }
}

fn time_limit_text(became_aware_on: Option<Date>, deadline: Option<Date>) -> String {
    match (became_aware_on, deadline) {
        (Some(aware), Some(last)) => format!(
            "Normally the INWO needs to hear from you within 12 months of when you first became \
             aware of the issue. You told us that was on {aware}, so contact them by {last}. If \
             that date has passed, contact them anyway and explain why: they can sometimes look \
             at a concern later."
        ),
        _ => "Normally the INWO needs to hear from you within 12 months of when you first became \
              aware of the issue. We do not have that date, so contact them as soon as you can \
              and tell them when you first knew about it."
            .to_owned(),
    }
}

fn inwo_after_stage2(became_aware_on: Option<Date>) -> Signpost {
    let deadline = became_aware_on.and_then(inwo_deadline);
    signpost(
        INWO,
        format!(
            "This is the organisation's final response. If you are unhappy with how your concern \
             was handled, or with the outcome, you can ask the Independent National \
             Whistleblowing Officer (INWO) to review it. The INWO is independent of the NHS and \
             it costs you nothing. {}",
            time_limit_text(became_aware_on, deadline)
        ),
        &[INWO_PHONE, INWO_WEB, SPSO_POST],
        deadline,
    )
}

fn inwo_after_stage1(became_aware_on: Option<Date>) -> Signpost {
    let deadline = became_aware_on.and_then(inwo_deadline);
    signpost(
        INWO,
        format!(
            "The Independent National Whistleblowing Officer (INWO) can normally only review a \
             concern after stage 2 has finished, so ask for stage 2 first. {}",
            time_limit_text(became_aware_on, deadline)
        ),
        &[INWO_PHONE, INWO_WEB, SPSO_POST],
        deadline,
    )
}

/// After a withdrawal or a "not whistleblowing" decision on an NHS concern raised in confidence:
/// the INWO can still be asked to look at how it was handled.
fn inwo_after_decision(became_aware_on: Option<Date>, why: &str) -> Signpost {
    let deadline = became_aware_on.and_then(inwo_deadline);
    signpost(
        INWO,
        format!(
            "{why} If you are unhappy with how your concern was handled, you can contact the \
             Independent National Whistleblowing Officer (INWO). The INWO is independent of the \
             NHS and it costs you nothing. {}",
            time_limit_text(became_aware_on, deadline)
        ),
        &[INWO_PHONE, INWO_WEB, SPSO_POST],
        deadline,
    )
}

fn inwo_anonymous() -> Signpost {
    signpost(
        INWO,
        "You raised this concern anonymously. It was still looked into and recorded, but \
         anonymous concerns are outside the National Whistleblowing Standards, so the \
         Independent National Whistleblowing Officer (INWO) cannot review how it was handled. \
         If you raise a concern confidentially instead, your name is shared only with the \
         people you agree to, and you keep the right to ask the INWO for a review."
            .to_owned(),
        &[INWO_WEB],
        None,
    )
}

fn ask_for_stage2(anonymity: Anonymity) -> Signpost {
    let mut text = "If you are unhappy with the stage 1 response, you can ask for your concern to \
                    be investigated at stage 2. Choose \u{201c}Ask for stage 2\u{201d} in this \
                    mailbox, or tell the person who gave you the response, and say why you are \
                    unhappy."
        .to_owned();
    if anonymity == Anonymity::Anonymous {
        text.push_str(
            " Because you raised the concern anonymously, the organisation is not required to \
             follow the Standards, but it can still look at it again.",
        );
    }
    signpost("Stage 2 investigation (this organisation)", text, &[], None)
}

fn care_inspectorate() -> Signpost {
    signpost(
        CARE_INSPECTORATE,
        "The Care Inspectorate checks the quality of care services in Scotland, such as care \
         homes, care at home and social work services. If your concern is about a care service \
         and you are unhappy with the response, you can tell them about it."
            .to_owned(),
        &[CARE_INSPECTORATE_PHONE, CARE_INSPECTORATE_WEB],
        None,
    )
}

fn council_procedure() -> Signpost {
    signpost(
        "Your council's whistleblowing procedure",
        "The council also has its own whistleblowing procedure for concerns about its services. \
         Your manager, HR or the council's website can tell you how to use it."
            .to_owned(),
        &[],
        None,
    )
}

fn audit_scotland() -> Signpost {
    signpost(
        AUDIT_SCOTLAND,
        "Your concern is about public money or possible fraud. Audit Scotland checks that public \
         bodies in Scotland spend public money properly, and you can also tell them about it. \
         This is in addition to the other options here, not instead of them."
            .to_owned(),
        &[AUDIT_SCOTLAND_PHONE, AUDIT_SCOTLAND_WEB],
        None,
    )
}

fn spso() -> Signpost {
    signpost(
        SPSO,
        "If you are still unhappy after the final response to a complaint, the Scottish Public \
         Services Ombudsman (SPSO) can look at it independently. It costs you nothing. Normally \
         you need to contact them within 12 months of when you first knew about the problem."
            .to_owned(),
        &[SPSO_PHONE, SPSO_WEB, SPSO_POST],
        None,
    )
}

fn not_whistleblowing(kind: NotWhistleblowingKind, service: Service) -> Vec<Signpost> {
    const RECORDED: &str = "Your concern has been recorded, but it is not a whistleblowing \
                            concern, so it needs a different procedure.";
    match kind {
        NotWhistleblowingKind::Grievance => vec![signpost(
            "Your employer's grievance procedure",
            format!(
                "{RECORDED} It is about your own employment (for example how you are treated at \
                 work, your pay or your contract), so your employer's grievance policy is the \
                 right route. Your manager or HR can give you a copy. A trade union or \
                 professional body can support you."
            ),
            &[
                "Your HR department",
                "Your trade union or professional body",
            ],
            None,
        )],
        NotWhistleblowingKind::PatientComplaint => {
            let first = match service {
                Service::Nhs => signpost(
                    "NHS complaints procedure",
                    format!(
                        "{RECORDED} It is a complaint about care or treatment, so it is handled \
                         under the NHS complaints procedure. Contact the complaints team of the \
                         NHS board or service involved."
                    ),
                    &["The complaints team of the NHS board or service involved"],
                    None,
                ),
                Service::LocalAuthority => signpost(
                    "Council complaints procedure",
                    format!(
                        "{RECORDED} It is a complaint about a service someone received, so it is \
                         handled under the council's complaints procedure. Contact the council's \
                         complaints team. For a care service you can also contact the Care \
                         Inspectorate ({CARE_INSPECTORATE_PHONE}, {CARE_INSPECTORATE_WEB})."
                    ),
                    &["The council's complaints team"],
                    None,
                ),
            };
            vec![first, spso()]
        }
        NotWhistleblowingKind::AdultProtection | NotWhistleblowingKind::ChildProtection => {
            let who = if kind == NotWhistleblowingKind::ChildProtection {
                "a child"
            } else {
                "an adult"
            };
            vec![signpost(
                "Your local council's social work service, or the police",
                format!(
                    "{RECORDED} If you think {who} is at risk of harm, contact the social work \
                     service of the council for the area where they live. If someone is in \
                     immediate danger, call the police on 999 now."
                ),
                &[
                    "Emergency: 999",
                    "Police Scotland (not an emergency): 101",
                    "Your local council's social work service",
                ],
                None,
            )]
        }
    }
}

/// Where the reporter can go next, most relevant first.
pub fn signposts(request: &SignpostRequest) -> Vec<Signpost> {
    let SignpostRequest {
        service,
        anonymity,
        topic,
        route,
        became_aware_on,
    } = *request;
    let mut list = match route {
        Route::NotWhistleblowing { kind } => {
            let mut list = not_whistleblowing(kind, service);
            // The decision that it is not whistleblowing is itself something the INWO can look
            // at, for a concern about NHS services raised in confidence.
            if (service, anonymity) == (Service::Nhs, Anonymity::Confidential) {
                list.push(inwo_after_decision(
                    became_aware_on,
                    "If you think your concern is a whistleblowing concern after all, say so in \
                     this mailbox.",
                ));
            }
            return list;
        }
        Route::Stage1Closed => vec![ask_for_stage2(anonymity)],
        Route::Stage2Closed | Route::Withdrawn => Vec::new(),
    };
    match (service, anonymity) {
        (Service::Nhs, Anonymity::Anonymous) => list.push(inwo_anonymous()),
        (Service::Nhs, Anonymity::Confidential) => list.push(match route {
            Route::Stage1Closed => inwo_after_stage1(became_aware_on),
            Route::Withdrawn => inwo_after_decision(
                became_aware_on,
                "Your concern has been withdrawn. If that is not what you wanted, say so in this \
                 mailbox.",
            ),
            _ => inwo_after_stage2(became_aware_on),
        }),
        (Service::LocalAuthority, _) => {
            list.push(care_inspectorate());
            list.push(council_procedure());
        }
    }
    if topic == Topic::PublicMoney {
        list.push(audit_scotland());
    }
    list
}

/// The start page's explanation of the two ways to raise a concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IntakeExplainer {
    pub confidential: &'static str,
    pub anonymous: &'static str,
    pub either_way: &'static str,
}

pub fn intake_explainer(service: Service) -> IntakeExplainer {
    match service {
        Service::Nhs => IntakeExplainer {
            confidential: "Confidential: you tell us who you are, and we share your name only \
                           with the people you agree to. Your concern is handled under the \
                           National Whistleblowing Standards, we can talk to you about it, and \
                           at the end you can ask the Independent National Whistleblowing \
                           Officer (INWO) to review how it was handled.",
            anonymous: "Anonymous: you do not tell us who you are, and nobody here can find out. \
                        We will still look into your concern and record it, but anonymous \
                        concerns are outside the Standards, so the INWO cannot review them. If \
                        you want to keep that right, choose confidential.",
            either_way: "Either way you get a case key. Keep it safe: it is the only way back \
                         to your mailbox, to read replies and see what is happening, and we \
                         cannot recover it for you.",
        },
        Service::LocalAuthority => IntakeExplainer {
            confidential: "Confidential: you tell us who you are, and we share your name only \
                           with the people you agree to. We can talk to you about your concern \
                           and keep you updated.",
            anonymous: "Anonymous: you do not tell us who you are, and nobody here can find out. \
                        We will still look into your concern and record it, but it can be \
                        harder for us to investigate without being able to ask you questions.",
            either_way: "Either way you get a case key. Keep it safe: it is the only way back \
                         to your mailbox, to read replies and see what is happening, and we \
                         cannot recover it for you.",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn request(service: Service, anonymity: Anonymity, route: Route) -> SignpostRequest {
        SignpostRequest {
            service,
            anonymity,
            topic: Topic::General,
            route,
            became_aware_on: Some(date!(2024 - 03 - 15)),
        }
    }

    fn bodies(list: &[Signpost]) -> Vec<&str> {
        list.iter().map(|s| s.body_name.as_str()).collect()
    }

    #[test]
    fn inwo_deadline_is_the_day_before_the_anniversary() {
        assert_eq!(
            inwo_deadline(date!(2024 - 03 - 15)),
            Some(date!(2025 - 03 - 14))
        );
        assert_eq!(
            inwo_deadline(date!(2024 - 01 - 01)),
            Some(date!(2024 - 12 - 31))
        );
        assert_eq!(
            inwo_deadline(date!(2024 - 02 - 29)),
            Some(date!(2025 - 02 - 28))
        );
        assert_eq!(
            inwo_deadline(date!(2023 - 03 - 01)),
            Some(date!(2024 - 02 - 29))
        );
    }

    #[test]
    fn nhs_stage2_confidential_goes_to_inwo_with_a_date() {
        let list = signposts(&request(
            Service::Nhs,
            Anonymity::Confidential,
            Route::Stage2Closed,
        ));
        assert_eq!(bodies(&list), [INWO]);
        let inwo = &list[0];
        assert_eq!(inwo.deadline, Some(date!(2025 - 03 - 14)));
        assert!(inwo.plain_text.contains("on 2024-03-15"));
        assert!(inwo.plain_text.contains("by 2025-03-14"));
        assert!(inwo.plain_text.contains("final response"));
        assert_eq!(
            inwo.contact,
            [
                "Freephone 0800 008 6112",
                "https://inwo.spso.org.uk",
                "Bridgeside House, 99 McDonald Road, Edinburgh EH7 4NS"
            ]
        );
    }

    #[test]
    fn unknown_awareness_date_says_so() {
        let mut req = request(Service::Nhs, Anonymity::Confidential, Route::Stage2Closed);
        req.became_aware_on = None;
        let list = signposts(&req);
        assert_eq!(list[0].deadline, None);
        assert!(list[0].plain_text.contains("We do not have that date"));
        assert!(list[0].plain_text.contains("as soon as you can"));
    }

    #[test]
    fn nhs_stage1_offers_stage2_first() {
        let list = signposts(&request(
            Service::Nhs,
            Anonymity::Confidential,
            Route::Stage1Closed,
        ));
        assert_eq!(
            bodies(&list),
            ["Stage 2 investigation (this organisation)", INWO]
        );
        assert!(
            list[0]
                .plain_text
                .contains("ask for your concern to be investigated at stage 2")
        );
        assert!(list[1].plain_text.contains("ask for stage 2 first"));
        assert_eq!(list[1].deadline, Some(date!(2025 - 03 - 14)));
    }

    #[test]
    fn anonymous_nhs_concerns_cannot_go_to_inwo() {
        for route in [Route::Stage2Closed, Route::Stage1Closed] {
            let list = signposts(&request(Service::Nhs, Anonymity::Anonymous, route));
            let inwo = list.iter().find(|s| s.body_name == INWO);
            let Some(inwo) = inwo else {
                panic!("INWO explanation missing");
            };
            assert_eq!(inwo.deadline, None);
            assert!(inwo.plain_text.contains("cannot review"));
            assert!(inwo.plain_text.contains("confidentially"));
            assert!(!inwo.contact.iter().any(|c| c.contains("0800")));
        }
        let stage1 = signposts(&request(
            Service::Nhs,
            Anonymity::Anonymous,
            Route::Stage1Closed,
        ));
        assert!(stage1[0].plain_text.contains("anonymously"));
    }

    #[test]
    fn local_authority_goes_to_care_inspectorate_or_council() {
        for anonymity in [Anonymity::Anonymous, Anonymity::Confidential] {
            let list = signposts(&request(
                Service::LocalAuthority,
                anonymity,
                Route::Stage2Closed,
            ));
            assert_eq!(
                bodies(&list),
                [CARE_INSPECTORATE, "Your council's whistleblowing procedure"]
            );
            assert_eq!(
                list[0].contact,
                ["Phone 0345 600 9527", "https://www.careinspectorate.com"]
            );
            assert!(list.iter().all(|s| !s.plain_text.contains("INWO")));
        }
        let stage1 = signposts(&request(
            Service::LocalAuthority,
            Anonymity::Confidential,
            Route::Stage1Closed,
        ));
        assert_eq!(stage1.len(), 3);
        assert_eq!(
            stage1[0].body_name,
            "Stage 2 investigation (this organisation)"
        );
    }

    #[test]
    fn public_money_adds_audit_scotland() {
        for service in [Service::Nhs, Service::LocalAuthority] {
            for route in [Route::Stage2Closed, Route::Stage1Closed] {
                let mut req = request(service, Anonymity::Confidential, route);
                req.topic = Topic::PublicMoney;
                let list = signposts(&req);
                let last = list
                    .last()
                    .map(|s| (s.body_name.as_str(), s.contact.clone()));
                assert_eq!(
                    last,
                    Some((
                        AUDIT_SCOTLAND,
                        contact(&["Phone 0131 625 1500", "https://www.audit-scotland.gov.uk"])
                    ))
                );
                assert!(list.len() >= 2, "in addition, not instead");
            }
        }
    }

    #[test]
    fn not_whistleblowing_routes() {
        let nw = |kind, service| {
            let mut req = request(
                service,
                Anonymity::Confidential,
                Route::NotWhistleblowing { kind },
            );
            req.topic = Topic::PublicMoney;
            signposts(&req)
        };
        // An NHS concern raised in confidence: the right procedure first, then the INWO, who can
        // look at the decision that it is not whistleblowing.
        let grievance = nw(NotWhistleblowingKind::Grievance, Service::Nhs);
        assert_eq!(
            bodies(&grievance),
            ["Your employer's grievance procedure", INWO]
        );
        assert!(
            grievance[1]
                .plain_text
                .contains("whistleblowing concern after all")
        );
        assert!(grievance[0].plain_text.contains("grievance policy"));
        assert!(
            grievance[0]
                .contact
                .contains(&"Your HR department".to_owned())
        );

        let complaint = nw(NotWhistleblowingKind::PatientComplaint, Service::Nhs);
        assert_eq!(bodies(&complaint), ["NHS complaints procedure", SPSO, INWO]);
        assert!(
            complaint[1]
                .contact
                .contains(&"Freephone 0800 377 7330".to_owned())
        );
        let council = nw(
            NotWhistleblowingKind::PatientComplaint,
            Service::LocalAuthority,
        );
        assert_eq!(bodies(&council), ["Council complaints procedure", SPSO]);

        for kind in [
            NotWhistleblowingKind::AdultProtection,
            NotWhistleblowingKind::ChildProtection,
        ] {
            let list = nw(kind, Service::Nhs);
            assert_eq!(list.len(), 2);
            assert_eq!(list[1].body_name, INWO);
            assert!(list[0].plain_text.contains("999"));
            assert!(list[0].plain_text.contains("social work"));
            assert!(list[0].contact.contains(&"Emergency: 999".to_owned()));
        }
        assert!(
            nw(NotWhistleblowingKind::ChildProtection, Service::Nhs)[0]
                .plain_text
                .contains("a child")
        );
        assert!(
            nw(NotWhistleblowingKind::AdultProtection, Service::Nhs)[0]
                .plain_text
                .contains("an adult")
        );
    }

    #[test]
    fn withdrawn_concerns_are_signposted_too() {
        let nhs = signposts(&request(
            Service::Nhs,
            Anonymity::Confidential,
            Route::Withdrawn,
        ));
        assert_eq!(bodies(&nhs), [INWO]);
        assert!(nhs[0].plain_text.contains("withdrawn"));
        assert!(nhs[0].deadline.is_some());
        let anonymous = signposts(&request(
            Service::Nhs,
            Anonymity::Anonymous,
            Route::Withdrawn,
        ));
        assert_eq!(bodies(&anonymous), [INWO]);
        assert!(anonymous[0].plain_text.contains("cannot review"));
        let council = signposts(&request(
            Service::LocalAuthority,
            Anonymity::Confidential,
            Route::Withdrawn,
        ));
        assert!(!bodies(&council).contains(&INWO));
        // Anonymous "not whistleblowing": no INWO line, as the INWO cannot take it.
        let anonymous_nw = signposts(&request(
            Service::Nhs,
            Anonymity::Anonymous,
            Route::NotWhistleblowing {
                kind: NotWhistleblowingKind::Grievance,
            },
        ));
        assert!(!bodies(&anonymous_nw).contains(&INWO));
    }

    #[test]
    fn explainer_mentions_the_inwo_only_for_nhs() {
        let nhs = intake_explainer(Service::Nhs);
        assert!(nhs.anonymous.contains("cannot review"));
        assert!(nhs.confidential.contains("INWO"));
        let la = intake_explainer(Service::LocalAuthority);
        assert!(!la.anonymous.contains("INWO") && !la.confidential.contains("INWO"));
    }

    #[test]
    fn request_and_signposts_as_json() {
        let json = serde_json::json!({
            "service": "nhs",
            "anonymity": "confidential",
            "topic": "public_money",
            "route": {"type": "not_whistleblowing", "kind": "patient_complaint"},
            "became_aware_on": "2024-03-15"
        });
        let req: Result<SignpostRequest, _> = serde_json::from_value(json);
        assert_eq!(
            req.ok().map(|r| r.route),
            Some(Route::NotWhistleblowing {
                kind: NotWhistleblowingKind::PatientComplaint
            })
        );
        let out = serde_json::to_value(signposts(&request(
            Service::Nhs,
            Anonymity::Confidential,
            Route::Stage2Closed,
        )))
        .unwrap_or_default();
        assert_eq!(out[0]["deadline"], "2025-03-14");
        assert_eq!(out[0]["body_name"], INWO);
    }
}
