//! The Graph v1.0 front driven over HTTP by graph-client's `Client`: tokens (client secret,
//! certificate assertion, audiences), app roles and mailbox scopes (403), contacts with etags,
//! 412, `$expand`/`$filter` of extended properties, delta with `@removed`, paging and expiry,
//! translateExchangeIds, the 4-concurrent limit and seeded faults; and the same items seen
//! through the EWS front (cross-front).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Ews;
use ews_client::ops::{
    CreateItem, DeleteItem, DisposalType, GetItem, SyncFolderItems, SyncItemChange, UpdateItem,
    field_change,
};
use ews_client::transport::{RetryPolicy, SecretString};
use ews_client::types::paths::{ExtendedFieldUri, ExtendedProperty, MapiPropertyType};
use ews_client::types::shape::ItemShape;
use ews_client::types::{BaseFolderId, DistinguishedFolderName as D, Item, ItemId, PropertyPath};
use ews_mock::{Fault, FaultRule, MockHandle};
use graph_client::auth::{self, CertificateCredential};
use graph_client::contacts::Contact;
use graph_client::extended::{self, PUBLIC_STRINGS, PropertyId};
use graph_client::translate::ExchangeIdFormat;
use graph_client::types::EmailAddress;
use graph_client::{Change, Client, ClientConfig, DeltaStart, ListOptions};

const CERT: &str = include_str!("data/test-app-cert.pem");
const KEY: &str = include_str!("data/test-app-key.pem");

fn org() -> String {
    // a second, unrelated certificate: assertions signed with the test key do not match it
    let other = rcgen::generate_simple_self_signed(vec!["other.test".to_string()])
        .unwrap()
        .cert
        .pem();
    format!(
        r#"{base}
[[apps]]
client_id = "cert-app"
client_secret = "unused-secret"
tenant = "contoso"

[[apps]]
client_id = "wrong-cert-app"
client_secret = "unused-secret-2"

[[apps]]
client_id = "alice-only"
client_secret = "alice-only-secret"

[[apps]]
client_id = "reader"
client_secret = "reader-secret"

[graph]
retry_after_secs = 1

[[graph.apps]]
client_id = "cert-app"
certificate = """
{CERT}"""

[[graph.apps]]
client_id = "wrong-cert-app"
certificate = """
{other}"""

[[graph.apps]]
client_id = "alice-only"
mailboxes = ["alice@contoso.test"]

[[graph.apps]]
client_id = "reader"
roles = ["Contacts.Read", "User.Read.All"]
"#,
        base = common::ORG
    )
}

async fn start() -> MockHandle {
    common::start_with(&org()).await
}

fn config(
    mock: &MockHandle,
    tokens: Arc<dyn ews_client::transport::TokenProvider>,
) -> ClientConfig {
    ClientConfig::new(tokens)
        .with_base_url(url::Url::parse(&format!("{}/v1.0/", mock.base_url())).unwrap())
        .with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_attempts(5)
                .with_max_retry_after(Duration::from_secs(3)),
        )
        .with_retry_after_floor(Duration::from_millis(10))
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(30))
}

fn secret_tokens(
    mock: &MockHandle,
    client_id: &str,
    secret: &str,
) -> Arc<dyn ews_client::transport::TokenProvider> {
    let mut creds =
        auth::credentials("contoso", client_id).with_token_url(mock.token_url().parse().unwrap());
    creds.client_secret = SecretString::from(secret.to_owned());
    auth::with_secret(creds).unwrap()
}

fn graph(mock: &MockHandle, client_id: &str, secret: &str) -> Client {
    Client::new(config(mock, secret_tokens(mock, client_id, secret))).unwrap()
}

fn sync_app(mock: &MockHandle) -> Client {
    graph(mock, "sync-app", "app-secret")
}

fn record_id() -> PropertyId {
    PropertyId::public_string("ConAktivRecordId")
}

fn new_contact(given: &str, surname: &str, record: &str) -> Contact {
    Contact {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        display_name: Some(format!("{given} {surname}")),
        email_addresses: Some(vec![EmailAddress {
            name: None,
            address: Some(format!("{}@example.org", given.to_lowercase())),
        }]),
        business_phones: Some(vec!["+49 30 1234".into()]),
        single_value_extended_properties: Some(vec![record_id().value(record)]),
        ..Contact::default()
    }
}

