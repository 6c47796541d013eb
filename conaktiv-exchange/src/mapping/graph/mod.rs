//! Field mapping between the canonical [`Record`](super::Record)s and Microsoft Graph v1.0
//! resources (`graph-client` types): contacts ([`contact`]), To Do tasks ([`task`]) and
//! events ([`appointment`]).
//!
//! The same Exchange item read through EWS (the sibling modules `super::contact`, ...) and
//! through Graph gives the same [`Record`](super::Record): same field names, same canonical
//! values (see [`super`] for the rules), so switching a mailbox from EWS to Graph changes
//! nothing. Fields Graph cannot carry are listed per table (`NOT_CARRIED`) and in
//! `docs/mapping.md`.
//!
//! # Time zones: what the adapter requests
//!
//! **Request `Prefer: outlook.timezone="UTC"`** ([`PREFERRED_TIMEZONE`], e.g.
//! `graph_client::Client::with_timezone("UTC")`). Every `dateTimeTimeZone` the mapping reads
//! is converted with the zone it names (UTC, a Windows id or an IANA name), so other zones
//! work too, but UTC is what the tests use. An event's own zones are read from
//! `originalStartTimeZone` / `originalEndTimeZone` (Windows ids; `tzone://Microsoft/Utc` is
//! UTC; `tzone://Microsoft/Custom` and other unknown names give `UTC` with a
//! [`MappingWarning::UnknownWindowsZone`](super::MappingWarning::UnknownWindowsZone)), so
//! `$select` them. Written times are local times in the record's zone named by its
//! Windows id, so Exchange stores the event's zone as EWS would.
//!
//! # What the adapter requests per table
//!
//! With a `$select`, name at least each module's `SELECT` properties.
//!
//! * Contacts: `$expand` = `graph_client::extended::expand` of
//!   [`contact::extended_properties`] (business fax and other phone, which Graph has no
//!   property for) plus the correlation key.
//! * To Do tasks: nothing extra (To Do tasks have no extended properties).
//! * Events: the master (or single event) with `originalStartTimeZone`,
//!   `originalEndTimeZone` and `cancelledOccurrences`, and for a series master its
//!   `instances` in the calendar window (occurrences and exceptions).
//!
//! Bodies are written as text; an HTML body read is converted by the simple tag strip of
//! [`canon::html_to_text`].

pub mod appointment;
pub mod contact;
pub mod task;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use ews_client::types::timezone::{iana_to_windows, windows_to_tz};
use graph_client::types::{
    BodyType, DateTimeTimeZone, DayOfWeek, ItemBody, PatternedRecurrence, RecurrencePattern,
    RecurrencePatternType, RecurrenceRange, RecurrenceRangeType, Sensitivity, WeekIndex,
};
use serde_json::{Map, Value, json};

use super::canon;

/// The zone the adapter asks Graph for (`Prefer: outlook.timezone`).
pub const PREFERRED_TIMEZONE: &str = "UTC";

const UTC_NAMES: [&str; 7] = [
    "UTC",
    "Etc/UTC",
    "Etc/GMT",
    "GMT",
    "Coordinated Universal Time",
    "tzone://Microsoft/Utc",
    "UTC+00:00",
];

fn is_utc(name: &str) -> bool {
    UTC_NAMES
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name.trim()))
}

/// The `chrono-tz` zone of a Graph zone name (UTC spellings, Windows ids, IANA names);
/// `None` for names it does not know.
pub(crate) fn graph_tz(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.is_empty() || is_utc(name) {
        return Some(Tz::UTC);
    }
    windows_to_tz(name).or_else(|| name.parse().ok())
}

/// The canonical zone name (as in the Record) of a Graph zone name; `None` for names that
/// are neither Windows ids nor IANA names.
pub(crate) fn canonical_zone(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() || is_utc(name) {
        return Some("UTC".to_owned());
    }
    if let Some(z) = canon::zone_from_windows(name) {
        return Some(z);
    }
    name.parse::<Tz>().ok().map(|_| canon::zone(name))
}

/// The instant of a `dateTimeTimeZone` (converted with the zone it names; an unknown zone
/// counts as UTC), whole seconds.
pub(crate) fn parse_dtz(d: &DateTimeTimeZone) -> Option<DateTime<Utc>> {
    let text = d.date_time.as_deref()?.trim().trim_end_matches('Z');
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()?;
    let tz = graph_tz(d.time_zone.as_deref().unwrap_or("UTC")).unwrap_or(Tz::UTC);
    let at = tz
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            // a local time skipped by a DST change: the instant an hour later
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })?
        .with_timezone(&Utc);
    Some(canon::whole_seconds(at))
}

fn format_local(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.0000000").to_string()
}

