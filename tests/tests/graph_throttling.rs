//! Graph's limits per app and mailbox (4 concurrent requests, a request budget per window)
//! enforced by the mock: a tenant of 50 mailboxes synced by the scheduler at a high
//! concurrency finishes with nothing refused for throttling (the connector paces itself
//! below the limits instead of running into them), every job done, nothing duplicated.
//! Graph-only: it configures its own Exchange Online server record whatever
//! `CONAKTIV_E2E_BACKEND` says.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::sync::Arc;

use conaktiv_e2e::{APP_ID, APP_SECRET, Env, mailbox, org};
use conaktiv_exchange::clock::SystemClock;
use conaktiv_exchange::scheduler::{Outcome, Scheduler, SchedulerOptions, SchedulerStore};
use conaktiv_exchange::service::{Connector, CrmStores};
use conaktiv_model::Configuration;
use tokio_util::sync::CancellationToken;

const RULES: &str = r#"
[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }

[[rules]]
description = "Aufgaben"
table = "tasks"
master = "conaktiv"
sync_folders = [{ path = "/Tasks" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }
"#;

const ITEMS: &str = r#"items = [
  { folder = "contacts", subject = "Erika Muster", fields = { GivenName = "Erika", Surname = "Muster" } },
  { folder = "tasks", subject = "Angebot nachfassen" },
]"#;

/// The mock's limits: Exchange Online's 4 concurrent requests per app and mailbox, and a
/// budget scaled down from 10,000 per 10 minutes so that the test reaches it.
const MOCK_LIMITS: &str = "\n[graph]\nmax_concurrency_per_mailbox = 4\nrequests_per_window = 25\nwindow_secs = 2\nretry_after_secs = 1\n";

fn graph_config(env: &Env) -> Configuration {
    let base = env.mock.base_url();
    // One request of headroom below the server's budget, as an operator would leave.
    let text = format!(
        "[[servers]]\nname = \"Online\"\nurl = \"{}\"\nkind = \"exchange_online\"\nadmin_mailbox = \"svc@contoso.test\"\ngraph_url = \"{base}/v1.0\"\ngraph_request_budget = {{ requests = 24, window_secs = 2 }}\noauth = {{ tenant_id = \"contoso\", client_id = \"{APP_ID}\", client_secret = \"{APP_SECRET}\", token_url = \"{base}/oauth2/v2.0/token\" }}\n{RULES}",
        env.mock.url()
    );
    Configuration::from_toml_str(&text, "graph.toml").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_mailboxes_within_graphs_limits_are_never_refused_for_throttling() {
    let users: Vec<String> = (0..50).map(|i| format!("t{i:02}")).collect();
    let seeded: Vec<(&str, &str)> = users.iter().map(|u| (u.as_str(), ITEMS)).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    let env = Env::start(&format!("{}{MOCK_LIMITS}", org(&seeded)), &names, RULES).await;
    for u in &users {
        for i in 0..8 {
            env.add_contact(u, &format!("Kunde{i}"), "Muster").await;
        }
    }
    let connector = Connector::from_config(
        graph_config(&env),
        None,
        CrmStores::all(env.crm()),
        Arc::new(env.db.directory()),
        env.dir.path().join("graph-state"),
    )
    .unwrap();
    let (jobs, problems) = connector.jobs(None, None).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(jobs.len(), 100);
    env.mock.clear_log();
    let scheduler = Scheduler::new(
        connector,
        SystemClock,
        SchedulerStore::in_memory().unwrap(),
        SchedulerOptions {
            concurrency: 27,
            ..SchedulerOptions::default()
        },
    );
    let report = scheduler.run_once(&jobs, &CancellationToken::new()).await;
    assert_eq!(report.outcome(), Outcome::Success, "{report:#?}");
    assert_eq!(report.succeeded(), 100);

    let log = env.mock.request_log();
    let graph: Vec<_> = log
        .iter()
        .filter(|e| {
            e.operation
                .as_deref()
                .is_some_and(|o| o.starts_with("Graph "))
        })
        .collect();
    let refused = graph.iter().filter(|e| e.status == 429).count();
    let mut per_mailbox: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in &graph {
        *per_mailbox
            .entry(e.mailbox.as_deref().unwrap_or(""))
            .or_default() += 1;
    }
    let mut refused_ops: std::collections::BTreeMap<String, usize> = Default::default();
    for e in graph.iter().filter(|e| e.status == 429) {
        *refused_ops
            .entry(e.operation.clone().unwrap_or_default())
            .or_default() += 1;
    }
    println!("refused: {refused_ops:?}");
    let busiest = per_mailbox.values().max().copied().unwrap_or(0);
    println!(
        "graph requests: {}, refused for throttling: {refused}, busiest mailbox: {busiest} requests",
        graph.len()
    );
    assert!(
        busiest > 25,
        "the budget was reached at least once: {busiest}"
    );
    assert!(refused <= 1, "{refused} requests refused for throttling");
    for u in &users {
        let mut contacts = env.contacts(u).await;
        contacts.dedup();
        assert_eq!(contacts.len(), 9, "{u}: {contacts:?}");
        assert_eq!(env.subjects(u, "contacts").len(), 9, "{u}");
        assert!(env.mock.mailbox(&mailbox(u)).is_some());
    }
}
