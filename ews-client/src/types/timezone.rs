//! Time zones of calendar items: `t:TimeZoneDefinitionType` (`StartTimeZone`,
//! `EndTimeZone`, Exchange 2010+), the legacy `t:TimeZoneType` (`MeetingTimeZone`), and the
//! mapping between Windows time zone ids and IANA names.
//!
//! The mapping comes from Unicode CLDR's `windowsZones.xml`, vendored as a generated table in
//! `ews-client/data/windowsZones.tsv` and parsed on first use. A zone whose id is not a known
//! Windows id (e.g. `"Customized Time Zone"`) keeps its definition (periods and transitions,
//! or base offset and standard/daylight changes), and [`TimeZoneDefinition::utc_offset_at`]
//! and [`LegacyTimeZone::utc_offset_at`] compute the offset from it.

use super::recurrence::{DayOfWeek, DayOfWeekIndex, Month};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use std::collections::HashMap;
use std::sync::OnceLock;

const WINDOWS_ZONES: &str = include_str!("../../data/windowsZones.tsv");

struct ZoneTable {
    /// Windows id -> default IANA zone (CLDR territory 001).
    to_iana: HashMap<&'static str, &'static str>,
    /// IANA zone -> Windows id (first mention wins).
    to_windows: HashMap<&'static str, &'static str>,
}

fn table() -> &'static ZoneTable {
    static TABLE: OnceLock<ZoneTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut to_iana = HashMap::new();
        let mut to_windows = HashMap::new();
        for line in WINDOWS_ZONES.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(windows), Some(default), Some(all)) = (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            to_iana.insert(windows, default);
            to_windows.entry(default).or_insert(windows);
            for name in all.split_whitespace() {
                to_windows.entry(name).or_insert(windows);
            }
        }
        ZoneTable {
            to_iana,
            to_windows,
        }
    })
}

/// The IANA zone for a Windows time zone id (CLDR's default, territory `001`), e.g.
/// `"W. Europe Standard Time"` -> `"Europe/Berlin"`. `None` for unknown ids.
pub fn windows_to_iana(windows_id: &str) -> Option<&'static str> {
    table().to_iana.get(windows_id.trim()).copied()
}

/// The Windows time zone id for an IANA zone, e.g. `"America/New_York"` ->
/// `"Eastern Standard Time"`. Accepts every zone CLDR lists for an id (not only the default)
/// and the `UTC`/`Etc/UTC`/`GMT` spellings. `None` for unknown names.
pub fn iana_to_windows(iana: &str) -> Option<&'static str> {
    let iana = iana.trim();
    match iana {
        "UTC" | "Etc/UTC" | "Etc/UCT" | "UCT" | "Etc/Universal" | "Universal" | "Etc/Zulu"
        | "Zulu" | "GMT" | "Etc/GMT" | "Etc/GMT0" | "Etc/Greenwich" => return Some("UTC"),
        _ => {}
    }
    let table = table();
    table.to_windows.get(iana).copied().or_else(|| {
        let old_name = RENAMED.iter().find(|(new, _)| *new == iana)?.1;
        table.to_windows.get(old_name).copied()
    })
}

/// Current IANA names whose CLDR table entry still uses the older name (CLDR keeps the
/// first name a zone had; IANA renamed them since).
const RENAMED: &[(&str, &str)] = &[
    ("Asia/Kolkata", "Asia/Calcutta"),
    ("Asia/Kathmandu", "Asia/Katmandu"),
    ("Asia/Yangon", "Asia/Rangoon"),
    ("Asia/Ho_Chi_Minh", "Asia/Saigon"),
    ("Europe/Kyiv", "Europe/Kiev"),
    ("America/Nuuk", "America/Godthab"),
    ("Africa/Asmara", "Africa/Asmera"),
    ("Atlantic/Faroe", "Atlantic/Faeroe"),
    ("Pacific/Chuuk", "Pacific/Truk"),
    ("Pacific/Pohnpei", "Pacific/Ponape"),
    ("Pacific/Kanton", "Pacific/Enderbury"),
    ("America/Atikokan", "America/Coral_Harbour"),
    ("America/Indiana/Indianapolis", "America/Indianapolis"),
    ("America/Kentucky/Louisville", "America/Louisville"),
    ("America/Argentina/Buenos_Aires", "America/Buenos_Aires"),
    ("America/Argentina/Catamarca", "America/Catamarca"),
    ("America/Argentina/Cordoba", "America/Cordoba"),
    ("America/Argentina/Jujuy", "America/Jujuy"),
    ("America/Argentina/Mendoza", "America/Mendoza"),
];

