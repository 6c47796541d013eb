//! Recurrence of appointments and tasks: a pattern (daily, weekly, monthly, yearly), a range
//! (never ending, after N occurrences, by a date), and the exceptions (modified and deleted
//! occurrences).

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// Which week of the month a relative monthly or yearly pattern means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeekOfMonth {
    /// The first week.
    First,
    /// The second week.
    Second,
    /// The third week.
    Third,
    /// The fourth week.
    Fourth,
    /// The last week.
    Last,
}

/// Which day a relative pattern means: a weekday, or Exchange's "day", "weekday" and
/// "weekend day" groups ("the last weekday of the month").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelativeDay {
    /// A specific weekday.
    Weekday(Weekday),
    /// Any day.
    Day,
    /// Monday to Friday.
    WorkDay,
    /// Saturday or Sunday.
    WeekendDay,
}

/// How the occurrences repeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecurrencePattern {
    /// Every `interval` days.
    Daily {
        /// Days between occurrences (at least 1).
        interval: u32,
    },
    /// Every `interval` weeks on the given weekdays.
    Weekly {
        /// Weeks between occurrences (at least 1).
        interval: u32,
        /// The weekdays (at least one).
        days: Vec<Weekday>,
        /// The first day of the week (matters for intervals above 1).
        first_day_of_week: Weekday,
    },
    /// Every `interval` months on a day of the month ("on the 15th").
    MonthlyAbsolute {
        /// Months between occurrences (at least 1).
        interval: u32,
        /// Day of the month, 1 to 31 (short months use their last day).
        day_of_month: u32,
    },
    /// Every `interval` months on a relative day ("the second Tuesday").
    MonthlyRelative {
        /// Months between occurrences (at least 1).
        interval: u32,
        /// Which week.
        week: WeekOfMonth,
        /// Which day.
        day: RelativeDay,
    },
    /// Every year on a date ("on 24 December").
    YearlyAbsolute {
        /// Month, 1 to 12.
        month: u32,
        /// Day of the month, 1 to 31.
        day_of_month: u32,
    },
    /// Every year on a relative day ("the last Friday in November").
    YearlyRelative {
        /// Month, 1 to 12.
        month: u32,
        /// Which week.
        week: WeekOfMonth,
        /// Which day.
        day: RelativeDay,
    },
}

/// When the recurrence ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecurrenceEnd {
    /// It never ends.
    #[default]
    Never,
    /// After this many occurrences (at least 1).
    AfterOccurrences(u32),
    /// On this date (the last occurrence is on or before it).
    ByDate(NaiveDate),
}

/// An occurrence that was moved or changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifiedOccurrence {
    /// The start the occurrence would have had without the change (identifies it).
    pub original_start: DateTime<Utc>,
    /// Its new start.
    pub start: DateTime<Utc>,
    /// Its new end.
    pub end: DateTime<Utc>,
    /// A changed subject, if it differs from the series.
    #[serde(default)]
    pub subject: Option<String>,
    /// A changed location, if it differs from the series.
    #[serde(default)]
    pub location: Option<String>,
    /// A changed body, if it differs from the series.
    #[serde(default)]
    pub body: Option<String>,
}

/// A recurring series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    /// How the occurrences repeat.
    pub pattern: RecurrencePattern,
    /// The first day of the series.
    pub start_date: NaiveDate,
    /// When the series ends.
    #[serde(default)]
    pub end: RecurrenceEnd,
    /// Occurrences moved or changed.
    #[serde(default)]
    pub modified_occurrences: Vec<ModifiedOccurrence>,
    /// Original start dates of deleted occurrences.
    #[serde(default)]
    pub deleted_occurrences: Vec<NaiveDate>,
}

/// Why a recurrence is inconsistent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecurrenceError {
    /// An interval of 0.
    #[error("recurrence interval must be at least 1")]
    ZeroInterval,
    /// A weekly pattern without weekdays.
    #[error("a weekly recurrence needs at least one weekday")]
    NoWeekdays,
    /// A day of the month outside 1 to 31.
    #[error("day of month must be 1 to 31, got {0}")]
    DayOfMonth(u32),
    /// A month outside 1 to 12.
    #[error("month must be 1 to 12, got {0}")]
    Month(u32),
    /// "End after 0 occurrences".
    #[error("a recurrence that ends after N occurrences needs N of at least 1")]
    ZeroOccurrences,
    /// An end date before the start date.
    #[error("recurrence ends on {end} before it starts on {start}")]
    EndsBeforeStart {
        /// The first day.
        start: NaiveDate,
        /// The end date.
        end: NaiveDate,
    },
    /// A modified occurrence that ends before it starts.
    #[error("modified occurrence of {0} ends before it starts")]
    OccurrenceEndsBeforeStart(DateTime<Utc>),
}

