//! Appointments: the canonical appointment [`Record`] (see [`crate::mapping::appointment`])
//! and Graph's [`Event`].
//!
//! * Times: `start`/`end` are read in the zone they name (the adapter requests UTC, see
//!   [`super`]); the event's own zones come from `originalStartTimeZone` /
//!   `originalEndTimeZone`. Written as local times in the record's zones (Windows ids).
//!   All-day events: local midnight to local midnight in those zones.
//! * A series master's deleted occurrences: the master's `cancelledOccurrences` (each ends
//!   in the original start or its date), plus the occurrences the pattern produces between
//!   the first and the last instance given that are missing from the instances. Modified
//!   occurrences: the instances of type `exception`. Both only as far as the instances'
//!   window reaches for what `cancelledOccurrences` does not name.
//! * Writing exceptions: [`occurrence_writes`] after the master is created or updated.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use conaktiv_model::recurrence::ModifiedOccurrence;
use graph_client::calendar::{
    Attendee, AttendeeType, Event, EventType, FreeBusyStatus, Location, ResponseStatus,
    ResponseType,
};
use graph_client::types::{EmailAddress, ItemBody};
use serde_json::{Map, Value};

use super::{
    canonical_zone, local_dtz, parse_dtz, recurrence_to_value, sensitivity_from, sensitivity_name,
    to_json, value_to_recurrence, windows_id,
};
use crate::mapping::appointment::fields;
use crate::mapping::canon::{self, get_str, get_string, put, put_value};
use crate::mapping::{MappingWarning, Record, recurrence};

/// The event properties the mapping reads, for a `$select` of the master or single event
/// (instances need `type`, `originalStart`, `start`, `end`, `subject`, `location`, `body`).
pub const SELECT: [&str; 19] = [
    "subject",
    "body",
    "location",
    "start",
    "end",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "isAllDay",
    "attendees",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "categories",
    "sensitivity",
    "showAs",
    "recurrence",
    "cancelledOccurrences",
    "type",
    "originalStart",
    "seriesMasterId",
];

/// Record fields Graph cannot carry (none).
pub const NOT_CARRIED: [&str; 0] = [];

const BUSY: [(FreeBusyStatus, &str); 6] = [
    (FreeBusyStatus::Free, "free"),
    (FreeBusyStatus::Tentative, "tentative"),
    (FreeBusyStatus::Busy, "busy"),
    (FreeBusyStatus::Oof, "out_of_office"),
    (FreeBusyStatus::WorkingElsewhere, "working_elsewhere"),
    (FreeBusyStatus::Unknown, "no_data"),
];

const RESPONSES: [(ResponseType, &str); 6] = [
    (ResponseType::NoResponse, "unknown"),
    (ResponseType::Organizer, "organizer"),
    (ResponseType::TentativelyAccepted, "tentative"),
    (ResponseType::Accepted, "accepted"),
    (ResponseType::Declined, "declined"),
    (ResponseType::NotResponded, "no_response_received"),
];

const ROLES: [(AttendeeType, &str); 3] = [
    (AttendeeType::Required, "required"),
    (AttendeeType::Optional, "optional"),
    (AttendeeType::Resource, "resource"),
];

/// A write of one occurrence of a series, after the master is created or updated.
#[derive(Debug, Clone, PartialEq)]
pub enum OccurrenceWrite {
    /// Cancel the occurrence: `DELETE /events/{id}`.
    Delete {
        /// The instance's Graph id.
        id: String,
    },
    /// Turn the occurrence into an exception: `PATCH /events/{id}` with `body`.
    Patch {
        /// The instance's Graph id.
        id: String,
        /// The PATCH body (start, end, subject, location, body).
        body: Value,
    },
}