/// Every Windows time zone id in the CLDR table, with its default IANA zone.
pub fn windows_zones() -> impl Iterator<Item = (&'static str, &'static str)> {
    let mut all: Vec<_> = table().to_iana.iter().map(|(w, i)| (*w, *i)).collect();
    all.sort_unstable();
    all.into_iter()
}

/// The `chrono-tz` zone for a Windows id, via [`windows_to_iana`].
pub fn windows_to_tz(windows_id: &str) -> Option<chrono_tz::Tz> {
    windows_to_iana(windows_id)?.parse().ok()
}

/// Parses an `xs:duration` with at most days, hours, minutes and seconds (the form EWS uses
/// for biases and offsets: `PT8H`, `-PT1H`, `-P0DT5H30M0S`).
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let err = || format!("expected an xs:duration such as -PT1H30M, got {text:?}");
    let s = text.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('P').ok_or_else(err)?;
    let (date_part, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut total = TimeDelta::zero();
    let mut any = false;
    let mut number = String::new();
    for ch in date_part.chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
        } else if ch == 'D' {
            let n: i64 = number.parse().map_err(|_| err())?;
            total += TimeDelta::try_days(n).ok_or_else(err)?;
            number.clear();
            any = true;
        } else {
            // Years and months have no fixed length; EWS never uses them here.
            return Err(err());
        }
    }
    if !number.is_empty() {
        return Err(err());
    }
    if let Some(t) = time_part {
        for ch in t.chars() {
            if ch.is_ascii_digit() || ch == '.' {
                number.push(ch);
                continue;
            }
            let n: f64 = number.parse().map_err(|_| err())?;
            let millis = match ch {
                'H' => n * 3_600_000.0,
                'M' => n * 60_000.0,
                'S' => n * 1000.0,
                _ => return Err(err()),
            };
            total += TimeDelta::try_milliseconds(millis.round() as i64).ok_or_else(err)?;
            number.clear();
            any = true;
        }
        if !number.is_empty() {
            return Err(err());
        }
    }
    if !any {
        return Err(err());
    }
    Ok(if negative { -total } else { total })
}

/// Formats a duration as `xs:duration` (`PT8H`, `-PT1H30M`, `PT0H`).
pub fn format_duration(d: TimeDelta) -> String {
    let negative = d < TimeDelta::zero();
    let secs = d.num_seconds().unsigned_abs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::from(if negative { "-PT" } else { "PT" });
    if h > 0 || (m == 0 && s == 0) {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 {
        out.push_str(&format!("{s}S"));
    }
    out
}

fn read_duration<'a>(r: &mut XmlReader<'a>, c: &Start<'a>) -> Result<TimeDelta, XmlError> {
    let text = r.text(c)?;
    parse_duration(&text).map_err(|e| r.invalid(c, &text, e))
}

fn attr_duration(
    r: &XmlReader<'_>,
    start: &Start<'_>,
    name: &str,
) -> Result<Option<TimeDelta>, XmlError> {
    match start.attr(name)? {
        None => Ok(None),
        Some(text) => parse_duration(&text)
            .map(Some)
            .map_err(|e| XmlError::InvalidValue {
                path: format!("{}/@{name}", r.path_with(start)),
                value: text.into_owned(),
                message: e,
            }),
    }
}

