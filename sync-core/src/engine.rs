//! The driver: reads both sides and the store, plans (pure), and applies a plan.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::plan::{self, Change, Plan, PlanItem, SideListing, StateSnapshot};
use crate::{
    AsyncStateStore, Counts, Id, Intent, PerSide, Policy, Record, Side, SideId, StateBatch,
    SyncError, Timestamp, WriteOp, WriteOutcome,
};

/// The result of one planned write, as reported after `apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteResult {
    /// Written.
    Done,
    /// Left for the next run: the record changed since planning.
    Conflict,
    /// Left for the next run: the record disappeared since planning.
    NotFound,
    /// Not written.
    Failed(String),
    /// May or may not have been written; the next run re-pairs by key.
    Unknown(String),
    /// Not attempted (its create did not succeed).
    NotAttempted,
}

impl WriteResult {
    fn from_outcome(o: Option<&WriteOutcome>) -> WriteResult {
        match o {
            Some(WriteOutcome::Done { .. }) => WriteResult::Done,
            Some(WriteOutcome::Conflict) => WriteResult::Conflict,
            Some(WriteOutcome::NotFound) => WriteResult::NotFound,
            Some(WriteOutcome::Failed(e)) => WriteResult::Failed(e.clone()),
            Some(WriteOutcome::Unknown(e)) => WriteResult::Unknown(e.clone()),
            None => WriteResult::NotAttempted,
        }
    }
}

/// What happened to one planned item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemReport {
    /// The pair's key.
    pub key: String,
    /// What was planned.
    pub change: Change,
    /// The local write's result, if one was planned.
    pub local: Option<WriteResult>,
    /// The remote write's result, if one was planned.
    pub remote: Option<WriteResult>,
}

/// The report of an applied plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// One entry per planned item, in plan order.
    pub items: Vec<ItemReport>,
    /// The writes that succeeded, counted like [`Plan::counts`].
    pub counts: PerSide<Counts>,
    /// Writes that did not succeed (conflict, not found, failed, unknown, not attempted).
    pub incomplete: usize,
    /// Of `incomplete`: writes the side refused ([`WriteResult::Failed`]).
    pub failed: usize,
    /// Of `incomplete`: writes whose outcome is unknown ([`WriteResult::Unknown`]); the next
    /// run re-pairs them by key.
    pub unknown: usize,
    /// Of `incomplete`: writes left for the next run because the record changed or
    /// disappeared since planning ([`WriteResult::Conflict`], [`WriteResult::NotFound`]).
    pub conflicts: usize,
    /// The pairs this run detached, with the reason (their state was committed).
    pub detached: Vec<crate::Detached>,
    /// Detached pairs this run re-attached (see [`Engine::with_reattach`]).
    pub reattached: usize,
    /// Items left out because another run changed their state since this plan was made
    /// (their writes are counted in `conflicts`).
    pub stale: usize,
}

impl Report {
    /// All writes that succeeded, both sides ([`PerSide::total`] of [`Report::counts`]).
    pub fn total_writes(&self) -> usize {
        self.counts.total()
    }

    /// Whether every planned write succeeded.
    pub fn is_complete(&self) -> bool {
        self.incomplete == 0
    }

    /// Whether a write failed or its outcome stayed unknown: what a host reports as a
    /// failed run (conflicts and detaches are not failures: the next run or an admin
    /// handles them).
    pub fn has_failures(&self) -> bool {
        self.failed > 0 || self.unknown > 0
    }
}

/// Where the plan's inputs came from (for figures and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Sides read with a full listing.
    pub full_listings: usize,
    /// Sides read through their change feed.
    pub feeds: usize,
    /// Listing or feed entries read, both sides.
    pub entries: usize,
    /// Pairs loaded from the store.
    pub pairs_loaded: usize,
    /// Records fetched, both sides.
    pub records_fetched: usize,
}

