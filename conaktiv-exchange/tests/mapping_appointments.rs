#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Appointments and recurrence: CRM <-> Record <-> EWS, data-driven from
//! `tests/data/mapping/appointments.json`, `recurrences.json`, `calendar_ews.xml` (a series
//! master and its exception as Exchange returns them) and `calendar_custom_zone.xml`.

mod common;

use common::{data, read_item, through_xml};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use conaktiv_exchange::mapping::appointment::{
    OccurrenceChange, crm_to_record, ews_to_record, ews_to_record_with_exceptions,
    ews_to_record_with_warnings, occurrence_changes, record_onto_crm, record_to_ews,
    record_to_ews_as_stored, record_to_ews_exceptions, record_to_ews_with_warnings,
};
use conaktiv_exchange::mapping::{MappingWarning, key, recurrence};
use conaktiv_model::Appointment;
use conaktiv_model::appointment::{Participant, Recurrence};
use conaktiv_model::ids::{AppointmentId, ProjectId};
use ews_client::types::{CalendarItem, Item};
use ews_client::xml::{ReadXml, XmlReader};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Case {
    name: String,
    crm: Appointment,
    record: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct RecurrenceCase {
    name: String,
    crm: Recurrence,
    value: Value,
    ews: String,
}

fn cases() -> Vec<Case> {
    serde_json::from_str(&data("appointments.json")).unwrap()
}

fn calendar_items(xml: &str) -> Vec<CalendarItem> {
    let mut r = XmlReader::new(xml.as_bytes());
    let root = r.root().unwrap();
    let items = if root.local() == "Items" {
        Item::read_list(&mut r, &root).unwrap()
    } else {
        vec![read_item(xml)]
    };
    items
        .into_iter()
        .map(|i| match i {
            Item::CalendarItem(c) => c,
            other => panic!("not a calendar item: {other:?}"),
        })
        .collect()
}

fn expected(name: &str) -> BTreeMap<String, Value> {
    let all: BTreeMap<String, BTreeMap<String, Value>> =
        serde_json::from_str(&data("calendar_ews.json")).unwrap();
    all[name].clone()
}

#[test]
fn crm_to_record_gives_the_canonical_record() {
    for case in cases() {
        assert_eq!(
            crm_to_record(&case.crm).fields,
            case.record,
            "{}",
            case.name
        );
    }
}

#[test]
fn crm_record_ews_record_crm_round_trip_keeps_everything() {
    for case in cases() {
        let record = crm_to_record(&case.crm);
        let (created, warnings) = record_to_ews_with_warnings(&record);
        assert!(warnings.is_empty(), "{}: {warnings:?}", case.name);
        // What CreateItem gets has no read-only occurrence lists; what Exchange holds after
        // the occurrence changes has them.
        assert!(created.deleted_occurrences.is_empty() && created.modified_occurrences.is_empty());
        let master = through_xml(&record_to_ews_as_stored(&record), "CalendarItem");
        assert_eq!(
            CalendarItem {
                deleted_occurrences: vec![],
                modified_occurrences: vec![],
                ..master.clone()
            },
            through_xml(&created, "CalendarItem"),
            "{}",
            case.name
        );
        let exceptions: Vec<CalendarItem> = record_to_ews_exceptions(&record)
            .iter()
            .map(|x| through_xml(x, "CalendarItem"))
            .collect();
        let back = ews_to_record_with_exceptions(&master, &exceptions);
        assert_eq!(back, record, "{}: EWS round trip", case.name);

        let mut same = case.crm.clone();
        record_onto_crm(&back, &mut same);
        if case.crm.validate().is_ok() {
            assert_eq!(same, case.crm, "{}: applied onto the original", case.name);
        } else {
            // An invalid original (no time zone) is repaired, with the same record.
            assert_eq!(same.validate(), Ok(()), "{}", case.name);
            assert_eq!(crm_to_record(&same), record, "{}", case.name);
        }

        let mut fresh = Appointment {
            id: Some(AppointmentId::new("X")),
            project: Some(ProjectId::new("P-X")),
            organizer: Some(Participant {
                name: "Org".into(),
                address: "org@agentur.example".into(),
            }),
            ..Appointment::default()
        };
        record_onto_crm(&back, &mut fresh);
        assert_eq!(fresh.id, Some(AppointmentId::new("X")));
        assert_eq!(fresh.project, Some(ProjectId::new("P-X")));
        assert_eq!(
            fresh.organizer.as_ref().unwrap().address,
            "org@agentur.example"
        );
        assert_eq!(crm_to_record(&fresh), record, "{}: fresh CRM", case.name);
        assert_eq!(fresh.validate(), Ok(()), "{}", case.name);
    }
}

#[test]
fn all_day_across_dst_is_whole_local_days_on_both_sides() {
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with("all-day event"))
        .unwrap();
    let record = crm_to_record(&case.crm);
    let ews = record_to_ews(&record);
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    // Midnight CET before the change, midnight CEST after it: 71 hours, 3 local days.
    assert_eq!(ews.start, Some(t("2025-03-28T23:00:00Z")));
    assert_eq!(ews.end, Some(t("2025-03-31T22:00:00Z")));
    assert_eq!(ews.is_all_day_event, Some(true));
    assert_eq!(
        ews.start_time_zone.as_ref().and_then(|z| z.id.as_deref()),
        Some("W. Europe Standard Time")
    );
    // Applied to a fresh appointment in another zone, the dates stay the dates.
    let mut crm = Appointment {
        start_time_zone: "America/New_York".into(),
        end_time_zone: "America/New_York".into(),
        ..Appointment::default()
    };
    record_onto_crm(&record, &mut crm);
    assert_eq!(crm.start_time_zone, "Europe/Berlin");
    assert_eq!(crm.start, t("2025-03-28T23:00:00Z"));
    assert_eq!(crm.end, t("2025-03-31T22:00:00Z"));
}

