//! Benchmark (prints its figures): creating and reading N contacts (default 10,000) through
//! the mock's Graph front with graph-client, one contact per request and in `$batch`es of 20,
//! beside the same through its EWS front with ews-client (CreateItem of 100 contacts, FindItem
//! pages of 1,000). Both clients authenticate as the same app (client credentials; EWS with
//! impersonation). Figures: HTTP requests per item (from the mock's log) and client CPU per
//! item: the clients run on the main thread (a current-thread runtime), the mock on its own
//! threads, and the main thread's CPU time is read from `/proc/thread-self/schedstat`.
//!
//! `cargo bench -p ews-mock --bench graph_vs_ews` (`GRAPH_BENCH_CONTACTS` for another N).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::time::{Duration, Instant};

use ews_client::ops::{CreateItem, FindItem};
use ews_client::transport::{Auth, OAuthClientCredentials, SecretString};
use ews_client::types::shape::ItemShape;
use ews_client::types::{BaseFolderId, DistinguishedFolderName, Item};
use ews_mock::{MockConfig, MockServer, OrgData};
use graph_client::batch::BatchRequest;
use graph_client::contacts::Contact;
use graph_client::types::EmailAddress;
use graph_client::{ListOptions, auth};

const ORG: &str = r#"
[settings]
max_concurrency = 1000

# Exchange Online's per-mailbox budget (10,000 requests per 10 minutes) would refuse the
# one-request-per-contact run (the client's own budget is lifted below too).
[graph]
requests_per_window = 1000000
window_secs = 1

[[users]]
address = "graph@contoso.test"
password = "pw"

[[users]]
address = "ews@contoso.test"
password = "pw"

[[apps]]
client_id = "bench-app"
client_secret = "bench-secret"
roles = ["full_access_as_app"]
"#;

