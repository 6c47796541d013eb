//! Recurrence as a canonical JSON object, converted from and to ConAktiv's
//! [`Recurrence`](conaktiv_model::recurrence::Recurrence) and EWS's
//! [`Recurrence`](ews_client::types::Recurrence).
//!
//! The object is flat, for example
//! `{"pattern":"weekly","interval":2,"days":["mon","wed"],"first_day_of_week":"mon",
//! "start_date":"2025-03-10","end":"after","occurrences":10}`:
//!
//! * `pattern`: `daily` (`interval`), `weekly` (`interval`, `days` sorted Monday first,
//!   `first_day_of_week`), `monthly_absolute` (`interval`, `day_of_month`),
//!   `monthly_relative` (`interval`, `week`, `day`), `yearly_absolute` (`month`,
//!   `day_of_month`), `yearly_relative` (`month`, `week`, `day`); or `unsupported`
//!   (`detail`) for Exchange patterns ConAktiv cannot hold (a task's regenerating patterns).
//! * `week`: `first` ... `fourth`, `last`; `day`: `mon` ... `sun`, `day`, `weekday`,
//!   `weekend_day`.
//! * `start_date`; `end`: `never`, `after` (`occurrences`) or `by_date` (`end_date`).
//!
//! Exceptions are separate record fields (see [`deleted_to_value`], [`modified_to_value`]).

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use conaktiv_model::recurrence::{
    ModifiedOccurrence, Recurrence as CrmRecurrence, RecurrenceEnd, RecurrencePattern as Crm,
    RelativeDay, WeekOfMonth,
};
use ews_client::types::recurrence::{DayOfWeek, DayOfWeekIndex, Month};
use ews_client::types::{Recurrence as EwsRecurrence, RecurrencePattern as Ews, RecurrenceRange};
use serde_json::{Map, Value, json};

use super::canon;

/// The `pattern` value of an Exchange pattern ConAktiv cannot represent.
pub const UNSUPPORTED: &str = "unsupported";

const WEEKDAYS: [(Weekday, &str, DayOfWeek); 7] = [
    (Weekday::Mon, "mon", DayOfWeek::Monday),
    (Weekday::Tue, "tue", DayOfWeek::Tuesday),
    (Weekday::Wed, "wed", DayOfWeek::Wednesday),
    (Weekday::Thu, "thu", DayOfWeek::Thursday),
    (Weekday::Fri, "fri", DayOfWeek::Friday),
    (Weekday::Sat, "sat", DayOfWeek::Saturday),
    (Weekday::Sun, "sun", DayOfWeek::Sunday),
];

const WEEKS: [(WeekOfMonth, &str, DayOfWeekIndex); 5] = [
    (WeekOfMonth::First, "first", DayOfWeekIndex::First),
    (WeekOfMonth::Second, "second", DayOfWeekIndex::Second),
    (WeekOfMonth::Third, "third", DayOfWeekIndex::Third),
    (WeekOfMonth::Fourth, "fourth", DayOfWeekIndex::Fourth),
    (WeekOfMonth::Last, "last", DayOfWeekIndex::Last),
];

fn weekday_name(d: Weekday) -> &'static str {
    WEEKDAYS.iter().find(|w| w.0 == d).map_or("mon", |w| w.1)
}

fn weekday_from_name(s: &str) -> Option<Weekday> {
    WEEKDAYS.iter().find(|w| w.1 == s).map(|w| w.0)
}

fn weekday_to_ews(d: Weekday) -> DayOfWeek {
    WEEKDAYS
        .iter()
        .find(|w| w.0 == d)
        .map_or(DayOfWeek::Monday, |w| w.2)
}

fn week_name(w: WeekOfMonth) -> &'static str {
    WEEKS.iter().find(|x| x.0 == w).map_or("first", |x| x.1)
}

fn relative_day_name(d: RelativeDay) -> &'static str {
    match d {
        RelativeDay::Weekday(w) => weekday_name(w),
        RelativeDay::Day => "day",
        RelativeDay::WorkDay => "weekday",
        RelativeDay::WeekendDay => "weekend_day",
    }
}

fn relative_day_from_name(s: &str) -> Option<RelativeDay> {
    Some(match s {
        "day" => RelativeDay::Day,
        "weekday" => RelativeDay::WorkDay,
        "weekend_day" => RelativeDay::WeekendDay,
        other => RelativeDay::Weekday(weekday_from_name(other)?),
    })
}

fn ews_day_name(d: DayOfWeek) -> &'static str {
    match d {
        DayOfWeek::Day => "day",
        DayOfWeek::Weekday => "weekday",
        DayOfWeek::WeekendDay => "weekend_day",
        single => single.weekday().map_or("mon", weekday_name),
    }
}