#[test]
fn vienna_stays_vienna_while_the_record_says_berlin() {
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with("series in Vienna"))
        .unwrap();
    let record = crm_to_record(&case.crm);
    assert_eq!(record.get("start_tz"), Some(&Value::from("Europe/Berlin")));
    let mut crm = case.crm.clone();
    record_onto_crm(
        &ews_to_record_with_exceptions(
            &record_to_ews_as_stored(&record),
            &record_to_ews_exceptions(&record),
        ),
        &mut crm,
    );
    assert_eq!(crm.start_time_zone, "Europe/Vienna");
    assert_eq!(crm, case.crm);
}

#[test]
fn ews_series_with_exceptions_to_record_and_back() {
    let items = calendar_items(&data("calendar_ews.xml"));
    let (master, exceptions) = items.split_first().unwrap();
    assert_eq!(
        key::record_id(&Item::CalendarItem(master.clone())),
        Some("T-77")
    );
    let (record, warnings) = ews_to_record_with_warnings(master, exceptions);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(record.fields, expected("master"));

    // Without the exception items only the changed times are known.
    let bare = ews_to_record(master);
    let modified = bare.get("recurrence.modified").unwrap();
    assert!(modified[0].get("subject").is_none());

    // EWS -> Record -> CRM -> Record.
    let mut crm = Appointment::default();
    record_onto_crm(&record, &mut crm);
    assert_eq!(crm_to_record(&crm), record);
    let rec = crm.recurrence.as_ref().unwrap();
    assert_eq!(rec.deleted_occurrences.len(), 1);
    assert_eq!(
        rec.modified_occurrences[0].subject.as_deref(),
        Some("Weekly sync - Sonderrunde")
    );
    assert_eq!(crm.validate(), Ok(()));

    // And back to Exchange: the deleted occurrence gets its original start again.
    let again = record_to_ews_as_stored(&record);
    assert_eq!(again.deleted_occurrences, master.deleted_occurrences);
    assert!(record_to_ews(&record).deleted_occurrences.is_empty());
    assert_eq!(
        ews_to_record_with_exceptions(
            &through_xml(&again, "CalendarItem"),
            &record_to_ews_exceptions(&record)
        ),
        record
    );
}