/// An instant as a `dateTimeTimeZone` in UTC.
pub(crate) fn utc_dtz(at: DateTime<Utc>) -> DateTimeTimeZone {
    DateTimeTimeZone::new(format_local(at.naive_utc()), "UTC")
}

/// The Windows id of a canonical zone (`UTC` for UTC); `None` when it has none.
pub(crate) fn windows_id(zone: &str) -> Option<&'static str> {
    if is_utc(zone) {
        return Some("UTC");
    }
    iana_to_windows(zone)
}

/// An instant as a `dateTimeTimeZone` in the local time of a canonical zone, named by its
/// Windows id; in UTC when the zone has no Windows id.
pub(crate) fn local_dtz(at: DateTime<Utc>, zone: &str) -> DateTimeTimeZone {
    match windows_id(zone) {
        Some("UTC") | None => utc_dtz(at),
        Some(w) => DateTimeTimeZone::new(
            format_local(at.with_timezone(&canon::tz(zone)).naive_local()),
            w,
        ),
    }
}

/// The canonical text of a Graph body (HTML through [`canon::html_to_text`]).
pub(crate) fn body_text(b: Option<&ItemBody>) -> Option<String> {
    let b = b?;
    let content = b.content.as_deref()?;
    if b.content_type == Some(BodyType::Html) {
        canon::multiline(&canon::html_to_text(content))
    } else {
        canon::multiline(content)
    }
}

const SENSITIVITIES: [(Sensitivity, &str); 4] = [
    (Sensitivity::Normal, "normal"),
    (Sensitivity::Personal, "personal"),
    (Sensitivity::Private, "private"),
    (Sensitivity::Confidential, "confidential"),
];

/// The canonical name of a Graph sensitivity (absent: `normal`).
pub(crate) fn sensitivity_name(s: Option<Sensitivity>) -> &'static str {
    s.and_then(|s| SENSITIVITIES.iter().find(|x| x.0 == s))
        .map_or("normal", |x| x.1)
}

/// The Graph sensitivity of a canonical name.
pub(crate) fn sensitivity_from(name: &str) -> Option<Sensitivity> {
    SENSITIVITIES.iter().find(|x| x.1 == name).map(|x| x.0)
}

const DAYS: [(Weekday, DayOfWeek, &str); 7] = [
    (Weekday::Mon, DayOfWeek::Monday, "mon"),
    (Weekday::Tue, DayOfWeek::Tuesday, "tue"),
    (Weekday::Wed, DayOfWeek::Wednesday, "wed"),
    (Weekday::Thu, DayOfWeek::Thursday, "thu"),
    (Weekday::Fri, DayOfWeek::Friday, "fri"),
    (Weekday::Sat, DayOfWeek::Saturday, "sat"),
    (Weekday::Sun, DayOfWeek::Sunday, "sun"),
];

const WEEKS: [(WeekIndex, &str); 5] = [
    (WeekIndex::First, "first"),
    (WeekIndex::Second, "second"),
    (WeekIndex::Third, "third"),
    (WeekIndex::Fourth, "fourth"),
    (WeekIndex::Last, "last"),
];

fn day_pos(d: DayOfWeek) -> Option<usize> {
    DAYS.iter().position(|x| x.1 == d)
}

fn day_name(d: DayOfWeek) -> Option<&'static str> {
    DAYS.iter().find(|x| x.1 == d).map(|x| x.2)
}

fn day_from_name(s: &str) -> Option<DayOfWeek> {
    DAYS.iter().find(|x| x.2 == s).map(|x| x.1)
}

/// The canonical `day` of a relative pattern's day set: a single day, or `day`, `weekday`,
/// `weekend_day` for the classes; `None` for other sets.
fn relative_day(days: &[DayOfWeek]) -> Option<&'static str> {
    let mut pos: Vec<usize> = days.iter().filter_map(|d| day_pos(*d)).collect();
    pos.sort_unstable();
    pos.dedup();
    match pos.as_slice() {
        [one] => DAYS.get(*one).map(|x| x.2),
        [0, 1, 2, 3, 4, 5, 6] => Some("day"),
        [0, 1, 2, 3, 4] => Some("weekday"),
        [5, 6] => Some("weekend_day"),
        _ => None,
    }
}

fn relative_days(name: &str) -> Option<Vec<DayOfWeek>> {
    let range = match name {
        "day" => 0..7,
        "weekday" => 0..5,
        "weekend_day" => 5..7,
        single => return day_from_name(single).map(|d| vec![d]),
    };
    Some(DAYS[range].iter().map(|x| x.1).collect())
}

fn unsupported(detail: &str) -> Value {
    json!({"pattern": super::recurrence::UNSUPPORTED, "detail": detail})
}

