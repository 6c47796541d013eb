//! Calendars and events: list calendars, events CRUD (`If-Match`, 412; `transactionId` makes a
//! repeated create return the first event), `calendarView` with a window (series expanded as
//! the EWS front's CalendarView does), its delta with the window, `instances` of a series,
//! series masters with `cancelledOccurrences` and `exceptionOccurrences`, an occurrence
//! changed (an exception) or deleted (cancelled) through its id. Times are answered in UTC or
//! in the zone of `Prefer: outlook.timezone`; a request's times may be in any IANA or Windows
//! zone.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, NaiveDateTime, Utc};
use ews_client::types::Item as EwsItem;
use ews_client::types::calendar::{
    Attendee as EwsAttendee, LegacyFreeBusy, OccurrenceInfo, ResponseType as EwsResponse,
};
use ews_client::types::item::Sensitivity as EwsSensitivity;
use ews_client::types::recurrence::{
    DayOfWeek as EwsDay, DayOfWeekIndex, Month, Recurrence as EwsRecurrence,
    RecurrencePattern as EwsPattern, RecurrenceRange as EwsRange,
};
use ews_client::types::{ItemId, TimeZoneDefinition};
use graph_client::calendar::{
    Attendee, AttendeeType, Calendar, Event, EventType, FreeBusyStatus, Location, ResponseStatus,
    ResponseType,
};
use graph_client::types::{
    DateTimeTimeZone, DayOfWeek, EmailAddress, PatternedRecurrence, Recipient, RecurrencePattern,
    RecurrencePatternType, RecurrenceRange, RecurrenceRangeType, Sensitivity, WeekIndex,
};

use super::common::{self, check_if_match, store_error};
use super::ids as gids;
use super::{Reply, Request, extended, parse_body};
use crate::ids::{IdKind, encode_change_key};
use crate::store::{ChangeKind, Mailbox, OccurrenceException, StoredItem};

type EwsCalendarItem = ews_client::types::CalendarItem;
type EwsAddress = ews_client::types::EmailAddress;

/// Bits of an occurrence id's number that hold the occurrence index.
const INDEX_BITS: u32 = 20;

pub(crate) fn dispatch(req: &Request<'_>, path: &[&str]) -> Reply {
    let m = &req.method;
    let (calendar, rest): (Option<&str>, &[&str]) = match path {
        ["calendars", id, rest @ ..] if !rest.is_empty() => (Some(*id), rest),
        ["calendar", rest @ ..] => (None, rest),
        other => (None, other),
    };
    match rest {
        ["calendars"] if m == Method::GET => list_calendars(req),
        ["calendars", id] if m == Method::GET => get_calendar(req, id),
        [] if m == Method::GET && path.first() == Some(&"calendar") => {
            get_calendar(req, "calendar")
        }
        ["events"] if m == Method::GET => list(req, calendar),
        ["events"] if m == Method::POST => create(req, calendar),
        ["events", id] => match m.as_str() {
            "GET" => get(req, id),
            "PATCH" => update(req, id),
            "DELETE" => delete(req, id),
            _ => Reply::method_not_allowed(),
        },
        ["events", id, "instances"] if m == Method::GET => instances(req, id),
        ["calendarView"] if m == Method::GET => calendar_view(req, calendar),
        ["calendarView", "delta"] if m == Method::GET => view_delta(req, calendar),
        _ => Reply::no_segment(),
    }
}

fn is_calendar(class: &str) -> bool {
    class.starts_with("IPF.Appointment")
}

/// The folder key of a Graph calendar id (`None`: the default Calendar folder).
fn calendar_key(mb: &Mailbox, id: Option<&str>) -> Option<u64> {
    common::folder_of_kind(mb, id, "calendar", is_calendar)
}

fn calendar_json(mb: &Mailbox, key: u64) -> Option<Calendar> {
    let f = mb.folders.get(&key)?;
    let change_key = encode_change_key(key, 0);
    Some(Calendar {
        id: Some(gids::encode(IdKind::Folder, &mb.address, key)),
        name: Some(f.name.clone()),
        change_key: Some(change_key),
        can_edit: Some(true),
        is_default_calendar: Some(mb.distinguished("calendar") == Some(key)),
        owner: Some(EmailAddress {
            name: None,
            address: Some(mb.address.clone()),
        }),
        single_value_extended_properties: None,
    })
}

fn list_calendars(req: &Request<'_>) -> Reply {
    common::list_folders(req, |_| Ok(None), is_calendar, calendar_json)
}

fn get_calendar(req: &Request<'_>, id: &str) -> Reply {
    let find = |mb: &Mailbox| calendar_key(mb, Some(id)).and_then(|k| calendar_json(mb, k));
    common::get_folder(req, find, "calendar")
}

// ---------------------------------------------------------------------------------------------
// ids of occurrences

fn occurrence_id(mb: &Mailbox, master: u64, index: u32) -> String {
    gids::encode(
        IdKind::Occurrence,
        &mb.address,
        (master << INDEX_BITS) | u64::from(index),
    )
}

/// What an event id names: a stored event, or an occurrence of a stored series.
enum Target {
    Item(u64),
    Occurrence(u64, u32),
}

fn target(graph: &super::GraphState, mb: &Mailbox, id: &str) -> Option<Target> {
    if let Some(n) = gids::decode(IdKind::Occurrence, &mb.address, id) {
        let master = n >> INDEX_BITS;
        let index = u32::try_from(n & ((1 << INDEX_BITS) - 1)).ok()?;
        return match mb.items.get(&master).map(|s| &s.item) {
            Some(EwsItem::CalendarItem(c)) if c.recurrence.is_some() => {
                Some(Target::Occurrence(master, index))
            }
            _ => None,
        };
    }
    let key = graph.item_key(&mb.address, id)?;
    mb.items
        .get(&key)
        .filter(|s| matches!(s.item, EwsItem::CalendarItem(_)))
        .map(|s| Target::Item(s.key))
}

// ---------------------------------------------------------------------------------------------
// EWS calendar item <-> Graph event