/// A plan together with how it was read.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The plan (the preview).
    pub plan: Plan,
    /// What reading cost.
    pub stats: ReadStats,
}

/// Whether a run re-attaches detached pairs (see [`Engine::with_reattach`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Reattach {
    /// Leave detached pairs detached (the default).
    #[default]
    Off,
    /// Write the kept record of every detached pair back to the side that lost it.
    On,
}

/// The sync engine: a [`Policy`] plus batch sizes.
#[derive(Debug, Clone)]
pub struct Engine {
    policy: Policy,
    batch_size: usize,
    reattach: Reattach,
}

fn side_err(side: SideId) -> impl FnOnce(crate::SideError) -> SyncError {
    move |source| SyncError::Side { side, source }
}

impl Engine {
    /// An engine for a policy, with batches of 100 writes. Fails with
    /// [`SyncError::InvalidPolicy`] if the policy's numbers are out of range.
    pub fn new(policy: Policy) -> Result<Self, SyncError> {
        policy.validate()?;
        Ok(Engine {
            policy,
            batch_size: 100,
            reattach: Reattach::Off,
        })
    }

    /// Re-attach detached pairs ([`Reattach::On`]; [`Reattach::Off`] by default): the kept record of every detached pair is
    /// created again on the side that lost it, carrying the pair's key, and the pair is
    /// tracked again; so records a side lost (an Exchange mailbox restored from a backup, a
    /// delete with the delete switch off) come back. Governed by the policy's `transfer_new`
    /// switch into that side, like any create. A run with re-attach on lists both sides in
    /// full. If the lost record had only left the scope (another folder, a filter) and comes
    /// back later, it replaces the re-attached copy (the copy is deleted, its edits merged)
    /// where the policy allows deletes on that side; otherwise both stay.
    #[must_use]
    pub fn with_reattach(mut self, reattach: Reattach) -> Self {
        self.reattach = reattach;
        self
    }

    /// Set how many items are written (and committed to the state) per batch.
    #[must_use]
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Read both sides and the state and plan: the preview. Nothing is written. `now` is the
    /// time the plan is made at (the engine reads no clock); it stamps the intents and
    /// detaches the plan leads to.
    ///
    /// A side is read through its change feed when a token is stored, no create has an
    /// unknown outcome and the state is not empty; otherwise it is listed in full.
    ///
    /// The store is taken by `&mut` so that the future is `Send` for any `Send` store (an
    /// SQLite connection is not `Sync`); nothing is written to it.
    pub async fn prepare<L: Side, R: Side, S: AsyncStateStore>(
        &self,
        local: &mut L,
        remote: &mut R,
        store: &mut S,
        now: Timestamp,
    ) -> Result<Prepared, SyncError> {
        let intents = store.intents().await?;
        let total_pairs = store.pair_count().await?;
        let recover = !intents.is_empty() || total_pairs == 0 || self.reattach == Reattach::On;
        let mut stats = ReadStats::default();
        let lt = if recover {
            None
        } else {
            store.token(SideId::Local).await?
        };
        let rt = if recover {
            None
        } else {
            store.token(SideId::Remote).await?
        };
        let stored_tokens = if recover {
            Vec::new()
        } else {
            vec![(SideId::Local, lt.clone()), (SideId::Remote, rt.clone())]
        };
        let (mut l_listing, mut l_token) = read(local, SideId::Local, lt, &mut stats).await?;
        let (mut r_listing, mut r_token) = read(remote, SideId::Remote, rt, &mut stats).await?;

        let mut pairs = if matches!(l_listing, SideListing::Full(_))
            || matches!(r_listing, SideListing::Full(_))
        {
            store.all_pairs().await?
        } else {
            let (l, r, k) = plan::touched(&l_listing, &r_listing);
            store.pairs_for(&l, &r, &k).await?
        };
        // A feed reporting a record that carries a key but belongs to no pair (a record
        // that comes back after its pair was forgotten, or that the state never knew): its
        // partner may exist on the other side without being in that side's feed. List both
        // sides in full so that it is linked rather than copied a second time.
        if stray_keyed(&l_listing, &pairs, SideId::Local)
            || stray_keyed(&r_listing, &pairs, SideId::Remote)
        {
            tracing::debug!("a changed record carries a key no pair knows; listing in full");
            if matches!(l_listing, SideListing::Delta { .. }) {
                (l_listing, l_token) = read(local, SideId::Local, None, &mut stats).await?;
            }
            if matches!(r_listing, SideListing::Delta { .. }) {
                (r_listing, r_token) = read(remote, SideId::Remote, None, &mut stats).await?;
            }
            pairs = store.all_pairs().await?;
        }
        stats.pairs_loaded = pairs.len();
        let state = StateSnapshot {
            pairs,
            total_pairs,
            intents,
        };
        let planner = plan::Planner::new(&l_listing, &r_listing, &state, &self.policy)
            .with_reattach(self.reattach);
        let (lids, rids) = planner.needed_records();
        let l_records = fetch(local, SideId::Local, &lids, self.batch_size).await?;
        let r_records = fetch(remote, SideId::Remote, &rids, self.batch_size).await?;
        stats.records_fetched = l_records.len() + r_records.len();
        let mut plan = planner.plan(&l_records, &r_records, now);
        plan.tokens = vec![(SideId::Local, l_token), (SideId::Remote, r_token)];
        plan.stored_tokens = stored_tokens;
        tracing::debug!(counts = ?plan.counts, items = plan.items.len(), "planned sync run");
        Ok(Prepared { plan, stats })
    }

