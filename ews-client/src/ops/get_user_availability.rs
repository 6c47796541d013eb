//! `GetUserAvailability`: free/busy times of mailboxes in a time window (the free/busy part;
//! meeting suggestions are not modelled). Request element `m:GetUserAvailabilityRequest`,
//! response `m:GetUserAvailabilityResponse` with one `m:FreeBusyResponse` per mailbox, in
//! request order. Times are local times of the request's `t:TimeZone`.
//!
//! Microsoft reference: [GetUserAvailability operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getuseravailability-operation).

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset as _,
    Utc, Weekday,
};

use crate::operation::{Operation, OperationResponse};
use crate::types::calendar::LegacyFreeBusy;
use crate::types::response::{ResponseMessage, ResponseStatus};
use crate::xml::{NS_MESSAGES, Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// One transition rule of a `t:SerializableTimeZone` (`t:StandardTime`, `t:DaylightTime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneTransition {
    /// Minutes added to the zone's bias in this period.
    pub bias: i32,
    /// Local time of the change (`02:00:00`).
    pub time: String,
    /// Which occurrence of the weekday in the month (1 to 4; 5 is the last).
    pub day_order: i16,
    /// Month (1 to 12; 0: no daylight saving time).
    pub month: i16,
    /// Weekday (`Sunday`, ...).
    pub day_of_week: String,
}

/// `t:TimeZone` of an availability request (`t:SerializableTimeZone`): UTC = local + bias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializableTimeZone {
    /// Minutes.
    pub bias: i32,
    /// Standard time.
    pub standard: TimeZoneTransition,
    /// Daylight saving time.
    pub daylight: TimeZoneTransition,
}

impl SerializableTimeZone {
    /// UTC, without daylight saving time.
    pub fn utc() -> Self {
        let none = TimeZoneTransition {
            bias: 0,
            time: "00:00:00".to_owned(),
            day_order: 1,
            month: 0,
            day_of_week: "Sunday".to_owned(),
        };
        Self {
            bias: 0,
            standard: none.clone(),
            daylight: none,
        }
    }

    /// The local date and time (standard time) of a transition in `year`.
    fn transition(t: &TimeZoneTransition, year: i32) -> Option<NaiveDateTime> {
        let month = u32::try_from(t.month)
            .ok()
            .filter(|m| (1..=12).contains(m))?;
        let weekday: Weekday = t.day_of_week.parse().ok()?;
        let time = NaiveTime::parse_from_str(&t.time, "%H:%M:%S").ok()?;
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let shift =
            (7 + weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
        let mut day = first + Duration::days(i64::from(shift));
        for _ in 1..t.day_order.clamp(1, 5) {
            let next = day + Duration::days(7);
            if next.month() != month {
                break;
            }
            day = next;
        }
        Some(day.and_time(time))
    }

    fn in_daylight(&self, standard_local: NaiveDateTime) -> bool {
        let year = standard_local.year();
        let (Some(start), Some(end)) = (
            Self::transition(&self.daylight, year),
            Self::transition(&self.standard, year),
        ) else {
            return false;
        };
        // the end is given in daylight time: as standard time it is earlier by the difference
        let end = end + Duration::minutes(i64::from(self.daylight.bias - self.standard.bias));
        if start <= end {
            start <= standard_local && standard_local < end
        } else {
            standard_local >= start || standard_local < end
        }
    }

    /// The offset from UTC (local − UTC) at an instant.
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        let standard = self.bias + self.standard.bias;
        let local = at.naive_utc() - Duration::minutes(i64::from(standard));
        let bias = if self.in_daylight(local) {
            self.bias + self.daylight.bias
        } else {
            standard
        };
        FixedOffset::west_opt(bias * 60).unwrap_or(Utc.fix())
    }

    /// The local time of an instant.
    pub fn to_local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.offset_at(at)).naive_local()
    }

    /// The instant of a local time (standard time rules decide ambiguous hours).
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let standard = self.bias + self.standard.bias;
        let bias = if self.in_daylight(local) {
            self.bias + self.daylight.bias
        } else {
            standard
        };
        (local + Duration::minutes(i64::from(bias))).and_utc()
    }

    /// Parses an `xs:dateTime` of the request: with an offset or `Z` as such, without one as
    /// a local time of this zone.
    pub fn parse_time(&self, text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(t.with_timezone(&Utc));
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|l| self.to_utc(l))
    }
}