pub(crate) fn graph_time(t: DateTime<Utc>) -> DateTimeTimeZone {
    let ticks = t.timestamp_subsec_nanos() / 100;
    DateTimeTimeZone::new(
        format!("{}.{ticks:07}", t.format("%Y-%m-%dT%H:%M:%S")),
        "UTC",
    )
}

fn is_utc(zone: &str) -> bool {
    matches!(
        zone,
        "UTC" | "Etc/UTC" | "Etc/GMT" | "Coordinated Universal Time" | "tzone://Microsoft/Utc"
    )
}

/// A Graph time zone name (IANA or Windows) as a `chrono-tz` zone; `None` for UTC.
pub(crate) fn zone(name: &str) -> Result<Option<chrono_tz::Tz>, String> {
    if is_utc(name) {
        return Ok(None);
    }
    ews_client::types::timezone::windows_to_tz(name)
        .or_else(|| name.parse::<chrono_tz::Tz>().ok())
        .map(Some)
        .ok_or_else(|| format!("The time zone '{name}' is not known."))
}

/// The instant of a Graph local time in its zone (in a spring-forward gap: an hour later).
pub(crate) fn ews_time(t: &DateTimeTimeZone) -> Result<DateTime<Utc>, String> {
    use chrono::TimeZone as _;
    let s = t.date_time.as_deref().ok_or("dateTime is required.")?;
    let naive = NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|e| format!("Cannot read dateTime '{s}': {e}"))?;
    match zone(t.time_zone.as_deref().unwrap_or("UTC"))? {
        None => Ok(naive.and_utc()),
        Some(tz) => tz
            .from_local_datetime(&naive)
            .earliest()
            .or_else(|| {
                naive
                    .checked_add_signed(chrono::Duration::hours(1))
                    .and_then(|n| tz.from_local_datetime(&n).earliest())
            })
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("'{s}' does not exist in its time zone.")),
    }
}

/// The zone of `Prefer: outlook.timezone="..."`, if any (and known).
fn prefer_zone(req: &Request<'_>) -> Option<(String, chrono_tz::Tz)> {
    req.headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            let v = p.trim().strip_prefix("outlook.timezone=")?;
            let name = v.trim().trim_matches('"').to_string();
            let tz = zone(&name).ok()??;
            Some((name, tz))
        })
}

/// Answers the event's times in the zone of `Prefer: outlook.timezone`.
fn localize(e: &mut Event, zone: Option<&(String, chrono_tz::Tz)>) {
    let Some((name, tz)) = zone else {
        return;
    };
    for t in [&mut e.start, &mut e.end].into_iter().flatten() {
        if let Ok(utc) = ews_time(t) {
            let local = utc.with_timezone(tz).naive_local();
            let ticks = local.and_utc().timestamp_subsec_nanos() / 100;
            *t = DateTimeTimeZone::new(
                format!("{}.{ticks:07}", local.format("%Y-%m-%dT%H:%M:%S")),
                name.clone(),
            );
        }
    }
    for x in e.exception_occurrences.iter_mut().flatten() {
        localize(x, zone);
    }
}

fn recipient(a: &EwsAddress) -> Recipient {
    Recipient {
        email_address: Some(EmailAddress {
            name: a.name.clone(),
            address: a.email_address.clone(),
        }),
    }
}

fn ews_address(e: &EmailAddress) -> EwsAddress {
    EwsAddress {
        name: e.name.clone(),
        email_address: e.address.clone(),
        ..EwsAddress::default()
    }
}

fn graph_day(d: EwsDay) -> Option<DayOfWeek> {
    Some(match d {
        EwsDay::Sunday => DayOfWeek::Sunday,
        EwsDay::Monday => DayOfWeek::Monday,
        EwsDay::Tuesday => DayOfWeek::Tuesday,
        EwsDay::Wednesday => DayOfWeek::Wednesday,
        EwsDay::Thursday => DayOfWeek::Thursday,
        EwsDay::Friday => DayOfWeek::Friday,
        EwsDay::Saturday => DayOfWeek::Saturday,
        _ => return None,
    })
}

/// The days of an EWS day (the classes `Day`, `Weekday`, `WeekendDay` as the days they name,
/// as Graph lists them).
fn graph_days(d: EwsDay) -> Vec<DayOfWeek> {
    use DayOfWeek::{Friday, Monday, Saturday, Sunday, Thursday, Tuesday, Wednesday};
    match d {
        EwsDay::Day => vec![
            Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday,
        ],
        EwsDay::Weekday => vec![Monday, Tuesday, Wednesday, Thursday, Friday],
        EwsDay::WeekendDay => vec![Sunday, Saturday],
        single => graph_day(single).into_iter().collect(),
    }
}

fn ews_day(d: DayOfWeek) -> Option<EwsDay> {
    Some(match d {
        DayOfWeek::Sunday => EwsDay::Sunday,
        DayOfWeek::Monday => EwsDay::Monday,
        DayOfWeek::Tuesday => EwsDay::Tuesday,
        DayOfWeek::Wednesday => EwsDay::Wednesday,
        DayOfWeek::Thursday => EwsDay::Thursday,
        DayOfWeek::Friday => EwsDay::Friday,
        DayOfWeek::Saturday => EwsDay::Saturday,
        _ => return None,
    })
}

