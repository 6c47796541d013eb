#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Property tests: random CRM records round-trip without drift. For each table:
//! CRM -> Record -> EWS (through XML) -> Record equals the first Record; applying it onto
//! the original CRM record changes nothing; applying it onto an empty CRM record gives the
//! same Record; and a second pass gives the same Record again.

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use common::through_xml;
use conaktiv_exchange::mapping::{appointment, canon, contact, mail, task};
use conaktiv_model::appointment::{
    Attendee, AttendeeRole, BusyStatus, Participant, ResponseStatus, Sensitivity,
};
use conaktiv_model::contact::{
    AddressKind, ContactEmail, EmailKind, PersonName, PhoneKind, PhoneNumber, PostalAddress,
};
use conaktiv_model::mail::{Attachment, Direction, Mailbox};
use conaktiv_model::recurrence::{
    ModifiedOccurrence, Recurrence, RecurrenceEnd, RecurrencePattern, RelativeDay, WeekOfMonth,
};
use conaktiv_model::task::{Importance, TaskStatus};
use conaktiv_model::{Appointment, ContactPerson, Mail, Percent, Task};
use ews_client::types::{CalendarItem, Contact, Message, Task as EwsTask};
use proptest::prelude::*;

fn line() -> impl Strategy<Value = String> {
    "[ a-zA-Z0-9äöüßÄ.,&<>'\"-]{0,12}"
}

fn text() -> impl Strategy<Value = String> {
    "[ a-zA-Z0-9äöü.,\r\n\t-]{0,30}"
}

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,6}(\\.[a-z]{1,4})?@[a-z]{1,6}\\.example",
        1 => Just(String::new()),
        1 => Just("  ".to_owned()),
    ]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0i64..15000).prop_map(|d| NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Duration::days(d))
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (
        946_684_800i64..2_208_988_800,
        prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000_000],
    )
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap())
}

fn categories() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![Just("Kunde"), Just("VIP"), Just(" Partner "), Just("")],
        0..4,
    )
    .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn weekday() -> impl Strategy<Value = Weekday> {
    (0u8..7).prop_map(|d| Weekday::try_from(d).unwrap())
}

fn week() -> impl Strategy<Value = WeekOfMonth> {
    prop_oneof![
        Just(WeekOfMonth::First),
        Just(WeekOfMonth::Second),
        Just(WeekOfMonth::Third),
        Just(WeekOfMonth::Fourth),
        Just(WeekOfMonth::Last)
    ]
}

fn relative_day() -> impl Strategy<Value = RelativeDay> {
    prop_oneof![
        weekday().prop_map(RelativeDay::Weekday),
        Just(RelativeDay::Day),
        Just(RelativeDay::WorkDay),
        Just(RelativeDay::WeekendDay)
    ]
}

fn pattern() -> impl Strategy<Value = RecurrencePattern> {
    prop_oneof![
        (1u32..30).prop_map(|interval| RecurrencePattern::Daily { interval }),
        (1u32..5, prop::collection::vec(weekday(), 1..4), weekday()).prop_map(
            |(interval, days, first_day_of_week)| RecurrencePattern::Weekly {
                interval,
                days,
                first_day_of_week
            }
        ),
        (1u32..12, 1u32..=31).prop_map(|(interval, day_of_month)| {
            RecurrencePattern::MonthlyAbsolute {
                interval,
                day_of_month,
            }
        }),
        (1u32..12, week(), relative_day()).prop_map(|(interval, week, day)| {
            RecurrencePattern::MonthlyRelative {
                interval,
                week,
                day,
            }
        }),
        (1u32..=12, 1u32..=31).prop_map(|(month, day_of_month)| {
            RecurrencePattern::YearlyAbsolute {
                month,
                day_of_month,
            }
        }),
        (1u32..=12, week(), relative_day())
            .prop_map(|(month, week, day)| RecurrencePattern::YearlyRelative { month, week, day }),
    ]
}

fn recurrence_end() -> impl Strategy<Value = RecurrenceEnd> {
    prop_oneof![
        Just(RecurrenceEnd::Never),
        (1u32..500).prop_map(RecurrenceEnd::AfterOccurrences),
        (0i64..2000).prop_map(|d| {
            RecurrenceEnd::ByDate(NaiveDate::from_ymd_opt(2040, 1, 1).unwrap() + Duration::days(d))
        }),
    ]
}

