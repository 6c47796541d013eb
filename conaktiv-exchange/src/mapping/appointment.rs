//! Appointments: [`Appointment`] and EWS [`CalendarItem`] (`t:CalendarItem`).
//!
//! * Time zones: the CRM has IANA names, Exchange Windows ids (`StartTimeZone`,
//!   `EndTimeZone`); both map through CLDR (`ews_client::types::timezone`) and the record
//!   holds the canonical IANA name ([`canon::zone`]). An Exchange id that is not a Windows id
//!   falls back to `UTC` with a [`MappingWarning::UnknownWindowsZone`]; instants stay exact.
//! * Timed appointments: `start`/`end` are UTC instants. All-day appointments: `start` is the
//!   first day and `end` the day after the last (dates, exclusive end), computed in the
//!   appointment's own zones, so an all-day event across a DST change stays whole days.
//! * Recurrence: the canonical object of [`super::recurrence`]; deleted occurrences as the
//!   dates of their original starts (local to the start zone), modified occurrences with
//!   their times and changed texts. Exchange keeps exceptions as separate occurrence items:
//!   read them with [`ews_to_record_with_exceptions`], write them with
//!   [`occurrence_changes`].
//! * The organizer is set by Exchange (the mailbox owner) and is not mapped; attendees are
//!   one sorted list with their roles and responses.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use conaktiv_model::Appointment;
use conaktiv_model::appointment::{
    Attendee as CrmAttendee, AttendeeRole, BusyStatus, Participant, ResponseStatus, Sensitivity,
};
use ews_client::types::calendar::{CalendarItemType, LegacyFreeBusy, OccurrenceInfo, ResponseType};
use ews_client::types::item::Sensitivity as EwsSensitivity;
use ews_client::types::timezone::{LegacyTimeZone, iana_to_windows};
use ews_client::types::{Attendee, Body, CalendarItem, PropertyPath, TimeZoneDefinition};
use serde_json::{Map, Value};

use super::canon::{self, get_str, get_string, put, put_value};
use super::contact::changed_paths;
use super::recurrence;
use super::{FieldChange, MappingWarning, Record};

/// The canonical field names of an appointment [`Record`].
pub mod fields {
    /// Subject; `item:Subject`.
    pub const SUBJECT: &str = "subject";
    /// Location; `calendar:Location`.
    pub const LOCATION: &str = "location";
    /// Body (multi-line text); `item:Body`.
    pub const BODY: &str = "body";
    /// Start: UTC instant, or the first day for all-day; `calendar:Start`.
    pub const START: &str = "start";
    /// End: UTC instant, or the day after the last day for all-day; `calendar:End`.
    pub const END: &str = "end";
    /// Canonical IANA zone of the start; `calendar:StartTimeZone` (Windows id).
    pub const START_TZ: &str = "start_tz";
    /// Canonical IANA zone of the end; `calendar:EndTimeZone` (Windows id).
    pub const END_TZ: &str = "end_tz";
    /// All-day flag (always present); `calendar:IsAllDayEvent`.
    pub const ALL_DAY: &str = "all_day";
    /// Attendees: array of `{address, name, role, response}` sorted by address (lower
    /// case); `calendar:RequiredAttendees`, `calendar:OptionalAttendees`,
    /// `calendar:Resources`.
    pub const ATTENDEES: &str = "attendees";
    /// Reminder minutes before the start, absent for no reminder; `item:ReminderIsSet` and
    /// `item:ReminderMinutesBeforeStart`.
    pub const REMINDER_MINUTES: &str = "reminder_minutes";
    /// Categories, a sorted array; `item:Categories`.
    pub const CATEGORIES: &str = "categories";
    /// `normal`, `personal`, `private`, `confidential` (always present); `item:Sensitivity`.
    pub const SENSITIVITY: &str = "sensitivity";
    /// `free`, `tentative`, `busy`, `out_of_office`, `working_elsewhere`, `no_data` (always
    /// present); `calendar:LegacyFreeBusyStatus`.
    pub const BUSY_STATUS: &str = "busy_status";
    /// The recurrence object (see [`super::super::recurrence`]); `calendar:Recurrence`.
    pub const RECURRENCE: &str = "recurrence";
    /// Deleted occurrences: sorted array of original dates; Exchange `DeletedOccurrences`.
    pub const DELETED_OCCURRENCES: &str = "recurrence.deleted";
    /// Modified occurrences: array sorted by `original_start`; Exchange
    /// `ModifiedOccurrences` and the exception items.
    pub const MODIFIED_OCCURRENCES: &str = "recurrence.modified";
}

const SENSITIVITIES: [(Sensitivity, EwsSensitivity, &str); 4] = [
    (Sensitivity::Normal, EwsSensitivity::Normal, "normal"),
    (Sensitivity::Personal, EwsSensitivity::Personal, "personal"),
    (Sensitivity::Private, EwsSensitivity::Private, "private"),
    (
        Sensitivity::Confidential,
        EwsSensitivity::Confidential,
        "confidential",
    ),
];

