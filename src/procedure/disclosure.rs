//! Small-number suppression, so that published figures cannot point at a reporter.
//!
//! Published: any count from 1 to 4 becomes "fewer than 5", and so does any percentage or average
//! computed from such a count. Then, wherever figures are tied by a sum (parts adding up to a
//! total), a single hidden figure could be worked out from the others, so one more is hidden
//! ("suppressed": the smallest non-zero part, to lose as little as possible, or else the total),
//! repeated until no sum has exactly one hidden figure.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Serialize, Serializer};

use super::deadlines::ProcedureStage;
use super::kpi::{CHANNELS, Kpis, Period, SplitKpis, StageKpis, ratio_1dp};
use super::stages::Outcome;
use crate::model::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// For the public and anyone outside the organisation's governance: suppressed.
    Published,
    /// For the board and the whistleblowing champion: every number as it is.
    Internal,
}

/// A count as disclosed. In JSON: a number, `"fewer than 5"`, or `"suppressed"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    Count(u32),
    /// A count from 1 to 4.
    FewerThan5,
    /// A count (never 0, possibly large) hidden only so that a small one elsewhere cannot be
    /// worked out by subtraction. Shown as "suppressed", never as "fewer than 5", which would
    /// be untrue.
    Suppressed,
}

/// A percentage or an average as disclosed. In JSON: a number, `"suppressed"`, or `null` when
/// there is nothing to divide by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Percent {
    Value(f64),
    Suppressed,
    NotApplicable,
}

/// Averages are disclosed under the same rules as percentages.
pub type Average = Percent;

impl Serialize for Figure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Count(n) => serializer.serialize_u32(*n),
            Self::FewerThan5 => serializer.serialize_str("fewer than 5"),
            Self::Suppressed => serializer.serialize_str("suppressed"),
        }
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(v) => serializer.serialize_f64(*v),
            Self::Suppressed => serializer.serialize_str("suppressed"),
            Self::NotApplicable => serializer.serialize_none(),
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::FewerThan5 => f.write_str("fewer than 5"),
            Self::Suppressed => f.write_str("suppressed"),
        }
    }
}

/// Without a unit: the caller knows whether it is a per cent or working days.
impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(v) => write!(f, "{v:.1}"),
            Self::Suppressed => f.write_str("suppressed"),
            Self::NotApplicable => f.write_str("n/a"),
        }
    }
}

/// A count and its share of the relevant total.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Share {
    pub count: Figure,
    pub percent: Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerStage<T> {
    pub stage1: T,
    pub stage2: T,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClosedFigures {
    pub total: Figure,
    /// Share of all closures.
    pub stage1: Share,
    pub stage2: Share,
}

/// Shares of the closures at that stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OutcomeFigures {
    pub upheld: Share,
    pub partially_upheld: Share,
    pub not_upheld: Share,
}

/// Shares of the closures at that stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimescaleFigures {
    /// By day 5 (stage 1) or day 20 (stage 2).
    pub on_time: Share,
    /// After that, but within an authorised extension.
    pub within_extension: Share,
    pub late: Share,
}

/// Concerns placed at stage 2 in the period, and how they got there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stage2Entries {
    pub total: Figure,
    /// From stage 1: escalated, or asked for by the reporter after a stage 1 response.
    pub escalated: Share,
    /// Straight from receipt (complex concerns).
    pub direct: Share,
}

/// Concerns received, by how they were raised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChannelFigures {
    pub portal: Figure,
    pub in_person: Figure,
    pub phone: Figure,
    pub email: Figure,
    pub letter: Figure,
    pub line_manager: Figure,
    pub other: Figure,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DisclosedSplit {
    pub received: Figure,
    pub received_by_channel: ChannelFigures,
    pub not_whistleblowing: Figure,
    pub withdrawn: Figure,
    /// Concerns at each stage on any day of the period.
    pub handled: PerStage<Figure>,
    pub closed: ClosedFigures,
    pub outcomes: PerStage<OutcomeFigures>,
    pub average_working_days: PerStage<Average>,
    pub within_timescale: PerStage<TimescaleFigures>,
    /// Share of the concerns handled at that stage that had an authorised extension.
    pub extended: PerStage<Share>,
    pub stage2_entered: Stage2Entries,
}

/// The same figures for each service, for organisations that deliver both (a health and social
/// care partnership): the NHS board monitors its NHS services apart from the council's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ByService {
    pub nhs: DisclosedSplit,
    pub local_authority: DisclosedSplit,
}

/// Anonymous concerns, counted apart from the Standards' figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DisclosedGroup {
    #[serde(flatten)]
    pub overall: DisclosedSplit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_service: Option<ByService>,
}

/// The figures as they may be shown. In JSON the Standards' figures for all the
/// organisation's services are at the top level (so `received`, `closed`, … are where the API
/// contract promises them), each service apart under `by_service` when there are two, and
/// anonymous concerns apart under `anonymous`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DisclosedKpis {
    pub period: PeriodLabel,
    pub disclosure: Disclosure,
    #[serde(flatten)]
    pub overall: DisclosedSplit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_service: Option<ByService>,
    pub anonymous: DisclosedGroup,
    pub unreadable: Figure,
}

