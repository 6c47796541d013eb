//! Crash safety end to end: a dropped connection after a CreateItem, a CRM store failing
//! mid-batch, lost state, throttling; nothing lost, nothing duplicated.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use conaktiv_e2e::{Env, contact_operation, org};
use conaktiv_exchange::host::{CrmStore, HostError, ListQuery, RecordMeta, Stored};
use conaktiv_exchange::scheduler::ItemStatus;
use conaktiv_exchange::service::{CrmStores, PreviewDetail};
use conaktiv_exchange::sqlite::SqliteCrm;
use conaktiv_model::ContactPerson;
use ews_mock::{Fault, FaultRule};

const RULE: &str = r#"
[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]
to_exchange = { transfer_new = true, transfer_changed = true, delete_missing = true }
to_conaktiv = { transfer_new = true, transfer_changed = true, delete_missing = true }
"#;

const EXCHANGE_ITEMS: &str = r#"items = [
  { folder = "contacts", subject = "Erika Muster", fields = { GivenName = "Erika", Surname = "Muster" } },
  { folder = "contacts", subject = "Max Beispiel", fields = { GivenName = "Max", Surname = "Beispiel" } },
  { folder = "contacts", subject = "Paula Probe", fields = { GivenName = "Paula", Surname = "Probe" } },
]"#;

const ALL: [&str; 6] = [
    "Clara Kunde",
    "Dora Kundin",
    "Emil Kunde",
    "Erika Muster",
    "Max Beispiel",
    "Paula Probe",
];

async fn env() -> Env {
    let env = Env::start(&org(&[("bob", EXCHANGE_ITEMS)]), &["bob"], RULE).await;
    for (given, surname) in [("Clara", "Kunde"), ("Dora", "Kundin"), ("Emil", "Kunde")] {
        env.add_contact("bob", given, surname).await;
    }
    env
}

async fn converged(env: &Env) {
    let run = env.connector.run(None, None).await.unwrap();
    assert_eq!(run.failed(), 0, "{run:?}");
    assert!(
        run.items[0].status.report().unwrap().is_complete(),
        "{run:?}"
    );
    assert_eq!(
        env.subjects("bob", "contacts"),
        ALL,
        "no duplicates in Exchange"
    );
    assert_eq!(env.contacts("bob").await, ALL, "no duplicates in the CRM");
    let again = env.connector.run(None, None).await.unwrap();
    assert_eq!(again.total_writes(), 0, "{again:?}");
}

#[tokio::test]
async fn a_connection_dropped_after_create_item_is_rerun_without_duplicates() {
    let env = env().await;
    env.mock.add_fault(
        FaultRule::always(Fault::DropAfterProcessing)
            .for_operation(&contact_operation("CreateItem"))
            .times(1),
    );
    let first = env.connector.run(None, None).await.unwrap();
    let incomplete = match &first.items[0].status {
        ItemStatus::Succeeded { report } => !report.is_complete(),
        ItemStatus::Failed { permanent, .. } => !permanent,
        _ => false,
    };
    assert!(incomplete, "the dropped answer is reported: {first:?}");
    converged(&env).await;
}

/// A CRM store whose creates fail after `allowed` successful ones.
struct Failing {
    inner: SqliteCrm,
    allowed: AtomicUsize,
}

#[async_trait]
impl CrmStore<ContactPerson> for Failing {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        CrmStore::<ContactPerson>::list(&self.inner, query).await
    }
    async fn get(&self, id: &str) -> Result<Option<Stored<ContactPerson>>, HostError> {
        self.inner.get(id).await
    }
    async fn create(
        &self,
        owner: Option<&str>,
        record: &ContactPerson,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        if self
            .allowed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
        {
            return Err(HostError::Storage {
                message: "disk gone".into(),
                transient: true,
            });
        }
        self.inner.create(owner, record, key).await
    }
    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &ContactPerson,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.inner.update(id, expected, record, key).await
    }
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        CrmStore::<ContactPerson>::delete(&self.inner, id, expected).await
    }
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        CrmStore::<ContactPerson>::set_key(&self.inner, id, expected, key).await
    }
}

