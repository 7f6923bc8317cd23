//! A synthetic year, counted by hand: four quarters and the annual report over the same cases,
//! raised through every kind of channel, some crossing a quarter's end.
//!
//! Scottish calendar, 2025: the holidays that fall inside these cases' windows are Monday 5 May
//! (early May) only. Day 1 is the day of receipt, or the day a case moved to stage 2.

use time::Date;
use time::macros::date;

use super::calendar::Calendar;
use super::disclosure::{Disclosure, Figure, disclose};
use super::kpi::{CHANNELS, CaseRecord, Kpis, Period, SplitKpis, StageKpis, compute_kpis};
use super::signposting::{Anonymity, Service};
use super::stages::{EscalationReason, Event, EventKind as K, Outcome, Settings};
use crate::model::Channel;

fn e(on: Date, kind: K) -> Event {
    Event::new(on, kind)
}

fn case(
    service: Service,
    anonymity: Anonymity,
    channel: Channel,
    events: Vec<Event>,
) -> CaseRecord {
    CaseRecord {
        service,
        anonymity,
        channel,
        events,
    }
}

fn the_year() -> Vec<CaseRecord> {
    use Anonymity::{Anonymous, Confidential};
    use EscalationReason::{Complex, ReporterRequested};
    use Outcome::{NotUpheld, PartiallyUpheld, Upheld};
    use Service::{LocalAuthority as La, Nhs};
    let close = |outcome| K::Close { outcome };
    vec![
        // A. Q1. NHS, portal. Stage 1 from Mon 13 Jan, closed Fri 17 Jan upheld: 5 working
        //    days, on time.
        case(
            Nhs,
            Confidential,
            Channel::Portal,
            vec![
                e(date!(2025 - 01 - 13), K::Received),
                e(date!(2025 - 01 - 13), K::Stage1),
                e(date!(2025 - 01 - 17), close(Upheld)),
            ],
        ),
        // B. Q1 into Q2. Local authority, by phone. Straight to stage 2 from Mon 10 Mar; day 20
        //    is Fri 4 Apr; closed Thu 3 Apr not upheld: 10–14, 17–21, 24–28 Mar, 31 Mar–3 Apr
        //    = 19 working days, on time. Handled at stage 2 in Q1 and Q2, closed in Q2.
        case(
            La,
            Confidential,
            Channel::Phone,
            vec![
                e(date!(2025 - 03 - 10), K::Received),
                e(date!(2025 - 03 - 10), K::Stage2 { reason: Complex }),
                e(date!(2025 - 03 - 11), K::Acknowledge),
                e(date!(2025 - 04 - 03), close(NotUpheld)),
            ],
        ),
        // C. Q2. NHS, by e-mail. Stage 1 from Tue 1 Apr, due Mon 7 Apr, extended that day to
        //    Fri 11 Apr; closed Thu 10 Apr partially upheld: 1–4, 7–10 Apr = 8 working days,
        //    within the extension. The reporter then asked for stage 2: from Tue 22 Apr, closed
        //    Mon 19 May upheld: 22–25 Apr, 28 Apr–2 May, 6–9 May (5 May a holiday), 12–16,
        //    19 May = 19 working days, on time.
        case(
            Nhs,
            Confidential,
            Channel::Email,
            vec![
                e(date!(2025 - 04 - 01), K::Received),
                e(date!(2025 - 04 - 01), K::Stage1),
                e(
                    date!(2025 - 04 - 07),
                    K::Extend {
                        until: date!(2025 - 04 - 11),
                    },
                ),
                e(date!(2025 - 04 - 10), close(PartiallyUpheld)),
                e(
                    date!(2025 - 04 - 22),
                    K::Stage2 {
                        reason: ReporterRequested,
                    },
                ),
                e(date!(2025 - 04 - 23), K::Acknowledge),
                e(date!(2025 - 05 - 19), close(Upheld)),
            ],
        ),
        // D. Q2. NHS, anonymous, portal: not whistleblowing. Counted apart.
        case(
            Nhs,
            Anonymous,
            Channel::Portal,
            vec![
                e(date!(2025 - 05 - 14), K::Received),
                e(date!(2025 - 05 - 15), K::NotWhistleblowing),
            ],
        ),
        // E. Q2. NHS, raised with a line manager, withdrawn two days later.
        case(
            Nhs,
            Confidential,
            Channel::LineManager,
            vec![
                e(date!(2025 - 06 - 16), K::Received),
                e(date!(2025 - 06 - 18), K::Withdraw),
            ],
        ),
        // G. Q3. Local authority, portal. Stage 1 from Mon 7 Jul, closed Mon 14 Jul not upheld:
        //    7–11, 14 Jul = 6 working days, late (no extension).
        case(
            La,
            Confidential,
            Channel::Portal,
            vec![
                e(date!(2025 - 07 - 07), K::Received),
                e(date!(2025 - 07 - 07), K::Stage1),
                e(date!(2025 - 07 - 14), close(NotUpheld)),
            ],
        ),
        // F. Q3 into Q4. NHS, in person. Stage 1 from Mon 29 Sep, closed Fri 3 Oct not upheld:
        //    29, 30 Sep, 1–3 Oct = 5 working days, on time. Handled in Q3 and Q4, closed in Q4.
        case(
            Nhs,
            Confidential,
            Channel::InPerson,
            vec![
                e(date!(2025 - 09 - 29), K::Received),
                e(date!(2025 - 09 - 29), K::Stage1),
                e(date!(2025 - 10 - 03), close(NotUpheld)),
            ],
        ),
        // I. Q4. NHS, portal. Stage 1 from Mon 3 Nov, due Fri 7 Nov, extended that day to Fri
        //    14 Nov; closed Mon 17 Nov upheld: 3–7, 10–14, 17 Nov = 11 working days, late.
        case(
            Nhs,
            Confidential,
            Channel::Portal,
            vec![
                e(date!(2025 - 11 - 03), K::Received),
                e(date!(2025 - 11 - 03), K::Stage1),
                e(
                    date!(2025 - 11 - 07),
                    K::Extend {
                        until: date!(2025 - 11 - 14),
                    },
                ),
                e(date!(2025 - 11 - 17), close(Upheld)),
            ],
        ),
        // H. Q4. NHS, by letter. Straight to stage 2 on Tue 2 Dec; still open at the year's end.
        case(
            Nhs,
            Confidential,
            Channel::Letter,
            vec![
                e(date!(2025 - 12 - 02), K::Received),
                e(date!(2025 - 12 - 02), K::Stage2 { reason: Complex }),
                e(date!(2025 - 12 - 03), K::Acknowledge),
            ],
        ),
    ]
}

