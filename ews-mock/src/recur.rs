//! Expansion of recurring calendar items into occurrences (CalendarView), with deleted and
//! modified occurrences. The pattern runs in the series' time zone (`StartTimeZone`, else the
//! legacy `MeetingTimeZone`, else UTC): an occurrence starts at the master's local start time
//! of day on each local date of the pattern, so a weekly 09:00 Europe/Berlin meeting stays at
//! 09:00 local across daylight saving changes.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use ews_client::types::CalendarItem;
use ews_client::types::recurrence::{
    DayOfWeek, DayOfWeekIndex, RecurrencePattern, RecurrenceRange,
};

/// Dates examined at most when expanding one series (about 30 years of days).
const MAX_DAYS: i64 = 11_000;

/// One occurrence: its 1-based index in the series, the original start and the actual
/// start and end (moved for a modified occurrence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// 1-based index in the series.
    pub index: u32,
    /// Start according to the pattern.
    pub original_start: DateTime<Utc>,
    /// Actual start.
    pub start: DateTime<Utc>,
    /// Actual end.
    pub end: DateTime<Utc>,
    /// Whether it was modified.
    pub modified: bool,
}

fn day_matches(day: &DayOfWeek, date: NaiveDate) -> bool {
    use chrono::Weekday as W;
    match day.weekday() {
        Some(w) => date.weekday() == w,
        None => match day.as_str() {
            "Day" => true,
            "Weekday" => !matches!(date.weekday(), W::Sat | W::Sun),
            "WeekendDay" => matches!(date.weekday(), W::Sat | W::Sun),
            _ => false,
        },
    }
}

fn months_between(a: NaiveDate, b: NaiveDate) -> i64 {
    i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month())
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// Whether `date` is the `index`-th `day` of its month.
fn relative_matches(day: &DayOfWeek, index: &DayOfWeekIndex, date: NaiveDate) -> bool {
    if !day_matches(day, date) {
        return false;
    }
    let month_days: Vec<u32> = (1..=last_day_of_month(date))
        .filter(|d| {
            NaiveDate::from_ymd_opt(date.year(), date.month(), *d)
                .is_some_and(|x| day_matches(day, x))
        })
        .collect();
    let wanted = match index.as_str() {
        "First" => month_days.first(),
        "Second" => month_days.get(1),
        "Third" => month_days.get(2),
        "Fourth" => month_days.get(3),
        _ => month_days.last(),
    };
    wanted == Some(&date.day())
}

fn absolute_day_matches(day_of_month: i32, date: NaiveDate) -> bool {
    let want = u32::try_from(day_of_month)
        .unwrap_or(1)
        .min(last_day_of_month(date));
    date.day() == want
}

fn pattern_matches(pattern: &RecurrencePattern, first: NaiveDate, date: NaiveDate) -> bool {
    let days = (date - first).num_days();
    let every = |interval: i32| i64::from(interval.max(1));
    match pattern {
        RecurrencePattern::Daily { interval }
        | RecurrencePattern::DailyRegeneration { interval } => days % every(*interval) == 0,
        RecurrencePattern::WeeklyRegeneration { interval } => days % (7 * every(*interval)) == 0,
        RecurrencePattern::Weekly {
            interval,
            days_of_week,
            ..
        } => {
            let week_start =
                first - Duration::days(i64::from(first.weekday().num_days_from_sunday()));
            let week = (date - week_start).num_days().div_euclid(7);
            week % every(*interval) == 0 && days_of_week.iter().any(|d| day_matches(d, date))
        }
        RecurrencePattern::AbsoluteMonthly {
            interval,
            day_of_month,
        } => {
            months_between(first, date) % every(*interval) == 0
                && absolute_day_matches(*day_of_month, date)
        }
        RecurrencePattern::MonthlyRegeneration { interval } => {
            months_between(first, date) % every(*interval) == 0 && date.day() == first.day()
        }
        RecurrencePattern::RelativeMonthly {
            interval,
            days_of_week,
            day_of_week_index,
        } => {
            months_between(first, date) % every(*interval) == 0
                && relative_matches(days_of_week, day_of_week_index, date)
        }
        RecurrencePattern::AbsoluteYearly {
            day_of_month,
            month,
        } => date.month() == month.number() && absolute_day_matches(*day_of_month, date),
        RecurrencePattern::RelativeYearly {
            days_of_week,
            day_of_week_index,
            month,
        } => {
            date.month() == month.number()
                && relative_matches(days_of_week, day_of_week_index, date)
        }
        RecurrencePattern::YearlyRegeneration { interval } => {
            (date.year() - first.year()) % interval.max(&1) == 0
                && date.month() == first.month()
                && date.day() == first.day()
        }
    }
}

/// The offset from UTC of the series' time zone at an instant (`None`: UTC).
fn zone_offset(master: &CalendarItem, at: DateTime<Utc>) -> Option<FixedOffset> {
    master
        .start_time_zone
        .as_ref()
        .and_then(|z| z.utc_offset_at(at))
        .or_else(|| {
            master
                .meeting_time_zone
                .as_ref()
                .and_then(|z| z.utc_offset_at(at))
        })
}

