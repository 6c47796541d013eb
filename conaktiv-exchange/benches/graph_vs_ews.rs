//! Initial sync and no-change runs of 10,000 contacts (CRM -> Exchange) over Microsoft Graph
//! beside the same over EWS, against the mock (`conaktiv-exchange mock`) in a child process,
//! so that this process's CPU time is the connector's alone (with its SQLite CRM and state).
//!
//! `cargo bench -p conaktiv-exchange --bench graph_vs_ews` (`GRAPH_BENCH_CONTACTS` for another
//! N). Prints per backend and phase: requests by operation (the mock's counts), requests per
//! item, wall time, connector CPU per item (`getrusage` of this process) and peak heap (a
//! counting global allocator).
// The counting allocator is the only unsafe code: it forwards to the system allocator.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use conaktiv_exchange::host::{CrmStore, DirectoryUser};
use conaktiv_exchange::service::{Connector, CrmStores};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::{Configuration, ContactPerson};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the same arguments; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const ORG: &str = r#"
[settings]
max_concurrency = 1000

# Graph's per-mailbox budget (10,000 requests per 10 minutes) would stretch an initial sync of
# 10,000 contacts past ten minutes of waiting; the benchmark measures the connector, not the
# wait, so the mock's budget is lifted here (the connector's is set to match).
[graph]
requests_per_window = 1000000
window_secs = 1

[[apps]]
client_id = "bench-app"
client_secret = "bench-secret"
tenant = "contoso"

[[users]]
address = "svc@contoso.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"

[[mailboxes]]
owner = "bob@contoso.test"
"#;

const RULE: &str = r#"
[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }
"#;

/// CPU time (user + system) of this process.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

struct Mock {
    child: Child,
    urls: serde_json::Value,
    http: reqwest::Client,
}

impl Mock {
    fn start(dir: &std::path::Path) -> Mock {
        let org = dir.join("org.toml");
        std::fs::write(&org, ORG).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_conaktiv-exchange"))
            .args(["--json", "mock", "--listen", "127.0.0.1:0", "--data"])
            .arg(&org)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Mock {
            child,
            urls: serde_json::from_str(&line).unwrap(),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, name: &str) -> String {
        self.urls[name].as_str().unwrap_or_default().to_owned()
    }

    async fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        let mut r = self
            .http
            .request(method, format!("{}/{path}", self.url("admin")));
        if let Some(t) = self.urls["admin_token"].as_str() {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    async fn counts(&self) -> BTreeMap<String, u64> {
        let body = self
            .admin(reqwest::Method::GET, "counts")
            .await
            .bytes()
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    async fn clear(&self) {
        self.admin(reqwest::Method::DELETE, "log").await;
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(mock: &Mock, graph: bool) -> Configuration {
    let ews = mock.url("ews");
    let server = if graph {
        format!(
            "[[servers]]\nname = \"Mock\"\nurl = \"{ews}\"\nkind = \"exchange_online\"\nadmin_mailbox = \"svc@contoso.test\"\ngraph_url = \"{}\"\ngraph_request_budget = {{ requests = 10000, window_secs = 1 }}\noauth = {{ tenant_id = \"contoso\", client_id = \"bench-app\", client_secret = \"bench-secret\", token_url = \"{}\" }}\n",
            mock.url("graph"),
            mock.url("token")
        )
    } else {
        format!(
            "[[servers]]\nname = \"Mock\"\nurl = \"{ews}\"\nkind = \"on_premises\"\nadmin_user = \"svc@contoso.test\"\nadmin_password = \"svc-pw\"\nauth_scheme = \"basic\"\n"
        )
    };
    Configuration::from_toml_str(&format!("{server}{RULE}"), "bench.toml").unwrap()
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

async fn backend(name: &str, graph: bool, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mock = Mock::start(dir.path());
    let db = SqliteDb::open(dir.path().join("crm.sqlite")).unwrap();
    db.directory()
        .put_user(&DirectoryUser {
            name: "bob".into(),
            display_name: "Bob".into(),
            mailbox: Some("bob@contoso.test".into()),
            active: true,
            ..DirectoryUser::default()
        })
        .await
        .unwrap();
    let crm = db.crm();
    for i in 0..n {
        let mut c = ContactPerson::default();
        c.name.given_name = format!("Vorname{i}");
        c.name.surname = format!("Nachname{i}");
        c.company = format!("Firma {} GmbH", i % 97);
        c.notes = "Seeded by the benchmark.".into();
        CrmStore::<ContactPerson>::create(&crm, Some("bob"), &c, None)
            .await
            .unwrap();
    }
    let connector = Connector::from_config(
        config(&mock, graph),
        None,
        CrmStores::all(db.crm()),
        Arc::new(db.directory()),
        dir.path().join("state"),
    )
    .unwrap();
    println!("\n##### {name}: {n} contacts");
    for (phase, items) in [
        ("initial sync", n),
        ("no-change run", 0),
        ("no-change run", 0),
    ] {
        mock.clear().await;
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let cpu = process_cpu();
        let start = Instant::now();
        let summary = connector.run(None, None).await.unwrap();
        let secs = start.elapsed().as_secs_f64();
        let cpu = process_cpu().saturating_sub(cpu);
        let report = summary.items[0].status.report().expect("job");
        assert!(report.is_complete(), "{report:?}");
        let counts = mock.counts().await;
        let total: u64 = counts
            .iter()
            .filter(|(k, _)| !k.contains("token"))
            .map(|(_, v)| *v)
            .sum();
        println!("== {name}, {phase}");
        for (op, c) in &counts {
            println!("   {op:<32} {c:>7}");
        }
        let per = n.max(1) as f64;
        println!(
            "   requests                         {total:>7} ({:.3} per contact)",
            total as f64 / per
        );
        println!("   wall time                        {secs:>9.2} s");
        println!(
            "   connector CPU                    {:>9.2} s ({:.0} us per contact)",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / per
        );
        if items > 0 {
            println!(
                "   contacts per second              {:>9.0}",
                items as f64 / secs
            );
        }
        println!(
            "   peak heap                        {:>9.1} MiB ({:.1} MiB live at start)",
            mib(PEAK.load(Ordering::Relaxed)),
            mib(base)
        );
        println!(
            "   writes                           {:>7}",
            report.to_exchange.content_writes() + report.to_conaktiv.content_writes()
        );
    }
}

fn main() {
    let n: usize = std::env::var("GRAPH_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        backend("EWS", false, n).await;
        backend("Microsoft Graph", true, n).await;
    });
}