/// The Graph recurrence of an EWS one (the task-only regenerating patterns are left out).
pub(crate) fn graph_recurrence(r: &EwsRecurrence) -> Option<PatternedRecurrence> {
    let pattern = match &r.pattern {
        EwsPattern::Daily { interval } => RecurrencePattern {
            kind: Some(RecurrencePatternType::Daily),
            interval: Some(*interval),
            ..RecurrencePattern::default()
        },
        EwsPattern::Weekly {
            interval,
            days_of_week,
            first_day_of_week,
        } => RecurrencePattern {
            kind: Some(RecurrencePatternType::Weekly),
            interval: Some(*interval),
            days_of_week: Some(days_of_week.iter().filter_map(|d| graph_day(*d)).collect()),
            first_day_of_week: first_day_of_week.and_then(graph_day),
            ..RecurrencePattern::default()
        },
        EwsPattern::AbsoluteMonthly {
            interval,
            day_of_month,
        } => RecurrencePattern {
            kind: Some(RecurrencePatternType::AbsoluteMonthly),
            interval: Some(*interval),
            day_of_month: Some(*day_of_month),
            ..RecurrencePattern::default()
        },
        EwsPattern::RelativeMonthly {
            interval,
            days_of_week,
            day_of_week_index,
        } => RecurrencePattern {
            kind: Some(RecurrencePatternType::RelativeMonthly),
            interval: Some(*interval),
            days_of_week: Some(graph_days(*days_of_week)),
            index: Some(graph_index(*day_of_week_index)),
            ..RecurrencePattern::default()
        },
        EwsPattern::AbsoluteYearly {
            day_of_month,
            month,
        } => RecurrencePattern {
            kind: Some(RecurrencePatternType::AbsoluteYearly),
            interval: Some(1),
            day_of_month: Some(*day_of_month),
            month: i32::try_from(month.number()).ok(),
            ..RecurrencePattern::default()
        },
        EwsPattern::RelativeYearly {
            days_of_week,
            day_of_week_index,
            month,
        } => RecurrencePattern {
            kind: Some(RecurrencePatternType::RelativeYearly),
            interval: Some(1),
            days_of_week: Some(graph_days(*days_of_week)),
            index: Some(graph_index(*day_of_week_index)),
            month: i32::try_from(month.number()).ok(),
            ..RecurrencePattern::default()
        },
        _ => return None,
    };
    let range = match &r.range {
        EwsRange::NoEnd { start_date } => RecurrenceRange {
            kind: Some(RecurrenceRangeType::NoEnd),
            start_date: Some(*start_date),
            ..RecurrenceRange::default()
        },
        EwsRange::EndDate {
            start_date,
            end_date,
        } => RecurrenceRange {
            kind: Some(RecurrenceRangeType::EndDate),
            start_date: Some(*start_date),
            end_date: Some(*end_date),
            ..RecurrenceRange::default()
        },
        EwsRange::Numbered {
            start_date,
            number_of_occurrences,
        } => RecurrenceRange {
            kind: Some(RecurrenceRangeType::Numbered),
            start_date: Some(*start_date),
            number_of_occurrences: Some(*number_of_occurrences),
            ..RecurrenceRange::default()
        },
    };
    Some(PatternedRecurrence {
        pattern: Some(pattern),
        range: Some(range),
    })
}

fn graph_index(i: DayOfWeekIndex) -> WeekIndex {
    match i {
        DayOfWeekIndex::Second => WeekIndex::Second,
        DayOfWeekIndex::Third => WeekIndex::Third,
        DayOfWeekIndex::Fourth => WeekIndex::Fourth,
        DayOfWeekIndex::Last => WeekIndex::Last,
        _ => WeekIndex::First,
    }
}

fn ews_index(i: Option<WeekIndex>) -> DayOfWeekIndex {
    match i {
        Some(WeekIndex::Second) => DayOfWeekIndex::Second,
        Some(WeekIndex::Third) => DayOfWeekIndex::Third,
        Some(WeekIndex::Fourth) => DayOfWeekIndex::Fourth,
        Some(WeekIndex::Last) => DayOfWeekIndex::Last,
        _ => DayOfWeekIndex::First,
    }
}

/// The EWS day of a relative pattern's `daysOfWeek`: one day, or the class the set is.
fn first_day(p: &RecurrencePattern) -> Result<EwsDay, String> {
    let mut days: Vec<EwsDay> = p
        .days_of_week
        .iter()
        .flatten()
        .filter_map(|d| ews_day(*d))
        .collect();
    days.sort_by_key(|d| d.weekday().map(|w| w.num_days_from_monday()));
    days.dedup();
    for class in [EwsDay::Day, EwsDay::Weekday, EwsDay::WeekendDay] {
        let mut all: Vec<EwsDay> = graph_days(class).into_iter().filter_map(ews_day).collect();
        all.sort_by_key(|d| d.weekday().map(|w| w.num_days_from_monday()));
        if days.len() > 1 && days == all {
            return Ok(class);
        }
    }
    days.first()
        .copied()
        .ok_or_else(|| "daysOfWeek is required.".to_string())
}

fn month_of(p: &RecurrencePattern) -> Result<Month, String> {
    p.month
        .and_then(|m| u32::try_from(m).ok())
        .and_then(Month::from_number)
        .ok_or_else(|| "month (1-12) is required.".to_string())
}

pub(crate) fn ews_recurrence(r: &PatternedRecurrence) -> Result<EwsRecurrence, String> {
    let p = r
        .pattern
        .as_ref()
        .ok_or("recurrence.pattern is required.")?;
    let g = r.range.as_ref().ok_or("recurrence.range is required.")?;
    let interval = p.interval.unwrap_or(1).max(1);
    let pattern = match p.kind {
        Some(RecurrencePatternType::Daily) => EwsPattern::Daily { interval },
        Some(RecurrencePatternType::Weekly) => EwsPattern::Weekly {
            interval,
            days_of_week: p
                .days_of_week
                .iter()
                .flatten()
                .filter_map(|d| ews_day(*d))
                .collect(),
            first_day_of_week: p.first_day_of_week.and_then(ews_day),
        },
        Some(RecurrencePatternType::AbsoluteMonthly) => EwsPattern::AbsoluteMonthly {
            interval,
            day_of_month: p.day_of_month.ok_or("dayOfMonth is required.")?,
        },
        Some(RecurrencePatternType::RelativeMonthly) => EwsPattern::RelativeMonthly {
            interval,
            days_of_week: first_day(p)?,
            day_of_week_index: ews_index(p.index),
        },
        Some(RecurrencePatternType::AbsoluteYearly) => EwsPattern::AbsoluteYearly {
            day_of_month: p.day_of_month.ok_or("dayOfMonth is required.")?,
            month: month_of(p)?,
        },
        Some(RecurrencePatternType::RelativeYearly) => EwsPattern::RelativeYearly {
            days_of_week: first_day(p)?,
            day_of_week_index: ews_index(p.index),
            month: month_of(p)?,
        },
        _ => return Err("recurrence.pattern.type is required.".into()),
    };
    let start_date = g.start_date.ok_or("range.startDate is required.")?;
    let range = match g.kind {
        Some(RecurrenceRangeType::EndDate) => EwsRange::EndDate {
            start_date,
            end_date: g.end_date.ok_or("range.endDate is required.")?,
        },
        Some(RecurrenceRangeType::Numbered) => EwsRange::Numbered {
            start_date,
            number_of_occurrences: g
                .number_of_occurrences
                .ok_or("range.numberOfOccurrences is required.")?,
        },
        _ => EwsRange::NoEnd { start_date },
    };
    Ok(EwsRecurrence { pattern, range })
}

