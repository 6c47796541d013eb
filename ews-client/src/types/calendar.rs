//! Calendar items (`t:CalendarItem`, `t:CalendarItemType`): appointments and meetings with
//! attendees, recurrence, modified and deleted occurrences and time zones.

use super::fields::item_fields;
use super::ids::{ItemId, string_enum};
use super::mailbox::EmailAddress;
use super::recurrence::Recurrence;
use super::timezone::{LegacyTimeZone, TimeZoneDefinition};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

string_enum! {
    /// Free/busy status (`t:LegacyFreeBusyType`).
    LegacyFreeBusy {
        /// Free.
        Free = "Free",
        /// Tentative.
        Tentative = "Tentative",
        /// Busy.
        Busy = "Busy",
        /// Out of office.
        Oof = "OOF",
        /// Working elsewhere.
        WorkingElsewhere = "WorkingElsewhere",
        /// No data.
        NoData = "NoData",
    }
}

string_enum! {
    /// An attendee's response (`t:ResponseTypeType`).
    ResponseType {
        /// Unknown.
        Unknown = "Unknown",
        /// The organizer.
        Organizer = "Organizer",
        /// Tentatively accepted.
        Tentative = "Tentative",
        /// Accepted.
        Accept = "Accept",
        /// Declined.
        Decline = "Decline",
        /// No response yet.
        NoResponseReceived = "NoResponseReceived",
    }
}

string_enum! {
    /// What a calendar item is within a series (`t:CalendarItemTypeType`).
    CalendarItemType {
        /// A single appointment.
        Single = "Single",
        /// An occurrence of a series.
        Occurrence = "Occurrence",
        /// A modified occurrence.
        Exception = "Exception",
        /// The series' master.
        RecurringMaster = "RecurringMaster",
    }
}

/// A meeting attendee (`t:Attendee`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attendee {
    /// The attendee's mailbox.
    pub mailbox: EmailAddress,
    /// The attendee's response.
    pub response_type: Option<ResponseType>,
    /// When the attendee responded last.
    pub last_response_time: Option<DateTime<Utc>>,
    /// A proposed new start.
    pub proposed_start: Option<DateTime<Utc>>,
    /// A proposed new end.
    pub proposed_end: Option<DateTime<Utc>>,
}

impl Attendee {
    /// An attendee with an SMTP address and no response.
    pub fn smtp(address: impl Into<String>, name: Option<&str>) -> Self {
        Self {
            mailbox: EmailAddress::smtp(address, name),
            ..Self::default()
        }
    }
}

impl WriteXml for Attendee {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let t = Ns::Types;
        w.element(ns, name, |w| {
            self.mailbox.write_xml(w, t, "Mailbox");
            w.opt_value(t, "ResponseType", self.response_type.as_ref());
            w.opt_value(t, "LastResponseTime", self.last_response_time.as_ref());
            w.opt_value(t, "ProposedStart", self.proposed_start.as_ref());
            w.opt_value(t, "ProposedEnd", self.proposed_end.as_ref());
        });
    }
}

impl ReadXml for Attendee {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut x = Self::default();
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "Mailbox" => x.mailbox = EmailAddress::read_xml(r, &c)?,
                "ResponseType" => x.response_type = Some(r.value(&c)?),
                "LastResponseTime" => x.last_response_time = Some(r.value(&c)?),
                "ProposedStart" => x.proposed_start = Some(r.value(&c)?),
                "ProposedEnd" => x.proposed_end = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(x)
    }
}

/// An occurrence of a series (`t:OccurrenceInfoType`), as in `ModifiedOccurrences`,
/// `FirstOccurrence` and `LastOccurrence`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OccurrenceInfo {
    /// The occurrence's item id.
    pub item_id: ItemId,
    /// Its start.
    pub start: DateTime<Utc>,
    /// Its end.
    pub end: DateTime<Utc>,
    /// The start it had in the series pattern.
    pub original_start: DateTime<Utc>,
}

impl WriteXml for OccurrenceInfo {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let t = Ns::Types;
        w.element(ns, name, |w| {
            self.item_id.write_xml(w, t, "ItemId");
            w.value(t, "Start", &self.start);
            w.value(t, "End", &self.end);
            w.value(t, "OriginalStart", &self.original_start);
        });
    }
}