fn figures(period: Period) -> Kpis {
    compute_kpis(
        &the_year(),
        &Calendar::scottish(),
        &Settings::default(),
        period,
    )
}

fn quarter(q: u8) -> Kpis {
    figures(Period::quarter(2025, q).unwrap_or_else(|_| unreachable!()))
}

fn year() -> Kpis {
    figures(Period::year(2025).unwrap_or_else(|_| unreachable!()))
}

/// Receipts by channel, in the order of [`Channel::ALL`].
fn channels(counts: &[(Channel, u32)]) -> [u32; CHANNELS] {
    let mut slots = [0; CHANNELS];
    for (channel, count) in counts {
        let slot = Channel::ALL.iter().position(|c| c == channel);
        slots[slot.unwrap_or_else(|| unreachable!())] += count;
    }
    slots
}

#[test]
fn first_quarter() {
    let q1 = quarter(1);
    assert_eq!(
        q1.standards.overall,
        SplitKpis {
            received: 2, // A, B
            received_by_channel: channels(&[(Channel::Portal, 1), (Channel::Phone, 1)]),
            stage1: StageKpis {
                handled: 1, // A
                closed: 1,
                upheld: 1,
                working_days_total: 5,
                on_time: 1,
                ..StageKpis::default()
            },
            stage2: StageKpis {
                handled: 1, // B, not closed until April
                ..StageKpis::default()
            },
            stage2_direct: 1, // B
            ..SplitKpis::default()
        }
    );
    assert_eq!(q1.standards.local_authority.received, 1); // B
    assert_eq!(q1.anonymous.overall, SplitKpis::default());
    assert_eq!(q1.unreadable, 0);
}