fn show_as(f: Option<&LegacyFreeBusy>) -> FreeBusyStatus {
    match f {
        Some(LegacyFreeBusy::Free) => FreeBusyStatus::Free,
        Some(LegacyFreeBusy::Tentative) => FreeBusyStatus::Tentative,
        Some(LegacyFreeBusy::Oof) => FreeBusyStatus::Oof,
        Some(LegacyFreeBusy::WorkingElsewhere) => FreeBusyStatus::WorkingElsewhere,
        Some(LegacyFreeBusy::NoData) => FreeBusyStatus::Unknown,
        _ => FreeBusyStatus::Busy,
    }
}

fn legacy_free_busy(s: FreeBusyStatus) -> LegacyFreeBusy {
    match s {
        FreeBusyStatus::Free => LegacyFreeBusy::Free,
        FreeBusyStatus::Tentative => LegacyFreeBusy::Tentative,
        FreeBusyStatus::Oof => LegacyFreeBusy::Oof,
        FreeBusyStatus::WorkingElsewhere => LegacyFreeBusy::WorkingElsewhere,
        FreeBusyStatus::Unknown => LegacyFreeBusy::NoData,
        _ => LegacyFreeBusy::Busy,
    }
}

fn attendees(c: &EwsCalendarItem) -> Vec<Attendee> {
    let kinds = [
        (&c.required_attendees, AttendeeType::Required),
        (&c.optional_attendees, AttendeeType::Optional),
        (&c.resources, AttendeeType::Resource),
    ];
    kinds
        .iter()
        .flat_map(|(list, kind)| {
            list.iter().map(move |a| Attendee {
                email_address: Some(EmailAddress {
                    name: a.mailbox.name.clone(),
                    address: a.mailbox.email_address.clone(),
                }),
                kind: Some(*kind),
                status: a.response_type.map(|t| ResponseStatus {
                    response: Some(graph_response(t)),
                    time: None,
                }),
            })
        })
        .collect()
}

const RESPONSES: [(EwsResponse, ResponseType); 6] = [
    (EwsResponse::Unknown, ResponseType::NoResponse),
    (EwsResponse::Organizer, ResponseType::Organizer),
    (EwsResponse::Tentative, ResponseType::TentativelyAccepted),
    (EwsResponse::Accept, ResponseType::Accepted),
    (EwsResponse::Decline, ResponseType::Declined),
    (EwsResponse::NoResponseReceived, ResponseType::NotResponded),
];

fn graph_response(t: EwsResponse) -> ResponseType {
    RESPONSES
        .iter()
        .find(|r| r.0 == t)
        .map_or(ResponseType::NoResponse, |r| r.1)
}

const SENSITIVITIES: [(EwsSensitivity, Sensitivity); 4] = [
    (EwsSensitivity::Normal, Sensitivity::Normal),
    (EwsSensitivity::Personal, Sensitivity::Personal),
    (EwsSensitivity::Private, Sensitivity::Private),
    (EwsSensitivity::Confidential, Sensitivity::Confidential),
];

/// The Windows id (or `UTC`) Graph gives as `originalStartTimeZone` / `originalEndTimeZone`.
fn original_zone(def: Option<&TimeZoneDefinition>) -> String {
    def.and_then(|d| d.id.clone())
        .or_else(|| {
            def.and_then(|d| d.name.clone())
                .and_then(|n| ews_client::types::timezone::iana_to_windows(&n).map(str::to_owned))
        })
        .unwrap_or_else(|| "UTC".to_string())
}

/// Clears what a PATCH body sets to `null` (Graph's way of removing a value).
fn clear_nulls(body: &[u8], c: &mut EwsCalendarItem) {
    for k in common::nulled(body) {
        match k.as_str() {
            "recurrence" => {
                c.recurrence = None;
                c.is_recurring = Some(false);
                c.deleted_occurrences.clear();
                c.modified_occurrences.clear();
            }
            "body" => c.common.body = None,
            "location" => c.location = None,
            _ => {}
        }
    }
}

/// The Graph fields of an EWS calendar item (without ids and occurrence fields).
fn base_event(c: &EwsCalendarItem) -> Event {
    Event {
        categories: Some(c.common.categories.clone()),
        ical_uid: c.uid.clone(),
        subject: c.common.subject.clone(),
        body: c.common.body.as_ref().map(common::graph_body),
        start: c.start.map(graph_time),
        end: c.end.map(graph_time),
        is_all_day: Some(c.is_all_day_event.unwrap_or(false)),
        location: Some(Location {
            display_name: Some(c.location.clone().unwrap_or_default()),
            ..Location::default()
        }),
        attendees: Some(attendees(c)),
        organizer: c.organizer.as_ref().map(recipient),
        show_as: Some(show_as(c.legacy_free_busy_status.as_ref())),
        is_reminder_on: Some(c.common.reminder_is_set.unwrap_or(false)),
        reminder_minutes_before_start: c.common.reminder_minutes_before_start,
        sensitivity: Some(
            c.common
                .sensitivity
                .and_then(|s| SENSITIVITIES.iter().find(|x| x.0 == s))
                .map_or(Sensitivity::Normal, |x| x.1),
        ),
        original_start_time_zone: Some(original_zone(c.start_time_zone.as_ref())),
        original_end_time_zone: Some(original_zone(
            c.end_time_zone.as_ref().or(c.start_time_zone.as_ref()),
        )),
        is_cancelled: Some(c.is_cancelled.unwrap_or(false)),
        ..Event::default()
    }
}

