//! Recurrence of calendar items and tasks (`t:RecurrenceType`, `t:TaskRecurrenceType`):
//! a pattern (yearly, monthly, weekly, daily, or for tasks a regenerating one) and a range.

use super::ids::string_enum;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlValue, XmlWriter};
use chrono::NaiveDate;
use std::borrow::Cow;

string_enum! {
    /// A day of the week, or a day class (`t:DayOfWeekType`).
    DayOfWeek {
        /// Sunday.
        Sunday = "Sunday",
        /// Monday.
        Monday = "Monday",
        /// Tuesday.
        Tuesday = "Tuesday",
        /// Wednesday.
        Wednesday = "Wednesday",
        /// Thursday.
        Thursday = "Thursday",
        /// Friday.
        Friday = "Friday",
        /// Saturday.
        Saturday = "Saturday",
        /// Any day.
        Day = "Day",
        /// Any weekday (Monday to Friday).
        Weekday = "Weekday",
        /// Any weekend day.
        WeekendDay = "WeekendDay",
    }
}

impl DayOfWeek {
    /// The chrono weekday, for the seven single days.
    pub fn weekday(self) -> Option<chrono::Weekday> {
        use chrono::Weekday as W;
        Some(match self {
            DayOfWeek::Sunday => W::Sun,
            DayOfWeek::Monday => W::Mon,
            DayOfWeek::Tuesday => W::Tue,
            DayOfWeek::Wednesday => W::Wed,
            DayOfWeek::Thursday => W::Thu,
            DayOfWeek::Friday => W::Fri,
            DayOfWeek::Saturday => W::Sat,
            _ => return None,
        })
    }
}

string_enum! {
    /// Which occurrence of a weekday in a month (`t:DayOfWeekIndexType`).
    DayOfWeekIndex {
        /// First.
        First = "First",
        /// Second.
        Second = "Second",
        /// Third.
        Third = "Third",
        /// Fourth.
        Fourth = "Fourth",
        /// Last.
        Last = "Last",
    }
}

string_enum! {
    /// A month (`t:MonthNamesType`).
    Month {
        /// January.
        January = "January",
        /// February.
        February = "February",
        /// March.
        March = "March",
        /// April.
        April = "April",
        /// May.
        May = "May",
        /// June.
        June = "June",
        /// July.
        July = "July",
        /// August.
        August = "August",
        /// September.
        September = "September",
        /// October.
        October = "October",
        /// November.
        November = "November",
        /// December.
        December = "December",
    }
}

impl Month {
    /// The month number, 1 to 12.
    pub fn number(self) -> u32 {
        Month::ALL
            .iter()
            .position(|m| *m == self)
            .map_or(1, |i| i as u32 + 1)
    }

    /// The month for a number from 1 to 12.
    pub fn from_number(n: u32) -> Option<Month> {
        Month::ALL.get((n as usize).checked_sub(1)?).copied()
    }
}

/// A space-separated list of days (`t:DaysOfWeekType`), as in weekly patterns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DaysOfWeek(pub Vec<DayOfWeek>);