impl ReadXml for OccurrenceInfo {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let (mut id, mut s, mut e, mut o) = (None, None, None, None);
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Types, "ItemId") {
                id = Some(ItemId::read_xml(r, &c)?);
            } else if c.is(Ns::Types, "Start") {
                s = Some(r.value(&c)?);
            } else if c.is(Ns::Types, "End") {
                e = Some(r.value(&c)?);
            } else if c.is(Ns::Types, "OriginalStart") {
                o = Some(r.value(&c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            item_id: r.required(start, id, "ItemId")?,
            start: r.required(start, s, "Start")?,
            end: r.required(start, e, "End")?,
            original_start: r.required(start, o, "OriginalStart")?,
        })
    }
}

item_fields! {
    /// A calendar item (`t:CalendarItem`). Subject, body, sensitivity, `ReminderIsSet` and
    /// `ReminderMinutesBeforeStart` are in [`ItemCommon`](super::item::ItemCommon).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct CalendarItem: ItemCommon {
        /// The iCalendar UID, shared by all copies of a meeting.
        uid: Option<String> => "UID" value, ro "calendar:UID";
        /// The original start of an occurrence (iCalendar `RECURRENCE-ID`).
        recurrence_id: Option<DateTime<Utc>> => "RecurrenceId" value, ro "calendar:RecurrenceId";
        /// The iCalendar `DTSTAMP`.
        date_time_stamp: Option<DateTime<Utc>> => "DateTimeStamp" value, ro "calendar:DateTimeStamp";
        /// Start.
        start: Option<DateTime<Utc>> => "Start" value, rw "calendar:Start";
        /// End.
        end: Option<DateTime<Utc>> => "End" value, rw "calendar:End";
        /// The original start of an occurrence.
        original_start: Option<DateTime<Utc>> => "OriginalStart" value, ro "calendar:OriginalStart";
        /// Whether this is an all-day event.
        is_all_day_event: Option<bool> => "IsAllDayEvent" value, rw "calendar:IsAllDayEvent";
        /// Free/busy status.
        legacy_free_busy_status: Option<LegacyFreeBusy> => "LegacyFreeBusyStatus" value, rw "calendar:LegacyFreeBusyStatus";
        /// Location.
        location: Option<String> => "Location" value, rw "calendar:Location";
        /// A description of when the item occurs.
        when: Option<String> => "When" value, rw "calendar:When";
        /// Whether this is a meeting (has attendees).
        is_meeting: Option<bool> => "IsMeeting" value, ro "calendar:IsMeeting";
        /// Whether the meeting was cancelled.
        is_cancelled: Option<bool> => "IsCancelled" value, ro "calendar:IsCancelled";
        /// Whether the item recurs.
        is_recurring: Option<bool> => "IsRecurring" value, ro "calendar:IsRecurring";
        /// Whether the meeting request was sent.
        meeting_request_was_sent: Option<bool> => "MeetingRequestWasSent" value, ro "calendar:MeetingRequestWasSent";
        /// Whether a response is requested.
        is_response_requested: Option<bool> => "IsResponseRequested" value, rw "calendar:IsResponseRequested";
        /// What the item is within a series.
        calendar_item_type: Option<CalendarItemType> => "CalendarItemType" value, ro "calendar:CalendarItemType";
        /// The mailbox owner's response.
        my_response_type: Option<ResponseType> => "MyResponseType" value, ro "calendar:MyResponseType";
        /// The organizer.
        organizer: Option<EmailAddress> => "Organizer" recipient, ro "calendar:Organizer";
        /// Required attendees.
        required_attendees: Vec<Attendee> => "RequiredAttendees" list("Attendee"), rw "calendar:RequiredAttendees";
        /// Optional attendees.
        optional_attendees: Vec<Attendee> => "OptionalAttendees" list("Attendee"), rw "calendar:OptionalAttendees";
        /// Resources (rooms, equipment).
        resources: Vec<Attendee> => "Resources" list("Attendee"), rw "calendar:Resources";
        /// Number of conflicting meetings.
        conflicting_meeting_count: Option<i32> => "ConflictingMeetingCount" value, ro "calendar:ConflictingMeetingCount";
        /// Number of adjacent meetings.
        adjacent_meeting_count: Option<i32> => "AdjacentMeetingCount" value, ro "calendar:AdjacentMeetingCount";
        /// Duration (`xs:duration` text, e.g. `PT1H`).
        duration: Option<String> => "Duration" value, ro "calendar:Duration";
        /// The time zone's display name.
        time_zone: Option<String> => "TimeZone" value, ro "calendar:TimeZone";
        /// When the mailbox owner replied.
        appointment_reply_time: Option<DateTime<Utc>> => "AppointmentReplyTime" value, ro "calendar:AppointmentReplyTime";
        /// The meeting's sequence number.
        appointment_sequence_number: Option<i32> => "AppointmentSequenceNumber" value, ro "calendar:AppointmentSequenceNumber";
        /// The appointment state flags.
        appointment_state: Option<i32> => "AppointmentState" value, ro "calendar:AppointmentState";
        /// The recurrence of a series master.
        recurrence: Option<Recurrence> => "Recurrence" element, rw "calendar:Recurrence";
        /// The first occurrence of a series.
        first_occurrence: Option<OccurrenceInfo> => "FirstOccurrence" element, ro "calendar:FirstOccurrence";
        /// The last occurrence of a series.
        last_occurrence: Option<OccurrenceInfo> => "LastOccurrence" element, ro "calendar:LastOccurrence";
        /// Occurrences that were modified.
        modified_occurrences: Vec<OccurrenceInfo> => "ModifiedOccurrences" list("Occurrence"), ro "calendar:ModifiedOccurrences";
        /// Start times of occurrences that were deleted.
        deleted_occurrences: Vec<DateTime<Utc>> => "DeletedOccurrences" with(write_deleted, read_deleted), ro "calendar:DeletedOccurrences";
        /// The legacy (Exchange 2007) meeting time zone.
        meeting_time_zone: Option<LegacyTimeZone> => "MeetingTimeZone" element, rw "calendar:MeetingTimeZone";
        /// The time zone of the start.
        start_time_zone: Option<TimeZoneDefinition> => "StartTimeZone" element, rw "calendar:StartTimeZone";
        /// The time zone of the end.
        end_time_zone: Option<TimeZoneDefinition> => "EndTimeZone" element, rw "calendar:EndTimeZone";
        /// The conference type (0 net meeting, 1 net show, 2 chat).
        conference_type: Option<i32> => "ConferenceType" value, rw "calendar:ConferenceType";
        /// Whether attendees may propose new times.
        allow_new_time_proposal: Option<bool> => "AllowNewTimeProposal" value, rw "calendar:AllowNewTimeProposal";
        /// Whether this is an online meeting.
        is_online_meeting: Option<bool> => "IsOnlineMeeting" value, rw "calendar:IsOnlineMeeting";
        /// Meeting workspace URL.
        meeting_workspace_url: Option<String> => "MeetingWorkspaceUrl" value, rw "calendar:MeetingWorkspaceUrl";
        /// NetShow URL.
        net_show_url: Option<String> => "NetShowUrl" value, rw "calendar:NetShowUrl";
    }
}