fn read_time<'a>(r: &mut XmlReader<'a>, c: &Start<'a>) -> Result<NaiveTime, XmlError> {
    let text = r.text(c)?;
    let t = text.trim();
    NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
        .map_err(|_| r.invalid(c, &text, "expected an xs:time such as 02:00:00"))
}

fn read_local_datetime<'a>(
    r: &mut XmlReader<'a>,
    c: &Start<'a>,
) -> Result<NaiveDateTime, XmlError> {
    let text = r.text(c)?;
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.naive_utc());
    }
    NaiveDateTime::parse_from_str(t.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| {
        r.invalid(
            c,
            &text,
            "expected an xs:dateTime such as 2007-01-01T00:00:00",
        )
    })
}

/// A period of a time zone definition (`t:Period`): a named bias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// The bias: UTC = local time + bias (so `PT8H` is UTC-8).
    pub bias: TimeDelta,
    /// The name, e.g. `Standard` or `Daylight`.
    pub name: Option<String>,
    /// The id that transitions refer to.
    pub id: Option<String>,
}

impl WriteXml for Period {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr("Bias", &format_duration(self.bias))
            .attr_opt("Name", self.name.as_ref())
            .attr_opt("Id", self.id.as_ref())
            .empty();
    }
}

impl ReadXml for Period {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let bias = attr_duration(r, start, "Bias")?.unwrap_or_else(TimeDelta::zero);
        let name = start.attr_value(r, "Name")?;
        let id = start.attr_value(r, "Id")?;
        r.skip(start)?;
        Ok(Self { bias, name, id })
    }
}

/// What a transition leads to: a period or a transitions group, by id (`t:To`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionTarget {
    /// `Kind="Period"`.
    Period(String),
    /// `Kind="Group"`.
    Group(String),
}

impl TransitionTarget {
    fn write(&self, w: &mut XmlWriter) {
        let (kind, id) = match self {
            TransitionTarget::Period(id) => ("Period", id),
            TransitionTarget::Group(id) => ("Group", id),
        };
        w.start(Ns::Types, "To").attr("Kind", kind).text(id);
    }

    fn read<'a>(r: &mut XmlReader<'a>, c: &Start<'a>) -> Result<Self, XmlError> {
        let kind = c.required_attr(r, "Kind")?.into_owned();
        let id = r.text(c)?.trim().to_owned();
        match kind.as_str() {
            "Period" => Ok(TransitionTarget::Period(id)),
            "Group" => Ok(TransitionTarget::Group(id)),
            other => Err(r.invalid(c, other, "expected Kind Period or Group")),
        }
    }
}

/// A transition (`t:Transition` and its substitutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// `t:Transition`: the initial target.
    Initial {
        /// Target.
        to: TransitionTarget,
    },
    /// `t:AbsoluteDateTransition`: from a date on (e.g. a new rule set from 2007).
    AbsoluteDate {
        /// Target.
        to: TransitionTarget,
        /// When (as written, without zone).
        date_time: NaiveDateTime,
    },
    /// `t:RecurringDayTransition`: e.g. the last Sunday of March at 02:00.
    RecurringDay {
        /// Target.
        to: TransitionTarget,
        /// Time of day of the change (local time before the change).
        time_offset: TimeDelta,
        /// Month, 1 to 12.
        month: i32,
        /// Day of the week.
        day_of_week: DayOfWeek,
        /// Occurrence in the month: 1 to 4, or -1 (or 5) for the last.
        occurrence: i32,
    },
    /// `t:RecurringDateTransition`: a fixed day of a month.
    RecurringDate {
        /// Target.
        to: TransitionTarget,
        /// Time of day of the change.
        time_offset: TimeDelta,
        /// Month, 1 to 12.
        month: i32,
        /// Day of the month.
        day: i32,
    },
}