fn write_transition(w: &mut XmlWriter, name: &str, t: &TimeZoneTransition) {
    w.element(Ns::Types, name, |w| {
        w.value(Ns::Types, "Bias", &t.bias);
        w.text_element(Ns::Types, "Time", &t.time);
        w.text_element(Ns::Types, "DayOrder", &t.day_order.to_string());
        w.text_element(Ns::Types, "Month", &t.month.to_string());
        w.text_element(Ns::Types, "DayOfWeek", &t.day_of_week);
    });
}

fn read_transition<'a>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
) -> Result<TimeZoneTransition, XmlError> {
    let mut t = TimeZoneTransition {
        bias: 0,
        time: "00:00:00".to_owned(),
        day_order: 1,
        month: 0,
        day_of_week: "Sunday".to_owned(),
    };
    while let Some(c) = r.next_child(start)? {
        match c.local() {
            "Bias" => t.bias = r.value(&c)?,
            "Time" => t.time = r.text(&c)?.into_owned(),
            "DayOrder" => {
                let v: i32 = r.value(&c)?;
                t.day_order = i16::try_from(v).map_err(|_| r.invalid(&c, "", "out of range"))?;
            }
            "Month" => {
                let v: i32 = r.value(&c)?;
                t.month = i16::try_from(v).map_err(|_| r.invalid(&c, "", "out of range"))?;
            }
            "DayOfWeek" => t.day_of_week = r.text(&c)?.into_owned(),
            _ => r.skip(&c)?,
        }
    }
    Ok(t)
}

impl WriteXml for SerializableTimeZone {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.value(Ns::Types, "Bias", &self.bias);
            write_transition(w, "StandardTime", &self.standard);
            write_transition(w, "DaylightTime", &self.daylight);
        });
    }
}

impl ReadXml for SerializableTimeZone {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self::utc();
        while let Some(c) = r.next_child(start)? {
            match c.local() {
                "Bias" => out.bias = r.value(&c)?,
                "StandardTime" => out.standard = read_transition(r, &c)?,
                "DaylightTime" => out.daylight = read_transition(r, &c)?,
                _ => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

/// `t:MailboxData`: whose free/busy times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxData {
    /// SMTP address.
    pub address: String,
    /// `Organizer`, `Required`, `Optional`, `Room` or `Resource`.
    pub attendee_type: String,
}

/// `t:FreeBusyViewOptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeBusyViewOptions {
    /// Window start (`xs:dateTime` as sent).
    pub start: String,
    /// Window end.
    pub end: String,
    /// Interval of the merged view, in minutes.
    pub merged_interval_minutes: Option<i32>,
    /// `FreeBusy`, `FreeBusyMerged`, `Detailed`, `DetailedMerged`, ...
    pub requested_view: Option<String>,
}

/// `m:GetUserAvailabilityRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUserAvailability {
    /// The zone of the times in the request and the answer.
    pub time_zone: Option<SerializableTimeZone>,
    /// The mailboxes.
    pub mailboxes: Vec<MailboxData>,
    /// The free/busy part of the request.
    pub free_busy_view_options: Option<FreeBusyViewOptions>,
}

impl Operation for GetUserAvailability {
    const NAME: &'static str = "GetUserAvailabilityRequest";
    type Response = GetUserAvailabilityResponse;

    fn response_name() -> String {
        "GetUserAvailabilityResponse".to_owned()
    }

    fn soap_action() -> String {
        format!("{NS_MESSAGES}/GetUserAvailability")
    }
}

impl WriteXml for GetUserAvailability {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.opt_write(Ns::Types, "TimeZone", self.time_zone.as_ref());
            w.element(Ns::Messages, "MailboxDataArray", |w| {
                for m in &self.mailboxes {
                    w.element(Ns::Types, "MailboxData", |w| {
                        w.element(Ns::Types, "Email", |w| {
                            w.text_element(Ns::Types, "Address", &m.address);
                        });
                        w.text_element(Ns::Types, "AttendeeType", &m.attendee_type);
                    });
                }
            });
            if let Some(o) = &self.free_busy_view_options {
                w.element(Ns::Types, "FreeBusyViewOptions", |w| {
                    w.element(Ns::Types, "TimeWindow", |w| {
                        w.text_element(Ns::Types, "StartTime", &o.start);
                        w.text_element(Ns::Types, "EndTime", &o.end);
                    });
                    w.opt_value(
                        Ns::Types,
                        "MergedFreeBusyIntervalInMinutes",
                        o.merged_interval_minutes.as_ref(),
                    );
                    w.opt_value(Ns::Types, "RequestedView", o.requested_view.as_ref());
                });
            }
        });
    }
}

