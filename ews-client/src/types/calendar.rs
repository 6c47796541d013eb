//! Calendar items (`t:CalendarItem`, `t:CalendarItemType`): appointments and meetings with
//! attendees, recurrence, modified and deleted occurrences and time zones.

use super::ids::{ItemId, string_enum};
use super::item::ItemCommon;
use super::mailbox::{EmailAddress, read_single_recipient, write_single_recipient};
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
            item_id: id.ok_or_else(|| r.missing(start, "ItemId"))?,
            start: s.ok_or_else(|| r.missing(start, "Start"))?,
            end: e.ok_or_else(|| r.missing(start, "End"))?,
            original_start: o.ok_or_else(|| r.missing(start, "OriginalStart"))?,
        })
    }
}

/// A calendar item (`t:CalendarItem`). Subject, body, sensitivity, `ReminderIsSet` and
/// `ReminderMinutesBeforeStart` are in [`ItemCommon`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CalendarItem {
    /// The `t:ItemType` fields.
    pub common: ItemCommon,
    /// The iCalendar UID, shared by all copies of a meeting.
    pub uid: Option<String>,
    /// The original start of an occurrence (iCalendar `RECURRENCE-ID`).
    pub recurrence_id: Option<DateTime<Utc>>,
    /// The iCalendar `DTSTAMP`.
    pub date_time_stamp: Option<DateTime<Utc>>,
    /// Start.
    pub start: Option<DateTime<Utc>>,
    /// End.
    pub end: Option<DateTime<Utc>>,
    /// The original start of an occurrence.
    pub original_start: Option<DateTime<Utc>>,
    /// Whether this is an all-day event.
    pub is_all_day_event: Option<bool>,
    /// Free/busy status.
    pub legacy_free_busy_status: Option<LegacyFreeBusy>,
    /// Location.
    pub location: Option<String>,
    /// A description of when the item occurs.
    pub when: Option<String>,
    /// Whether this is a meeting (has attendees).
    pub is_meeting: Option<bool>,
    /// Whether the meeting was cancelled.
    pub is_cancelled: Option<bool>,
    /// Whether the item recurs.
    pub is_recurring: Option<bool>,
    /// Whether the meeting request was sent.
    pub meeting_request_was_sent: Option<bool>,
    /// Whether a response is requested.
    pub is_response_requested: Option<bool>,
    /// What the item is within a series.
    pub calendar_item_type: Option<CalendarItemType>,
    /// The mailbox owner's response.
    pub my_response_type: Option<ResponseType>,
    /// The organizer.
    pub organizer: Option<EmailAddress>,
    /// Required attendees.
    pub required_attendees: Vec<Attendee>,
    /// Optional attendees.
    pub optional_attendees: Vec<Attendee>,
    /// Resources (rooms, equipment).
    pub resources: Vec<Attendee>,
    /// Number of conflicting meetings.
    pub conflicting_meeting_count: Option<i32>,
    /// Number of adjacent meetings.
    pub adjacent_meeting_count: Option<i32>,
    /// Duration (`xs:duration` text, e.g. `PT1H`).
    pub duration: Option<String>,
    /// The time zone's display name.
    pub time_zone: Option<String>,
    /// When the mailbox owner replied.
    pub appointment_reply_time: Option<DateTime<Utc>>,
    /// The meeting's sequence number.
    pub appointment_sequence_number: Option<i32>,
    /// The appointment state flags.
    pub appointment_state: Option<i32>,
    /// The recurrence of a series master.
    pub recurrence: Option<Recurrence>,
    /// The first occurrence of a series.
    pub first_occurrence: Option<OccurrenceInfo>,
    /// The last occurrence of a series.
    pub last_occurrence: Option<OccurrenceInfo>,
    /// Occurrences that were modified.
    pub modified_occurrences: Vec<OccurrenceInfo>,
    /// Start times of occurrences that were deleted.
    pub deleted_occurrences: Vec<DateTime<Utc>>,
    /// The legacy (Exchange 2007) meeting time zone.
    pub meeting_time_zone: Option<LegacyTimeZone>,
    /// The time zone of the start.
    pub start_time_zone: Option<TimeZoneDefinition>,
    /// The time zone of the end.
    pub end_time_zone: Option<TimeZoneDefinition>,
    /// The conference type (0 net meeting, 1 net show, 2 chat).
    pub conference_type: Option<i32>,
    /// Whether attendees may propose new times.
    pub allow_new_time_proposal: Option<bool>,
    /// Whether this is an online meeting.
    pub is_online_meeting: Option<bool>,
    /// Meeting workspace URL.
    pub meeting_workspace_url: Option<String>,
    /// NetShow URL.
    pub net_show_url: Option<String>,
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