impl Transition {
    /// The transition's target.
    pub fn to(&self) -> &TransitionTarget {
        match self {
            Transition::Initial { to }
            | Transition::AbsoluteDate { to, .. }
            | Transition::RecurringDay { to, .. }
            | Transition::RecurringDate { to, .. } => to,
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        let t = Ns::Types;
        match self {
            Transition::Initial { to } => w.element(t, "Transition", |w| to.write(w)),
            Transition::AbsoluteDate { to, date_time } => {
                w.element(t, "AbsoluteDateTransition", |w| {
                    to.write(w);
                    w.text_element(
                        t,
                        "DateTime",
                        &date_time.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    );
                })
            }
            Transition::RecurringDay {
                to,
                time_offset,
                month,
                day_of_week,
                occurrence,
            } => w.element(t, "RecurringDayTransition", |w| {
                to.write(w);
                w.text_element(t, "TimeOffset", &format_duration(*time_offset));
                w.value(t, "Month", month);
                w.value(t, "DayOfWeek", day_of_week);
                w.value(t, "Occurrence", occurrence);
            }),
            Transition::RecurringDate {
                to,
                time_offset,
                month,
                day,
            } => w.element(t, "RecurringDateTransition", |w| {
                to.write(w);
                w.text_element(t, "TimeOffset", &format_duration(*time_offset));
                w.value(t, "Month", month);
                w.value(t, "Day", day);
            }),
        }
    }

    fn try_read<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Option<Self>, XmlError> {
        if start.ns() != Ns::Types {
            return Ok(None);
        }
        let kind = start.local().to_owned();
        if !matches!(
            kind.as_str(),
            "Transition"
                | "AbsoluteDateTransition"
                | "RecurringDayTransition"
                | "RecurringDateTransition"
        ) {
            return Ok(None);
        }
        let mut to = None;
        let mut date_time = None;
        let mut time_offset = None;
        let mut month = None;
        let mut day_of_week = None;
        let mut occurrence = None;
        let mut day = None;
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "To" => to = Some(TransitionTarget::read(r, &c)?),
                "DateTime" => date_time = Some(read_local_datetime(r, &c)?),
                "TimeOffset" => time_offset = Some(read_duration(r, &c)?),
                "Month" => month = Some(r.value(&c)?),
                "DayOfWeek" => day_of_week = Some(r.value(&c)?),
                "Occurrence" => occurrence = Some(r.value(&c)?),
                "Day" => day = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        let to = r.required(start, to, "To")?;
        Ok(Some(match kind.as_str() {
            "Transition" => Transition::Initial { to },
            "AbsoluteDateTransition" => Transition::AbsoluteDate {
                to,
                date_time: r.required(start, date_time, "DateTime")?,
            },
            "RecurringDayTransition" => Transition::RecurringDay {
                to,
                time_offset: r.required(start, time_offset, "TimeOffset")?,
                month: r.required(start, month, "Month")?,
                day_of_week: r.required(start, day_of_week, "DayOfWeek")?,
                occurrence: r.required(start, occurrence, "Occurrence")?,
            },
            _ => Transition::RecurringDate {
                to,
                time_offset: r.required(start, time_offset, "TimeOffset")?,
                month: r.required(start, month, "Month")?,
                day: r.required(start, day, "Day")?,
            },
        }))
    }
}

/// A list of transitions with an optional id (`t:TransitionsGroup`, `t:Transitions`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransitionsGroup {
    /// The id that `Group` targets refer to.
    pub id: Option<String>,
    /// The transitions.
    pub transitions: Vec<Transition>,
}

impl WriteXml for TransitionsGroup {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_opt("Id", self.id.as_ref())
            .children(|w| {
                for t in &self.transitions {
                    t.write(w);
                }
            });
    }
}

impl ReadXml for TransitionsGroup {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let id = start.attr_value(r, "Id")?;
        let mut transitions = Vec::new();
        while let Some(c) = r.next_child(start)? {
            match Transition::try_read(r, &c)? {
                Some(t) => transitions.push(t),
                None => r.skip(&c)?,
            }
        }
        Ok(Self { id, transitions })
    }
}

