//! The state machine and its deadlines, end to end.

use proptest::prelude::*;
use time::Date;
use time::macros::date;

use super::calendar::Calendar;
use super::deadlines::{DeadlineKind, Due, ProcedureStage, UrgencyLevel};
use super::error::ProcedureError;
use super::stages::{
    CaseProcedure, Closure, EscalationReason, Event, EventKind, EventType, Outcome, Settings,
    Stage, State, Status, Timeliness,
};

fn cal() -> Calendar {
    Calendar::scottish()
}

fn ev(on: Date, kind: EventKind) -> Event {
    Event::new(on, kind)
}

const FAR: Date = date!(2030 - 01 - 01);

fn replay(events: &[Event]) -> Result<CaseProcedure, ProcedureError> {
    CaseProcedure::replay(events, &cal(), &Settings::default(), FAR)
}

fn case(events: &[Event]) -> CaseProcedure {
    match replay(events) {
        Ok(c) => c,
        Err(e) => panic!("history refused: {e}"),
    }
}

// A quiet fortnight: received Mon 2 Sep 2024; no holidays until the next Monday in December.
// Stage 1: day 1 Mon 2 Sep, day 5 Fri 6 Sep, cap (day 10) Fri 13 Sep.
// Straight to stage 2: acknowledge by Wed 4 Sep, respond by Fri 27 Sep.
const RECEIVED: Date = date!(2024 - 09 - 02);

fn history(state: State) -> Vec<Event> {
    let received = ev(RECEIVED, EventKind::Received);
    let d =
        |day: u8| Date::from_calendar_date(2024, time::Month::September, day).unwrap_or(RECEIVED);
    match state {
        State::Received => vec![received],
        State::Stage1 => vec![received, ev(d(2), EventKind::Stage1)],
        State::Stage1Closed => vec![
            received,
            ev(d(2), EventKind::Stage1),
            ev(
                d(4),
                EventKind::Close {
                    outcome: Outcome::NotUpheld,
                },
            ),
        ],
        State::Stage2 => vec![
            received,
            ev(
                d(3),
                EventKind::Stage2 {
                    reason: EscalationReason::Complex,
                },
            ),
        ],
        State::Stage2Closed => vec![
            received,
            ev(
                d(3),
                EventKind::Stage2 {
                    reason: EscalationReason::Complex,
                },
            ),
            ev(
                d(20),
                EventKind::Close {
                    outcome: Outcome::Upheld,
                },
            ),
        ],
        State::NotWhistleblowing => vec![received, ev(d(3), EventKind::NotWhistleblowing)],
        State::Withdrawn => vec![received, ev(d(3), EventKind::Withdraw)],
    }
}

/// A valid payload for each event type, for the state it is tried in.
fn sample(kind: EventType, state: State) -> EventKind {
    match kind {
        EventType::Received => EventKind::Received,
        EventType::Acknowledge => EventKind::Acknowledge,
        EventType::Stage1 => EventKind::Stage1,
        EventType::Stage2 => EventKind::Stage2 {
            reason: if state == State::Stage1Closed {
                EscalationReason::ReporterRequested
            } else {
                EscalationReason::Complex
            },
        },
        EventType::NotWhistleblowing => EventKind::NotWhistleblowing,
        EventType::Extend => EventKind::Extend {
            until: if state == State::Stage1 {
                date!(2024 - 09 - 11)
            } else {
                date!(2024 - 10 - 02)
            },
        },
        EventType::Update => EventKind::Update,
        EventType::Withdraw => EventKind::Withdraw,
        EventType::Close => EventKind::Close {
            outcome: Outcome::Upheld,
        },
    }
}

#[test]
fn every_state_by_every_event() {
    use EventType as E;
    use State as S;
    // For each state, the event types that are allowed; everything else is refused with
    // `NotAllowed { event, state }`.
    let table: &[(State, &[EventType], State)] = &[
        (
            S::Received,
            &[E::Stage1, E::Stage2, E::NotWhistleblowing, E::Withdraw],
            S::Received,
        ),
        (
            S::Stage1,
            &[
                E::Acknowledge,
                E::Stage2,
                E::NotWhistleblowing,
                E::Extend,
                E::Update,
                E::Withdraw,
                E::Close,
            ],
            S::Stage1,
        ),
        (S::Stage1Closed, &[E::Stage2], S::Stage1Closed),
        (
            S::Stage2,
            &[E::Acknowledge, E::Extend, E::Update, E::Withdraw, E::Close],
            S::Stage2,
        ),
        (S::Stage2Closed, &[], S::Stage2Closed),
        (S::NotWhistleblowing, &[], S::NotWhistleblowing),
        (S::Withdrawn, &[], S::Withdrawn),
    ];
    assert_eq!(table.len(), State::ALL.len());
    for (state, allowed, _) in table {
        let events = history(*state);
        let current = case(&events);
        assert_eq!(current.state(), *state);
        let on = events.last().map_or(RECEIVED, |e| e.on);
        for kind in EventType::ALL {
            let result = current.apply(ev(on, sample(kind, *state)), &cal(), FAR);
            if allowed.contains(&kind) {
                assert!(result.is_ok(), "{state:?} + {kind:?}: {result:?}");
            } else {
                assert_eq!(
                    result.err(),
                    Some(ProcedureError::NotAllowed {
                        event: kind,
                        state: *state
                    }),
                    "{state:?} + {kind:?}"
                );
            }
        }
        // The buttons the UI shows are exactly these.
        assert_eq!(current.allowed_events(on), allowed.to_vec(), "{state:?}");
    }
}