impl Recurrence {
    /// A series starting on `start_date` that never ends and has no exceptions.
    pub fn new(pattern: RecurrencePattern, start_date: NaiveDate) -> Self {
        Self {
            pattern,
            start_date,
            end: RecurrenceEnd::Never,
            modified_occurrences: Vec::new(),
            deleted_occurrences: Vec::new(),
        }
    }

    /// Checks the series for contradictions.
    pub fn validate(&self) -> Result<(), RecurrenceError> {
        use RecurrencePattern as P;
        let check_interval = |i: u32| {
            if i == 0 {
                Err(RecurrenceError::ZeroInterval)
            } else {
                Ok(())
            }
        };
        let check_day = |d: u32| {
            if (1..=31).contains(&d) {
                Ok(())
            } else {
                Err(RecurrenceError::DayOfMonth(d))
            }
        };
        let check_month = |m: u32| {
            if (1..=12).contains(&m) {
                Ok(())
            } else {
                Err(RecurrenceError::Month(m))
            }
        };
        match &self.pattern {
            P::Daily { interval } => check_interval(*interval)?,
            P::Weekly { interval, days, .. } => {
                check_interval(*interval)?;
                if days.is_empty() {
                    return Err(RecurrenceError::NoWeekdays);
                }
            }
            P::MonthlyAbsolute {
                interval,
                day_of_month,
            } => {
                check_interval(*interval)?;
                check_day(*day_of_month)?;
            }
            P::MonthlyRelative { interval, .. } => check_interval(*interval)?,
            P::YearlyAbsolute {
                month,
                day_of_month,
            } => {
                check_month(*month)?;
                check_day(*day_of_month)?;
            }
            P::YearlyRelative { month, .. } => check_month(*month)?,
        }
        match self.end {
            RecurrenceEnd::Never => {}
            RecurrenceEnd::AfterOccurrences(0) => return Err(RecurrenceError::ZeroOccurrences),
            RecurrenceEnd::AfterOccurrences(_) => {}
            RecurrenceEnd::ByDate(end) if end < self.start_date => {
                return Err(RecurrenceError::EndsBeforeStart {
                    start: self.start_date,
                    end,
                });
            }
            RecurrenceEnd::ByDate(_) => {}
        }
        if let Some(m) = self.modified_occurrences.iter().find(|m| m.end < m.start) {
            return Err(RecurrenceError::OccurrenceEndsBeforeStart(m.original_start));
        }
        Ok(())
    }
}

/// Days of the month that match a relative day spec, in order.
fn matching_days_in_month(year: i32, month: u32, day: RelativeDay) -> Vec<NaiveDate> {
    let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return Vec::new();
    };
    first
        .iter_days()
        .take_while(|d| d.month() == month)
        .filter(|d| {
            let wd = d.weekday();
            match day {
                RelativeDay::Weekday(w) => wd == w,
                RelativeDay::Day => true,
                RelativeDay::WorkDay => !matches!(wd, Weekday::Sat | Weekday::Sun),
                RelativeDay::WeekendDay => matches!(wd, Weekday::Sat | Weekday::Sun),
            }
        })
        .collect()
}

fn is_relative_match(date: NaiveDate, week: WeekOfMonth, day: RelativeDay) -> bool {
    let days = matching_days_in_month(date.year(), date.month(), day);
    let pick = match week {
        WeekOfMonth::First => days.first(),
        WeekOfMonth::Second => days.get(1),
        WeekOfMonth::Third => days.get(2),
        WeekOfMonth::Fourth => days.get(3),
        WeekOfMonth::Last => days.last(),
    };
    pick == Some(&date)
}

/// `day_of_month`, or the month's last day when the month is shorter.
fn is_absolute_match(date: NaiveDate, day_of_month: u32) -> bool {
    let last = (28..=31)
        .rev()
        .find(|&d| NaiveDate::from_ymd_opt(date.year(), date.month(), d).is_some())
        .unwrap_or(28);
    date.day() == day_of_month.min(last)
}

fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (i64::from(to.year()) - i64::from(from.year())) * 12 + i64::from(to.month())
        - i64::from(from.month())
}