impl ReadXml for GetUserAvailability {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self {
            time_zone: None,
            mailboxes: Vec::new(),
            free_busy_view_options: None,
        };
        while let Some(c) = r.next_child(start)? {
            match c.local() {
                "TimeZone" => out.time_zone = Some(SerializableTimeZone::read_xml(r, &c)?),
                "MailboxDataArray" => {
                    while let Some(m) = r.next_child(&c)? {
                        let mut address = String::new();
                        let mut attendee_type = "Required".to_owned();
                        while let Some(f) = r.next_child(&m)? {
                            match f.local() {
                                "Email" => {
                                    while let Some(e) = r.next_child(&f)? {
                                        if e.local() == "Address" {
                                            address = r.text(&e)?.into_owned();
                                        } else {
                                            r.skip(&e)?;
                                        }
                                    }
                                }
                                "AttendeeType" => attendee_type = r.text(&f)?.into_owned(),
                                _ => r.skip(&f)?,
                            }
                        }
                        out.mailboxes.push(MailboxData {
                            address,
                            attendee_type,
                        });
                    }
                }
                "FreeBusyViewOptions" => {
                    let mut o = FreeBusyViewOptions {
                        start: String::new(),
                        end: String::new(),
                        merged_interval_minutes: None,
                        requested_view: None,
                    };
                    while let Some(f) = r.next_child(&c)? {
                        match f.local() {
                            "TimeWindow" => {
                                while let Some(t) = r.next_child(&f)? {
                                    match t.local() {
                                        "StartTime" => o.start = r.text(&t)?.into_owned(),
                                        "EndTime" => o.end = r.text(&t)?.into_owned(),
                                        _ => r.skip(&t)?,
                                    }
                                }
                            }
                            "MergedFreeBusyIntervalInMinutes" => {
                                o.merged_interval_minutes = Some(r.value(&f)?);
                            }
                            "RequestedView" => o.requested_view = Some(r.text(&f)?.into_owned()),
                            _ => r.skip(&f)?,
                        }
                    }
                    out.free_busy_view_options = Some(o);
                }
                _ => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

/// `t:CalendarEvent` (times local to the request's zone, as Exchange writes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Start (`2024-05-01T09:00:00`).
    pub start: String,
    /// End.
    pub end: String,
    /// Free/busy status.
    pub busy_type: LegacyFreeBusy,
}

/// `m:FreeBusyView`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeBusyView {
    /// The view given (may be less detailed than requested).
    pub view_type: String,
    /// One digit per interval (`0` free, `1` tentative, `2` busy, `3` away, `4` no data).
    pub merged_free_busy: Option<String>,
    /// The events.
    pub events: Vec<CalendarEvent>,
}

/// `m:FreeBusyResponse`: one per requested mailbox.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeBusyResponse {
    /// The status for this mailbox.
    pub message: ResponseMessage<()>,
    /// The view (none on errors).
    pub view: Option<FreeBusyView>,
}

/// `m:GetUserAvailabilityResponse` (the free/busy part).
#[derive(Debug, Clone, PartialEq)]
pub struct GetUserAvailabilityResponse {
    /// One per requested mailbox, in request order.
    pub free_busy: Vec<FreeBusyResponse>,
}

impl OperationResponse for GetUserAvailabilityResponse {
    fn statuses(&self) -> Vec<&ResponseStatus> {
        self.free_busy.iter().map(|f| &f.message.status).collect()
    }
}

