//! Injected faults and concurrency limits, over real HTTP.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use common::*;
use ews_mock::{Fault, FaultRule};

async fn get_folder(mock: &ews_mock::MockHandle) -> Result<reqwest::Response, reqwest::Error> {
    client()
        .post(mock.url())
        .basic_auth("alice@contoso.test", Some("alice-pw"))
        .body(envelope("GetFolder", None))
        .send()
        .await
}

#[tokio::test]
async fn server_busy_inside_a_response_message_and_as_soap_fault() {
    let mock = start().await;
    mock.add_fault(
        FaultRule::always(Fault::ServerBusy {
            back_off_ms: 750,
            as_soap_fault: false,
        })
        .for_operation("GetFolder")
        .times(1),
    );
    mock.add_fault(
        FaultRule::always(Fault::ServerBusy {
            back_off_ms: 20,
            as_soap_fault: true,
        })
        .for_operation("GetFolder")
        .times(1),
    );
    let first = get_folder(&mock).await.unwrap();
    assert_eq!(first.status(), 200);
    let text = first.text().await.unwrap();
    assert!(
        text.contains("<m:GetFolderResponseMessage ResponseClass=\"Error\">"),
        "{text}"
    );
    assert_eq!(response_code(&text).as_deref(), Some("ErrorServerBusy"));
    assert!(text.contains("<t:Value Name=\"BackOffMilliseconds\">750</t:Value>"));
    let second = get_folder(&mock).await.unwrap();
    assert_eq!(second.status(), 500);
    let text = second.text().await.unwrap();
    assert!(text.contains("<s:Fault>"));
    let fault = ews_client::envelope::read_fault(text.as_bytes()).unwrap();
    assert_eq!(fault.code().unwrap().as_str(), "ErrorServerBusy");
    assert_eq!(fault.back_off(), Some(Duration::from_millis(20)));
    // both rules are used up
    let third = get_folder(&mock).await.unwrap();
    assert_ne!(
        response_code(&third.text().await.unwrap()).as_deref(),
        Some("ErrorServerBusy")
    );
    let fired: Vec<u32> = mock.faults().iter().map(|s| s.fired).collect();
    assert_eq!(fired, vec![1, 1]);
    let log = mock.request_log();
    assert_eq!(log[0].faults, vec!["server_busy"]);
    assert_eq!(log[0].response_code.as_deref(), Some("ErrorServerBusy"));
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_503_with_retry_after_and_latency() {
    let mock = start().await;
    mock.add_fault(
        FaultRule::always(Fault::Http503 {
            retry_after_secs: 7,
        })
        .times(1),
    );
    let resp = get_folder(&mock).await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "7");
    mock.add_fault(FaultRule::always(Fault::Latency { ms: 300 }).for_mailbox("bob@contoso.test"));
    let started = Instant::now();
    get_folder(&mock).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "latency only for bob's mailbox"
    );
    mock.add_fault(
        FaultRule::always(Fault::Latency { ms: 300 })
            .for_mailbox("alice@contoso.test")
            .times(1),
    );
    let started = Instant::now();
    let slow = get_folder(&mock).await.unwrap();
    assert_ne!(slow.status(), 503);
    assert!(started.elapsed() >= Duration::from_millis(300));
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn dropped_truncated_and_malformed_responses() {
    let mock = start().await;
    for fault in [Fault::DropBeforeProcessing, Fault::DropAfterProcessing] {
        mock.add_fault(FaultRule::always(fault.clone()).times(1));
        let err = get_folder(&mock).await.expect_err("connection must drop");
        assert!(!err.is_status(), "{fault:?}: {err}");
        mock.clear_faults();
    }
    mock.add_fault(FaultRule::always(Fault::Truncated).times(1));
    let resp = get_folder(&mock).await.unwrap();
    assert!(
        resp.bytes().await.is_err(),
        "truncated body must fail to read"
    );
    mock.add_fault(FaultRule::always(Fault::Malformed).times(1));
    let resp = get_folder(&mock).await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains("</s:Envelop><<"), "{text}");
    // after the faults, the server answers normally
    let ok = get_folder(&mock).await.unwrap();
    assert!(ok.text().await.unwrap().ends_with("</s:Envelope>"));
    let log = mock.request_log();
    let statuses: Vec<u16> = log.iter().map(|e| e.status).collect();
    assert_eq!(statuses[..2], [0, 0]);
    assert_eq!(log[0].faults, vec!["drop_before_processing"]);
    assert_eq!(log[1].faults, vec!["drop_after_processing"]);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn probabilistic_faults_are_deterministic_with_the_seed() {
    async fn pattern() -> Vec<u16> {
        let mock = start().await; // seed = 42 in the data
        mock.add_fault(
            FaultRule::always(Fault::Http503 {
                retry_after_secs: 1,
            })
            .with_probability(0.5),
        );
        let mut out = Vec::new();
        for _ in 0..16 {
            out.push(get_folder(&mock).await.unwrap().status().as_u16());
        }
        mock.shutdown().await.unwrap();
        out
    }
    let a = pattern().await;
    let b = pattern().await;
    assert_eq!(a, b);
    assert!(a.contains(&503) && a.iter().any(|s| *s != 503), "{a:?}");
}