/// The Graph view of a stored event (a single event or a series master).
pub(crate) fn to_graph(
    graph: &super::GraphState,
    mb: &Mailbox,
    stored: &StoredItem,
    expand: Option<&[ews_client::types::paths::ExtendedFieldUri]>,
    with_exceptions: bool,
) -> Option<Event> {
    let EwsItem::CalendarItem(c) = &stored.item else {
        return None;
    };
    let change_key = encode_change_key(stored.key, stored.version);
    let mut e = base_event(c);
    e.etag = Some(gids::etag(&change_key));
    e.id = Some(graph.item_id(&mb.address, stored.key));
    e.change_key = Some(change_key);
    e.created_date_time = Some(stored.created);
    e.last_modified_date_time = Some(stored.modified);
    e.transaction_id = graph.transaction_of(&mb.address, stored.key);
    e.single_value_extended_properties = expand
        .map(|w| extended::read(&c.common.extended_properties, w))
        .filter(|v| !v.is_empty());
    match &c.recurrence {
        Some(r) => {
            e.kind = Some(EventType::SeriesMaster);
            e.recurrence = graph_recurrence(r);
            e.cancelled_occurrences = Some(
                c.deleted_occurrences
                    .iter()
                    .map(|t| t.format("OID.%Y-%m-%dT%H:%M:%SZ").to_string())
                    .collect(),
            );
            if with_exceptions {
                e.exception_occurrences = Some(
                    c.modified_occurrences
                        .iter()
                        .filter_map(|m| {
                            let index = nth_index(c, m.original_start)?;
                            occurrence_event(graph, mb, stored, index)
                        })
                        .collect(),
                );
            }
        }
        None => e.kind = Some(EventType::SingleInstance),
    }
    Some(e)
}

/// The index in the series of the occurrence that the pattern starts at `original`.
fn nth_index(master: &EwsCalendarItem, original: DateTime<Utc>) -> Option<u32> {
    // far enough that a moved occurrence still counts
    let to = original
        .checked_add_signed(chrono::Duration::days(36_500))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    crate::recur::occurrences(master, None, to)
        .into_iter()
        .find(|o| o.original_start == original)
        .map(|o| o.index)
}

/// The Graph view of the `index`-th occurrence of a stored series.
fn occurrence_event(
    graph: &super::GraphState,
    mb: &Mailbox,
    stored: &StoredItem,
    index: u32,
) -> Option<Event> {
    let EwsItem::CalendarItem(master) = &stored.item else {
        return None;
    };
    let original = crate::recur::nth_original_start(master, index)?;
    if master.deleted_occurrences.contains(&original) {
        return None;
    }
    let duration = master.end? - master.start?;
    let modified = master
        .modified_occurrences
        .iter()
        .find(|m| m.original_start == original);
    let exception = stored
        .exceptions
        .iter()
        .find(|e| e.original_start == original)
        .and_then(|e| match &e.item {
            EwsItem::CalendarItem(c) => Some(c),
            _ => None,
        });
    let mut e = match (modified, exception) {
        (Some(_), Some(x)) => base_event(x),
        _ => base_event(master),
    };
    let (start, end) = match modified {
        Some(m) => (m.start, m.end),
        None => (original, original.checked_add_signed(duration)?),
    };
    let change_key = encode_change_key(stored.key, stored.version);
    e.etag = Some(gids::etag(&change_key));
    e.change_key = Some(change_key);
    e.id = Some(occurrence_id(mb, stored.key, index));
    e.kind = Some(if modified.is_some() {
        EventType::Exception
    } else {
        EventType::Occurrence
    });
    e.series_master_id = Some(graph.item_id(&mb.address, stored.key));
    e.original_start = Some(original);
    e.start = Some(graph_time(start));
    e.end = Some(graph_time(end));
    e.created_date_time = Some(stored.created);
    e.last_modified_date_time = Some(stored.modified);
    Some(e)
}

/// Applies the properties present in a Graph event (create body or patch) to an EWS one.
fn apply(g: &Event, c: &mut EwsCalendarItem) -> Result<(), String> {
    if let Some(s) = &g.subject {
        c.common.subject = Some(s.clone());
    }
    if let Some(b) = &g.body {
        c.common.body = Some(common::ews_body(b));
    }
    if let Some(cats) = &g.categories {
        c.common.categories = cats.clone();
    }
    if let Some(t) = &g.start {
        c.start = Some(ews_time(t)?);
        // a series repeats at its local time of day in the start's zone (as in Outlook)
        if let Some(name) = t.time_zone.as_deref().filter(|n| !is_utc(n)) {
            let definition = if ews_client::types::timezone::windows_to_tz(name).is_some() {
                Some(TimeZoneDefinition::windows(name))
            } else {
                TimeZoneDefinition::from_iana(name)
            };
            c.start_time_zone.clone_from(&definition);
            c.end_time_zone = definition;
        }
    }
    if let Some(t) = &g.end {
        c.end = Some(ews_time(t)?);
        if let Some(name) = t.time_zone.as_deref().filter(|n| !is_utc(n)) {
            c.end_time_zone = if ews_client::types::timezone::windows_to_tz(name).is_some() {
                Some(TimeZoneDefinition::windows(name))
            } else {
                TimeZoneDefinition::from_iana(name)
            };
        }
    }
    if let (Some(s), Some(e)) = (c.start, c.end)
        && e < s
    {
        return Err("The end of an event is before its start.".into());
    }
    if let Some(a) = g.is_all_day {
        c.is_all_day_event = Some(a);
    }
    if let Some(l) = &g.location {
        c.location = l.display_name.clone().filter(|s| !s.is_empty());
    }
    if let Some(s) = g.show_as {
        c.legacy_free_busy_status = Some(legacy_free_busy(s));
    }
    if let Some(r) = g.is_reminder_on {
        c.common.reminder_is_set = Some(r);
    }
    if let Some(m) = g.reminder_minutes_before_start {
        c.common.reminder_minutes_before_start = Some(m);
    }
    if let Some(s) = g.sensitivity {
        c.common.sensitivity = SENSITIVITIES.iter().find(|x| x.1 == s).map(|x| x.0);
    }
    if let Some(o) = g.organizer.as_ref().and_then(|o| o.email_address.as_ref()) {
        c.organizer = Some(ews_address(o));
    }
    if let Some(list) = &g.attendees {
        c.required_attendees.clear();
        c.optional_attendees.clear();
        c.resources.clear();
        for a in list {
            let Some(addr) = a.email_address.as_ref() else {
                continue;
            };
            let attendee = EwsAttendee {
                mailbox: ews_address(addr),
                response_type: a
                    .status
                    .as_ref()
                    .and_then(|s| s.response)
                    .and_then(|t| RESPONSES.iter().find(|r| r.1 == t))
                    .map(|r| r.0),
                ..EwsAttendee::default()
            };
            match a.kind {
                Some(AttendeeType::Optional) => c.optional_attendees.push(attendee),
                Some(AttendeeType::Resource) => c.resources.push(attendee),
                _ => c.required_attendees.push(attendee),
            }
        }
        c.is_meeting = Some(!list.is_empty());
    }
    if let Some(r) = &g.recurrence {
        c.recurrence = Some(ews_recurrence(r)?);
        c.is_recurring = Some(true);
    }
    if let Some(props) = &g.single_value_extended_properties {
        extended::write(&mut c.common.extended_properties, props)?;
    }
    Ok(())
}