impl RecurrencePattern {
    /// Whether `date` is an occurrence of a series that starts on `start` (ignoring the end).
    pub fn matches(&self, start: NaiveDate, date: NaiveDate) -> bool {
        if date < start {
            return false;
        }
        let every = |n: i64, interval: u32| interval > 0 && n % i64::from(interval) == 0;
        match self {
            Self::Daily { interval } => every((date - start).num_days(), *interval),
            Self::Weekly {
                interval,
                days,
                first_day_of_week,
            } => {
                let week_start = |d: NaiveDate| {
                    let back = (7 + d.weekday().num_days_from_monday()
                        - first_day_of_week.num_days_from_monday())
                        % 7;
                    d - Days::new(u64::from(back))
                };
                let weeks = (week_start(date) - week_start(start)).num_days() / 7;
                days.contains(&date.weekday()) && every(weeks, *interval)
            }
            Self::MonthlyAbsolute {
                interval,
                day_of_month,
            } => {
                every(months_between(start, date), *interval)
                    && is_absolute_match(date, *day_of_month)
            }
            Self::MonthlyRelative {
                interval,
                week,
                day,
            } => {
                every(months_between(start, date), *interval)
                    && is_relative_match(date, *week, *day)
            }
            Self::YearlyAbsolute {
                month,
                day_of_month,
            } => date.month() == *month && is_absolute_match(date, *day_of_month),
            Self::YearlyRelative { month, week, day } => {
                date.month() == *month && is_relative_match(date, *week, *day)
            }
        }
    }
}

