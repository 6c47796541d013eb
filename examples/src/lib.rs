//! Runnable examples for the ConAktiv Exchange connector; see the `examples/` folder of this
//! crate (`cargo run -p conaktiv-examples --example NAME`). Each example's logic is a function
//! here, called by the example binary (which prints the result) and by `tests/examples.rs`.
//! Every example runs against an in-process ews-mock, so it works offline.
//!
//! * [`embed_host`]: a host embedding the library with its own (tiny, in-memory) CRM store and
//!   user directory, running the sync for everyone.
//! * [`preview`]: the preview screen's counts and actions for a rule and a user, recomputed for
//!   an edited rule.
//! * [`send_mail`]: sending a mail through Exchange with mail-transport's Exchange backend
//!   (CreateItem `SendAndSaveCopy`, impersonating the sender).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use conaktiv_exchange::host::{
    CrmRecord, CrmStore, DirectoryUser, HostError, ListQuery, RecordMeta, Stored, UserDirectory,
};
use conaktiv_exchange::scheduler::SyncReport;
use conaktiv_exchange::service::{Connector, CrmStores, Preview, PreviewDetail, client_for_server};
use conaktiv_model::{Configuration, ContactPerson};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};

/// The example organisation: a service account with ApplicationImpersonation and two users
/// with a contact each.
pub const ORG: &str = r#"
[[users]]
address = "svc@contoso.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "anna@contoso.test"
password = "anna-pw"

[[users]]
address = "ben@contoso.test"
password = "ben-pw"

[[mailboxes]]
owner = "anna@contoso.test"
items = [{ folder = "contacts", subject = "Erika Muster", fields = { GivenName = "Erika", Surname = "Muster" } }]

[[mailboxes]]
owner = "ben@contoso.test"
items = [{ folder = "contacts", subject = "Max Beispiel", fields = { GivenName = "Max", Surname = "Beispiel" } }]
"#;

/// The example configuration: the mock server (port filled in) and one contacts rule.
pub fn configuration(mock: &MockHandle) -> anyhow::Result<Configuration> {
    let text = format!(
        r#"
[[servers]]
name = "Exchange"
url = "{url}"
kind = "on_premises"
admin_user = "svc@contoso.test"
admin_password = "svc-pw"
auth_scheme = "basic"

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true, delete_missing = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}
"#,
        url = mock.url()
    );
    Ok(Configuration::from_toml_str(&text, "example.toml")?)
}

/// Starts the mock with [`ORG`].
pub async fn start_mock() -> anyhow::Result<MockHandle> {
    Ok(MockServer::start(MockConfig::new(OrgData::from_toml(ORG)?)).await?)
}

/// Records by id, with their metadata.
type Rows<R> = BTreeMap<String, (RecordMeta, R)>;

/// A host's CRM table kept in memory: what a host implements to embed the connector.
pub struct MemoryCrm<R> {
    rows: Mutex<Rows<R>>,
    next: AtomicU64,
}

impl<R> Default for MemoryCrm<R> {
    fn default() -> Self {
        Self {
            rows: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
        }
    }
}

impl<R: CrmRecord> MemoryCrm<R> {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Rows<R>>, HostError> {
        self.rows.lock().map_err(|_| HostError::Storage {
            message: "poisoned lock".into(),
            transient: false,
        })
    }

    fn version(&self) -> String {
        format!("v{}", self.next.fetch_add(1, Ordering::SeqCst))
    }

