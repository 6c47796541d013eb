//! The preview of one rule over 50 mailboxes against ews-mock, as the rule screen refreshes
//! it while the rule is edited.
//!
//! `cargo bench -p conaktiv-exchange --bench preview_rule`. Seeds 50 users with 20 CRM
//! contacts each and times the preview of the new rule (no state, nothing in Exchange yet);
//! then synchronises once and times, on a fresh connector, a first preview of the rule over
//! all 50 mailboxes and a second one with nothing changed, printing wall time and requests
//! by operation. Targets: first preview under 5 s, second under 1 s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use conaktiv_exchange::host::{CrmStore, DirectoryUser};
use conaktiv_exchange::service::{Connector, CrmStores, PreviewDetail};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::{Configuration, ContactPerson};
use ews_mock::{MockConfig, MockServer, OrgData};

const USERS: usize = 50;
const CONTACTS: usize = 20;

fn org() -> String {
    let mut org = String::from(
        "[[users]]\naddress = \"svc@contoso.test\"\npassword = \"svc-pw\"\nroles = [\"ApplicationImpersonation\"]\n",
    );
    for u in 0..USERS {
        let _ = write!(
            org,
            "\n[[users]]\naddress = \"u{u:02}@contoso.test\"\npassword = \"pw\"\n"
        );
    }
    org
}

fn print_phase(name: &str, counts: &BTreeMap<String, u64>, secs: f64, target: f64) {
    let total: u64 = counts.values().sum();
    println!("\n== {name}");
    for (op, n) in counts {
        println!("   {op:<22} {n:>7}");
    }
    println!("   {:<22} {total:>7}", "total requests");
    println!(
        "   wall time              {secs:>9.3} s (target under {target} s: {})",
        if secs < target { "met" } else { "MISSED" }
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(&org()).unwrap()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path().join("crm.sqlite")).unwrap();
    let crm = db.crm();
    for u in 0..USERS {
        let name = format!("u{u:02}");
        db.directory()
            .put_user(&DirectoryUser {
                name: name.clone(),
                display_name: name.to_uppercase(),
                mailbox: Some(format!("{name}@contoso.test")),
                active: true,
                ..DirectoryUser::default()
            })
            .await
            .unwrap();
        for i in 0..CONTACTS {
            let mut c = ContactPerson::default();
            c.name.given_name = format!("Vorname{i}");
            c.name.surname = format!("Nachname{u}-{i}");
            c.company = format!("Firma {} GmbH", i % 7);
            CrmStore::<ContactPerson>::create(&crm, Some(&name), &c, None)
                .await
                .unwrap();
        }
    }
    let config = Configuration::from_toml_str(
        &format!(
            r#"
[[servers]]
name = "Mock"
url = "{}"
kind = "on_premises"
admin_user = "svc@contoso.test"
admin_password = "svc-pw"
auth_scheme = "basic"

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}
"#,
            mock.url()
        ),
        "bench.toml",
    )
    .unwrap();
    let connector = |config: Configuration| {
        Connector::from_config(
            config,
            None,
            CrmStores::all(db.crm()),
            Arc::new(db.directory()),
            dir.path().join("state"),
        )
        .unwrap()
    };
    // A new rule: no state yet, the Exchange folders empty; every contact is to be created.
    mock.clear_log();
    let start = Instant::now();
    let previews = connector(config.clone())
        .preview_all(Some("Kontakte"), None, PreviewDetail::Counts)
        .await
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(previews.iter().all(|(_, p)| p.is_ok()));
    print_phase(
        "preview of a new rule over 50 mailboxes (no state)",
        &mock.request_counts(),
        secs,
        5.0,
    );

    let start = Instant::now();
    let summary = connector(config.clone()).run(None, None).await.unwrap();
    assert_eq!(summary.failed(), 0, "{summary:?}");
    println!(
        "seeded and synchronised {USERS} mailboxes x {CONTACTS} contacts in {:.2} s",
        start.elapsed().as_secs_f64()
    );

    // The rule screen: one connector, previews of the rule while it is edited.
    let screen = connector(config);
    for (phase, target) in [
        ("first preview of the rule over 50 mailboxes", 5.0),
        ("second preview, nothing changed", 1.0),
    ] {
        mock.clear_log();
        let start = Instant::now();
        let previews = screen
            .preview_all(Some("Kontakte"), None, PreviewDetail::Counts)
            .await
            .unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(previews.len(), USERS);
        let mut writes = 0;
        for (job, p) in &previews {
            let p = p
                .as_ref()
                .unwrap_or_else(|e| panic!("{}: {e}", job.mailbox));
            writes += p.counts.local.total() + p.counts.remote.total();
        }
        print_phase(phase, &mock.request_counts(), secs, target);
        println!("   planned writes         {writes:>7}");
    }
}