/// The canonical recurrence object (see [`super::recurrence`]) of a Graph
/// `patternedRecurrence`; an `unsupported` object for what ConAktiv cannot hold (yearly
/// intervals above 1, relative patterns on arbitrary day sets, out-of-range numbers).
pub(crate) fn recurrence_to_value(r: &PatternedRecurrence) -> Value {
    let Some(p) = r.pattern.as_ref() else {
        return unsupported("recurrence without pattern");
    };
    let pos = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0);
    let interval = pos(p.interval.or(Some(1)));
    let days = p.days_of_week.clone().unwrap_or_default();
    let week = WEEKS
        .iter()
        .find(|w| Some(w.0) == p.index)
        .map_or("first", |w| w.1);
    let yearly_ok = p.interval.is_none_or(|i| i == 1);
    let mut v = match p.kind {
        Some(RecurrencePatternType::Daily) => match interval {
            Some(i) => json!({"pattern": "daily", "interval": i}),
            None => return unsupported("daily with interval out of range"),
        },
        Some(RecurrencePatternType::Weekly) => {
            let Some(i) = interval else {
                return unsupported("weekly with interval out of range");
            };
            let mut pos: Vec<usize> = days.iter().filter_map(|d| day_pos(*d)).collect();
            pos.sort_unstable();
            pos.dedup();
            let names: Vec<&str> = pos
                .iter()
                .filter_map(|p| DAYS.get(*p))
                .map(|x| x.2)
                .collect();
            let first = p.first_day_of_week.and_then(day_name).unwrap_or("mon");
            json!({"pattern": "weekly", "interval": i, "days": names, "first_day_of_week": first})
        }
        Some(RecurrencePatternType::AbsoluteMonthly) => match (interval, pos(p.day_of_month)) {
            (Some(i), Some(d)) => {
                json!({"pattern": "monthly_absolute", "interval": i, "day_of_month": d})
            }
            _ => return unsupported("absoluteMonthly out of range"),
        },
        Some(RecurrencePatternType::RelativeMonthly) => match (interval, relative_day(&days)) {
            (Some(i), Some(d)) => {
                json!({"pattern": "monthly_relative", "interval": i, "week": week, "day": d})
            }
            _ => return unsupported("relativeMonthly not representable"),
        },
        Some(RecurrencePatternType::AbsoluteYearly) => {
            match (yearly_ok, pos(p.month), pos(p.day_of_month)) {
                (true, Some(m), Some(d)) if m <= 12 => {
                    json!({"pattern": "yearly_absolute", "month": m, "day_of_month": d})
                }
                _ => return unsupported("absoluteYearly not representable"),
            }
        }
        Some(RecurrencePatternType::RelativeYearly) => {
            match (yearly_ok, pos(p.month), relative_day(&days)) {
                (true, Some(m), Some(d)) if m <= 12 => {
                    json!({"pattern": "yearly_relative", "month": m, "week": week, "day": d})
                }
                _ => return unsupported("relativeYearly not representable"),
            }
        }
        _ => return unsupported("unknown recurrence pattern type"),
    };
    let Some(range) = r.range.as_ref() else {
        return unsupported("recurrence without range");
    };
    let Some(start) = range.start_date else {
        return unsupported("recurrence range without start date");
    };
    let Some(map) = v.as_object_mut() else {
        return unsupported("recurrence");
    };
    map.insert("start_date".into(), canon::date(start).into());
    match range.kind {
        Some(RecurrenceRangeType::EndDate) => {
            let Some(end) = range.end_date else {
                return unsupported("endDate range without end date");
            };
            map.insert("end".into(), "by_date".into());
            map.insert("end_date".into(), canon::date(end).into());
        }
        Some(RecurrenceRangeType::Numbered) => {
            let Some(n) = pos(range.number_of_occurrences) else {
                return unsupported("numbered range out of range");
            };
            map.insert("end".into(), "after".into());
            map.insert("occurrences".into(), n.into());
        }
        _ => {
            map.insert("end".into(), "never".into());
        }
    }
    v
}

fn u32_of(m: &Map<String, Value>, k: &str) -> Option<i32> {
    m.get(k)?.as_u64().and_then(|n| i32::try_from(n).ok())
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k)?.as_str()
}