const BUSY: [(BusyStatus, LegacyFreeBusy, &str); 6] = [
    (BusyStatus::Free, LegacyFreeBusy::Free, "free"),
    (
        BusyStatus::Tentative,
        LegacyFreeBusy::Tentative,
        "tentative",
    ),
    (BusyStatus::Busy, LegacyFreeBusy::Busy, "busy"),
    (
        BusyStatus::OutOfOffice,
        LegacyFreeBusy::Oof,
        "out_of_office",
    ),
    (
        BusyStatus::WorkingElsewhere,
        LegacyFreeBusy::WorkingElsewhere,
        "working_elsewhere",
    ),
    (BusyStatus::NoData, LegacyFreeBusy::NoData, "no_data"),
];

const RESPONSES: [(ResponseStatus, ResponseType, &str); 6] = [
    (ResponseStatus::Unknown, ResponseType::Unknown, "unknown"),
    (
        ResponseStatus::Organizer,
        ResponseType::Organizer,
        "organizer",
    ),
    (
        ResponseStatus::Tentative,
        ResponseType::Tentative,
        "tentative",
    ),
    (ResponseStatus::Accepted, ResponseType::Accept, "accepted"),
    (ResponseStatus::Declined, ResponseType::Decline, "declined"),
    (
        ResponseStatus::NoResponseReceived,
        ResponseType::NoResponseReceived,
        "no_response_received",
    ),
];

const ROLES: [(AttendeeRole, &str, &str); 3] = [
    (
        AttendeeRole::Required,
        "required",
        "calendar:RequiredAttendees",
    ),
    (
        AttendeeRole::Optional,
        "optional",
        "calendar:OptionalAttendees",
    ),
    (AttendeeRole::Resource, "resource", "calendar:Resources"),
];

/// The canonical name of a sensitivity (shared with tasks).
pub(crate) fn sensitivity_name(s: Sensitivity) -> &'static str {
    SENSITIVITIES
        .iter()
        .find(|x| x.0 == s)
        .map_or("normal", |x| x.2)
}

/// The canonical name of an EWS sensitivity (absent means normal).
pub(crate) fn ews_sensitivity_name(s: Option<EwsSensitivity>) -> &'static str {
    s.and_then(|s| SENSITIVITIES.iter().find(|x| x.1 == s))
        .map_or("normal", |x| x.2)
}

/// The CRM sensitivity of a canonical name.
pub(crate) fn sensitivity_from(name: &str) -> Option<Sensitivity> {
    SENSITIVITIES.iter().find(|x| x.2 == name).map(|x| x.0)
}

/// The EWS sensitivity of a canonical name.
pub(crate) fn ews_sensitivity_from(name: &str) -> Option<EwsSensitivity> {
    SENSITIVITIES.iter().find(|x| x.2 == name).map(|x| x.1)
}

fn attendee_value(
    address: &str,
    name: Option<String>,
    role: &str,
    response: &str,
) -> Option<Value> {
    let address = canon::line(address)?.to_lowercase();
    let mut o = Map::new();
    o.insert("address".into(), address.into());
    if let Some(n) = name {
        o.insert("name".into(), n.into());
    }
    o.insert("role".into(), role.into());
    o.insert("response".into(), response.into());
    Some(Value::Object(o))
}

fn sort_attendees(mut list: Vec<Value>) -> Option<Value> {
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
    list.sort_by_key(key);
    list.dedup_by(|a, b| a.get("address") == b.get("address"));
    (!list.is_empty()).then(|| Value::from(list))
}

fn crm_attendees(list: &[CrmAttendee]) -> Option<Value> {
    sort_attendees(
        list.iter()
            .filter_map(|a| {
                let role = ROLES
                    .iter()
                    .find(|r| r.0 == a.role)
                    .map_or("required", |r| r.1);
                let resp = RESPONSES
                    .iter()
                    .find(|r| r.0 == a.response)
                    .map_or("unknown", |r| r.2);
                attendee_value(
                    &a.participant.address,
                    canon::line(&a.participant.name),
                    role,
                    resp,
                )
            })
            .collect(),
    )
}

fn ews_attendees(x: &CalendarItem) -> Option<Value> {
    let mut out = Vec::new();
    for (list, role) in [
        (&x.required_attendees, "required"),
        (&x.optional_attendees, "optional"),
        (&x.resources, "resource"),
    ] {
        for a in list {
            let Some(address) = a.mailbox.email_address.as_deref() else {
                continue;
            };
            let resp = a
                .response_type
                .and_then(|t| RESPONSES.iter().find(|r| r.1 == t))
                .map_or("unknown", |r| r.2);
            let name = a.mailbox.name.as_deref().and_then(canon::line);
            out.extend(attendee_value(address, name, role, resp));
        }
    }
    sort_attendees(out)
}