#[test]
fn where_each_event_leads() {
    use State as S;
    let cases: &[(State, EventType, State, Status, Stage)] = &[
        (
            S::Received,
            EventType::Stage1,
            S::Stage1,
            Status::Open,
            Stage::Stage1,
        ),
        (
            S::Received,
            EventType::Stage2,
            S::Stage2,
            Status::Open,
            Stage::Stage2,
        ),
        (
            S::Received,
            EventType::NotWhistleblowing,
            S::NotWhistleblowing,
            Status::NotWhistleblowing,
            Stage::Received,
        ),
        (
            S::Received,
            EventType::Withdraw,
            S::Withdrawn,
            Status::Withdrawn,
            Stage::Received,
        ),
        (
            S::Stage1,
            EventType::Close,
            S::Stage1Closed,
            Status::Closed,
            Stage::Stage1,
        ),
        (
            S::Stage1,
            EventType::Stage2,
            S::Stage2,
            Status::Open,
            Stage::Stage2,
        ),
        (
            S::Stage1,
            EventType::NotWhistleblowing,
            S::NotWhistleblowing,
            Status::NotWhistleblowing,
            Stage::Stage1,
        ),
        (
            S::Stage1,
            EventType::Extend,
            S::Stage1,
            Status::Open,
            Stage::Stage1,
        ),
        (
            S::Stage1Closed,
            EventType::Stage2,
            S::Stage2,
            Status::Open,
            Stage::Stage2,
        ),
        (
            S::Stage2,
            EventType::Close,
            S::Stage2Closed,
            Status::Closed,
            Stage::Stage2,
        ),
        (
            S::Stage2,
            EventType::Withdraw,
            S::Withdrawn,
            Status::Withdrawn,
            Stage::Stage2,
        ),
        (
            S::Stage2,
            EventType::Update,
            S::Stage2,
            Status::Open,
            Stage::Stage2,
        ),
    ];
    for (from, kind, to, status, stage) in cases {
        let events = history(*from);
        let on = events.last().map_or(RECEIVED, |e| e.on);
        let next = case(&events).apply(ev(on, sample(*kind, *from)), &cal(), FAR);
        let Ok(next) = next else {
            panic!("{from:?} + {kind:?}: {next:?}");
        };
        assert_eq!(
            (next.state(), next.status(), next.stage()),
            (*to, *status, *stage),
            "{from:?} + {kind:?}"
        );
    }
}

#[test]
fn stable_strings() {
    let states: Vec<&str> = State::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        states,
        [
            "received",
            "stage1",
            "stage1_closed",
            "stage2",
            "stage2_closed",
            "not_whistleblowing",
            "withdrawn"
        ]
    );
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "received",
            "acknowledge",
            "stage1",
            "stage2",
            "not_whistleblowing",
            "extend",
            "update",
            "withdraw",
            "close"
        ]
    );
    assert_eq!(Status::NotWhistleblowing.as_str(), "not_whistleblowing");
    assert_eq!(Stage::Stage2.as_str(), "stage2");
    // serde agrees with as_str.
    for s in State::ALL {
        assert_eq!(
            serde_json::to_value(s).ok(),
            Some(serde_json::json!(s.as_str()))
        );
    }
    for t in EventType::ALL {
        assert_eq!(
            serde_json::to_value(t).ok(),
            Some(serde_json::json!(t.as_str()))
        );
    }
    for r in EscalationReason::ALL {
        assert_eq!(
            serde_json::to_value(r).ok(),
            Some(serde_json::json!(r.as_str()))
        );
    }
    for o in Outcome::ALL {
        assert_eq!(
            serde_json::to_value(o).ok(),
            Some(serde_json::json!(o.as_str()))
        );
    }
}