    fn checked<'a>(
        rows: &'a mut Rows<R>,
        id: &str,
        expected: &str,
    ) -> Result<&'a mut (RecordMeta, R), HostError> {
        let row = rows.get_mut(id).ok_or_else(|| HostError::NotFound {
            table: R::TABLE_NAME,
            id: id.to_owned(),
        })?;
        if row.0.version != expected {
            return Err(HostError::Conflict {
                table: R::TABLE_NAME,
                id: id.to_owned(),
                expected: expected.to_owned(),
                actual: row.0.version.clone(),
            });
        }
        Ok(row)
    }

    /// Every record, for display.
    pub fn records(&self) -> Vec<R> {
        self.rows
            .lock()
            .map(|rows| rows.values().map(|(_, r)| r.clone()).collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl<R: CrmRecord> CrmStore<R> for MemoryCrm<R> {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        Ok(self
            .lock()?
            .values()
            .filter(|(m, r)| {
                query
                    .owner
                    .as_ref()
                    .is_none_or(|o| m.owner.as_ref() == Some(o))
                    && serde_json::to_value(r).is_ok_and(|v| query.filter.matches(&v))
            })
            .map(|(m, _)| m.clone())
            .collect())
    }

    async fn get(&self, id: &str) -> Result<Option<Stored<R>>, HostError> {
        Ok(self.lock()?.get(id).map(|(meta, record)| Stored {
            meta: meta.clone(),
            record: record.clone(),
        }))
    }

    async fn create(
        &self,
        owner: Option<&str>,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        let id = format!(
            "{}-{}",
            R::TABLE_NAME,
            self.next.fetch_add(1, Ordering::SeqCst)
        );
        let meta = RecordMeta {
            id: id.clone(),
            version: self.version(),
            key: key.map(str::to_owned),
            modified: Utc::now(),
            owner: owner.map(str::to_owned),
        };
        self.lock()?.insert(id, (meta.clone(), record.clone()));
        Ok(meta)
    }

    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        let version = self.version();
        let mut rows = self.lock()?;
        let row = Self::checked(&mut rows, id, expected)?;
        let same = serde_json::to_value(&row.1).ok() == serde_json::to_value(record).ok()
            && key.is_none_or(|k| row.0.key.as_deref() == Some(k));
        if !same {
            row.1 = record.clone();
            if let Some(k) = key {
                row.0.key = Some(k.to_owned());
            }
            row.0.version = version;
            row.0.modified = Utc::now();
        }
        Ok(row.0.clone())
    }

    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        let mut rows = self.lock()?;
        Self::checked(&mut rows, id, expected)?;
        rows.remove(id);
        Ok(())
    }

    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        let version = self.version();
        let mut rows = self.lock()?;
        let row = Self::checked(&mut rows, id, expected)?;
        if row.0.key.as_deref() != Some(key) {
            row.0.key = Some(key.to_owned());
            row.0.version = version;
        }
        Ok(row.0.clone())
    }
}

/// A host's user directory: a fixed list.
pub struct StaticDirectory(pub Vec<DirectoryUser>);

#[async_trait]
impl UserDirectory for StaticDirectory {
    async fn users(&self) -> Result<Vec<DirectoryUser>, HostError> {
        Ok(self.0.clone())
    }
}

fn users() -> StaticDirectory {
    StaticDirectory(
        ["anna", "ben"]
            .iter()
            .map(|n| DirectoryUser {
                name: (*n).to_owned(),
                display_name: (*n).to_owned(),
                mailbox: Some(format!("{n}@contoso.test")),
                active: true,
                ..DirectoryUser::default()
            })
            .collect(),
    )
}

/// What [`embed_host`] did.
#[derive(Debug)]
pub struct EmbedResult {
    /// The first run.
    pub first: SyncReport,
    /// The second run (writes nothing).
    pub second: SyncReport,
    /// The host's contacts after the run, as display names, sorted.
    pub crm_contacts: Vec<String>,
    /// The contacts in Anna's mailbox, sorted.
    pub anna_exchange: Vec<String>,
}

/// Embeds the connector in a host with its own in-memory CRM: one CRM contact for Anna, one
/// Exchange contact for each user; after the run both sides have everything.
pub async fn embed_host() -> anyhow::Result<EmbedResult> {
    let mock = start_mock().await?;
    let config = configuration(&mock)?;
    let contacts = Arc::new(MemoryCrm::<ContactPerson>::default());
    let mut clara = ContactPerson::default();
    clara.name.given_name = "Clara".into();
    clara.name.surname = "Kunde".into();
    contacts.create(Some("anna"), &clara, None).await?;
    let stores = CrmStores {
        contacts: contacts.clone(),
        appointments: Arc::new(MemoryCrm::default()),
        tasks: Arc::new(MemoryCrm::default()),
        mails: Arc::new(MemoryCrm::default()),
    };
    let client = client_for_server(&config.servers[0])?;
    let state = tempfile::tempdir()?;
    let connector = Connector::new(config, client, stores, Arc::new(users()), state.path());
    let first = connector.run(None, None).await?;
    let second = connector.run(None, None).await?;
    let mut crm_contacts: Vec<String> = contacts
        .records()
        .iter()
        .map(ContactPerson::effective_display_name)
        .collect();
    crm_contacts.sort();
    let mut anna_exchange: Vec<String> = mock
        .mailbox("anna@contoso.test")
        .map(|m| m.items_in("contacts").filter_map(display_name).collect())
        .unwrap_or_default();
    anna_exchange.sort();
    mock.shutdown().await?;
    Ok(EmbedResult {
        first,
        second,
        crm_contacts,
        anna_exchange,
    })
}