fn write_attendees(w: &mut XmlWriter, name: &str, list: &[Attendee]) {
    if list.is_empty() {
        return;
    }
    w.element(Ns::Types, name, |w| {
        w.write_all(Ns::Types, "Attendee", list)
    });
}

impl WriteXml for CalendarItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let t = Ns::Types;
        w.element(ns, name, |w| {
            self.common.write_fields(w);
            w.opt_value(t, "UID", self.uid.as_ref());
            w.opt_value(t, "RecurrenceId", self.recurrence_id.as_ref());
            w.opt_value(t, "DateTimeStamp", self.date_time_stamp.as_ref());
            w.opt_value(t, "Start", self.start.as_ref());
            w.opt_value(t, "End", self.end.as_ref());
            w.opt_value(t, "OriginalStart", self.original_start.as_ref());
            w.opt_value(t, "IsAllDayEvent", self.is_all_day_event.as_ref());
            w.opt_value(
                t,
                "LegacyFreeBusyStatus",
                self.legacy_free_busy_status.as_ref(),
            );
            w.opt_value(t, "Location", self.location.as_ref());
            w.opt_value(t, "When", self.when.as_ref());
            w.opt_value(t, "IsMeeting", self.is_meeting.as_ref());
            w.opt_value(t, "IsCancelled", self.is_cancelled.as_ref());
            w.opt_value(t, "IsRecurring", self.is_recurring.as_ref());
            w.opt_value(
                t,
                "MeetingRequestWasSent",
                self.meeting_request_was_sent.as_ref(),
            );
            w.opt_value(
                t,
                "IsResponseRequested",
                self.is_response_requested.as_ref(),
            );
            w.opt_value(t, "CalendarItemType", self.calendar_item_type.as_ref());
            w.opt_value(t, "MyResponseType", self.my_response_type.as_ref());
            if let Some(m) = &self.organizer {
                write_single_recipient(w, "Organizer", m);
            }
            write_attendees(w, "RequiredAttendees", &self.required_attendees);
            write_attendees(w, "OptionalAttendees", &self.optional_attendees);
            write_attendees(w, "Resources", &self.resources);
            w.opt_value(
                t,
                "ConflictingMeetingCount",
                self.conflicting_meeting_count.as_ref(),
            );
            w.opt_value(
                t,
                "AdjacentMeetingCount",
                self.adjacent_meeting_count.as_ref(),
            );
            w.opt_value(t, "Duration", self.duration.as_ref());
            w.opt_value(t, "TimeZone", self.time_zone.as_ref());
            w.opt_value(
                t,
                "AppointmentReplyTime",
                self.appointment_reply_time.as_ref(),
            );
            w.opt_value(
                t,
                "AppointmentSequenceNumber",
                self.appointment_sequence_number.as_ref(),
            );
            w.opt_value(t, "AppointmentState", self.appointment_state.as_ref());
            w.opt_write(t, "Recurrence", self.recurrence.as_ref());
            w.opt_write(t, "FirstOccurrence", self.first_occurrence.as_ref());
            w.opt_write(t, "LastOccurrence", self.last_occurrence.as_ref());
            if !self.modified_occurrences.is_empty() {
                w.element(t, "ModifiedOccurrences", |w| {
                    w.write_all(t, "Occurrence", &self.modified_occurrences)
                });
            }
            if !self.deleted_occurrences.is_empty() {
                w.element(t, "DeletedOccurrences", |w| {
                    for s in &self.deleted_occurrences {
                        w.element(t, "DeletedOccurrence", |w| w.value(t, "Start", s));
                    }
                });
            }
            w.opt_write(t, "MeetingTimeZone", self.meeting_time_zone.as_ref());
            w.opt_write(t, "StartTimeZone", self.start_time_zone.as_ref());
            w.opt_write(t, "EndTimeZone", self.end_time_zone.as_ref());
            w.opt_value(t, "ConferenceType", self.conference_type.as_ref());
            w.opt_value(
                t,
                "AllowNewTimeProposal",
                self.allow_new_time_proposal.as_ref(),
            );
            w.opt_value(t, "IsOnlineMeeting", self.is_online_meeting.as_ref());
            w.opt_value(
                t,
                "MeetingWorkspaceUrl",
                self.meeting_workspace_url.as_ref(),
            );
            w.opt_value(t, "NetShowUrl", self.net_show_url.as_ref());
        });
    }
}