/// Why local times could not be set on a calendar item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalTimeError {
    /// The IANA zone name is unknown to `chrono-tz`.
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    /// The zone has no Windows time zone id in CLDR's table, so Exchange cannot be told.
    #[error("time zone {0:?} has no Windows time zone id")]
    NoWindowsId(String),
    /// The local time does not exist in the zone (skipped by a daylight saving change).
    #[error("{time} does not exist in {zone} (daylight saving gap)")]
    NonexistentTime {
        /// The local time.
        time: NaiveDateTime,
        /// The zone.
        zone: String,
    },
    /// The end is before the start.
    #[error("the end {end} is before the start {start}")]
    EndBeforeStart {
        /// Start (local).
        start: NaiveDateTime,
        /// End (local).
        end: NaiveDateTime,
    },
}

fn to_utc(
    tz: chrono_tz::Tz,
    iana: &str,
    local: NaiveDateTime,
) -> Result<DateTime<Utc>, LocalTimeError> {
    use chrono::TimeZone as _;
    // An ambiguous time (the repeated hour in autumn) takes its first occurrence.
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| LocalTimeError::NonexistentTime {
            time: local,
            zone: iana.to_owned(),
        })
}

impl CalendarItem {
    /// Sets start and end from local times in an IANA zone: `start`/`end` in UTC and
    /// `StartTimeZone`/`EndTimeZone` to the zone's Windows id, so that Exchange shows the
    /// times in that zone and moves recurring occurrences with its daylight saving rules.
    pub fn set_local_times(
        &mut self,
        start: NaiveDateTime,
        end: NaiveDateTime,
        iana: &str,
    ) -> Result<(), LocalTimeError> {
        if end < start {
            return Err(LocalTimeError::EndBeforeStart { start, end });
        }
        let tz: chrono_tz::Tz = iana
            .parse()
            .map_err(|_| LocalTimeError::UnknownZone(iana.to_owned()))?;
        let zone = TimeZoneDefinition::from_iana(iana)
            .ok_or_else(|| LocalTimeError::NoWindowsId(iana.to_owned()))?;
        let (start, end) = (to_utc(tz, iana, start)?, to_utc(tz, iana, end)?);
        self.start = Some(start);
        self.end = Some(end);
        self.start_time_zone = Some(zone.clone());
        self.end_time_zone = Some(zone);
        Ok(())
    }