/// A time zone of a calendar item's start or end (`t:TimeZoneDefinitionType`).
///
/// In requests the `id` alone (a Windows id) is enough; Exchange returns the full
/// definition. [`TimeZoneDefinition::from_iana`] builds one from an IANA name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeZoneDefinition {
    /// The Windows time zone id, e.g. `W. Europe Standard Time`, or a custom id.
    pub id: Option<String>,
    /// The display name, e.g. `(UTC+01:00) Amsterdam, Berlin, ...`.
    pub name: Option<String>,
    /// The periods (biases). Written only when non-empty; transitions need periods.
    pub periods: Vec<Period>,
    /// The groups of recurring transitions.
    pub transitions_groups: Vec<TransitionsGroup>,
    /// The top-level transitions choosing a group or period over time.
    pub transitions: Option<TransitionsGroup>,
}

impl TimeZoneDefinition {
    /// A definition naming a Windows id only.
    pub fn windows(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            ..Self::default()
        }
    }

    /// A definition for an IANA zone, by its Windows id; `None` if CLDR has no mapping.
    pub fn from_iana(iana: &str) -> Option<Self> {
        iana_to_windows(iana).map(Self::windows)
    }

    /// The IANA name, when the id is a known Windows id.
    pub fn iana(&self) -> Option<&'static str> {
        windows_to_iana(self.id.as_deref()?)
    }

    /// The `chrono-tz` zone, when the id is a known Windows id.
    pub fn tz(&self) -> Option<chrono_tz::Tz> {
        self.iana()?.parse().ok()
    }

    /// The offset from UTC at an instant: from the IANA zone when the id is known, else
    /// computed from the periods and transitions. `None` if neither is available.
    pub fn utc_offset_at(&self, at: DateTime<Utc>) -> Option<FixedOffset> {
        if let Some(tz) = self.tz() {
            return Some(tz.offset_from_utc_datetime(&at.naive_utc()).fix());
        }
        let bias = self.bias_at(at)?;
        FixedOffset::east_opt(i32::try_from(-bias.num_seconds()).ok()?)
    }

    /// Converts a UTC instant to the zone's local time, if the offset is known.
    pub fn to_local(&self, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        Some(at.naive_utc() + TimeDelta::seconds(self.utc_offset_at(at)?.local_minus_utc() as i64))
    }

    fn period_bias(&self, id: &str) -> Option<TimeDelta> {
        self.periods
            .iter()
            .find(|p| p.id.as_deref() == Some(id))
            .map(|p| p.bias)
    }

    fn bias_at(&self, at: DateTime<Utc>) -> Option<TimeDelta> {
        // Which group (or period) applies at `at`, by the top-level transitions.
        let mut target: Option<&TransitionTarget> = None;
        let mut best_date: Option<NaiveDateTime> = None;
        if let Some(top) = &self.transitions {
            for t in &top.transitions {
                match t {
                    Transition::Initial { to } if best_date.is_none() => target = Some(to),
                    Transition::AbsoluteDate { to, date_time }
                        if *date_time <= at.naive_utc()
                            && best_date.is_none_or(|b| *date_time >= b) =>
                    {
                        best_date = Some(*date_time);
                        target = Some(to);
                    }
                    _ => {}
                }
            }
        }
        let group = match target {
            Some(TransitionTarget::Period(id)) => return self.period_bias(id),
            Some(TransitionTarget::Group(id)) => self
                .transitions_groups
                .iter()
                .find(|g| g.id.as_deref() == Some(id.as_str()))?,
            None => match self.transitions_groups.as_slice() {
                [only] => only,
                _ => return self.periods.first().map(|p| p.bias),
            },
        };
        let mut rules = Vec::new();
        for t in &group.transitions {
            let period = match t.to() {
                TransitionTarget::Period(id) => id,
                TransitionTarget::Group(_) => continue,
            };
            let bias = self.period_bias(period)?;
            match t {
                Transition::Initial { .. } => return Some(bias),
                Transition::RecurringDay {
                    time_offset,
                    month,
                    day_of_week,
                    occurrence,
                    ..
                } => rules.push(Rule {
                    month: u32::try_from(*month).ok()?,
                    day: RuleDay::Weekday(day_of_week.weekday()?, *occurrence),
                    time: *time_offset,
                    bias_after: bias,
                }),
                Transition::RecurringDate {
                    time_offset,
                    month,
                    day,
                    ..
                } => rules.push(Rule {
                    month: u32::try_from(*month).ok()?,
                    day: RuleDay::Fixed(u32::try_from(*day).ok()?),
                    time: *time_offset,
                    bias_after: bias,
                }),
                Transition::AbsoluteDate { .. } => {}
            }
        }
        bias_from_rules(&rules, at)
    }
}

