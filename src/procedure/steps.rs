//! What a recorded procedure step writes: the letter the reporter reads and the detail the
//! holders read, from the step, the dates after it, and the handler's own words.
//!
//! The server composes them for a session that holds the handler's key. A session whose key is
//! in the browser (issue 14) composes them in the browser with this very code, compiled to
//! WebAssembly (`wasm/`): the server sends the *facts* it alone knows (the step, the state
//! before it, the dates after it, the handler's name) as [`encode_facts`] text, the browser adds
//! the words (which never reach the server) and calls [`compose`], seals the result under the
//! case key and sends only ciphertext back.
//!
//! The text format, read by [`compose`]: `name=value` fields separated by NUL (`\0`), in any
//! order, each name at most once. Values never contain NUL (the server refuses NUL in every
//! text, and so does the page). Facts: `type`, `until`, `escalation`, `outcome`,
//! `not_whistleblowing`, `state_before`, `acknowledge_by`, `respond_by`, `update_by`,
//! `contact` (dates `YYYY-MM-DD`, absent values empty). Words: `reason`, `authorised_by`,
//! `findings`, `actions`, `learning`, `message`, `points`.

use time::Date;

use super::dates::parse_iso_date;
use super::deadlines::Due;
use super::letters::{LetterFacts, letter};
use super::signposting::NotWhistleblowingKind;
use super::stages::{EscalationReason, EventKind, EventType, Outcome, State};

/// The handler's own words for a step. Only they, not the facts, are secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepWords<'a> {
    /// Why: the extension's reason, the escalation's, why it is not whistleblowing, why it is
    /// withdrawn.
    pub reason: &'a str,
    /// Who authorised an extension (name and role).
    pub authorised_by: &'a str,
    pub findings: &'a str,
    pub actions: &'a str,
    /// Learning recorded at closure (also kept, without the case, for the learning reports).
    pub learning: &'a str,
    /// Words for the reporter (required for an update).
    pub message: &'a str,
    /// The points a stage 2 investigation will look into.
    pub points: &'a str,
}

/// What the server knows about a step before it is recorded: no words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFacts {
    pub kind: EventKind,
    pub state_before: State,
    /// The dates after the step took effect.
    pub due: Due,
    pub not_whistleblowing: Option<NotWhistleblowingKind>,
    /// The handler recording the step (name and job title), named in some letters.
    pub contact: String,
}

/// The letter and the holders' detail of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub letter: String,
    pub detail: String,
}

/// Why [`compose`] could not write a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeError {
    /// The text is not in the format above, or names a step that writes no letter.
    Malformed,
    /// The Standards need these words for this step (the field, in words).
    Missing(&'static str),
}

/// The words a step cannot be recorded without, in words ("the reason for the extension"), or
/// `None` when all are there.
pub fn missing_words(
    kind: &EventKind,
    state_before: State,
    words: &StepWords<'_>,
) -> Option<&'static str> {
    let empty = |text: &str| text.trim().is_empty();
    match kind {
        EventKind::Extend { .. } if empty(words.reason) => Some("the reason for the extension"),
        EventKind::Extend { .. } if empty(words.authorised_by) => {
            Some("who authorised the extension")
        }
        EventKind::Update if empty(words.message) => Some("the update for the reporter"),
        // A concern leaves the figures as withdrawn only for a reason on record.
        EventKind::Withdraw if empty(words.reason) => {
            Some("why the concern is withdrawn (for example: the reporter asked by phone on …)")
        }
        EventKind::Close { .. } if state_before == State::Stage2 && empty(words.findings) => {
            Some("the findings (a stage 2 decision states them)")
        }
        _ => None,
    }
}