fn zone_of(
    name: Option<&str>,
    field: &'static str,
    warnings: &mut Vec<MappingWarning>,
) -> Option<String> {
    let name = name?;
    Some(canonical_zone(name).unwrap_or_else(|| {
        warnings.push(MappingWarning::UnknownWindowsZone {
            field,
            id: name.to_owned(),
        });
        "UTC".to_owned()
    }))
}

fn attendees(e: &Event) -> Option<Value> {
    let mut out: Vec<Value> = Vec::new();
    for a in e.attendees.iter().flatten() {
        let Some(addr) = a.email_address.as_ref() else {
            continue;
        };
        let Some(address) = addr.address.as_deref().and_then(canon::line) else {
            continue;
        };
        let role = a
            .kind
            .and_then(|k| ROLES.iter().find(|r| r.0 == k))
            .map_or("required", |r| r.1);
        let response = a
            .status
            .as_ref()
            .and_then(|s| s.response)
            .and_then(|t| RESPONSES.iter().find(|r| r.0 == t))
            .map_or("unknown", |r| r.1);
        let mut o = Map::new();
        o.insert("address".into(), address.to_lowercase().into());
        if let Some(n) = addr.name.as_deref().and_then(canon::line) {
            o.insert("name".into(), n.into());
        }
        o.insert("role".into(), role.into());
        o.insert("response".into(), response.into());
        out.push(Value::Object(o));
    }
    let key = |v: &Value| {
        (
            v.get("address")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            v.get("role")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        )
    };
    out.sort_by_key(key);
    out.dedup_by(|a, b| a.get("address") == b.get("address"));
    (!out.is_empty()).then(|| Value::from(out))
}

/// The all-day dates of two instants in their zones: the nearest dates of the local times,
/// at least one day (as the EWS mapping).
fn all_day_dates(s: DateTime<Utc>, e: DateTime<Utc>, sz: Tz, ez: Tz) -> (NaiveDate, NaiveDate) {
    let nearest = |t: DateTime<Utc>, tz: Tz| {
        (t.with_timezone(&tz).naive_local() + Duration::hours(12)).date()
    };
    let start = nearest(s, sz);
    let mut end = nearest(e, ez);
    if end <= start {
        end = start + Duration::days(1);
    }
    (start, end)
}

/// The date (in `tz`) a cancelled occurrence's id ends with: `OID.{master}.{yyyy-mm-dd}` or
/// an instant after the last `.`.
fn cancelled_date(s: &str, tz: Tz) -> Option<NaiveDate> {
    let tail = s.rsplit('.').next()?.trim();
    if let Ok(d) = NaiveDate::parse_from_str(tail, "%Y-%m-%d") {
        return Some(d);
    }
    DateTime::parse_from_rfc3339(tail)
        .ok()
        .map(|d| canon::local_date(d.with_timezone(&Utc), tz))
}