impl WriteXml for TimeZoneDefinition {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let tag = w
            .start(ns, name)
            .attr_opt("Id", self.id.as_ref())
            .attr_opt("Name", self.name.as_ref());
        if self.periods.is_empty() {
            tag.empty();
            return;
        }
        tag.children(|w| {
            let t = Ns::Types;
            w.element(t, "Periods", |w| w.write_all(t, "Period", &self.periods));
            if !self.transitions_groups.is_empty() {
                w.element(t, "TransitionsGroups", |w| {
                    w.write_all(t, "TransitionsGroup", &self.transitions_groups)
                });
            }
            w.opt_write(t, "Transitions", self.transitions.as_ref());
        });
    }
}

impl ReadXml for TimeZoneDefinition {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self {
            id: start.attr_value(r, "Id")?,
            name: start.attr_value(r, "Name")?,
            ..Self::default()
        };
        let t = Ns::Types;
        while let Some(c) = r.next_child(start)? {
            if c.is(t, "Periods") {
                out.periods = r.read_list(&c, t, "Period")?;
            } else if c.is(t, "TransitionsGroups") {
                out.transitions_groups = r.read_list(&c, t, "TransitionsGroup")?;
            } else if c.is(t, "Transitions") {
                out.transitions = Some(TransitionsGroup::read_xml(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(out)
    }
}

/// When a legacy time change happens (`t:TimeChangePatternTypes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeChangePattern {
    /// Every year on a relative day, e.g. the last Sunday of October.
    RelativeYearly {
        /// The weekday.
        days_of_week: DayOfWeek,
        /// Which occurrence in the month.
        day_of_week_index: DayOfWeekIndex,
        /// The month.
        month: Month,
    },
    /// Once, on a date.
    AbsoluteDate(NaiveDate),
}

/// A change to standard or daylight time in a legacy time zone (`t:TimeChangeType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeChange {
    /// The name of the zone in this period.
    pub time_zone_name: Option<String>,
    /// Added to the base offset (bias) during this period, e.g. `-PT1H` for daylight time.
    pub offset: TimeDelta,
    /// When the change happens.
    pub pattern: Option<TimeChangePattern>,
    /// The local time of day of the change.
    pub time: NaiveTime,
}

impl WriteXml for TimeChange {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let t = Ns::Types;
        w.start(ns, name)
            .attr_opt("TimeZoneName", self.time_zone_name.as_ref())
            .children(|w| {
                w.text_element(t, "Offset", &format_duration(self.offset));
                match &self.pattern {
                    Some(TimeChangePattern::RelativeYearly {
                        days_of_week,
                        day_of_week_index,
                        month,
                    }) => w.element(t, "RelativeYearlyRecurrence", |w| {
                        w.value(t, "DaysOfWeek", days_of_week);
                        w.value(t, "DayOfWeekIndex", day_of_week_index);
                        w.value(t, "Month", month);
                    }),
                    Some(TimeChangePattern::AbsoluteDate(d)) => w.value(t, "AbsoluteDate", d),
                    None => {}
                }
                w.text_element(t, "Time", &self.time.format("%H:%M:%S").to_string());
            });
    }
}

