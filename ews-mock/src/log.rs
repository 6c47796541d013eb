//! The request log and counts by operation.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One request as the mock saw it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LogEntry {
    /// Order of arrival (from 1).
    pub seq: u64,
    /// When it arrived.
    pub time: DateTime<Utc>,
    /// The operation (`GetItem`), if the body could be read.
    pub operation: Option<String>,
    /// The authenticated account (user address or app client id).
    pub caller: Option<String>,
    /// The mailbox acted on.
    pub mailbox: Option<String>,
    /// The account that impersonated `mailbox`, if impersonation was used.
    pub impersonating: Option<String>,
    /// HTTP status of the answer (0 if the connection was dropped).
    pub status: u16,
    /// EWS response code of the first (or only) response message or fault.
    pub response_code: Option<String>,
    /// Faults injected into this request.
    pub faults: Vec<String>,
}

/// Entries kept at most; older ones are dropped (counts keep counting), so a long benchmark
/// does not grow the mock's memory without bound.
pub const MAX_LOG_ENTRIES: usize = 100_000;

/// The log.
#[derive(Default)]
pub struct RequestLog {
    inner: Mutex<(u64, VecDeque<LogEntry>, BTreeMap<String, u64>)>,
}

impl RequestLog {
    /// Appends an entry (its `seq` is assigned here).
    pub fn push(&self, mut entry: LogEntry) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.0 += 1;
        entry.seq = inner.0;
        if let Some(op) = &entry.operation {
            *inner.2.entry(op.clone()).or_insert(0) += 1;
        }
        if inner.1.len() >= MAX_LOG_ENTRIES {
            inner.1.pop_front();
        }
        inner.1.push_back(entry);
    }

    /// The entries kept (the last [`MAX_LOG_ENTRIES`]).
    pub fn entries(&self) -> Vec<LogEntry> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.1.iter().cloned().collect()
    }

    /// Request counts by operation.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .2
            .clone()
    }

    /// Forgets entries and counts.
    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.1.clear();
        inner.2.clear();
    }
}