    /// Carry out a plan: journal create intents, write in batches with version checks, and
    /// commit the state once per batch. Refuses a plan whose mass-delete guard tripped
    /// ([`Plan::guard`]) with [`SyncError::MassDelete`]; a host that showed the preview and
    /// got the user's consent accepts it with [`Plan::accept_mass_delete`] (or plans again
    /// with [`Policy::force`]) to proceed.
    ///
    /// After a complete run, the change-feed token stored for a side is: the run's start
    /// token if nothing was written there (no extra call); otherwise the token of one more
    /// [`Side::changes_since`] from the start token if that reports nothing but this run's
    /// own successful writes (same id and resulting version; removals only of ids it deleted),
    /// and no token at all if it reports anything else, fails or has expired, so that the
    /// next run lists that side in full. A feed that coalesces changes (a record created by
    /// this run and deleted before the next shows up as nothing) thus cannot hide a change
    /// behind the cursor. After an incomplete run no token is stored; the stored tokens are
    /// cleared before the first write or state change, so a run that stops half-way (a
    /// crash) leaves none. A plan without items does not store a token equal to the one the
    /// store held when it was planned, so a no-change run commits nothing.
    ///
    /// Two runs at once: an item whose stored pair changed since the plan was made, or for
    /// which another run has journaled a create, is not written; it is reported as a
    /// conflict ([`Report::stale`]) and left for the next run. This keeps a plan applied
    /// after another run's writes from creating second copies or writing outdated merges.
    /// (Hosts should still let one run at a time work on a state store.)
    pub async fn apply<L: Side, R: Side, S: AsyncStateStore>(
        &self,
        plan: &Plan,
        local: &mut L,
        remote: &mut R,
        store: &mut S,
    ) -> Result<Report, SyncError> {
        if let Some(g) = &plan.guard {
            return Err(SyncError::MassDelete(g.clone()));
        }
        let mut done = Done::default();
        // The stored pair each key had when the plan was made.
        let mut expected: HashMap<&str, Option<&crate::Pair>> = HashMap::new();
        for item in &plan.items {
            let e = expected.entry(item.key.as_str()).or_insert(None);
            if item.pair.is_some() {
                *e = item.pair.as_ref();
            }
        }
        let planned = Planned {
            expected,
            recovered: plan.recovered_intents.iter().map(String::as_str).collect(),
            now: plan.now,
        };
        // Before the first write or state change, the stored change-feed tokens go: if the
        // run stops before its end (a crash), the next run lists both sides in full instead
        // of reading a feed that may net what this run saw or wrote out against later
        // changes.
        done.clear_tokens = !plan.items.is_empty();
        for chunk in plan.items.chunks(self.batch_size) {
            self.apply_chunk(chunk, &planned, local, remote, store, &mut done)
                .await?;
        }
        let Done { report, own, .. } = done;
        let batch = if report.is_complete() && plan.skipped.is_empty() {
            let mut tokens = Vec::with_capacity(plan.tokens.len());
            for (side, start) in &plan.tokens {
                let token = match (start, own[idx(*side)].is_empty()) {
                    (None, _) => None,
                    // Nothing written here: the start token still covers everything.
                    (Some(t), true) => Some(t.clone()),
                    (Some(t), false) => match side {
                        SideId::Local => past_own_writes(local, *side, t, &own[0]).await,
                        SideId::Remote => past_own_writes(remote, *side, t, &own[1]).await,
                    },
                };
                // A run that wrote nothing (so cleared no token) does not store the token the
                // store already holds: a no-change run commits nothing.
                let unchanged = plan.items.is_empty()
                    && plan
                        .stored_tokens
                        .iter()
                        .any(|(s, t)| s == side && *t == token);
                if !unchanged {
                    tokens.push((*side, token));
                }
            }
            StateBatch {
                tokens,
                clear_intents: plan.recovered_intents.clone(),
                ..StateBatch::default()
            }
        } else {
            // Something is left for the next run: it lists both sides in full, so that
            // nothing hides behind a change-feed cursor.
            StateBatch {
                tokens: vec![(SideId::Local, None), (SideId::Remote, None)],
                ..StateBatch::default()
            }
        };
        if !batch.is_empty() {
            store.commit(&batch).await?;
        }
        Ok(report)
    }