/// The all-day date range: the first day and the day after the last, each the nearest
/// date of its local time (a midnight that does not exist because of a DST change at
/// midnight is 01:00), at least one day.
fn all_day_dates(
    start_local: chrono::NaiveDateTime,
    end_local: chrono::NaiveDateTime,
) -> (NaiveDate, NaiveDate) {
    let nearest = |t: chrono::NaiveDateTime| (t + Duration::hours(12)).date();
    let start = nearest(start_local);
    let mut end = nearest(end_local);
    if end <= start {
        end = start + Duration::days(1);
    }
    (start, end)
}

/// Projects a CRM appointment onto a [`Record`].
pub fn crm_to_record(a: &Appointment) -> Record {
    let mut r = Record::new();
    put(&mut r, fields::SUBJECT, canon::line(&a.subject));
    put(&mut r, fields::LOCATION, canon::line(&a.location));
    put(&mut r, fields::BODY, canon::multiline(&a.body));
    let end_zone_name = if a.end_time_zone.trim().is_empty() {
        &a.start_time_zone
    } else {
        &a.end_time_zone
    };
    let start_zone = canon::zone(&a.start_time_zone);
    let end_zone = canon::zone(end_zone_name);
    if a.all_day {
        let stz = crm_tz(&a.start_time_zone, &start_zone);
        let etz = crm_tz(end_zone_name, &end_zone);
        let (s, e) = all_day_dates(
            a.start.with_timezone(&stz).naive_local(),
            a.end.with_timezone(&etz).naive_local(),
        );
        put(&mut r, fields::START, Some(canon::date(s)));
        put(&mut r, fields::END, Some(canon::date(e)));
    } else {
        put(&mut r, fields::START, Some(canon::instant(a.start)));
        put(&mut r, fields::END, Some(canon::instant(a.end)));
    }
    put(&mut r, fields::START_TZ, Some(start_zone));
    put(&mut r, fields::END_TZ, Some(end_zone));
    put_value(&mut r, fields::ALL_DAY, Some(Value::from(a.all_day)));
    put_value(&mut r, fields::ATTENDEES, crm_attendees(&a.attendees));
    put_value(
        &mut r,
        fields::REMINDER_MINUTES,
        a.reminder_minutes_before.map(Value::from),
    );
    put_value(&mut r, fields::CATEGORIES, canon::categories(&a.categories));
    put(
        &mut r,
        fields::SENSITIVITY,
        Some(sensitivity_name(a.sensitivity).to_owned()),
    );
    put(
        &mut r,
        fields::BUSY_STATUS,
        BUSY.iter()
            .find(|b| b.0 == a.busy_status)
            .map(|b| b.2.to_owned()),
    );
    if let Some(rec) = &a.recurrence {
        put_value(
            &mut r,
            fields::RECURRENCE,
            Some(recurrence::crm_to_value(rec)),
        );
        put_value(
            &mut r,
            fields::DELETED_OCCURRENCES,
            recurrence::deleted_to_value(&rec.deleted_occurrences),
        );
        put_value(
            &mut r,
            fields::MODIFIED_OCCURRENCES,
            recurrence::modified_to_value(&rec.modified_occurrences),
        );
    }
    r
}

/// The CRM's own zone when it parses, else the canonical one, else UTC.
fn crm_tz(own: &str, canonical: &str) -> Tz {
    own.trim().parse().unwrap_or_else(|_| canon::tz(canonical))
}