#[tokio::test]
async fn a_crm_store_failing_mid_batch_is_rerun_without_duplicates() {
    let mut env = env().await;
    let mut stores = CrmStores::all(env.crm());
    stores.contacts = Arc::new(Failing {
        inner: env.crm(),
        allowed: AtomicUsize::new(1),
    });
    env.set_stores(RULE, stores);
    let first = env.connector.run(None, None).await.unwrap();
    let report = first.items[0].status.report().unwrap();
    assert!(!report.is_complete());
    assert_eq!(report.item_errors.len(), 2, "{report:?}");
    assert_eq!(env.contacts("bob").await.len(), 4);
    env.set_rules(RULE);
    converged(&env).await;
}

#[tokio::test]
async fn lost_state_is_re_paired_by_the_correlation_key() {
    let env = env().await;
    converged(&env).await;
    std::fs::remove_dir_all(env.dir.path().join("state")).unwrap();
    let preview = env
        .connector
        .preview("Kontakte", "bob", PreviewDetail::WithActions)
        .await
        .unwrap();
    assert_eq!((preview.exchange.new, preview.conaktiv.new), (0, 0));
    assert!(
        preview.actions.iter().all(|a| a.action == "link"),
        "{preview:?}"
    );
    // Re-pairing counts as linked, once per pair, and changes nothing.
    assert_eq!(
        (preview.exchange.changed, preview.conaktiv.changed),
        (0, 0),
        "{preview:?}"
    );
    assert!(!preview.actions.is_empty(), "{preview:?}");
    assert_eq!(
        preview.exchange.linked + preview.conaktiv.linked,
        preview.actions.len(),
        "{preview:?}"
    );
    converged(&env).await;
}

#[tokio::test]
async fn throttling_faults_lose_nothing() {
    let env = env().await;
    env.mock.add_fault(
        FaultRule::always(Fault::ServerBusy {
            back_off_ms: 20,
            as_soap_fault: false,
        })
        .for_operation(&contact_operation("CreateItem"))
        .times(2),
    );
    env.mock.add_fault(
        FaultRule::always(Fault::ServerBusy {
            back_off_ms: 20,
            as_soap_fault: true,
        })
        .for_operation(&contact_operation("GetItem"))
        .times(1),
    );
    env.mock.add_fault(
        FaultRule::always(Fault::Http503 {
            retry_after_secs: 1,
        })
        .for_operation(&contact_operation("SyncFolderItems"))
        .times(1),
    );
    converged(&env).await;
    assert!(
        env.mock.faults().iter().all(|f| f.fired > 0),
        "{:?}",
        env.mock.faults()
    );
}

/// Graph drops a delta token (HTTP 410): the connector lists in full and reconciles, never
/// deleting and re-creating. (Graph only: the EWS side's rejected sync state is tested in
/// conaktiv-exchange's exchange_side tests.)
#[tokio::test]
async fn an_expired_delta_token_falls_back_to_a_full_listing_that_reconciles() {
    if conaktiv_e2e::Backend::current() != conaktiv_e2e::Backend::Graph {
        return;
    }
    let env = env().await;
    let first = env.connector.run(None, None).await.unwrap();
    assert_eq!(first.failed(), 0, "{first:?}");
    env.edit_exchange_contact("bob", "Erika", "company", "Muster AG")
        .await;
    env.add_contact("bob", "Fritz", "Neu").await;
    env.mock.expire_graph_delta_tokens();
    env.mock.clear_log();
    let run = env.connector.run(None, None).await.unwrap();
    assert_eq!(run.failed(), 0, "{run:?}");
    let report = run.items[0].status.report().unwrap();
    assert_eq!(report.to_exchange.new, 1, "{report:?}");
    assert_eq!(report.to_conaktiv.changed, 1, "{report:?}");
    assert_eq!(
        report.to_exchange.deleted + report.to_conaktiv.deleted,
        0,
        "{report:?}"
    );
    let counts = env.mock.request_counts();
    assert!(
        counts.contains_key("Graph GET contacts"),
        "a full listing: {counts:?}"
    );
    let mut all: Vec<String> = ALL.iter().map(|s| (*s).to_owned()).collect();
    all.push("Fritz Neu".into());
    all.sort();
    assert_eq!(
        env.subjects("bob", "contacts"),
        all,
        "no duplicates in Exchange"
    );
    assert_eq!(env.contacts("bob").await, all, "no duplicates in the CRM");
    assert_eq!(
        env.crm_contact_record("bob", "Erika").await.company,
        "Muster AG"
    );
    let again = env.connector.run(None, None).await.unwrap();
    assert_eq!(again.total_writes(), 0, "{again:?}");
}