    /// Prepare and apply in one go.
    pub async fn run<L: Side, R: Side, S: AsyncStateStore>(
        &self,
        local: &mut L,
        remote: &mut R,
        store: &mut S,
        now: Timestamp,
    ) -> Result<(Plan, Report), SyncError> {
        let prepared = self.prepare(local, remote, &mut *store, now).await?;
        let report = self.apply(&prepared.plan, local, remote, store).await?;
        Ok((prepared.plan, report))
    }

    /// Applies one chunk of the plan in four steps: leave out what another run changed since
    /// planning, journal the creates, write, commit the chunk's state in one transaction.
    async fn apply_chunk<L: Side, R: Side, S: AsyncStateStore>(
        &self,
        chunk: &[PlanItem],
        planned: &Planned<'_>,
        local: &mut L,
        remote: &mut R,
        store: &mut S,
        done: &mut Done,
    ) -> Result<(), SyncError> {
        let chunk = still_as_planned(chunk, planned, &mut *store, done).await?;
        journal_creates(&chunk, planned.now, &mut *store, &mut done.clear_tokens).await?;
        let outcomes = write_chunk(&chunk, local, remote).await;
        let batch = settle_chunk(&chunk, &outcomes, planned.now, done);
        if !batch.is_empty() {
            store.commit(&batch).await?;
        }
        Ok(())
    }
}

/// The outcomes of an item's writes, indexed by [`idx`].
type Outcomes = [Option<WriteOutcome>; 2];