impl XmlValue for DaysOfWeek {
    fn to_xml_value(&self) -> Cow<'_, str> {
        Cow::Owned(
            self.0
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
    fn from_xml_value(text: &str) -> Result<Self, String> {
        text.split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(DaysOfWeek)
    }
}

/// How a series repeats. The `Regeneration` patterns exist for tasks only (a new occurrence
/// is created `interval` units after the previous one is completed); writing one inside a
/// calendar item's recurrence is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecurrencePattern {
    /// `t:RelativeYearlyRecurrence`: e.g. the last Friday of November.
    RelativeYearly {
        /// The day (or day class).
        days_of_week: DayOfWeek,
        /// Which occurrence in the month.
        day_of_week_index: DayOfWeekIndex,
        /// The month.
        month: Month,
    },
    /// `t:AbsoluteYearlyRecurrence`: e.g. every 24 December.
    AbsoluteYearly {
        /// The day of the month.
        day_of_month: i32,
        /// The month.
        month: Month,
    },
    /// `t:RelativeMonthlyRecurrence`: e.g. the second Tuesday every month.
    RelativeMonthly {
        /// Every `interval` months.
        interval: i32,
        /// The day (or day class).
        days_of_week: DayOfWeek,
        /// Which occurrence in the month.
        day_of_week_index: DayOfWeekIndex,
    },
    /// `t:AbsoluteMonthlyRecurrence`: e.g. the 15th every 2 months.
    AbsoluteMonthly {
        /// Every `interval` months.
        interval: i32,
        /// The day of the month.
        day_of_month: i32,
    },
    /// `t:WeeklyRecurrence`: e.g. Monday and Wednesday every week.
    Weekly {
        /// Every `interval` weeks.
        interval: i32,
        /// The days.
        days_of_week: Vec<DayOfWeek>,
        /// The first day of the week, for intervals above one.
        first_day_of_week: Option<DayOfWeek>,
    },
    /// `t:DailyRecurrence`: every `interval` days.
    Daily {
        /// Every `interval` days.
        interval: i32,
    },
    /// `t:DailyRegeneration` (tasks only).
    DailyRegeneration {
        /// Days after completion.
        interval: i32,
    },
    /// `t:WeeklyRegeneration` (tasks only).
    WeeklyRegeneration {
        /// Weeks after completion.
        interval: i32,
    },
    /// `t:MonthlyRegeneration` (tasks only).
    MonthlyRegeneration {
        /// Months after completion.
        interval: i32,
    },
    /// `t:YearlyRegeneration` (tasks only).
    YearlyRegeneration {
        /// Years after completion.
        interval: i32,
    },
}

impl RecurrencePattern {
    /// Whether this is a task-only regenerating pattern.
    pub fn is_regenerating(&self) -> bool {
        matches!(
            self,
            RecurrencePattern::DailyRegeneration { .. }
                | RecurrencePattern::WeeklyRegeneration { .. }
                | RecurrencePattern::MonthlyRegeneration { .. }
                | RecurrencePattern::YearlyRegeneration { .. }
        )
    }