/// The period as `{"label": "2024-Q1", "start": "…", "end": "…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodLabel(pub Period);

impl Serialize for PeriodLabel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Period", 3)?;
        s.serialize_field("label", &self.0.label())?;
        s.serialize_field("start", &self.0.start().to_string())?;
        s.serialize_field("end", &self.0.end().to_string())?;
        s.end()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Group {
    Standards,
    Anonymous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Split {
    Overall,
    Nhs,
    LocalAuthority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum StageMetric {
    Handled,
    Extended,
    Closed,
    Outcome(Outcome),
    OnTime,
    WithinExtension,
    Late,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Metric {
    Received,
    /// Received by the channel at this position of `Channel::ALL`.
    ReceivedVia(usize),
    NotWhistleblowing,
    Withdrawn,
    ClosedTotal,
    Stage2Entered,
    Stage2Escalated,
    Stage2Direct,
    Stage(ProcedureStage, StageMetric),
}

type Cell = (Group, Split, Metric);

const GROUPS: [Group; 2] = [Group::Standards, Group::Anonymous];
const STAGES: [ProcedureStage; 2] = [ProcedureStage::Stage1, ProcedureStage::Stage2];

/// Which splits are shown: both services together always, each apart only for organisations
/// that deliver both. Splits that are not shown need no protecting.
fn splits(by_service: bool) -> Vec<Split> {
    if by_service {
        vec![Split::Overall, Split::Nhs, Split::LocalAuthority]
    } else {
        vec![Split::Overall]
    }
}

fn every_metric() -> Vec<Metric> {
    let mut all = vec![Metric::Received];
    all.extend((0..CHANNELS).map(Metric::ReceivedVia));
    all.extend([
        Metric::NotWhistleblowing,
        Metric::Withdrawn,
        Metric::ClosedTotal,
        Metric::Stage2Entered,
        Metric::Stage2Escalated,
        Metric::Stage2Direct,
    ]);
    for stage in STAGES {
        all.push(Metric::Stage(stage, StageMetric::Handled));
        all.push(Metric::Stage(stage, StageMetric::Extended));
        all.push(Metric::Stage(stage, StageMetric::Closed));
        for outcome in Outcome::ALL {
            all.push(Metric::Stage(stage, StageMetric::Outcome(outcome)));
        }
        for m in [
            StageMetric::OnTime,
            StageMetric::WithinExtension,
            StageMetric::Late,
        ] {
            all.push(Metric::Stage(stage, m));
        }
    }
    all
}

fn every_cell(by_service: bool) -> Vec<Cell> {
    let mut cells = Vec::new();
    for group in GROUPS {
        for split in splits(by_service) {
            for metric in every_metric() {
                cells.push((group, split, metric));
            }
        }
    }
    cells
}

/// Every sum between figures of one period: a total and the parts that add up to it.
fn partitions(by_service: bool) -> Vec<(Cell, Vec<Cell>)> {
    let mut list = Vec::new();
    for group in GROUPS {
        for split in splits(by_service) {
            let cell = |m| (group, split, m);
            list.push((
                cell(Metric::Received),
                (0..CHANNELS)
                    .map(|c| cell(Metric::ReceivedVia(c)))
                    .collect(),
            ));
            list.push((
                cell(Metric::ClosedTotal),
                STAGES
                    .iter()
                    .map(|s| cell(Metric::Stage(*s, StageMetric::Closed)))
                    .collect(),
            ));
            list.push((
                cell(Metric::Stage2Entered),
                vec![cell(Metric::Stage2Escalated), cell(Metric::Stage2Direct)],
            ));
            for stage in STAGES {
                let closed = cell(Metric::Stage(stage, StageMetric::Closed));
                list.push((
                    closed,
                    Outcome::ALL
                        .iter()
                        .map(|o| cell(Metric::Stage(stage, StageMetric::Outcome(*o))))
                        .collect(),
                ));
                list.push((
                    closed,
                    [
                        StageMetric::OnTime,
                        StageMetric::WithinExtension,
                        StageMetric::Late,
                    ]
                    .iter()
                    .map(|m| cell(Metric::Stage(stage, *m)))
                    .collect(),
                ));
            }
        }
        if by_service {
            for metric in every_metric() {
                list.push((
                    (group, Split::Overall, metric),
                    vec![
                        (group, Split::Nhs, metric),
                        (group, Split::LocalAuthority, metric),
                    ],
                ));
            }
        }
    }
    list
}

fn split_of(kpis: &Kpis, group: Group, split: Split) -> &SplitKpis {
    let group = match group {
        Group::Standards => &kpis.standards,
        Group::Anonymous => &kpis.anonymous,
    };
    match split {
        Split::Overall => &group.overall,
        Split::Nhs => &group.nhs,
        Split::LocalAuthority => &group.local_authority,
    }
}

fn stage_value(stage: &StageKpis, metric: StageMetric) -> u32 {
    match metric {
        StageMetric::Handled => stage.handled,
        StageMetric::Extended => stage.extended,
        StageMetric::Closed => stage.closed,
        StageMetric::Outcome(o) => stage.outcome(o),
        StageMetric::OnTime => stage.on_time,
        StageMetric::WithinExtension => stage.within_extension,
        StageMetric::Late => stage.late,
    }
}

fn value(kpis: &Kpis, (group, split, metric): Cell) -> u32 {
    let s = split_of(kpis, group, split);
    match metric {
        Metric::Received => s.received,
        Metric::ReceivedVia(channel) => s.received_by_channel.get(channel).copied().unwrap_or(0),
        Metric::NotWhistleblowing => s.not_whistleblowing,
        Metric::Withdrawn => s.withdrawn,
        Metric::ClosedTotal => s.closed(),
        Metric::Stage2Entered => s.stage2_entered(),
        Metric::Stage2Escalated => s.stage2_escalated,
        Metric::Stage2Direct => s.stage2_direct,
        Metric::Stage(stage, m) => stage_value(s.stage(stage), m),
    }
}

fn is_small(n: u32) -> bool {
    (1..5).contains(&n)
}

#[derive(Debug, Default, Clone)]
struct Hidden {
    small: BTreeSet<Cell>,
    complement: BTreeSet<Cell>,
}

impl Hidden {
    fn contains(&self, cell: &Cell) -> bool {
        self.small.contains(cell) || self.complement.contains(cell)
    }
}

/// The published figures of the shorter periods that exactly make up this one (the four
/// quarters of a year), each with what its own publication hid.
struct PublishedParts<'a> {
    parts: Vec<(&'a Kpis, Hidden)>,
}

impl PublishedParts<'_> {
    /// A cell every part shows can be worked out by adding them up: hiding it protects nothing.
    fn derivable(&self, cell: &Cell) -> bool {
        !self.parts.is_empty() && self.parts.iter().all(|(_, h)| !h.contains(cell))
    }

    fn hidden_parts(&self, cell: &Cell) -> usize {
        self.parts.iter().filter(|(_, h)| h.contains(cell)).count()
    }
}

/// The cells to hide: small counts, then enough complements that no sum has exactly one hidden
/// figure (which could then be recovered from the others), within the period and against the
/// published shorter periods that make it up (a year's figure minus three published quarters
/// must not give away the fourth quarter's hidden one).
fn suppressed_cells(kpis: &Kpis, by_service: bool, published: &PublishedParts<'_>) -> Hidden {
    let cells = every_cell(by_service);
    let mut hidden = Hidden {
        small: cells
            .iter()
            .copied()
            .filter(|cell| is_small(value(kpis, *cell)))
            .collect(),
        complement: BTreeSet::new(),
    };
    let partitions = partitions(by_service);
    // Each pass hides at least one more cell or stops, so this ends within the number of cells.
    loop {
        let mut changed = false;
        let unknown = |hidden: &Hidden, c: &Cell| hidden.contains(c) && !published.derivable(c);
        let can_hide = |hidden: &Hidden, c: &Cell| !hidden.contains(c) && !published.derivable(c);
        for (total, parts) in &partitions {
            let unknown_count = std::iter::once(total)
                .chain(parts)
                .filter(|c| unknown(&hidden, c))
                .count();
            if unknown_count != 1 {
                continue;
            }
            // The smallest non-zero part that can still be hidden; failing that the total.
            // Never a zero: a hidden zero under a total of zero shown elsewhere would protect
            // nothing.
            let complement = parts
                .iter()
                .filter(|p| can_hide(&hidden, p) && value(kpis, **p) > 0)
                .min_by_key(|p| value(kpis, **p))
                .or(Some(total).filter(|t| can_hide(&hidden, t)));
            if let Some(cell) = complement {
                hidden.complement.insert(*cell);
                changed = true;
            }
        }
        // This period's figure is the sum of the published parts': if exactly one of them is
        // hidden and this one is shown, subtraction gives it away.
        for cell in &cells {
            if published.hidden_parts(cell) == 1 && !hidden.contains(cell) {
                hidden.complement.insert(*cell);
                changed = true;
            }
        }
        if !changed {
            return hidden;
        }
    }
}

fn per_stage<T>(f: impl Fn(ProcedureStage) -> T) -> PerStage<T> {
    PerStage {
        stage1: f(ProcedureStage::Stage1),
        stage2: f(ProcedureStage::Stage2),
    }
}

struct Discloser<'a> {
    kpis: &'a Kpis,
    hidden: Hidden,
}

impl Discloser<'_> {
    fn figure(&self, cell: Cell) -> Figure {
        if self.hidden.small.contains(&cell) {
            Figure::FewerThan5
        } else if self.hidden.complement.contains(&cell) {
            Figure::Suppressed
        } else {
            Figure::Count(value(self.kpis, cell))
        }
    }

    fn percent(&self, part: Cell, whole: Cell) -> Percent {
        let denominator = value(self.kpis, whole);
        if denominator == 0 {
            Percent::NotApplicable
        } else if self.hidden.contains(&part) || self.hidden.contains(&whole) {
            Percent::Suppressed
        } else {
            ratio_1dp(
                u64::from(value(self.kpis, part)),
                u64::from(denominator),
                100,
            )
            .map_or(Percent::NotApplicable, Percent::Value)
        }
    }

    fn share(&self, part: Cell, whole: Cell) -> Share {
        Share {
            count: self.figure(part),
            percent: self.percent(part, whole),
        }
    }

    fn split(&self, group: Group, split: Split) -> DisclosedSplit {
        let cell = |m| (group, split, m);
        let stage_cell = |stage, m| (group, split, Metric::Stage(stage, m));
        let closed_at = |stage| stage_cell(stage, StageMetric::Closed);
        let handled_at = |stage| stage_cell(stage, StageMetric::Handled);
        let via = |channel: Channel| {
            let slot = Channel::ALL.iter().position(|c| *c == channel).unwrap_or(0);
            self.figure(cell(Metric::ReceivedVia(slot)))
        };
        DisclosedSplit {
            received: self.figure(cell(Metric::Received)),
            received_by_channel: ChannelFigures {
                portal: via(Channel::Portal),
                in_person: via(Channel::InPerson),
                phone: via(Channel::Phone),
                email: via(Channel::Email),
                letter: via(Channel::Letter),
                line_manager: via(Channel::LineManager),
                other: via(Channel::Other),
            },
            not_whistleblowing: self.figure(cell(Metric::NotWhistleblowing)),
            withdrawn: self.figure(cell(Metric::Withdrawn)),
            handled: per_stage(|stage| self.figure(handled_at(stage))),
            closed: ClosedFigures {
                total: self.figure(cell(Metric::ClosedTotal)),
                stage1: self.share(closed_at(ProcedureStage::Stage1), cell(Metric::ClosedTotal)),
                stage2: self.share(closed_at(ProcedureStage::Stage2), cell(Metric::ClosedTotal)),
            },
            outcomes: per_stage(|stage| {
                let outcome =
                    |o| self.share(stage_cell(stage, StageMetric::Outcome(o)), closed_at(stage));
                OutcomeFigures {
                    upheld: outcome(Outcome::Upheld),
                    partially_upheld: outcome(Outcome::PartiallyUpheld),
                    not_upheld: outcome(Outcome::NotUpheld),
                }
            }),
            average_working_days: per_stage(|stage| {
                let closed = closed_at(stage);
                match split_of(self.kpis, group, split)
                    .stage(stage)
                    .average_working_days()
                {
                    None => Percent::NotApplicable,
                    Some(_) if self.hidden.contains(&closed) => Percent::Suppressed,
                    Some(v) => Percent::Value(v),
                }
            }),
            within_timescale: per_stage(|stage| TimescaleFigures {
                on_time: self.share(stage_cell(stage, StageMetric::OnTime), closed_at(stage)),
                within_extension: self.share(
                    stage_cell(stage, StageMetric::WithinExtension),
                    closed_at(stage),
                ),
                late: self.share(stage_cell(stage, StageMetric::Late), closed_at(stage)),
            }),
            extended: per_stage(|stage| {
                self.share(stage_cell(stage, StageMetric::Extended), handled_at(stage))
            }),
            stage2_entered: Stage2Entries {
                total: self.figure(cell(Metric::Stage2Entered)),
                escalated: self.share(cell(Metric::Stage2Escalated), cell(Metric::Stage2Entered)),
                direct: self.share(cell(Metric::Stage2Direct), cell(Metric::Stage2Entered)),
            },
        }
    }

    fn by_service(&self, group: Group, shown: bool) -> Option<ByService> {
        shown.then(|| ByService {
            nhs: self.split(group, Split::Nhs),
            local_authority: self.split(group, Split::LocalAuthority),
        })
    }
}