impl Recurrence {
    /// The dates of the series' occurrences up to and including `until`, at most `limit` of
    /// them, without the deleted occurrences. Modified occurrences are listed under their
    /// original date. "End after N occurrences" counts deleted occurrences too, as Exchange
    /// does.
    pub fn occurrence_dates(&self, until: NaiveDate, limit: usize) -> Vec<NaiveDate> {
        let last = match self.end {
            RecurrenceEnd::ByDate(end) => end.min(until),
            _ => until,
        };
        let max_count = match self.end {
            RecurrenceEnd::AfterOccurrences(n) => usize::try_from(n).unwrap_or(usize::MAX),
            _ => usize::MAX,
        };
        let mut out = Vec::new();
        let mut counted = 0usize;
        for date in self.start_date.iter_days() {
            if date > last || counted >= max_count || out.len() >= limit {
                break;
            }
            if self.pattern.matches(self.start_date, date) {
                counted += 1;
                if !self.deleted_occurrences.contains(&date) {
                    out.push(date);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn validation_table() {
        let start = date(2025, 1, 6);
        let weekly = |days: Vec<Weekday>| RecurrencePattern::Weekly {
            interval: 1,
            days,
            first_day_of_week: Weekday::Mon,
        };
        let cases: Vec<(Recurrence, Option<RecurrenceError>)> = vec![
            (
                Recurrence::new(RecurrencePattern::Daily { interval: 1 }, start),
                None,
            ),
            (
                Recurrence::new(RecurrencePattern::Daily { interval: 0 }, start),
                Some(RecurrenceError::ZeroInterval),
            ),
            (
                Recurrence::new(weekly(vec![Weekday::Mon, Weekday::Thu]), start),
                None,
            ),
            (
                Recurrence::new(weekly(vec![]), start),
                Some(RecurrenceError::NoWeekdays),
            ),
            (
                Recurrence::new(
                    RecurrencePattern::MonthlyAbsolute {
                        interval: 1,
                        day_of_month: 32,
                    },
                    start,
                ),
                Some(RecurrenceError::DayOfMonth(32)),
            ),
            (
                Recurrence::new(
                    RecurrencePattern::MonthlyRelative {
                        interval: 2,
                        week: WeekOfMonth::Second,
                        day: RelativeDay::Weekday(Weekday::Tue),
                    },
                    start,
                ),
                None,
            ),
            (
                Recurrence::new(
                    RecurrencePattern::YearlyAbsolute {
                        month: 13,
                        day_of_month: 1,
                    },
                    start,
                ),
                Some(RecurrenceError::Month(13)),
            ),
            (
                Recurrence::new(
                    RecurrencePattern::YearlyRelative {
                        month: 11,
                        week: WeekOfMonth::Last,
                        day: RelativeDay::WorkDay,
                    },
                    start,
                ),
                None,
            ),
            (
                Recurrence {
                    end: RecurrenceEnd::AfterOccurrences(0),
                    ..Recurrence::new(RecurrencePattern::Daily { interval: 1 }, start)
                },
                Some(RecurrenceError::ZeroOccurrences),
            ),
            (
                Recurrence {
                    end: RecurrenceEnd::AfterOccurrences(10),
                    ..Recurrence::new(RecurrencePattern::Daily { interval: 1 }, start)
                },
                None,
            ),
            (
                Recurrence {
                    end: RecurrenceEnd::ByDate(date(2024, 12, 31)),
                    ..Recurrence::new(RecurrencePattern::Daily { interval: 1 }, start)
                },
                Some(RecurrenceError::EndsBeforeStart {
                    start,
                    end: date(2024, 12, 31),
                }),
            ),
            (
                Recurrence {
                    end: RecurrenceEnd::ByDate(date(2025, 12, 31)),
                    deleted_occurrences: vec![date(2025, 1, 7)],
                    ..Recurrence::new(RecurrencePattern::Daily { interval: 1 }, start)
                },
                None,
            ),
        ];
        for (recurrence, expected) in cases {
            assert_eq!(recurrence.validate().err(), expected, "{recurrence:?}");
        }
    }

    #[test]
    fn occurrence_dates_by_pattern() {
        let d = |y, m, day| date(y, m, day);
        let until = d(2025, 12, 31);
        let cases: Vec<(RecurrencePattern, NaiveDate, RecurrenceEnd, Vec<NaiveDate>)> = vec![
            (
                RecurrencePattern::Daily { interval: 2 },
                d(2025, 1, 1),
                RecurrenceEnd::AfterOccurrences(3),
                vec![d(2025, 1, 1), d(2025, 1, 3), d(2025, 1, 5)],
            ),
            (
                // every second week on Monday and Thursday; 2025-01-06 is a Monday
                RecurrencePattern::Weekly {
                    interval: 2,
                    days: vec![Weekday::Mon, Weekday::Thu],
                    first_day_of_week: Weekday::Mon,
                },
                d(2025, 1, 6),
                RecurrenceEnd::ByDate(d(2025, 1, 31)),
                vec![d(2025, 1, 6), d(2025, 1, 9), d(2025, 1, 20), d(2025, 1, 23)],
            ),
            (
                // the 31st, shortened in short months
                RecurrencePattern::MonthlyAbsolute {
                    interval: 1,
                    day_of_month: 31,
                },
                d(2025, 1, 1),
                RecurrenceEnd::AfterOccurrences(4),
                vec![
                    d(2025, 1, 31),
                    d(2025, 2, 28),
                    d(2025, 3, 31),
                    d(2025, 4, 30),
                ],
            ),
            (
                // the last Friday, every second month
                RecurrencePattern::MonthlyRelative {
                    interval: 2,
                    week: WeekOfMonth::Last,
                    day: RelativeDay::Weekday(Weekday::Fri),
                },
                d(2025, 1, 1),
                RecurrenceEnd::AfterOccurrences(3),
                vec![d(2025, 1, 31), d(2025, 3, 28), d(2025, 5, 30)],
            ),
            (
                // the first work day of the month; 2025-03-01 is a Saturday
                RecurrencePattern::MonthlyRelative {
                    interval: 1,
                    week: WeekOfMonth::First,
                    day: RelativeDay::WorkDay,
                },
                d(2025, 3, 1),
                RecurrenceEnd::AfterOccurrences(2),
                vec![d(2025, 3, 3), d(2025, 4, 1)],
            ),
            (
                RecurrencePattern::YearlyAbsolute {
                    month: 2,
                    day_of_month: 29,
                },
                d(2023, 1, 1),
                RecurrenceEnd::AfterOccurrences(3),
                vec![d(2023, 2, 28), d(2024, 2, 29), d(2025, 2, 28)],
            ),
            (
                // the fourth Thursday in November
                RecurrencePattern::YearlyRelative {
                    month: 11,
                    week: WeekOfMonth::Fourth,
                    day: RelativeDay::Weekday(Weekday::Thu),
                },
                d(2024, 1, 1),
                RecurrenceEnd::Never,
                vec![d(2024, 11, 28), d(2025, 11, 27)],
            ),
        ];
        for (pattern, start, end, expected) in cases {
            let r = Recurrence {
                end,
                ..Recurrence::new(pattern, start)
            };
            assert_eq!(r.validate(), Ok(()), "{r:?}");
            assert_eq!(r.occurrence_dates(until, 100), expected, "{r:?}");
        }
    }

    #[test]
    fn deleted_occurrences_are_skipped_but_counted() {
        let r = Recurrence {
            end: RecurrenceEnd::AfterOccurrences(3),
            deleted_occurrences: vec![date(2025, 1, 2)],
            ..Recurrence::new(RecurrencePattern::Daily { interval: 1 }, date(2025, 1, 1))
        };
        assert_eq!(
            r.occurrence_dates(date(2025, 12, 31), 10),
            vec![date(2025, 1, 1), date(2025, 1, 3)]
        );
        let never = Recurrence::new(RecurrencePattern::Daily { interval: 1 }, date(2025, 1, 1));
        assert_eq!(never.occurrence_dates(date(2030, 1, 1), 5).len(), 5);
        assert!(never.occurrence_dates(date(2024, 1, 1), 5).is_empty());
    }
}