fn bool_of(r: &Record, name: &str) -> bool {
    r.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// The instants of a record's start and end: parsed instants for timed appointments,
/// local midnights in the record's zones for all-day ones.
fn record_instants(r: &Record, start_tz: Tz, end_tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if bool_of(r, fields::ALL_DAY) {
        let s = canon::parse_date(r.get(fields::START)?)?;
        let e = canon::parse_date(r.get(fields::END)?)?;
        Some((
            canon::local_midnight(s, start_tz),
            canon::local_midnight(e, end_tz),
        ))
    } else {
        Some((
            canon::parse_instant(r.get(fields::START)?)?,
            canon::parse_instant(r.get(fields::END)?)?,
        ))
    }
}

/// Applies the mapped fields of a [`Record`] onto a CRM appointment. Unmapped fields (id,
/// organizer, project) are left alone, as is every field whose canonical value is
/// unchanged (so an `Europe/Vienna` zone stays `Europe/Vienna` while the record says
/// `Europe/Berlin`).
pub fn record_onto_crm(r: &Record, a: &mut Appointment) {
    let cur = crm_to_record(a);
    let differs = |name: &str| cur.get(name) != r.get(name);
    canon::apply_line(&mut a.subject, get_str(r, fields::SUBJECT));
    canon::apply_line(&mut a.location, get_str(r, fields::LOCATION));
    canon::apply_multiline(&mut a.body, get_str(r, fields::BODY));
    // An empty zone (invalid in the CRM) is filled in even when it means the same (UTC).
    if differs(fields::START_TZ) || a.start_time_zone.trim().is_empty() {
        a.start_time_zone = get_str(r, fields::START_TZ).unwrap_or("UTC").to_owned();
    }
    if differs(fields::END_TZ) || a.end_time_zone.trim().is_empty() {
        a.end_time_zone = get_str(r, fields::END_TZ).unwrap_or("UTC").to_owned();
    }
    let times_differ = [
        fields::START,
        fields::END,
        fields::ALL_DAY,
        fields::START_TZ,
        fields::END_TZ,
    ]
    .iter()
    .any(|f| differs(f));
    if times_differ {
        let stz = canon::tz(&a.start_time_zone);
        let etz = canon::tz(if a.end_time_zone.trim().is_empty() {
            &a.start_time_zone
        } else {
            &a.end_time_zone
        });
        if let Some((s, e)) = record_instants(r, stz, etz) {
            a.start = s;
            a.end = e;
            a.all_day = bool_of(r, fields::ALL_DAY);
        }
    }
    if differs(fields::ATTENDEES) {
        let old = std::mem::take(&mut a.attendees);
        let list = r.get(fields::ATTENDEES).and_then(Value::as_array);
        for v in list.into_iter().flatten() {
            let Some(address) = v.get("address").and_then(Value::as_str) else {
                continue;
            };
            let name = v.get("name").and_then(Value::as_str);
            let role = v
                .get("role")
                .and_then(Value::as_str)
                .and_then(|n| ROLES.iter().find(|r| r.1 == n))
                .map_or(AttendeeRole::Required, |r| r.0);
            let response = v
                .get("response")
                .and_then(Value::as_str)
                .and_then(|n| RESPONSES.iter().find(|r| r.2 == n))
                .map_or(ResponseStatus::Unknown, |r| r.0);
            let mut participant = old
                .iter()
                .find(|o| o.participant.address.trim().eq_ignore_ascii_case(address))
                .map(|o| o.participant.clone())
                .unwrap_or_else(|| Participant {
                    name: String::new(),
                    address: address.to_owned(),
                });
            canon::apply_line(&mut participant.name, name);
            a.attendees.push(CrmAttendee {
                participant,
                role,
                response,
            });
        }
    }
    if differs(fields::REMINDER_MINUTES) {
        a.reminder_minutes_before = r
            .get(fields::REMINDER_MINUTES)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok());
    }
    canon::apply_categories(&mut a.categories, r.get(fields::CATEGORIES));
    if let Some(s) = get_str(r, fields::SENSITIVITY).and_then(sensitivity_from) {
        a.sensitivity = s;
    }
    if let Some(b) = get_str(r, fields::BUSY_STATUS).and_then(|n| BUSY.iter().find(|b| b.2 == n)) {
        a.busy_status = b.0;
    }
    apply_recurrence(r, &cur, &mut a.recurrence);
}

/// Applies the recurrence fields (shared with tasks).
pub(crate) fn apply_recurrence(
    r: &Record,
    cur: &Record,
    target: &mut Option<conaktiv_model::recurrence::Recurrence>,
) {
    let differs = |name: &str| cur.get(name) != r.get(name);
    match r.get(fields::RECURRENCE) {
        None => *target = None,
        Some(v) if recurrence::is_unsupported(v) => {}
        Some(v) => {
            if differs(fields::RECURRENCE) || target.is_none() {
                let Some(mut new) = recurrence::value_to_crm(v) else {
                    return;
                };
                if let Some(old) = target.take() {
                    new.deleted_occurrences = old.deleted_occurrences;
                    new.modified_occurrences = old.modified_occurrences;
                }
                *target = Some(new);
            }
            if let Some(t) = target.as_mut() {
                if differs(fields::DELETED_OCCURRENCES) {
                    t.deleted_occurrences =
                        recurrence::value_to_deleted(r.get(fields::DELETED_OCCURRENCES));
                }
                if differs(fields::MODIFIED_OCCURRENCES) {
                    t.modified_occurrences =
                        recurrence::value_to_modified(r.get(fields::MODIFIED_OCCURRENCES));
                }
            }
        }
    }
}

/// A zone of an EWS item: its canonical name and how to convert instants to local time.
struct EwsZone<'a> {
    name: String,
    def: Option<&'a TimeZoneDefinition>,
    legacy: Option<&'a LegacyTimeZone>,
}