impl ReadXml for CalendarItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut x = Self::default();
        let t = Ns::Types;
        while let Some(c) = r.next_child(start)? {
            if x.common.read_field(r, &c)? {
                continue;
            }
            if c.ns() != t {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "UID" => x.uid = Some(r.value(&c)?),
                "RecurrenceId" => x.recurrence_id = Some(r.value(&c)?),
                "DateTimeStamp" => x.date_time_stamp = Some(r.value(&c)?),
                "Start" => x.start = Some(r.value(&c)?),
                "End" => x.end = Some(r.value(&c)?),
                "OriginalStart" => x.original_start = Some(r.value(&c)?),
                "IsAllDayEvent" => x.is_all_day_event = Some(r.value(&c)?),
                "LegacyFreeBusyStatus" => x.legacy_free_busy_status = Some(r.value(&c)?),
                "Location" => x.location = Some(r.value(&c)?),
                "When" => x.when = Some(r.value(&c)?),
                "IsMeeting" => x.is_meeting = Some(r.value(&c)?),
                "IsCancelled" => x.is_cancelled = Some(r.value(&c)?),
                "IsRecurring" => x.is_recurring = Some(r.value(&c)?),
                "MeetingRequestWasSent" => x.meeting_request_was_sent = Some(r.value(&c)?),
                "IsResponseRequested" => x.is_response_requested = Some(r.value(&c)?),
                "CalendarItemType" => x.calendar_item_type = Some(r.value(&c)?),
                "MyResponseType" => x.my_response_type = Some(r.value(&c)?),
                "Organizer" => x.organizer = read_single_recipient(r, &c)?,
                "RequiredAttendees" => x.required_attendees = r.read_list(&c, t, "Attendee")?,
                "OptionalAttendees" => x.optional_attendees = r.read_list(&c, t, "Attendee")?,
                "Resources" => x.resources = r.read_list(&c, t, "Attendee")?,
                "ConflictingMeetingCount" => x.conflicting_meeting_count = Some(r.value(&c)?),
                "AdjacentMeetingCount" => x.adjacent_meeting_count = Some(r.value(&c)?),
                "Duration" => x.duration = Some(r.value(&c)?),
                "TimeZone" => x.time_zone = Some(r.value(&c)?),
                "AppointmentReplyTime" => x.appointment_reply_time = Some(r.value(&c)?),
                "AppointmentSequenceNumber" => x.appointment_sequence_number = Some(r.value(&c)?),
                "AppointmentState" => x.appointment_state = Some(r.value(&c)?),
                "Recurrence" => x.recurrence = Some(Recurrence::read_xml(r, &c)?),
                "FirstOccurrence" => x.first_occurrence = Some(OccurrenceInfo::read_xml(r, &c)?),
                "LastOccurrence" => x.last_occurrence = Some(OccurrenceInfo::read_xml(r, &c)?),
                "ModifiedOccurrences" => {
                    x.modified_occurrences = r.read_list(&c, t, "Occurrence")?
                }
                "DeletedOccurrences" => {
                    while let Some(d) = r.next_child(&c)? {
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
                        x.deleted_occurrences
                            .push(found.ok_or_else(|| r.missing(&d, "Start"))?);
                    }
                }
                "MeetingTimeZone" => x.meeting_time_zone = Some(LegacyTimeZone::read_xml(r, &c)?),
                "StartTimeZone" => x.start_time_zone = Some(TimeZoneDefinition::read_xml(r, &c)?),
                "EndTimeZone" => x.end_time_zone = Some(TimeZoneDefinition::read_xml(r, &c)?),
                "ConferenceType" => x.conference_type = Some(r.value(&c)?),
                "AllowNewTimeProposal" => x.allow_new_time_proposal = Some(r.value(&c)?),
                "IsOnlineMeeting" => x.is_online_meeting = Some(r.value(&c)?),
                "MeetingWorkspaceUrl" => x.meeting_workspace_url = Some(r.value(&c)?),
                "NetShowUrl" => x.net_show_url = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(x)
    }
}
