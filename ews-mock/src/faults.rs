//! Injectable faults (deterministic with a seed) and per-account concurrency limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What a fault does to a matching request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Fault {
    /// `ErrorServerBusy` with `BackOffMilliseconds`: as a SOAP fault with HTTP 500, or (default)
    /// inside an HTTP 200 response message.
    ServerBusy {
        /// The back-off the server asks for.
        back_off_ms: u64,
        /// Whether to answer with a SOAP fault (HTTP 500) instead of an error response message.
        #[serde(default)]
        as_soap_fault: bool,
    },
    /// HTTP 503 Service Unavailable with `Retry-After`.
    Http503 {
        /// Seconds in the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// Delay before processing (combines with other faults).
    Latency {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection without processing the request.
    DropBeforeProcessing,
    /// Process the request (its changes persist), then close the connection without answering.
    DropAfterProcessing,
    /// Process the request, then send only the first half of the response body and close.
    Truncated,
    /// Process the request, then answer HTTP 200 with a malformed XML body.
    Malformed,
}

impl Fault {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::ServerBusy { .. } => "server_busy",
            Fault::Http503 { .. } => "http_503",
            Fault::Latency { .. } => "latency",
            Fault::DropBeforeProcessing => "drop_before_processing",
            Fault::DropAfterProcessing => "drop_after_processing",
            Fault::Truncated => "truncated",
            Fault::Malformed => "malformed",
        }
    }
}

/// A fault with the requests it applies to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Only requests of this operation (e.g. `GetItem`); all if absent.
    #[serde(default)]
    pub operation: Option<String>,
    /// Only requests acting on this mailbox; all if absent.
    #[serde(default)]
    pub mailbox: Option<String>,
    /// The fault.
    pub fault: Fault,
    /// Fire at most this many times; unlimited if absent.
    #[serde(default)]
    pub times: Option<u32>,
    /// Fire with this probability (seeded, deterministic); always if absent.
    #[serde(default)]
    pub probability: Option<f64>,
}

impl FaultRule {
    /// A rule firing `fault` on every request.
    pub fn always(fault: Fault) -> Self {
        FaultRule {
            operation: None,
            mailbox: None,
            fault,
            times: None,
            probability: None,
        }
    }

    /// Restricts the rule to an operation.
    pub fn for_operation(mut self, operation: &str) -> Self {
        self.operation = Some(operation.to_string());
        self
    }

    /// Restricts the rule to a mailbox.
    pub fn for_mailbox(mut self, mailbox: &str) -> Self {
        self.mailbox = Some(mailbox.to_string());
        self
    }

    /// Fires at most `n` times.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Fires with probability `p`.
    pub fn with_probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    fn matches(&self, operation: Option<&str>, mailbox: Option<&str>) -> bool {
        let op_ok = match (&self.operation, operation) {
            (None, _) => true,
            (Some(want), Some(op)) => want.eq_ignore_ascii_case(op),
            (Some(_), None) => false,
        };
        let mb_ok = match (&self.mailbox, mailbox) {
            (None, _) => true,
            (Some(want), Some(mb)) => want.eq_ignore_ascii_case(mb),
            (Some(_), None) => false,
        };
        op_ok && mb_ok
    }
}

/// A configured rule with how often it fired.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FaultStatus {
    /// The rule.
    pub rule: FaultRule,
    /// How many times it fired.
    pub fired: u32,
}

struct Inner {
    rules: Vec<FaultStatus>,
    rng: StdRng,
}

/// The fault engine: rules, counters and the seeded random generator.
pub struct FaultEngine {
    inner: Mutex<Inner>,
}