impl EwsZone<'_> {
    fn local(&self, at: DateTime<Utc>) -> chrono::NaiveDateTime {
        let offset = self
            .def
            .and_then(|d| d.utc_offset_at(at))
            .or_else(|| self.legacy.and_then(|l| l.utc_offset_at(at)));
        match offset {
            Some(o) => at.naive_utc() + Duration::seconds(i64::from(o.local_minus_utc())),
            None => at.with_timezone(&canon::tz(&self.name)).naive_local(),
        }
    }
}

fn ews_zone<'a>(
    def: Option<&'a TimeZoneDefinition>,
    legacy: Option<&'a LegacyTimeZone>,
    field: &'static str,
    warnings: &mut Vec<MappingWarning>,
) -> EwsZone<'a> {
    let id = def
        .and_then(|d| d.id.as_deref())
        .or_else(|| legacy.and_then(|l| l.time_zone_name.as_deref()));
    let name = match id {
        Some(id) => canon::zone_from_windows(id).unwrap_or_else(|| {
            warnings.push(MappingWarning::UnknownWindowsZone {
                field,
                id: id.to_owned(),
            });
            "UTC".to_owned()
        }),
        None => "UTC".to_owned(),
    };
    EwsZone { name, def, legacy }
}

/// Projects an EWS calendar item onto a [`Record`] (a series master's exceptions without
/// their changed texts; see [`ews_to_record_with_exceptions`]).
pub fn ews_to_record(x: &CalendarItem) -> Record {
    ews_to_record_with_warnings(x, &[]).0
}

/// Projects a series master and its exception items (from `GetItem` on the ids in
/// `ModifiedOccurrences`) onto a [`Record`]: an exception's subject, location and body are
/// recorded where they differ from the master's.
pub fn ews_to_record_with_exceptions(x: &CalendarItem, exceptions: &[CalendarItem]) -> Record {
    ews_to_record_with_warnings(x, exceptions).0
}

/// [`ews_to_record_with_exceptions`] with the warnings about fallbacks (unknown zones,
/// unsupported recurrence).
pub fn ews_to_record_with_warnings(
    x: &CalendarItem,
    exceptions: &[CalendarItem],
) -> (Record, Vec<MappingWarning>) {
    let mut warnings = Vec::new();
    let mut r = Record::new();
    let subject = x.common.subject.as_deref().and_then(canon::line);
    let location = x.location.as_deref().and_then(canon::line);
    let body = canon::body_text(x.common.body.as_ref());
    put(&mut r, fields::SUBJECT, subject.clone());
    put(&mut r, fields::LOCATION, location.clone());
    put(&mut r, fields::BODY, body.clone());
    let sz = ews_zone(
        x.start_time_zone.as_ref(),
        x.meeting_time_zone.as_ref(),
        fields::START_TZ,
        &mut warnings,
    );
    let ez = if x.end_time_zone.is_some() {
        ews_zone(
            x.end_time_zone.as_ref(),
            None,
            fields::END_TZ,
            &mut warnings,
        )
    } else {
        EwsZone {
            name: sz.name.clone(),
            def: sz.def,
            legacy: sz.legacy,
        }
    };
    let all_day = x.is_all_day_event.unwrap_or(false);
    if let (Some(s), Some(e)) = (x.start, x.end) {
        if all_day {
            let (s, e) = all_day_dates(sz.local(s), ez.local(e));
            put(&mut r, fields::START, Some(canon::date(s)));
            put(&mut r, fields::END, Some(canon::date(e)));
        } else {
            put(&mut r, fields::START, Some(canon::instant(s)));
            put(&mut r, fields::END, Some(canon::instant(e)));
        }
    }
    put(&mut r, fields::START_TZ, Some(sz.name.clone()));
    put(&mut r, fields::END_TZ, Some(ez.name.clone()));
    put_value(&mut r, fields::ALL_DAY, Some(Value::from(all_day)));
    put_value(&mut r, fields::ATTENDEES, ews_attendees(x));
    let reminder = (x.common.reminder_is_set == Some(true)).then(|| {
        x.common
            .reminder_minutes_before_start
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(15)
    });
    put_value(&mut r, fields::REMINDER_MINUTES, reminder.map(Value::from));
    put_value(
        &mut r,
        fields::CATEGORIES,
        canon::categories(&x.common.categories),
    );
    put(
        &mut r,
        fields::SENSITIVITY,
        Some(ews_sensitivity_name(x.common.sensitivity).to_owned()),
    );
    let busy = x
        .legacy_free_busy_status
        .and_then(|s| BUSY.iter().find(|b| b.1 == s))
        .map_or("busy", |b| b.2);
    put(&mut r, fields::BUSY_STATUS, Some(busy.to_owned()));
    if let Some(rec) = &x.recurrence {
        let v = recurrence::ews_to_value(rec);
        if recurrence::is_unsupported(&v) {
            warnings.push(MappingWarning::UnsupportedRecurrence {
                detail: v
                    .get("detail")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            });
        }
        put_value(&mut r, fields::RECURRENCE, Some(v));
        let deleted: Vec<NaiveDate> = x
            .deleted_occurrences
            .iter()
            .map(|d| sz.local(*d).date())
            .collect();
        put_value(
            &mut r,
            fields::DELETED_OCCURRENCES,
            recurrence::deleted_to_value(&deleted),
        );
        let modified: Vec<_> = x
            .modified_occurrences
            .iter()
            .map(|o| {
                let ex = exceptions
                    .iter()
                    .find(|e| e.original_start.or(e.recurrence_id) == Some(o.original_start));
                let differ = |v: Option<String>, master: &Option<String>| {
                    v.filter(|v| Some(v) != master.as_ref())
                };
                conaktiv_model::recurrence::ModifiedOccurrence {
                    original_start: o.original_start,
                    start: o.start,
                    end: o.end,
                    subject: ex.and_then(|e| {
                        differ(e.common.subject.as_deref().and_then(canon::line), &subject)
                    }),
                    location: ex.and_then(|e| {
                        differ(e.location.as_deref().and_then(canon::line), &location)
                    }),
                    body: ex.and_then(|e| differ(canon::body_text(e.common.body.as_ref()), &body)),
                }
            })
            .collect();
        put_value(
            &mut r,
            fields::MODIFIED_OCCURRENCES,
            recurrence::modified_to_value(&modified),
        );
    }
    (r, warnings)
}