impl ReadXml for TimeChange {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let time_zone_name = start.attr_value(r, "TimeZoneName")?;
        let (mut offset, mut pattern, mut time) = (None, None, None);
        let t = Ns::Types;
        while let Some(c) = r.next_child(start)? {
            if c.is(t, "Offset") {
                offset = Some(read_duration(r, &c)?);
            } else if c.is(t, "Time") {
                time = Some(read_time(r, &c)?);
            } else if c.is(t, "AbsoluteDate") {
                pattern = Some(TimeChangePattern::AbsoluteDate(r.value(&c)?));
            } else if c.is(t, "RelativeYearlyRecurrence") {
                let (mut d, mut i, mut m) = (None, None, None);
                while let Some(x) = r.next_child(&c)? {
                    if x.is(t, "DaysOfWeek") {
                        d = Some(r.value(&x)?);
                    } else if x.is(t, "DayOfWeekIndex") {
                        i = Some(r.value(&x)?);
                    } else if x.is(t, "Month") {
                        m = Some(r.value(&x)?);
                    } else {
                        r.skip(&x)?;
                    }
                }
                pattern = Some(TimeChangePattern::RelativeYearly {
                    days_of_week: r.required(&c, d, "DaysOfWeek")?,
                    day_of_week_index: r.required(&c, i, "DayOfWeekIndex")?,
                    month: r.required(&c, m, "Month")?,
                });
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            time_zone_name,
            offset: r.required(start, offset, "Offset")?,
            pattern,
            time: r.required(start, time, "Time")?,
        })
    }
}

/// A legacy time zone (`t:TimeZoneType`, `MeetingTimeZone`): a base offset with optional
/// standard and daylight changes. Custom zones ("Customized Time Zone") come this way too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LegacyTimeZone {
    /// The zone's name (a Windows id or a custom name).
    pub time_zone_name: Option<String>,
    /// The base bias: UTC = local + base offset (`PT8H` is UTC-8, `-PT1H` is UTC+1).
    pub base_offset: Option<TimeDelta>,
    /// The change to standard time.
    pub standard: Option<TimeChange>,
    /// The change to daylight time.
    pub daylight: Option<TimeChange>,
}

impl LegacyTimeZone {
    /// The offset from UTC at an instant: computed from the definition (base offset and
    /// changes) when there is one, else from the IANA zone of a known Windows id in
    /// `time_zone_name`; `None` when neither is available.
    pub fn utc_offset_at(&self, at: DateTime<Utc>) -> Option<FixedOffset> {
        if let Some(tz) = self.time_zone_name.as_deref().and_then(windows_to_tz)
            && self.base_offset.is_none()
        {
            return Some(tz.offset_from_utc_datetime(&at.naive_utc()).fix());
        }
        let base = self.base_offset?;
        let bias = match (&self.standard, &self.daylight) {
            (Some(std), Some(dst)) => {
                let rule = |c: &TimeChange| -> Option<Rule> {
                    let (month, day) = match c.pattern.as_ref()? {
                        TimeChangePattern::RelativeYearly {
                            days_of_week,
                            day_of_week_index,
                            month,
                        } => {
                            let occurrence = match day_of_week_index {
                                DayOfWeekIndex::First => 1,
                                DayOfWeekIndex::Second => 2,
                                DayOfWeekIndex::Third => 3,
                                DayOfWeekIndex::Fourth => 4,
                                _ => -1,
                            };
                            (
                                month.number(),
                                RuleDay::Weekday(days_of_week.weekday()?, occurrence),
                            )
                        }
                        TimeChangePattern::AbsoluteDate(d) => (d.month(), RuleDay::Fixed(d.day())),
                    };
                    Some(Rule {
                        month,
                        day,
                        time: c.time.signed_duration_since(NaiveTime::MIN),
                        bias_after: base + c.offset,
                    })
                };
                match (rule(std), rule(dst)) {
                    (Some(a), Some(b)) => bias_from_rules(&[a, b], at)?,
                    _ => base + std.offset,
                }
            }
            (Some(std), None) => base + std.offset,
            _ => base,
        };
        FixedOffset::east_opt(i32::try_from(-bias.num_seconds()).ok()?)
    }
}