/// Step 0. Another run may have applied a plan since this one was made (two runs at once):
/// an item whose stored pair changed since planning, or for which another run journaled a
/// create, is left for the next run (reported as stale) instead of writing a second copy or
/// an outdated merge. Returns the items still as planned.
async fn still_as_planned<'c, S: AsyncStateStore>(
    chunk: &'c [PlanItem],
    planned: &Planned<'_>,
    store: &mut S,
    done: &mut Done,
) -> Result<Vec<&'c PlanItem>, SyncError> {
    let keys: Vec<String> = chunk.iter().map(|i| i.key.clone()).collect();
    let stored: HashMap<String, crate::Pair> = store
        .pairs_for(&[], &[], &keys)
        .await?
        .into_iter()
        .map(|p| (p.key.clone(), p))
        .collect();
    let foreign: HashSet<String> = store
        .intents()
        .await?
        .into_iter()
        .filter(|i| !planned.recovered.contains(i.key.as_str()))
        .map(|i| i.key)
        .collect();
    let (current, stale): (Vec<&PlanItem>, Vec<&PlanItem>) = chunk.iter().partition(|item| {
        done.settled.contains(&item.key)
            || (stored.get(&item.key) == planned.expected.get(item.key.as_str()).copied().flatten()
                && !foreign.contains(&item.key))
    });
    for item in stale {
        report_stale(item, &mut done.report);
    }
    Ok(current)
}

/// Reports an item left for the next run: each planned write is an incomplete conflict.
fn report_stale(item: &PlanItem, report: &mut Report) {
    tracing::warn!(key = %item.key, "state changed since planning (another run); item left for the next run");
    let mut ir = item_report(item);
    for side in [SideId::Local, SideId::Remote] {
        if item.step(side).write.is_some() {
            report.incomplete += 1;
            report.conflicts += 1;
            set_result(&mut ir, side, WriteResult::Conflict);
        }
    }
    report.stale += 1;
    report.items.push(ir);
}

/// Step 1. Journals the creates (and, before the first write of the run, clears the stored
/// tokens) in one commit before any write.
async fn journal_creates<S: AsyncStateStore>(
    chunk: &[&PlanItem],
    now: Timestamp,
    store: &mut S,
    clear_tokens: &mut bool,
) -> Result<(), SyncError> {
    let mut journal = StateBatch::default();
    if std::mem::take(clear_tokens) {
        journal.tokens = vec![(SideId::Local, None), (SideId::Remote, None)];
    }
    for item in chunk {
        if let Change::Create { on } = item.change {
            journal.add_intents.push(Intent {
                key: item.key.clone(),
                on,
                source_id: item
                    .step(on.other())
                    .before
                    .as_ref()
                    .map(|b| b.id.clone())
                    .unwrap_or_default(),
                at: now,
            });
        }
    }
    if !journal.is_empty() {
        store.commit(&journal).await?;
    }
    Ok(())
}

/// Step 2. Updates, deletes and key writes first, among them the key write on each
/// create's source, so that a source carries its key before its copy exists: whatever
/// point a crash hits, a record on both sides carries the key on both. Then the creates
/// whose source carries its key.
async fn write_chunk<L: Side, R: Side>(
    chunk: &[&PlanItem],
    local: &mut L,
    remote: &mut R,
) -> Vec<Outcomes> {
    let mut outcomes: Vec<Outcomes> = vec![[None, None]; chunk.len()];
    for side in [SideId::Local, SideId::Remote] {
        let sel = writes_before_creates(chunk, side);
        write_selected(local, remote, side, &sel, &mut outcomes).await;
    }
    for side in [SideId::Local, SideId::Remote] {
        let sel = ready_creates(chunk, side, &outcomes);
        write_selected(local, remote, side, &sel, &mut outcomes).await;
    }
    outcomes
}

fn is_create_on(item: &PlanItem, side: SideId) -> bool {
    matches!(item.change, Change::Create { on } if on == side)
}

/// The writes on `side` other than creates, with their items' positions.
fn writes_before_creates<'p>(chunk: &[&'p PlanItem], side: SideId) -> Vec<(usize, &'p WriteOp)> {
    chunk
        .iter()
        .enumerate()
        .filter(|(_, it)| !is_create_on(it, side))
        .filter_map(|(i, it)| it.step(side).write.as_ref().map(|op| (i, op)))
        .collect()
}