/// Projects a Graph event (a single event or a series master) and, for a master, its
/// instances in the calendar window onto a [`Record`] (equal to
/// [`crate::mapping::appointment::ews_to_record_with_exceptions`] of the same series as far
/// as the window reaches), with the warnings about fallbacks.
pub fn graph_to_record(event: &Event, instances: &[Event]) -> (Record, Vec<MappingWarning>) {
    let mut warnings = Vec::new();
    let mut r = Record::new();
    let subject = event.subject.as_deref().and_then(canon::line);
    let location = event
        .location
        .as_ref()
        .and_then(|l| l.display_name.as_deref())
        .and_then(canon::line);
    let body = super::body_text(event.body.as_ref());
    put(&mut r, fields::SUBJECT, subject.clone());
    put(&mut r, fields::LOCATION, location.clone());
    put(&mut r, fields::BODY, body.clone());
    // the zones the event was created with; a POST body (no original zones yet) names them
    // in its times
    let start_zone = zone_of(
        event
            .original_start_time_zone
            .as_deref()
            .or_else(|| event.start.as_ref()?.time_zone.as_deref()),
        fields::START_TZ,
        &mut warnings,
    )
    .unwrap_or_else(|| "UTC".to_owned());
    let end_zone = zone_of(
        event
            .original_end_time_zone
            .as_deref()
            .or_else(|| event.end.as_ref()?.time_zone.as_deref()),
        fields::END_TZ,
        &mut warnings,
    )
    .unwrap_or_else(|| start_zone.clone());
    let sz = canon::tz(&start_zone);
    let ez = canon::tz(&end_zone);
    let all_day = event.is_all_day.unwrap_or(false);
    let start = event.start.as_ref().and_then(parse_dtz);
    let end = event.end.as_ref().and_then(parse_dtz);
    if let (Some(s), Some(e)) = (start, end) {
        if all_day {
            let (s, e) = all_day_dates(s, e, sz, ez);
            put(&mut r, fields::START, Some(canon::date(s)));
            put(&mut r, fields::END, Some(canon::date(e)));
        } else {
            put(&mut r, fields::START, Some(canon::instant(s)));
            put(&mut r, fields::END, Some(canon::instant(e)));
        }
    }
    put(&mut r, fields::START_TZ, Some(start_zone));
    put(&mut r, fields::END_TZ, Some(end_zone));
    put_value(&mut r, fields::ALL_DAY, Some(Value::from(all_day)));
    put_value(&mut r, fields::ATTENDEES, attendees(event));
    let reminder = (event.is_reminder_on == Some(true)).then(|| {
        event
            .reminder_minutes_before_start
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(15)
    });
    put_value(&mut r, fields::REMINDER_MINUTES, reminder.map(Value::from));
    put_value(
        &mut r,
        fields::CATEGORIES,
        canon::categories(event.categories.as_deref().unwrap_or_default()),
    );
    put(
        &mut r,
        fields::SENSITIVITY,
        Some(sensitivity_name(event.sensitivity).to_owned()),
    );
    let busy = event
        .show_as
        .and_then(|s| BUSY.iter().find(|b| b.0 == s))
        .map_or("busy", |b| b.1);
    put(&mut r, fields::BUSY_STATUS, Some(busy.to_owned()));
    if let Some(rec) = &event.recurrence {
        let v = recurrence_to_value(rec);
        if recurrence::is_unsupported(&v) {
            warnings.push(MappingWarning::UnsupportedRecurrence {
                detail: v
                    .get("detail")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            });
        }
        let mut deleted: Vec<NaiveDate> = event
            .cancelled_occurrences
            .iter()
            .flatten()
            .filter_map(|c| cancelled_date(c, sz))
            .collect();
        deleted.extend(missing_occurrences(&v, instances, sz));
        put_value(
            &mut r,
            fields::DELETED_OCCURRENCES,
            recurrence::deleted_to_value(&deleted),
        );
        let differ =
            |v: Option<String>, master: &Option<String>| v.filter(|v| Some(v) != master.as_ref());
        let modified: Vec<ModifiedOccurrence> = instances
            .iter()
            .filter(|i| i.kind == Some(EventType::Exception))
            .filter_map(|i| {
                Some(ModifiedOccurrence {
                    original_start: canon::whole_seconds(i.original_start?),
                    start: i.start.as_ref().and_then(parse_dtz)?,
                    end: i.end.as_ref().and_then(parse_dtz)?,
                    subject: differ(i.subject.as_deref().and_then(canon::line), &subject),
                    location: differ(
                        i.location
                            .as_ref()
                            .and_then(|l| l.display_name.as_deref())
                            .and_then(canon::line),
                        &location,
                    ),
                    body: differ(super::body_text(i.body.as_ref()), &body),
                })
            })
            .collect();
        put_value(
            &mut r,
            fields::MODIFIED_OCCURRENCES,
            recurrence::modified_to_value(&modified),
        );
        put_value(&mut r, fields::RECURRENCE, Some(v));
    }
    (r, warnings)
}