#[test]
fn second_quarter() {
    let q2 = quarter(2);
    assert_eq!(
        q2.standards.overall,
        SplitKpis {
            received: 2, // C, E
            received_by_channel: channels(&[(Channel::Email, 1), (Channel::LineManager, 1)]),
            withdrawn: 1, // E
            stage1: StageKpis {
                handled: 1,  // C
                extended: 1, // C
                closed: 1,
                partially_upheld: 1,
                working_days_total: 8,
                within_extension: 1,
                ..StageKpis::default()
            },
            stage2: StageKpis {
                handled: 2, // B (to 3 Apr), C (from 22 Apr)
                closed: 2,
                upheld: 1,     // C
                not_upheld: 1, // B
                working_days_total: 19 + 19,
                on_time: 2,
                ..StageKpis::default()
            },
            stage2_escalated: 1, // C
            ..SplitKpis::default()
        }
    );
    // B's closure belongs to the local authority's figures, C's to the NHS's.
    assert_eq!(q2.standards.local_authority.stage2.closed, 1);
    assert_eq!(q2.standards.nhs.stage2.closed, 1);
    // D: anonymous, not whistleblowing, counted apart and only there.
    assert_eq!(
        (
            q2.anonymous.overall.received,
            q2.anonymous.overall.not_whistleblowing
        ),
        (1, 1)
    );
    assert_eq!(q2.standards.overall.not_whistleblowing, 0);
}