/// The creates on `side` whose source needs no write or was written, with their items'
/// positions.
fn ready_creates<'p>(
    chunk: &[&'p PlanItem],
    side: SideId,
    outcomes: &[Outcomes],
) -> Vec<(usize, &'p WriteOp)> {
    chunk
        .iter()
        .enumerate()
        .filter(|(i, it)| {
            is_create_on(it, side)
                && (it.step(side.other()).write.is_none()
                    || matches!(
                        outcomes[*i][idx(side.other())],
                        Some(WriteOutcome::Done { .. })
                    ))
        })
        .filter_map(|(i, it)| it.step(side).write.as_ref().map(|op| (i, op)))
        .collect()
}

/// Writes the selected ops on `side` and files their outcomes by item position.
async fn write_selected<L: Side, R: Side>(
    local: &mut L,
    remote: &mut R,
    side: SideId,
    sel: &[(usize, &WriteOp)],
    outcomes: &mut [Outcomes],
) {
    let results = write(local, remote, side, sel).await;
    for ((i, _), o) in sel.iter().zip(results) {
        outcomes[*i][idx(side)] = Some(o);
    }
}

/// Step 3. Settles each item's state from its outcomes into one batch, reports the items
/// and records the successful writes.
fn settle_chunk(
    chunk: &[&PlanItem],
    outcomes: &[Outcomes],
    now: Timestamp,
    done: &mut Done,
) -> StateBatch {
    let mut batch = StateBatch::default();
    for (item, out) in chunk.iter().copied().zip(outcomes) {
        done.settled.insert(item.key.clone());
        let settled = plan::settle(item, [out[0].as_ref(), out[1].as_ref()]);
        batch.remove.extend(settled.remove);
        batch.upsert.extend(settled.upsert);
        if settled.clear_intent {
            batch.clear_intents.push(item.key.clone());
        }
        let ir = report_writes(item, out, &mut done.report, &mut done.own);
        if let Some(d) = item.detached(now) {
            batch.detach.push(d.clone());
            tracing::info!(key = %d.key, gone = d.gone.as_str(), kept = %d.kept_id, reason = %d.reason, "pair detached");
            done.report.detached.push(d);
        }
        done.report.items.push(ir);
    }
    batch
}

/// The item's report: each planned write's result, counted in `report`; the successful
/// writes are recorded in `own`.
fn report_writes(
    item: &PlanItem,
    out: &Outcomes,
    report: &mut Report,
    own: &mut [OwnWrites; 2],
) -> ItemReport {
    let mut ir = item_report(item);
    for side in [SideId::Local, SideId::Remote] {
        let Some(op) = &item.step(side).write else {
            continue;
        };
        let o = out[idx(side)].as_ref();
        let r = WriteResult::from_outcome(o);
        if let Some(WriteOutcome::Done { id, version }) = o {
            own[idx(side)].record(op, id, version);
        }
        if r == WriteResult::Done && item.is_reattach() && matches!(op, WriteOp::Create { .. }) {
            report.reattached += 1;
        }
        match &r {
            WriteResult::Done => report.counts.count(side, op),
            WriteResult::Failed(_) => report.failed += 1,
            WriteResult::Unknown(_) => report.unknown += 1,
            WriteResult::Conflict | WriteResult::NotFound => report.conflicts += 1,
            WriteResult::NotAttempted => {}
        }
        if r != WriteResult::Done {
            report.incomplete += 1;
            tracing::warn!(key = %item.key, side = side.as_str(), result = ?r, "write not done");
        }
        set_result(&mut ir, side, r);
    }
    ir
}

/// An item's report with no write results yet.
fn item_report(item: &PlanItem) -> ItemReport {
    ItemReport {
        key: item.key.clone(),
        change: item.change,
        local: None,
        remote: None,
    }
}