fn contact_person() -> impl Strategy<Value = ContactPerson> {
    let name = (line(), line(), line(), line(), line(), line()).prop_map(
        |(title, given_name, middle_name, surname, suffix, nickname)| PersonName {
            title,
            given_name,
            middle_name,
            surname,
            suffix,
            nickname,
        },
    );
    let email = (
        prop_oneof![
            Just(EmailKind::Business),
            Just(EmailKind::Private),
            Just(EmailKind::Other)
        ],
        address(),
        line(),
    )
        .prop_map(|(kind, address, display_name)| ContactEmail {
            kind,
            address,
            display_name,
        });
    let phone = (
        prop_oneof![
            Just(PhoneKind::Business),
            Just(PhoneKind::Home),
            Just(PhoneKind::Mobile),
            Just(PhoneKind::Fax),
            Just(PhoneKind::Other)
        ],
        "[+0-9 ()/-]{0,15}",
    )
        .prop_map(|(kind, number)| PhoneNumber { kind, number });
    let postal = (
        prop_oneof![
            Just(AddressKind::Business),
            Just(AddressKind::Home),
            Just(AddressKind::Other)
        ],
        text(),
        line(),
        line(),
        line(),
        line(),
    )
        .prop_map(
            |(kind, street, postal_code, city, state, country)| PostalAddress {
                kind,
                street,
                postal_code,
                city,
                state,
                country,
            },
        );
    (
        name,
        (line(), line(), line(), line()),
        prop::collection::vec(email, 0..4),
        prop::collection::vec(phone, 0..4),
        prop::collection::vec(postal, 0..3),
        prop::option::of(date()),
        text(),
        categories(),
    )
        .prop_map(
            |(
                name,
                (display_name, company, department, job_title),
                emails,
                phones,
                addresses,
                birthday,
                notes,
                categories,
            )| {
                ContactPerson {
                    id: Some("K-1".into()),
                    customer: Some("C-1".into()),
                    name,
                    display_name,
                    company,
                    department,
                    job_title,
                    emails,
                    phones,
                    addresses,
                    birthday,
                    notes,
                    categories,
                }
            },
        )
}

const ZONES: [&str; 8] = [
    "Europe/Berlin",
    "Europe/Vienna",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
    "",
];

fn appointment_strategy() -> impl Strategy<Value = Appointment> {
    let attendee = (
        prop_oneof![
            Just("a@x.example"),
            Just("B@x.example"),
            Just("c@y.example")
        ],
        line(),
        prop_oneof![
            Just(AttendeeRole::Required),
            Just(AttendeeRole::Optional),
            Just(AttendeeRole::Resource)
        ],
        prop_oneof![
            Just(ResponseStatus::Unknown),
            Just(ResponseStatus::Accepted),
            Just(ResponseStatus::Declined),
            Just(ResponseStatus::Tentative),
            Just(ResponseStatus::NoResponseReceived),
            Just(ResponseStatus::Organizer)
        ],
    )
        .prop_map(|(address, name, role, response)| Attendee {
            participant: Participant {
                name,
                address: address.to_owned(),
            },
            role,
            response,
        });
    let times = (
        any::<bool>(),
        0usize..ZONES.len(),
        date(),
        1i64..6,
        instant(),
        0i64..600,
    );
    let rec = prop::option::of((
        pattern(),
        recurrence_end(),
        prop::collection::vec(0i64..200, 0..3),
        prop::collection::vec(
            (
                0i64..200,
                -120i64..120,
                15i64..240,
                prop::option::of(line()),
            ),
            0..3,
        ),
    ));
    (
        (line(), line(), text()),
        times,
        prop::collection::vec(attendee, 0..4),
        prop::option::of(0u32..10_000),
        categories(),
        prop_oneof![
            Just(Sensitivity::Normal),
            Just(Sensitivity::Private),
            Just(Sensitivity::Confidential),
            Just(Sensitivity::Personal)
        ],
        prop_oneof![
            Just(BusyStatus::Free),
            Just(BusyStatus::Busy),
            Just(BusyStatus::Tentative),
            Just(BusyStatus::OutOfOffice),
            Just(BusyStatus::WorkingElsewhere),
            Just(BusyStatus::NoData)
        ],
        rec,
    )
        .prop_map(
            |(
                (subject, location, body),
                (all_day, zone, day, days, at, minutes),
                attendees,
                reminder,
                categories,
                sensitivity,
                busy_status,
                rec,
            )| {
                let tz_name = ZONES[zone];
                let tz = canon::tz(tz_name);
                let (start, end) = if all_day {
                    (
                        canon::local_midnight(day, tz),
                        canon::local_midnight(day + Duration::days(days), tz),
                    )
                } else {
                    (at, at + Duration::minutes(minutes))
                };
                let recurrence = rec.map(|(pattern, end_rule, deleted, modified)| {
                    let first = start.with_timezone(&tz).date_naive();
                    let mut r = Recurrence::new(pattern, first);
                    r.end = match end_rule {
                        RecurrenceEnd::ByDate(d) if d < first => RecurrenceEnd::Never,
                        other => other,
                    };
                    r.deleted_occurrences = deleted
                        .into_iter()
                        .map(|d| first + Duration::days(d))
                        .collect();
                    r.modified_occurrences = modified
                        .into_iter()
                        .map(|(d, shift, len, subject)| {
                            let original = canon::whole_seconds(start) + Duration::days(d);
                            ModifiedOccurrence {
                                original_start: original,
                                start: original + Duration::minutes(shift),
                                end: original + Duration::minutes(shift + len),
                                subject,
                                location: None,
                                body: None,
                            }
                        })
                        .collect();
                    r
                });
                Appointment {
                    id: Some("T-1".into()),
                    subject,
                    location,
                    body,
                    start,
                    start_time_zone: tz_name.to_owned(),
                    end,
                    end_time_zone: tz_name.to_owned(),
                    all_day,
                    organizer: None,
                    attendees,
                    reminder_minutes_before: reminder,
                    categories,
                    sensitivity,
                    busy_status,
                    recurrence,
                    project: Some("P-1".into()),
                }
            },
        )
}

