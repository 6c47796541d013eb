//! Rule features end to end: master conflicts, subfolders and the new-items folder, the
//! filter, each delete and overwrite switch.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use conaktiv_e2e::{Env, org};
use conaktiv_exchange::mapping::contact::fields;
use conaktiv_exchange::scheduler::ItemStatus;
use conaktiv_exchange::service::PreviewDetail;
use serde_json::json;

fn rule(master: &str, extra: &str, to_exchange: &str, to_conaktiv: &str) -> String {
    format!(
        r#"
[[rules]]
description = "Kontakte"
table = "contacts"
master = "{master}"
sync_folders = [{{ path = "/Contacts", include_subfolders = true }}]
{extra}
to_exchange = {{ {to_exchange} }}
to_conaktiv = {{ {to_conaktiv} }}
"#
    )
}

const ALL: &str = "transfer_new = true, transfer_changed = true, delete_missing = true";

async fn synced(rules: &str) -> Env {
    let env = Env::start(&org(&[("bob", "")]), &["bob"], rules).await;
    env.add_contact("bob", "Clara", "Kunde").await;
    let run = env.connector.run(None, None).await.unwrap();
    assert_eq!(run.failed(), 0);
    assert_eq!(env.subjects("bob", "contacts"), ["Clara Kunde"]);
    env
}

async fn run_ok(env: &Env) -> conaktiv_exchange::scheduler::SyncReport {
    let run = env.connector.run(None, None).await.unwrap();
    assert_eq!(run.failed(), 0, "{run:?}");
    for item in &run.items {
        assert!(item.status.report().unwrap().is_complete(), "{run:?}");
    }
    run
}

async fn exchange_field(env: &Env, given: &str, field: &str) -> Option<serde_json::Value> {
    env.exchange_contacts("bob")
        .await
        .into_iter()
        .find(|(_, r)| r.get(fields::GIVEN_NAME) == Some(&json!(given)))
        .and_then(|(_, r)| r.get(field).cloned())
}

#[tokio::test]
async fn a_field_changed_on_both_sides_goes_to_the_master() {
    for (master, winner) in [("conaktiv", "CRM AG"), ("exchange", "Exchange AG")] {
        let env = synced(&rule(master, "", ALL, ALL)).await;
        env.edit_crm_contact("bob", "Clara", |c| {
            c.company = "CRM AG".into();
            c.job_title = "Einkauf".into();
        })
        .await;
        env.edit_exchange_contact("bob", "Clara", fields::COMPANY, "Exchange AG")
            .await;
        env.edit_exchange_contact("bob", "Clara", fields::DEPARTMENT, "Vertrieb")
            .await;
        env.mock.clear_log();
        run_ok(&env).await;
        if conaktiv_e2e::Backend::current() == conaktiv_e2e::Backend::Graph {
            // the changed contact was read again through a $batch, not a GET of its own
            let counts = env.mock.request_counts();
            assert!(counts.keys().any(|k| k.contains("$batch")), "{counts:?}");
        }
        let crm = env.crm_contact_record("bob", "Clara").await;
        assert_eq!(crm.company, winner, "master {master}");
        // Fields changed on one side only are merged.
        assert_eq!(crm.department, "Vertrieb");
        assert_eq!(crm.job_title, "Einkauf");
        assert_eq!(
            exchange_field(&env, "Clara", fields::COMPANY).await,
            Some(json!(winner))
        );
        assert_eq!(run_ok(&env).await.total_writes(), 0);
    }
}

#[tokio::test]
async fn overwrite_completely_makes_the_target_a_copy_of_the_source() {
    let env = synced(&rule(
        "conaktiv",
        "",
        "transfer_new = true, transfer_changed = true, overwrite_completely = true",
        "transfer_new = true, transfer_changed = true",
    ))
    .await;
    env.edit_crm_contact("bob", "Clara", |c| c.job_title = "Einkauf".into())
        .await;
    env.edit_exchange_contact("bob", "Clara", fields::DEPARTMENT, "Vertrieb")
        .await;
    run_ok(&env).await;
    assert_eq!(
        exchange_field(&env, "Clara", fields::JOB_TITLE).await,
        Some(json!("Einkauf"))
    );
    assert_eq!(
        exchange_field(&env, "Clara", fields::DEPARTMENT).await,
        None,
        "not merged"
    );
    assert_eq!(env.crm_contact_record("bob", "Clara").await.department, "");
}

