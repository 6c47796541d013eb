//! The CRM records are plain data: fully populated records survive a serde round trip, and
//! their JSON uses the documented snake_case names.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use chrono::{NaiveDate, TimeZone, Utc, Weekday};
use conaktiv_model::appointment::{
    Attendee, AttendeeRole, BusyStatus, ModifiedOccurrence, Participant, Recurrence, RecurrenceEnd,
    RecurrencePattern, RelativeDay, ResponseStatus, Sensitivity, WeekOfMonth,
};
use conaktiv_model::contact::{
    AddressKind, ContactEmail, EmailKind, PersonName, PhoneKind, PhoneNumber, PostalAddress,
};
use conaktiv_model::mail::{Attachment, Direction, Header, MailLinks, Mailbox};
use conaktiv_model::task::{Importance, TaskStatus};
use conaktiv_model::{
    Appointment, AppointmentId, ContactId, ContactPerson, CustomerId, InvoiceId, Mail, MailId,
    OfferId, Percent, ProjectId, Task, TaskId, UserName,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value);
    json
}

fn contact() -> ContactPerson {
    ContactPerson {
        id: Some(ContactId::new("K-1001")),
        customer: Some(CustomerId::new("C-42")),
        name: PersonName {
            title: "Dr.".into(),
            given_name: "Anna".into(),
            middle_name: "Maria".into(),
            surname: "Schmidt".into(),
            suffix: String::new(),
            nickname: "Anni".into(),
        },
        display_name: "Schmidt, Anna".into(),
        company: "Kunde GmbH".into(),
        department: "Einkauf".into(),
        job_title: "Leiterin Einkauf".into(),
        emails: vec![ContactEmail {
            kind: EmailKind::Business,
            address: "a.schmidt@kunde.example".into(),
            display_name: "Anna Schmidt".into(),
        }],
        phones: [
            (PhoneKind::Business, "+49 30 1234-0"),
            (PhoneKind::Home, "+49 30 555"),
            (PhoneKind::Mobile, "+49 170 1"),
            (PhoneKind::Fax, "+49 30 1234-99"),
            (PhoneKind::Other, "+49 40 2"),
        ]
        .into_iter()
        .map(|(kind, n)| PhoneNumber {
            kind,
            number: n.into(),
        })
        .collect(),
        addresses: vec![PostalAddress {
            kind: AddressKind::Business,
            street: "Hauptstraße 1".into(),
            postal_code: "10115".into(),
            city: "Berlin".into(),
            state: "Berlin".into(),
            country: "Deutschland".into(),
        }],
        birthday: NaiveDate::from_ymd_opt(1980, 2, 29),
        notes: "Bevorzugt Termine am Vormittag".into(),
        categories: vec!["Kunde".into(), "VIP".into()],
    }
}

fn appointment() -> Appointment {
    let t = |d, h| Utc.with_ymd_and_hms(2025, 3, d, h, 0, 0).unwrap();
    Appointment {
        id: Some(AppointmentId::new("T-7")),
        location: "Besprechungsraum 2".into(),
        body: "Agenda folgt".into(),
        organizer: Some(Participant {
            name: "Martina Müller".into(),
            address: "m.mueller@agentur.example".into(),
        }),
        attendees: vec![
            Attendee {
                participant: Participant {
                    name: "Anna Schmidt".into(),
                    address: "a.schmidt@kunde.example".into(),
                },
                role: AttendeeRole::Required,
                response: ResponseStatus::Accepted,
            },
            Attendee {
                participant: Participant {
                    name: "Raum 2".into(),
                    address: "raum2@agentur.example".into(),
                },
                role: AttendeeRole::Resource,
                response: ResponseStatus::NoResponseReceived,
            },
        ],
        reminder_minutes_before: Some(15),
        categories: vec!["Projekt".into()],
        sensitivity: Sensitivity::Private,
        busy_status: BusyStatus::OutOfOffice,
        recurrence: Some(Recurrence {
            pattern: RecurrencePattern::MonthlyRelative {
                interval: 1,
                week: WeekOfMonth::Last,
                day: RelativeDay::Weekday(Weekday::Fri),
            },
            start_date: NaiveDate::from_ymd_opt(2025, 3, 28).unwrap(),
            end: RecurrenceEnd::AfterOccurrences(12),
            modified_occurrences: vec![ModifiedOccurrence {
                original_start: t(28, 9),
                start: t(27, 9),
                end: t(27, 10),
                subject: Some("Jour fixe (vorgezogen)".into()),
                location: None,
                body: None,
            }],
            deleted_occurrences: vec![NaiveDate::from_ymd_opt(2025, 4, 25).unwrap()],
        }),
        project: Some(ProjectId::new("P-2025-001")),
        ..Appointment::new("Jour fixe", t(28, 9), t(28, 10), "Europe/Berlin")
    }
}