/// The Graph `patternedRecurrence` of a canonical object (with `zone`, a Windows id, as
/// `recurrenceTimeZone`); `None` for an unsupported or malformed object.
pub(crate) fn value_to_recurrence(v: &Value, zone: Option<&str>) -> Option<PatternedRecurrence> {
    let m = v.as_object()?;
    let week = || {
        let w = str_of(m, "week")?;
        WEEKS.iter().find(|x| x.1 == w).map(|x| x.0)
    };
    let days = || relative_days(str_of(m, "day")?);
    let pattern = match str_of(m, "pattern")? {
        "daily" => RecurrencePattern {
            kind: Some(RecurrencePatternType::Daily),
            interval: Some(u32_of(m, "interval")?),
            ..RecurrencePattern::default()
        },
        "weekly" => RecurrencePattern {
            kind: Some(RecurrencePatternType::Weekly),
            interval: Some(u32_of(m, "interval")?),
            days_of_week: Some(
                m.get("days")?
                    .as_array()?
                    .iter()
                    .map(|d| d.as_str().and_then(day_from_name))
                    .collect::<Option<Vec<_>>>()?,
            ),
            first_day_of_week: Some(day_from_name(str_of(m, "first_day_of_week")?)?),
            ..RecurrencePattern::default()
        },
        "monthly_absolute" => RecurrencePattern {
            kind: Some(RecurrencePatternType::AbsoluteMonthly),
            interval: Some(u32_of(m, "interval")?),
            day_of_month: Some(u32_of(m, "day_of_month")?),
            ..RecurrencePattern::default()
        },
        "monthly_relative" => RecurrencePattern {
            kind: Some(RecurrencePatternType::RelativeMonthly),
            interval: Some(u32_of(m, "interval")?),
            days_of_week: Some(days()?),
            index: Some(week()?),
            ..RecurrencePattern::default()
        },
        "yearly_absolute" => RecurrencePattern {
            kind: Some(RecurrencePatternType::AbsoluteYearly),
            interval: Some(1),
            month: Some(u32_of(m, "month")?),
            day_of_month: Some(u32_of(m, "day_of_month")?),
            ..RecurrencePattern::default()
        },
        "yearly_relative" => RecurrencePattern {
            kind: Some(RecurrencePatternType::RelativeYearly),
            interval: Some(1),
            month: Some(u32_of(m, "month")?),
            days_of_week: Some(days()?),
            index: Some(week()?),
            ..RecurrencePattern::default()
        },
        _ => return None,
    };
    let start_date = canon::parse_date(m.get("start_date")?)?;
    let mut range = RecurrenceRange {
        start_date: Some(start_date),
        recurrence_time_zone: zone.map(str::to_owned),
        ..RecurrenceRange::default()
    };
    match str_of(m, "end")? {
        "never" => range.kind = Some(RecurrenceRangeType::NoEnd),
        "after" => {
            range.kind = Some(RecurrenceRangeType::Numbered);
            range.number_of_occurrences = Some(u32_of(m, "occurrences")?);
        }
        "by_date" => {
            range.kind = Some(RecurrenceRangeType::EndDate);
            range.end_date = Some(canon::parse_date(m.get("end_date")?)?);
        }
        _ => return None,
    }
    Some(PatternedRecurrence {
        pattern: Some(pattern),
        range: Some(range),
    })
}

/// JSON of a Graph value for a PATCH body (`null` when it cannot be serialized, which the
/// graph-client types never are).
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_any_zone() {
        let at = |s: &str, z: &str| parse_dtz(&DateTimeTimeZone::new(s, z)).map(canon::instant);
        assert_eq!(
            at("2025-03-10T08:00:00.0000000", "UTC").as_deref(),
            Some("2025-03-10T08:00:00Z")
        );
        assert_eq!(
            at("2025-03-10T09:00:00.5", "W. Europe Standard Time").as_deref(),
            Some("2025-03-10T08:00:00Z")
        );
        assert_eq!(
            at("2025-07-10T10:00:00", "Europe/Berlin").as_deref(),
            Some("2025-07-10T08:00:00Z")
        );
        assert_eq!(
            canonical_zone("W. Europe Standard Time").as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(
            canonical_zone("tzone://Microsoft/Utc").as_deref(),
            Some("UTC")
        );
        assert_eq!(
            canonical_zone("Europe/Vienna").as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(canonical_zone("tzone://Microsoft/Custom"), None);
        let t = DateTime::parse_from_rfc3339("2025-07-10T08:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let d = local_dtz(t, "Europe/Berlin");
        assert_eq!(d.date_time.as_deref(), Some("2025-07-10T10:00:00.0000000"));
        assert_eq!(d.time_zone.as_deref(), Some("W. Europe Standard Time"));
        assert_eq!(parse_dtz(&d), Some(t));
    }

    #[test]
    fn relative_day_classes() {
        for name in ["mon", "sun", "day", "weekday", "weekend_day"] {
            let days = relative_days(name).unwrap_or_default();
            assert_eq!(relative_day(&days), Some(name));
        }
        assert_eq!(relative_day(&[DayOfWeek::Monday, DayOfWeek::Friday]), None);
    }
}
