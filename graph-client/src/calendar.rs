//! Calendars and events: CRUD (`transactionId` makes a retried create safe), series masters,
//! `instances`, exceptions and cancelled occurrences, `calendarView` and its delta with a
//! window.

use http::Method;

use crate::client::{Mailbox, WriteOptions};
use crate::error::Error;
use crate::mail::has_id;
use crate::odata::{DeltaRound, DeltaStart, ListOptions, folder_path};
use crate::schema::{graph_enum, graph_struct};
use crate::types::{
    DateTimeTimeZone, EmailAddress, Importance, ItemBody, PatternedRecurrence, PhysicalAddress,
    Recipient, Sensitivity, SingleValueExtendedProperty,
};

graph_struct! {
    /// `calendar`.
    pub struct Calendar = "calendar" {
        "id" => id: String,
        "name" => name: String,
        "changeKey" => change_key: String,
        "canEdit" => can_edit: bool,
        "isDefaultCalendar" => is_default_calendar: bool,
        "owner" => owner: EmailAddress,
        "singleValueExtendedProperties" => single_value_extended_properties: Vec<SingleValueExtendedProperty>,
    }
}

graph_enum! {
    /// `eventType`.
    pub enum EventType = "eventType" {
        SingleInstance = "singleInstance",
        Occurrence = "occurrence",
        Exception = "exception",
        SeriesMaster = "seriesMaster",
    }
}

graph_enum! {
    /// `freeBusyStatus`.
    pub enum FreeBusyStatus = "freeBusyStatus" {
        Unknown = "unknown",
        Free = "free",
        Tentative = "tentative",
        Busy = "busy",
        Oof = "oof",
        WorkingElsewhere = "workingElsewhere",
    }
}

graph_enum! {
    /// `attendeeType`.
    pub enum AttendeeType = "attendeeType" {
        Required = "required",
        Optional = "optional",
        Resource = "resource",
    }
}

graph_enum! {
    /// `responseType`.
    pub enum ResponseType = "responseType" {
        NoResponse = "none",
        Organizer = "organizer",
        TentativelyAccepted = "tentativelyAccepted",
        Accepted = "accepted",
        Declined = "declined",
        NotResponded = "notResponded",
    }
}

graph_struct! {
    /// `responseStatus`.
    pub struct ResponseStatus = "responseStatus" {
        "response" => response: ResponseType,
        "time" => time: chrono::DateTime<chrono::Utc>,
    }
}

graph_struct! {
    /// `attendee`.
    pub struct Attendee = "attendee" {
        "emailAddress" => email_address: EmailAddress,
        "type" => kind: AttendeeType,
        "status" => status: ResponseStatus,
    }
}

graph_struct! {
    /// `location`.
    pub struct Location = "location" {
        "displayName" => display_name: String,
        "address" => address: PhysicalAddress,
        "locationEmailAddress" => location_email_address: String,
    }
}

graph_struct! {
    /// `event`.
    pub struct Event = "event" {
        "@odata.etag" => etag: String,
        "id" => id: String,
        "changeKey" => change_key: String,
        "categories" => categories: Vec<String>,
        "createdDateTime" => created_date_time: chrono::DateTime<chrono::Utc>,
        "lastModifiedDateTime" => last_modified_date_time: chrono::DateTime<chrono::Utc>,
        "transactionId" => transaction_id: String,
        "iCalUId" => ical_uid: String,
        "subject" => subject: String,
        "body" => body: ItemBody,
        "bodyPreview" => body_preview: String,
        "start" => start: DateTimeTimeZone,
        "end" => end: DateTimeTimeZone,
        "isAllDay" => is_all_day: bool,
        "location" => location: Location,
        "attendees" => attendees: Vec<Attendee>,
        "organizer" => organizer: Recipient,
        "showAs" => show_as: FreeBusyStatus,
        "sensitivity" => sensitivity: Sensitivity,
        "importance" => importance: Importance,
        "isReminderOn" => is_reminder_on: bool,
        "reminderMinutesBeforeStart" => reminder_minutes_before_start: i32,
        "isCancelled" => is_cancelled: bool,
        "recurrence" => recurrence: PatternedRecurrence,
        "type" => kind: EventType,
        "seriesMasterId" => series_master_id: String,
        "originalStart" => original_start: chrono::DateTime<chrono::Utc>,
        "originalStartTimeZone" => original_start_time_zone: String,
        "originalEndTimeZone" => original_end_time_zone: String,
        "cancelledOccurrences" => cancelled_occurrences: Vec<String>,
        "exceptionOccurrences" => exception_occurrences: Vec<Event>,
        "singleValueExtendedProperties" => single_value_extended_properties: Vec<SingleValueExtendedProperty>,
    }
}