#[test]
fn records_round_trip() {
    let c = contact();
    let json = round_trip(&c);
    assert!(json.contains("\"kind\":\"mobile\""), "{json}");

    let a = appointment();
    assert_eq!(a.validate(), Ok(()));
    let json = round_trip(&a);
    assert!(json.contains("\"kind\":\"monthly_relative\""), "{json}");
    assert!(json.contains("\"after_occurrences\":12"), "{json}");

    let task = Task {
        id: Some(TaskId::new("A-3")),
        body: "Bis Freitag".into(),
        start_date: NaiveDate::from_ymd_opt(2025, 4, 1),
        due_date: NaiveDate::from_ymd_opt(2025, 4, 4),
        status: TaskStatus::InProgress,
        percent_complete: Percent::new(40).unwrap(),
        importance: Importance::High,
        reminder: Some(Utc.with_ymd_and_hms(2025, 4, 3, 8, 0, 0).unwrap()),
        owner: Some(UserName::new("mmueller")),
        recurrence: Some(Recurrence::new(
            RecurrencePattern::Weekly {
                interval: 2,
                days: vec![Weekday::Mon],
                first_day_of_week: Weekday::Mon,
            },
            NaiveDate::from_ymd_opt(2025, 4, 1).unwrap(),
        )),
        project: Some(ProjectId::new("P-2025-001")),
        ..Task::new("Angebot nachfassen")
    };
    assert_eq!(task.validate(), Ok(()));
    round_trip(&task);

    let mail = Mail {
        id: Some(MailId::new("M-9")),
        message_id: "abc.123@agentur.example".into(),
        from: Some(Mailbox::new("Anna Schmidt", "a.schmidt@kunde.example")),
        to: vec![Mailbox::new("", "m.mueller@agentur.example")],
        cc: vec![Mailbox::new("Info", "info@agentur.example")],
        bcc: vec![],
        reply_to: vec![Mailbox::new("", "einkauf@kunde.example")],
        subject: "AW: Angebot 2025-17".into(),
        date: Some(Utc.with_ymd_and_hms(2025, 4, 2, 7, 30, 0).unwrap()),
        text_body: Some("Guten Tag ...".into()),
        html_body: Some("<p>Guten Tag ...</p>".into()),
        attachments: vec![Attachment {
            name: "Bestellung.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.7".to_vec(),
        }],
        raw_headers: vec![Header {
            name: "Message-ID".into(),
            value: "<abc.123@agentur.example>".into(),
        }],
        direction: Direction::Incoming,
        links: MailLinks {
            customer: Some(CustomerId::new("C-42")),
            contact_person: Some(ContactId::new("CP-7")),
            project: Some(ProjectId::new("P-2025-001")),
            offer: Some(OfferId::new("O-2025-17")),
            invoice: Some(InvoiceId::new("R-2025-3")),
        },
    };
    round_trip(&mail);
    assert_eq!(
        Mail::normalize_message_id(mail.header("message-id").unwrap()),
        mail.message_id
    );
}

#[test]
fn missing_fields_take_their_defaults() {
    let c: ContactPerson = serde_json::from_str(r#"{"display_name":"X"}"#).unwrap();
    assert_eq!(c.display_name, "X");
    assert!(c.emails.is_empty());
    let t: Task = serde_json::from_str(r#"{"subject":"Y"}"#).unwrap();
    assert_eq!(t.status, TaskStatus::NotStarted);
    // a rule-bound field still validates when deserialized
    assert!(serde_json::from_str::<Task>(r#"{"percent_complete":150}"#).is_err());
}

#[test]
fn mail_links_stored_before_the_contact_person_existed_still_load() {
    let old: MailLinks =
        serde_json::from_str(r#"{"customer": "C-1", "project": "P-1", "offer": null}"#).unwrap();
    assert_eq!(old.customer, Some(CustomerId::new("C-1")));
    assert_eq!(old.contact_person, None);
    assert!(!old.is_empty());
    let only_person = MailLinks {
        contact_person: Some(ContactId::new("CP-1")),
        ..MailLinks::default()
    };
    assert!(!only_person.is_empty(), "a contact person alone is a link");
}