fn task_strategy() -> impl Strategy<Value = Task> {
    (
        (line(), text()),
        (prop::option::of(date()), prop::option::of(date())),
        prop_oneof![
            Just(TaskStatus::NotStarted),
            Just(TaskStatus::InProgress),
            Just(TaskStatus::Completed),
            Just(TaskStatus::WaitingOnOthers),
            Just(TaskStatus::Deferred)
        ],
        0u8..=100,
        prop_oneof![
            Just(Importance::Low),
            Just(Importance::Normal),
            Just(Importance::High)
        ],
        prop::option::of(instant()),
        categories(),
        prop_oneof![Just(Sensitivity::Normal), Just(Sensitivity::Private)],
        prop::option::of((pattern(), date(), recurrence_end())),
    )
        .prop_map(
            |(
                (subject, body),
                (start_date, due_date),
                status,
                percent,
                importance,
                reminder,
                categories,
                sensitivity,
                rec,
            )| Task {
                id: Some("A-1".into()),
                subject,
                body,
                start_date,
                due_date,
                status,
                percent_complete: Percent::new(percent).unwrap(),
                importance,
                reminder,
                owner: Some("mmueller".into()),
                categories,
                sensitivity,
                recurrence: rec.map(|(p, d, e)| {
                    let mut r = Recurrence::new(p, d);
                    r.end = match e {
                        RecurrenceEnd::ByDate(x) if x < d => RecurrenceEnd::Never,
                        other => other,
                    };
                    r
                }),
                project: None,
            },
        )
}

fn mailbox() -> impl Strategy<Value = Mailbox> {
    ("[A-Za-zäö ]{0,10}", "[a-z]{1,6}@[a-z]{1,6}\\.example")
        .prop_map(|(name, address)| Mailbox::new(name.trim(), address))
}

