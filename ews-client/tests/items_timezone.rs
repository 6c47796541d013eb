//! Windows <-> IANA time zone mapping (CLDR) and offsets of custom zone definitions.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

#[path = "data/items/fixtures.rs"]
mod fixtures;
use fixtures::*;

use chrono::{DateTime, Offset, TimeDelta, TimeZone, Utc};
use ews_client::types::TimeZoneDefinition;
use ews_client::types::timezone::{
    format_duration, iana_to_windows, parse_duration, windows_to_iana, windows_to_tz, windows_zones,
};

#[test]
fn windows_ids_map_to_iana_and_back() {
    let pairs = [
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Eastern Standard Time", "America/New_York"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("GMT Standard Time", "Europe/London"),
        ("Romance Standard Time", "Europe/Paris"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("UTC", "Etc/UTC"),
    ];
    for (windows, iana) in pairs {
        assert_eq!(windows_to_iana(windows), Some(iana), "{windows}");
        assert_eq!(iana_to_windows(iana), Some(windows), "{iana}");
    }
    // Non-default zones of a Windows id map back to it.
    assert_eq!(
        iana_to_windows("Europe/Vienna"),
        Some("W. Europe Standard Time")
    );
    assert_eq!(
        iana_to_windows("Europe/Zurich"),
        Some("W. Europe Standard Time")
    );
    assert_eq!(
        iana_to_windows("America/Detroit"),
        Some("Eastern Standard Time")
    );
    assert_eq!(
        iana_to_windows("America/Toronto"),
        Some("Eastern Standard Time")
    );
    // Current IANA names of zones CLDR lists under their older names.
    for (iana, windows) in [
        ("Asia/Kolkata", "India Standard Time"),
        ("Europe/Kyiv", "FLE Standard Time"),
        ("Asia/Kathmandu", "Nepal Standard Time"),
        ("America/Indiana/Indianapolis", "US Eastern Standard Time"),
    ] {
        assert_eq!(iana_to_windows(iana), Some(windows), "{iana}");
        assert!(iana.parse::<chrono_tz::Tz>().is_ok(), "{iana}");
    }
    for utc in ["UTC", "Etc/UTC", "GMT", "Etc/GMT"] {
        assert_eq!(iana_to_windows(utc), Some("UTC"), "{utc}");
    }
    assert_eq!(
        TimeZoneDefinition::from_iana("Europe/Berlin")
            .unwrap()
            .id
            .as_deref(),
        Some("W. Europe Standard Time")
    );
}

#[test]
fn unknown_ids_and_names_map_to_nothing() {
    assert_eq!(windows_to_iana("Customized Time Zone"), None);
    assert_eq!(windows_to_iana("Mars Standard Time"), None);
    assert_eq!(windows_to_iana(""), None);
    assert_eq!(iana_to_windows("Mars/Olympus_Mons"), None);
    assert!(TimeZoneDefinition::from_iana("Mars/Olympus_Mons").is_none());
    let unknown = TimeZoneDefinition::windows("Mars Standard Time");
    assert_eq!(unknown.iana(), None);
    // No definition to compute from either.
    assert_eq!(unknown.utc_offset_at(Utc::now()), None);
}

#[test]
fn every_vendored_zone_is_known_to_chrono_tz() {
    let zones: Vec<_> = windows_zones().collect();
    assert!(zones.len() > 130, "{}", zones.len());
    for (windows, iana) in zones {
        assert!(windows_to_tz(windows).is_some(), "{windows} -> {iana}");
    }
}

#[test]
fn known_ids_use_the_iana_rules() {
    let berlin = TimeZoneDefinition::windows("W. Europe Standard Time");
    let summer = Utc.with_ymd_and_hms(2024, 7, 1, 12, 0, 0).unwrap();
    let winter = Utc.with_ymd_and_hms(2024, 1, 15, 12, 0, 0).unwrap();
    assert_eq!(
        berlin.utc_offset_at(summer).unwrap().local_minus_utc(),
        7200
    );
    assert_eq!(
        berlin.utc_offset_at(winter).unwrap().local_minus_utc(),
        3600
    );
    let ny = TimeZoneDefinition::windows("Eastern Standard Time");
    assert_eq!(
        ny.utc_offset_at(summer).unwrap().local_minus_utc(),
        -4 * 3600
    );
    assert_eq!(
        ny.utc_offset_at(winter).unwrap().local_minus_utc(),
        -5 * 3600
    );
}

/// Every hour of 2023 and 2024: the computed offset equals chrono-tz's for `iana`.
fn assert_same_offsets(compute: impl Fn(DateTime<Utc>) -> Option<i32>, iana: &str) {
    let tz: chrono_tz::Tz = iana.parse().unwrap();
    let mut t = Utc.with_ymd_and_hms(2023, 1, 1, 0, 30, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    while t < end {
        let expected = tz
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc();
        assert_eq!(compute(t), Some(expected), "{iana} at {t}");
        t += TimeDelta::hours(1);
    }
}

#[test]
fn custom_zone_definition_keeps_its_rules_and_computes_offsets() {
    // Periods and transitions equal to the US Pacific rules since 2007.
    let zone = custom_zone();
    assert_eq!(zone.iana(), None);
    assert_same_offsets(
        |t| zone.utc_offset_at(t).map(|o| o.local_minus_utc()),
        "America/Los_Angeles",
    );
    // Around the spring change (10 March 2024, 02:00 PST = 10:00 UTC).
    let before = Utc.with_ymd_and_hms(2024, 3, 10, 9, 59, 0).unwrap();
    let after = Utc.with_ymd_and_hms(2024, 3, 10, 10, 0, 0).unwrap();
    assert_eq!(
        zone.utc_offset_at(before).unwrap().local_minus_utc(),
        -8 * 3600
    );
    assert_eq!(
        zone.utc_offset_at(after).unwrap().local_minus_utc(),
        -7 * 3600
    );
}

#[test]
fn exchange_definition_from_a_response_computes_offsets() {
    // The Berlin definition as Exchange returns it, read from the calendar sample, with the
    // id replaced so that the rules (not the IANA zone) are used.
    let xml = include_str!("data/items/getitem_calendar.xml");
    let envelope =
        ews_client::envelope::read_response::<ews_client::ops::GetItem>(xml.as_bytes()).unwrap();
    let item = envelope
        .body
        .unwrap()
        .into_single()
        .unwrap()
        .items
        .remove(0);
    let ews_client::types::Item::CalendarItem(c) = item else {
        panic!()
    };
    let mut zone = c.start_time_zone.unwrap();
    zone.id = Some("Customized Time Zone".into());
    assert_same_offsets(
        |t| zone.utc_offset_at(t).map(|o| o.local_minus_utc()),
        "Europe/Berlin",
    );
}

#[test]
fn legacy_custom_zone_computes_offsets() {
    // Base offset -1h, daylight -1h more from the last Sunday of March 02:00 to the last
    // Sunday of October 03:00: the Central European rules.
    let zone = legacy_zone();
    assert_same_offsets(
        |t| zone.utc_offset_at(t).map(|o| o.local_minus_utc()),
        "Europe/Berlin",
    );
    // A known name without a definition: the IANA rules.
    let named = ews_client::types::timezone::LegacyTimeZone {
        time_zone_name: Some("Eastern Standard Time".into()),
        ..Default::default()
    };
    let summer = Utc.with_ymd_and_hms(2024, 7, 1, 12, 0, 0).unwrap();
    assert_eq!(
        named.utc_offset_at(summer).unwrap().local_minus_utc(),
        -4 * 3600
    );
    // An unknown name without a definition: unknown.
    let unknown = ews_client::types::timezone::LegacyTimeZone {
        time_zone_name: Some("Somewhere".into()),
        ..Default::default()
    };
    assert_eq!(unknown.utc_offset_at(summer), None);
    // Without changes: a fixed offset.
    let fixed = ews_client::types::timezone::LegacyTimeZone {
        time_zone_name: Some("Customized Time Zone".into()),
        base_offset: Some(TimeDelta::minutes(-330)),
        standard: None,
        daylight: None,
    };
    assert_eq!(
        fixed.utc_offset_at(Utc::now()).unwrap().local_minus_utc(),
        330 * 60
    );
}

#[test]
fn durations_parse_and_format() {
    let cases = [
        ("PT8H", 8 * 3600),
        ("-PT1H", -3600),
        ("-P0DT1H0M0.0S", -3600),
        ("P0DT2H30M0.0S", 9000),
        ("PT0H", 0),
        ("PT0S", 0),
        ("-PT5H30M", -19800),
        ("P1D", 86400),
    ];
    for (text, secs) in cases {
        assert_eq!(parse_duration(text).unwrap().num_seconds(), secs, "{text}");
    }
    assert_eq!(format_duration(TimeDelta::hours(8)), "PT8H");
    assert_eq!(format_duration(TimeDelta::minutes(-90)), "-PT1H30M");
    assert_eq!(format_duration(TimeDelta::zero()), "PT0H");
    for bad in ["8H", "P1Y", "PT", "P", "-", "PTxH", "PT1H2"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}