    /// The element name of the pattern.
    pub fn element_name(&self) -> &'static str {
        match self {
            RecurrencePattern::RelativeYearly { .. } => "RelativeYearlyRecurrence",
            RecurrencePattern::AbsoluteYearly { .. } => "AbsoluteYearlyRecurrence",
            RecurrencePattern::RelativeMonthly { .. } => "RelativeMonthlyRecurrence",
            RecurrencePattern::AbsoluteMonthly { .. } => "AbsoluteMonthlyRecurrence",
            RecurrencePattern::Weekly { .. } => "WeeklyRecurrence",
            RecurrencePattern::Daily { .. } => "DailyRecurrence",
            RecurrencePattern::DailyRegeneration { .. } => "DailyRegeneration",
            RecurrencePattern::WeeklyRegeneration { .. } => "WeeklyRegeneration",
            RecurrencePattern::MonthlyRegeneration { .. } => "MonthlyRegeneration",
            RecurrencePattern::YearlyRegeneration { .. } => "YearlyRegeneration",
        }
    }

    /// Writes the pattern as its own element.
    pub fn write(&self, w: &mut XmlWriter) {
        let t = Ns::Types;
        w.element(t, self.element_name(), |w| match self {
            RecurrencePattern::RelativeYearly {
                days_of_week,
                day_of_week_index,
                month,
            } => {
                w.value(t, "DaysOfWeek", days_of_week);
                w.value(t, "DayOfWeekIndex", day_of_week_index);
                w.value(t, "Month", month);
            }
            RecurrencePattern::AbsoluteYearly {
                day_of_month,
                month,
            } => {
                w.value(t, "DayOfMonth", day_of_month);
                w.value(t, "Month", month);
            }
            RecurrencePattern::RelativeMonthly {
                interval,
                days_of_week,
                day_of_week_index,
            } => {
                w.value(t, "Interval", interval);
                w.value(t, "DaysOfWeek", days_of_week);
                w.value(t, "DayOfWeekIndex", day_of_week_index);
            }
            RecurrencePattern::AbsoluteMonthly {
                interval,
                day_of_month,
            } => {
                w.value(t, "Interval", interval);
                w.value(t, "DayOfMonth", day_of_month);
            }
            RecurrencePattern::Weekly {
                interval,
                days_of_week,
                first_day_of_week,
            } => {
                w.value(t, "Interval", interval);
                w.value(t, "DaysOfWeek", &DaysOfWeek(days_of_week.clone()));
                w.opt_value(t, "FirstDayOfWeek", first_day_of_week.as_ref());
            }
            RecurrencePattern::Daily { interval }
            | RecurrencePattern::DailyRegeneration { interval }
            | RecurrencePattern::WeeklyRegeneration { interval }
            | RecurrencePattern::MonthlyRegeneration { interval }
            | RecurrencePattern::YearlyRegeneration { interval } => {
                w.value(t, "Interval", interval);
            }
        });
    }

    /// Reads a pattern element; `None` (left unread) if `start` is not one.
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Self>, XmlError> {
        if start.ns() != Ns::Types {
            return Ok(None);
        }
        let kind = start.local();
        if !matches!(
            kind,
            "RelativeYearlyRecurrence"
                | "AbsoluteYearlyRecurrence"
                | "RelativeMonthlyRecurrence"
                | "AbsoluteMonthlyRecurrence"
                | "WeeklyRecurrence"
                | "DailyRecurrence"
                | "DailyRegeneration"
                | "WeeklyRegeneration"
                | "MonthlyRegeneration"
                | "YearlyRegeneration"
        ) {
            return Ok(None);
        }
        let kind = kind.to_owned();
        let mut interval: Option<i32> = None;
        let mut days: Option<DaysOfWeek> = None;
        let mut index: Option<DayOfWeekIndex> = None;
        let mut month: Option<Month> = None;
        let mut day_of_month: Option<i32> = None;
        let mut first_day: Option<DayOfWeek> = None;
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "Interval" => interval = Some(r.value(&c)?),
                "DaysOfWeek" => days = Some(r.value(&c)?),
                "DayOfWeekIndex" => index = Some(r.value(&c)?),
                "Month" => month = Some(r.value(&c)?),
                "DayOfMonth" => day_of_month = Some(r.value(&c)?),
                "FirstDayOfWeek" => first_day = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        let one_day = |days: Option<DaysOfWeek>| -> Result<DayOfWeek, XmlError> {
            let days = r.required(start, days, "DaysOfWeek")?;
            match days.0.as_slice() {
                [d] => Ok(*d),
                _ => Err(r.invalid(start, &days.to_xml_value(), "expected exactly one day")),
            }
        };
        let pattern = match kind.as_str() {
            "RelativeYearlyRecurrence" => RecurrencePattern::RelativeYearly {
                days_of_week: one_day(days)?,
                day_of_week_index: r.required(start, index, "DayOfWeekIndex")?,
                month: r.required(start, month, "Month")?,
            },
            "AbsoluteYearlyRecurrence" => RecurrencePattern::AbsoluteYearly {
                day_of_month: r.required(start, day_of_month, "DayOfMonth")?,
                month: r.required(start, month, "Month")?,
            },
            "RelativeMonthlyRecurrence" => RecurrencePattern::RelativeMonthly {
                interval: r.required(start, interval, "Interval")?,
                days_of_week: one_day(days)?,
                day_of_week_index: r.required(start, index, "DayOfWeekIndex")?,
            },
            "AbsoluteMonthlyRecurrence" => RecurrencePattern::AbsoluteMonthly {
                interval: r.required(start, interval, "Interval")?,
                day_of_month: r.required(start, day_of_month, "DayOfMonth")?,
            },
            "WeeklyRecurrence" => RecurrencePattern::Weekly {
                interval: r.required(start, interval, "Interval")?,
                days_of_week: r.required(start, days, "DaysOfWeek")?.0,
                first_day_of_week: first_day,
            },
            other => {
                let interval = r.required(start, interval, "Interval")?;
                match other {
                    "DailyRecurrence" => RecurrencePattern::Daily { interval },
                    "DailyRegeneration" => RecurrencePattern::DailyRegeneration { interval },
                    "WeeklyRegeneration" => RecurrencePattern::WeeklyRegeneration { interval },
                    "MonthlyRegeneration" => RecurrencePattern::MonthlyRegeneration { interval },
                    _ => RecurrencePattern::YearlyRegeneration { interval },
                }
            }
        };
        Ok(Some(pattern))
    }
}