fn offset_secs(master: &CalendarItem, at: DateTime<Utc>) -> i64 {
    zone_offset(master, at).map_or(0, |o| i64::from(o.local_minus_utc()))
}

/// An instant as local time in the series' time zone.
pub fn to_local(master: &CalendarItem, at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc() + Duration::seconds(offset_secs(master, at))
}

/// A local time of the series' time zone as an instant (a local time in a spring-forward gap
/// comes out one hour later, as in Outlook; in the repeated hour the later instant).
pub fn from_local(master: &CalendarItem, local: NaiveDateTime) -> DateTime<Utc> {
    let naive = local.and_utc();
    let guess = naive - Duration::seconds(offset_secs(master, naive));
    naive - Duration::seconds(offset_secs(master, guess))
}

/// The local time of day the series starts at.
fn local_start_time(master: &CalendarItem, start: DateTime<Utc>) -> NaiveTime {
    to_local(master, start).time()
}

/// The occurrences of a recurring master that overlap `[from, to)`; all of them up to `to`
/// when `from` is `None`. Deleted occurrences are left out; modified ones carry their times.
pub fn occurrences(
    master: &CalendarItem,
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
) -> Vec<Occurrence> {
    let (Some(recurrence), Some(start), Some(end)) = (&master.recurrence, master.start, master.end)
    else {
        return Vec::new();
    };
    let duration = end - start;
    let time = local_start_time(master, start);
    let (first, last, count) = match &recurrence.range {
        RecurrenceRange::NoEnd { start_date } => (*start_date, None, None),
        RecurrenceRange::EndDate {
            start_date,
            end_date,
        } => (*start_date, Some(*end_date), None),
        RecurrenceRange::Numbered {
            start_date,
            number_of_occurrences,
        } => (
            *start_date,
            None,
            Some(u32::try_from(*number_of_occurrences).unwrap_or(0)),
        ),
    };
    let mut out = Vec::new();
    let mut index = 0u32;
    for offset in 0..MAX_DAYS {
        let Some(date) = first.checked_add_signed(Duration::days(offset)) else {
            break;
        };
        if last.is_some_and(|l| date > l) || count.is_some_and(|c| index >= c) {
            break;
        }
        let original_start = from_local(master, date.and_time(time));
        if original_start >= to {
            break;
        }
        if !pattern_matches(&recurrence.pattern, first, date) {
            continue;
        }
        index += 1;
        if master.deleted_occurrences.contains(&original_start) {
            continue;
        }
        let modified = master
            .modified_occurrences
            .iter()
            .find(|m| m.original_start == original_start);
        let (s, e) = modified.map_or((original_start, original_start + duration), |m| {
            (m.start, m.end)
        });
        if from.is_none_or(|f| e > f) && s < to {
            out.push(Occurrence {
                index,
                original_start,
                start: s,
                end: e,
                modified: modified.is_some(),
            });
        }
    }
    out
}