#[test]
fn escalation_reasons_by_state() {
    use EscalationReason as R;
    let table: &[(State, &[EscalationReason])] = &[
        (State::Received, &[R::Complex, R::ReporterRequested]),
        (
            State::Stage1,
            &[
                R::Complex,
                R::Escalated,
                R::ReporterRequested,
                R::ExtensionCapReached,
            ],
        ),
        (State::Stage1Closed, &[R::ReporterRequested]),
        (State::Stage2, &[]),
        (State::Withdrawn, &[]),
    ];
    for (state, allowed) in table {
        let events = history(*state);
        let current = case(&events);
        assert_eq!(current.allowed_escalation_reasons(), allowed.to_vec());
        let on = events.last().map_or(RECEIVED, |e| e.on);
        for reason in EscalationReason::ALL {
            let result = current.apply(ev(on, EventKind::Stage2 { reason }), &cal(), FAR);
            let expected_refusal = if matches!(state, State::Stage2 | State::Withdrawn) {
                Some(ProcedureError::NotAllowed {
                    event: EventType::Stage2,
                    state: *state,
                })
            } else if allowed.contains(&reason) {
                None
            } else {
                Some(ProcedureError::ReasonNotAllowed {
                    reason,
                    state: *state,
                })
            };
            assert_eq!(result.err(), expected_refusal, "{state:?} {reason:?}");
        }
    }
}

#[test]
fn history_must_start_with_receipt() {
    assert_eq!(replay(&[]).err(), Some(ProcedureError::EmptyHistory));
    assert_eq!(
        replay(&[ev(RECEIVED, EventKind::Stage1)]).err(),
        Some(ProcedureError::FirstEventMustBeReceived {
            event: EventType::Stage1
        })
    );
    assert_eq!(
        replay(&[
            ev(RECEIVED, EventKind::Received),
            ev(RECEIVED, EventKind::Received)
        ])
        .err(),
        Some(ProcedureError::NotAllowed {
            event: EventType::Received,
            state: State::Received
        })
    );
}

#[test]
fn dates_must_not_go_back_or_into_the_future() {
    let base = history(State::Stage1);
    let mut back = base.clone();
    back.push(ev(date!(2024 - 09 - 01), EventKind::Update));
    assert_eq!(
        replay(&back).err(),
        Some(ProcedureError::DateBeforePrevious {
            date: date!(2024 - 09 - 01),
            previous: RECEIVED
        })
    );
    let today = date!(2024 - 09 - 04);
    let future = CaseProcedure::replay(
        &[ev(date!(2024 - 09 - 05), EventKind::Received)],
        &cal(),
        &Settings::default(),
        today,
    );
    assert_eq!(
        future.err(),
        Some(ProcedureError::DateInFuture {
            date: date!(2024 - 09 - 05),
            today
        })
    );
    let current = case(&base);
    assert_eq!(
        current
            .apply(ev(date!(2024 - 09 - 05), EventKind::Update), &cal(), today)
            .err(),
        Some(ProcedureError::DateInFuture {
            date: date!(2024 - 09 - 05),
            today
        })
    );
    // The same day as the previous event, and today itself, are fine.
    assert!(
        current
            .apply(ev(RECEIVED, EventKind::Update), &cal(), today)
            .is_ok()
    );
    assert!(
        current
            .apply(ev(today, EventKind::Update), &cal(), today)
            .is_ok()
    );
    // A date before the previous one is refused before the transition is considered.
    let closed = case(&history(State::Stage2Closed));
    assert!(matches!(
        closed.apply(ev(RECEIVED, EventKind::Update), &cal(), FAR),
        Err(ProcedureError::DateBeforePrevious { .. })
    ));
    assert_eq!(
        replay(&[ev(date!(1899 - 12 - 30), EventKind::Received)]).err(),
        Some(ProcedureError::DateOutOfRange {
            date: date!(1899 - 12 - 30)
        })
    );
}

#[test]
fn acknowledge_once_per_stage() {
    let mut events = history(State::Stage1);
    events.push(ev(date!(2024 - 09 - 02), EventKind::Acknowledge));
    let at_stage1 = case(&events);
    assert_eq!(at_stage1.acknowledged_on(), Some(date!(2024 - 09 - 02)));
    assert!(
        !at_stage1
            .allowed_events(RECEIVED)
            .contains(&EventType::Acknowledge)
    );
    assert_eq!(
        at_stage1
            .apply(
                ev(date!(2024 - 09 - 03), EventKind::Acknowledge),
                &cal(),
                FAR
            )
            .err(),
        Some(ProcedureError::AlreadyAcknowledged)
    );
    // Escalating starts a new stage that needs its own acknowledgement.
    events.push(ev(
        date!(2024 - 09 - 03),
        EventKind::Stage2 {
            reason: EscalationReason::Escalated,
        },
    ));
    let at_stage2 = case(&events);
    // Stage 2 from stage 1: day 1 is Tue 3 Sep, so acknowledge by Thu 5 Sep (day 3).
    assert_eq!(at_stage2.due().acknowledge_by, Some(date!(2024 - 09 - 05)));
    events.push(ev(date!(2024 - 09 - 04), EventKind::Acknowledge));
    let acknowledged = case(&events);
    assert_eq!(acknowledged.due().acknowledge_by, None);
    assert_eq!(
        acknowledged
            .apply(
                ev(date!(2024 - 09 - 05), EventKind::Acknowledge),
                &cal(),
                FAR
            )
            .err(),
        Some(ProcedureError::AlreadyAcknowledged)
    );
}