#[tokio::test]
async fn delete_switches_delete_or_detach() {
    // to Exchange deletes, to ConAktiv does not.
    let env = synced(&rule(
        "conaktiv",
        "",
        ALL,
        "transfer_new = true, transfer_changed = true",
    ))
    .await;
    env.add_contact("bob", "Dora", "Kundin").await;
    run_ok(&env).await;
    assert_eq!(
        env.subjects("bob", "contacts"),
        ["Clara Kunde", "Dora Kundin"]
    );

    env.delete_crm_contact("bob", "Clara").await;
    let preview = env
        .connector
        .preview("Kontakte", "bob", PreviewDetail::Counts)
        .await
        .unwrap();
    assert_eq!(preview.exchange.deleted, 1);
    run_ok(&env).await;
    assert_eq!(env.subjects("bob", "contacts"), ["Dora Kundin"]);

    env.delete_exchange_contact("bob", "Dora").await;
    let preview = env
        .connector
        .preview("Kontakte", "bob", PreviewDetail::Counts)
        .await
        .unwrap();
    assert_eq!(preview.conaktiv.deleted, 0);
    run_ok(&env).await;
    assert_eq!(
        env.contacts("bob").await,
        ["Dora Kundin"],
        "detached, kept in the CRM"
    );
    // Not re-created in Exchange either.
    run_ok(&env).await;
    assert!(env.subjects("bob", "contacts").is_empty());
}