#[tokio::test]
async fn faults_from_the_data_file_and_the_admin_endpoint() {
    let mock = start_with(&format!(
        "{ORG}\n[[faults]]\noperation = \"FindItem\"\nfault = {{ kind = \"http503\", retry_after_secs = 3 }}\n"
    ))
    .await;
    let find = client()
        .post(mock.url())
        .basic_auth("alice@contoso.test", Some("alice-pw"))
        .body(envelope("FindItem", None))
        .send()
        .await
        .unwrap();
    assert_eq!(find.status(), 503);
    assert_ne!(get_folder(&mock).await.unwrap().status(), 503);

    let added = client()
        .post(format!("{}/faults", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .body(r#"{"operation":"GetFolder","times":1,"fault":{"kind":"server_busy","back_off_ms":5,"as_soap_fault":true}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let bad = client()
        .post(format!("{}/faults", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(get_folder(&mock).await.unwrap().status(), 500);
    let listed: serde_json::Value = client()
        .get(format!("{}/faults", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["fired"], 1);
    let cleared = client()
        .delete(format!("{}/faults", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(mock.faults().is_empty());
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrency_limits_per_account() {
    let mock = start().await;
    mock.set_limits(2, 1);
    mock.add_fault(FaultRule::always(Fault::Latency { ms: 400 }));
    let started = (0..3).map(|_| get_folder(&mock));
    let results = futures::future::join_all(started).await;
    let mut busy = 0;
    for r in results {
        let r = r.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        if response_code(&text).as_deref() == Some("ErrorServerBusy") {
            assert_eq!(status, 500);
            assert!(text.contains("BackOffMilliseconds"));
            busy += 1;
        }
    }
    assert_eq!(busy, 1);
    // another account is not affected by alice's load; sync calls have their own limit
    let sync = |user: &'static str, pw: &'static str| {
        client()
            .post(mock.url())
            .basic_auth(user, Some(pw))
            .body(envelope("SyncFolderItems", None))
            .send()
    };
    let (a, b) = tokio::join!(
        sync("bob@contoso.test", "bob-pw"),
        sync("bob@contoso.test", "bob-pw")
    );
    let codes = [
        response_code(&a.unwrap().text().await.unwrap()),
        response_code(&b.unwrap().text().await.unwrap()),
    ];
    assert_eq!(
        codes
            .iter()
            .filter(|c| c.as_deref() == Some("ErrorServerBusy"))
            .count(),
        1,
        "{codes:?}"
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_dropped_after_processing_has_taken_effect() {
    use ews_client::envelope::{self, RequestHeaders};
    use ews_client::ops::CreateItem;
    use ews_client::types::{Contact, Item};
    let mock = start().await;
    mock.add_fault(
        FaultRule::always(Fault::DropAfterProcessing)
            .for_operation("CreateItem")
            .times(1),
    );
    let mut c = Contact::default();
    c.common.subject = Some("Persisted".into());
    let body = envelope::write_request(
        &RequestHeaders::default(),
        &CreateItem::save(vec![Item::Contact(c)], None),
    );
    let err = client()
        .post(mock.url())
        .basic_auth("bob@contoso.test", Some("bob-pw"))
        .body(body)
        .send()
        .await
        .expect_err("the connection drops");
    assert!(!err.is_status());
    let bob = mock.mailbox("bob@contoso.test").unwrap();
    assert!(
        bob.items_in("contacts")
            .any(|i| i.subject.as_deref() == Some("Persisted"))
    );
    mock.shutdown().await.unwrap();
}
