//! The configuration's pinned certificate reaches the EWS client: a server with a
//! self-signed certificate (here ews-mock over HTTPS) is accepted only when its record pins
//! that certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

use conaktiv_exchange::service::client_for_server;
use conaktiv_model::config::{AuthScheme, EwsServer};
use conaktiv_model::values::HttpsUrl;
use conaktiv_model::{CertificateFingerprint, Secret};
use ews_client::types::DistinguishedFolderName;
use ews_mock::{MockConfig, MockServer, OrgData, TlsConfig};

const ORG: &str = r#"
[[users]]
address = "svc-crm@contoso.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"

[[mailboxes]]
owner = "bob@contoso.test"
"#;

#[tokio::test]
async fn a_pinned_self_signed_server_certificate_is_trusted_only_when_pinned() {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let mut config = MockConfig::new(OrgData::from_toml(ORG).unwrap());
    config.tls = Some(TlsConfig {
        cert_pem: ck.cert.pem().into_bytes(),
        key_pem: ck.signing_key.serialize_pem().into_bytes(),
    });
    let mock = MockServer::start(config).await.unwrap();
    let mut record = EwsServer::on_premises(
        "Büro",
        HttpsUrl::parse(&mock.url()).unwrap(),
        "svc-crm@contoso.test",
        Secret::from("svc-pw"),
        AuthScheme::Basic,
    );
    let inbox = DistinguishedFolderName::Inbox.into();

    let err = client_for_server(&record)
        .unwrap()
        .for_mailbox("bob@contoso.test")
        .get_folder(inbox)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");

    let pin = ews_client::transport::CertificateFingerprint::of_der(ck.cert.der());
    record.pinned_certificate_sha256 =
        Some(CertificateFingerprint::parse(&pin.to_string()).unwrap());
    let folder = client_for_server(&record)
        .unwrap()
        .for_mailbox("bob@contoso.test")
        .get_folder(DistinguishedFolderName::Inbox.into())
        .await
        .unwrap();
    assert!(folder.folder_id.is_some());
    mock.shutdown().await.unwrap();
}
