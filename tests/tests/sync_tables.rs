//! All four tables in both directions against ews-mock over HTTP; the preview equals the
//! result; a second run writes nothing.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use conaktiv_e2e::{Env, org};

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
        .preview("Kontakte", "bob", true)
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
    let report = run.items[0].result.as_ref().unwrap();
    assert!(report.complete);
    assert_eq!(
        report.counts, preview.counts,
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
        .preview("Kontakte", "bob", true)
        .await
        .unwrap();
    assert_eq!(again.counts.total(), 0, "{again:?}");
    let second = env.connector.run(None, None).await.unwrap();
    assert_eq!(second.total_writes(), 0);
    assert_eq!(second.failed(), 0);
}