fn ews_zone_def(
    r: &Record,
    field: &'static str,
    warnings: &mut Vec<MappingWarning>,
) -> Option<TimeZoneDefinition> {
    let name = get_str(r, field)?;
    match iana_to_windows(name) {
        Some(w) => Some(TimeZoneDefinition::windows(w)),
        None => {
            warnings.push(MappingWarning::UnknownIanaZone {
                field,
                name: name.to_owned(),
            });
            None
        }
    }
}

/// Builds the EWS calendar item holding a [`Record`]'s writable mapped fields (for
/// `CreateItem`). A series' deleted and modified occurrences are not in it (read-only in
/// EWS): after creating the master, apply them with [`occurrence_changes`] from a record
/// without exceptions. [`record_to_ews_as_stored`] gives the item as Exchange then holds it.
pub fn record_to_ews(r: &Record) -> CalendarItem {
    record_to_ews_with_warnings(r).0
}

/// The master calendar item as Exchange holds it once the record's occurrence exceptions
/// are applied: [`record_to_ews`] plus `DeletedOccurrences` (the original starts) and
/// `ModifiedOccurrences` (without item ids). For comparisons and tests, not for requests.
pub fn record_to_ews_as_stored(r: &Record) -> CalendarItem {
    let mut x = record_to_ews(r);
    if r.get(fields::RECURRENCE).is_some() {
        let stz = canon::tz(get_str(r, fields::START_TZ).unwrap_or("UTC"));
        let series_start = x.start.unwrap_or_default();
        x.deleted_occurrences = recurrence::value_to_deleted(r.get(fields::DELETED_OCCURRENCES))
            .into_iter()
            .map(|d| occurrence_start(d, series_start, stz))
            .collect();
        x.modified_occurrences = recurrence::value_to_modified(r.get(fields::MODIFIED_OCCURRENCES))
            .into_iter()
            .map(|m| OccurrenceInfo {
                item_id: Default::default(),
                start: m.start,
                end: m.end,
                original_start: m.original_start,
            })
            .collect();
    }
    x
}

/// [`record_to_ews`] with the warnings about fallbacks (IANA zones without a Windows id).
pub fn record_to_ews_with_warnings(r: &Record) -> (CalendarItem, Vec<MappingWarning>) {
    let mut warnings = Vec::new();
    let mut x = CalendarItem::default();
    x.common.subject = get_string(r, fields::SUBJECT);
    x.location = get_string(r, fields::LOCATION);
    x.common.body = get_string(r, fields::BODY).map(Body::text);
    x.start_time_zone = ews_zone_def(r, fields::START_TZ, &mut warnings);
    x.end_time_zone = ews_zone_def(r, fields::END_TZ, &mut warnings);
    let stz = canon::tz(get_str(r, fields::START_TZ).unwrap_or("UTC"));
    let etz = canon::tz(get_str(r, fields::END_TZ).unwrap_or("UTC"));
    if let Some((s, e)) = record_instants(r, stz, etz) {
        x.start = Some(s);
        x.end = Some(e);
    }
    x.is_all_day_event = Some(bool_of(r, fields::ALL_DAY));
    for v in r
        .get(fields::ATTENDEES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(address) = v.get("address").and_then(Value::as_str) else {
            continue;
        };
        let mut att = Attendee::smtp(address, v.get("name").and_then(Value::as_str));
        att.response_type = v
            .get("response")
            .and_then(Value::as_str)
            .and_then(|n| RESPONSES.iter().find(|r| r.2 == n))
            .map(|r| r.1);
        match v.get("role").and_then(Value::as_str) {
            Some("optional") => x.optional_attendees.push(att),
            Some("resource") => x.resources.push(att),
            _ => x.required_attendees.push(att),
        }
    }
    let reminder = r
        .get(fields::REMINDER_MINUTES)
        .and_then(Value::as_u64)
        .and_then(|n| i32::try_from(n).ok());
    x.common.reminder_is_set = Some(reminder.is_some());
    x.common.reminder_minutes_before_start = reminder;
    x.common.categories = canon::string_list(r.get(fields::CATEGORIES));
    x.common.sensitivity = get_str(r, fields::SENSITIVITY).and_then(ews_sensitivity_from);
    x.legacy_free_busy_status = get_str(r, fields::BUSY_STATUS)
        .and_then(|n| BUSY.iter().find(|b| b.2 == n))
        .map(|b| b.1);
    if let Some(v) = r.get(fields::RECURRENCE) {
        x.recurrence = recurrence::value_to_ews(v);
        if recurrence::is_unsupported(v) {
            warnings.push(MappingWarning::UnsupportedRecurrence {
                detail: v
                    .get("detail")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            });
        }
    }
    (x, warnings)
}