#[test]
fn untriaged_case_shows_provisional_stage1_clock() {
    // Received Sat 7 Sep 2024: day 1 Mon 9, day 5 Fri 13.
    let received = case(&[ev(date!(2024 - 09 - 07), EventKind::Received)]);
    assert_eq!(
        received.due(),
        Due {
            acknowledge_by: None,
            respond_by: Some(date!(2024 - 09 - 13)),
            update_by: None,
            extended: false,
            provisional: true,
        }
    );
    assert_eq!(received.day_one(), Some(date!(2024 - 09 - 09)));
    let triaged = case(&[
        ev(date!(2024 - 09 - 07), EventKind::Received),
        ev(date!(2024 - 09 - 10), EventKind::Stage1),
    ]);
    // Triage does not restart the clock.
    assert_eq!(triaged.due().respond_by, Some(date!(2024 - 09 - 13)));
    assert!(!triaged.due().provisional);
}

#[test]
fn stage1_extension_rules() {
    let base = history(State::Stage1);
    let current = case(&base);
    let extend = |c: &CaseProcedure, on: Date, until: Date| {
        c.apply(ev(on, EventKind::Extend { until }), &cal(), FAR)
    };
    // Due Fri 6 Sep; cap is day 10, Fri 13 Sep.
    assert_eq!(
        extend(&current, RECEIVED, date!(2024 - 09 - 06)).err(),
        Some(ProcedureError::ExtensionNotLater {
            until: date!(2024 - 09 - 06),
            current: date!(2024 - 09 - 06)
        })
    );
    assert_eq!(
        extend(&current, RECEIVED, date!(2024 - 09 - 16)).err(),
        Some(ProcedureError::ExtensionBeyondCap {
            until: date!(2024 - 09 - 16),
            cap_date: date!(2024 - 09 - 13)
        })
    );
    assert_eq!(
        extend(&current, RECEIVED, date!(2024 - 09 - 07)).err(),
        Some(ProcedureError::ExtensionNotWorkingDay {
            until: date!(2024 - 09 - 07)
        })
    );
    assert_eq!(
        extend(&current, date!(2024 - 09 - 09), date!(2024 - 09 - 12)).err(),
        Some(ProcedureError::ExtensionTooLate {
            on: date!(2024 - 09 - 09),
            due: date!(2024 - 09 - 06)
        })
    );
    // On the due date itself is still in time.
    let Ok(once) = extend(&current, date!(2024 - 09 - 06), date!(2024 - 09 - 10)) else {
        panic!("first extension refused");
    };
    assert_eq!(
        once.due(),
        Due {
            acknowledge_by: None,
            respond_by: Some(date!(2024 - 09 - 10)),
            update_by: None,
            extended: true,
            provisional: false,
        }
    );
    // A second extension must go later still, up to the cap.
    assert_eq!(
        extend(&once, date!(2024 - 09 - 09), date!(2024 - 09 - 10)).err(),
        Some(ProcedureError::ExtensionNotLater {
            until: date!(2024 - 09 - 10),
            current: date!(2024 - 09 - 10)
        })
    );
    let Ok(capped) = extend(&once, date!(2024 - 09 - 09), date!(2024 - 09 - 13)) else {
        panic!("extension to the cap refused");
    };
    assert_eq!(capped.due().respond_by, Some(date!(2024 - 09 - 13)));
    // At the cap the only way on is stage 2.
    assert!(
        !capped
            .allowed_events(date!(2024 - 09 - 10))
            .contains(&EventType::Extend)
    );
    let Ok(escalated) = capped.apply(
        ev(
            date!(2024 - 09 - 12),
            EventKind::Stage2 {
                reason: EscalationReason::ExtensionCapReached,
            },
        ),
        &cal(),
        FAR,
    ) else {
        panic!("escalation refused");
    };
    // Stage 2 day 1 is the day of escalation, Thu 12 Sep: day 3 Mon 16, day 20 Wed 9 Oct.
    assert_eq!(escalated.day_one(), Some(date!(2024 - 09 - 12)));
    assert_eq!(escalated.due().acknowledge_by, Some(date!(2024 - 09 - 16)));
    assert_eq!(escalated.due().respond_by, Some(date!(2024 - 10 - 09)));
    assert!(!escalated.due().extended);
}

