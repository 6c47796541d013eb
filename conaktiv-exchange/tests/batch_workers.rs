#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Several `batch` processes (workers) share one machine's jobs (the scheduler's SQLite
//! store in the shared state folder) against the mock: every job runs once per interval,
//! by one of them, and when one worker is killed (`kill -9`) the others go on alone.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use conaktiv_exchange::service::demo::demo_org;
use ews_mock::{MockConfig, MockServer, OrgData};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");

/// The interval of the test's batch task, in seconds.
const INTERVAL: i64 = 5;
/// A run's report states when the job started; the scheduler decides its slot a little
/// later, after reading its state and taking its lease. A run that starts this close to a
/// slot's end may belong to the next slot.
const DECISION_SLACK_MS: i64 = 250;

fn config_for(dir: &Path, port: u16) -> String {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
    let text = std::fs::read_to_string(demo)
        .unwrap()
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn slot(ms: i64) -> i64 {
    ms.div_euclid(INTERVAL * 1000)
}

/// A job's run as a worker printed it.
#[derive(Debug, Clone)]
struct RunSeen {
    worker: usize,
    job: String,
    started_ms: i64,
}

fn spawn_worker(
    n: usize,
    args: &[String],
    seen: &Arc<Mutex<Vec<RunSeen>>>,
) -> tokio::process::Child {
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("CONAKTIV_EXCHANGE_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let seen = Arc::clone(seen);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            for item in v["items"].as_array().into_iter().flatten() {
                let status = item["status"].as_str().unwrap_or_default();
                if status == "failed" {
                    // Checked by the test (a panic here would go unseen).
                    seen.lock().unwrap().push(RunSeen {
                        worker: n,
                        job: format!("FAILED {item}"),
                        started_ms: 0,
                    });
                }
                if status != "succeeded" {
                    continue;
                }
                let started = item["started"].as_str().unwrap();
                let started: DateTime<Utc> = started.parse().unwrap();
                seen.lock().unwrap().push(RunSeen {
                    worker: n,
                    job: format!("{}/{}", item["mailbox"], item["table"]),
                    started_ms: started.timestamp_millis(),
                });
            }
        }
    });
    child
}

async fn term(child: &mut tokio::process::Child) {
    common::sigterm(child.id().unwrap());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
}

/// Checks that no job ran twice in one slot, and that in every slot wholly inside
/// `[from_ms, to_ms)` every job of `jobs` ran; returns those slots.
fn check(runs: &[RunSeen], jobs: &BTreeSet<String>, from_ms: i64, to_ms: i64) -> Vec<i64> {
    let mut by_job: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for r in runs {
        by_job.entry(&r.job).or_default().push(r.started_ms);
    }
    for (job, starts) in &mut by_job {
        starts.sort_unstable();
        for pair in starts.windows(2) {
            // Twice in one slot for certain: the first run's slot is the latest slot the
            // second could have been decided in.
            assert!(
                slot(pair[0]) < slot(pair[1] + DECISION_SLACK_MS),
                "{job} ran twice in one slot: {runs:?}"
            );
        }
    }
    let first = slot(from_ms) + 1;
    let last = slot(to_ms) - 1; // the last slot that ends before `to_ms`
    let complete: Vec<i64> = (first..=last).collect();
    for s in &complete {
        let (start, end) = (s * INTERVAL * 1000, (s + 1) * INTERVAL * 1000);
        for job in jobs {
            assert!(
                runs.iter().any(|r| r.job == *job
                    && r.started_ms >= start - DECISION_SLACK_MS
                    && r.started_ms < end),
                "{job} did not run in slot {s}: {runs:?}"
            );
        }
    }
    complete
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_run_each_job_once_per_interval_and_survive_a_kill() {
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(&demo_org()).unwrap()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), mock.addr().port());
    let db = dir.path().join("crm.sqlite").display().to_string();
    let args: Vec<String> = [
        "--config",
        &config,
        "--json",
        "batch",
        "--db",
        &db,
        "--interval-secs",
        &INTERVAL.to_string(),
        "--poll-secs",
        "1",
        "--lease-ttl-secs",
        "6",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let started = Utc::now().timestamp_millis();
    let mut workers: Vec<_> = (0..3).map(|n| spawn_worker(n, &args, &seen)).collect();

    // All three for a while: the jobs are shared, each runs once per slot.
    tokio::time::sleep(Duration::from_secs(13)).await;
    let killed_at = Utc::now().timestamp_millis();
    workers[0].start_kill().unwrap(); // SIGKILL: no clean-up, its leases stay behind
    workers[0].wait().await.unwrap();
    let before: Vec<RunSeen> = seen.lock().unwrap().clone();
    assert!(
        !before.iter().any(|r| r.job.starts_with("FAILED")),
        "{before:?}"
    );
    let jobs: BTreeSet<String> = before.iter().map(|r| r.job.clone()).collect();
    assert_eq!(jobs.len(), 4, "the demo user's four tables: {before:?}");
    let slots = check(&before, &jobs, started + 1500, killed_at);
    assert!(!slots.is_empty(), "no complete slot before the kill");
    let runners: BTreeSet<usize> = before.iter().map(|r| r.worker).collect();
    assert!(runners.len() >= 2, "one worker did everything: {before:?}");

    // The two others go on alone.
    tokio::time::sleep(Duration::from_secs(13)).await;
    let stopped = Utc::now().timestamp_millis();
    for w in &mut workers[1..] {
        term(w).await;
    }
    let all: Vec<RunSeen> = seen.lock().unwrap().clone();
    assert!(!all.iter().any(|r| r.job.starts_with("FAILED")), "{all:?}");
    let after_kill = check(&all, &jobs, killed_at, stopped);
    assert!(!after_kill.is_empty(), "no complete slot after the kill");
    println!(
        "{} runs; complete slots before the kill {slots:?}, after {after_kill:?}",
        all.len()
    );
}