/// What the holders read of a step besides the letter: the handler's words, labelled.
pub fn detail(words: &StepWords<'_>) -> String {
    [
        ("Points to investigate", words.points.trim()),
        ("Reason", words.reason.trim()),
        ("Findings", words.findings.trim()),
        ("Actions", words.actions.trim()),
        ("Learning", words.learning.trim()),
    ]
    .iter()
    .filter(|(_, text)| !text.is_empty())
    .map(|(label, text)| format!("{label}: {text}"))
    .collect::<Vec<_>>()
    .join("\n\n")
}

/// The letter and detail of a step, from its facts and words.
pub fn write(facts: &StepFacts, words: &StepWords<'_>) -> Option<Composed> {
    let letter = letter(
        &facts.kind,
        &LetterFacts {
            due: facts.due,
            state_before: Some(facts.state_before),
            reason: words.reason,
            findings: words.findings,
            actions: words.actions,
            message: words.message,
            not_whistleblowing: facts.not_whistleblowing,
            contact: &facts.contact,
            requested_by_reporter: false,
            authorised_by: words.authorised_by,
            points: words.points,
        },
    )?;
    Some(Composed {
        letter,
        detail: detail(words),
    })
}

fn day(date: Option<Date>) -> String {
    date.map(|date| {
        format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    })
    .unwrap_or_default()
}

/// The facts as text for [`compose`] (the format in the module comment).
pub fn encode_facts(facts: &StepFacts) -> String {
    let (until, escalation, outcome) = match facts.kind {
        EventKind::Extend { until } => (Some(until), "", ""),
        EventKind::Stage2 { reason } => (None, reason.as_str(), ""),
        EventKind::Close { outcome } => (None, "", outcome.as_str()),
        _ => (None, "", ""),
    };
    [
        ("type", facts.kind.event_type().as_str().to_owned()),
        ("until", day(until)),
        ("escalation", escalation.to_owned()),
        ("outcome", outcome.to_owned()),
        (
            "not_whistleblowing",
            facts
                .not_whistleblowing
                .map(|kind| kind.as_str().to_owned())
                .unwrap_or_default(),
        ),
        ("state_before", facts.state_before.as_str().to_owned()),
        ("acknowledge_by", day(facts.due.acknowledge_by)),
        ("respond_by", day(facts.due.respond_by)),
        ("update_by", day(facts.due.update_by)),
        ("contact", facts.contact.replace('\0', "")),
    ]
    .iter()
    .map(|(name, value)| format!("{name}={value}"))
    .collect::<Vec<_>>()
    .join("\0")
}

const FACT_NAMES: [&str; 10] = [
    "type",
    "until",
    "escalation",
    "outcome",
    "not_whistleblowing",
    "state_before",
    "acknowledge_by",
    "respond_by",
    "update_by",
    "contact",
];
const WORD_NAMES: [&str; 7] = [
    "reason",
    "authorised_by",
    "findings",
    "actions",
    "learning",
    "message",
    "points",
];