/// CPU time of the calling thread: `/proc/thread-self/schedstat` (nanoseconds on the CPU),
/// else utime + stime of `/proc/thread-self/stat` (10 ms ticks).
fn thread_cpu() -> Duration {
    if let Some(ns) = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
    {
        return Duration::from_nanos(ns);
    }
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // fields after the command name in parentheses: utime is field 14, stime 15
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // USER_HZ is 100 on Linux
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

struct Figures {
    name: &'static str,
    items: usize,
    requests: u64,
    cpu: Duration,
    wall: Duration,
}

impl Figures {
    fn print(&self) {
        println!(
            "{:<40} {:>7} items  {:>7} requests  {:>7.3} requests/item  {:>8.1} µs client CPU/item  {:>6.2} s wall",
            self.name,
            self.items,
            self.requests,
            self.requests as f64 / self.items as f64,
            self.cpu.as_secs_f64() * 1e6 / self.items as f64,
            self.wall.as_secs_f64()
        );
    }
}

fn contact(i: usize) -> Contact {
    Contact {
        given_name: Some(format!("Given{i}")),
        surname: Some(format!("Surname{i}")),
        display_name: Some(format!("Given{i} Surname{i}")),
        company_name: Some("Contoso".into()),
        email_addresses: Some(vec![EmailAddress {
            name: None,
            address: Some(format!("c{i}@example.org")),
        }]),
        business_phones: Some(vec![format!("+49 30 {i}")]),
        ..Contact::default()
    }
}

fn ews_contact(i: usize) -> Item {
    let mut c = ews_client::types::Contact {
        given_name: Some(format!("Given{i}")),
        surname: Some(format!("Surname{i}")),
        display_name: Some(format!("Given{i} Surname{i}")),
        company_name: Some("Contoso".into()),
        ..Default::default()
    };
    c.common.subject = c.display_name.clone();
    c.email_addresses
        .push(ews_client::types::contact::EmailAddressEntry::new(
            ews_client::types::contact::EmailAddressKey::EmailAddress1,
            format!("c{i}@example.org"),
        ));
    c.phone_numbers
        .push(ews_client::types::contact::PhoneNumberEntry::new(
            ews_client::types::contact::PhoneNumberKey::BusinessPhone,
            format!("+49 30 {i}"),
        ));
    Item::Contact(c)
}

fn total_requests(mock: &ews_mock::MockHandle) -> u64 {
    mock.request_counts().values().sum()
}

fn main() {
    let n: usize = std::env::var("GRAPH_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // the mock on its own runtime and threads
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let data = OrgData::from_toml(ORG).unwrap();
            let mock = MockServer::start(MockConfig::new(data)).await.unwrap();
            tx.send(std::sync::Arc::new(mock)).unwrap();
            let _ = stop_rx.await;
        });
    });
    let mock = rx.recv().unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut results = Vec::new();
    rt.block_on(async {
        let base = url::Url::parse(&format!("{}/v1.0/", mock.base_url())).unwrap();
        let mut creds = auth::credentials("contoso", "bench-app")
            .with_token_url(mock.token_url().parse().unwrap());
        creds.client_secret = SecretString::from("bench-secret".to_owned());
        let graph = graph_client::Client::new(
            graph_client::ClientConfig::new(auth::with_secret(creds).unwrap())
                .with_base_url(base)
                .with_timeouts(Duration::from_secs(30), Duration::from_secs(600))
                // Exchange Online's 10,000 requests per 10 minutes would pause this run
                .with_budget(1_000_000, Duration::from_secs(600)),
        )
        .unwrap();
        let mailbox = graph.mailbox("graph@contoso.test");

        // Graph: one contact per request, 4 in flight (the per-mailbox limit)
        mock.clear_log();
        let (cpu0, t0) = (thread_cpu(), Instant::now());
        let mut next = 0usize;
        while next < n {
            let end = (next + 4).min(n);
            let calls = (next..end).map(|i| {
                let body = contact(i);
                let mailbox = mailbox.clone();
                async move { mailbox.create_contact(None, &body).await.unwrap() }
            });
            futures::future::join_all(calls).await;
            next = end;
        }
        results.push(Figures {
            name: "Graph create (1 per request)",
            items: n,
            requests: total_requests(&mock),
            cpu: thread_cpu() - cpu0,
            wall: t0.elapsed(),
        });

        // Graph: read all, pages of 1,000
        mock.clear_log();
        let (cpu0, t0) = (thread_cpu(), Instant::now());
        let all = mailbox
            .contacts(None, &ListOptions::default().top(1000))
            .await
            .unwrap();
        assert_eq!(all.len(), n);
        results.push(Figures {
            name: "Graph read (list, $top=1000)",
            items: n,
            requests: total_requests(&mock),
            cpu: thread_cpu() - cpu0,
            wall: t0.elapsed(),
        });

        // Graph: create in $batches of 20 (each inner request counts in the log too)
        let batch_box = "ews@contoso.test"; // a fresh mailbox: the EWS run below uses graph's
        mock.clear_log();
        let (cpu0, t0) = (thread_cpu(), Instant::now());
        let mut http_requests = 0u64;
        for chunk in (0..n).collect::<Vec<_>>().chunks(20) {
            let requests: Vec<BatchRequest> = chunk
                .iter()
                .map(|i| {
                    BatchRequest::new(
                        i.to_string(),
                        "POST",
                        format!("/users/{batch_box}/contactFolders/contacts/contacts"),
                        Some(serde_json::to_value(contact(*i)).unwrap()),
                    )
                })
                .collect();
            let answers = graph.batch(batch_box, requests).await.unwrap();
            assert!(answers.iter().all(|a| a.status == 201));
            http_requests += 1;
        }
        results.push(Figures {
            name: "Graph create ($batch of 20; HTTP calls)",
            items: n,
            requests: http_requests,
            cpu: thread_cpu() - cpu0,
            wall: t0.elapsed(),
        });
        let batched = graph
            .mailbox(batch_box)
            .contacts(None, &ListOptions::default().top(1000).select(&["id"]))
            .await
            .unwrap();
        assert_eq!(batched.len(), n);

        // EWS: the same app with impersonation, CreateItem of 100, FindItem pages of 1,000
        let creds = OAuthClientCredentials::new("contoso", "bench-app", "bench-secret")
            .with_token_url(mock.token_url().parse().unwrap());
        let transport = ews_client::transport::TransportConfig::new(
            mock.url().parse().unwrap(),
            Auth::oauth(creds),
        );
        let ews = ews_client::Client::new(ews_client::ClientConfig::new(transport))
            .unwrap()
            .for_mailbox("graph@contoso.test");
        // EWS writes into its own folder so the reads count only its contacts
        let folder = ews
            .create_folder(
                BaseFolderId::from(DistinguishedFolderName::Contacts),
                ews_client::types::folder::Folder {
                    display_name: Some("EWS bench".into()),
                    folder_class: Some("IPF.Contact".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let folder_id = BaseFolderId::from(folder.folder_id.unwrap());
        mock.clear_log();
        let (cpu0, t0) = (thread_cpu(), Instant::now());
        for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
            let items = chunk.iter().map(|i| ews_contact(*i));
            let r = ews
                .execute(&CreateItem::save(items, Some(folder_id.clone())))
                .await
                .unwrap();
            assert_eq!(r.messages.len(), chunk.len());
        }
        results.push(Figures {
            name: "EWS create (CreateItem of 100)",
            items: n,
            requests: total_requests(&mock),
            cpu: thread_cpu() - cpu0,
            wall: t0.elapsed(),
        });
        mock.clear_log();
        let (cpu0, t0) = (thread_cpu(), Instant::now());
        let mut read = 0usize;
        let mut find = FindItem::new(folder_id.clone(), ItemShape::all_properties(), 1000);
        loop {
            let r = ews.execute(&find).await.unwrap();
            let page = r.messages.into_iter().next().unwrap().content;
            read += page.items.len();
            if !page.has_more() {
                break;
            }
            find = find.at_offset(read as u32);
        }
        assert_eq!(read, n);
        results.push(Figures {
            name: "EWS read (FindItem, pages of 1000)",
            items: n,
            requests: total_requests(&mock),
            cpu: thread_cpu() - cpu0,
            wall: t0.elapsed(),
        });
    });
    println!("creating and reading {n} contacts through the mock's Graph and EWS fronts");
    for f in &results {
        f.print();
    }
    let _ = stop_tx.send(());
    drop(mock);
    server.join().unwrap();
}