/// The dates the pattern produces between the first and the last instance's original
/// start that no instance has (cancelled occurrences inside the window).
fn missing_occurrences(pattern: &Value, instances: &[Event], tz: Tz) -> Vec<NaiveDate> {
    let have: Vec<NaiveDate> = instances
        .iter()
        .filter_map(|i| i.original_start)
        .map(|at| canon::local_date(at, tz))
        .collect();
    let (Some(first), Some(last)) = (have.iter().min(), have.iter().max()) else {
        return Vec::new();
    };
    let Some(series) = recurrence::value_to_crm(pattern) else {
        return Vec::new();
    };
    series
        .occurrence_dates(*last, 100_000)
        .into_iter()
        .filter(|d| d >= first && !have.contains(d))
        .collect()
}

fn bool_of(r: &Record, name: &str) -> bool {
    r.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn zones(r: &Record) -> (String, String) {
    let s = get_string(r, fields::START_TZ).unwrap_or_else(|| "UTC".to_owned());
    let e = get_string(r, fields::END_TZ).unwrap_or_else(|| s.clone());
    (s, e)
}

/// The instants of a record's start and end (local midnights for all-day).
fn instants(r: &Record) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (sz, ez) = zones(r);
    if bool_of(r, fields::ALL_DAY) {
        let s = canon::parse_date(r.get(fields::START)?)?;
        let e = canon::parse_date(r.get(fields::END)?)?;
        Some((
            canon::local_midnight(s, canon::tz(&sz)),
            canon::local_midnight(e, canon::tz(&ez)),
        ))
    } else {
        Some((
            canon::parse_instant(r.get(fields::START)?)?,
            canon::parse_instant(r.get(fields::END)?)?,
        ))
    }
}

fn graph_attendees(r: &Record) -> Vec<Attendee> {
    r.get(fields::ATTENDEES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let address = v.get("address").and_then(Value::as_str)?;
            let kind = v
                .get("role")
                .and_then(Value::as_str)
                .and_then(|n| ROLES.iter().find(|r| r.1 == n))
                .map_or(AttendeeType::Required, |r| r.0);
            let response = v
                .get("response")
                .and_then(Value::as_str)
                .filter(|n| *n != "unknown")
                .and_then(|n| RESPONSES.iter().find(|r| r.1 == n))
                .map(|r| r.0);
            Some(Attendee {
                email_address: Some(EmailAddress {
                    name: v.get("name").and_then(Value::as_str).map(str::to_owned),
                    address: Some(address.to_owned()),
                }),
                kind: Some(kind),
                status: response.map(|t| ResponseStatus {
                    response: Some(t),
                    time: None,
                }),
            })
        })
        .collect()
}

fn location(text: Option<String>) -> Location {
    Location {
        display_name: Some(text.unwrap_or_default()),
        ..Location::default()
    }
}

/// The Graph event holding a [`Record`]'s mapped fields: the POST body of the single event
/// or series master (no exceptions: apply them with [`occurrence_writes`] once created).
pub fn record_to_graph(r: &Record) -> Event {
    let (sz, ez) = zones(r);
    let times = instants(r);
    let reminder = r
        .get(fields::REMINDER_MINUTES)
        .and_then(Value::as_u64)
        .and_then(|n| i32::try_from(n).ok());
    let cats = canon::string_list(r.get(fields::CATEGORIES));
    let list = graph_attendees(r);
    Event {
        subject: get_string(r, fields::SUBJECT),
        body: get_string(r, fields::BODY).map(ItemBody::text),
        start: times.map(|(s, _)| local_dtz(s, &sz)),
        end: times.map(|(_, e)| local_dtz(e, &ez)),
        is_all_day: Some(bool_of(r, fields::ALL_DAY)),
        location: get_string(r, fields::LOCATION).map(|l| location(Some(l))),
        attendees: (!list.is_empty()).then_some(list),
        show_as: get_str(r, fields::BUSY_STATUS)
            .and_then(|n| BUSY.iter().find(|b| b.1 == n))
            .map(|b| b.0),
        sensitivity: get_str(r, fields::SENSITIVITY).and_then(sensitivity_from),
        is_reminder_on: Some(reminder.is_some()),
        reminder_minutes_before_start: reminder,
        categories: (!cats.is_empty()).then_some(cats),
        recurrence: r
            .get(fields::RECURRENCE)
            .and_then(|v| value_to_recurrence(v, windows_id(&sz))),
        ..Event::default()
    }
}