#[test]
fn stage1_cap_counts_working_days_across_holidays() {
    // Received Thu 21 Nov 2024: 21 (1), 22 (2), 25 (3), 26 (4), 27 (5) → due Wed 27 Nov;
    // 28 (6), 29 (7), [Mon 2 Dec, St Andrew's substitute], 3 (8), 4 (9), 5 (10) → cap Thu 5 Dec.
    let c = case(&[
        ev(date!(2024 - 11 - 21), EventKind::Received),
        ev(date!(2024 - 11 - 21), EventKind::Stage1),
    ]);
    assert_eq!(c.due().respond_by, Some(date!(2024 - 11 - 27)));
    assert_eq!(
        c.apply(
            ev(
                date!(2024 - 11 - 25),
                EventKind::Extend {
                    until: date!(2024 - 12 - 06)
                }
            ),
            &cal(),
            FAR
        )
        .err(),
        Some(ProcedureError::ExtensionBeyondCap {
            until: date!(2024 - 12 - 06),
            cap_date: date!(2024 - 12 - 05)
        })
    );
    assert_eq!(
        c.apply(
            ev(
                date!(2024 - 11 - 25),
                EventKind::Extend {
                    until: date!(2024 - 12 - 02)
                }
            ),
            &cal(),
            FAR
        )
        .err(),
        Some(ProcedureError::ExtensionNotWorkingDay {
            until: date!(2024 - 12 - 02)
        })
    );
    assert!(
        c.apply(
            ev(
                date!(2024 - 11 - 25),
                EventKind::Extend {
                    until: date!(2024 - 12 - 05)
                }
            ),
            &cal(),
            FAR
        )
        .is_ok()
    );
    // A stricter organisation: cap at day 7, Fri 29 Nov.
    let strict = Settings::new(7).unwrap_or_default();
    let c7 = CaseProcedure::replay(
        &[
            ev(date!(2024 - 11 - 21), EventKind::Received),
            ev(date!(2024 - 11 - 21), EventKind::Stage1),
            ev(
                date!(2024 - 11 - 22),
                EventKind::Extend {
                    until: date!(2024 - 12 - 03),
                },
            ),
        ],
        &cal(),
        &strict,
        FAR,
    );
    assert_eq!(
        c7.err(),
        Some(ProcedureError::ExtensionBeyondCap {
            until: date!(2024 - 12 - 03),
            cap_date: date!(2024 - 11 - 29)
        })
    );
}