fn set_result(ir: &mut ItemReport, side: SideId, result: WriteResult) {
    match side {
        SideId::Local => ir.local = Some(result),
        SideId::Remote => ir.remote = Some(result),
    }
}

/// What `apply` has done so far: the report, the successful writes per side and the keys
/// whose state it settled.
#[derive(Debug, Default)]
struct Done {
    report: Report,
    own: [OwnWrites; 2],
    settled: HashSet<String>,
    /// The stored tokens are still to be cleared (before the first write).
    clear_tokens: bool,
}

/// What the plan saw: per key the stored pair, the intents it recovers, its time.
struct Planned<'a> {
    expected: HashMap<&'a str, Option<&'a crate::Pair>>,
    recovered: HashSet<&'a str>,
    now: Timestamp,
}

/// The successful writes of one run on one side: what the side's change feed may report
/// back without anything else having happened there.
#[derive(Debug, Default)]
struct OwnWrites {
    /// Record id after the write -> its resulting version.
    written: HashMap<Id, crate::Version>,
    /// Ids that left the side through this run's writes (deletes; the old id of a write
    /// that reported a different id).
    removed: HashSet<Id>,
}

impl OwnWrites {
    fn record(&mut self, op: &WriteOp, id: &Id, version: &crate::Version) {
        let target = match op {
            WriteOp::Create { .. } => None,
            WriteOp::Update { id, .. }
            | WriteOp::Delete { id, .. }
            | WriteOp::SetKey { id, .. } => Some(id),
        };
        if let WriteOp::Delete { id: target, .. } = op {
            for gone in [target, id] {
                self.written.remove(gone);
                self.removed.insert(gone.clone());
            }
            return;
        }
        if let Some(old) = target.filter(|old| *old != id) {
            self.written.remove(old);
            self.removed.insert(old.clone());
        }
        self.written.insert(id.clone(), version.clone());
    }

    fn is_empty(&self) -> bool {
        self.written.is_empty() && self.removed.is_empty()
    }

    /// Whether a change set holds nothing but these writes.
    fn covers(&self, cs: &crate::ChangeSet) -> bool {
        cs.changed
            .iter()
            .all(|e| self.written.get(&e.id) == Some(&e.version))
            && cs.removed.iter().all(|id| self.removed.contains(id))
    }
}

/// The token to store for a side this run wrote to: asks the feed once more from the run's
/// start token; if it reports only this run's own writes, the new token (the cursor moves
/// past them), otherwise none (the next run lists the side in full, so that a change that
/// a coalescing feed nets out against our own writes cannot hide behind the cursor).
async fn past_own_writes<S: Side>(
    side: &mut S,
    id: SideId,
    start: &str,
    own: &OwnWrites,
) -> Option<String> {
    match side.changes_since(start).await {
        Ok(Some(cs)) if own.covers(&cs) => Some(cs.token),
        Ok(Some(cs)) => {
            tracing::debug!(
                side = id.as_str(),
                changed = cs.changed.len(),
                removed = cs.removed.len(),
                "feed shows changes besides this run's writes; next run lists in full"
            );
            None
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(side = id.as_str(), error = %e, "re-reading the feed after writing failed; next run lists in full");
            None
        }
    }
}

/// Whether a feed listing reports a record carrying a key that no loaded pair has, and whose
/// id no loaded pair anchors.
fn stray_keyed(listing: &SideListing, pairs: &[crate::Pair], side: SideId) -> bool {
    let SideListing::Delta { changed, .. } = listing else {
        return false;
    };
    if changed.iter().all(|e| e.key.is_none()) {
        return false;
    }
    let keys: HashSet<&str> = pairs.iter().map(|p| p.key.as_str()).collect();
    let ids: HashSet<&str> = pairs
        .iter()
        .filter_map(|p| p.anchor(side).map(|a| a.id.as_str()))
        .collect();
    changed.iter().any(|e| {
        e.key
            .as_deref()
            .is_some_and(|k| !keys.contains(k) && !ids.contains(e.id.as_str()))
    })
}