/// The PATCH body that turns the master or single event of `old` into that of `new`: only
/// the changed properties (start, end and `isAllDay` together when any time or zone
/// changed; the whole attendee list when it changed); cleared texts as `""`, cleared
/// categories and attendees as `[]`, a removed reminder as `isReminderOn: false`, a removed
/// recurrence as `null`. Occurrence exceptions are in [`occurrence_writes`].
pub fn patch(old: &Record, new: &Record) -> Value {
    let changed = |f: &str| old.get(f) != new.get(f);
    let full = record_to_graph(new);
    let mut m = Map::new();
    if changed(fields::SUBJECT) {
        m.insert(
            "subject".into(),
            full.subject.clone().unwrap_or_default().into(),
        );
    }
    if changed(fields::BODY) {
        m.insert(
            "body".into(),
            to_json(&full.body.clone().unwrap_or_else(|| ItemBody::text(""))),
        );
    }
    if changed(fields::LOCATION) {
        m.insert(
            "location".into(),
            to_json(&location(get_string(new, fields::LOCATION))),
        );
    }
    let times = [
        fields::START,
        fields::END,
        fields::START_TZ,
        fields::END_TZ,
        fields::ALL_DAY,
    ];
    if times.iter().any(|f| changed(f)) {
        if let (Some(s), Some(e)) = (&full.start, &full.end) {
            m.insert("start".into(), to_json(s));
            m.insert("end".into(), to_json(e));
        }
        m.insert("isAllDay".into(), bool_of(new, fields::ALL_DAY).into());
    }
    if changed(fields::ATTENDEES) {
        m.insert(
            "attendees".into(),
            to_json(&full.attendees.clone().unwrap_or_default()),
        );
    }
    if changed(fields::REMINDER_MINUTES) {
        m.insert(
            "isReminderOn".into(),
            full.reminder_minutes_before_start.is_some().into(),
        );
        if let Some(n) = full.reminder_minutes_before_start {
            m.insert("reminderMinutesBeforeStart".into(), n.into());
        }
    }
    if changed(fields::CATEGORIES) {
        m.insert(
            "categories".into(),
            canon::string_list(new.get(fields::CATEGORIES)).into(),
        );
    }
    if changed(fields::SENSITIVITY) {
        m.insert("sensitivity".into(), to_json(&full.sensitivity));
    }
    if changed(fields::BUSY_STATUS) {
        m.insert("showAs".into(), to_json(&full.show_as));
    }
    if changed(fields::RECURRENCE)
        || (new.get(fields::RECURRENCE).is_some() && changed(fields::START_TZ))
    {
        m.insert(
            "recurrence".into(),
            full.recurrence.as_ref().map_or(Value::Null, to_json),
        );
    }
    Value::Object(m)
}

/// The start of the occurrence on `date` of a series starting at `series_start`: the same
/// local time of day in the start zone.
fn occurrence_start(date: NaiveDate, series_start: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let time = series_start.with_timezone(&tz).time();
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map_or_else(
            || canon::local_midnight(date, tz),
            |d| d.with_timezone(&Utc),
        )
}