#[tokio::test]
async fn transfer_switches_off_write_nothing_in_that_direction() {
    let env = Env::start(
        &org(&[("bob", r#"items = [{ folder = "contacts", subject = "Erika Muster", fields = { GivenName = "Erika", Surname = "Muster" } }]"#)]),
        &["bob"],
        &rule("conaktiv", "", "transfer_new = false", ALL),
    )
    .await;
    env.add_contact("bob", "Clara", "Kunde").await;
    let preview = env
        .connector
        .preview("Kontakte", "bob", PreviewDetail::Counts)
        .await
        .unwrap();
    assert_eq!((preview.exchange.new, preview.conaktiv.new), (0, 1));
    run_ok(&env).await;
    assert_eq!(env.subjects("bob", "contacts"), ["Erika Muster"]);
    assert_eq!(env.contacts("bob").await, ["Clara Kunde", "Erika Muster"]);
}

#[tokio::test]
async fn the_filter_selects_crm_records() {
    let env = Env::start(
        &org(&[("bob", "")]),
        &["bob"],
        &rule("conaktiv", "filter = \"company ~ 'gmbh'\"", ALL, ""),
    )
    .await;
    env.add_contact("bob", "Clara", "Kunde").await;
    for given in ["Gustav", "Hans"] {
        env.add_contact("bob", given, "GmbH-Kontakt").await;
        env.edit_crm_contact("bob", given, |c| c.company = "Muster GmbH".into())
            .await;
    }
    run_ok(&env).await;
    assert_eq!(
        env.subjects("bob", "contacts"),
        ["Gustav GmbH-Kontakt", "Hans GmbH-Kontakt"]
    );
    // Leaving the filter counts as missing: deleted in Exchange (delete_missing is on).
    env.edit_crm_contact("bob", "Gustav", |c| c.company = "Muster AG".into())
        .await;
    run_ok(&env).await;
    assert_eq!(env.subjects("bob", "contacts"), ["Hans GmbH-Kontakt"]);
    assert_eq!(
        env.contacts("bob").await.len(),
        3,
        "the CRM keeps every record"
    );
}

#[tokio::test]
async fn subfolders_are_synced_and_new_items_go_to_the_new_items_folder() {
    let env = Env::start(
        &org(&[(
            "bob",
            r#"folders = [{ path = "contacts/Kunden" }, { path = "contacts/Kunden/Nord" }]
items = [
  { folder = "contacts/Kunden/Nord", subject = "Nora North", fields = { GivenName = "Nora", Surname = "North" } },
  { folder = "contacts", subject = "Otto Outside", fields = { GivenName = "Otto", Surname = "Outside" } },
]"#,
        )]),
        &["bob"],
        r#"
[[rules]]
description = "Kunden"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts/Kunden", include_subfolders = true }]
new_items_folder = "/Contacts/Kunden/Nord"
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }
"#,
    )
    .await;
    env.add_contact("bob", "Clara", "Kunde").await;
    run_ok(&env).await;
    assert_eq!(
        env.contacts("bob").await,
        ["Clara Kunde", "Nora North"],
        "not Otto"
    );
    assert_eq!(
        env.subjects("bob", "contacts/Kunden/Nord"),
        ["Clara Kunde", "Nora North"]
    );
    assert!(env.subjects("bob", "contacts/Kunden").is_empty());
    assert_eq!(run_ok(&env).await.total_writes(), 0);
}

#[tokio::test]
async fn overwrite_completely_towards_the_crm() {
    let env = synced(&rule(
        "exchange",
        "",
        "transfer_new = true, transfer_changed = true",
        "transfer_new = true, transfer_changed = true, overwrite_completely = true",
    ))
    .await;
    env.edit_crm_contact("bob", "Clara", |c| c.job_title = "Einkauf".into())
        .await;
    env.edit_exchange_contact("bob", "Clara", fields::DEPARTMENT, "Vertrieb")
        .await;
    run_ok(&env).await;
    let crm = env.crm_contact_record("bob", "Clara").await;
    assert_eq!(crm.department, "Vertrieb");
    assert_eq!(
        crm.job_title, "",
        "not merged: the CRM is a copy of Exchange"
    );
    assert_eq!(exchange_field(&env, "Clara", fields::JOB_TITLE).await, None);
}

#[tokio::test]
async fn a_delete_in_exchange_deletes_in_the_crm_when_switched_on() {
    let env = synced(&rule("conaktiv", "", ALL, ALL)).await;
    env.add_contact("bob", "Dora", "Kundin").await;
    run_ok(&env).await;
    // Right after the run that created it: the stored cursor must not hide the delete
    // (the feed nets "created, then deleted" to nothing).
    env.delete_exchange_contact("bob", "Dora").await;
    let preview = env
        .connector
        .preview("Kontakte", "bob", PreviewDetail::WithActions)
        .await
        .unwrap();
    assert_eq!(preview.conaktiv.deleted, 1, "{preview:?}");
    let run = run_ok(&env).await;
    let report = run.items[0].status.report().unwrap();
    assert_eq!(
        (report.to_exchange, report.to_conaktiv),
        (preview.exchange, preview.conaktiv)
    );
    assert_eq!(env.contacts("bob").await, ["Clara Kunde"]);
    assert_eq!(env.subjects("bob", "contacts"), ["Clara Kunde"]);
}

#[tokio::test]
async fn the_mass_delete_guard_stops_a_run_until_the_admin_accepts_it() {
    let env = synced(&rule("conaktiv", "", ALL, ALL)).await;
    for i in 0..9 {
        env.add_contact("bob", &format!("Kunde{i}"), "Muster").await;
    }
    run_ok(&env).await;
    assert_eq!(env.subjects("bob", "contacts").len(), 10);
    // Eight of ten deleted in the CRM: more than the guard's share.
    for i in 0..8 {
        env.delete_crm_contact("bob", &format!("Kunde{i}")).await;
    }
    let preview = env
        .connector
        .preview("Kontakte", "bob", PreviewDetail::Counts)
        .await
        .unwrap();
    assert_eq!(preview.exchange.deleted, 8);
    assert!(
        preview.guard.is_some(),
        "the preview names the guard: {preview:?}"
    );
    let run = env.connector.run(None, None).await.unwrap();
    let err = &run.items[0].status;
    assert!(
        matches!(
            err,
            ItemStatus::Failed {
                kind: conaktiv_exchange::scheduler::JobErrorKind::MassDelete,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(env.subjects("bob", "contacts").len(), 10, "nothing deleted");
    // Accepted for this rule: the deletes go through.
    let accepted = env
        .connector_for(&rule("conaktiv", "", ALL, ALL))
        .with_accepted_mass_delete("Kontakte");
    let run = accepted.run(None, None).await.unwrap();
    assert_eq!(run.failed(), 0, "{run:?}");
    assert_eq!(env.subjects("bob", "contacts").len(), 2);
}
