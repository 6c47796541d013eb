//! Concurrency limits: one semaphore per client and one per anchor mailbox.

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
    per_mailbox: usize,
    mailboxes: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Permits held for the duration of one `post`.
pub struct Permits {
    _mailbox: Option<OwnedSemaphorePermit>,
    _global: OwnedSemaphorePermit,
}

impl Limits {
    /// At most `global` requests in flight, and at most `per_mailbox` per mailbox.
    pub fn new(global: usize, per_mailbox: usize) -> Self {
        Self {
            global: Arc::new(Semaphore::new(global)),
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

    /// Waits for a mailbox permit (if any) and then a client permit, until `deadline`.
    pub async fn acquire(
        &self,
        mailbox: Option<&str>,
        deadline: Instant,
    ) -> Result<Permits, TransportError> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let timed_out = || TransportError::DeadlineExceeded {
            attempts: 0,
            outcome_unknown: false,
        };
        let closed = |_| TransportError::InvalidConfig("transport shut down".to_owned());
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
            _mailbox: mailbox_permit,
            _global: global,
        })
    }
}
