//! The plain-language letter the reporter reads in their mailbox for each procedure event.
//! Short sentences, the dates that matter, and always what happens next.

use time::Date;

use super::deadlines::Due;
use super::signposting::NotWhistleblowingKind;
use super::stages::{EscalationReason, EventKind, Outcome, State};

/// What a letter can mention beyond the event itself. Text fields are the handler's own words.
#[derive(Debug, Clone, Default)]
pub struct LetterFacts<'a> {
    /// Deadlines after the event took effect.
    pub due: Due,
    /// The state the case was in before the event (to tell a stage 1 from a stage 2 closure).
    pub state_before: Option<State>,
    /// Extension reason, escalation reason, or why it is not whistleblowing.
    pub reason: &'a str,
    pub findings: &'a str,
    pub actions: &'a str,
    /// A message to the reporter (required for updates; optional elsewhere).
    pub message: &'a str,
    pub not_whistleblowing: Option<NotWhistleblowingKind>,
    /// Who the reporter can talk to about a final decision (name and role).
    pub contact: &'a str,
    /// The reporter asked for this step from their mailbox (stage 2, withdrawal).
    pub requested_by_reporter: bool,
    /// Who authorised an extension (name and role), as the handler entered it.
    pub authorised_by: &'a str,
    /// The points a stage 2 investigation will look into.
    pub points: &'a str,
}

/// Where a reporter finds support, in every letter that opens an investigation.
const SUPPORT: &str = "You can get support at any time: from the confidential contacts who \
received your concern, from the whistleblowing champion, from your trade union or professional \
body, and from the Independent National Whistleblowing Officer for NHS services. If you are \
treated badly because you raised a concern, tell us in this mailbox: you are protected from that.";

/// "Friday 4 December 2026".
pub fn long_date(date: Date) -> String {
    format!(
        "{} {} {} {}",
        date.weekday(),
        date.day(),
        date.month(),
        date.year()
    )
}

fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Upheld => "upheld: we found that what you raised happened",
        Outcome::PartiallyUpheld => {
            "partially upheld: we found that some of what you raised happened"
        }
        Outcome::NotUpheld => "not upheld: we did not find evidence that what you raised happened",
    }
}

fn not_whistleblowing_words(kind: NotWhistleblowingKind) -> &'static str {
    match kind {
        NotWhistleblowingKind::Grievance => "about your own employment (a grievance)",
        NotWhistleblowingKind::PatientComplaint => "a complaint about care or treatment",
        NotWhistleblowingKind::AdultProtection => "about protecting an adult at risk of harm",
        NotWhistleblowingKind::ChildProtection => "about protecting a child",
    }
}

fn push_paragraph(letter: &mut String, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if !letter.is_empty() {
        letter.push_str("\n\n");
    }
    letter.push_str(text);
}

fn respond_by(due: &Due) -> String {
    due.respond_by
        .map(|date| format!(" by {}", long_date(date)))
        .unwrap_or_default()
}

