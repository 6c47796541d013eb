//! All four tables in both directions against ews-mock over HTTP; the preview equals the
//! result; a second run writes nothing.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use conaktiv_e2e::{Env, org};
use conaktiv_exchange::service::PreviewDetail;

const CONTACT_RULE: &str = r#"
[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]
to_exchange = { transfer_new = true, transfer_changed = true, delete_missing = true }
to_conaktiv = { transfer_new = true, transfer_changed = true, delete_missing = true }
"#;

#[tokio::test]
async fn contacts_both_directions_preview_equals_result_and_second_run_is_a_noop() {
    let env = Env::start(
        &org(&[(
            "bob",
            r#"items = [{ folder = "contacts", subject = "Erika Muster", fields = { GivenName = "Erika", Surname = "Muster" } }]"#,
        )]),
        &["bob"],
        CONTACT_RULE,
    )
    .await;
    env.add_contact("bob", "Clara", "Kunde").await;
    env.add_contact("bob", "Dora", "Kundin").await;

    let preview = env
        .connector
        .preview("Kontakte", "bob", PreviewDetail::WithActions)
        .await
        .unwrap();
    assert_eq!((preview.exchange.new, preview.conaktiv.new), (2, 1));
    assert_eq!(preview.actions.len(), 3);

    let run = env
        .connector
        .run(Some("Kontakte"), Some("bob"))
        .await
        .unwrap();
    assert_eq!(run.items.len(), 1);
    let report = run.items[0].status.report().unwrap();
    assert!(report.is_complete());
    assert_eq!(
        (report.to_exchange, report.to_conaktiv),
        (preview.exchange, preview.conaktiv),
        "the preview equals the result"
    );

    assert_eq!(
        env.contacts("bob").await,
        ["Clara Kunde", "Dora Kundin", "Erika Muster"]
    );
    assert_eq!(
        env.subjects("bob", "contacts"),
        ["Clara Kunde", "Dora Kundin", "Erika Muster"]
    );

    let again = env
        .connector
        .preview("Kontakte", "bob", PreviewDetail::WithActions)
        .await
        .unwrap();
    assert_eq!(again.counts.total(), 0, "{again:?}");
    let second = env.connector.run(None, None).await.unwrap();
    assert_eq!(second.total_writes(), 0);
    assert_eq!(second.failed(), 0);
}

const OTHER_RULES: &str = r#"
[[rules]]
description = "Termine"
table = "appointments"
master = "exchange"
sync_folders = [{ path = "/Calendar" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }

[[rules]]
description = "Aufgaben"
table = "tasks"
master = "conaktiv"
sync_folders = [{ path = "/Tasks" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }

[[rules]]
description = "E-Mail"
table = "email"
master = "exchange"
sync_folders = [{ path = "/Inbox" }]
to_exchange = { transfer_new = true }
to_conaktiv = { transfer_new = true }
"#;

#[tokio::test]
async fn appointments_tasks_and_mail_both_directions() {
    use chrono::{TimeZone, Utc};
    use conaktiv_exchange::host::{CrmStore, ListQuery};
    use conaktiv_model::mail::Mailbox;
    use conaktiv_model::{Appointment, Mail, Task};

    let env = Env::start(
        &org(&[(
            "bob",
            r#"items = [
  { folder = "calendar", subject = "Kundentermin", fields = { Start = "2026-12-01T09:00:00Z", End = "2026-12-01T10:00:00Z", Location = "Berlin" } },
  { folder = "tasks", subject = "Angebot nachfassen" },
  { folder = "inbox", subject = "Anfrage", fields = { Body = "Bitte um ein Angebot." } },
]"#,
        )]),
        &["bob"],
        OTHER_RULES,
    )
    .await;
    let crm = env.crm();
    let appointment = Appointment {
        subject: "Messe".into(),
        start: Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 12, 2, 17, 0, 0).unwrap(),
        start_time_zone: "Europe/Berlin".into(),
        end_time_zone: "Europe/Berlin".into(),
        ..Appointment::default()
    };
    CrmStore::<Appointment>::create(&crm, Some("bob"), &appointment, None)
        .await
        .unwrap();
    let task = Task {
        subject: "Rückruf".into(),
        ..Task::default()
    };
    CrmStore::<Task>::create(&crm, Some("bob"), &task, None)
        .await
        .unwrap();
    let mail = Mail {
        message_id: "crm-1@conaktiv.example".into(),
        from: Some(Mailbox::new("Kunde", "kunde@example.org")),
        to: vec![Mailbox::new("Bob", "bob@contoso.test")],
        subject: "Abgelegt".into(),
        text_body: Some("Aus dem CRM.".into()),
        date: Some(Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap()),
        ..Mail::default()
    };
    CrmStore::<Mail>::create(&crm, Some("bob"), &mail, None)
        .await
        .unwrap();

    let mut previews = Vec::new();
    for rule in ["Termine", "Aufgaben", "E-Mail"] {
        previews.push(
            env.connector
                .preview(rule, "bob", PreviewDetail::Counts)
                .await
                .unwrap(),
        );
    }
    for p in &previews {
        assert_eq!((p.exchange.new, p.conaktiv.new), (1, 1), "{p:?}");
    }
    let run = env.connector.run(None, Some("bob")).await.unwrap();
    assert_eq!(run.items.len(), 3);
    for item in &run.items {
        let r = item.status.report().unwrap();
        assert!(r.is_complete(), "{item:?}");
        let p = previews.iter().find(|p| p.rule == item.rule).unwrap();
        assert_eq!(
            (r.to_exchange, r.to_conaktiv),
            (p.exchange, p.conaktiv),
            "the preview equals the result"
        );
    }
    assert_eq!(env.subjects("bob", "calendar"), ["Kundentermin", "Messe"]);
    assert_eq!(
        env.subjects("bob", "tasks"),
        ["Angebot nachfassen", "Rückruf"]
    );
    assert_eq!(env.subjects("bob", "inbox"), ["Abgelegt", "Anfrage"]);
    let owned = ListQuery::all().owned_by("bob");
    assert_eq!(
        CrmStore::<Appointment>::list(&crm, &owned)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(CrmStore::<Task>::list(&crm, &owned).await.unwrap().len(), 2);
    assert_eq!(CrmStore::<Mail>::list(&crm, &owned).await.unwrap().len(), 2);

    let second = env.connector.run(None, None).await.unwrap();
    assert_eq!(second.total_writes(), 0, "{second:?}");
}
