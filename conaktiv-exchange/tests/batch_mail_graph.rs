#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The batch's mail receiving for an Exchange Online account whose server record speaks
//! Microsoft Graph (the default for Exchange Online): the Graph receiver over ews-mock's Graph
//! front files each mail once into the embedded CRM; the EWS front is not used.

use std::sync::Arc;

use conaktiv_exchange::batch_tasks::receive_mail;
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::Configuration;
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use mail_transport::{MailSender, Mailbox, OutgoingMail, SqliteCheckpoints};

const ORG: &str = r#"
[settings]
domain = "CLOUD"
seed = 5

[[users]]
address = "grace@cloud.test"
display_name = "Grace"
password = "grace-pw"

[[users]]
address = "otto@cloud.test"
display_name = "Otto"
password = "otto-pw"

[[apps]]
client_id = "app-1"
client_secret = "app-secret"
tenant = "cloudtenant"
roles = ["full_access_as_app"]
"#;

fn config(mock: &MockHandle) -> Configuration {
    let text = format!(
        r#"[[servers]]
name = "Online"
url = "{url}"
kind = "exchange_online"
admin_mailbox = "grace@cloud.test"
graph_url = "{base}/v1.0"
oauth = {{ tenant_id = "cloudtenant", client_id = "app-1", client_secret = "app-secret", token_url = "{token}" }}

[[mail_accounts]]
short_code = "GR"
user = "grace"
account_name = "Grace"
email = "grace@cloud.test"
usage = "receive"
server_kind = "exchange"

[mail_accounts.exchange]
server = "Online"
use_admin_account = true

[mail_accounts.receiving]
keep_copy_on_server = true
receive_automatically_on_server = true
"#,
        url = mock.url(),
        base = mock.base_url(),
        token = mock.token_url(),
    );
    Configuration::from_toml_str(&text, "conaktiv.toml").unwrap()
}

fn graph(mock: &MockHandle) -> graph_client::Client {
    let tokens = graph_client::auth::with_secret({
        let mut c = graph_client::auth::credentials("cloudtenant", "app-1")
            .with_token_url(mock.token_url().parse().unwrap());
        c.client_secret = ews_client::transport::SecretString::from("app-secret".to_owned());
        c
    })
    .unwrap();
    graph_client::Client::new(
        graph_client::ClientConfig::new(tokens)
            .with_base_url(url::Url::parse(&format!("{}/v1.0/", mock.base_url())).unwrap()),
    )
    .unwrap()
}

#[tokio::test]
async fn a_graph_server_records_mail_is_received_over_graph_once() {
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
        .await
        .unwrap();
    let config = config(&mock);
    let sender = mail_transport::GraphSender::new(
        graph(&mock),
        "otto@cloud.test",
        mail_transport::SentItems::Keep,
    );
    for subject in ["Erste", "Zweite"] {
        sender
            .send(&OutgoingMail {
                from: Mailbox::new("otto@cloud.test"),
                to: vec![Mailbox::new("grace@cloud.test")],
                subject: subject.into(),
                text: Some("Hallo".into()),
                ..OutgoingMail::default()
            })
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path().join("crm.sqlite")).unwrap();
    let checkpoints =
        Arc::new(SqliteCheckpoints::open(dir.path().join("checkpoints.sqlite")).unwrap());
    mock.clear_log();
    let first = receive_mail(&config, db.crm(), db.linker(), checkpoints.clone()).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].error, None);
    assert_eq!((first[0].new, first[0].duplicates), (2, 0));
    let log = mock.request_log();
    assert!(
        log.iter().all(|e| e
            .operation
            .as_deref()
            .is_some_and(|o| o.starts_with("Graph"))),
        "only Graph requests: {:?}",
        log.iter().map(|e| e.operation.clone()).collect::<Vec<_>>()
    );
    let second = receive_mail(&config, db.crm(), db.linker(), checkpoints).await;
    assert_eq!(second[0].error, None);
    assert_eq!((second[0].new, second[0].duplicates), (0, 0));
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn crm_mail_is_sent_over_graph_and_its_sent_items_copy_is_found_by_id() {
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
        .await
        .unwrap();
    let config = config(&mock);
    let account = config.mail_account("GR").unwrap();
    let sender = conaktiv_exchange::batch_tasks::exchange_sender(account, &config).unwrap();
    mock.clear_log();
    let receipt = sender
        .send(&OutgoingMail {
            from: Mailbox::new("grace@cloud.test"),
            to: vec![Mailbox::new("otto@cloud.test")],
            subject: "Angebot AN-2026-7".into(),
            text: Some("Anbei das Angebot.".into()),
            attachments: vec![mail_transport::Attachment {
                file_name: "angebot.pdf".into(),
                content_type: "application/pdf".into(),
                data: vec![7u8; 3 * 1024 * 1024 + 10],
            }],
            ..OutgoingMail::default()
        })
        .await
        .unwrap();
    let copy = receipt
        .stored_copy
        .expect("the Sent Items copy, for the CRM to link");
    assert!(receipt.copy_error.is_none());
    let counts = mock.request_counts();
    assert!(
        counts
            .keys()
            .all(|k| k.starts_with("Graph") || k.contains("token")),
        "{counts:?}"
    );
    assert!(
        counts.contains_key("Graph POST messages/send"),
        "{counts:?}"
    );
    assert!(
        counts.keys().any(|k| k.contains("createUploadSession")),
        "an attachment above 3 MB goes through an upload session: {counts:?}"
    );
    // the copy is in grace's Sent Items, and the mail reached otto
    let sent = mock.mailbox("grace@cloud.test").unwrap();
    assert_eq!(sent.items_in("sentitems").count(), 1);
    assert!(!copy.id.is_empty(), "{copy:?}");
    let inbox = mock.mailbox("otto@cloud.test").unwrap();
    assert!(
        inbox
            .items_in("inbox")
            .any(|i| i.subject.as_deref() == Some("Angebot AN-2026-7"))
    );
    mock.shutdown().await.unwrap();
}