/// The figures as they may be shown to `audience`. `by_service` adds each service apart (for an
/// organisation that delivers both). `published_parts` are the figures of the shorter periods
/// that exactly make up this one and are published on their own (the quarters of a year): the
/// published figures of this period then also stay safe against subtraction from them.
pub fn disclose(
    kpis: &Kpis,
    disclosure: Disclosure,
    by_service: bool,
    published_parts: &[Kpis],
) -> DisclosedKpis {
    let hidden = match disclosure {
        Disclosure::Published => {
            let none = PublishedParts { parts: Vec::new() };
            let published = PublishedParts {
                parts: published_parts
                    .iter()
                    .map(|part| (part, suppressed_cells(part, by_service, &none)))
                    .collect(),
            };
            suppressed_cells(kpis, by_service, &published)
        }
        Disclosure::Internal => Hidden::default(),
    };
    let d = Discloser { kpis, hidden };
    let unreadable = match (disclosure, kpis.unreadable) {
        (Disclosure::Published, n) if is_small(n) => Figure::FewerThan5,
        (_, n) => Figure::Count(n),
    };
    DisclosedKpis {
        period: PeriodLabel(kpis.period),
        disclosure,
        overall: d.split(Group::Standards, Split::Overall),
        by_service: d.by_service(Group::Standards, by_service),
        anonymous: DisclosedGroup {
            overall: d.split(Group::Anonymous, Split::Overall),
            by_service: d.by_service(Group::Anonymous, by_service),
        },
        unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedure::kpi::GroupKpis;
    use proptest::prelude::*;

    /// Counts received, all through the portal.
    fn portal(n: u32) -> [u32; CHANNELS] {
        let mut channels = [0; CHANNELS];
        channels[0] = n;
        channels
    }

    fn period() -> Period {
        Period::parse_quarter("2025-Q3").unwrap_or_else(|_| unreachable!())
    }

    fn add_stage(x: &StageKpis, y: &StageKpis) -> StageKpis {
        StageKpis {
            handled: x.handled + y.handled,
            extended: x.extended + y.extended,
            closed: x.closed + y.closed,
            upheld: x.upheld + y.upheld,
            partially_upheld: x.partially_upheld + y.partially_upheld,
            not_upheld: x.not_upheld + y.not_upheld,
            working_days_total: x.working_days_total + y.working_days_total,
            on_time: x.on_time + y.on_time,
            within_extension: x.within_extension + y.within_extension,
            late: x.late + y.late,
        }
    }

    fn sum(a: &SplitKpis, b: &SplitKpis) -> SplitKpis {
        let mut received_by_channel = [0; CHANNELS];
        for (slot, total) in received_by_channel.iter_mut().enumerate() {
            *total = a.received_by_channel[slot] + b.received_by_channel[slot];
        }
        SplitKpis {
            received: a.received + b.received,
            received_by_channel,
            not_whistleblowing: a.not_whistleblowing + b.not_whistleblowing,
            withdrawn: a.withdrawn + b.withdrawn,
            stage1: add_stage(&a.stage1, &b.stage1),
            stage2: add_stage(&a.stage2, &b.stage2),
            stage2_escalated: a.stage2_escalated + b.stage2_escalated,
            stage2_direct: a.stage2_direct + b.stage2_direct,
        }
    }

    fn group(nhs: SplitKpis, local_authority: SplitKpis) -> GroupKpis {
        GroupKpis {
            overall: sum(&nhs, &local_authority),
            nhs,
            local_authority,
        }
    }

    fn kpis(nhs: SplitKpis, local_authority: SplitKpis) -> Kpis {
        Kpis {
            period: period(),
            standards: group(nhs, local_authority),
            anonymous: GroupKpis::default(),
            unreadable: 0,
        }
    }

    fn add_groups(a: &GroupKpis, b: &GroupKpis) -> GroupKpis {
        GroupKpis {
            overall: sum(&a.overall, &b.overall),
            nhs: sum(&a.nhs, &b.nhs),
            local_authority: sum(&a.local_authority, &b.local_authority),
        }
    }

    fn share(count: u32, percent: f64) -> Share {
        Share {
            count: Figure::Count(count),
            percent: Percent::Value(percent),
        }
    }

    const HIDDEN: Share = Share {
        count: Figure::FewerThan5,
        percent: Percent::Suppressed,
    };

    const COMPLEMENT: Share = Share {
        count: Figure::Suppressed,
        percent: Percent::Suppressed,
    };

    fn published(k: &Kpis) -> DisclosedKpis {
        disclose(k, Disclosure::Published, true, &[])
    }

    fn services(d: &DisclosedKpis) -> ByService {
        d.by_service
            .unwrap_or_else(|| unreachable!("by service asked for"))
    }

    /// Larger numbers, so that some survive and the complements are visible.
    #[test]
    fn complementary_suppression_by_hand() {
        let nhs = SplitKpis {
            received: 20,
            received_by_channel: portal(20),
            stage1: StageKpis {
                handled: 14,
                closed: 12,
                upheld: 2,
                partially_upheld: 5,
                not_upheld: 5,
                working_days_total: 36,
                on_time: 12,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        };
        let local_authority = SplitKpis {
            received: 10,
            received_by_channel: portal(10),
            stage1: StageKpis {
                handled: 8,
                extended: 1,
                closed: 6,
                not_upheld: 6,
                working_days_total: 30,
                on_time: 5,
                late: 1,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        };
        let d = published(&kpis(nhs, local_authority));
        let (n, la) = (services(&d).nhs, services(&d).local_authority);
        assert_eq!(d.overall.received, Figure::Count(30));
        // Overall stage 1 outcomes of 18: upheld 2 (small), partially 5, not 11. The smallest
        // non-zero other part, partially (5), is hidden too; not upheld stays: 11 / 18 = 61.1%.
        let o = &d.overall.outcomes.stage1;
        assert_eq!(o.upheld, HIDDEN);
        assert_eq!(o.partially_upheld, COMPLEMENT);
        assert_eq!(o.not_upheld, share(11, 61.1));
        // NHS outcomes of 12: upheld 2, partially 5, not 5. A tie: the first (partially) goes.
        let no = &n.outcomes.stage1;
        assert_eq!((no.upheld, no.partially_upheld), (HIDDEN, COMPLEMENT));
        assert_eq!(no.not_upheld, share(5, 41.7)); // 5 / 12 = 41.67%
        // Overall timescales of 18: on time 17, within extension 0, late 1. Zero cannot hide
        // anything, so on time (17) goes with late.
        let t = &d.overall.within_timescale.stage1;
        assert_eq!(t.on_time, COMPLEMENT);
        assert_eq!(t.within_extension, share(0, 0.0));
        assert_eq!(t.late, HIDDEN);
        assert_eq!(la.within_timescale.stage1.on_time, COMPLEMENT);
        assert_eq!(n.within_timescale.stage1.on_time, share(12, 100.0));
        assert_eq!(d.overall.closed.total, Figure::Count(18));
        assert_eq!(d.overall.closed.stage1, share(18, 100.0));
        assert_eq!(d.overall.closed.stage2, share(0, 0.0));
        // Averages from shown closure counts survive: 66 / 18 = 3.67 → 3.7; LA 30 / 6 = 5.0.
        assert_eq!(d.overall.average_working_days.stage1, Percent::Value(3.7));
        assert_eq!(la.average_working_days.stage1, Percent::Value(5.0));
        assert_eq!(
            d.overall.average_working_days.stage2,
            Percent::NotApplicable
        );
        // Extensions are a share of the concerns handled at the stage (22), not of closures.
        assert_eq!(d.overall.handled.stage1, Figure::Count(22));
        assert_eq!(d.overall.extended.stage1, HIDDEN);
        assert_eq!(n.extended.stage1, share(0, 0.0));
        let json = serde_json::to_value(d).unwrap_or_default();
        assert_eq!(
            json["average_working_days"]["stage2"],
            serde_json::Value::Null
        );
        assert_eq!(json["outcomes"]["stage1"]["not_upheld"]["percent"], 61.1);
        assert_eq!(json["by_service"]["nhs"]["received"], 20);
        assert_eq!(json["anonymous"]["received"], 0);
    }

    /// Overall 6 = NHS 6 + LA 0 with NHS 6 hidden: no non-zero part is left to hide, and hiding
    /// the zero would protect nothing (LA's closures are shown), so the total goes.
    #[test]
    fn a_sum_with_only_zeros_left_hides_its_total() {
        let nhs = SplitKpis {
            received: 9,
            received_by_channel: portal(9),
            stage1: StageKpis {
                handled: 9,
                extended: 6,
                closed: 9,
                not_upheld: 9,
                working_days_total: 60,
                on_time: 3,
                within_extension: 6,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        };
        let local_authority = SplitKpis {
            received: 6,
            received_by_channel: portal(6),
            stage1: StageKpis {
                handled: 6,
                closed: 6,
                not_upheld: 6,
                working_days_total: 24,
                on_time: 6,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        };
        let d = published(&kpis(nhs, local_authority));
        let (n, la) = (services(&d).nhs, services(&d).local_authority);
        let nt = &n.within_timescale.stage1;
        assert_eq!((nt.on_time, nt.within_extension), (HIDDEN, COMPLEMENT));
        let o = &d.overall.within_timescale.stage1;
        assert_eq!(o.within_extension, COMPLEMENT);
        assert_eq!(la.within_timescale.stage1.on_time, COMPLEMENT);
        assert_eq!(la.closed.stage1.count, Figure::Suppressed);
        assert_eq!(n.closed.stage1.count, Figure::Suppressed);
        assert_eq!(d.overall.closed.total, Figure::Count(15));
        assert_eq!(d.overall.closed.stage1, share(15, 100.0));
        assert_eq!(d.overall.received, Figure::Count(15));
    }

    #[test]
    fn one_service_shows_no_split_and_hides_only_what_it_must() {
        let nhs = SplitKpis {
            received: 12,
            received_by_channel: portal(12),
            ..SplitKpis::default()
        };
        let k = kpis(nhs, SplitKpis::default());
        let d = disclose(&k, Disclosure::Published, false, &[]);
        assert_eq!(d.by_service, None);
        let json = serde_json::to_value(d).unwrap_or_default();
        assert!(json.get("by_service").is_none());
        assert!(json["anonymous"].get("by_service").is_none());
        assert_eq!(json["received"], 12);
    }

    #[test]
    fn anonymous_concerns_are_counted_apart() {
        let mut k = kpis(
            SplitKpis {
                received: 7,
                received_by_channel: portal(7),
                ..SplitKpis::default()
            },
            SplitKpis::default(),
        );
        k.anonymous = group(
            SplitKpis {
                received: 9,
                received_by_channel: portal(9),
                ..SplitKpis::default()
            },
            SplitKpis {
                received: 2,
                received_by_channel: portal(2),
                ..SplitKpis::default()
            },
        );
        let d = published(&k);
        assert_eq!(d.overall.received, Figure::Count(7));
        assert_eq!(d.anonymous.overall.received, Figure::Count(11));
        let by = d.anonymous.by_service.unwrap_or_else(|| unreachable!());
        // 11 = 9 + 2: the 2 is small, so the 9 goes with it.
        assert_eq!(by.local_authority.received, Figure::FewerThan5);
        assert_eq!(by.nhs.received, Figure::Suppressed);
    }

    /// The board paper of a year and the four quarterly ones it sums: Q1–Q3 each had 6
    /// closures at stage 1 and Q4 had 3 (small, hidden in its own paper). Shown, the year's 21
    /// would give Q4's 3 away (21 − 18), so the year hides it, and in turn a partner.
    #[test]
    fn a_year_minus_its_published_quarters_reveals_nothing() {
        let quarter = |n: u32, q: u8| {
            let split = SplitKpis {
                received: n,
                received_by_channel: portal(n),
                stage1: StageKpis {
                    handled: n,
                    closed: n,
                    not_upheld: n,
                    on_time: n,
                    working_days_total: u64::from(n) * 3,
                    ..StageKpis::default()
                },
                ..SplitKpis::default()
            };
            Kpis {
                period: Period::quarter(2025, q).unwrap_or_else(|_| unreachable!()),
                ..kpis(split, SplitKpis::default())
            }
        };
        let quarters = [quarter(6, 1), quarter(6, 2), quarter(6, 3), quarter(3, 4)];
        let year = Kpis {
            period: Period::year(2025).unwrap_or_else(|_| unreachable!()),
            standards: quarters.iter().fold(GroupKpis::default(), |acc, q| {
                add_groups(&acc, &q.standards)
            }),
            anonymous: GroupKpis::default(),
            unreadable: 0,
        };
        assert_eq!(year.standards.overall.stage1.closed, 21);
        // On its own the year would show 21.
        let alone = disclose(&year, Disclosure::Published, false, &[]);
        assert_eq!(alone.overall.closed.stage1.count, Figure::Count(21));
        let d = disclose(&year, Disclosure::Published, false, &quarters);
        assert_eq!(d.overall.closed.stage1.count, Figure::Suppressed);
        assert_eq!(d.overall.received, Figure::Suppressed);
        // 21 closed in all = 21 at stage 1 + 0 at stage 2: the total goes with it.
        assert_eq!(d.overall.closed.total, Figure::Suppressed);
        assert_eq!(d.overall.average_working_days.stage1, Percent::Suppressed);
    }

    #[test]
    fn every_channel_has_a_slot_and_a_field() {
        assert_eq!(Channel::ALL.len(), CHANNELS);
        let mut by_channel = [0; CHANNELS];
        by_channel[1] = 2; // in person
        by_channel[0] = 9; // portal
        let k = kpis(
            SplitKpis {
                received: 11,
                received_by_channel: by_channel,
                ..SplitKpis::default()
            },
            SplitKpis::default(),
        );
        let d = disclose(&k, Disclosure::Published, false, &[]);
        // 11 = 9 + 2: the 2 in person is small, so the 9 goes with it.
        assert_eq!(d.overall.received, Figure::Count(11));
        assert_eq!(d.overall.received_by_channel.in_person, Figure::FewerThan5);
        assert_eq!(d.overall.received_by_channel.portal, Figure::Suppressed);
        assert_eq!(d.overall.received_by_channel.phone, Figure::Count(0));
        let internal = disclose(&k, Disclosure::Internal, false, &[]);
        let json = serde_json::to_value(internal).unwrap_or_default();
        assert_eq!(json["received_by_channel"]["in_person"], 2);
        assert_eq!(json["received_by_channel"]["portal"], 9);
    }

    #[test]
    fn display_forms() {
        assert_eq!(Figure::Count(7).to_string(), "7");
        assert_eq!(Figure::FewerThan5.to_string(), "fewer than 5");
        assert_eq!(Figure::Suppressed.to_string(), "suppressed");
        assert_eq!(Percent::Value(41.7).to_string(), "41.7");
        assert_eq!(Percent::Value(5.0).to_string(), "5.0");
        assert_eq!(Percent::Suppressed.to_string(), "suppressed");
        assert_eq!(Percent::NotApplicable.to_string(), "n/a");
    }

    fn stage_kpis() -> impl Strategy<Value = StageKpis> {
        (
            0u32..12,
            0u32..12,
            0u32..12,
            0u32..12,
            0u32..12,
            0u64..400,
            0u32..8,
        )
            .prop_map(
                |(upheld, partially_upheld, not_upheld, on_time, within_extension, days, open)| {
                    // The timescale parts add up to the same total as the outcomes.
                    let closed = upheld + partially_upheld + not_upheld;
                    let on_time = on_time.min(closed);
                    let within_extension = within_extension.min(closed - on_time);
                    let late = closed - on_time - within_extension;
                    StageKpis {
                        handled: closed + open,
                        extended: within_extension + late / 2,
                        closed,
                        upheld,
                        partially_upheld,
                        not_upheld,
                        working_days_total: days * u64::from(closed),
                        on_time,
                        within_extension,
                        late,
                    }
                },
            )
    }

    /// A count spread over the channels unevenly, so that small parts occur.
    fn split_by_channel(received: u32) -> [u32; CHANNELS] {
        let mut channels = [0; CHANNELS];
        channels[0] = received / 2;
        channels[1] = received / 4;
        channels[2] = received - channels[0] - channels[1];
        channels
    }

    fn split_kpis() -> impl Strategy<Value = SplitKpis> {
        (
            0u32..30,
            0u32..5,
            0u32..5,
            stage_kpis(),
            stage_kpis(),
            0u32..8,
            0u32..8,
        )
            .prop_map(
                |(received, nw, withdrawn, stage1, stage2, escalated, direct)| SplitKpis {
                    received,
                    received_by_channel: split_by_channel(received),
                    not_whistleblowing: nw,
                    withdrawn,
                    stage1,
                    stage2,
                    stage2_escalated: escalated,
                    stage2_direct: direct,
                },
            )
    }

    fn any_kpis() -> impl Strategy<Value = Kpis> {
        (split_kpis(), split_kpis(), split_kpis(), split_kpis()).prop_map(|(a, b, c, d)| Kpis {
            period: period(),
            standards: group(a, b),
            anonymous: group(c, d),
            unreadable: 0,
        })
    }

    fn check_no_small_count_given_away(
        k: &Kpis,
        hidden: &Hidden,
        published: &PublishedParts<'_>,
    ) -> Result<(), TestCaseError> {
        for cell in every_cell(true) {
            if is_small(value(k, cell)) {
                prop_assert!(hidden.contains(&cell));
            }
        }
        let unknown = |c: &Cell| hidden.contains(c) && !published.derivable(c);
        for (total, parts) in partitions(true) {
            let sum: u32 = parts.iter().map(|p| value(k, *p)).sum();
            prop_assert_eq!(sum, value(k, total), "{:?} does not add up", total);
            let n = std::iter::once(&total)
                .chain(&parts)
                .filter(|c| unknown(c))
                .count();
            prop_assert!(n != 1, "{:?} has exactly one hidden figure", total);
        }
        for cell in every_cell(true) {
            let hidden_parts = published.hidden_parts(&cell);
            prop_assert!(
                hidden_parts != 1 || hidden.contains(&cell),
                "{:?}: a part hidden alone can be subtracted out",
                cell
            );
        }
        for cell in hidden.complement.iter() {
            prop_assert!(value(k, *cell) > 0, "{:?} hidden as a zero", cell);
        }
        Ok(())
    }

    proptest! {
        /// Whatever the numbers, no published count is 1 to 4, no shown total has exactly one
        /// hidden part, and no percentage rests on a hidden count.
        #[test]
        fn published_figures_never_give_a_small_count_away(k in any_kpis()) {
            let none = PublishedParts { parts: Vec::new() };
            let hidden = suppressed_cells(&k, true, &none);
            check_no_small_count_given_away(&k, &hidden, &none)?;
            let d = disclose(&k, Disclosure::Published, true, &[]);
            let by = services(&d);
            for split in [&d.overall, &by.nhs, &by.local_authority, &d.anonymous.overall] {
                let shares = [
                    split.closed.stage1, split.closed.stage2,
                    split.outcomes.stage1.upheld, split.outcomes.stage2.not_upheld,
                    split.within_timescale.stage1.late, split.within_timescale.stage2.on_time,
                    split.extended.stage1, split.extended.stage2,
                    split.stage2_entered.escalated, split.stage2_entered.direct,
                ];
                for s in shares {
                    if matches!(s.count, Figure::FewerThan5 | Figure::Suppressed) {
                        prop_assert_eq!(s.percent, Percent::Suppressed);
                    }
                    if let Figure::Count(n) = s.count {
                        prop_assert!(!is_small(n));
                    }
                }
            }
            // Internal figures are the raw numbers.
            let internal = disclose(&k, Disclosure::Internal, true, &[]);
            prop_assert_eq!(internal.overall.received, Figure::Count(k.standards.overall.received));
        }

        /// A year published after its four quarters: nothing hidden in a quarter can be worked
        /// out from the year's figures and the other quarters'.
        #[test]
        fn a_year_is_safe_against_its_quarters(quarters in proptest::collection::vec(any_kpis(), 4)) {
            let year = Kpis {
                period: Period::year(2025).unwrap_or_else(|_| unreachable!()),
                standards: quarters.iter().fold(GroupKpis::default(), |acc, q| add_groups(&acc, &q.standards)),
                anonymous: quarters.iter().fold(GroupKpis::default(), |acc, q| add_groups(&acc, &q.anonymous)),
                unreadable: 0,
            };
            let none = PublishedParts { parts: Vec::new() };
            let published = PublishedParts {
                parts: quarters.iter().map(|q| (q, suppressed_cells(q, true, &none))).collect(),
            };
            let hidden = suppressed_cells(&year, true, &published);
            check_no_small_count_given_away(&year, &hidden, &published)?;
        }
    }
}