impl FaultEngine {
    /// An engine with the given rules and seed.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        FaultEngine {
            inner: Mutex::new(Inner {
                rules: rules
                    .into_iter()
                    .map(|rule| FaultStatus { rule, fired: 0 })
                    .collect(),
                rng: StdRng::seed_from_u64(seed),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a rule.
    pub fn add(&self, rule: FaultRule) {
        self.lock().rules.push(FaultStatus { rule, fired: 0 });
    }

    /// Removes all rules.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Reseeds the random generator.
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = StdRng::seed_from_u64(seed);
    }

    /// The rules and their counters.
    pub fn rules(&self) -> Vec<FaultStatus> {
        self.lock().rules.clone()
    }

    /// The faults that fire for a request, in rule order: any latencies and at most one other
    /// fault (a rule after the first firing non-latency rule is not considered, so it neither
    /// counts as fired nor draws a random number).
    pub fn pick(&self, operation: Option<&str>, mailbox: Option<&str>) -> Vec<Fault> {
        let mut inner = self.lock();
        let Inner { rules, rng } = &mut *inner;
        let mut out = Vec::new();
        let mut terminal = false;
        for status in rules.iter_mut() {
            if !status.rule.matches(operation, mailbox) {
                continue;
            }
            let is_latency = matches!(status.rule.fault, Fault::Latency { .. });
            if terminal && !is_latency {
                continue;
            }
            if status.rule.times.is_some_and(|n| status.fired >= n) {
                continue;
            }
            if let Some(p) = status.rule.probability
                && rng.random::<f64>() >= p
            {
                continue;
            }
            status.fired += 1;
            terminal |= !is_latency;
            out.push(status.rule.fault.clone());
        }
        out
    }
}

/// Per-account concurrency limits (EWSMaxConcurrency and ConcurrentSyncCalls).
#[derive(Clone)]
pub struct Limits {
    counts: Arc<Mutex<HashMap<String, (u32, u32)>>>,
    max: Arc<Mutex<(u32, u32)>>,
}

/// Held while a request runs; releases its slot when dropped.
pub struct LimitGuard {
    counts: Arc<Mutex<HashMap<String, (u32, u32)>>>,
    account: String,
    sync: bool,
}

impl Drop for LimitGuard {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = counts.get_mut(&self.account) {
            c.0 = c.0.saturating_sub(1);
            if self.sync {
                c.1 = c.1.saturating_sub(1);
            }
            if *c == (0, 0) {
                counts.remove(&self.account);
            }
        }
    }
}

impl Limits {
    /// Limits of `max_concurrency` requests and `max_sync` sync calls per account.
    pub fn new(max_concurrency: u32, max_sync: u32) -> Self {
        Limits {
            counts: Arc::new(Mutex::new(HashMap::new())),
            max: Arc::new(Mutex::new((max_concurrency, max_sync))),
        }
    }

    /// Changes the limits.
    pub fn set(&self, max_concurrency: u32, max_sync: u32) {
        *self.max.lock().unwrap_or_else(|p| p.into_inner()) = (max_concurrency, max_sync);
    }

    /// Takes a slot for `account`, or `None` when a limit is reached.
    pub fn acquire(&self, account: &str, sync: bool) -> Option<LimitGuard> {
        let (max, max_sync) = *self.max.lock().unwrap_or_else(|p| p.into_inner());
        let account = account.to_ascii_lowercase();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry(account.clone()).or_insert((0, 0));
        if c.0 >= max || (sync && c.1 >= max_sync) {
            if *c == (0, 0) {
                counts.remove(&account);
            }
            return None;
        }
        c.0 += 1;
        if sync {
            c.1 += 1;
        }
        Some(LimitGuard {
            counts: self.counts.clone(),
            account,
            sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_fire_n_times_and_are_deterministic() {
        let engine = FaultEngine::new(
            vec![
                FaultRule::always(Fault::Malformed)
                    .for_operation("GetItem")
                    .times(2),
                FaultRule::always(Fault::Latency { ms: 5 }).with_probability(0.5),
            ],
            7,
        );
        let a: Vec<Vec<Fault>> = (0..20)
            .map(|_| engine.pick(Some("GetItem"), None))
            .collect();
        assert_eq!(a[0][0], Fault::Malformed);
        assert_eq!(a[1][0], Fault::Malformed);
        assert!(a[2..].iter().all(|f| !f.contains(&Fault::Malformed)));
        let latencies = a
            .iter()
            .filter(|f| f.contains(&Fault::Latency { ms: 5 }))
            .count();
        assert!(latencies > 0 && latencies < 20, "{latencies}");
        // the same seed and requests give the same faults
        let again = FaultEngine::new(engine.rules().into_iter().map(|s| s.rule).collect(), 7);
        let b: Vec<Vec<Fault>> = (0..20).map(|_| again.pick(Some("GetItem"), None)).collect();
        assert_eq!(a, b);
        assert!(engine.pick(Some("FindItem"), Some("x@y")).len() <= 1);
    }

    #[test]
    fn limits_count_per_account() {
        let limits = Limits::new(2, 1);
        let g1 = limits.acquire("A@x", false).unwrap();
        let s1 = limits.acquire("a@x", true).unwrap();
        assert!(limits.acquire("a@x", false).is_none());
        assert!(limits.acquire("b@x", true).is_some());
        drop(g1);
        assert!(limits.acquire("a@x", true).is_none(), "sync limit");
        assert!(limits.acquire("a@x", false).is_some());
        drop(s1);
    }
}
