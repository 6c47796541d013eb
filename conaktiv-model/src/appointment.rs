//! Appointments ("Termine") with attendees and recurrence.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AppointmentId, ProjectId};
pub use crate::recurrence::{
    ModifiedOccurrence, Recurrence, RecurrenceEnd, RecurrenceError, RecurrencePattern, RelativeDay,
    WeekOfMonth,
};

/// A person taking part in an appointment, or organising it.
///
/// The address is kept as text: Exchange may report Exchange-internal (`EX`) addresses,
/// which must not be rejected and lost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// E-mail address.
    pub address: String,
}

/// An attendee's role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendeeRole {
    /// Required attendee.
    #[default]
    Required,
    /// Optional attendee.
    Optional,
    /// A resource (room, projector).
    Resource,
}

/// An attendee's answer to the invitation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    /// Unknown.
    #[default]
    Unknown,
    /// The attendee is the organiser.
    Organizer,
    /// Tentatively accepted.
    Tentative,
    /// Accepted.
    Accepted,
    /// Declined.
    Declined,
    /// No response received yet.
    NoResponseReceived,
}

/// An attendee of an appointment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    /// Who.
    pub participant: Participant,
    /// Role.
    #[serde(default)]
    pub role: AttendeeRole,
    /// Response.
    #[serde(default)]
    pub response: ResponseStatus,
}

/// Privacy ("Vertraulichkeit") of an appointment or task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Normal.
    #[default]
    Normal,
    /// Personal.
    Personal,
    /// Private: others see only "busy".
    Private,
    /// Confidential.
    Confidential,
}

/// How the appointment shows in free/busy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusyStatus {
    /// Free.
    Free,
    /// Tentative.
    Tentative,
    /// Busy.
    #[default]
    Busy,
    /// Out of office.
    OutOfOffice,
    /// Working elsewhere.
    WorkingElsewhere,
    /// No data.
    NoData,
}

/// An appointment.
///
/// Start and end are instants (UTC) plus the IANA time zone the user entered them in
/// (`Europe/Berlin`); the Exchange adapter maps IANA names to Windows zone ids. An all-day
/// appointment starts at midnight of its first day in its time zone and ends at midnight
/// after its last day (see [`Appointment::all_day_dates`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Appointment {
    /// ConAktiv key; `None` for an appointment not yet stored in ConAktiv.
    pub id: Option<AppointmentId>,
    /// Subject.
    pub subject: String,
    /// Location.
    pub location: String,
    /// Body (plain text).
    pub body: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// IANA time zone of the start (`Europe/Berlin`).
    pub start_time_zone: String,
    /// End.
    pub end: DateTime<Utc>,
    /// IANA time zone of the end (usually the same as the start's).
    pub end_time_zone: String,
    /// All-day flag.
    pub all_day: bool,
    /// Organiser.
    pub organizer: Option<Participant>,
    /// Attendees.
    pub attendees: Vec<Attendee>,
    /// Reminder this many minutes before the start; `None` for no reminder.
    pub reminder_minutes_before: Option<u32>,
    /// Categories.
    pub categories: Vec<String>,
    /// Privacy.
    pub sensitivity: Sensitivity,
    /// Free/busy status.
    pub busy_status: BusyStatus,
    /// Recurrence, for a series.
    pub recurrence: Option<Recurrence>,
    /// The project the appointment belongs to.
    pub project: Option<ProjectId>,
}

/// Why an appointment is inconsistent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppointmentError {
    /// The end lies before the start.
    #[error("appointment ends before it starts")]
    EndsBeforeStart,
    /// A time zone name is empty.
    #[error("appointment has no time zone")]
    MissingTimeZone,
    /// The recurrence is inconsistent.
    #[error(transparent)]
    Recurrence(#[from] RecurrenceError),
}

impl Appointment {
    /// A single appointment in one time zone.
    pub fn new(
        subject: impl Into<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        time_zone: impl Into<String>,
    ) -> Self {
        let tz = time_zone.into();
        Self {
            subject: subject.into(),
            start,
            end,
            start_time_zone: tz.clone(),
            end_time_zone: tz,
            ..Self::default()
        }
    }

    /// The first and last day of an all-day appointment, as dates in UTC; `None` when the
    /// appointment is not all-day. (Callers with a time zone library convert the instants in
    /// [`Appointment::start_time_zone`] instead.)
    pub fn all_day_dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        if !self.all_day {
            return None;
        }
        let first = self.start.date_naive();
        let last = (self.end - chrono::Duration::seconds(1)).date_naive();
        Some((first, last.max(first)))
    }

    /// Checks the appointment for contradictions.
    pub fn validate(&self) -> Result<(), AppointmentError> {
        if self.end < self.start {
            return Err(AppointmentError::EndsBeforeStart);
        }
        if self.start_time_zone.trim().is_empty() || self.end_time_zone.trim().is_empty() {
            return Err(AppointmentError::MissingTimeZone);
        }
        if let Some(r) = &self.recurrence {
            r.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn validation() {
        let t = |h| {
            Utc.with_ymd_and_hms(2025, 3, 10, h, 0, 0)
                .single()
                .unwrap_or_default()
        };
        let ok = Appointment::new("Jour fixe", t(9), t(10), "Europe/Berlin");
        assert_eq!(ok.validate(), Ok(()));
        let backwards = Appointment::new("x", t(10), t(9), "Europe/Berlin");
        assert_eq!(backwards.validate(), Err(AppointmentError::EndsBeforeStart));
        let no_tz = Appointment::new("x", t(9), t(10), "");
        assert_eq!(no_tz.validate(), Err(AppointmentError::MissingTimeZone));
        let bad_series = Appointment {
            recurrence: Some(Recurrence::new(
                RecurrencePattern::Daily { interval: 0 },
                t(9).date_naive(),
            )),
            ..ok.clone()
        };
        assert_eq!(
            bad_series.validate(),
            Err(AppointmentError::Recurrence(RecurrenceError::ZeroInterval))
        );
    }

    #[test]
    fn all_day_dates() {
        let day = |d| {
            Utc.with_ymd_and_hms(2025, 3, d, 0, 0, 0)
                .single()
                .unwrap_or_default()
        };
        let mut a = Appointment::new("Messe", day(10), day(13), "UTC");
        assert_eq!(a.all_day_dates(), None);
        a.all_day = true;
        assert_eq!(
            a.all_day_dates(),
            Some((day(10).date_naive(), day(12).date_naive()))
        );
    }
}