#[test]
fn third_quarter() {
    let q3 = quarter(3);
    assert_eq!(
        q3.standards.overall,
        SplitKpis {
            received: 2, // G, F
            received_by_channel: channels(&[(Channel::Portal, 1), (Channel::InPerson, 1)]),
            stage1: StageKpis {
                handled: 2, // G, F (from 29 Sep)
                closed: 1,  // G
                not_upheld: 1,
                working_days_total: 6,
                late: 1,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        }
    );
    assert_eq!(
        q3.standards.overall.stage1.average_working_days(),
        Some(6.0)
    );
}

#[test]
fn fourth_quarter() {
    let q4 = quarter(4);
    assert_eq!(
        q4.standards.overall,
        SplitKpis {
            received: 2, // I, H
            received_by_channel: channels(&[(Channel::Portal, 1), (Channel::Letter, 1)]),
            stage1: StageKpis {
                handled: 2,  // F (to 3 Oct), I
                extended: 1, // I
                closed: 2,
                upheld: 1,     // I
                not_upheld: 1, // F
                working_days_total: 5 + 11,
                on_time: 1, // F
                late: 1,    // I, after its extension
                ..StageKpis::default()
            },
            stage2: StageKpis {
                handled: 1, // H, open
                ..StageKpis::default()
            },
            stage2_direct: 1, // H
            ..SplitKpis::default()
        }
    );
    assert_eq!(
        q4.standards.overall.stage1.average_working_days(),
        Some(8.0)
    );
}

#[test]
fn the_annual_report() {
    let year = year();
    let overall = SplitKpis {
        received: 8, // A B C E F G H I
        received_by_channel: channels(&[
            (Channel::Portal, 3), // A G I
            (Channel::Phone, 1),
            (Channel::Email, 1),
            (Channel::LineManager, 1),
            (Channel::InPerson, 1),
            (Channel::Letter, 1),
        ]),
        withdrawn: 1, // E
        stage1: StageKpis {
            handled: 5,  // A C F G I: F once, though it spans two quarters
            extended: 2, // C I
            closed: 5,
            upheld: 2,           // A I
            partially_upheld: 1, // C
            not_upheld: 2,       // F G
            working_days_total: 5 + 8 + 6 + 5 + 11,
            on_time: 2,          // A F
            within_extension: 1, // C
            late: 2,             // G I
        },
        stage2: StageKpis {
            handled: 3, // B C H
            closed: 2,
            upheld: 1,     // C
            not_upheld: 1, // B
            working_days_total: 19 + 19,
            on_time: 2,
            ..StageKpis::default()
        },
        stage2_escalated: 1, // C
        stage2_direct: 2,    // B H
        ..SplitKpis::default()
    };
    assert_eq!(year.standards.overall, overall);
    assert_eq!(year.standards.nhs.received, 6); // A C E F H I
    assert_eq!(year.standards.local_authority.received, 2); // B G
    assert_eq!(year.standards.local_authority.stage1.late, 1); // G
    assert_eq!(year.anonymous.overall.received, 1); // D
    // 35 / 5 = 7.0; 38 / 2 = 19.0.
    assert_eq!(
        year.standards.overall.stage1.average_working_days(),
        Some(7.0)
    );
    assert_eq!(
        year.standards.overall.stage2.average_working_days(),
        Some(19.0)
    );
}

#[test]
fn the_year_adds_up_from_its_quarters_except_what_spans_them() {
    let year = year();
    let quarters: Vec<Kpis> = (1..=4).map(quarter).collect();
    let sum = |f: fn(&SplitKpis) -> u32| -> u32 {
        quarters.iter().map(|q| f(&q.standards.overall)).sum()
    };
    let overall = &year.standards.overall;
    // Receipts and closures are events on one day: each falls in exactly one quarter.
    assert_eq!(sum(|s| s.received), overall.received);
    assert_eq!(sum(|s| s.withdrawn), overall.withdrawn);
    assert_eq!(sum(|s| s.stage1.closed), overall.stage1.closed);
    assert_eq!(sum(|s| s.stage2.closed), overall.stage2.closed);
    assert_eq!(sum(|s| s.stage2_entered()), overall.stage2_entered());
    // Being handled lasts: B is handled at stage 2 in Q1 and Q2, F at stage 1 in Q3 and Q4, so
    // the quarters count them twice and the year once.
    assert_eq!(sum(|s| s.stage1.handled), overall.stage1.handled + 1);
    assert_eq!(sum(|s| s.stage2.handled), overall.stage2.handled + 1);
}

#[test]
fn the_published_annual_report_gives_nothing_away_against_its_quarters() {
    let year = year();
    let quarters: Vec<Kpis> = (1..=4).map(quarter).collect();
    let published = disclose(&year, Disclosure::Published, true, &quarters);
    // Each quarter received 2: "fewer than 5" in its own report. The year's 8 is shown; it does
    // not say how the 8 fell across the quarters.
    for q in &quarters {
        let part = disclose(q, Disclosure::Published, true, &[]);
        assert_eq!(part.overall.received, Figure::FewerThan5);
    }
    assert_eq!(published.overall.received, Figure::Count(8));
    // The local authority's 2 is small, so the NHS's 6 is hidden too (8 − 6 would give it).
    let by_service = published.by_service.as_ref();
    assert_eq!(
        by_service.map(|s| (s.local_authority.received, s.nhs.received)),
        Some((Figure::FewerThan5, Figure::Suppressed))
    );
    // Seven closures: the two at stage 2 are few, so the five at stage 1 are hidden as well.
    assert_eq!(published.overall.closed.total, Figure::Count(7));
    assert_eq!(published.overall.closed.stage1.count, Figure::Suppressed);
    assert_eq!(published.overall.closed.stage2.count, Figure::FewerThan5);
    let internal = disclose(&year, Disclosure::Internal, true, &[]);
    assert_eq!(internal.overall.received, Figure::Count(8));
    assert_eq!(internal.overall.closed.stage1.count, Figure::Count(5));
}