/// When a series starts and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecurrenceRange {
    /// `t:NoEndRecurrence`.
    NoEnd {
        /// First day of the series.
        start_date: NaiveDate,
    },
    /// `t:EndDateRecurrence`.
    EndDate {
        /// First day of the series.
        start_date: NaiveDate,
        /// Last day of the series.
        end_date: NaiveDate,
    },
    /// `t:NumberedRecurrence`.
    Numbered {
        /// First day of the series.
        start_date: NaiveDate,
        /// How many occurrences.
        number_of_occurrences: i32,
    },
}

impl RecurrenceRange {
    /// The first day of the series.
    pub fn start_date(&self) -> NaiveDate {
        match self {
            RecurrenceRange::NoEnd { start_date }
            | RecurrenceRange::EndDate { start_date, .. }
            | RecurrenceRange::Numbered { start_date, .. } => *start_date,
        }
    }

    /// Writes the range as its own element.
    pub fn write(&self, w: &mut XmlWriter) {
        let t = Ns::Types;
        match self {
            RecurrenceRange::NoEnd { start_date } => w.element(t, "NoEndRecurrence", |w| {
                w.value(t, "StartDate", start_date)
            }),
            RecurrenceRange::EndDate {
                start_date,
                end_date,
            } => w.element(t, "EndDateRecurrence", |w| {
                w.value(t, "StartDate", start_date);
                w.value(t, "EndDate", end_date);
            }),
            RecurrenceRange::Numbered {
                start_date,
                number_of_occurrences,
            } => w.element(t, "NumberedRecurrence", |w| {
                w.value(t, "StartDate", start_date);
                w.value(t, "NumberOfOccurrences", number_of_occurrences);
            }),
        }
    }

    /// Reads a range element; `None` (left unread) if `start` is not one.
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Self>, XmlError> {
        if start.ns() != Ns::Types
            || !matches!(
                start.local(),
                "NoEndRecurrence" | "EndDateRecurrence" | "NumberedRecurrence"
            )
        {
            return Ok(None);
        }
        let kind = start.local().to_owned();
        let mut start_date: Option<NaiveDate> = None;
        let mut end_date: Option<NaiveDate> = None;
        let mut count: Option<i32> = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Types, "StartDate") {
                start_date = Some(r.value(&c)?);
            } else if c.is(Ns::Types, "EndDate") {
                end_date = Some(r.value(&c)?);
            } else if c.is(Ns::Types, "NumberOfOccurrences") {
                count = Some(r.value(&c)?);
            } else {
                r.skip(&c)?;
            }
        }
        let start_date = r.required(start, start_date, "StartDate")?;
        Ok(Some(match kind.as_str() {
            "NoEndRecurrence" => RecurrenceRange::NoEnd { start_date },
            "EndDateRecurrence" => RecurrenceRange::EndDate {
                start_date,
                end_date: r.required(start, end_date, "EndDate")?,
            },
            _ => RecurrenceRange::Numbered {
                start_date,
                number_of_occurrences: r.required(start, count, "NumberOfOccurrences")?,
            },
        }))
    }
}

/// A recurrence (`t:Recurrence` of a calendar item or task): pattern and range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// How it repeats.
    pub pattern: RecurrencePattern,
    /// When it starts and ends.
    pub range: RecurrenceRange,
}

impl WriteXml for Recurrence {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.pattern.write(w);
            self.range.write(w);
        });
    }
}

impl ReadXml for Recurrence {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut pattern = None;
        let mut range = None;
        while let Some(c) = r.next_child(start)? {
            if let Some(p) = RecurrencePattern::try_read(r, &c)? {
                pattern = Some(p);
            } else if let Some(x) = RecurrenceRange::try_read(r, &c)? {
                range = Some(x);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            pattern: r.required(start, pattern, "a recurrence pattern")?,
            range: r.required(start, range, "a recurrence range")?,
        })
    }
}