#[test]
fn unknown_windows_zone_falls_back_to_utc_with_a_warning() {
    let items = calendar_items(&data("calendar_custom_zone.xml"));
    let (record, warnings) = ews_to_record_with_warnings(&items[0], &[]);
    assert_eq!(record.fields, expected("custom_zone"));
    assert_eq!(
        warnings,
        vec![MappingWarning::UnknownWindowsZone {
            field: "start_tz",
            id: "Customized Time Zone".into()
        }]
    );
    assert!(warnings[0].to_string().contains("using UTC"));
    let mut crm = Appointment::default();
    record_onto_crm(&record, &mut crm);
    assert_eq!(crm_to_record(&crm), record);
    assert_eq!(
        crm.all_day_dates()
            .map(|(a, b)| (a.to_string(), b.to_string())),
        Some(("2025-03-29".into(), "2025-03-31".into()))
    );
}

#[test]
fn unknown_iana_zone_is_kept_and_reported() {
    let case = cases().into_iter().next().unwrap();
    let mut crm = case.crm.clone();
    crm.start_time_zone = "Mars/Olympus".into();
    let record = crm_to_record(&crm);
    assert_eq!(record.get("start_tz"), Some(&Value::from("Mars/Olympus")));
    let (ews, warnings) = record_to_ews_with_warnings(&record);
    assert_eq!(ews.start_time_zone, None);
    assert!(matches!(
        &warnings[..],
        [MappingWarning::UnknownIanaZone {
            field: "start_tz",
            ..
        }]
    ));
}

#[test]
fn recurrence_patterns_convert_both_ways() {
    let cases: Vec<RecurrenceCase> = serde_json::from_str(&data("recurrences.json")).unwrap();
    for case in cases {
        assert_eq!(
            recurrence::crm_to_value(&case.crm),
            case.value,
            "{}",
            case.name
        );
        assert_eq!(
            recurrence::value_to_crm(&case.value).as_ref(),
            Some(&case.crm),
            "{}",
            case.name
        );
        // Weekdays in any order give the same canonical value.
        let mut shuffled = case.crm.clone();
        if let conaktiv_model::recurrence::RecurrencePattern::Weekly { days, .. } =
            &mut shuffled.pattern
        {
            days.reverse();
        }
        assert_eq!(
            recurrence::crm_to_value(&shuffled),
            case.value,
            "{}",
            case.name
        );
        // Exchange's XML -> value.
        let xml = format!(
            "<t:Recurrence xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">{}</t:Recurrence>",
            case.ews
        );
        let mut r = XmlReader::new(xml.as_bytes());
        let root = r.root().unwrap();
        let ews = ews_client::types::Recurrence::read_xml(&mut r, &root).unwrap();
        assert_eq!(recurrence::ews_to_value(&ews), case.value, "{}", case.name);
        // value -> EWS -> value.
        let written = recurrence::value_to_ews(&case.value).unwrap();
        assert_eq!(
            recurrence::ews_to_value(&written),
            case.value,
            "{}",
            case.name
        );
    }
}

#[test]
fn occurrence_changes_delete_and_modify() {
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with("series in Vienna"))
        .unwrap();
    let old = crm_to_record(&case.crm);
    let mut crm = case.crm.clone();
    let rec = crm.recurrence.as_mut().unwrap();
    rec.deleted_occurrences.push("2025-04-14".parse().unwrap());
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let moved = rec
        .modified_occurrences
        .iter_mut()
        .find(|m| m.original_start == t("2025-03-24T09:00:00Z"))
        .unwrap();
    moved.subject = Some("Weekly (nachmittags)".into());
    let new = crm_to_record(&crm);
    let changes = occurrence_changes(&old, &new);
    assert_eq!(changes.len(), 2, "{changes:?}");
    // 10:00 in Vienna, after the DST change: 08:00 UTC.
    assert!(changes.contains(&OccurrenceChange::Delete {
        original_start: t("2025-04-14T08:00:00Z")
    }));
    assert!(changes.iter().any(|c| matches!(c,
        OccurrenceChange::Modify { original_start, item }
            if *original_start == t("2025-03-24T09:00:00Z")
                && item.common.subject.as_deref() == Some("Weekly (nachmittags)"))));
    assert!(occurrence_changes(&new, &new).is_empty());
}