fn ews_day_from_name(s: &str) -> Option<DayOfWeek> {
    Some(match s {
        "day" => DayOfWeek::Day,
        "weekday" => DayOfWeek::Weekday,
        "weekend_day" => DayOfWeek::WeekendDay,
        other => weekday_to_ews(weekday_from_name(other)?),
    })
}

fn ews_index_name(i: DayOfWeekIndex) -> &'static str {
    WEEKS.iter().find(|x| x.2 == i).map_or("first", |x| x.1)
}

/// Days sorted Monday first, without duplicates; day classes expanded.
fn sorted_days(days: impl IntoIterator<Item = Weekday>) -> Vec<Value> {
    let mut v: Vec<Weekday> = days.into_iter().collect();
    v.sort_by_key(|d| d.num_days_from_monday());
    v.dedup();
    v.into_iter()
        .map(|d| Value::from(weekday_name(d)))
        .collect()
}

fn expand(d: DayOfWeek) -> Vec<Weekday> {
    match d {
        DayOfWeek::Day => WEEKDAYS.iter().map(|w| w.0).collect(),
        DayOfWeek::Weekday => WEEKDAYS[..5].iter().map(|w| w.0).collect(),
        DayOfWeek::WeekendDay => WEEKDAYS[5..].iter().map(|w| w.0).collect(),
        single => single.weekday().into_iter().collect(),
    }
}

fn end_fields(m: &mut Map<String, Value>, end: RecurrenceEnd) {
    match end {
        RecurrenceEnd::Never => {
            m.insert("end".into(), "never".into());
        }
        RecurrenceEnd::AfterOccurrences(n) => {
            m.insert("end".into(), "after".into());
            m.insert("occurrences".into(), n.into());
        }
        RecurrenceEnd::ByDate(d) => {
            m.insert("end".into(), "by_date".into());
            m.insert("end_date".into(), canon::date(d).into());
        }
    }
}

/// The canonical object of a ConAktiv recurrence's pattern and range (exceptions are not
/// included).
pub fn crm_to_value(r: &CrmRecurrence) -> Value {
    let mut m = match &r.pattern {
        Crm::Daily { interval } => json!({"pattern": "daily", "interval": interval}),
        Crm::Weekly {
            interval,
            days,
            first_day_of_week,
        } => json!({
            "pattern": "weekly",
            "interval": interval,
            "days": sorted_days(days.iter().copied()),
            "first_day_of_week": weekday_name(*first_day_of_week),
        }),
        Crm::MonthlyAbsolute {
            interval,
            day_of_month,
        } => {
            json!({"pattern": "monthly_absolute", "interval": interval, "day_of_month": day_of_month})
        }
        Crm::MonthlyRelative {
            interval,
            week,
            day,
        } => json!({
            "pattern": "monthly_relative",
            "interval": interval,
            "week": week_name(*week),
            "day": relative_day_name(*day),
        }),
        Crm::YearlyAbsolute {
            month,
            day_of_month,
        } => json!({"pattern": "yearly_absolute", "month": month, "day_of_month": day_of_month}),
        Crm::YearlyRelative { month, week, day } => json!({
            "pattern": "yearly_relative",
            "month": month,
            "week": week_name(*week),
            "day": relative_day_name(*day),
        }),
    };
    if let Some(map) = m.as_object_mut() {
        map.insert("start_date".into(), canon::date(r.start_date).into());
        end_fields(map, r.end);
    }
    m
}

fn u32_of(m: &Map<String, Value>, k: &str) -> Option<u32> {
    m.get(k)?.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k)?.as_str()
}

fn week_from(m: &Map<String, Value>) -> Option<(WeekOfMonth, DayOfWeekIndex)> {
    let s = str_of(m, "week")?;
    WEEKS.iter().find(|x| x.1 == s).map(|x| (x.0, x.2))
}

fn end_from(m: &Map<String, Value>) -> Option<RecurrenceEnd> {
    Some(match str_of(m, "end")? {
        "never" => RecurrenceEnd::Never,
        "after" => RecurrenceEnd::AfterOccurrences(u32_of(m, "occurrences")?),
        "by_date" => RecurrenceEnd::ByDate(canon::parse_date(m.get("end_date")?)?),
        _ => return None,
    })
}