fn written_props(body: &Event) -> Vec<ews_client::types::paths::ExtendedFieldUri> {
    body.single_value_extended_properties
        .iter()
        .flatten()
        .filter_map(|p| p.id.as_deref().and_then(extended::parse_id))
        .collect()
}

fn expand_of(
    req: &Request<'_>,
) -> Result<Option<Vec<ews_client::types::paths::ExtendedFieldUri>>, Reply> {
    let expand = req
        .param("$expand")
        .map(|e| {
            e.split(',')
                .filter(|p| !p.trim().eq_ignore_ascii_case("exceptionOccurrences"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|e| !e.trim().is_empty());
    extended::parse_expand(expand.as_deref()).map_err(|e| Reply::bad_request(&e))
}

fn wants_exceptions(req: &Request<'_>) -> bool {
    req.param("$expand").is_some_and(|e| {
        e.split(',')
            .any(|p| p.trim().eq_ignore_ascii_case("exceptionOccurrences"))
    })
}

/// The event as JSON (times in the `Prefer: outlook.timezone` zone) with only the `$select`ed
/// properties (and `id`, `@odata.etag`).
fn select_json(req: &Request<'_>, event: &Event) -> serde_json::Value {
    let select = req.param("$select");
    let mut event = event.clone();
    localize(&mut event, prefer_zone(req).as_ref());
    let mut value = serde_json::to_value(&event).unwrap_or_default();
    if let (Some(select), Some(obj)) = (select, value.as_object_mut()) {
        let keep: Vec<&str> = select.split(',').map(str::trim).collect();
        obj.retain(|k, _| {
            k == "id"
                || k == "@odata.etag"
                || k == "singleValueExtendedProperties"
                || k == "exceptionOccurrences"
                || keep.iter().any(|s| s.eq_ignore_ascii_case(k))
        });
    }
    value
}

// ---------------------------------------------------------------------------------------------
// events

fn list(req: &Request<'_>, calendar: Option<&str>) -> Reply {
    let expand = match expand_of(req) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let filter = match req.param("$filter") {
        None => None,
        Some(f) => match extended::parse_filter(f) {
            Ok(Some(x)) => Some(x),
            Ok(None) => return Reply::bad_request(&format!("unsupported $filter '{f}'")),
            Err(e) => return Reply::bad_request(&e),
        },
    };
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(f) = calendar_key(mb, calendar).and_then(|k| mb.folders.get(&k)) else {
        return Reply::not_found("calendar");
    };
    let with_exceptions = wants_exceptions(req);
    let values: Vec<serde_json::Value> = f
        .items
        .iter()
        .filter_map(|k| mb.items.get(k))
        .filter(|s| match (&filter, &s.item) {
            (Some((uri, value)), EwsItem::CalendarItem(c)) => {
                extended::matches(&c.common.extended_properties, uri, value)
            }
            _ => true,
        })
        .filter_map(|s| to_graph(&req.shared.graph, mb, s, expand.as_deref(), with_exceptions))
        .map(|e| select_json(req, &e))
        .collect();
    common::paged::<serde_json::Value>(req, values, 10)
}

fn get(req: &Request<'_>, id: &str) -> Reply {
    let expand = match expand_of(req) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let graph = &req.shared.graph;
    let event = match target(graph, mb, id) {
        Some(Target::Item(key)) => mb
            .items
            .get(&key)
            .and_then(|s| to_graph(graph, mb, s, expand.as_deref(), wants_exceptions(req))),
        Some(Target::Occurrence(key, index)) => mb
            .items
            .get(&key)
            .and_then(|s| occurrence_event(graph, mb, s, index)),
        None => None,
    };
    match event {
        Some(e) => Reply::json(StatusCode::OK, &select_json(req, &e)),
        None => Reply::not_found("event"),
    }
}

fn create(req: &Request<'_>, calendar: Option<&str>) -> Reply {
    let body: Event = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let graph = &req.shared.graph;
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    // a repeated create with the same transactionId answers the first event
    if let Some(tx) = body.transaction_id.as_deref()
        && let Some(key) = graph.transaction(&mb.address, tx)
        && let Some(first) = graph
            .item_key(&mb.address, &gids::encode(IdKind::Item, &mb.address, key))
            .and_then(|k| mb.items.get(&k))
    {
        return match to_graph(graph, mb, first, Some(&written_props(&body)), false) {
            Some(e) => Reply::json(StatusCode::CREATED, &select_json(req, &e)),
            None => Reply::not_found("event"),
        };
    }
    let mut item = EwsCalendarItem::default();
    item.common.item_class = Some("IPM.Appointment".to_string());
    item.organizer = Some(EwsAddress {
        email_address: Some(mb.address.clone()),
        ..EwsAddress::default()
    });
    if let Err(e) = apply(&body, &mut item) {
        return Reply::bad_request(&e);
    }
    if item.start.is_none() || item.end.is_none() {
        return Reply::bad_request("An event needs a start and an end.");
    }
    if item.uid.is_none() {
        item.uid = Some(format!(
            "040000008200E00074C5B7101A82E008{}",
            super::uuid_like(chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64)
                .replace('-', "")
                .to_ascii_uppercase()
        ));
    }
    let Some(fkey) = calendar_key(mb, calendar) else {
        return Reply::not_found("calendar");
    };
    match mb.create_item(fkey, EwsItem::CalendarItem(item)) {
        Ok(key) => {
            if let Some(tx) = body.transaction_id.as_deref() {
                graph.record_transaction(&mb.address, tx, key);
            }
            common::item_reply(mb, key, StatusCode::CREATED, "event", |s| {
                to_graph(graph, mb, s, Some(&written_props(&body)), false)
                    .map(|e| select_json(req, &e))
            })
        }
        Err(e) => store_error(e),
    }
}

fn update(req: &Request<'_>, id: &str) -> Reply {
    let body: Event = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let graph = &req.shared.graph;
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(t) = target(graph, mb, id) else {
        return Reply::not_found("event");
    };
    let (Target::Item(key) | Target::Occurrence(key, _)) = t;
    let Some(stored) = mb.items.get(&key) else {
        return Reply::not_found("event");
    };
    let expected = match check_if_match(stored, req.if_match()) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Target::Occurrence(_, index) = t {
        return update_occurrence(req, mb, key, index, expected, &body);
    }
    let change = |item: &mut EwsItem| match item {
        EwsItem::CalendarItem(c) => {
            let applied = apply(&body, c);
            clear_nulls(req.body, c);
            applied
        }
        _ => Ok(()),
    };
    if let Err(r) = common::change_item(mb, key, expected, store_error, change) {
        return r;
    }
    common::item_reply(mb, key, StatusCode::OK, "event", |s| {
        to_graph(graph, mb, s, Some(&written_props(&body)), false).map(|e| select_json(req, &e))
    })
}

/// A change of one occurrence makes it an exception of the series (as the EWS front does).
fn update_occurrence(
    req: &Request<'_>,
    mb: &mut Mailbox,
    key: u64,
    index: u32,
    expected: Option<u64>,
    body: &Event,
) -> Reply {
    if body.recurrence.is_some() {
        return Reply::bad_request("An occurrence has no recurrence of its own.");
    }
    let graph = &req.shared.graph;
    let Some(stored) = mb.items.get(&key) else {
        return Reply::not_found("event");
    };
    let EwsItem::CalendarItem(master) = &stored.item else {
        return Reply::not_found("event");
    };
    let Some(original) = crate::recur::nth_original_start(master, index)
        .filter(|o| !master.deleted_occurrences.contains(o))
    else {
        return Reply::not_found("occurrence");
    };
    let (Some(ms), Some(me)) = (master.start, master.end) else {
        return Reply::not_found("occurrence");
    };
    // the occurrence as it is: the exception's own fields, else the master's at its times
    let mut occ: EwsCalendarItem = match stored
        .exceptions
        .iter()
        .find(|e| e.original_start == original)
        .map(|e| &e.item)
    {
        Some(EwsItem::CalendarItem(c)) => c.clone(),
        _ => {
            let mut c = master.clone();
            c.recurrence = None;
            c.deleted_occurrences.clear();
            c.modified_occurrences.clear();
            c.start = Some(original);
            c.end = original.checked_add_signed(me - ms);
            c
        }
    };
    if let Err(e) = apply(body, &mut occ) {
        return Reply::bad_request(&e);
    }
    occ.original_start = Some(original);
    let (Some(start), Some(end)) = (occ.start, occ.end) else {
        return Reply::bad_request("An occurrence needs a start and an end.");
    };
    let occ_ews_id =
        crate::ids::encode_id(IdKind::Occurrence, &mb.id_address(), key, u64::from(index));
    let result = mb.update_item(key, expected, |i| {
        if let EwsItem::CalendarItem(c) = i {
            c.modified_occurrences
                .retain(|m| m.original_start != original);
            c.modified_occurrences.push(OccurrenceInfo {
                item_id: ItemId::new(occ_ews_id.clone()),
                start,
                end,
                original_start: original,
            });
        }
    });
    if let Err(e) = result {
        return store_error(e);
    }
    if let Some(s) = mb.items.get_mut(&key) {
        s.exceptions.retain(|e| e.original_start != original);
        s.exceptions.push(OccurrenceException {
            original_start: original,
            item: EwsItem::CalendarItem(occ),
        });
    }
    common::item_reply(mb, key, StatusCode::OK, "event", |s| {
        occurrence_event(graph, mb, s, index).map(|e| select_json(req, &e))
    })
}

/// Deletes an event (to Deleted Items, as Graph does); an occurrence id cancels that
/// occurrence of its series.
fn delete(req: &Request<'_>, id: &str) -> Reply {
    let graph = &req.shared.graph;
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(t) = target(graph, mb, id) else {
        return Reply::not_found("event");
    };
    let (Target::Item(key) | Target::Occurrence(key, _)) = t;
    let expected = match mb
        .items
        .get(&key)
        .map(|s| check_if_match(s, req.if_match()))
    {
        Some(Ok(v)) => v,
        Some(Err(r)) => return r,
        None => return Reply::not_found("event"),
    };
    if let Target::Occurrence(_, index) = t {
        let original = match mb.items.get(&key).map(|s| &s.item) {
            Some(EwsItem::CalendarItem(c)) => crate::recur::nth_original_start(c, index),
            _ => None,
        };
        let Some(original) = original else {
            return Reply::not_found("occurrence");
        };
        let result = mb.update_item(key, expected, |i| {
            if let EwsItem::CalendarItem(c) = i {
                c.modified_occurrences
                    .retain(|m| m.original_start != original);
                if !c.deleted_occurrences.contains(&original) {
                    c.deleted_occurrences.push(original);
                }
            }
        });
        if let Err(e) = result {
            return store_error(e);
        }
        if let Some(s) = mb.items.get_mut(&key) {
            s.exceptions.retain(|e| e.original_start != original);
        }
        return Reply::empty(StatusCode::NO_CONTENT);
    }
    let deleted = mb.distinguished("deleteditems");
    let in_deleted = mb.items.get(&key).map(|s| s.folder) == deleted;
    let result = match deleted {
        Some(dest) if !in_deleted => mb.move_item(key, dest).map(|new| {
            graph.record_move(&mb.address, key, new);
        }),
        _ => mb.delete_item(key).map(|_| ()),
    };
    match result {
        Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
        Err(e) => store_error(e),
    }
}

// ---------------------------------------------------------------------------------------------
// calendarView, instances, calendarView/delta

fn window(req: &Request<'_>) -> Result<(DateTime<Utc>, DateTime<Utc>), Reply> {
    let parse = |name: &str| -> Result<DateTime<Utc>, Reply> {
        let v = req.param(name).ok_or_else(|| {
            Reply::error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidParameter",
                &format!("This request requires a time window specified by the query string parameters StartDateTime and EndDateTime. ({name} is missing)"),
            )
        })?;
        DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc())
            })
            .map_err(|_| Reply::bad_request(&format!("Cannot read {name} '{v}'.")))
    };
    let (start, end) = (parse("startDateTime")?, parse("endDateTime")?);
    if end <= start {
        return Err(Reply::bad_request(
            "endDateTime must be after startDateTime.",
        ));
    }
    Ok((start, end))
}

