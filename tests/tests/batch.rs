//! The batch scheduler over the connector's job runner: 50 mailboxes, one broken (reported,
//! the others succeed).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use conaktiv_e2e::{Backend, Env, mailbox, org};
use conaktiv_exchange::clock::SystemClock;
use conaktiv_exchange::scheduler::{
    ItemStatus, Outcome, Scheduler, SchedulerOptions, SchedulerStore,
};
use tokio_util::sync::CancellationToken;

const RULE: &str = r#"
[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }
"#;

const ITEMS: &str = r#"items = [
  { folder = "contacts", subject = "Erika Muster", fields = { GivenName = "Erika", Surname = "Muster" } },
  { folder = "contacts", subject = "Max Beispiel", fields = { GivenName = "Max", Surname = "Beispiel" } },
]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mailboxes_with_one_broken() {
    let users: Vec<String> = (0..50).map(|i| format!("u{i:02}")).collect();
    let broken = "u13";
    let in_exchange: Vec<(&str, &str)> = users
        .iter()
        .filter(|u| *u != broken)
        .map(|u| (u.as_str(), ITEMS))
        .collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    let env = Env::start(&org(&in_exchange), &names, RULE).await;
    for u in &users {
        env.add_contact(u, "Clara", "Kunde").await;
    }
    let (jobs, problems) = env.connector.jobs(None, None).await.unwrap();
    assert!(problems.is_empty());
    assert_eq!(jobs.len(), 50);

    let scheduler = Scheduler::new(
        env.connector_for(RULE),
        SystemClock,
        SchedulerStore::in_memory().unwrap(),
        SchedulerOptions {
            concurrency: 4,
            ..SchedulerOptions::default()
        },
    );
    let report = scheduler.run_once(&jobs, &CancellationToken::new()).await;
    assert_eq!(report.items.len(), 50);
    assert_eq!(report.succeeded(), 49, "{report:#?}");
    assert_eq!(report.failed(), 1);
    assert_eq!(report.outcome(), Outcome::PartialFailure);
    let failed = report
        .items
        .iter()
        .find(|i| matches!(i.status, ItemStatus::Failed { .. }))
        .unwrap();
    assert_eq!(failed.mailbox, mailbox(broken));
    match &failed.status {
        ItemStatus::Failed {
            permanent, error, ..
        } => {
            assert!(*permanent, "a missing mailbox is permanent: {error}");
            assert!(error.contains("not found"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    for u in users.iter().filter(|u| *u != broken) {
        assert_eq!(
            env.subjects(u, "contacts"),
            ["Clara Kunde", "Erika Muster", "Max Beispiel"]
        );
        assert_eq!(env.contacts(u).await.len(), 3);
    }
}

#[tokio::test]
async fn bad_credentials_and_denied_impersonation_are_permanent_job_errors() {
    use conaktiv_exchange::scheduler::JobErrorKind;
    use conaktiv_exchange::service::{Connector, CrmStores};
    use ews_client::transport::{Auth, TransportConfig};
    use ews_client::{Client, ClientConfig};
    use std::sync::Arc;

    // The service account lacks ApplicationImpersonation (EWS), or the app's mailbox scope
    // does not include the mailbox (Graph: RBAC for Applications).
    let denied_org = match Backend::current() {
        Backend::Ews => {
            org(&[("bob", ITEMS)]).replace("roles = [\"ApplicationImpersonation\"]", "")
        }
        Backend::Graph => format!(
            "{}\n[graph]\n[[graph.apps]]\nclient_id = \"{}\"\nmailboxes = [\"someone-else@contoso.test\"]\n",
            org(&[("bob", ITEMS)]),
            conaktiv_e2e::APP_ID
        ),
    };
    let env = Env::start(&denied_org, &["bob"], RULE).await;
    let run = env.connector.run(None, None).await.unwrap();
    let err = &run.items[0].status;
    assert!(
        matches!(
            err,
            ItemStatus::Failed {
                kind: JobErrorKind::ImpersonationDenied,
                permanent: true,
                ..
            }
        ),
        "{err:?}"
    );

    // A wrong password (EWS) or client secret (Graph).
    let env = Env::start(&org(&[("bob", ITEMS)]), &["bob"], RULE).await;
    let connector = match Backend::current() {
        Backend::Ews => {
            let client = Client::new(ClientConfig::new(TransportConfig::new(
                url::Url::parse(&env.mock.url()).unwrap(),
                Auth::basic(conaktiv_e2e::SVC, "wrong"),
            )))
            .unwrap();
            Connector::new(
                conaktiv_e2e::config(&env.mock.url(), RULE),
                client,
                CrmStores::all(env.crm()),
                Arc::new(env.db.directory()),
                env.dir.path().join("state"),
            )
        }
        Backend::Graph => {
            let mut config = conaktiv_e2e::config(&env.mock.url(), RULE);
            if let Some(app) = config.servers[0].oauth.as_mut() {
                app.client_secret = conaktiv_model::secret::Secret::new("wrong-secret");
            }
            Connector::from_config(
                config,
                None,
                CrmStores::all(env.crm()),
                Arc::new(env.db.directory()),
                env.dir.path().join("state"),
            )
            .unwrap()
        }
    };
    let run = connector.run(None, None).await.unwrap();
    let err = &run.items[0].status;
    assert!(
        matches!(
            err,
            ItemStatus::Failed {
                kind: JobErrorKind::BadCredentials,
                permanent: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains("wrong-secret"), "{err:?}");
}

#[tokio::test]
async fn exchange_online_runs_through_the_oauth_app() {
    use conaktiv_exchange::service::{Connector, CrmStores};
    use conaktiv_model::Configuration;
    use std::sync::Arc;

    let org_toml = format!(
        "{}\n[[apps]]\nclient_id = \"app-1\"\nclient_secret = \"app-secret\"\ntenant = \"contoso\"\nroles = [\"full_access_as_app\"]\n",
        org(&[("bob", ITEMS)])
    );
    let env = Env::start(&org_toml, &["bob"], RULE).await;
    let text = format!(
        r#"
[[servers]]
name = "Online"
url = "{}"
kind = "exchange_online"
api = "ews"
admin_mailbox = "svc@contoso.test"

[servers.oauth]
tenant_id = "contoso"
client_id = "app-1"
client_secret = "app-secret"
token_url = "{}"
{RULE}"#,
        env.mock.url(),
        env.mock.token_url()
    );
    let config = Configuration::from_toml_str(&text, "online.toml").unwrap();
    let connector = Connector::from_config(
        config,
        Some("Online"),
        CrmStores::all(env.crm()),
        Arc::new(env.db.directory()),
        env.dir.path().join("state"),
    )
    .unwrap();
    let run = connector.run(None, None).await.unwrap();
    assert_eq!(run.failed(), 0, "{run:?}");
    assert_eq!(env.contacts("bob").await, ["Erika Muster", "Max Beispiel"]);
    assert!(
        env.mock.request_counts().contains_key("SyncFolderItems"),
        "{:?}",
        env.mock.request_counts()
    );
}
