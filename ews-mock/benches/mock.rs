//! Benchmark of the mock (prints its figures): a mailbox of 100,000 contacts; requests per
//! second for GetItem of 100 ids with `AllProperties` and with a shape naming its properties
//! one by one (as exchangelib and most clients send), the cost per item of each and their
//! ratio; a no-change SyncFolderItems; peak memory.
//!
//! `cargo bench -p ews-mock --bench mock` (set `EWS_MOCK_BENCH_CONTACTS` for another size).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::time::{Duration, Instant};

use ews_client::envelope::{self, RequestHeaders};
use ews_client::ops::{GetItem, SyncFolderItems};
use ews_client::types::shape::ItemShape;
use ews_client::types::{
    BaseFolderId, Contact, DistinguishedFolderName, Item, ItemId, PropertyPath,
};
use ews_mock::{MockConfig, MockServer, OrgData};

const CONCURRENCY: usize = 4;
const RUN_FOR: Duration = Duration::from_secs(3);

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn throughput(url: &str, body: Vec<u8>) -> (f64, usize) {
    let client = reqwest::Client::builder().build().unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let client = client.clone();
        let url = url.to_string();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            let mut bytes = 0usize;
            while started.elapsed() < RUN_FOR {
                let resp = client
                    .post(&url)
                    .basic_auth("bench@contoso.test", Some("pw"))
                    .header("Content-Type", "text/xml; charset=utf-8")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                bytes += resp.bytes().await.unwrap().len();
                n += 1;
            }
            (n, bytes)
        }));
    }
    let mut total = 0;
    let mut bytes = 0;
    for t in tasks {
        let (n, b) = t.await.unwrap();
        total += n;
        bytes += b;
    }
    (
        total as f64 / started.elapsed().as_secs_f64(),
        bytes / total.max(1),
    )
}

/// A contact shape as exchangelib sends it: every field by name, indexed ones entry by entry.
fn named_contact_shape() -> Vec<PropertyPath> {
    let mut paths: Vec<PropertyPath> = [
        "item:Subject",
        "item:Body",
        "item:Categories",
        "item:DateTimeCreated",
        "item:LastModifiedTime",
        "item:HasAttachments",
        "item:ItemClass",
        "contacts:GivenName",
        "contacts:MiddleName",
        "contacts:Surname",
        "contacts:DisplayName",
        "contacts:FileAs",
        "contacts:CompanyName",
        "contacts:JobTitle",
        "contacts:Department",
        "contacts:Birthday",
        "contacts:BusinessHomePage",
    ]
    .into_iter()
    .map(PropertyPath::field)
    .collect();
    for key in ["EmailAddress1", "EmailAddress2", "EmailAddress3"] {
        paths.push(PropertyPath::indexed("contacts:EmailAddress", key));
    }
    for key in [
        "BusinessPhone",
        "BusinessPhone2",
        "BusinessFax",
        "HomePhone",
        "HomePhone2",
        "HomeFax",
        "MobilePhone",
        "OtherTelephone",
        "OtherFax",
        "Pager",
        "PrimaryPhone",
        "CompanyMainPhone",
        "AssistantPhone",
        "CarPhone",
    ] {
        paths.push(PropertyPath::indexed("contacts:PhoneNumber", key));
    }
    for kind in ["Home", "Business", "Other"] {
        for part in ["Street", "City", "State", "CountryOrRegion", "PostalCode"] {
            paths.push(PropertyPath::indexed(
                format!("contacts:PhysicalAddress:{part}"),
                kind,
            ));
        }
    }
    for key in ["ImAddress1", "ImAddress2", "ImAddress3"] {
        paths.push(PropertyPath::indexed("contacts:ImAddress", key));
    }
    paths
}

#[tokio::main]
async fn main() {
    let contacts: u64 = std::env::var("EWS_MOCK_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let data = OrgData::from_toml(
        "[[users]]\naddress = \"bench@contoso.test\"\npassword = \"pw\"\n[settings]\nmax_concurrency = 1000\n",
    )
    .unwrap();
    let mock = MockServer::start(MockConfig::new(data)).await.unwrap();
    let seeded = Instant::now();
    let ids: Vec<String> = mock.with_store(|store| {
        let mb = store.mailbox_mut("bench@contoso.test").unwrap();
        let folder = mb.distinguished("contacts").unwrap();
        let mut ids = Vec::new();
        for i in 0..contacts {
            let mut c = Contact {
                given_name: Some(format!("Given{i}")),
                surname: Some(format!("Surname{i}")),
                company_name: Some("Contoso Ltd".to_string()),
                ..Contact::default()
            };
            c.common.subject = Some(format!("Given{i} Surname{i}"));
            let key = mb.create_item(folder, Item::Contact(c)).unwrap();
            if ids.len() < 100 {
                ids.push(mb.item_id(key));
            }
        }
        ids
    });
    println!(
        "seeded {contacts} contacts in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    let headers = RequestHeaders::default();
    let get = GetItem::new(
        ItemShape::all_properties(),
        ids.iter().map(|id| ItemId::new(id.clone())),
    );
    let (rps, size) = throughput(&mock.url(), envelope::write_request(&headers, &get)).await;
    println!("GetItem of 100 ids (AllProperties): {rps:.0} requests/s ({size} bytes each)");
    let all_per_item = 1e6 / (rps * 100.0);
    let named = GetItem::new(
        ItemShape::id_only().with_additional(named_contact_shape()),
        ids.iter().map(|id| ItemId::new(id.clone())),
    );
    let (rps, size) = throughput(&mock.url(), envelope::write_request(&headers, &named)).await;
    println!(
        "GetItem of 100 ids ({} named properties): {rps:.0} requests/s ({size} bytes each)",
        named_contact_shape().len()
    );
    let named_per_item = 1e6 / (rps * 100.0);
    println!(
        "per item: AllProperties {all_per_item:.1} us, named properties {named_per_item:.1} us \
         ({:.2}x)",
        named_per_item / all_per_item
    );

    // sync to the end once, then measure the no-change sync
    let folder = BaseFolderId::from(DistinguishedFolderName::Contacts);
    let client = reqwest::Client::new();
    let mut state = None;
    let full_sync = Instant::now();
    let mut pages = 0;
    loop {
        let op = SyncFolderItems::new(folder.clone(), ItemShape::id_only(), state.clone(), 512);
        let resp = client
            .post(mock.url())
            .basic_auth("bench@contoso.test", Some("pw"))
            .body(envelope::write_request(&headers, &op))
            .send()
            .await
            .unwrap();
        let bytes = resp.bytes().await.unwrap();
        let parsed = envelope::read_response::<SyncFolderItems>(&bytes).unwrap();
        let result = parsed.body.unwrap().into_single().unwrap();
        state = result.sync_state;
        pages += 1;
        if result.includes_last_item_in_range == Some(true) {
            break;
        }
    }
    println!(
        "initial SyncFolderItems: {pages} pages of 512 in {:.1} s",
        full_sync.elapsed().as_secs_f64()
    );
    let op = SyncFolderItems::new(folder, ItemShape::id_only(), state, 512);
    let (rps, size) = throughput(&mock.url(), envelope::write_request(&headers, &op)).await;
    println!("no-change SyncFolderItems: {rps:.0} requests/s ({size} bytes each)");
    match peak_memory_kib() {
        Some(kib) => println!("peak memory (VmHWM): {:.0} MiB", kib as f64 / 1024.0),
        None => println!("peak memory: unavailable on this platform"),
    }
    mock.shutdown().await.unwrap();
}
