//! End-to-end tests of the connector live in `tests/tests/`; this library holds their shared
//! fixtures: an in-process ews-mock with a service account holding ApplicationImpersonation,
//! an SQLite CRM and user directory in a temporary folder, and a [`Connector`] over them.

use std::fmt::Write as _;
use std::sync::Arc;

use conaktiv_exchange::exchange::{ExchangeSide, ExchangeSideConfig, ExchangeTable};
use conaktiv_exchange::host::{CrmStore, DirectoryUser, ListQuery};
use conaktiv_exchange::mapping::contact;
use conaktiv_exchange::service::{Connector, CrmStores};
use conaktiv_exchange::sqlite::{SqliteCrm, SqliteDb};
use conaktiv_model::config::SyncFolder;
use conaktiv_model::values::FolderPath;
use conaktiv_model::{Configuration, ContactPerson};
use ews_client::ops::{DisposalType, UpdateItem};
use ews_client::transport::{Auth, TransportConfig};
use ews_client::types::ItemId;
use ews_client::{Client, ClientConfig};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use sync_core::{Record, Side};

/// The service account's address.
pub const SVC: &str = "svc@contoso.test";
/// Its password.
pub const SVC_PASSWORD: &str = "svc-pw";

/// The organisation: the service account plus one user per `(name, extra mailbox TOML)`.
/// The extra TOML is the body of the user's `[[mailboxes]]` entry after `owner` (folders and
/// items), e.g. `items = [{ folder = "contacts", subject = "A" }]`.
pub fn org(users: &[(&str, &str)]) -> String {
    let mut s = format!(
        "[settings]\ndomain = \"contoso.test\"\n\n[[apps]]\nclient_id = \"{APP_ID}\"\nclient_secret = \"{APP_SECRET}\"\ntenant = \"contoso\"\n\n[[users]]\naddress = \"{SVC}\"\npassword = \"{SVC_PASSWORD}\"\nroles = [\"ApplicationImpersonation\"]\n"
    );
    for (name, mailbox) in users {
        let _ = write!(
            s,
            "\n[[users]]\naddress = \"{name}@contoso.test\"\npassword = \"pw\"\n\n[[mailboxes]]\nowner = \"{name}@contoso.test\"\n{mailbox}\n"
        );
    }
    s
}

/// The OAuth app of the organisation (Exchange Online over Microsoft Graph).
pub const APP_ID: &str = "conaktiv-e2e-app";
/// Its client secret.
pub const APP_SECRET: &str = "e2e-app-secret";

/// The backend the connector speaks with the mock in this run of the suite: the environment
/// variable `CONAKTIV_E2E_BACKEND` (`ews`, the default, or `graph`). The test command runs
/// the suite once per backend with the same assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An on-premises server record (Basic auth, EWS with impersonation).
    Ews,
    /// An Exchange Online server record (OAuth app, Microsoft Graph).
    Graph,
}

impl Backend {
    /// The backend of this run.
    pub fn current() -> Backend {
        match std::env::var("CONAKTIV_E2E_BACKEND").as_deref() {
            Ok("graph") => Backend::Graph,
            _ => Backend::Ews,
        }
    }
}

/// The mock's operation name (for fault rules and request counts) of what the connector does
/// with contacts, in the backend of this run: an EWS operation name (`CreateItem`,
/// `GetItem`, `SyncFolderItems`, ...) or its Graph counterpart (`Graph POST contacts`, ...).
pub fn contact_operation(ews: &str) -> String {
    match Backend::current() {
        Backend::Ews => ews.to_owned(),
        Backend::Graph => match ews {
            // contacts are created in $batches of 20
            "CreateItem" => "Graph POST $batch",
            "UpdateItem" => "Graph PATCH contacts",
            "DeleteItem" => "Graph DELETE contacts",
            "GetItem" | "FindItem" => "Graph GET contacts",
            "SyncFolderItems" => "Graph GET contacts/delta",
            other => other,
        }
        .to_owned(),
    }
}

/// The configuration: one server record for the mock (on premises with Basic auth over EWS,
/// or Exchange Online over Graph, as [`Backend::current`] says) and `rules` (TOML `[[rules]]`
/// entries).
pub fn config(ews_url: &str, rules: &str) -> Configuration {
    let base = ews_url.trim_end_matches("/EWS/Exchange.asmx");
    let server = match Backend::current() {
        Backend::Ews => format!(
            "[[servers]]\nname = \"Mock\"\nurl = \"{ews_url}\"\nkind = \"on_premises\"\nadmin_user = \"{SVC}\"\nadmin_password = \"{SVC_PASSWORD}\"\nauth_scheme = \"basic\"\n"
        ),
        Backend::Graph => format!(
            "[[servers]]\nname = \"Mock\"\nurl = \"{ews_url}\"\nkind = \"exchange_online\"\nadmin_mailbox = \"{SVC}\"\ngraph_url = \"{base}/v1.0\"\noauth = {{ tenant_id = \"contoso\", client_id = \"{APP_ID}\", client_secret = \"{APP_SECRET}\", token_url = \"{base}/oauth2/v2.0/token\" }}\n"
        ),
    };
    let text = format!("{server}\n{rules}");
    match Configuration::from_toml_str(&text, "e2e.toml") {
        Ok(c) => c,
        Err(e) => panic!("test configuration: {e}\n{text}"),
    }
}