/// The events of one stored item in a window: its occurrences (a series) or itself.
fn in_window(
    graph: &super::GraphState,
    mb: &Mailbox,
    stored: &StoredItem,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Event)> {
    let EwsItem::CalendarItem(c) = &stored.item else {
        return Vec::new();
    };
    if c.recurrence.is_some() {
        crate::recur::occurrences(c, Some(start), end)
            .into_iter()
            .filter_map(|o| occurrence_event(graph, mb, stored, o.index).map(|e| (o.start, e)))
            .collect()
    } else if c.start.is_some_and(|s| s < end) && c.end.is_some_and(|e| e > start) {
        to_graph(graph, mb, stored, None, false)
            .map(|e| (c.start.unwrap_or(start), e))
            .into_iter()
            .collect()
    } else {
        Vec::new()
    }
}

/// The occurrence ids of a series' cancelled occurrences that start in the window.
fn cancelled_in_window(
    mb: &Mailbox,
    stored: &StoredItem,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<String> {
    let EwsItem::CalendarItem(master) = &stored.item else {
        return Vec::new();
    };
    if master.recurrence.is_none() || master.deleted_occurrences.is_empty() {
        return Vec::new();
    }
    let mut all = master.clone();
    all.deleted_occurrences.clear();
    all.modified_occurrences.clear();
    crate::recur::occurrences(&all, Some(start), end)
        .into_iter()
        .filter(|o| master.deleted_occurrences.contains(&o.original_start))
        .map(|o| occurrence_id(mb, stored.key, o.index))
        .collect()
}

fn calendar_view(req: &Request<'_>, calendar: Option<&str>) -> Reply {
    let (start, end) = match window(req) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(f) = calendar_key(mb, calendar).and_then(|k| mb.folders.get(&k)) else {
        return Reply::not_found("calendar");
    };
    let mut entries: Vec<(DateTime<Utc>, Event)> = f
        .items
        .iter()
        .filter_map(|k| mb.items.get(k))
        .flat_map(|s| in_window(&req.shared.graph, mb, s, start, end))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let values = entries.iter().map(|(_, e)| select_json(req, e)).collect();
    common::paged::<serde_json::Value>(req, values, 10)
}

fn instances(req: &Request<'_>, id: &str) -> Reply {
    let (start, end) = match window(req) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let graph = &req.shared.graph;
    let Some(Target::Item(key)) = target(graph, mb, id) else {
        return Reply::not_found("event");
    };
    let Some(stored) = mb.items.get(&key) else {
        return Reply::not_found("event");
    };
    match &stored.item {
        EwsItem::CalendarItem(c) if c.recurrence.is_some() => {}
        _ => {
            return Reply::bad_request("The event is not a series master.");
        }
    }
    let values = in_window(graph, mb, stored, start, end)
        .iter()
        .map(|(_, e)| select_json(req, e))
        .collect();
    common::paged::<serde_json::Value>(req, values, 100)
}

/// `calendarView/delta`: the window is kept in the links; `$deltatoken` (a finished round) or
/// `$skiptoken` (the next page) carry the calendar folder's journal position. A changed series
/// gives its occurrences in the window; a deleted item gives `@removed` entries.
fn view_delta(req: &Request<'_>, calendar: Option<&str>) -> Reply {
    let (start, end) = match window(req) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let (s, e) = (
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let query = [("startDateTime", s.as_str()), ("endDateTime", e.as_str())];
    let graph = &req.shared.graph;
    let removed = |id| serde_json::to_value(common::removed::<Event>(id)).unwrap_or_default();
    common::item_delta(
        req,
        |mb| calendar_key(mb, calendar),
        "calendar",
        store_error,
        &query,
        |mb, change, value| match change.kind {
            ChangeKind::Delete => value.push(removed(graph.item_id(&mb.address, change.key))),
            _ => {
                if let Some(stored) = mb.items.get(&change.key) {
                    for (_, e) in in_window(graph, mb, stored, start, end) {
                        value.push(select_json(req, &e));
                    }
                    // cancelled occurrences in the window are removed (again: replays are
                    // harmless to a delta client)
                    for id in cancelled_in_window(mb, stored, start, end) {
                        value.push(removed(id));
                    }
                }
            }
        },
    )
}