impl WriteXml for GetUserAvailabilityResponse {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.element(Ns::Messages, "FreeBusyResponseArray", |w| {
                for f in &self.free_busy {
                    w.element(Ns::Messages, "FreeBusyResponse", |w| {
                        f.message.write_xml(w, Ns::Messages, "ResponseMessage");
                        if let Some(v) = &f.view {
                            w.element(Ns::Messages, "FreeBusyView", |w| {
                                w.text_element(Ns::Types, "FreeBusyViewType", &v.view_type);
                                w.opt_value(
                                    Ns::Types,
                                    "MergedFreeBusy",
                                    v.merged_free_busy.as_ref(),
                                );
                                w.element(Ns::Types, "CalendarEventArray", |w| {
                                    for e in &v.events {
                                        w.element(Ns::Types, "CalendarEvent", |w| {
                                            w.text_element(Ns::Types, "StartTime", &e.start);
                                            w.text_element(Ns::Types, "EndTime", &e.end);
                                            w.value(Ns::Types, "BusyType", &e.busy_type);
                                        });
                                    }
                                });
                            });
                        }
                    });
                }
            });
        });
    }
}

fn read_view<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<FreeBusyView, XmlError> {
    let mut v = FreeBusyView {
        view_type: String::new(),
        merged_free_busy: None,
        events: Vec::new(),
    };
    while let Some(c) = r.next_child(start)? {
        match c.local() {
            "FreeBusyViewType" => v.view_type = r.text(&c)?.into_owned(),
            "MergedFreeBusy" => v.merged_free_busy = Some(r.text(&c)?.into_owned()),
            "CalendarEventArray" => {
                while let Some(e) = r.next_child(&c)? {
                    let (mut s, mut en, mut b) = (String::new(), String::new(), None);
                    while let Some(f) = r.next_child(&e)? {
                        match f.local() {
                            "StartTime" => s = r.text(&f)?.into_owned(),
                            "EndTime" => en = r.text(&f)?.into_owned(),
                            "BusyType" => b = Some(r.value(&f)?),
                            _ => r.skip(&f)?,
                        }
                    }
                    v.events.push(CalendarEvent {
                        start: s,
                        end: en,
                        busy_type: b.unwrap_or(LegacyFreeBusy::Busy),
                    });
                }
            }
            _ => r.skip(&c)?,
        }
    }
    Ok(v)
}

impl ReadXml for GetUserAvailabilityResponse {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self {
            free_busy: Vec::new(),
        };
        while let Some(c) = r.next_child(start)? {
            if !c.is(Ns::Messages, "FreeBusyResponseArray") {
                r.skip(&c)?;
                continue;
            }
            while let Some(f) = r.next_child(&c)? {
                let mut message = ResponseMessage::success(());
                let mut view = None;
                while let Some(x) = r.next_child(&f)? {
                    if x.is(Ns::Messages, "ResponseMessage") {
                        message = ResponseMessage::<()>::read_xml(r, &x)?;
                    } else if x.is(Ns::Messages, "FreeBusyView") {
                        view = Some(read_view(r, &x)?);
                    } else {
                        r.skip(&x)?;
                    }
                }
                out.free_busy.push(FreeBusyResponse { message, view });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> SerializableTimeZone {
        SerializableTimeZone {
            bias: -60,
            standard: TimeZoneTransition {
                bias: 0,
                time: "03:00:00".into(),
                day_order: 5,
                month: 10,
                day_of_week: "Sunday".into(),
            },
            daylight: TimeZoneTransition {
                bias: -60,
                time: "02:00:00".into(),
                day_order: 5,
                month: 3,
                day_of_week: "Sunday".into(),
            },
        }
    }

    #[test]
    fn local_times_follow_daylight_saving() {
        let tz = berlin();
        let winter = "2025-01-15T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let summer = "2025-07-15T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(tz.to_local(winter).to_string(), "2025-01-15 09:00:00");
        assert_eq!(tz.to_local(summer).to_string(), "2025-07-15 10:00:00");
        assert_eq!(tz.parse_time("2025-07-15T10:00:00"), Some(summer));
        assert_eq!(tz.parse_time("2025-01-15T09:00:00"), Some(winter));
        // the last Sunday of March 2025 is the 30th
        let before = "2025-03-30T00:59:00Z".parse::<DateTime<Utc>>().unwrap();
        let after = "2025-03-30T01:01:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(tz.to_local(before).to_string(), "2025-03-30 01:59:00");
        assert_eq!(tz.to_local(after).to_string(), "2025-03-30 03:01:00");
        assert_eq!(
            SerializableTimeZone::utc().to_local(summer),
            summer.naive_utc()
        );
    }
}