#[test]
fn settings_are_validated() {
    assert_eq!(Settings::default().stage1_extension_cap(), 10);
    assert!(Settings::new(5).is_ok());
    assert_eq!(
        Settings::new(11).err().map(|e| e.code()),
        Some("invalid_setting")
    );
    assert!(Settings::new(4).is_err());
    let parsed: Result<Settings, _> = serde_json::from_str(r#"{"stage1_extension_cap": 8}"#);
    assert_eq!(parsed.ok(), Settings::new(8).ok());
    assert!(serde_json::from_str::<Settings>(r#"{"stage1_extension_cap": 50}"#).is_err());
}

#[test]
fn stage2_deadlines_straight_from_receipt() {
    // Received Sat 20 Dec 2025, moved to stage 2 on Tue 23 Dec as complex.
    // Day 1 is the day of receipt's day 1: Mon 22 Dec (1), Tue 23 (2), Wed 24 (3) → acknowledge
    // by Wed 24 Dec; [Thu 25, Fri 26] Mon 29 (4), Tue 30 (5), Wed 31 (6), [Thu 1, Fri 2 Jan],
    // Mon 5 .. Fri 9 (7–11), Mon 12 .. Fri 16 (12–16), Mon 19 .. Thu 22 (17–20) → respond by
    // Thu 22 Jan 2026.
    let c = case(&[
        ev(date!(2025 - 12 - 20), EventKind::Received),
        ev(
            date!(2025 - 12 - 23),
            EventKind::Stage2 {
                reason: EscalationReason::Complex,
            },
        ),
    ]);
    assert_eq!(c.day_one(), Some(date!(2025 - 12 - 22)));
    assert_eq!(
        c.due(),
        Due {
            acknowledge_by: Some(date!(2025 - 12 - 24)),
            respond_by: Some(date!(2026 - 01 - 22)),
            update_by: None,
            extended: false,
            provisional: false,
        }
    );
}

#[test]
fn stage2_after_stage1_closure_keeps_the_stage1_record() {
    // Stage 1 closed Wed 4 Sep 2024 (day 3 of 5: on time); the reporter asks for stage 2 on
    // Mon 16 Sep. Stage 2 day 1 = Mon 16 Sep, day 20 = Fri 11 Oct.
    let mut events = history(State::Stage1Closed);
    events.push(ev(
        date!(2024 - 09 - 16),
        EventKind::Stage2 {
            reason: EscalationReason::ReporterRequested,
        },
    ));
    events.push(ev(
        date!(2024 - 10 - 10),
        EventKind::Close {
            outcome: Outcome::PartiallyUpheld,
        },
    ));
    let c = case(&events);
    assert_eq!(c.state(), State::Stage2Closed);
    assert_eq!(
        c.closures(),
        &[
            Closure {
                stage: ProcedureStage::Stage1,
                day_one: date!(2024 - 09 - 02),
                closed_on: date!(2024 - 09 - 04),
                outcome: Outcome::NotUpheld,
                extended: false,
                standard_due: date!(2024 - 09 - 06),
                respond_by: date!(2024 - 09 - 06),
                working_days: 3,
            },
            Closure {
                stage: ProcedureStage::Stage2,
                day_one: date!(2024 - 09 - 16),
                closed_on: date!(2024 - 10 - 10),
                outcome: Outcome::PartiallyUpheld,
                extended: false,
                standard_due: date!(2024 - 10 - 11),
                respond_by: date!(2024 - 10 - 11),
                working_days: 19,
            },
        ]
    );
    assert!(
        c.closures()
            .iter()
            .all(|x| x.timeliness() == Timeliness::OnTime)
    );
    assert_eq!(c.due(), Due::default());
    assert_eq!(c.urgency(FAR, &cal()), None);
}

#[test]
fn stage2_extension_and_updates_across_christmas() {
    // Stage 2 straight from receipt on Mon 1 Dec 2025 (St Andrew's substitute): day 1 Tue 2 Dec,
    // acknowledge by Thu 4 Dec, day 20 Wed 31 Dec.
    let mut events = vec![
        ev(date!(2025 - 12 - 01), EventKind::Received),
        ev(
            date!(2025 - 12 - 02),
            EventKind::Stage2 {
                reason: EscalationReason::Complex,
            },
        ),
        ev(date!(2025 - 12 - 03), EventKind::Acknowledge),
    ];
    let c = case(&events);
    assert_eq!(c.due().respond_by, Some(date!(2025 - 12 - 31)));
    // No cap at stage 2, but the same other rules.
    assert_eq!(
        c.apply(
            ev(
                date!(2025 - 12 - 15),
                EventKind::Extend {
                    until: date!(2025 - 12 - 31)
                }
            ),
            &cal(),
            FAR
        )
        .err(),
        Some(ProcedureError::ExtensionNotLater {
            until: date!(2025 - 12 - 31),
            current: date!(2025 - 12 - 31)
        })
    );
    // Extended on Mon 15 Dec to Fri 27 Feb 2026. The update window starts the next working
    // day: Tue 16 (1) .. Wed 24 (7), [25, 26], Mon 29 (8), Tue 30 (9), Wed 31 (10), [1, 2 Jan],
    // Mon 5 .. Fri 9 (11–15), Mon 12 .. Fri 16 (16–20) → update by Fri 16 Jan 2026.
    events.push(ev(
        date!(2025 - 12 - 15),
        EventKind::Extend {
            until: date!(2026 - 02 - 27),
        },
    ));
    let extended = case(&events);
    assert_eq!(
        extended.due(),
        Due {
            acknowledge_by: None,
            respond_by: Some(date!(2026 - 02 - 27)),
            update_by: Some(date!(2026 - 01 - 16)),
            extended: true,
            provisional: false,
        }
    );
    // An update on Fri 9 Jan restarts it: Mon 12 .. Fri 16 (1–5), .. Fri 6 Feb (20).
    events.push(ev(date!(2026 - 01 - 09), EventKind::Update));
    assert_eq!(case(&events).due().update_by, Some(date!(2026 - 02 - 06)));
    // A further extension counts as an update too: on Thu 5 Feb, to Fri 27 Mar.
    // Window: Fri 6 Feb (1), Mon 9 .. Fri 13 (2–6), .. Fri 27 Feb (16), Mon 2 .. Thu 5 Mar
    // (17–20) → Thu 5 Mar.
    events.push(ev(
        date!(2026 - 02 - 05),
        EventKind::Extend {
            until: date!(2026 - 03 - 27),
        },
    ));
    let twice = case(&events);
    assert_eq!(twice.due().update_by, Some(date!(2026 - 03 - 05)));
    assert_eq!(twice.due().respond_by, Some(date!(2026 - 03 - 27)));
    // Closed on Thu 26 Mar: after day 20 but within the extension.
    events.push(ev(
        date!(2026 - 03 - 26),
        EventKind::Close {
            outcome: Outcome::Upheld,
        },
    ));
    let closed = case(&events);
    let [closure] = closed.closures() else {
        panic!("one closure expected");
    };
    assert!(closure.extended);
    assert_eq!(closure.standard_due, date!(2025 - 12 - 31));
    assert_eq!(closure.timeliness(), Timeliness::WithinExtension);
}

#[test]
fn updates_before_an_extension_set_no_update_clock() {
    let mut events = history(State::Stage2);
    events.push(ev(date!(2024 - 09 - 05), EventKind::Update));
    assert_eq!(case(&events).due().update_by, None);
}

#[test]
fn urgency_levels() {
    let c = case(&history(State::Stage1));
    // Day 1 Mon 2 Sep .. day 5 Fri 6 Sep.
    let at = |today: Date| c.urgency(today, &cal());
    let level = |today: Date| at(today).map(|u| (u.level, u.used, u.allowed));
    assert_eq!(
        level(date!(2024 - 09 - 02)),
        Some((UrgencyLevel::Fine, 1, 5))
    );
    assert_eq!(
        level(date!(2024 - 09 - 03)),
        Some((UrgencyLevel::Fine, 2, 5))
    );
    assert_eq!(
        level(date!(2024 - 09 - 04)),
        Some((UrgencyLevel::Over50, 3, 5))
    );
    assert_eq!(
        level(date!(2024 - 09 - 05)),
        Some((UrgencyLevel::Over75, 4, 5))
    );
    assert_eq!(
        level(date!(2024 - 09 - 06)),
        Some((UrgencyLevel::Over90, 5, 5))
    );
    // The weekend after uses no working days but the date has passed.
    assert_eq!(
        level(date!(2024 - 09 - 07)),
        Some((UrgencyLevel::Overdue, 5, 5))
    );
    assert_eq!(
        level(date!(2024 - 09 - 09)),
        Some((UrgencyLevel::Overdue, 6, 5))
    );
    assert_eq!(at(date!(2024 - 09 - 09)).map(|u| u.share), Some(1.2));

    // Stage 2: the acknowledgement (3 days) is more pressing than the response (20 days).
    let s2 = case(&history(State::Stage2));
    let u = s2.urgency(date!(2024 - 09 - 03), &cal());
    assert_eq!(
        u.map(|u| (u.deadline, u.level, u.due)),
        Some((
            DeadlineKind::Acknowledge,
            UrgencyLevel::Over50,
            date!(2024 - 09 - 04)
        ))
    );
    let late = s2.urgency(date!(2024 - 09 - 05), &cal());
    assert_eq!(
        late.map(|u| (u.deadline, u.level)),
        Some((DeadlineKind::Acknowledge, UrgencyLevel::Overdue))
    );
    // Nothing is urgent on a closed case.
    assert_eq!(case(&history(State::Withdrawn)).urgency(FAR, &cal()), None);
    assert_eq!(case(&history(State::Withdrawn)).due(), Due::default());
}

#[test]
fn urgency_of_the_update_clock() {
    // Stage 2 from Mon 2 Sep 2024, acknowledged, extended on Fri 27 Sep to Fri 20 Dec.
    // Update window: Mon 30 Sep (1) .. Fri 25 Oct (20).
    let mut events = history(State::Stage2);
    events.push(ev(date!(2024 - 09 - 03), EventKind::Acknowledge));
    events.push(ev(
        date!(2024 - 09 - 27),
        EventKind::Extend {
            until: date!(2024 - 12 - 20),
        },
    ));
    let c = case(&events);
    assert_eq!(c.due().update_by, Some(date!(2024 - 10 - 25)));
    // On Tue 22 Oct: 17 of 20 days of the update window (85%) against 37 of 79 for the response
    // (Mon 2 Dec is the St Andrew's Day substitute).
    let u = c.urgency(date!(2024 - 10 - 22), &cal());
    assert_eq!(
        u.map(|u| (u.deadline, u.level, u.used, u.allowed)),
        Some((DeadlineKind::Update, UrgencyLevel::Over75, 17, 20))
    );
}

#[test]
fn extension_is_not_offered_once_late() {
    let c = case(&history(State::Stage2));
    assert!(
        c.allowed_events(date!(2024 - 09 - 27))
            .contains(&EventType::Extend)
    );
    assert!(
        !c.allowed_events(date!(2024 - 09 - 30))
            .contains(&EventType::Extend)
    );
}

#[test]
fn recorded_history_survives_a_change_of_holidays() {
    // Extended to the cap (Fri 13 Sep 2024) under the Scottish calendar...
    let mut events = history(State::Stage1);
    events.push(ev(
        date!(2024 - 09 - 05),
        EventKind::Extend {
            until: date!(2024 - 09 - 13),
        },
    ));
    assert!(replay(&events).is_ok());
    // ...then the organisation declares Fri 13 Sep a local holiday.
    let later = Calendar::new(
        super::calendar::DayOneRule::ReceiptOrNextWorkingDay,
        [super::calendar::LocalHoliday {
            date: date!(2024 - 09 - 13),
            label: "local".into(),
        }],
        [],
    );
    assert_eq!(
        CaseProcedure::replay(&events, &later, &Settings::default(), FAR).err(),
        Some(ProcedureError::ExtensionNotWorkingDay {
            until: date!(2024 - 09 - 13)
        })
    );
    let loaded = CaseProcedure::from_recorded(&events, &later, &Settings::default());
    assert_eq!(
        loaded.map(|c| c.due().respond_by),
        Ok(Some(date!(2024 - 09 - 13)))
    );
    // Transitions are still enforced on recorded history.
    events.push(ev(date!(2024 - 09 - 06), EventKind::Stage1));
    assert!(matches!(
        CaseProcedure::from_recorded(&events, &later, &Settings::default()),
        Err(ProcedureError::NotAllowed { .. })
    ));
}

#[test]
fn events_as_json() {
    let events = vec![
        ev(RECEIVED, EventKind::Received),
        ev(
            RECEIVED,
            EventKind::Stage2 {
                reason: EscalationReason::ReporterRequested,
            },
        ),
        ev(
            date!(2024 - 09 - 20),
            EventKind::Extend {
                until: date!(2024 - 10 - 31),
            },
        ),
        ev(
            date!(2024 - 10 - 30),
            EventKind::Close {
                outcome: Outcome::PartiallyUpheld,
            },
        ),
    ];
    let json = serde_json::to_value(&events).unwrap_or_default();
    assert_eq!(
        json,
        serde_json::json!([
            {"on": "2024-09-02", "type": "received"},
            {"on": "2024-09-02", "type": "stage2", "reason": "reporter_requested"},
            {"on": "2024-09-20", "type": "extend", "until": "2024-10-31"},
            {"on": "2024-10-30", "type": "close", "outcome": "partially_upheld"},
        ])
    );
    let back: Vec<Event> = serde_json::from_value(json).unwrap_or_default();
    assert_eq!(back, events);
    let due = serde_json::to_value(case(&events[..3]).due()).unwrap_or_default();
    assert_eq!(
        due,
        serde_json::json!({
            "acknowledge_by": "2024-09-04",
            "respond_by": "2024-10-31",
            "update_by": "2024-10-18",
            "extended": true,
            "provisional": false
        })
    );
    assert!(serde_json::from_str::<Event>(r#"{"on":"2024-13-01","type":"update"}"#).is_err());
}

fn arbitrary_kind() -> impl Strategy<Value = EventKind> {
    let until = (0i64..90).prop_map(|d| EventKind::Extend {
        until: RECEIVED + time::Duration::days(d),
    });
    prop_oneof![
        Just(EventKind::Received),
        Just(EventKind::Acknowledge),
        Just(EventKind::Stage1),
        prop::sample::select(EscalationReason::ALL.to_vec())
            .prop_map(|reason| EventKind::Stage2 { reason }),
        Just(EventKind::NotWhistleblowing),
        until,
        Just(EventKind::Update),
        Just(EventKind::Withdraw),
        prop::sample::select(Outcome::ALL.to_vec())
            .prop_map(|outcome| EventKind::Close { outcome }),
    ]
}

proptest! {
    /// Whatever is thrown at it, a case only ever accepts what `allowed_events` offers, and its
    /// deadlines stay on working days in order.
    #[test]
    fn random_histories_keep_invariants(steps in prop::collection::vec((0i64..6, arbitrary_kind()), 0..25)) {
        let calendar = cal();
        let mut current = case(&[ev(RECEIVED, EventKind::Received)]);
        let mut on = RECEIVED;
        for (gap, kind) in steps {
            on += time::Duration::days(gap);
            let offered = current.allowed_events(on);
            match current.apply(ev(on, kind), &calendar, FAR) {
                Ok(next) => {
                    prop_assert!(offered.contains(&kind.event_type()), "{:?} not offered", kind);
                    current = next;
                }
                Err(ProcedureError::NotAllowed { event, .. }) => {
                    prop_assert!(!offered.contains(&event));
                }
                Err(_) => {}
            }
            let due = current.due();
            for d in [due.acknowledge_by, due.respond_by, due.update_by].into_iter().flatten() {
                prop_assert!(calendar.is_working_day(d));
                prop_assert!(d >= current.received_on());
            }
            prop_assert!(current.closures().len() <= 2);
            // The whole history replays to the same case.
            let again = replay(current.events());
            prop_assert_eq!(again.as_ref().ok(), Some(&current));
        }
    }
}