/// A contact's name in the mock: its subject, else its `DisplayName` element.
fn display_name(item: &ews_mock::ItemSnapshot) -> Option<String> {
    item.subject.clone().filter(|s| !s.is_empty()).or_else(|| {
        let start = item.xml.find(":DisplayName>")? + ":DisplayName>".len();
        let end = item.xml.get(start..)?.find('<')? + start;
        item.xml.get(start..end).map(str::to_owned)
    })
}

/// The previews of [`preview`]: the configured rule, then the rule with "transfer new
/// records to Exchange" switched off.
#[derive(Debug)]
pub struct PreviewResult {
    /// The configured rule.
    pub configured: Preview,
    /// The edited rule.
    pub edited: Preview,
}

/// Shows the preview for rule "Kontakte" and user Anna, then recomputes it for an edited rule
/// (nothing is written either time).
pub async fn preview() -> anyhow::Result<PreviewResult> {
    let mock = start_mock().await?;
    let config = configuration(&mock)?;
    let contacts = Arc::new(MemoryCrm::<ContactPerson>::default());
    for (given, surname) in [("Clara", "Kunde"), ("Dora", "Kundin")] {
        let mut c = ContactPerson::default();
        c.name.given_name = given.into();
        c.name.surname = surname.into();
        contacts.create(Some("anna"), &c, None).await?;
    }
    let stores = CrmStores {
        contacts,
        appointments: Arc::new(MemoryCrm::default()),
        tasks: Arc::new(MemoryCrm::default()),
        mails: Arc::new(MemoryCrm::default()),
    };
    let mut rule = config.rules[0].clone();
    let client = client_for_server(&config.servers[0])?;
    let state = tempfile::tempdir()?;
    let directory = users();
    let anna = directory.0[0].clone();
    let connector = Connector::new(config, client, stores, Arc::new(directory), state.path());
    let configured = connector
        .preview("Kontakte", "anna", PreviewDetail::WithActions)
        .await?;
    rule.to_exchange.transfer_new = false;
    let edited = connector
        .preview_rule(&rule, &anna, PreviewDetail::WithActions)
        .await?;
    mock.shutdown().await?;
    Ok(PreviewResult { configured, edited })
}

/// What [`send_mail`] did.
#[derive(Debug)]
pub struct SendResult {
    /// The Message-ID sent.
    pub message_id: String,
    /// The recipients the mock Exchange delivered to.
    pub recipients: Vec<String>,
    /// Subjects in the sender's Sent Items.
    pub sent_items: Vec<String>,
}

/// Sends a mail from Anna's mailbox through Exchange (the service account impersonates her).
pub async fn send_mail() -> anyhow::Result<SendResult> {
    use mail_transport::{MailSender, Mailbox, OutgoingMail};
    let mock = start_mock().await?;
    let config = configuration(&mock)?;
    let client = client_for_server(&config.servers[0])?;
    let sender = mail_transport::ExchangeSender::new(
        client,
        "anna@contoso.test",
        mail_transport::MailboxAccess::Impersonate,
        mail_transport::SentItems::Keep,
    );
    let mail = OutgoingMail {
        from: Mailbox {
            name: Some("Anna".into()),
            address: "anna@contoso.test".into(),
        },
        to: vec![Mailbox {
            name: None,
            address: "kunde@example.org".into(),
        }],
        subject: "Ihr Angebot".into(),
        text: Some("Guten Tag,\nanbei unser Angebot.".into()),
        ..OutgoingMail::default()
    };
    let receipt = sender.send(&mail).await?;
    let outbox = mock.outbox();
    let recipients = outbox.iter().flat_map(|m| m.recipients.clone()).collect();
    let sent_items = mock
        .mailbox("anna@contoso.test")
        .map(|m| {
            m.items_in("sentitems")
                .filter_map(|i| i.subject.clone())
                .collect()
        })
        .unwrap_or_default();
    mock.shutdown().await?;
    Ok(SendResult {
        message_id: receipt.message_id,
        recipients,
        sent_items,
    })
}