has_id!(Calendar, Event);

/// A `calendarView` window: `startDateTime` and `endDateTime` (ISO 8601, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start (inclusive).
    pub start: chrono::DateTime<chrono::Utc>,
    /// End (exclusive).
    pub end: chrono::DateTime<chrono::Utc>,
}

impl Window {
    fn query(&self) -> Vec<(&'static str, String)> {
        let fmt =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        vec![
            ("startDateTime", fmt(self.start)),
            ("endDateTime", fmt(self.end)),
        ]
    }
}

fn events_path(calendar: Option<&str>) -> Vec<&str> {
    folder_path(calendar, "calendars", "events", "events")
}

impl Mailbox {
    /// The mailbox's calendars.
    pub async fn calendars(&self) -> Result<Vec<Calendar>, Error> {
        self.list_at(&["calendars"], &[], "calendars").await
    }

    /// Single events and series masters of a calendar (`None`: the default calendar);
    /// occurrences are not expanded.
    pub async fn events(
        &self,
        calendar: Option<&str>,
        options: &ListOptions,
    ) -> Result<Vec<Event>, Error> {
        self.list_at(&events_path(calendar), &options.query(), "events")
            .await
    }

    /// One event (an occurrence id gives the occurrence).
    pub async fn event(&self, id: &str, options: &ListOptions) -> Result<Event, Error> {
        self.get(&["events", id], &options.query(), "event").await
    }

    /// Creates an event. With a `transaction_id` set, Graph recognises a repeated create,
    /// so a failed attempt is retried safely; without it a create that may have happened
    /// fails with [`Error::outcome_unknown`].
    pub async fn create_event(
        &self,
        calendar: Option<&str>,
        event: &Event,
    ) -> Result<Event, Error> {
        let options = WriteOptions {
            if_match: None,
            idempotent: Some(event.transaction_id.is_some()),
        };
        self.send_json(
            Method::POST,
            &events_path(calendar),
            event,
            options,
            "event",
        )
        .await
    }

    /// Updates the properties in `patch` (the typed resource, or a `serde_json::Value` when a
    /// property must be cleared with `null`) (a series master, an occurrence, which
    /// becomes an exception, or a single event); with `etag`, 412 gives
    /// [`Error::Conflict`].
    pub async fn update_event(
        &self,
        id: &str,
        patch: &(impl serde::Serialize + Sync),
        etag: Option<&str>,
    ) -> Result<Event, Error> {
        self.update_entity(&["events", id], patch, etag, "event")
            .await
    }

    /// Deletes an event; for an occurrence id this cancels that occurrence of the series.
    pub async fn delete_event(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        self.delete_entity(&["events", id], etag).await
    }

    /// The occurrences and exceptions of a series in a window.
    pub async fn instances(
        &self,
        series_master_id: &str,
        window: Window,
        options: &ListOptions,
    ) -> Result<Vec<Event>, Error> {
        let mut query = window.query();
        query.extend(options.query());
        self.list_at(
            &["events", series_master_id, "instances"],
            &query,
            "instances",
        )
        .await
    }

    /// A series master with its exceptions and cancelled occurrences
    /// (`$expand=exceptionOccurrences`, `cancelledOccurrences`).
    pub async fn series_master(&self, id: &str) -> Result<Event, Error> {
        self.get(
            &["events", id],
            &[("$expand", "exceptionOccurrences".to_owned())],
            "event",
        )
        .await
    }

    /// The calendar view (occurrences expanded) of a window.
    pub async fn calendar_view(
        &self,
        calendar: Option<&str>,
        window: Window,
        options: &ListOptions,
    ) -> Result<Vec<Event>, Error> {
        let segments = folder_path(calendar, "calendars", "calendarView", "calendarView");
        let mut query = window.query();
        query.extend(options.query());
        self.list_at(&segments, &query, "calendar view").await
    }

    /// One delta round over the calendar view of a window; the window is fixed in the delta
    /// link, so `window` matters only for the initial round. Removed stubs carry only the id.
    pub async fn calendar_view_delta(
        &self,
        calendar: Option<&str>,
        window: Window,
        start: DeltaStart<'_>,
        page_size: Option<u32>,
    ) -> Result<DeltaRound<Event>, Error> {
        let mut segments = folder_path(calendar, "calendars", "calendarView", "calendarView");
        segments.push("delta");
        let url = self.url(&segments, &window.query())?;
        self.delta_round(url, start, page_size, "calendar view delta")
            .await
    }
}