impl WriteXml for LegacyTimeZone {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let tag = w
            .start(ns, name)
            .attr_opt("TimeZoneName", self.time_zone_name.as_ref());
        let Some(base) = self.base_offset else {
            tag.empty();
            return;
        };
        tag.children(|w| {
            let t = Ns::Types;
            w.text_element(t, "BaseOffset", &format_duration(base));
            // The schema wants both changes or neither.
            if let (Some(s), Some(d)) = (&self.standard, &self.daylight) {
                s.write_xml(w, t, "Standard");
                d.write_xml(w, t, "Daylight");
            }
        });
    }
}

impl ReadXml for LegacyTimeZone {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self {
            time_zone_name: start.attr_value(r, "TimeZoneName")?,
            ..Self::default()
        };
        let t = Ns::Types;
        while let Some(c) = r.next_child(start)? {
            if c.is(t, "BaseOffset") {
                out.base_offset = Some(read_duration(r, &c)?);
            } else if c.is(t, "Standard") {
                out.standard = Some(TimeChange::read_xml(r, &c)?);
            } else if c.is(t, "Daylight") {
                out.daylight = Some(TimeChange::read_xml(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(out)
    }
}

/// A yearly change rule used for offset computation.
struct Rule {
    month: u32,
    day: RuleDay,
    /// Local time of day of the change (in the time before the change).
    time: TimeDelta,
    /// The bias in effect after the change.
    bias_after: TimeDelta,
}

enum RuleDay {
    /// The n-th weekday of the month (n = -1 or 5 for the last).
    Weekday(chrono::Weekday, i32),
    /// A fixed day of the month.
    Fixed(u32),
}

impl Rule {
    fn local_date(&self, year: i32) -> Option<NaiveDate> {
        match self.day {
            RuleDay::Fixed(d) => NaiveDate::from_ymd_opt(year, self.month, d),
            RuleDay::Weekday(wd, n) => {
                if (1..=4).contains(&n) {
                    NaiveDate::from_weekday_of_month_opt(year, self.month, wd, n as u8)
                } else {
                    // Last occurrence: the 5th if it exists, else the 4th.
                    NaiveDate::from_weekday_of_month_opt(year, self.month, wd, 5)
                        .or_else(|| NaiveDate::from_weekday_of_month_opt(year, self.month, wd, 4))
                }
            }
        }
    }
}

/// The bias at `at` given yearly rules: the latest change at or before `at` wins. A change's
/// local time is converted to UTC with the bias in effect before it (the previous rule's).
fn bias_from_rules(rules: &[Rule], at: DateTime<Utc>) -> Option<TimeDelta> {
    if rules.is_empty() {
        return None;
    }
    let at = at.naive_utc();
    let mut changes: Vec<(NaiveDateTime, TimeDelta)> = Vec::new();
    for year in [at.year() - 1, at.year(), at.year() + 1] {
        let mut dated: Vec<(NaiveDateTime, &Rule)> = rules
            .iter()
            .filter_map(|r| Some((r.local_date(year)?.and_time(NaiveTime::MIN) + r.time, r)))
            .collect();
        dated.sort_by_key(|(d, _)| *d);
        for i in 0..dated.len() {
            let (local, rule) = dated[i];
            let before = if i == 0 {
                dated.last().map(|(_, r)| r.bias_after)
            } else {
                Some(dated[i - 1].1.bias_after)
            }?;
            changes.push((local + before, rule.bias_after));
        }
    }
    changes.sort_by_key(|(d, _)| *d);
    changes
        .iter()
        .rev()
        .find(|(d, _)| *d <= at)
        .map(|(_, bias)| *bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_renamed_zone_resolves_through_its_old_name() {
        for (new, old) in RENAMED {
            assert!(
                table().to_windows.contains_key(old),
                "{old} not in CLDR table"
            );
            assert!(
                new.parse::<chrono_tz::Tz>().is_ok(),
                "{new} unknown to chrono-tz"
            );
            assert_eq!(iana_to_windows(new), iana_to_windows(old));
        }
    }
}