fn mail_strategy() -> impl Strategy<Value = Mail> {
    (
        (
            "[a-z0-9.]{1,12}@[a-z]{1,6}\\.example",
            prop::option::of(mailbox()),
        ),
        (
            prop::collection::vec(mailbox(), 0..3),
            prop::collection::vec(mailbox(), 0..3),
            prop::collection::vec(mailbox(), 0..2),
            prop::collection::vec(mailbox(), 0..2),
        ),
        "[ a-zA-Z0-9äöü.,:!?-]{0,30}",
        prop::option::of(instant().prop_map(canon::whole_seconds)),
        (
            prop::option::of("[a-zA-Z0-9 .,\n]{0,40}"),
            prop::option::of("<p>[a-zA-Z0-9 .,]{0,30}</p>"),
        ),
        prop::collection::vec(
            (
                "[a-zA-Z0-9_-]{1,10}\\.(pdf|txt|png)",
                prop_oneof![
                    Just("application/pdf"),
                    Just("text/plain"),
                    Just("image/png")
                ],
                prop::collection::vec(any::<u8>(), 0..64),
            ),
            0..3,
        ),
        prop_oneof![Just(Direction::Incoming), Just(Direction::Outgoing)],
    )
        .prop_map(
            |(
                (message_id, from),
                (to, cc, bcc, reply_to),
                subject,
                date,
                (text, html),
                atts,
                direction,
            )| {
                // Exchange keeps one body: the HTML one when both exist.
                let text_body = if html.is_some() { None } else { text };
                Mail {
                    id: Some("M-1".into()),
                    message_id,
                    from,
                    to,
                    cc,
                    bcc,
                    reply_to,
                    subject,
                    date,
                    text_body,
                    html_body: html,
                    attachments: atts
                        .into_iter()
                        .map(|(name, content_type, bytes)| Attachment {
                            name,
                            content_type: content_type.to_owned(),
                            bytes,
                        })
                        .collect(),
                    raw_headers: Vec::new(),
                    direction,
                    links: Default::default(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn mails_round_trip_through_messages(m in mail_strategy()) {
        let message: Message = through_xml(&mail::mail_to_message(&m), "Message");
        prop_assert_eq!(mail::message_to_mail(&message, m.direction), m);
    }

    #[test]
    fn contacts_round_trip_without_drift(c in contact_person()) {
        let r1 = contact::crm_to_record(&c);
        let ews: Contact = through_xml(&contact::record_to_ews(&r1), "Contact");
        let r2 = contact::ews_to_record(&ews);
        prop_assert_eq!(&r2, &r1);
        let mut same = c.clone();
        contact::record_onto_crm(&r2, &mut same);
        prop_assert_eq!(&same, &c);
        let mut fresh = ContactPerson::default();
        contact::record_onto_crm(&r2, &mut fresh);
        let r3 = contact::crm_to_record(&fresh);
        prop_assert_eq!(&r3, &r1);
        let again: Contact = through_xml(&contact::record_to_ews(&r3), "Contact");
        prop_assert_eq!(contact::ews_to_record(&again), r1);
    }

    #[test]
    fn appointments_round_trip_without_drift(a in appointment_strategy()) {
        let r1 = appointment::crm_to_record(&a);
        let ews: CalendarItem = through_xml(&appointment::record_to_ews_as_stored(&r1), "CalendarItem");
        let exceptions = appointment::record_to_ews_exceptions(&r1);
        let r2 = appointment::ews_to_record_with_exceptions(&ews, &exceptions);
        prop_assert_eq!(&r2, &r1);
        let mut same = a.clone();
        appointment::record_onto_crm(&r2, &mut same);
        if a.start_time_zone.is_empty() {
            same.start_time_zone.clear();
            same.end_time_zone.clear();
        }
        prop_assert_eq!(&same, &a);
        let mut fresh = Appointment::default();
        appointment::record_onto_crm(&r2, &mut fresh);
        let r3 = appointment::crm_to_record(&fresh);
        prop_assert_eq!(&r3, &r1);
        let again: CalendarItem = through_xml(&appointment::record_to_ews_as_stored(&r3), "CalendarItem");
        let exceptions = appointment::record_to_ews_exceptions(&r3);
        prop_assert_eq!(appointment::ews_to_record_with_exceptions(&again, &exceptions), r1);
    }

    #[test]
    fn tasks_round_trip_without_drift(t in task_strategy()) {
        let r1 = task::crm_to_record(&t);
        let ews: EwsTask = through_xml(&task::record_to_ews(&r1), "Task");
        let r2 = task::ews_to_record(&ews);
        prop_assert_eq!(&r2, &r1);
        let mut same = t.clone();
        task::record_onto_crm(&r2, &mut same);
        prop_assert_eq!(&same, &t);
        let mut fresh = Task::default();
        task::record_onto_crm(&r2, &mut fresh);
        let r3 = task::crm_to_record(&fresh);
        prop_assert_eq!(&r3, &r1);
        let again: EwsTask = through_xml(&task::record_to_ews(&r3), "Task");
        prop_assert_eq!(task::ews_to_record(&again), r1);
    }
}