/// The start of the occurrence on `date` of a series starting at `series_start`: the same
/// local time of day in the start zone.
fn occurrence_start(date: NaiveDate, series_start: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    let time = series_start.with_timezone(&tz).time();
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map_or_else(
            || canon::local_midnight(date, tz),
            |d| d.with_timezone(&Utc),
        )
}

/// The exception items Exchange holds for the modified occurrences of a record: one
/// calendar item per occurrence with its times and texts (the series' texts where the
/// occurrence has none). Together with [`record_to_ews`] this is the whole series.
pub fn record_to_ews_exceptions(r: &Record) -> Vec<CalendarItem> {
    recurrence::value_to_modified(r.get(fields::MODIFIED_OCCURRENCES))
        .into_iter()
        .map(|m| exception_item(r, &m))
        .collect()
}

fn exception_item(r: &Record, m: &conaktiv_model::recurrence::ModifiedOccurrence) -> CalendarItem {
    let mut x = CalendarItem {
        calendar_item_type: Some(CalendarItemType::Exception),
        original_start: Some(m.original_start),
        recurrence_id: Some(m.original_start),
        start: Some(m.start),
        end: Some(m.end),
        location: m
            .location
            .clone()
            .or_else(|| get_string(r, fields::LOCATION)),
        ..CalendarItem::default()
    };
    x.common.subject = m.subject.clone().or_else(|| get_string(r, fields::SUBJECT));
    x.common.body = m
        .body
        .clone()
        .or_else(|| get_string(r, fields::BODY))
        .map(Body::text);
    x
}

/// The EWS property path(s) a record field is stored in.
fn field_paths(name: &str) -> Vec<PropertyPath> {
    let uris: &[&str] = match name {
        fields::SUBJECT => &["item:Subject"],
        fields::LOCATION => &["calendar:Location"],
        fields::BODY => &["item:Body"],
        fields::START => &["calendar:Start"],
        fields::END => &["calendar:End"],
        fields::START_TZ => &["calendar:StartTimeZone"],
        fields::END_TZ => &["calendar:EndTimeZone"],
        fields::ALL_DAY => &["calendar:IsAllDayEvent"],
        fields::REMINDER_MINUTES => &["item:ReminderIsSet", "item:ReminderMinutesBeforeStart"],
        fields::CATEGORIES => &["item:Categories"],
        fields::SENSITIVITY => &["item:Sensitivity"],
        fields::BUSY_STATUS => &["calendar:LegacyFreeBusyStatus"],
        fields::RECURRENCE => &["calendar:Recurrence"],
        _ => &[],
    };
    uris.iter().map(|u| PropertyPath::field(*u)).collect()
}

fn project(full: &CalendarItem, uri: &str) -> Option<CalendarItem> {
    let mut x = CalendarItem::default();
    match uri {
        "item:Subject" => x.common.subject = Some(full.common.subject.clone()?),
        "item:Body" => x.common.body = Some(full.common.body.clone()?),
        "item:Categories" if !full.common.categories.is_empty() => {
            x.common.categories = full.common.categories.clone()
        }
        "item:Sensitivity" => x.common.sensitivity = Some(full.common.sensitivity?),
        "item:ReminderIsSet" => x.common.reminder_is_set = Some(full.common.reminder_is_set?),
        "item:ReminderMinutesBeforeStart" => {
            x.common.reminder_minutes_before_start =
                Some(full.common.reminder_minutes_before_start?)
        }
        "calendar:Location" => x.location = Some(full.location.clone()?),
        "calendar:Start" => x.start = Some(full.start?),
        "calendar:End" => x.end = Some(full.end?),
        "calendar:StartTimeZone" => x.start_time_zone = Some(full.start_time_zone.clone()?),
        "calendar:EndTimeZone" => x.end_time_zone = Some(full.end_time_zone.clone()?),
        "calendar:IsAllDayEvent" => x.is_all_day_event = Some(full.is_all_day_event?),
        "calendar:LegacyFreeBusyStatus" => {
            x.legacy_free_busy_status = Some(full.legacy_free_busy_status?)
        }
        "calendar:Recurrence" => x.recurrence = Some(full.recurrence.clone()?),
        "calendar:RequiredAttendees" if !full.required_attendees.is_empty() => {
            x.required_attendees = full.required_attendees.clone()
        }
        "calendar:OptionalAttendees" if !full.optional_attendees.is_empty() => {
            x.optional_attendees = full.optional_attendees.clone()
        }
        "calendar:Resources" if !full.resources.is_empty() => x.resources = full.resources.clone(),
        _ => return None,
    }
    Some(x)
}