/// The letter for `event`, or `None` for events the reporter is not written to about
/// (the receipt itself, which they saw on screen).
pub fn letter(event: &EventKind, facts: &LetterFacts<'_>) -> Option<String> {
    let mut letter = String::new();
    match *event {
        EventKind::Received => return None,
        EventKind::Acknowledge => {
            let at_stage2 = facts.state_before == Some(State::Stage2);
            let stage = if at_stage2 {
                "stage 2 (investigation)"
            } else {
                "stage 1 (early resolution)"
            };
            push_paragraph(
                &mut letter,
                &format!(
                    "Thank you for raising your concern. We have received it and are handling it at {stage}. We will give you a full response{}.",
                    respond_by(&facts.due)
                ),
            );
            if at_stage2 {
                if !facts.points.trim().is_empty() {
                    push_paragraph(
                        &mut letter,
                        &format!(
                            "The investigation will look into these points:\n{}",
                            facts.points.trim()
                        ),
                    );
                    push_paragraph(
                        &mut letter,
                        "If we have missed or misunderstood anything, tell us here.",
                    );
                }
                if !facts.contact.trim().is_empty() {
                    push_paragraph(
                        &mut letter,
                        &format!(
                            "Your contact for the investigation is {}. You can write to them here at any time.",
                            facts.contact.trim()
                        ),
                    );
                }
                push_paragraph(&mut letter, SUPPORT);
            }
        }
        EventKind::Stage1 => push_paragraph(
            &mut letter,
            &format!(
                "We are handling your concern at stage 1, early resolution. This is for concerns we can look into quickly. You should have a full response{}. If we need more time, we will tell you why and give you a new date.",
                respond_by(&facts.due)
            ),
        ),
        EventKind::Stage2 { reason } => {
            let why = match reason {
                EscalationReason::Complex => {
                    "Your concern needs a full investigation, so we are handling it at stage 2."
                }
                EscalationReason::Escalated => {
                    "We could not resolve your concern at stage 1, so it has moved to stage 2, a full investigation."
                }
                EscalationReason::ReporterRequested => {
                    "You asked for your concern to be investigated, so it has moved to stage 2, a full investigation."
                }
                EscalationReason::ExtensionCapReached => {
                    "Your concern needs more time than stage 1 allows, so it has moved to stage 2, a full investigation."
                }
            };
            push_paragraph(&mut letter, why);
            let acknowledge = facts
                .due
                .acknowledge_by
                .map(|date| format!("We will write to acknowledge it by {}. ", long_date(date)))
                .unwrap_or_default();
            push_paragraph(
                &mut letter,
                &format!(
                    "{acknowledge}We aim to give you a full response{}. If the investigation needs longer, we will tell you why, give you a new date and keep you updated at least every 20 working days.",
                    respond_by(&facts.due)
                ),
            );
            push_paragraph(&mut letter, SUPPORT);
        }
        EventKind::NotWhistleblowing => {
            let about = facts
                .not_whistleblowing
                .map(not_whistleblowing_words)
                .unwrap_or("not about a risk, wrongdoing or harm in the service");
            push_paragraph(
                &mut letter,
                &format!(
                    "We have looked carefully at what you raised. It is not a whistleblowing concern under the National Whistleblowing Standards, because it is {about}. This does not mean it is not important."
                ),
            );
            push_paragraph(&mut letter, facts.reason);
            push_paragraph(
                &mut letter,
                "Below you can see the right way to raise it, and who can help. Your concern has been recorded.",
            );
        }
        EventKind::Extend { until } => {
            push_paragraph(
                &mut letter,
                &format!(
                    "We need more time to give you a full response. Your new response date is {}.",
                    long_date(until)
                ),
            );
            if !facts.reason.trim().is_empty() {
                push_paragraph(
                    &mut letter,
                    &format!("The reason is: {}", facts.reason.trim()),
                );
            }
            push_paragraph(
                &mut letter,
                &match facts.authorised_by.trim() {
                    "" => "A senior manager has authorised this extension.".to_owned(),
                    who => format!("This extension was authorised by {who}."),
                },
            );
            if let Some(update_by) = facts.due.update_by {
                push_paragraph(
                    &mut letter,
                    &format!(
                        "We will update you on progress by {} at the latest.",
                        long_date(update_by)
                    ),
                );
            }
        }
        EventKind::Update => {
            push_paragraph(&mut letter, "An update on your concern:");
            push_paragraph(&mut letter, facts.message);
            let next = match (facts.due.respond_by, facts.due.update_by) {
                (Some(respond), Some(update)) => format!(
                    "We still aim to respond fully by {}, and will update you again by {}.",
                    long_date(respond),
                    long_date(update)
                ),
                (Some(respond), None) => {
                    format!("We still aim to respond fully by {}.", long_date(respond))
                }
                _ => String::new(),
            };
            push_paragraph(&mut letter, &next);
            return Some(letter);
        }
        EventKind::Withdraw => {
            if facts.requested_by_reporter {
                push_paragraph(
                    &mut letter,
                    "You asked to withdraw your concern, so it has been recorded as withdrawn. Nothing more will be done about it unless you ask.",
                );
            } else {
                push_paragraph(&mut letter, "Your concern has been recorded as withdrawn.");
                if !facts.reason.trim().is_empty() {
                    push_paragraph(
                        &mut letter,
                        &format!("The reason recorded is: {}", facts.reason.trim()),
                    );
                }
                push_paragraph(
                    &mut letter,
                    "If that is not what you wanted, write to us here and tell us: your mailbox stays open.",
                );
            }
            push_paragraph(
                &mut letter,
                "If you are treated badly because you raised a concern, tell us here at any time: you are protected from that.",
            );
        }
        EventKind::Close { outcome } => {
            let final_stage = facts.state_before == Some(State::Stage2);
            push_paragraph(
                &mut letter,
                if final_stage {
                    "We have finished our investigation of your concern. This letter is our final decision."
                } else {
                    "We have finished looking at your concern at stage 1, early resolution."
                },
            );
            push_paragraph(
                &mut letter,
                &format!("Your concern was {}.", outcome_words(outcome)),
            );
            if !facts.findings.trim().is_empty() {
                push_paragraph(
                    &mut letter,
                    &format!("What we found:\n{}", facts.findings.trim()),
                );
            }
            if !facts.actions.trim().is_empty() {
                push_paragraph(
                    &mut letter,
                    &format!("What will happen now:\n{}", facts.actions.trim()),
                );
            }
            if final_stage {
                if !facts.contact.trim().is_empty() {
                    push_paragraph(
                        &mut letter,
                        &format!(
                            "If you have questions about this decision, contact {} by replying here.",
                            facts.contact.trim()
                        ),
                    );
                }
                push_paragraph(
                    &mut letter,
                    "If you are not happy with how your concern was handled, you can take it further: see where you can go next, below.",
                );
            } else {
                push_paragraph(
                    &mut letter,
                    "If you are not happy with this response, you can ask for your concern to be investigated at stage 2: choose \u{201c}Ask for stage 2\u{201d} in this mailbox, or reply here.",
                );
            }
        }
    }
    push_paragraph(&mut letter, facts.message);
    Some(letter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn due(respond: Date) -> Due {
        Due {
            respond_by: Some(respond),
            ..Due::default()
        }
    }

    #[test]
    fn dates_are_written_out_in_full() {
        assert_eq!(long_date(date!(2026 - 12 - 04)), "Friday 4 December 2026");
    }

    #[test]
    fn receipt_has_no_letter() {
        assert_eq!(letter(&EventKind::Received, &LetterFacts::default()), None);
    }

    #[test]
    fn stage1_gives_the_response_date() {
        let text = letter(
            &EventKind::Stage1,
            &LetterFacts {
                due: due(date!(2026 - 11 - 20)),
                ..LetterFacts::default()
            },
        )
        .unwrap();
        assert!(text.contains("stage 1, early resolution"));
        assert!(text.contains("by Friday 20 November 2026"));
    }

    #[test]
    fn stage2_gives_both_dates_and_the_reason() {
        let facts = LetterFacts {
            due: Due {
                acknowledge_by: Some(date!(2026 - 11 - 18)),
                respond_by: Some(date!(2026 - 12 - 14)),
                ..Due::default()
            },
            ..LetterFacts::default()
        };
        let text = letter(
            &EventKind::Stage2 {
                reason: EscalationReason::ReporterRequested,
            },
            &facts,
        )
        .unwrap();
        assert!(text.contains("You asked for your concern to be investigated"));
        assert!(text.contains("acknowledge it by Wednesday 18 November 2026"));
        assert!(text.contains("full response by Monday 14 December 2026"));
    }

    #[test]
    fn extension_gives_reason_new_date_and_who_authorised_it() {
        let facts = LetterFacts {
            reason: "A key witness is on leave until 7 December.",
            authorised_by: "Dr Morag Lee, Director of Nursing",
            due: Due {
                update_by: Some(date!(2027 - 01 - 12)),
                ..due(date!(2026 - 12 - 21))
            },
            ..LetterFacts::default()
        };
        let text = letter(
            &EventKind::Extend {
                until: date!(2026 - 12 - 21),
            },
            &facts,
        )
        .unwrap();
        assert!(text.contains("new response date is Monday 21 December 2026"));
        assert!(text.contains("The reason is: A key witness"));
        assert!(text.contains("by Tuesday 12 January 2027 at the latest"));
        assert!(text.contains("authorised by Dr Morag Lee, Director of Nursing."));
        assert!(!text.contains("A senior manager"));
        // Nothing entered: the general words, never a made-up name.
        let unnamed = letter(
            &EventKind::Extend {
                until: date!(2026 - 12 - 21),
            },
            &LetterFacts::default(),
        )
        .unwrap();
        assert!(unnamed.contains("A senior manager has authorised this extension."));
    }

    #[test]
    fn a_stage2_acknowledgement_lists_the_points_the_contact_and_support() {
        let facts = LetterFacts {
            state_before: Some(State::Stage2),
            points: "1. Night staffing on Ward 3.\n2. How incidents were logged.",
            contact: "Ivy Investigator, investigating officer",
            due: due(date!(2026 - 12 - 17)),
            ..LetterFacts::default()
        };
        let text = letter(&EventKind::Acknowledge, &facts).unwrap();
        assert!(text.contains("stage 2 (investigation)"));
        assert!(text.contains("look into these points:\n1. Night staffing on Ward 3."));
        assert!(text.contains("Your contact for the investigation is Ivy Investigator"));
        assert!(text.contains("whistleblowing champion"));
        assert!(text.contains("you are protected"));
        // A stage 1 acknowledgement stays short.
        let stage1 = letter(
            &EventKind::Acknowledge,
            &LetterFacts {
                state_before: Some(State::Stage1),
                ..facts.clone()
            },
        )
        .unwrap();
        assert!(!stage1.contains("Night staffing"));
    }

    #[test]
    fn withdrawal_letters_say_why_and_keep_the_door_open() {
        let asked = letter(
            &EventKind::Withdraw,
            &LetterFacts {
                requested_by_reporter: true,
                ..LetterFacts::default()
            },
        )
        .unwrap();
        assert!(asked.contains("You asked to withdraw your concern"));
        assert!(asked.contains("you are protected"));
        let recorded = letter(
            &EventKind::Withdraw,
            &LetterFacts {
                reason: "You asked by phone on 3 December 2026.",
                ..LetterFacts::default()
            },
        )
        .unwrap();
        assert!(recorded.contains("The reason recorded is: You asked by phone"));
        assert!(recorded.contains("your mailbox stays open"));
    }

    #[test]
    fn closures_differ_by_stage() {
        let stage1 = LetterFacts {
            state_before: Some(State::Stage1),
            findings: "The rota was short on 3 nights.",
            actions: "An extra nurse is rostered from January.",
            ..LetterFacts::default()
        };
        let text = letter(
            &EventKind::Close {
                outcome: Outcome::PartiallyUpheld,
            },
            &stage1,
        )
        .unwrap();
        assert!(text.contains("at stage 1"));
        assert!(text.contains("partially upheld"));
        assert!(text.contains("What we found:\nThe rota was short on 3 nights."));
        assert!(text.contains("ask for your concern to be investigated at stage 2"));
        assert!(!text.contains("final decision"));

        let stage2 = LetterFacts {
            state_before: Some(State::Stage2),
            contact: "Cora Contact, confidential contact",
            ..LetterFacts::default()
        };
        let text = letter(
            &EventKind::Close {
                outcome: Outcome::NotUpheld,
            },
            &stage2,
        )
        .unwrap();
        assert!(text.contains("final decision"));
        assert!(text.contains("contact Cora Contact, confidential contact"));
        assert!(text.contains("where you can go next"));
    }

    #[test]
    fn not_whistleblowing_names_the_reason() {
        let facts = LetterFacts {
            not_whistleblowing: Some(NotWhistleblowingKind::Grievance),
            ..LetterFacts::default()
        };
        let text = letter(&EventKind::NotWhistleblowing, &facts).unwrap();
        assert!(text.contains("about your own employment (a grievance)"));
    }

    #[test]
    fn updates_carry_the_handlers_words_and_next_dates() {
        let facts = LetterFacts {
            message: "We have interviewed two staff members.",
            due: Due {
                update_by: Some(date!(2027 - 01 - 12)),
                ..due(date!(2027 - 01 - 20))
            },
            ..LetterFacts::default()
        };
        let text = letter(&EventKind::Update, &facts).unwrap();
        assert!(text.contains("We have interviewed two staff members."));
        assert!(text.contains("respond fully by Wednesday 20 January 2027, and will update you again by Tuesday 12 January 2027"));
    }
}

/// Every letter with example facts, in the order a case meets them: the source of
/// `docs/letters.md`, which a board's governance team reviews (a test keeps the two identical).
#[cfg(test)]
pub(crate) mod samples {
    use super::*;
    use time::macros::date;

    pub struct Sample {
        pub title: &'static str,
        pub text: String,
    }

    fn sample(title: &'static str, event: EventKind, facts: LetterFacts<'_>) -> Sample {
        Sample {
            title,
            text: letter(&event, &facts).unwrap_or_default(),
        }
    }

    pub fn all() -> Vec<Sample> {
        let stage1_due = Due {
            respond_by: Some(date!(2026 - 11 - 20)),
            ..Due::default()
        };
        let stage2_due = Due {
            acknowledge_by: Some(date!(2026 - 11 - 18)),
            respond_by: Some(date!(2026 - 12 - 14)),
            ..Due::default()
        };
        let contact = "Cora Contact, confidential contact";
        vec![
            sample(
                "Stage 1: early resolution",
                EventKind::Stage1,
                LetterFacts {
                    due: stage1_due,
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Acknowledgement at stage 1",
                EventKind::Acknowledge,
                LetterFacts {
                    due: stage1_due,
                    state_before: Some(State::Stage1),
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Moved to stage 2 (asked for by the reporter)",
                EventKind::Stage2 {
                    reason: EscalationReason::ReporterRequested,
                },
                LetterFacts {
                    due: stage2_due,
                    requested_by_reporter: true,
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Moved to stage 2 (complex concern)",
                EventKind::Stage2 {
                    reason: EscalationReason::Complex,
                },
                LetterFacts {
                    due: stage2_due,
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Acknowledgement at stage 2",
                EventKind::Acknowledge,
                LetterFacts {
                    due: stage2_due,
                    state_before: Some(State::Stage2),
                    points: "1. Night staffing on Ward 3 in October.\n2. How incidents were logged.",
                    contact: "Ivy Investigator, investigating officer",
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Extension",
                EventKind::Extend {
                    until: date!(2026 - 12 - 21),
                },
                LetterFacts {
                    due: Due {
                        update_by: Some(date!(2027 - 01 - 12)),
                        respond_by: Some(date!(2026 - 12 - 21)),
                        ..Due::default()
                    },
                    reason: "A key witness is on leave until 7 December.",
                    authorised_by: "Dr Morag Lee, Director of Nursing",
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Progress update",
                EventKind::Update,
                LetterFacts {
                    due: Due {
                        update_by: Some(date!(2027 - 01 - 12)),
                        respond_by: Some(date!(2027 - 01 - 20)),
                        ..Due::default()
                    },
                    message: "We have interviewed two members of staff.",
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Stage 1 response",
                EventKind::Close {
                    outcome: Outcome::PartiallyUpheld,
                },
                LetterFacts {
                    state_before: Some(State::Stage1),
                    findings: "The rota was short on 3 nights.",
                    actions: "An extra nurse is rostered from January.",
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Stage 2 final decision",
                EventKind::Close {
                    outcome: Outcome::Upheld,
                },
                LetterFacts {
                    state_before: Some(State::Stage2),
                    findings: "Incidents on Ward 3 were not logged on 5 occasions.",
                    actions: "Incident logging training for all Ward 3 staff by March.",
                    contact,
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Not a whistleblowing concern",
                EventKind::NotWhistleblowing,
                LetterFacts {
                    not_whistleblowing: Some(NotWhistleblowingKind::Grievance),
                    reason: "It is about your own contract hours.",
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Withdrawn at the reporter's request (from the mailbox)",
                EventKind::Withdraw,
                LetterFacts {
                    requested_by_reporter: true,
                    ..LetterFacts::default()
                },
            ),
            sample(
                "Withdrawn, recorded by a handler",
                EventKind::Withdraw,
                LetterFacts {
                    reason: "You asked by phone on 3 December 2026.",
                    ..LetterFacts::default()
                },
            ),
        ]
    }

    #[test]
    fn docs_letters_md_holds_every_letter_as_written() {
        let doc = include_str!("../../docs/letters.md");
        for sample in all() {
            assert!(!sample.text.is_empty(), "{}", sample.title);
            let quoted: String = sample
                .text
                .lines()
                .map(|line| {
                    if line.is_empty() {
                        ">\n".to_owned()
                    } else {
                        format!("> {line}\n")
                    }
                })
                .collect();
            assert!(
                doc.contains(&format!("### {}\n", sample.title)),
                "docs/letters.md lacks the heading {:?}",
                sample.title
            );
            assert!(
                doc.contains(&quoted),
                "docs/letters.md is out of date for {:?}; it should quote:\n{quoted}",
                sample.title
            );
        }
    }
}