/// Reads facts and words (the format in the module comment), checks the words the step needs,
/// and writes its letter and detail: what a browser seals for a session whose key it holds.
pub fn compose(text: &str) -> Result<Composed, ComposeError> {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for field in text.split('\0') {
        let (name, value) = field.split_once('=').ok_or(ComposeError::Malformed)?;
        let known = FACT_NAMES.contains(&name) || WORD_NAMES.contains(&name);
        if !known || fields.iter().any(|(seen, _)| *seen == name) {
            return Err(ComposeError::Malformed);
        }
        fields.push((name, value));
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(known, _)| *known == name)
            .map_or("", |(_, value)| *value)
    };
    let date = |name: &str| match get(name) {
        "" => Ok(None),
        text => parse_iso_date(text)
            .map(Some)
            .map_err(|_| ComposeError::Malformed),
    };
    let event_type = EventType::ALL
        .into_iter()
        .find(|t| t.as_str() == get("type"))
        .ok_or(ComposeError::Malformed)?;
    let kind = match event_type {
        EventType::Received => return Err(ComposeError::Malformed),
        EventType::Acknowledge => EventKind::Acknowledge,
        EventType::Stage1 => EventKind::Stage1,
        EventType::Stage2 => EventKind::Stage2 {
            reason: EscalationReason::ALL
                .into_iter()
                .find(|r| r.as_str() == get("escalation"))
                .ok_or(ComposeError::Malformed)?,
        },
        EventType::NotWhistleblowing => EventKind::NotWhistleblowing,
        EventType::Extend => EventKind::Extend {
            until: date("until")?.ok_or(ComposeError::Malformed)?,
        },
        EventType::Update => EventKind::Update,
        EventType::Withdraw => EventKind::Withdraw,
        EventType::Close => EventKind::Close {
            outcome: Outcome::ALL
                .into_iter()
                .find(|o| o.as_str() == get("outcome"))
                .ok_or(ComposeError::Malformed)?,
        },
    };
    let not_whistleblowing = match get("not_whistleblowing") {
        "" => None,
        name => Some(
            NotWhistleblowingKind::ALL
                .into_iter()
                .find(|k| k.as_str() == name)
                .ok_or(ComposeError::Malformed)?,
        ),
    };
    let state_before = State::ALL
        .into_iter()
        .find(|s| s.as_str() == get("state_before"))
        .ok_or(ComposeError::Malformed)?;
    let facts = StepFacts {
        kind,
        state_before,
        due: Due {
            acknowledge_by: date("acknowledge_by")?,
            respond_by: date("respond_by")?,
            update_by: date("update_by")?,
            ..Due::default()
        },
        not_whistleblowing,
        contact: get("contact").to_owned(),
    };
    let words = StepWords {
        reason: get("reason"),
        authorised_by: get("authorised_by"),
        findings: get("findings"),
        actions: get("actions"),
        learning: get("learning"),
        message: get("message"),
        points: get("points"),
    };
    if let Some(missing) = missing_words(&facts.kind, facts.state_before, &words) {
        return Err(ComposeError::Missing(missing));
    }
    write(&facts, &words).ok_or(ComposeError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn words() -> StepWords<'static> {
        StepWords {
            reason: "Two witnesses are on leave.",
            authorised_by: "Dana Director, director of nursing",
            findings: "The rota was short on 12 nights.",
            actions: "Two posts advertised.",
            learning: "Check rotas weekly.",
            message: "We have spoken to the ward manager.",
            points: "1. Staffing on nights.\n2. The escalation route.",
        }
    }

    fn words_text(words: &StepWords<'_>) -> String {
        [
            ("reason", words.reason),
            ("authorised_by", words.authorised_by),
            ("findings", words.findings),
            ("actions", words.actions),
            ("learning", words.learning),
            ("message", words.message),
            ("points", words.points),
        ]
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("\0")
    }

    fn all_facts() -> Vec<StepFacts> {
        let due = Due {
            acknowledge_by: Some(date!(2026 - 11 - 18)),
            respond_by: Some(date!(2026 - 12 - 14)),
            update_by: Some(date!(2027 - 01 - 12)),
            ..Due::default()
        };
        let mut kinds = vec![
            EventKind::Acknowledge,
            EventKind::Stage1,
            EventKind::NotWhistleblowing,
            EventKind::Extend {
                until: date!(2026 - 12 - 04),
            },
            EventKind::Update,
            EventKind::Withdraw,
        ];
        kinds.extend(
            EscalationReason::ALL
                .into_iter()
                .map(|reason| EventKind::Stage2 { reason }),
        );
        kinds.extend(
            Outcome::ALL
                .into_iter()
                .map(|outcome| EventKind::Close { outcome }),
        );
        let mut all = Vec::new();
        for kind in kinds {
            for state_before in State::ALL {
                for not_whistleblowing in [None, Some(NotWhistleblowingKind::ChildProtection)] {
                    all.push(StepFacts {
                        kind,
                        state_before,
                        due,
                        not_whistleblowing,
                        contact: "Cora Contact, confidential contact".to_owned(),
                    });
                }
            }
        }
        all
    }

    #[test]
    fn composing_from_text_writes_what_the_server_writes() {
        let words = words();
        for facts in all_facts() {
            let text = format!("{}\0{}", encode_facts(&facts), words_text(&words));
            let composed = compose(&text).unwrap();
            assert_eq!(Some(composed.clone()), write(&facts, &words), "{facts:?}");
            assert!(!composed.letter.is_empty());
        }
    }

    #[test]
    fn the_order_of_fields_does_not_matter() {
        let facts = &all_facts()[0];
        let words = words();
        let mut fields: Vec<String> = encode_facts(facts)
            .split('\0')
            .chain(words_text(&words).split('\0'))
            .map(str::to_owned)
            .collect();
        fields.reverse();
        assert_eq!(compose(&fields.join("\0")).ok(), write(facts, &words));
    }

    #[test]
    fn the_words_a_step_needs_are_checked_as_on_the_server() {
        let facts = StepFacts {
            kind: EventKind::Extend {
                until: date!(2026 - 12 - 04),
            },
            state_before: State::Stage1,
            due: Due::default(),
            not_whistleblowing: None,
            contact: String::new(),
        };
        let without_reason = StepWords {
            reason: " ",
            ..words()
        };
        let text = format!("{}\0{}", encode_facts(&facts), words_text(&without_reason));
        assert_eq!(
            compose(&text),
            Err(ComposeError::Missing("the reason for the extension"))
        );
        let close = StepFacts {
            kind: EventKind::Close {
                outcome: Outcome::Upheld,
            },
            state_before: State::Stage2,
            ..facts.clone()
        };
        let no_findings = StepWords {
            findings: "",
            ..words()
        };
        assert_eq!(
            compose(&format!(
                "{}\0{}",
                encode_facts(&close),
                words_text(&no_findings)
            )),
            Err(ComposeError::Missing(
                "the findings (a stage 2 decision states them)"
            ))
        );
        let at_stage1 = StepFacts {
            state_before: State::Stage1,
            ..close
        };
        assert!(
            compose(&format!(
                "{}\0{}",
                encode_facts(&at_stage1),
                words_text(&no_findings)
            ))
            .is_ok()
        );
        assert_eq!(
            missing_words(&EventKind::Update, State::Stage2, &StepWords::default()),
            Some("the update for the reporter")
        );
        assert_eq!(
            missing_words(&EventKind::Withdraw, State::Stage1, &StepWords::default())
                .map(|m| m.starts_with("why the concern is withdrawn")),
            Some(true)
        );
        assert_eq!(
            missing_words(
                &EventKind::Acknowledge,
                State::Stage2,
                &StepWords::default()
            ),
            None
        );
    }

    #[test]
    fn malformed_text_is_refused() {
        let good = encode_facts(&all_facts()[0]);
        for bad in [
            String::new(),
            "type=acknowledge".to_owned(),
            format!("{good}\0reason"),
            format!("{good}\0colour=blue"),
            format!("{good}\0reason=a\0reason=b"),
            good.replace("type=acknowledge", "type=received"),
            good.replace("type=acknowledge", "type=party"),
            good.replace("respond_by=2026-12-14", "respond_by=14/12/2026"),
            good.replace("state_before=received", "state_before=lost"),
        ] {
            assert_eq!(compose(&bad), Err(ComposeError::Malformed), "{bad:?}");
        }
        assert!(compose(&good).is_ok());
    }

    #[test]
    fn detail_labels_the_words_and_leaves_out_empty_ones() {
        assert_eq!(
            detail(&StepWords {
                reason: " Short staffed. ",
                learning: "Check rotas.",
                ..StepWords::default()
            }),
            "Reason: Short staffed.\n\nLearning: Check rotas."
        );
        assert_eq!(detail(&StepWords::default()), "");
    }
}