/// The text of the first `<t:NAME>` element in an item's XML.
pub fn xml_field(xml: &str, name: &str) -> Option<String> {
    let open = format!(":{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml.get(start..)?.find('<')? + start;
    xml.get(start..end).map(str::to_owned)
}

/// A running environment.
pub struct Env {
    /// The mock Exchange.
    pub mock: MockHandle,
    /// The CRM database.
    pub db: SqliteDb,
    /// The connector.
    pub connector: Connector,
    /// The temporary folder (CRM and state).
    pub dir: tempfile::TempDir,
}

/// A user's mailbox address.
pub fn mailbox(user: &str) -> String {
    format!("{user}@contoso.test")
}

impl Env {
    /// Starts the mock with `org`, an empty CRM with `users` in its directory, and a
    /// connector with `rules`.
    pub async fn start(org_toml: &str, users: &[&str], rules: &str) -> Env {
        let data = OrgData::from_toml(org_toml).expect("org data");
        let mock = MockServer::start(MockConfig::new(data))
            .await
            .expect("mock start");
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteDb::open(dir.path().join("crm.sqlite")).expect("crm db");
        for u in users {
            db.directory()
                .put_user(&DirectoryUser {
                    name: (*u).to_owned(),
                    display_name: (*u).to_owned(),
                    mailbox: Some(mailbox(u)),
                    active: true,
                    ..DirectoryUser::default()
                })
                .await
                .expect("put user");
        }
        let connector = Self::make_connector(&mock, &db, &dir, rules);
        Env {
            mock,
            db,
            connector,
            dir,
        }
    }

    fn make_connector(
        mock: &MockHandle,
        db: &SqliteDb,
        dir: &tempfile::TempDir,
        rules: &str,
    ) -> Connector {
        Connector::from_config(
            config(&mock.url(), rules),
            None,
            CrmStores::all(db.crm()),
            Arc::new(db.directory()),
            dir.path().join("state"),
        )
        .expect("connector")
    }

    /// Replaces the connector's CRM stores (e.g. with a failing wrapper), keeping the rules.
    pub fn set_stores(&mut self, rules: &str, stores: CrmStores) {
        self.connector = Connector::from_config(
            config(&self.mock.url(), rules),
            None,
            stores,
            Arc::new(self.db.directory()),
            self.dir.path().join("state"),
        )
        .expect("connector");
    }

    /// Another connector over the same mock, CRM and state, with `rules`.
    pub fn connector_for(&self, rules: &str) -> Connector {
        Self::make_connector(&self.mock, &self.db, &self.dir, rules)
    }

    /// Replaces the rules (same CRM, state and mock).
    pub fn set_rules(&mut self, rules: &str) {
        self.connector = Self::make_connector(&self.mock, &self.db, &self.dir, rules);
    }

    /// The CRM store.
    pub fn crm(&self) -> SqliteCrm {
        self.db.crm()
    }

    /// Subjects (contacts: display names) of the items in a mailbox folder, sorted.
    pub fn subjects(&self, user: &str, folder: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .mock
            .mailbox(&mailbox(user))
            .map(|m| {
                m.items_in(folder)
                    .map(|i| {
                        i.subject
                            .clone()
                            .filter(|s| !s.is_empty())
                            .or_else(|| xml_field(&i.xml, "DisplayName"))
                            .or_else(|| xml_field(&i.xml, "Surname"))
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Creates a CRM contact for `owner`; returns its id.
    pub async fn add_contact(&self, owner: &str, given: &str, surname: &str) -> String {
        let mut c = ContactPerson::default();
        c.name.given_name = given.into();
        c.name.surname = surname.into();
        CrmStore::<ContactPerson>::create(&self.crm(), Some(owner), &c, None)
            .await
            .expect("create contact")
            .id
    }

    /// The CRM contacts of `owner`, as "given surname", sorted.
    pub async fn contacts(&self, owner: &str) -> Vec<String> {
        let crm = self.crm();
        let metas = CrmStore::<ContactPerson>::list(&crm, &ListQuery::all().owned_by(owner))
            .await
            .expect("list");
        let ids: Vec<String> = metas.into_iter().map(|m| m.id).collect();
        let mut v: Vec<String> = CrmStore::<ContactPerson>::get_many(&crm, &ids)
            .await
            .expect("get")
            .into_iter()
            .map(|s| {
                format!("{} {}", s.record.name.given_name, s.record.name.surname)
                    .trim()
                    .to_owned()
            })
            .collect();
        v.sort();
        v
    }

    /// A client of the service account (Basic auth), not impersonating.
    pub fn client(&self) -> Client {
        let url = url_of(&self.mock.url());
        Client::new(ClientConfig::new(TransportConfig::new(
            url,
            Auth::basic(SVC, SVC_PASSWORD),
        )))
        .expect("client")
    }

    /// The contacts below `/Contacts` (with subfolders) in a user's mailbox: (id, record).
    pub async fn exchange_contacts(&self, user: &str) -> Vec<(String, Record)> {
        let folder = SyncFolder::new(
            FolderPath::new("/Contacts").expect("path"),
            conaktiv_model::Subfolders::Included,
        );
        let mut side = ExchangeSide::new(
            &self.client(),
            &mailbox(user),
            ExchangeSideConfig::new(ExchangeTable::Contacts, vec![folder]),
        )
        .expect("side");
        let listed = side.list().await.expect("list");
        let ids: Vec<String> = listed.entries.into_iter().map(|e| e.id).collect();
        side.fetch(&ids).await.expect("fetch")
    }

    async fn exchange_contact(&self, user: &str, given: &str) -> (String, Record) {
        self.exchange_contacts(user)
            .await
            .into_iter()
            .find(|(_, r)| r.get(contact::fields::GIVEN_NAME) == Some(&given.into()))
            .unwrap_or_else(|| panic!("no Exchange contact {given}"))
    }

    /// Sets a field of the Exchange contact with this given name.
    pub async fn edit_exchange_contact(&self, user: &str, given: &str, field: &str, value: &str) {
        let (id, old) = self.exchange_contact(user, given).await;
        let new = old.clone().with(field, value);
        let like = ews_client::types::Item::Contact(Default::default());
        self.client()
            .for_mailbox(mailbox(user))
            .execute(&UpdateItem::for_item(
                &like,
                ItemId::new(id),
                contact::record_to_update_changes(&old, &new),
            ))
            .await
            .expect("update")
            .into_single()
            .expect("update item");
    }

    /// Deletes the Exchange contact with this given name.
    pub async fn delete_exchange_contact(&self, user: &str, given: &str) {
        let (id, _) = self.exchange_contact(user, given).await;
        self.client()
            .for_mailbox(mailbox(user))
            .delete_items(DisposalType::MoveToDeletedItems, vec![ItemId::new(id)])
            .await
            .expect("delete");
    }

    async fn crm_contact(
        &self,
        owner: &str,
        given: &str,
    ) -> conaktiv_exchange::host::Stored<ContactPerson> {
        let crm = self.crm();
        let metas = CrmStore::<ContactPerson>::list(&crm, &ListQuery::all().owned_by(owner))
            .await
            .expect("list");
        let ids: Vec<String> = metas.into_iter().map(|m| m.id).collect();
        CrmStore::<ContactPerson>::get_many(&crm, &ids)
            .await
            .expect("get")
            .into_iter()
            .find(|s| s.record.name.given_name == given)
            .unwrap_or_else(|| panic!("no CRM contact {given}"))
    }

    /// Edits the CRM contact with this given name.
    pub async fn edit_crm_contact(
        &self,
        owner: &str,
        given: &str,
        edit: impl FnOnce(&mut ContactPerson),
    ) {
        let stored = self.crm_contact(owner, given).await;
        let mut record = stored.record.clone();
        edit(&mut record);
        CrmStore::<ContactPerson>::update(
            &self.crm(),
            &stored.meta.id,
            &stored.meta.version,
            &record,
            None,
        )
        .await
        .expect("update");
    }

    /// Deletes the CRM contact with this given name.
    pub async fn delete_crm_contact(&self, owner: &str, given: &str) {
        let stored = self.crm_contact(owner, given).await;
        CrmStore::<ContactPerson>::delete(&self.crm(), &stored.meta.id, &stored.meta.version)
            .await
            .expect("delete");
    }

    /// The CRM contact with this given name.
    pub async fn crm_contact_record(&self, owner: &str, given: &str) -> ContactPerson {
        self.crm_contact(owner, given).await.record
    }
}

fn url_of(text: &str) -> url::Url {
    url::Url::parse(text).expect("mock url")
}