#[tokio::test]
async fn tokens_by_secret_and_certificate_for_the_graph_audience_only() {
    let mock = start().await;
    // client secret
    let user = sync_app(&mock)
        .resolve_user("bob@contoso.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.mail.as_deref(), Some("bob@contoso.test"));
    // the object id resolves too
    let by_id = sync_app(&mock)
        .mailbox(user.id.clone().unwrap())
        .contacts(None, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1, "Carol");

    // certificate: an RS256 assertion verified against the registered certificate
    let cert = CertificateCredential::from_pem(CERT.as_bytes(), KEY.as_bytes()).unwrap();
    let creds =
        auth::credentials("contoso", "cert-app").with_token_url(mock.token_url().parse().unwrap());
    let client = Client::new(config(
        &mock,
        auth::certificate(creds, cert.clone()).unwrap(),
    ))
    .unwrap();
    let contacts = client
        .mailbox("bob@contoso.test")
        .contacts(None, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(contacts[0].given_name.as_deref(), Some("Carol"));

    // the same key, but the app registered another certificate
    let creds = auth::credentials("contoso", "wrong-cert-app")
        .with_token_url(mock.token_url().parse().unwrap());
    let err = Client::new(config(&mock, auth::certificate(creds, cert).unwrap()))
        .unwrap()
        .mailbox("bob@contoso.test")
        .contacts(None, &ListOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    // a wrong secret
    let err = graph(&mock, "sync-app", "wrong")
        .resolve_user("bob@contoso.test")
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");

    // an EWS token (Exchange scope) is not valid for Graph, and a Graph token not for EWS
    let http = reqwest::Client::new();
    let form = |scope: &str| {
        format!(
            "grant_type=client_credentials&client_id=sync-app&client_secret=app-secret&scope={}",
            url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>()
        )
    };
    let token = |body: String| {
        let http = http.clone();
        let url = mock.token_url();
        async move {
            let v: serde_json::Value = http
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["access_token"].as_str().unwrap().to_string()
        }
    };
    let ews_token = token(form("https://outlook.office365.com/.default")).await;
    let graph_token = token(form("https://graph.microsoft.com/.default")).await;
    let r = http
        .get(format!("{}/v1.0/users/bob@contoso.test", mock.base_url()))
        .bearer_auth(&ews_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let r = http
        .post(mock.url())
        .bearer_auth(&graph_token)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(common::envelope("GetFolder", Some("bob@contoso.test")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn app_roles_and_mailbox_scopes_answer_403() {
    let mock = start().await;
    // limited to alice's mailbox (RBAC for Applications): bob's contacts are denied
    let scoped = graph(&mock, "alice-only", "alice-only-secret");
    let err = scoped
        .mailbox("bob@contoso.test")
        .contacts(None, &ListOptions::default())
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!((api.status, api.code.as_str()), (403, "ErrorAccessDenied"));
    assert!(!err.is_transient());
    scoped
        .mailbox("alice@contoso.test")
        .contacts(None, &ListOptions::default())
        .await
        .unwrap();
    // Contacts.Read only: reading works, writing is denied
    let reader = graph(&mock, "reader", "reader-secret");
    let bob = reader.mailbox("bob@contoso.test");
    assert_eq!(
        bob.contacts(None, &ListOptions::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let err = bob
        .create_contact(None, &new_contact("Nope", "Never", "0"))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().status, 403);
    assert_eq!(
        mock.mailbox("bob@contoso.test")
            .unwrap()
            .items_in("contacts")
            .count(),
        1
    );
    let denied = mock
        .request_log()
        .into_iter()
        .filter(|e| e.response_code.as_deref() == Some("ErrorAccessDenied"))
        .count();
    assert_eq!(denied, 2);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn contacts_crud_with_etags_and_extended_properties() {
    let mock = start().await;
    let client = sync_app(&mock);
    let bob = client.mailbox("bob@contoso.test");
    let created = bob
        .create_contact(None, &new_contact("Eva", "Klein", "rec-1"))
        .await
        .unwrap();
    let id = created.id.clone().unwrap();
    assert_eq!(
        extended::find(
            created.single_value_extended_properties.as_deref(),
            &record_id()
        ),
        Some("rec-1")
    );
    let etag = created.etag.clone().unwrap();
    assert_eq!(
        etag,
        format!("W/\"{}\"", created.change_key.as_deref().unwrap())
    );

    // read back with $expand; without it no extended properties come back
    let expand = extended::expand(&[&record_id()]);
    let read = bob
        .contact(&id, &ListOptions::default().expand(expand.clone()))
        .await
        .unwrap();
    assert_eq!(read.surname.as_deref(), Some("Klein"));
    assert_eq!(
        read.business_phones.as_deref(),
        Some(&["+49 30 1234".to_string()][..])
    );
    assert_eq!(
        read.email_addresses.unwrap()[0].address.as_deref(),
        Some("eva@example.org")
    );
    assert_eq!(
        extended::find(
            read.single_value_extended_properties.as_deref(),
            &record_id()
        ),
        Some("rec-1")
    );
    let plain = bob.contact(&id, &ListOptions::default()).await.unwrap();
    assert!(plain.single_value_extended_properties.is_none());

    // $filter on the extended property, $select
    bob.create_contact(None, &new_contact("Finn", "Berg", "rec-2"))
        .await
        .unwrap();
    let found = bob
        .contacts(
            None,
            &ListOptions::default()
                .filter(extended::filter_eq(&record_id(), "rec-2"))
                .select(&["givenName"]),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].given_name.as_deref(), Some("Finn"));
    assert!(found[0].surname.is_none(), "$select leaves surname out");

    // paging by @odata.nextLink: 3 contacts, 1 per page
    let all = bob
        .contacts(None, &ListOptions::default().top(1))
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        mock.request_log()
            .iter()
            .filter(|e| e.operation.as_deref() == Some("Graph GET contacts"))
            .count()
            >= 4
    );

    // update with the current etag; a stale one is a 412 conflict
    let patch = Contact {
        job_title: Some("CTO".into()),
        ..Contact::default()
    };
    let updated = bob.update_contact(&id, &patch, Some(&etag)).await.unwrap();
    assert_eq!(updated.job_title.as_deref(), Some("CTO"));
    assert_ne!(updated.etag.as_deref(), Some(etag.as_str()));
    let err = bob
        .update_contact(&id, &patch, Some(&etag))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let err = bob.delete_contact(&id, Some(&etag)).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    bob.delete_contact(&id, updated.etag.as_deref())
        .await
        .unwrap();
    let err = bob.contact(&id, &ListOptions::default()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // contact folders
    let folder = bob.create_contact_folder(None, "Kunden").await.unwrap();
    let fid = folder.id.unwrap();
    bob.create_contact(Some(&fid), &new_contact("Gina", "Hahn", "rec-3"))
        .await
        .unwrap();
    let folders = bob.contact_folders().await.unwrap();
    assert!(
        folders
            .iter()
            .any(|f| f.display_name.as_deref() == Some("Kunden"))
    );
    // like Graph, the contact folders below the default Contacts folder only
    assert!(
        folders
            .iter()
            .all(|f| f.display_name.as_deref() != Some("CRM Contacts"))
    );
    let in_folder = bob
        .contacts(Some(&fid), &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(in_folder.len(), 1);
    assert_eq!(
        mock.mailbox("bob@contoso.test")
            .unwrap()
            .items_in("contacts/Kunden")
            .count(),
        1
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn contact_delta_pages_removals_and_expiry() {
    let mock = start().await;
    let client = sync_app(&mock);
    let bob = client.mailbox("bob@contoso.test");
    for i in 0..4 {
        bob.create_contact(
            None,
            &new_contact(&format!("P{i}"), "Delta", &i.to_string()),
        )
        .await
        .unwrap();
    }
    // $select is kept in the links of the round
    let first = bob
        .contacts_delta(
            None,
            DeltaStart::Initial,
            &["surname", "department"],
            Some(2),
        )
        .await
        .unwrap();
    assert!(first.changes.iter().all(|c| matches!(c,
        Change::Upsert(c) if c.given_name.is_none() && c.surname.is_some())));
    assert_eq!(first.changes.len(), 5, "Carol and four new ones");
    assert!(first.pages >= 3, "2 per page: {}", first.pages);

    // nothing changed: an empty round
    let again = bob
        .contacts_delta(None, DeltaStart::Link(&first.delta_link), &[], None)
        .await
        .unwrap();
    assert!(again.changes.is_empty());

    // one update, one delete
    let ids: Vec<String> = first
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Upsert(c) if c.surname.as_deref() == Some("Delta") => c.id.clone(),
            _ => None,
        })
        .collect();
    bob.update_contact(
        &ids[0],
        &Contact {
            department: Some("Sales".into()),
            ..Contact::default()
        },
        None,
    )
    .await
    .unwrap();
    bob.delete_contact(&ids[1], None).await.unwrap();
    let round = bob
        .contacts_delta(
            None,
            DeltaStart::Link(&again.delta_link),
            &["department"],
            None,
        )
        .await
        .unwrap();
    assert_eq!(round.changes.len(), 2);
    assert!(round.changes.iter().any(|c| matches!(c,
        Change::Upsert(c) if c.department.as_deref() == Some("Sales"))));
    assert!(round.changes.iter().any(|c| matches!(c,
        Change::Removed { id, reason } if id == &ids[1] && reason.as_deref() == Some("deleted"))));

    // expiry on demand: the delta link is gone (410 syncStateNotFound), a new round works
    reqwest::Client::new()
        .post(format!("{}/graph/expire-delta-tokens", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let err = bob
        .contacts_delta(None, DeltaStart::Link(&round.delta_link), &[], None)
        .await
        .unwrap_err();
    assert!(err.is_delta_reset(), "{err}");
    let resync = bob
        .contacts_delta(None, DeltaStart::Initial, &[], None)
        .await
        .unwrap();
    assert_eq!(resync.changes.len(), 4);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn four_requests_per_mailbox_and_seeded_faults() {
    let mock = start().await;
    // the client would allow 8 at once; the mock allows 4 per app and mailbox
    let client = Client::new(
        config(&mock, secret_tokens(&mock, "sync-app", "app-secret"))
            .with_max_concurrency_per_mailbox(8),
    )
    .unwrap();
    mock.add_fault(
        FaultRule::always(Fault::Latency { ms: 300 }).for_operation("Graph GET contacts"),
    );
    let bob = client.mailbox("bob@contoso.test");
    let options = ListOptions::default();
    let calls = (0..8).map(|_| bob.contacts(None, &options));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().len(), 1);
    }
    let log = mock.request_log();
    let throttled: Vec<_> = log
        .iter()
        .filter(|e| e.response_code.as_deref() == Some("ApplicationThrottled"))
        .collect();
    assert!(!throttled.is_empty(), "some of 8 parallel requests got 429");
    assert!(throttled.iter().all(|e| e.status == 429));
    mock.clear_faults();
    mock.clear_log();

    // the EWS front's fault kinds on Graph requests: 503 with Retry-After, ServerBusy as 429
    mock.add_fault(
        FaultRule::always(Fault::Http503 {
            retry_after_secs: 1,
        })
        .for_operation("Graph GET contacts")
        .times(1),
    );
    mock.add_fault(
        FaultRule::always(Fault::ServerBusy {
            back_off_ms: 500,
            as_soap_fault: true,
        })
        .for_operation("Graph GET contacts")
        .times(1),
    );
    assert_eq!(
        bob.contacts(None, &ListOptions::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let statuses: Vec<u16> = mock.request_log().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [503, 429, 200]);
    assert_eq!(mock.request_log()[0].faults, ["http_503"]);
    assert_eq!(mock.request_counts()["Graph GET contacts"], 3);

    // a write whose connection drops after processing: outcome unknown, never repeated
    mock.add_fault(
        FaultRule::always(Fault::DropAfterProcessing)
            .for_operation("Graph POST contacts")
            .times(1),
    );
    let err = bob
        .create_contact(None, &new_contact("Once", "Only", "x"))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err}");
    assert_eq!(mock.request_counts()["Graph POST contacts"], 1);
    assert_eq!(
        mock.mailbox("bob@contoso.test")
            .unwrap()
            .items_in("contacts")
            .count(),
        2,
        "the create happened"
    );
    mock.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// cross-front: the same items through EWS and Graph

fn ews_record_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::named(PUBLIC_STRINGS, "ConAktivRecordId", MapiPropertyType::String)
}

async fn ews_sync(ews: &Ews<'_>, state: Option<String>) -> (Vec<SyncItemChange>, Option<String>) {
    let r = ews
        .call(&SyncFolderItems::new(
            BaseFolderId::from(D::Contacts),
            ItemShape::id_only(),
            state,
            512,
        ))
        .await;
    let content = r.messages.into_iter().next().unwrap().content;
    (content.changes, content.sync_state)
}

async fn to_graph_id(bob: &graph_client::Mailbox, ews_id: &str) -> String {
    let r = bob
        .translate_exchange_ids(
            &[ews_id],
            ExchangeIdFormat::EwsId,
            ExchangeIdFormat::RestImmutableEntryId,
        )
        .await
        .unwrap();
    r[0].target_id.clone().unwrap()
}

#[tokio::test]
async fn an_ews_contact_is_read_changed_and_deleted_through_graph() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let client = sync_app(&mock);
    let bob = client.mailbox("bob@contoso.test");
    let (_, state) = ews_sync(&ews, None).await;

    let mut c = ews_client::types::Contact {
        given_name: Some("Hana".into()),
        surname: Some("Ito".into()),
        display_name: Some("Hana Ito".into()),
        ..Default::default()
    };
    c.common.subject = Some("Hana Ito".into());
    c.common
        .extended_properties
        .push(ExtendedProperty::string(ews_record_uri(), "ews-7"));
    let created = ews
        .call(&CreateItem::save(vec![Item::Contact(c)], None))
        .await;
    let ews_id = created.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();

    // the translated id names the same item; the EWS-written property filters and reads
    let gid = to_graph_id(&bob, &ews_id.id).await;
    let expand = extended::expand(&[&record_id()]);
    let read = bob
        .contact(&gid, &ListOptions::default().expand(expand.clone()))
        .await
        .unwrap();
    assert_eq!(read.given_name.as_deref(), Some("Hana"));
    assert_eq!(
        read.change_key.as_deref(),
        ews_id.change_key.as_deref(),
        "same change key"
    );
    assert_eq!(
        extended::find(
            read.single_value_extended_properties.as_deref(),
            &record_id()
        ),
        Some("ews-7")
    );
    let found = bob
        .contacts(
            None,
            &ListOptions::default().filter(extended::filter_eq(&record_id(), "ews-7")),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_deref(), Some(gid.as_str()));
    // and back
    let back = bob
        .translate_exchange_ids(
            &[&gid],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap();
    assert_eq!(back[0].target_id.as_deref(), Some(ews_id.id.as_str()));

    let (_, state) = ews_sync(&ews, state).await;
    // changed through Graph: EWS sees an update and the new value
    bob.update_contact(
        &gid,
        &Contact {
            company_name: Some("Graph GmbH".into()),
            single_value_extended_properties: Some(vec![record_id().value("graph-8")]),
            ..Contact::default()
        },
        read.etag.as_deref(),
    )
    .await
    .unwrap();
    let (changes, state) = ews_sync(&ews, state).await;
    assert!(
        matches!(&changes[..], [SyncItemChange::Update(i)] if i.item_id().unwrap().id == ews_id.id)
    );
    let got = ews
        .call(&GetItem::new(
            ItemShape::all_properties().with_additional([PropertyPath::Extended(ews_record_uri())]),
            vec![ews_id.clone()],
        ))
        .await;
    let item = &got.messages[0].content.items[0];
    let contact = item.as_contact().unwrap();
    assert_eq!(contact.company_name.as_deref(), Some("Graph GmbH"));
    assert_eq!(
        item.common()
            .extended_properties
            .iter()
            .find(|p| p.uri.property_name.as_deref() == Some("ConAktivRecordId"))
            .and_then(|p| p.as_single())
            .map(str::to_owned)
            .as_deref(),
        Some("graph-8")
    );

    // deleted through Graph: EWS sees the delete
    bob.delete_contact(&gid, None).await.unwrap();
    let (changes, _) = ews_sync(&ews, state).await;
    assert!(matches!(&changes[..], [SyncItemChange::Delete(i)] if i.id == ews_id.id));
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_graph_contact_is_read_changed_and_deleted_through_ews() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let client = sync_app(&mock);
    let bob = client.mailbox("bob@contoso.test");
    let first = bob
        .contacts_delta(None, DeltaStart::Initial, &[], None)
        .await
        .unwrap();

    let created = bob
        .create_contact(None, &new_contact("Ida", "Lund", "g-1"))
        .await
        .unwrap();
    let gid = created.id.unwrap();
    let ews_id = bob
        .translate_exchange_ids(
            &[&gid],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    // EWS reads it with the Graph-written property
    let got = ews
        .call(&GetItem::new(
            ItemShape::all_properties().with_additional([PropertyPath::Extended(ews_record_uri())]),
            vec![ItemId::new(ews_id.clone())],
        ))
        .await;
    let item = got.messages[0].content.items[0].clone();
    assert_eq!(item.as_contact().unwrap().surname.as_deref(), Some("Lund"));
    assert!(
        item.common()
            .extended_properties
            .iter()
            .any(|p| p.as_single() == Some("g-1"))
    );
    assert_eq!(
        item.item_id().unwrap().change_key.as_deref(),
        created.change_key.as_deref()
    );

    // changed through EWS: Graph's delta and read show it
    let round = bob
        .contacts_delta(None, DeltaStart::Link(&first.delta_link), &[], None)
        .await
        .unwrap();
    let mut changed = item.empty_like();
    if let Item::Contact(c) = &mut changed {
        c.job_title = Some("Buyer".into());
    }
    let update = UpdateItem::for_item(
        &changed,
        item.item_id().unwrap().clone(),
        vec![field_change(
            &changed,
            &PropertyPath::Field("contacts:JobTitle".into()),
        )],
    );
    ews.call(&update).await;
    let next = bob
        .contacts_delta(None, DeltaStart::Link(&round.delta_link), &[], None)
        .await
        .unwrap();
    assert!(matches!(&next.changes[..],
        [Change::Upsert(c)] if c.id.as_deref() == Some(gid.as_str()) && c.job_title.as_deref() == Some("Buyer")));

    // deleted through EWS: Graph's delta reports it removed, a read is 404
    ews.call(&DeleteItem::new(
        DisposalType::HardDelete,
        vec![ItemId::new(ews_id.clone())],
    ))
    .await;
    let last = bob
        .contacts_delta(None, DeltaStart::Link(&next.delta_link), &[], None)
        .await
        .unwrap();
    assert!(matches!(&last.changes[..], [Change::Removed { id, .. }] if id == &gid));
    assert!(
        bob.contact(&gid, &ListOptions::default())
            .await
            .unwrap_err()
            .is_not_found()
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn json_batch_runs_in_order_with_failed_dependencies_as_424() {
    use graph_client::batch::BatchRequest;
    let mock = start().await;
    let client = sync_app(&mock);
    let body = serde_json::to_value(new_contact("Jo", "Batch", "b-1")).unwrap();
    let missing = "/users/bob@contoso.test/contacts/AAAA";
    let answers = client
        .batch(
            "bob@contoso.test",
            vec![
                BatchRequest::new("1", "POST", "/users/bob@contoso.test/contacts", Some(body)),
                BatchRequest::get("2", "/users/bob@contoso.test/contacts?$top=5")
                    .depends_on(&["1"]),
                BatchRequest::get("3", missing),
                BatchRequest::get("4", "/users/bob@contoso.test/contacts").depends_on(&["3"]),
            ],
        )
        .await
        .unwrap();
    let statuses: Vec<(String, u16)> = answers.iter().map(|a| (a.id.clone(), a.status)).collect();
    assert_eq!(
        statuses,
        [
            ("1".into(), 201),
            ("2".into(), 200),
            ("3".into(), 404),
            ("4".into(), 424)
        ]
    );
    let created: Contact = answers[0].clone().into_result().unwrap().unwrap();
    assert_eq!(created.surname.as_deref(), Some("Batch"));
    let err = answers[3].clone().into_result::<Contact>().unwrap_err();
    assert!(
        matches!(err, graph_client::Error::FailedDependency(_)),
        "{err}"
    );
    // each inner request is logged as its own operation
    let counts = mock.request_counts();
    assert_eq!(counts["Graph POST $batch"], 1);
    assert_eq!(counts["Graph POST contacts"], 1);
    assert_eq!(counts["Graph GET contacts"], 2, "the 424 one never ran");

    // more than 20 requests are refused by the client before sending; the mock refuses too
    let http = reqwest::Client::new();
    let token = {
        let v: serde_json::Value = http
            .post(mock.token_url())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&client_id=sync-app&client_secret=app-secret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().unwrap().to_string()
    };
    let requests: Vec<BatchRequest> = (0..21)
        .map(|i| BatchRequest::get(i.to_string(), "/users/bob@contoso.test"))
        .collect();
    let r = http
        .post(format!("{}/v1.0/$batch", mock.base_url()))
        .bearer_auth(token)
        .json(&graph_client::batch::BatchBody { requests })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn ews_allowed_app_ids_and_ews_switched_off() {
    let data = org().replace(
        "[graph]\n",
        "[graph]\news_allowed_app_ids = [\"sync-app\"]\n",
    );
    let mock = common::start_with(&data).await;
    let http = reqwest::Client::new();
    let ews_token = |client_id: &'static str, secret: &'static str| {
        let http = http.clone();
        let url = mock.token_url();
        async move {
            let v: serde_json::Value = http
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}&scope=https%3A%2F%2Foutlook.office365.com%2F.default"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["access_token"].as_str().unwrap().to_string()
        }
    };
    let get_folder = |token: String| {
        let http = http.clone();
        let url = mock.url();
        async move {
            http.post(url)
                .bearer_auth(token)
                .header("Content-Type", "text/xml; charset=utf-8")
                .body(common::envelope("GetFolder", Some("bob@contoso.test")))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // listed app: EWS answers; an app not on the list and a password user: 403
    assert_eq!(
        get_folder(ews_token("sync-app", "app-secret").await).await,
        200
    );
    assert_eq!(
        get_folder(ews_token("weak-app", "weak-secret").await).await,
        403
    );
    let user = http
        .post(mock.url())
        .basic_auth("bob@contoso.test", Some("bob-pw"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(common::envelope("GetFolder", None))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), 403);
    // Graph is not affected
    assert!(
        graph(&mock, "weak-app", "weak-secret")
            .resolve_user("bob@contoso.test")
            .await
            .unwrap()
            .is_some()
    );

    // EWS switched off for the organisation (1 April 2027): every caller gets 403
    let r = http
        .post(format!("{}/graph/ews", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .json(&serde_json::json!({ "ews_enabled": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        get_folder(ews_token("sync-app", "app-secret").await).await,
        403
    );
    assert!(
        mock.request_log()
            .iter()
            .filter(|e| e.status == 403)
            .count()
            >= 3
    );
    // and back on without a list
    http.post(format!("{}/graph/ews", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get_folder(ews_token("sync-app", "app-secret").await).await,
        200
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn mail_folders_by_id_and_well_known_name() {
    let mock = start().await;
    let client = sync_app(&mock);
    let bob = client.mailbox("bob@contoso.test");
    let top = bob.mail_folders().await.unwrap();
    let names: Vec<&str> = top
        .iter()
        .filter_map(|f| f.display_name.as_deref())
        .collect();
    assert!(
        names.contains(&"Inbox") && names.contains(&"Sent Items"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"Contacts"),
        "contact folders are no mail folders"
    );
    let inbox = bob.mail_folder("inbox").await.unwrap();
    assert_eq!(inbox.display_name.as_deref(), Some("Inbox"));
    assert_eq!(inbox.child_folder_count, Some(1), "Projects");
    let by_id = bob.mail_folder(inbox.id.as_deref().unwrap()).await.unwrap();
    assert_eq!(by_id.id, inbox.id);
    let created = bob
        .create_mail_folder(inbox.id.as_deref(), "Rechnungen")
        .await
        .unwrap();
    let children = bob.mail_child_folders("inbox").await.unwrap();
    assert!(children.iter().any(|f| f.id == created.id));
    assert_eq!(created.parent_folder_id, inbox.id);
    let err = bob
        .create_mail_folder(Some("inbox"), "Rechnungen")
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().status, 409);
    // the same folder through EWS, its id translated
    let ews_id = bob
        .translate_exchange_ids(
            &[created.id.as_deref().unwrap()],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    let snapshot = mock.mailbox("bob@contoso.test").unwrap();
    let folder = snapshot
        .folders
        .iter()
        .find(|f| f.path == "inbox/Rechnungen")
        .unwrap();
    assert_eq!(folder.id, ews_id);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn mail_folder_delta_reports_new_and_deleted_folders() {
    use ews_client::ops::DeleteFolder;
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let client = sync_app(&mock);
    let bob = client.mailbox("bob@contoso.test");
    let first = bob.mail_folders_delta(DeltaStart::Initial).await.unwrap();
    let names: Vec<String> = first
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Upsert(f) => f.display_name.clone(),
            Change::Removed { .. } => None,
        })
        .collect();
    assert!(names.iter().any(|n| n == "Inbox") && names.iter().any(|n| n == "2024"));
    assert!(!names.iter().any(|n| n == "Contacts" || n == "CRM Contacts"));
    let created = bob.create_mail_folder(Some("inbox"), "Neu").await.unwrap();
    let round = bob
        .mail_folders_delta(DeltaStart::Link(&first.delta_link))
        .await
        .unwrap();
    assert!(matches!(&round.changes[..], [Change::Upsert(f)] if f.id == created.id));
    // deleted through EWS
    let ews_id = bob
        .translate_exchange_ids(
            &[created.id.as_deref().unwrap()],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    ews.call(&DeleteFolder::new(
        DisposalType::HardDelete,
        vec![BaseFolderId::from(ews_client::types::FolderId::new(ews_id))],
    ))
    .await;
    let last = bob
        .mail_folders_delta(DeltaStart::Link(&round.delta_link))
        .await
        .unwrap();
    assert!(
        matches!(&last.changes[..], [Change::Removed { id, .. }] if Some(id) == created.id.as_ref())
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn messages_drafts_updates_delta_and_the_ews_view() {
    use graph_client::mail::Message;
    use graph_client::types::{ItemBody, Recipient};
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let client = sync_app(&mock);
    let bob = client.mailbox("bob@contoso.test");
    let first = bob
        .messages_delta("drafts", DeltaStart::Initial, &[], None)
        .await
        .unwrap();
    assert!(first.changes.is_empty());
    let draft = bob
        .create_draft(
            None,
            &Message {
                subject: Some("Angebot".into()),
                body: Some(ItemBody::text("Sehr geehrte Damen und Herren")),
                to_recipients: Some(vec![Recipient::address("kunde@example.org")]),
                single_value_extended_properties: Some(vec![record_id().value("m-1")]),
                ..Message::default()
            },
        )
        .await
        .unwrap();
    let id = draft.id.clone().unwrap();
    assert_eq!(draft.is_draft, Some(true));
    let listed = bob
        .messages(
            "drafts",
            &ListOptions::default().filter(extended::filter_eq(&record_id(), "m-1")),
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].to_recipients.as_ref().unwrap()[0]
            .email_address
            .as_ref()
            .unwrap()
            .address
            .as_deref(),
        Some("kunde@example.org")
    );
    // update with the etag; the stale etag is a conflict
    let patch = Message {
        subject: Some("Angebot 2".into()),
        ..Message::default()
    };
    let updated = bob
        .update_message(&id, &patch, draft.etag.as_deref())
        .await
        .unwrap();
    assert!(
        bob.update_message(&id, &patch, draft.etag.as_deref())
            .await
            .unwrap_err()
            .is_conflict()
    );
    // EWS sees the same message, same change key
    let ews_id = bob
        .translate_exchange_ids(
            &[&id],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    let got = ews
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![ItemId::new(ews_id.clone())],
        ))
        .await;
    let item = &got.messages[0].content.items[0];
    assert_eq!(item.common().subject.as_deref(), Some("Angebot 2"));
    assert_eq!(item.item_id().unwrap().change_key, updated.change_key);
    // delta: the new draft; after an EWS delete, @removed
    let round = bob
        .messages_delta("drafts", DeltaStart::Link(&first.delta_link), &[], None)
        .await
        .unwrap();
    assert!(
        matches!(&round.changes[..], [Change::Upsert(m)] if m.id.as_deref() == Some(id.as_str()))
    );
    ews.call(&DeleteItem::new(
        DisposalType::HardDelete,
        vec![ItemId::new(ews_id)],
    ))
    .await;
    let last = bob
        .messages_delta("drafts", DeltaStart::Link(&round.delta_link), &[], None)
        .await
        .unwrap();
    assert!(matches!(&last.changes[..], [Change::Removed { id: r, .. }] if r == &id));
    assert!(
        bob.message(&id, &ListOptions::default())
            .await
            .unwrap_err()
            .is_not_found()
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_moved_message_keeps_its_immutable_id() {
    use graph_client::mail::Message;
    let mock = start().await;
    let client = sync_app(&mock);
    let bob = client.mailbox("bob@contoso.test");
    let inbox_delta = bob
        .messages_delta("inbox", DeltaStart::Initial, &[], None)
        .await
        .unwrap();
    let draft = bob
        .create_draft(
            None,
            &Message {
                subject: Some("Umzug".into()),
                ..Message::default()
            },
        )
        .await
        .unwrap();
    let id = draft.id.clone().unwrap();
    let moved = bob.move_message(&id, "inbox").await.unwrap();
    assert_eq!(moved.id.as_deref(), Some(id.as_str()), "immutable id");
    assert_ne!(moved.parent_folder_id, draft.parent_folder_id);
    let read = bob.message(&id, &ListOptions::default()).await.unwrap();
    assert_eq!(read.subject.as_deref(), Some("Umzug"));
    assert_eq!(read.parent_folder_id, moved.parent_folder_id);
    // EWS gives a moved item a new id; translation leads to it
    let ews_id = bob
        .translate_exchange_ids(
            &[&id],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    let snapshot = mock.mailbox("bob@contoso.test").unwrap();
    let in_inbox: Vec<_> = snapshot.items_in("inbox").collect();
    assert_eq!(in_inbox.len(), 1);
    assert_eq!(in_inbox[0].id, ews_id);
    let back = bob
        .translate_exchange_ids(
            &[&ews_id],
            ExchangeIdFormat::EwsId,
            ExchangeIdFormat::RestImmutableEntryId,
        )
        .await
        .unwrap();
    assert_eq!(back[0].target_id.as_deref(), Some(id.as_str()));
    // the inbox's delta shows it under the same id; drafts' delta removes it
    let round = bob
        .messages_delta(
            "inbox",
            DeltaStart::Link(&inbox_delta.delta_link),
            &[],
            None,
        )
        .await
        .unwrap();
    assert!(
        matches!(&round.changes[..], [Change::Upsert(m)] if m.id.as_deref() == Some(id.as_str()))
    );
    bob.update_message(
        &id,
        &Message {
            is_read: Some(false),
            ..Message::default()
        },
        moved.etag.as_deref(),
    )
    .await
    .unwrap();
    // a delete moves it to Deleted Items (as Graph does); a second one removes it
    bob.delete_message(&id, None).await.unwrap();
    bob.delete_message(&id, None).await.unwrap();
    assert!(
        bob.message(&id, &ListOptions::default())
            .await
            .unwrap_err()
            .is_not_found()
    );
    mock.shutdown().await.unwrap();
}