/// The writes that make the series' instances carry `new`'s deleted and modified
/// occurrences, after the master is created (then `old` is the record without exceptions)
/// or updated: a [`OccurrenceWrite::Delete`] per newly deleted occurrence and a
/// [`OccurrenceWrite::Patch`] per new or changed modified occurrence (its times and texts,
/// the series' texts where it has none). Instances are matched by original start (deleted
/// occurrences by its date in the start zone); occurrences without an instance (outside the
/// window) get nothing. Restoring a deleted occurrence or reverting a modification has no
/// Graph operation either (as with EWS) and yields nothing.
pub fn occurrence_writes(old: &Record, new: &Record, instances: &[Event]) -> Vec<OccurrenceWrite> {
    let mut out = Vec::new();
    let (sz, ez) = zones(new);
    let stz = canon::tz(&sz);
    let Some((series_start, _)) = instants(new) else {
        return out;
    };
    let find = |at: DateTime<Utc>| {
        instances
            .iter()
            .find(|i| i.original_start.map(canon::whole_seconds) == Some(at))
            .and_then(|i| i.id.clone())
    };
    let old_deleted = recurrence::value_to_deleted(old.get(fields::DELETED_OCCURRENCES));
    for d in recurrence::value_to_deleted(new.get(fields::DELETED_OCCURRENCES)) {
        if old_deleted.contains(&d) {
            continue;
        }
        let id = find(occurrence_start(d, series_start, stz)).or_else(|| {
            instances
                .iter()
                .find(|i| i.original_start.map(|o| canon::local_date(o, stz)) == Some(d))
                .and_then(|i| i.id.clone())
        });
        if let Some(id) = id {
            out.push(OccurrenceWrite::Delete { id });
        }
    }
    let old_mod = recurrence::value_to_modified(old.get(fields::MODIFIED_OCCURRENCES));
    for m in recurrence::value_to_modified(new.get(fields::MODIFIED_OCCURRENCES)) {
        if old_mod.contains(&m) {
            continue;
        }
        let Some(id) = find(m.original_start) else {
            continue;
        };
        let mut body = Map::new();
        body.insert("start".into(), to_json(&local_dtz(m.start, &sz)));
        body.insert("end".into(), to_json(&local_dtz(m.end, &ez)));
        body.insert(
            "subject".into(),
            m.subject
                .clone()
                .or_else(|| get_string(new, fields::SUBJECT))
                .unwrap_or_default()
                .into(),
        );
        body.insert(
            "location".into(),
            to_json(&location(
                m.location
                    .clone()
                    .or_else(|| get_string(new, fields::LOCATION)),
            )),
        );
        body.insert(
            "body".into(),
            to_json(&ItemBody::text(
                m.body
                    .clone()
                    .or_else(|| get_string(new, fields::BODY))
                    .unwrap_or_default(),
            )),
        );
        out.push(OccurrenceWrite::Patch {
            id,
            body: Value::Object(body),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_client::types::DateTimeTimeZone;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn master() -> Event {
        let r: Record = serde_json::from_value(json!({"fields": {
            "subject": "Daily", "start": "2025-03-10T08:00:00Z", "end": "2025-03-10T08:30:00Z",
            "start_tz": "Europe/Berlin", "end_tz": "Europe/Berlin", "all_day": false,
            "sensitivity": "normal", "busy_status": "busy",
            "recurrence": {"pattern": "daily", "interval": 1, "start_date": "2025-03-10",
                           "end": "after", "occurrences": 5}
        }}))
        .unwrap_or_default();
        let mut e = record_to_graph(&r);
        e.original_start_time_zone = Some("W. Europe Standard Time".into());
        e.original_end_time_zone = Some("W. Europe Standard Time".into());
        e
    }

    fn instance(id: &str, original: &str, start: &str, kind: EventType) -> Event {
        Event {
            id: Some(id.into()),
            kind: Some(kind),
            original_start: Some(at(original)),
            start: Some(DateTimeTimeZone::new(start, "UTC")),
            end: Some(DateTimeTimeZone::new(start.replace("T08:", "T09:"), "UTC")),
            subject: Some("Daily".into()),
            ..Event::default()
        }
    }

    #[test]
    fn deleted_occurrences_are_inferred_from_missing_instances_and_cancelled_ids() {
        let mut e = master();
        let instances = [
            instance(
                "a",
                "2025-03-10T08:00:00Z",
                "2025-03-10T08:00:00",
                EventType::Occurrence,
            ),
            // 2025-03-11 missing: cancelled
            instance(
                "c",
                "2025-03-12T08:00:00Z",
                "2025-03-12T08:15:00",
                EventType::Exception,
            ),
            instance(
                "d",
                "2025-03-13T08:00:00Z",
                "2025-03-13T08:00:00",
                EventType::Occurrence,
            ),
        ];
        // 2025-03-14 is outside the window: only a cancelled id names it
        e.cancelled_occurrences = Some(vec!["OID.AAMkAGI2.2025-03-14".into()]);
        let (r, warnings) = graph_to_record(&e, &instances);
        assert!(warnings.is_empty());
        assert_eq!(
            r.get(fields::DELETED_OCCURRENCES),
            Some(&json!(["2025-03-11", "2025-03-14"]))
        );
        assert_eq!(
            r.get(fields::MODIFIED_OCCURRENCES),
            Some(&json!([{"original_start": "2025-03-12T08:00:00Z",
                          "start": "2025-03-12T08:15:00Z", "end": "2025-03-12T09:15:00Z"}]))
        );
        assert_eq!(
            cancelled_date("OID.2025-03-14T08:00:00Z", chrono_tz::Europe::Berlin),
            NaiveDate::from_ymd_opt(2025, 3, 14)
        );
    }

    #[test]
    fn unknown_zones_fall_back_to_utc_with_a_warning() {
        let mut e = master();
        e.recurrence = None;
        e.original_start_time_zone = Some("tzone://Microsoft/Custom".into());
        e.original_end_time_zone = None;
        e.start = Some(DateTimeTimeZone::new("2025-03-10T08:00:00.0000000", "UTC"));
        e.end = Some(DateTimeTimeZone::new("2025-03-10T08:30:00.0000000", "UTC"));
        let (r, warnings) = graph_to_record(&e, &[]);
        assert_eq!(r.get(fields::START_TZ), Some(&json!("UTC")));
        assert_eq!(r.get(fields::START), Some(&json!("2025-03-10T08:00:00Z")));
        assert!(matches!(
            warnings.as_slice(),
            [MappingWarning::UnknownWindowsZone {
                field: "start_tz",
                ..
            }]
        ));
    }

    #[test]
    fn all_day_events_are_local_midnights_in_their_zone() {
        let r: Record = serde_json::from_value(json!({"fields": {
            "subject": "Messe", "start": "2025-10-25", "end": "2025-10-27",
            "start_tz": "Europe/Berlin", "end_tz": "Europe/Berlin", "all_day": true,
            "sensitivity": "normal", "busy_status": "free"
        }}))
        .unwrap_or_default();
        let e = record_to_graph(&r);
        assert_eq!(
            e.start,
            Some(DateTimeTimeZone::new(
                "2025-10-25T00:00:00.0000000",
                "W. Europe Standard Time"
            ))
        );
        assert_eq!(
            e.end,
            Some(DateTimeTimeZone::new(
                "2025-10-27T00:00:00.0000000",
                "W. Europe Standard Time"
            ))
        );
        // as the server answers with Prefer: outlook.timezone="UTC" (DST ends on the 26th)
        let mut read = e.clone();
        read.start = Some(DateTimeTimeZone::new("2025-10-24T22:00:00.0000000", "UTC"));
        read.end = Some(DateTimeTimeZone::new("2025-10-26T23:00:00.0000000", "UTC"));
        read.original_start_time_zone = Some("W. Europe Standard Time".into());
        read.original_end_time_zone = Some("W. Europe Standard Time".into());
        assert_eq!(graph_to_record(&read, &[]).0, r);
    }
}