    /// Makes the item an all-day event from `first` to `last` (inclusive) in an IANA zone:
    /// local midnight to local midnight after `last`.
    pub fn set_all_day(
        &mut self,
        first: NaiveDate,
        last: NaiveDate,
        iana: &str,
    ) -> Result<(), LocalTimeError> {
        let start = first.and_time(chrono::NaiveTime::MIN);
        let end = last
            .succ_opt()
            .unwrap_or(last)
            .and_time(chrono::NaiveTime::MIN);
        self.set_local_times(start, end, iana)?;
        self.is_all_day_event = Some(true);
        Ok(())
    }

    /// The start as local time in the start time zone (`StartTimeZone`, else
    /// `MeetingTimeZone`); `None` without a start or a usable zone.
    pub fn local_start(&self) -> Option<NaiveDateTime> {
        let start = self.start?;
        match (&self.start_time_zone, &self.meeting_time_zone) {
            (Some(tz), _) => tz.to_local(start),
            (None, Some(legacy)) => legacy_local(legacy, start),
            (None, None) => None,
        }
    }

    /// The end as local time in the end time zone (`EndTimeZone`, else the start's zone).
    pub fn local_end(&self) -> Option<NaiveDateTime> {
        let end = self.end?;
        match (
            self.end_time_zone
                .as_ref()
                .or(self.start_time_zone.as_ref()),
            &self.meeting_time_zone,
        ) {
            (Some(tz), _) => tz.to_local(end),
            (None, Some(legacy)) => legacy_local(legacy, end),
            (None, None) => None,
        }
    }

    /// For an all-day event, its first day and the day after its last (Exchange stores
    /// all-day events from local midnight to local midnight). `None` if this is not an
    /// all-day event or the local times are unknown.
    pub fn all_day_dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        if self.is_all_day_event != Some(true) {
            return None;
        }
        Some((self.local_start()?.date(), self.local_end()?.date()))
    }
}

fn legacy_local(tz: &LegacyTimeZone, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = tz.utc_offset_at(at)?;
    Some(at.naive_utc() + chrono::TimeDelta::seconds(i64::from(offset.local_minus_utc())))
}

/// Writes `t:DeletedOccurrences` (one `t:DeletedOccurrence/t:Start` per start); nothing when
/// empty.
fn write_deleted(w: &mut XmlWriter, name: &str, starts: &[DateTime<Utc>]) {
    if starts.is_empty() {
        return;
    }
    let t = Ns::Types;
    w.element(t, name, |w| {
        for s in starts {
            w.element(t, "DeletedOccurrence", |w| w.value(t, "Start", s));
        }
    });
}

/// Reads `t:DeletedOccurrences`, appending each occurrence's start.
fn read_deleted<'a>(
    r: &mut XmlReader<'a>,
    c: &Start<'a>,
    out: &mut Vec<DateTime<Utc>>,
) -> Result<(), XmlError> {
    let t = Ns::Types;
    while let Some(d) = r.next_child(c)? {
        if !d.is(t, "DeletedOccurrence") {
            r.skip(&d)?;
            continue;
        }
        let mut found = None;
        while let Some(s) = r.next_child(&d)? {
            if s.is(t, "Start") {
                found = Some(r.value(&s)?);
            } else {
                r.skip(&s)?;
            }
        }
        out.push(r.required(&d, found, "Start")?);
    }
    Ok(())
}