fn role_list(r: &Record, role: &str) -> Vec<Value> {
    r.get(fields::ATTENDEES)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|v| v.get("role").and_then(Value::as_str) == Some(role))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The `UpdateItem` changes that turn the Exchange calendar item of `old` into that of
/// `new`: one `SetItemField` per changed or added property, one `DeleteItemField` per
/// removed one. A reminder is two properties (`ReminderIsSet`, `ReminderMinutesBeforeStart`);
/// removing it sets `ReminderIsSet` to false. Attendee changes set the changed role lists.
/// Changes of an all-day appointment's zones re-set `Start` and `End` (midnight moves with
/// the zone). Occurrence exceptions are in [`occurrence_changes`].
pub fn record_to_update_changes(old: &Record, new: &Record) -> Vec<FieldChange> {
    let full = record_to_ews(new);
    let mut paths = changed_paths(old, new, |name| field_paths(name).into_iter().next());
    // The second path of the reminder, and Start/End after zone changes of all-day items.
    let changed = |f: &str| old.get(f) != new.get(f);
    if changed(fields::REMINDER_MINUTES) && new.get(fields::REMINDER_MINUTES).is_some() {
        paths.push(PropertyPath::field("item:ReminderMinutesBeforeStart"));
    }
    if bool_of(new, fields::ALL_DAY) && (changed(fields::START_TZ) || changed(fields::END_TZ)) {
        for p in ["calendar:Start", "calendar:End"] {
            let p = PropertyPath::field(p);
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
    }
    for (_, role, uri) in ROLES {
        if role_list(old, role) != role_list(new, role) {
            paths.push(PropertyPath::field(uri));
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let uri = match &path {
                PropertyPath::Field(u) => u.as_str(),
                _ => "",
            };
            match project(&full, uri) {
                Some(item) => FieldChange::Set {
                    path,
                    item: item.into(),
                },
                None => FieldChange::Delete { path },
            }
        })
        .collect()
}

/// A change of one occurrence of a series, applied on the occurrence item (found by its
/// original start, e.g. with `GetItem` on an `OccurrenceItemId` or by expanding the series).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OccurrenceChange {
    /// Delete the occurrence (`DeleteItem` on it).
    Delete {
        /// Its start in the series pattern.
        original_start: DateTime<Utc>,
    },
    /// Update the occurrence to `item` (start, end, subject, location, body).
    Modify {
        /// Its start in the series pattern.
        original_start: DateTime<Utc>,
        /// The occurrence's new content.
        item: Box<CalendarItem>,
    },
}

/// The occurrence changes between two records of a series: deletes for newly deleted
/// occurrences, modifications for new or changed modified occurrences. Restoring a deleted
/// occurrence or reverting a modification has no EWS operation and yields nothing.
pub fn occurrence_changes(old: &Record, new: &Record) -> Vec<OccurrenceChange> {
    let mut out = Vec::new();
    let new_x = record_to_ews(new);
    let old_deleted = recurrence::value_to_deleted(old.get(fields::DELETED_OCCURRENCES));
    let stz = canon::tz(get_str(new, fields::START_TZ).unwrap_or("UTC"));
    let series_start = new_x.start.unwrap_or_default();
    for d in recurrence::value_to_deleted(new.get(fields::DELETED_OCCURRENCES)) {
        if !old_deleted.contains(&d) {
            out.push(OccurrenceChange::Delete {
                original_start: occurrence_start(d, series_start, stz),
            });
        }
    }
    let old_mod = recurrence::value_to_modified(old.get(fields::MODIFIED_OCCURRENCES));
    for m in recurrence::value_to_modified(new.get(fields::MODIFIED_OCCURRENCES)) {
        if !old_mod.contains(&m) {
            out.push(OccurrenceChange::Modify {
                original_start: m.original_start,
                item: Box::new(exception_item(new, &m)),
            });
        }
    }
    out
}