/// The occurrence with a 1-based index, whether or not it was deleted.
pub fn nth_original_start(master: &CalendarItem, index: u32) -> Option<DateTime<Utc>> {
    let recurrence = master.recurrence.as_ref()?;
    let start = master.start?;
    let first = match &recurrence.range {
        RecurrenceRange::NoEnd { start_date }
        | RecurrenceRange::EndDate { start_date, .. }
        | RecurrenceRange::Numbered { start_date, .. } => *start_date,
    };
    let mut n = 0u32;
    for offset in 0..MAX_DAYS {
        let date = first.checked_add_signed(Duration::days(offset))?;
        if let RecurrenceRange::EndDate { end_date, .. } = &recurrence.range
            && date > *end_date
        {
            return None;
        }
        if pattern_matches(&recurrence.pattern, first, date) {
            n += 1;
            if let RecurrenceRange::Numbered {
                number_of_occurrences,
                ..
            } = &recurrence.range
                && i64::from(n) > i64::from(*number_of_occurrences)
            {
                return None;
            }
            if n == index {
                return Some(from_local(
                    master,
                    date.and_time(local_start_time(master, start)),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use ews_client::types::calendar::OccurrenceInfo;
    use ews_client::types::recurrence::Recurrence;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn weekly_mo_we(count: i32) -> CalendarItem {
        CalendarItem {
            start: Some(t("2026-01-05T09:00:00Z")),
            end: Some(t("2026-01-05T10:00:00Z")),
            recurrence: Some(Recurrence {
                pattern: RecurrencePattern::Weekly {
                    interval: 1,
                    days_of_week: vec![DayOfWeek::Monday, DayOfWeek::Wednesday],
                    first_day_of_week: None,
                },
                range: RecurrenceRange::Numbered {
                    start_date: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
                    number_of_occurrences: count,
                },
            }),
            ..CalendarItem::default()
        }
    }

    #[test]
    fn weekly_series_expand_with_deleted_and_modified_occurrences() {
        let mut m = weekly_mo_we(6);
        let all = occurrences(&m, None, t("2027-01-01T00:00:00Z"));
        let starts: Vec<String> = all
            .iter()
            .map(|o| o.start.format("%m-%d").to_string())
            .collect();
        assert_eq!(
            starts,
            ["01-05", "01-07", "01-12", "01-14", "01-19", "01-21"]
        );
        m.deleted_occurrences.push(t("2026-01-07T09:00:00Z"));
        m.modified_occurrences.push(OccurrenceInfo {
            item_id: ews_client::types::ItemId::new("x"),
            start: t("2026-01-12T13:00:00Z"),
            end: t("2026-01-12T14:00:00Z"),
            original_start: t("2026-01-12T09:00:00Z"),
        });
        let window = occurrences(
            &m,
            Some(t("2026-01-06T00:00:00Z")),
            t("2026-01-15T00:00:00Z"),
        );
        let got: Vec<(u32, String, bool)> = window
            .iter()
            .map(|o| (o.index, o.start.format("%d %H").to_string(), o.modified))
            .collect();
        assert_eq!(got, [(3, "12 13".into(), true), (4, "14 09".into(), false)]);
        assert_eq!(nth_original_start(&m, 2), Some(t("2026-01-07T09:00:00Z")));
        assert_eq!(nth_original_start(&m, 7), None);
    }

    #[test]
    fn series_recur_at_local_time_across_daylight_saving() {
        use ews_client::types::timezone::TimeZoneDefinition;
        // Mondays 09:00 Europe/Berlin: 08:00Z in winter, 07:00Z in summer (DST starts 29 March)
        let mut m = CalendarItem {
            start: Some(t("2026-03-16T08:00:00Z")),
            end: Some(t("2026-03-16T09:00:00Z")),
            start_time_zone: Some(TimeZoneDefinition::windows("W. Europe Standard Time")),
            recurrence: Some(Recurrence {
                pattern: RecurrencePattern::Weekly {
                    interval: 1,
                    days_of_week: vec![DayOfWeek::Monday],
                    first_day_of_week: None,
                },
                range: RecurrenceRange::Numbered {
                    start_date: NaiveDate::from_ymd_opt(2026, 3, 16).unwrap(),
                    number_of_occurrences: 4,
                },
            }),
            ..CalendarItem::default()
        };
        let got: Vec<(String, String)> = occurrences(&m, None, t("2027-01-01T00:00:00Z"))
            .iter()
            .map(|o| {
                (
                    o.start.format("%m-%d %H:%M").to_string(),
                    o.end.format("%H:%M").to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("03-16 08:00".to_string(), "09:00".to_string()),
                ("03-23 08:00".to_string(), "09:00".to_string()),
                ("03-30 07:00".to_string(), "08:00".to_string()),
                ("04-06 07:00".to_string(), "08:00".to_string()),
            ]
        );
        assert_eq!(nth_original_start(&m, 3), Some(t("2026-03-30T07:00:00Z")));
        // a local date differs from the UTC date: Mondays 00:30 Berlin are Sundays 23:30Z
        m.start = Some(t("2026-03-15T23:30:00Z"));
        m.end = Some(t("2026-03-16T00:30:00Z"));
        let first = occurrences(&m, None, t("2027-01-01T00:00:00Z"));
        assert_eq!(first[0].start, t("2026-03-15T23:30:00Z"));
        assert_eq!(first[2].start, t("2026-03-29T22:30:00Z"));
        // without a time zone the series runs in UTC
        m.start_time_zone = None;
        m.start = Some(t("2026-03-16T08:00:00Z"));
        m.end = Some(t("2026-03-16T09:00:00Z"));
        assert_eq!(nth_original_start(&m, 3), Some(t("2026-03-30T08:00:00Z")));
        // a local time in the spring-forward gap (02:30 on 29 March) keeps the winter offset
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        m.start_time_zone = Some(TimeZoneDefinition::windows("W. Europe Standard Time"));
        assert_eq!(from_local(&m, gap), t("2026-03-29T01:30:00Z"));
    }

    #[test]
    fn monthly_and_yearly_patterns() {
        let mut m = weekly_mo_we(0);
        let r = m.recurrence.as_mut().unwrap();
        r.range = RecurrenceRange::EndDate {
            start_date: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2026, 4, 30).unwrap(),
        };
        r.pattern = RecurrencePattern::AbsoluteMonthly {
            interval: 1,
            day_of_month: 31,
        };
        let days: Vec<String> = occurrences(&m, None, t("2027-01-01T00:00:00Z"))
            .iter()
            .map(|o| o.start.format("%m-%d").to_string())
            .collect();
        assert_eq!(days, ["01-31", "02-28", "03-31", "04-30"]);
        let r = m.recurrence.as_mut().unwrap();
        r.pattern = RecurrencePattern::RelativeMonthly {
            interval: 1,
            days_of_week: DayOfWeek::Friday,
            day_of_week_index: DayOfWeekIndex::Last,
        };
        let days: Vec<String> = occurrences(&m, None, t("2027-01-01T00:00:00Z"))
            .iter()
            .map(|o| o.start.format("%m-%d").to_string())
            .collect();
        assert_eq!(
            days,
            ["02-27", "03-27", "04-24"],
            "the last Friday of January is before the start"
        );
    }
}