/// A ConAktiv recurrence (without exceptions) from the canonical object; `None` for an
/// unsupported or malformed object.
pub fn value_to_crm(v: &Value) -> Option<CrmRecurrence> {
    let m = v.as_object()?;
    let pattern = match str_of(m, "pattern")? {
        "daily" => Crm::Daily {
            interval: u32_of(m, "interval")?,
        },
        "weekly" => Crm::Weekly {
            interval: u32_of(m, "interval")?,
            days: m
                .get("days")?
                .as_array()?
                .iter()
                .map(|d| d.as_str().and_then(weekday_from_name))
                .collect::<Option<Vec<_>>>()?,
            first_day_of_week: weekday_from_name(str_of(m, "first_day_of_week")?)?,
        },
        "monthly_absolute" => Crm::MonthlyAbsolute {
            interval: u32_of(m, "interval")?,
            day_of_month: u32_of(m, "day_of_month")?,
        },
        "monthly_relative" => Crm::MonthlyRelative {
            interval: u32_of(m, "interval")?,
            week: week_from(m)?.0,
            day: relative_day_from_name(str_of(m, "day")?)?,
        },
        "yearly_absolute" => Crm::YearlyAbsolute {
            month: u32_of(m, "month")?,
            day_of_month: u32_of(m, "day_of_month")?,
        },
        "yearly_relative" => Crm::YearlyRelative {
            month: u32_of(m, "month")?,
            week: week_from(m)?.0,
            day: relative_day_from_name(str_of(m, "day")?)?,
        },
        _ => return None,
    };
    let start_date = canon::parse_date(m.get("start_date")?)?;
    let mut r = CrmRecurrence::new(pattern, start_date);
    r.end = end_from(m)?;
    Some(r)
}

fn unsupported(detail: &str) -> Value {
    json!({"pattern": UNSUPPORTED, "detail": detail})
}

/// Whether a canonical object marks an unsupported Exchange pattern.
pub fn is_unsupported(v: &Value) -> bool {
    v.get("pattern").and_then(Value::as_str) == Some(UNSUPPORTED)
}

/// The canonical object of an EWS recurrence; an `unsupported` object for regenerating
/// patterns and out-of-range numbers.
pub fn ews_to_value(r: &EwsRecurrence) -> Value {
    let pos = |n: i32| u32::try_from(n).ok().filter(|n| *n > 0);
    let name = r.pattern.element_name();
    let mut v = match &r.pattern {
        Ews::Daily { interval } => match pos(*interval) {
            Some(i) => json!({"pattern": "daily", "interval": i}),
            None => return unsupported(&format!("{name} with interval {interval}")),
        },
        Ews::Weekly {
            interval,
            days_of_week,
            first_day_of_week,
        } => {
            let Some(i) = pos(*interval) else {
                return unsupported(&format!("{name} with interval {interval}"));
            };
            let first = first_day_of_week
                .and_then(DayOfWeek::weekday)
                .unwrap_or(Weekday::Mon);
            json!({
                "pattern": "weekly",
                "interval": i,
                "days": sorted_days(days_of_week.iter().flat_map(|d| expand(*d))),
                "first_day_of_week": weekday_name(first),
            })
        }
        Ews::AbsoluteMonthly {
            interval,
            day_of_month,
        } => match (pos(*interval), pos(*day_of_month)) {
            (Some(i), Some(d)) => {
                json!({"pattern": "monthly_absolute", "interval": i, "day_of_month": d})
            }
            _ => return unsupported(&format!("{name} out of range")),
        },
        Ews::RelativeMonthly {
            interval,
            days_of_week,
            day_of_week_index,
        } => match pos(*interval) {
            Some(i) => json!({
                "pattern": "monthly_relative",
                "interval": i,
                "week": ews_index_name(*day_of_week_index),
                "day": ews_day_name(*days_of_week),
            }),
            None => return unsupported(&format!("{name} with interval {interval}")),
        },
        Ews::AbsoluteYearly {
            day_of_month,
            month,
        } => match pos(*day_of_month) {
            Some(d) => {
                json!({"pattern": "yearly_absolute", "month": month.number(), "day_of_month": d})
            }
            None => return unsupported(&format!("{name} out of range")),
        },
        Ews::RelativeYearly {
            days_of_week,
            day_of_week_index,
            month,
        } => json!({
            "pattern": "yearly_relative",
            "month": month.number(),
            "week": ews_index_name(*day_of_week_index),
            "day": ews_day_name(*days_of_week),
        }),
        other => return unsupported(other.element_name()),
    };
    if let Some(map) = v.as_object_mut() {
        map.insert(
            "start_date".into(),
            canon::date(r.range.start_date()).into(),
        );
        let end = match &r.range {
            RecurrenceRange::NoEnd { .. } => RecurrenceEnd::Never,
            RecurrenceRange::EndDate { end_date, .. } => RecurrenceEnd::ByDate(*end_date),
            RecurrenceRange::Numbered {
                number_of_occurrences,
                ..
            } => match pos(*number_of_occurrences) {
                Some(n) => RecurrenceEnd::AfterOccurrences(n),
                None => return unsupported("NumberedRecurrence out of range"),
            },
        };
        end_fields(map, end);
    }
    v
}