fn idx(side: SideId) -> usize {
    match side {
        SideId::Local => 0,
        SideId::Remote => 1,
    }
}

async fn read<S: Side>(
    side: &mut S,
    id: SideId,
    token: Option<String>,
    stats: &mut ReadStats,
) -> Result<(SideListing, Option<String>), SyncError> {
    if let Some(t) = token
        && let Some(cs) = side.changes_since(&t).await.map_err(side_err(id))?
    {
        stats.feeds += 1;
        stats.entries += cs.changed.len() + cs.removed.len();
        return Ok((
            SideListing::Delta {
                changed: cs.changed,
                removed: cs.removed,
            },
            Some(cs.token),
        ));
    }
    let listing = side.list().await.map_err(side_err(id))?;
    stats.full_listings += 1;
    stats.entries += listing.entries.len();
    Ok((SideListing::Full(listing.entries), listing.token))
}

async fn fetch<S: Side>(
    side: &mut S,
    id: SideId,
    ids: &[Id],
    batch: usize,
) -> Result<HashMap<Id, Record>, SyncError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(batch) {
        for (i, r) in side.fetch(chunk).await.map_err(side_err(id))? {
            out.insert(i, r);
        }
    }
    Ok(out)
}

async fn write<L: Side, R: Side>(
    local: &mut L,
    remote: &mut R,
    side: SideId,
    sel: &[(usize, &WriteOp)],
) -> Vec<WriteOutcome> {
    if sel.is_empty() {
        return Vec::new();
    }
    let ops: Vec<&WriteOp> = sel.iter().map(|(_, op)| *op).collect();
    match side {
        SideId::Local => write_split(local, side, &ops).await,
        SideId::Remote => write_split(remote, side, &ops).await,
    }
}

/// Writes a batch. A batch the side refuses as a whole before writing anything
/// ([`crate::SideError::is_rejected`], e.g. too large) is split in halves, recursively, so
/// that every other op is written and only an op refused on its own fails. Any other error
/// of a whole batch leaves its ops' outcomes unknown. The ops are the plan's: each attempt
/// hands the side its own copy of its part (one copy per op unless a batch is split).
async fn write_split<S: Side>(side: &mut S, id: SideId, ops: &[&WriteOp]) -> Vec<WriteOutcome> {
    let n = ops.len();
    let mut out: Vec<Option<WriteOutcome>> = vec![None; n];
    // Ranges still to write, the next one last (so ops are written in order).
    let mut todo: Vec<(usize, usize)> = vec![(0, n)];
    while let Some((start, end)) = todo.pop() {
        let Some(part) = ops.get(start..end) else {
            continue;
        };
        match side
            .write(part.iter().map(|op| (*op).clone()).collect())
            .await
        {
            Ok(mut v) => {
                v.resize(
                    end - start,
                    WriteOutcome::Unknown("no outcome reported".into()),
                );
                for (slot, o) in out[start..end].iter_mut().zip(v) {
                    *slot = Some(o);
                }
            }
            Err(e) if e.is_rejected() && end - start > 1 => {
                tracing::info!(side = id.as_str(), ops = end - start, error = %e, "write batch rejected; splitting it");
                let mid = start + (end - start) / 2;
                todo.push((mid, end));
                todo.push((start, mid));
            }
            Err(e) if e.is_rejected() => {
                tracing::warn!(side = id.as_str(), error = %e, "write rejected");
                out[start] = Some(WriteOutcome::Failed(e.to_string()));
            }
            Err(e) => {
                tracing::warn!(side = id.as_str(), error = %e, "write batch failed");
                for slot in &mut out[start..end] {
                    *slot = Some(WriteOutcome::Unknown(e.to_string()));
                }
            }
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| WriteOutcome::Unknown("not written".into())))
        .collect()
}
