//! Concurrency limits: one semaphore per client, one per anchor mailbox, and one for the
//! client's `Sync*` calls (Exchange's ConcurrentSyncCalls).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::TransportError;

/// Prune unused per-mailbox semaphores when the map grows beyond this.
const PRUNE_THRESHOLD: usize = 1024;

/// Concurrency limits of one client: a semaphore for the client and one per mailbox.
pub struct Limits {
    global: Arc<Semaphore>,
    sync: Arc<Semaphore>,
    per_mailbox: usize,
    mailboxes: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Permits held for the duration of one `post`.
pub struct Permits {
    _sync: Option<OwnedSemaphorePermit>,
    _mailbox: Option<OwnedSemaphorePermit>,
    _global: OwnedSemaphorePermit,
}

impl Limits {
    /// At most `global` requests in flight, at most `per_mailbox` per mailbox, and at most
    /// `sync` of them `Sync*` calls.
    pub fn new(global: usize, per_mailbox: usize, sync: usize) -> Self {
        Self {
            global: Arc::new(Semaphore::new(global)),
            sync: Arc::new(Semaphore::new(sync)),
            per_mailbox,
            mailboxes: Mutex::new(HashMap::new()),
        }
    }

    fn mailbox_semaphore(&self, mailbox: &str) -> Arc<Semaphore> {
        let key = mailbox.trim().to_lowercase();
        let mut map = self
            .mailboxes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= PRUNE_THRESHOLD {
            map.retain(|_, s| Arc::strong_count(s) > 1);
        }
        map.entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_mailbox)))
            .clone()
    }

    /// Waits for a sync-call permit (for a `Sync*` call), a mailbox permit (if any) and
    /// then a client permit, until `deadline`.
    pub async fn acquire(
        &self,
        mailbox: Option<&str>,
        is_sync_call: bool,
        deadline: Instant,
    ) -> Result<Permits, TransportError> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let timed_out = || TransportError::DeadlineExceeded {
            attempts: 0,
            outcome_unknown: false,
        };
        let closed = |_| TransportError::InvalidConfig("transport shut down".to_owned());
        let sync_permit = if is_sync_call {
            Some(
                tokio::time::timeout_at(deadline, self.sync.clone().acquire_owned())
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(closed)?,
            )
        } else {
            None
        };
        let mailbox_permit = match mailbox {
            Some(m) => {
                let sem = self.mailbox_semaphore(m);
                Some(
                    tokio::time::timeout_at(deadline, sem.acquire_owned())
                        .await
                        .map_err(|_| timed_out())?
                        .map_err(closed)?,
                )
            }
            None => None,
        };
        let global = tokio::time::timeout_at(deadline, self.global.clone().acquire_owned())
            .await
            .map_err(|_| timed_out())?
            .map_err(closed)?;
        Ok(Permits {
            _sync: sync_permit,
            _mailbox: mailbox_permit,
            _global: global,
        })
    }
}