/// The EWS recurrence for a canonical object; `None` for an unsupported or malformed object
/// or numbers EWS cannot hold.
pub fn value_to_ews(v: &Value) -> Option<EwsRecurrence> {
    let m = v.as_object()?;
    let i32_of = |k: &str| u32_of(m, k).and_then(|n| i32::try_from(n).ok());
    let ews_day = || ews_day_from_name(str_of(m, "day")?);
    let pattern = match str_of(m, "pattern")? {
        "daily" => Ews::Daily {
            interval: i32_of("interval")?,
        },
        "weekly" => Ews::Weekly {
            interval: i32_of("interval")?,
            days_of_week: m
                .get("days")?
                .as_array()?
                .iter()
                .map(|d| d.as_str().and_then(weekday_from_name).map(weekday_to_ews))
                .collect::<Option<Vec<_>>>()?,
            first_day_of_week: Some(weekday_to_ews(weekday_from_name(str_of(
                m,
                "first_day_of_week",
            )?)?)),
        },
        "monthly_absolute" => Ews::AbsoluteMonthly {
            interval: i32_of("interval")?,
            day_of_month: i32_of("day_of_month")?,
        },
        "monthly_relative" => Ews::RelativeMonthly {
            interval: i32_of("interval")?,
            days_of_week: ews_day()?,
            day_of_week_index: week_from(m)?.1,
        },
        "yearly_absolute" => Ews::AbsoluteYearly {
            day_of_month: i32_of("day_of_month")?,
            month: Month::from_number(u32_of(m, "month")?)?,
        },
        "yearly_relative" => Ews::RelativeYearly {
            days_of_week: ews_day()?,
            day_of_week_index: week_from(m)?.1,
            month: Month::from_number(u32_of(m, "month")?)?,
        },
        _ => return None,
    };
    let start_date = canon::parse_date(m.get("start_date")?)?;
    let range = match end_from(m)? {
        RecurrenceEnd::Never => RecurrenceRange::NoEnd { start_date },
        RecurrenceEnd::AfterOccurrences(n) => RecurrenceRange::Numbered {
            start_date,
            number_of_occurrences: i32::try_from(n).ok()?,
        },
        RecurrenceEnd::ByDate(end_date) => RecurrenceRange::EndDate {
            start_date,
            end_date,
        },
    };
    Some(EwsRecurrence { pattern, range })
}

/// The canonical list of deleted occurrences (original dates, sorted, unique); `None` when
/// empty.
pub fn deleted_to_value(dates: &[NaiveDate]) -> Option<Value> {
    let mut d: Vec<NaiveDate> = dates.to_vec();
    d.sort();
    d.dedup();
    (!d.is_empty()).then(|| Value::from(d.into_iter().map(canon::date).collect::<Vec<_>>()))
}

/// The dates of a deleted-occurrences value.
pub fn value_to_deleted(v: Option<&Value>) -> Vec<NaiveDate> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(canon::parse_date).collect())
        .unwrap_or_default()
}

/// The canonical list of modified occurrences, sorted by original start: objects with
/// `original_start`, `start`, `end` and, when they differ from the series, `subject`,
/// `location`, `body`. `None` when empty.
pub fn modified_to_value(list: &[ModifiedOccurrence]) -> Option<Value> {
    let mut v: Vec<&ModifiedOccurrence> = list.iter().collect();
    v.sort_by_key(|m| m.original_start);
    v.dedup_by_key(|m| m.original_start);
    let out: Vec<Value> = v
        .into_iter()
        .map(|m| {
            let mut o = Map::new();
            o.insert(
                "original_start".into(),
                canon::instant(m.original_start).into(),
            );
            o.insert("start".into(), canon::instant(m.start).into());
            o.insert("end".into(), canon::instant(m.end).into());
            let texts = [
                ("subject", m.subject.as_deref().and_then(canon::line)),
                ("location", m.location.as_deref().and_then(canon::line)),
                ("body", m.body.as_deref().and_then(canon::multiline)),
            ];
            for (k, t) in texts {
                if let Some(t) = t {
                    o.insert(k.into(), t.into());
                }
            }
            Value::Object(o)
        })
        .collect();
    (!out.is_empty()).then(|| Value::from(out))
}

/// The modified occurrences of a canonical value (malformed entries are skipped).
pub fn value_to_modified(v: Option<&Value>) -> Vec<ModifiedOccurrence> {
    let Some(list) = v.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|o| {
            let t = |k: &str| o.get(k).and_then(canon::parse_instant);
            let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
            Some(ModifiedOccurrence {
                original_start: t("original_start")?,
                start: t("start")?,
                end: t("end")?,
                subject: s("subject"),
                location: s("location"),
                body: s("body"),
            })
        })
        .collect()
}

/// The instant of a canonical `original_start`.
pub fn original_start_of(v: &Value) -> Option<DateTime<Utc>> {
    v.get("original_start").and_then(canon::parse_instant)
}
