//! The pure planner: (local snapshot, remote snapshot, stored state, policy, time) -> [`Plan`].
//!
//! Nothing here does I/O or reads a clock. Planning happens in two pure steps around one
//! fetch: [`needed_records`] says which records' contents the plan needs (only those whose
//! version changed, plus their partners, plus new records), the host fetches them, and
//! [`plan`] decides.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    Anchor, Counts, Entry, Id, Intent, Key, Pair, PerSide, Policy, Record, SideId, Timestamp,
    WriteOp, WriteOutcome,
};

/// What a side reported for this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideListing {
    /// A full listing of everything in scope; a paired record not listed is gone.
    Full(Vec<Entry>),
    /// A change feed: only the records mentioned changed; the others are as last synced.
    Delta {
        /// Created or changed records (or records that entered the scope).
        changed: Vec<Entry>,
        /// Deleted records (or records that left the scope).
        removed: Vec<Id>,
    },
}

impl SideListing {
    fn entries(&self) -> &[Entry] {
        match self {
            SideListing::Full(e) => e,
            SideListing::Delta { changed, .. } => changed,
        }
    }

    fn is_full(&self) -> bool {
        matches!(self, SideListing::Full(_))
    }
}

/// A side's listing plus the record contents fetched for the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideSnapshot {
    /// The listing.
    pub listing: SideListing,
    /// The fetched contents, by id (see [`needed_records`]).
    pub records: HashMap<Id, Record>,
}

impl SideSnapshot {
    /// A snapshot from a full listing and contents.
    pub fn full(entries: Vec<Entry>, records: HashMap<Id, Record>) -> Self {
        SideSnapshot {
            listing: SideListing::Full(entries),
            records,
        }
    }
}

/// The part of the stored state the plan looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateSnapshot {
    /// The pairs concerned (all of them when a side is fully listed; otherwise those the
    /// changes touch, see [`touched`]).
    pub pairs: Vec<Pair>,
    /// How many pairs the store holds in total (for the mass-delete guard).
    pub total_pairs: usize,
    /// Journaled intents whose outcome is not known.
    pub intents: Vec<Intent>,
}

/// The ids and keys a set of listings touches; load these pairs from the store for a
/// change-feed run.
pub fn touched(local: &SideListing, remote: &SideListing) -> (Vec<Id>, Vec<Id>, Vec<Key>) {
    let mut keys = Vec::new();
    let mut ids = |l: &SideListing| {
        let mut v: Vec<Id> = l.entries().iter().map(|e| e.id.clone()).collect();
        keys.extend(l.entries().iter().map(|e| e.effective_key().to_owned()));
        if let SideListing::Delta { removed, .. } = l {
            v.extend(removed.iter().cloned());
        }
        v
    };
    let l = ids(local);
    let r = ids(remote);
    (l, r, keys)
}

/// What happens to one item, for the preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Create the record on `on` (it is new on the other side).
    Create {
        /// The side the record is created on.
        on: SideId,
    },
    /// Merge changes into one or both records (possibly only refreshing the stored versions).
    Update,
    /// Pair two existing records that carry the same key (recovery after a crash or a lost
    /// state), merging their contents.
    Link,
    /// Delete the record on `on` because the other side no longer has it.
    Delete {
        /// The side the record is deleted on.
        on: SideId,
    },
    /// Stop tracking: the record on `gone` disappeared and the delete switch is off, or the
    /// other side's record was edited (an edit beats a delete).
    Detach {
        /// The side whose record disappeared.
        gone: SideId,
    },
    /// Forget a pair whose records are gone: it is kept as a tombstone (key and base, no
    /// records), so that a record of it coming back is not copied a second time.
    Forget,
}

/// Why a pair was detached (see [`Change::Detach`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DetachReason {
    /// The record disappeared on one side and the delete switch into the other side is off.
    DeleteSwitchOff,
    /// The record disappeared on one side while the other side's record was edited since
    /// the last agreement: an edit beats a delete.
    EditBeatsDelete,
    /// The record disappeared on one side and the other side's content could not be read,
    /// so it counts as edited (never delete what may hold an edit).
    ContentUnknown,
    /// Both records had disappeared (deleted or out of scope) and this one came back; its
    /// partner re-attaches by key if it comes back too.
    BothGone,
    /// Detached before the store recorded reasons (a state from an older version), or by
    /// a store that does not record them.
    Unrecorded,
}

impl DetachReason {
    /// A short name for reports ("delete switch off", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DetachReason::DeleteSwitchOff => "delete switch off",
            DetachReason::EditBeatsDelete => "edit beats delete",
            DetachReason::ContentUnknown => "content unknown",
            DetachReason::BothGone => "came back alone",
            DetachReason::Unrecorded => "reason not recorded",
        }
    }

    /// The stable name stored in the SQLite store.
    pub(crate) fn code(self) -> &'static str {
        match self {
            DetachReason::DeleteSwitchOff => "delete_switch_off",
            DetachReason::EditBeatsDelete => "edit_beats_delete",
            DetachReason::ContentUnknown => "content_unknown",
            DetachReason::BothGone => "both_gone",
            DetachReason::Unrecorded => "unrecorded",
        }
    }

    pub(crate) fn from_code(s: &str) -> Option<Self> {
        Some(match s {
            "delete_switch_off" => DetachReason::DeleteSwitchOff,
            "edit_beats_delete" => DetachReason::EditBeatsDelete,
            "content_unknown" => DetachReason::ContentUnknown,
            "both_gone" => DetachReason::BothGone,
            "unrecorded" => DetachReason::Unrecorded,
            _ => return None,
        })
    }
}

impl fmt::Display for DetachReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A detached pair: its record on `gone` disappeared, its record on the other side is kept
/// but no longer tracked (and never re-created on `gone`, unless re-attached).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Detached {
    /// The pair's correlation key.
    pub key: Key,
    /// The side whose record disappeared.
    pub gone: SideId,
    /// The id of the record that is kept, on the other side.
    pub kept_id: Id,
    /// Why the pair was detached.
    pub reason: DetachReason,
    /// When (the time of the run that detached it).
    pub at: Timestamp,
}

impl Detached {
    /// The side whose record is kept.
    pub fn kept(&self) -> SideId {
        self.gone.other()
    }
}

/// A record as it is now on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// Its id.
    pub id: Id,
    /// Its version now.
    pub version: String,
    /// Its content, if fetched.
    pub record: Option<Record>,
}

/// What the plan does on one side of an item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// The record before the run (`None`: absent on this side).
    pub before: Option<Current>,
    /// The write, if any.
    pub write: Option<WriteOp>,
    /// The content after a successful write (`None` for a delete or no write).
    pub after: Option<Record>,
}

impl Step {
    fn keep(before: Option<Current>) -> Step {
        Step {
            before,
            write: None,
            after: None,
        }
    }
}

/// One planned item of a [`Plan`] (a pair, or a record about to get a pair). Not to be
/// confused with an Exchange item: this is one entry of the engine's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    /// The pair's correlation key.
    pub key: Key,
    /// What happens.
    pub change: Change,
    /// The pair as stored before the run, if any.
    pub pair: Option<Pair>,
    /// The base the merge used.
    pub base: Record,
    /// The local side.
    pub local: Step,
    /// The remote side.
    pub remote: Step,
    /// For a [`Change::Detach`]: why.
    pub detach_reason: Option<DetachReason>,
}

impl PlanItem {
    /// Whether this item re-attaches a detached pair: a [`Change::Create`] of the kept
    /// record on the side that lost it, for a stored pair.
    pub fn is_reattach(&self) -> bool {
        matches!(self.change, Change::Create { .. }) && self.pair.is_some()
    }

    /// For a [`Change::Detach`]: the detached pair, as reported (made at `now`).
    pub fn detached(&self, now: Timestamp) -> Option<Detached> {
        let (Change::Detach { gone }, Some(reason)) = (self.change, self.detach_reason) else {
            return None;
        };
        let kept = self.step(gone.other()).before.as_ref()?;
        Some(Detached {
            key: self.key.clone(),
            gone,
            kept_id: kept.id.clone(),
            reason,
            at: now,
        })
    }

    /// The step on one side.
    pub fn step(&self, side: SideId) -> &Step {
        match side {
            SideId::Local => &self.local,
            SideId::Remote => &self.remote,
        }
    }

    fn step_mut(&mut self, side: SideId) -> &mut Step {
        match side {
            SideId::Local => &mut self.local,
            SideId::Remote => &mut self.remote,
        }
    }

    /// The number of writes (0, 1 or 2).
    pub fn writes(&self) -> usize {
        usize::from(self.local.write.is_some()) + usize::from(self.remote.write.is_some())
    }
}

/// Why the mass-delete guard tripped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardTrip {
    /// A side whose full listing was empty while pairs exist.
    pub empty_side: Option<SideId>,
    /// Deletes the run would make.
    pub deletes: usize,
    /// Pairs in the state.
    pub pairs: usize,
}

impl fmt::Display for GuardTrip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.empty_side {
            Some(side) => write!(
                f,
                "the {} side lists nothing while {} pairs are stored",
                side.as_str(),
                self.pairs
            ),
            None => write!(
                f,
                "the run would delete {} records of {} pairs",
                self.deletes, self.pairs
            ),
        }
    }
}

/// The plan of a run: the preview.
///
/// Its [`items`](Plan::items) and [`counts`](Plan::counts) are what a preview shows; the
/// bookkeeping the engine needs to apply it (change-feed tokens, recovered intents, the
/// time) is private. A plan whose mass-delete guard tripped ([`Plan::guard`]) is refused by
/// [`crate::Engine::apply`] until it is accepted with [`Plan::accept_mass_delete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The items, ordered by key.
    pub items: Vec<PlanItem>,
    /// Write counts per side.
    pub counts: PerSide<Counts>,
    /// Set when the mass-delete guard tripped (and the policy does not force).
    pub(crate) guard: Option<GuardTrip>,
    /// Records left for the next run because their contents were not available.
    pub(crate) skipped: Vec<(SideId, Id)>,
    /// Keys of journaled intents found (creates whose outcome was unknown); cleared after a
    /// complete run, which listed both sides in full and so re-paired whatever was created.
    pub(crate) recovered_intents: Vec<Key>,
    /// Change-feed tokens to store after a fully successful run (set by the engine).
    pub(crate) tokens: Vec<(SideId, Option<String>)>,
    /// The tokens the state store held when the plan was made, for the sides whose token
    /// was read (set by the engine): a run that writes nothing does not store an equal
    /// token again.
    pub(crate) stored_tokens: Vec<(SideId, Option<String>)>,
    /// The time the plan was made (as passed in).
    pub(crate) now: Timestamp,
}

impl Plan {
    /// Whether the plan writes nothing to either side.
    pub fn is_noop(&self) -> bool {
        self.counts.total() == 0
    }

    /// All writes the plan makes, both sides ([`PerSide::total`] of [`Plan::counts`]).
    pub fn total_writes(&self) -> usize {
        self.counts.total()
    }

    /// Why the mass-delete guard tripped, if it did (and the policy does not
    /// [`force`](Policy::force)). [`crate::Engine::apply`] refuses such a plan with
    /// [`crate::SyncError::MassDelete`] unless it is accepted with
    /// [`Plan::accept_mass_delete`].
    pub fn guard(&self) -> Option<&GuardTrip> {
        self.guard.as_ref()
    }

    /// Accept a tripped mass-delete guard: the host showed the preview and got consent, so
    /// [`crate::Engine::apply`] carries out this plan's deletes. Returns the trip that was
    /// accepted (`None`: the guard had not tripped).
    pub fn accept_mass_delete(&mut self) -> Option<GuardTrip> {
        self.guard.take()
    }

    /// Records left for the next run because their contents could not be fetched.
    pub fn skipped(&self) -> &[(SideId, Id)] {
        &self.skipped
    }

    /// Keys of journaled creates whose outcome was unknown when the plan was made; a
    /// complete run (which lists both sides in full and so re-pairs them) clears them.
    pub fn recovered_intents(&self) -> &[Key] {
        &self.recovered_intents
    }

    /// The time the plan was made (as passed to [`crate::Engine::prepare`] or [`plan()`]).
    pub fn planned_at(&self) -> Timestamp {
        self.now
    }

    /// The pairs this plan detaches, with the reason (for the preview).
    pub fn detached(&self) -> Vec<Detached> {
        self.items
            .iter()
            .filter_map(|i| i.detached(self.now))
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Status<'a> {
    /// No anchor on this side.
    Absent,
    /// Listed (maybe at a new id, maybe with a new version).
    Present(&'a Entry),
    /// Not mentioned by a change feed: as last synced.
    Unchanged,
    /// Gone (deleted or out of scope).
    Gone,
}

struct SideIndex<'a> {
    listing: &'a SideListing,
    /// Listed entries by id, as indexes into the listing.
    present: HashMap<&'a str, usize>,
    removed: HashSet<&'a str>,
    /// Indexes of repeated ids (bad input): ignored, the first entry counts.
    repeated: Vec<usize>,
}

impl<'a> SideIndex<'a> {
    fn new(listing: &'a SideListing) -> Self {
        let entries = listing.entries();
        let mut present = HashMap::with_capacity(entries.len());
        let mut repeated = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if let Some(first) = present.insert(e.id.as_str(), i) {
                present.insert(e.id.as_str(), first);
                repeated.push(i);
            }
        }
        let removed = match listing {
            SideListing::Delta { removed, .. } => removed.iter().map(String::as_str).collect(),
            SideListing::Full(_) => HashSet::new(),
        };
        SideIndex {
            listing,
            present,
            removed,
            repeated,
        }
    }

    /// The status of an anchor, marking the listed entry it finds as consumed.
    fn status(&self, anchor: Option<&Anchor>, consumed: &mut [bool]) -> Status<'a> {
        let Some(a) = anchor else {
            return Status::Absent;
        };
        if let Some(&i) = self.present.get(a.id.as_str()) {
            if let Some(c) = consumed.get_mut(i) {
                *c = true;
            }
            return Status::Present(&self.listing.entries()[i]);
        }
        if self.listing.is_full() || self.removed.contains(a.id.as_str()) {
            Status::Gone
        } else {
            Status::Unchanged
        }
    }
}

struct PairState<'a> {
    pair: &'a Pair,
    status: [Status<'a>; 2],
}

fn idx(side: SideId) -> usize {
    match side {
        SideId::Local => 0,
        SideId::Remote => 1,
    }
}

struct Resolved<'a> {
    pairs: Vec<PairState<'a>>,
    /// Unpaired records on both sides carrying the same key.
    links: Vec<(Key, &'a Entry, &'a Entry)>,
    /// Unpaired records with the key their new pair gets.
    new: [Vec<(Key, &'a Entry)>; 2],
    /// Returning originals: a loose record carrying a pair's key on a side where the pair's
    /// record (the copy made while the original was away) is unchanged since the last sync.
    dups: Vec<Dup<'a>>,
    /// Unpaired records carrying the key of a link on the same side (side, record, the
    /// linked record): removed if their content is the linked record's.
    link_dups: Vec<(SideId, &'a Entry, &'a Entry)>,
}

/// A returning original and the copy the engine made while it was away (both carry the
/// pair's key on the same side). If the copy's content is still the pair's base, the pair is
/// re-anchored onto the original and the copy deleted; otherwise the original is new.
#[derive(Clone, Copy)]
struct Dup<'a> {
    pair: usize,
    side: SideId,
    /// The copy's id and version.
    copy: (&'a str, &'a str),
    original: &'a Entry,
}

fn resolve<'a>(sides: &[SideIndex<'a>; 2], state: &'a StateSnapshot) -> Resolved<'a> {
    let mut consumed: [Vec<bool>; 2] = [
        vec![false; sides[0].listing.entries().len()],
        vec![false; sides[1].listing.entries().len()],
    ];
    for (i, side) in sides.iter().enumerate() {
        for &r in &side.repeated {
            if let Some(c) = consumed[i].get_mut(r) {
                *c = true;
            }
        }
    }
    let mut pairs: Vec<PairState<'a>> = Vec::with_capacity(state.pairs.len());
    for p in &state.pairs {
        let status = [
            sides[0].status(p.local.as_ref(), &mut consumed[0]),
            sides[1].status(p.remote.as_ref(), &mut consumed[1]),
        ];
        pairs.push(PairState { pair: p, status });
    }

    // Records not anchored: moved records (re-anchor by key) or unpaired ones.
    let mut loose: [Vec<&'a Entry>; 2] = [Vec::new(), Vec::new()];
    for i in 0..2 {
        loose[i] = sides[i]
            .listing
            .entries()
            .iter()
            .zip(&consumed[i])
            .filter(|(_, c)| !**c)
            .map(|(e, _)| e)
            .collect();
        loose[i].sort_by(|a, b| a.id.cmp(&b.id));
    }
    // The key index is only needed when there are loose records (rare in steady state).
    let by_key: HashMap<&str, usize> = if loose.iter().all(Vec::is_empty) {
        HashMap::new()
    } else {
        pairs
            .iter()
            .enumerate()
            .map(|(i, ps)| (ps.pair.key.as_str(), i))
            .collect()
    };
    let mut taken: HashSet<&str> = HashSet::new();
    let is_taken = |k: &str, taken: &HashSet<&str>| by_key.contains_key(k) || taken.contains(k);
    let mut unpaired: [Vec<&'a Entry>; 2] = [Vec::new(), Vec::new()];
    let mut dups: Vec<Dup<'a>> = Vec::new();
    for (i, side_loose) in loose.iter().enumerate() {
        for e in side_loose {
            match by_key.get(e.effective_key()).copied() {
                Some(p) if matches!(pairs[p].status[i], Status::Gone | Status::Absent) => {
                    pairs[p].status[i] = Status::Present(e);
                }
                Some(p) => {
                    if let Some(copy) = copy_of(&pairs[p], i, e)
                        && !dups.iter().any(|d| d.pair == p)
                    {
                        dups.push(Dup {
                            pair: p,
                            side: if i == 0 {
                                SideId::Local
                            } else {
                                SideId::Remote
                            },
                            copy,
                            original: e,
                        });
                    }
                    unpaired[i].push(e);
                }
                None => unpaired[i].push(e),
            }
        }
    }

    // Unpaired on both sides with the same key (at least one explicit): link.
    let mut remote_by_key: BTreeMap<&str, &'a Entry> = BTreeMap::new();
    for e in &unpaired[1] {
        remote_by_key.entry(e.effective_key()).or_insert(e);
    }
    let mut links = Vec::new();
    let mut linked_remote: HashSet<&str> = HashSet::new();
    let mut new: [Vec<(Key, &'a Entry)>; 2] = [Vec::new(), Vec::new()];
    let mut rest: [Vec<&'a Entry>; 2] = [Vec::new(), Vec::new()];
    for l in &unpaired[0] {
        let k = l.effective_key();
        match remote_by_key.get(k) {
            Some(r)
                if !is_taken(k, &taken)
                    && (l.key.is_some() || r.key.is_some())
                    && !linked_remote.contains(r.id.as_str()) =>
            {
                linked_remote.insert(r.id.as_str());
                taken.insert(k);
                links.push((k.to_owned(), *l, *r));
            }
            _ => rest[0].push(l),
        }
    }
    rest[1] = unpaired[1]
        .iter()
        .filter(|r| !linked_remote.contains(r.id.as_str()))
        .copied()
        .collect();
    // Several unpaired records on one side carrying the same key explicitly (copies made
    // while the state was lost, or while the original was away): the linked one, or else
    // the first, is kept; the others are removed if identical to it (see `link_dups`).
    let mut link_dups: Vec<(SideId, &'a Entry, &'a Entry)> = Vec::new();
    for side in [SideId::Local, SideId::Remote] {
        let i = idx(side);
        let mut first: HashMap<&str, &'a Entry> = HashMap::new();
        for (k, l, r) in &links {
            first.insert(k.as_str(), if i == 0 { *l } else { *r });
        }
        for e in &rest[i] {
            let Some(k) = e.key.as_deref() else { continue };
            match first.get(k) {
                Some(kept) => link_dups.push((side, *e, *kept)),
                None => {
                    first.insert(k, *e);
                }
            }
        }
    }
    for side in [SideId::Local, SideId::Remote] {
        let i = idx(side);
        for e in &rest[i] {
            let mut key = e.effective_key().to_owned();
            if is_taken(&key, &taken) {
                key = e.id.clone();
            }
            if is_taken(&key, &taken) {
                key = format!("{}:{}", side.as_str(), e.id);
            }
            new[i].push((key, *e));
        }
    }
    // Keys of new pairs must not collide with each other either.
    let mut seen: HashSet<Key> = HashSet::new();
    for side in [SideId::Local, SideId::Remote] {
        for (key, e) in &mut new[idx(side)] {
            if !seen.insert(key.clone()) {
                *key = format!("{}:{}", side.as_str(), e.id);
                seen.insert(key.clone());
            }
        }
    }
    Resolved {
        pairs,
        links,
        new,
        dups,
        link_dups,
    }
}

/// The content of a returning original with the edits its copy got while it was away: per
/// field, the copy's value where only the copy changed it since `base`, else the original's.
fn merge_copy(base: &Record, copy: &Record, original: &Record) -> Record {
    let mut out = original.clone();
    let names: std::collections::BTreeSet<&String> =
        base.fields.keys().chain(copy.fields.keys()).collect();
    for name in names {
        let (b, c, o) = (base.get(name), copy.get(name), original.get(name));
        if c != b && o == b {
            match c {
                Some(v) => out.fields.insert(name.clone(), v.clone()),
                None => out.fields.remove(name),
            };
        }
    }
    out
}

/// Plan a pair re-anchored onto a returning original on `d.side`, whose content with its
/// copy's edits is `combined`: merged with the partner as usual, and the original written
/// if its content differs from the result.
fn plan_reanchored(
    ps: &PairState<'_>,
    d: &Dup<'_>,
    combined: &Record,
    snaps: [&HashMap<Id, Record>; 2],
    rule: &Policy,
    skipped: &mut Vec<(SideId, Id)>,
) -> Option<PlanItem> {
    let i = idx(d.side);
    let actual = snaps[i].get(&d.original.id)?.clone();
    let mut side_map = snaps[i].clone();
    side_map.insert(d.original.id.clone(), combined.clone());
    let mut maps = snaps;
    maps[i] = &side_map;
    let mut item = plan_pair(ps, &maps, rule, skipped)?;
    let key = item.key.clone();
    let step = item.step_mut(d.side);
    let result = match &step.write {
        Some(WriteOp::Update { record, .. }) => record.clone(),
        _ => combined.clone(),
    };
    if result != actual {
        step.write = Some(WriteOp::Update {
            id: d.original.id.clone(),
            expected: d.original.version.clone(),
            record: result.clone(),
            key,
        });
        step.after = Some(result);
    }
    if let Some(b) = &mut step.before {
        b.record = Some(actual);
    }
    Some(item)
}

/// The pair's record on side `i` (id, version now), if `e` (loose, on side `i`) is a
/// returning original of it (or another record carrying the key: a copy the user made, a
/// create whose outcome was lost): `e` and the pair's record on side `i` carry the pair's
/// key explicitly (if listed).
fn copy_of<'a>(ps: &PairState<'a>, i: usize, e: &Entry) -> Option<(&'a str, &'a str)> {
    let p = ps.pair;
    let anchor = if i == 0 {
        p.local.as_ref()
    } else {
        p.remote.as_ref()
    }?;
    let copy = match ps.status[i] {
        Status::Present(c) if carries(c, &p.key) => (c.id.as_str(), c.version.as_str()),
        Status::Unchanged => (anchor.id.as_str(), anchor.version.as_str()),
        _ => return None,
    };
    (anchor.id != e.id && carries(e, &p.key)).then_some(copy)
}

/// Whether the side's record changed since the pair was last synced (by version or id).
fn version_changed(status: Status<'_>, anchor: Option<&Anchor>) -> bool {
    match (status, anchor) {
        (Status::Present(e), Some(a)) => e.id != a.id || e.version != a.version,
        (Status::Present(_), None) => true,
        _ => false,
    }
}

/// The id a side's record has now, if it exists.
fn current_id<'a>(status: Status<'a>, anchor: Option<&'a Anchor>) -> Option<(&'a str, &'a str)> {
    match (status, anchor) {
        (Status::Present(e), _) => Some((e.id.as_str(), e.version.as_str())),
        (Status::Unchanged, Some(a)) => Some((a.id.as_str(), a.version.as_str())),
        _ => None,
    }
}

/// The records whose contents [`plan`] needs, per side (local, remote).
pub fn needed_records(
    local: &SideListing,
    remote: &SideListing,
    state: &StateSnapshot,
    rule: &Policy,
) -> (Vec<Id>, Vec<Id>) {
    Planner::new(local, remote, state, rule).needed_records()
}

/// Both planning steps over one matching of listings to pairs: build it once, ask
/// [`Planner::needed_records`], fetch those, then [`Planner::plan`]. Pure.
pub struct Planner<'a> {
    sides: [SideIndex<'a>; 2],
    state: &'a StateSnapshot,
    rule: &'a Policy,
    resolved: Resolved<'a>,
    reattach: bool,
}

impl<'a> Planner<'a> {
    /// Match the listings to the stored pairs.
    pub fn new(
        local: &'a SideListing,
        remote: &'a SideListing,
        state: &'a StateSnapshot,
        rule: &'a Policy,
    ) -> Self {
        let sides = [SideIndex::new(local), SideIndex::new(remote)];
        let resolved = resolve(&sides, state);
        Planner {
            sides,
            state,
            rule,
            resolved,
            reattach: false,
        }
    }

    /// Re-attach detached pairs: plan a create of each detached pair's kept record on the
    /// side that lost it (where that side's `transfer_new` switch is on). Off by default.
    #[must_use]
    pub fn with_reattach(mut self, reattach: crate::Reattach) -> Self {
        self.reattach = reattach == crate::Reattach::On;
        self
    }

    /// The side a detached pair would be re-attached on, if this planner re-attaches it.
    fn reattach_on(&self, ps: &PairState<'_>) -> Option<SideId> {
        if !self.reattach {
            return None;
        }
        let gone = match ps.status {
            [Status::Absent, s] if !matches!(s, Status::Absent | Status::Gone) => SideId::Local,
            [s, Status::Absent] if !matches!(s, Status::Absent | Status::Gone) => SideId::Remote,
            _ => return None,
        };
        self.rule.into_side(gone).transfer_new.then_some(gone)
    }

    /// The records whose contents [`Planner::plan`] needs, per side (local, remote): those
    /// whose version changed, their partners, partners of gone records, and new records.
    pub fn needed_records(&self) -> (Vec<Id>, Vec<Id>) {
        let rule = self.rule;
        let r = &self.resolved;
        let mut out: [Vec<Id>; 2] = [Vec::new(), Vec::new()];
        for ps in &r.pairs {
            let p = ps.pair;
            let changed = [
                version_changed(ps.status[0], p.local.as_ref()),
                version_changed(ps.status[1], p.remote.as_ref()),
            ];
            let attached =
                !matches!(ps.status[0], Status::Absent) && !matches!(ps.status[1], Status::Absent);
            let gone = |s: Status<'_>| matches!(s, Status::Gone);
            let partner_gone = gone(ps.status[0]) || gone(ps.status[1]);
            if attached && (changed[0] || changed[1] || partner_gone) {
                for side in [SideId::Local, SideId::Remote] {
                    let i = idx(side);
                    if let Some((id, _)) = current_id(ps.status[i], p.anchor(side)) {
                        out[i].push(id.to_owned());
                    }
                }
            }
        }
        for ps in &r.pairs {
            if let Some(gone) = self.reattach_on(ps) {
                let kept = gone.other();
                if let Some((id, _)) = current_id(ps.status[idx(kept)], ps.pair.anchor(kept)) {
                    out[idx(kept)].push(id.to_owned());
                }
            }
        }
        for d in &r.dups {
            if !rule.into_side(d.side).delete_missing {
                continue;
            }
            let ps = &r.pairs[d.pair];
            out[idx(d.side)].push(d.copy.0.to_owned());
            out[idx(d.side)].push(d.original.id.clone());
            let o = d.side.other();
            if let Some((id, _)) = current_id(ps.status[idx(o)], ps.pair.anchor(o)) {
                out[idx(o)].push(id.to_owned());
            }
        }
        for (side, extra, kept) in &r.link_dups {
            if rule.into_side(*side).delete_missing {
                out[idx(*side)].push(extra.id.clone());
                out[idx(*side)].push(kept.id.clone());
            }
        }
        for (_, l, rm) in &r.links {
            out[0].push(l.id.clone());
            out[1].push(rm.id.clone());
        }
        for side in [SideId::Local, SideId::Remote] {
            if rule.into_side(side.other()).transfer_new {
                out[idx(side)].extend(r.new[idx(side)].iter().map(|(_, e)| e.id.clone()));
            }
        }
        for v in &mut out {
            v.sort();
            v.dedup();
        }
        let [l, rm] = out;
        (l, rm)
    }

    /// Plan the run from the fetched contents. Deterministic: the same inputs give the
    /// same plan.
    pub fn plan(
        &self,
        local_records: &HashMap<Id, Record>,
        remote_records: &HashMap<Id, Record>,
        now: Timestamp,
    ) -> Plan {
        plan_resolved(self, [local_records, remote_records], now)
    }
}

/// The per-field three-way merge. Returns the new (local, remote) contents.
///
/// * equal on both sides: kept;
/// * changed on one side only (the other still equals the base): taken from that side;
/// * changed on both to different values: the master's value;
/// * with `overwrite_completely` in a direction, the target becomes a copy of the source.
pub fn merge(base: &Record, local: &Record, remote: &Record, rule: &Policy) -> (Record, Record) {
    if let Some(dir) = rule.overwriting_direction() {
        let src = match dir.source() {
            SideId::Local => local,
            SideId::Remote => remote,
        };
        return (src.clone(), src.clone());
    }
    let mut out = Record::new();
    let names: std::collections::BTreeSet<&String> = base
        .fields
        .keys()
        .chain(local.fields.keys())
        .chain(remote.fields.keys())
        .collect();
    for name in names {
        let b = base.fields.get(name);
        let l = local.fields.get(name);
        let r = remote.fields.get(name);
        let v = if l == r || r == b {
            l
        } else if l == b {
            r
        } else {
            match rule.master.side() {
                SideId::Local => l,
                SideId::Remote => r,
            }
        };
        if let Some(v) = v {
            out.fields.insert(name.clone(), v.clone());
        }
    }
    (out.clone(), out)
}

/// The base after a run: per field, the value both sides now agree on, else the old base.
pub fn agreed_base(old: &Record, local: &Record, remote: &Record) -> Record {
    if local == remote {
        // every field agrees (a field only the old base had is on neither side)
        return local.clone();
    }
    let mut out = Record::new();
    let names: std::collections::BTreeSet<&String> = old
        .fields
        .keys()
        .chain(local.fields.keys())
        .chain(remote.fields.keys())
        .collect();
    for name in names {
        let l = local.fields.get(name);
        let v = if l == remote.fields.get(name) {
            l
        } else {
            old.fields.get(name)
        };
        if let Some(v) = v {
            out.fields.insert(name.clone(), v.clone());
        }
    }
    out
}

fn current(
    status: Status<'_>,
    anchor: Option<&Anchor>,
    records: &HashMap<Id, Record>,
) -> Option<Current> {
    current_id(status, anchor).map(|(id, version)| Current {
        id: id.to_owned(),
        version: version.to_owned(),
        record: records.get(id).cloned(),
    })
}

/// Plan a run. Pure and deterministic: the same inputs give the same plan.
pub fn plan(
    local: &SideSnapshot,
    remote: &SideSnapshot,
    state: &StateSnapshot,
    rule: &Policy,
    now: Timestamp,
) -> Plan {
    Planner::new(&local.listing, &remote.listing, state, rule).plan(
        &local.records,
        &remote.records,
        now,
    )
}

fn plan_resolved(planner: &Planner<'_>, snaps: [&HashMap<Id, Record>; 2], now: Timestamp) -> Plan {
    let (state, rule, resolved) = (planner.state, planner.rule, &planner.resolved);
    let (local, remote) = (snaps[0], snaps[1]);
    // At most about one item per pair, link and new record: sized once rather than grown
    // (a plan item is large and an initial sync has one per record).
    let mut items: Vec<PlanItem> = Vec::with_capacity(
        resolved.pairs.len() + resolved.links.len() + resolved.new[0].len() + resolved.new[1].len(),
    );
    let mut skipped: Vec<(SideId, Id)> = Vec::new();

    // Returning originals: re-anchor the pair onto the original (with the copy's edits, if
    // any, merged into it) and delete the copy.
    let mut reanchored: HashMap<usize, (PairState<'_>, Dup<'_>, Record)> = HashMap::new();
    let mut originals: HashSet<(SideId, &str)> = HashSet::new();
    for d in &resolved.dups {
        let ps = &resolved.pairs[d.pair];
        let (i, o) = (idx(d.side), idx(d.side.other()));
        let into = rule.into_side(d.side);
        // The partner's content is needed if it exists.
        let partner_known = current_id(ps.status[o], ps.pair.anchor(d.side.other()))
            .is_none_or(|(id, _)| snaps[o].contains_key(id));
        let (Some(copy), Some(original), true) = (
            snaps[i].get(d.copy.0),
            snaps[i].get(&d.original.id),
            partner_known,
        ) else {
            continue;
        };
        let edited = *copy != ps.pair.base;
        if !into.delete_missing || (edited && !into.transfer_changed) {
            continue;
        }
        let combined = merge_copy(&ps.pair.base, copy, original);
        let mut status = ps.status;
        status[i] = Status::Present(d.original);
        reanchored.insert(
            d.pair,
            (
                PairState {
                    pair: ps.pair,
                    status,
                },
                *d,
                combined,
            ),
        );
        originals.insert((d.side, d.original.id.as_str()));
        let mut item = PlanItem {
            key: ps.pair.key.clone(),
            change: Change::Delete { on: d.side },
            pair: None,
            base: ps.pair.base.clone(),
            local: Step::default(),
            remote: Step::default(),
            detach_reason: None,
        };
        *item.step_mut(d.side) = Step {
            before: Some(Current {
                id: d.copy.0.to_owned(),
                version: d.copy.1.to_owned(),
                record: Some(copy.clone()),
            }),
            write: Some(WriteOp::Delete {
                id: d.copy.0.to_owned(),
                expected: d.copy.1.to_owned(),
            }),
            after: None,
        };
        items.push(item);
    }
    for (n, ps) in resolved.pairs.iter().enumerate() {
        if let Some((ps, d, combined)) = reanchored.get(&n) {
            if let Some(item) = plan_reanchored(ps, d, combined, snaps, rule, &mut skipped) {
                items.push(item);
            }
            continue;
        }
        if let Some(gone) = planner.reattach_on(ps) {
            let kept = gone.other();
            let k = idx(kept);
            let Some(cur) = current(ps.status[k], ps.pair.anchor(kept), snaps[k]) else {
                continue;
            };
            let Some(record) = cur.record.clone() else {
                skipped.push((kept, cur.id.clone()));
                continue;
            };
            let key_now = entry_of(ps.status[k]).and_then(|e| e.key.clone());
            let mut item = create_item(&ps.pair.key, cur, key_now.as_deref(), gone, &record);
            item.pair = Some(ps.pair.clone());
            item.base = ps.pair.base.clone();
            items.push(item);
            continue;
        }
        if let Some(item) = plan_pair(ps, &snaps, rule, &mut skipped) {
            items.push(item);
        }
    }
    // A linked record with a differing same-key record beside it (copies made while the
    // state was lost): the later one takes the link, with the other's fields it lacks, and
    // the linked one is deleted; with no base, the one kept wins where both set a field.
    let mut swaps: HashMap<(SideId, &str), (&Entry, &Entry)> = HashMap::new();
    for (side, extra, kept) in &resolved.link_dups {
        let i = idx(*side);
        let into = rule.into_side(*side);
        let (Some(a), Some(b)) = (snaps[i].get(&extra.id), snaps[i].get(&kept.id)) else {
            continue;
        };
        if a != b && into.delete_missing && into.transfer_changed {
            swaps
                .entry((*side, kept.id.as_str()))
                .or_insert((*extra, *kept));
        }
    }
    for (key, l, r) in &resolved.links {
        let swap = swaps
            .get(&(SideId::Local, l.id.as_str()))
            .map(|s| (SideId::Local, *s))
            .or_else(|| {
                swaps
                    .get(&(SideId::Remote, r.id.as_str()))
                    .map(|s| (SideId::Remote, *s))
            });
        let mut entries = [*l, *r];
        let mut actual: Option<Record> = None;
        let mut cur = [
            Current {
                id: l.id.clone(),
                version: l.version.clone(),
                record: local.get(&l.id).cloned(),
            },
            Current {
                id: r.id.clone(),
                version: r.version.clone(),
                record: remote.get(&r.id).cloned(),
            },
        ];
        if let Some((side, (extra, kept))) = swap {
            let i = idx(side);
            let (Some(kept_content), Some(extra_content)) =
                (snaps[i].get(&kept.id), snaps[i].get(&extra.id))
            else {
                continue;
            };
            originals.insert((side, extra.id.as_str()));
            let mut del = PlanItem {
                key: key.clone(),
                change: Change::Delete { on: side },
                pair: None,
                base: Record::new(),
                local: Step::default(),
                remote: Step::default(),
                detach_reason: None,
            };
            *del.step_mut(side) = Step {
                before: Some(Current {
                    id: kept.id.clone(),
                    version: kept.version.clone(),
                    record: Some(kept_content.clone()),
                }),
                write: Some(WriteOp::Delete {
                    id: kept.id.clone(),
                    expected: kept.version.clone(),
                }),
                after: None,
            };
            items.push(del);
            entries[i] = extra;
            actual = Some(extra_content.clone());
            cur[i] = Current {
                id: extra.id.clone(),
                version: extra.version.clone(),
                record: Some(merge_copy(&Record::new(), kept_content, extra_content)),
            };
        }
        match (&cur[0].record, &cur[1].record) {
            (Some(_), Some(_)) => {
                let [cl, cr] = cur;
                let mut item = plan_merge(
                    key,
                    Change::Link,
                    None,
                    &Record::new(),
                    [cl, cr],
                    [Some(entries[0]), Some(entries[1])],
                    rule,
                );
                if let (Some((side, _)), Some(actual)) = (swap, actual) {
                    let step = item.step_mut(side);
                    let result = match &step.write {
                        Some(WriteOp::Update { record, .. }) => record.clone(),
                        _ => step
                            .before
                            .as_ref()
                            .and_then(|b| b.record.clone())
                            .unwrap_or_default(),
                    };
                    if result != actual
                        && let Some(b) = &step.before
                    {
                        step.write = Some(WriteOp::Update {
                            id: b.id.clone(),
                            expected: b.version.clone(),
                            record: result.clone(),
                            key: key.clone(),
                        });
                        step.after = Some(result);
                    }
                    if let Some(b) = &mut step.before {
                        b.record = Some(actual);
                    }
                }
                items.push(item);
            }
            _ => {
                skipped.push((SideId::Local, l.id.clone()));
                skipped.push((SideId::Remote, r.id.clone()));
            }
        }
    }
    for (side, extra, kept) in &resolved.link_dups {
        let i = idx(*side);
        let content = snaps[i].get(&extra.id);
        if originals.contains(&(*side, extra.id.as_str()))
            || !rule.into_side(*side).delete_missing
            || content.is_none()
            || content != snaps[i].get(&kept.id)
        {
            continue;
        }
        originals.insert((*side, extra.id.as_str()));
        let mut item = PlanItem {
            key: extra.key.clone().unwrap_or_default(),
            change: Change::Delete { on: *side },
            pair: None,
            base: Record::new(),
            local: Step::default(),
            remote: Step::default(),
            detach_reason: None,
        };
        *item.step_mut(*side) = Step {
            before: Some(Current {
                id: extra.id.clone(),
                version: extra.version.clone(),
                record: content.cloned(),
            }),
            write: Some(WriteOp::Delete {
                id: extra.id.clone(),
                expected: extra.version.clone(),
            }),
            after: None,
        };
        items.push(item);
    }
    for side in [SideId::Local, SideId::Remote] {
        let target = side.other();
        if !rule.into_side(target).transfer_new {
            continue;
        }
        for (key, e) in &resolved.new[idx(side)] {
            if originals.contains(&(side, e.id.as_str())) {
                continue;
            }
            let Some(record) = snaps[idx(side)].get(&e.id) else {
                skipped.push((side, e.id.clone()));
                continue;
            };
            let source = Current {
                id: e.id.clone(),
                version: e.version.clone(),
                record: Some(record.clone()),
            };
            items.push(create_item(key, source, e.key.as_deref(), target, record));
        }
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));

    let mut counts = PerSide::<Counts>::default();
    for item in &items {
        for side in [SideId::Local, SideId::Remote] {
            if let Some(op) = &item.step(side).write {
                counts.count(side, op);
            }
        }
    }
    let guard = guard(&counts, state, &planner.sides, rule);
    Plan {
        items,
        counts,
        guard,
        skipped,
        recovered_intents: state.intents.iter().map(|i| i.key.clone()).collect(),
        tokens: Vec::new(),
        stored_tokens: Vec::new(),
        now,
    }
}

fn guard(
    counts: &PerSide<Counts>,
    state: &StateSnapshot,
    sides: &[SideIndex<'_>; 2],
    rule: &Policy,
) -> Option<GuardTrip> {
    if rule.force || state.total_pairs == 0 {
        return None;
    }
    let deletes = counts.deleted();
    // A side listing nothing trips the guard if a pair still has a record there (pairs
    // detached from that side do not count: their record there is already gone).
    let empty_side = [SideId::Local, SideId::Remote].into_iter().find(|s| {
        let l = sides[idx(*s)].listing;
        l.is_full() && l.entries().is_empty() && state.pairs.iter().any(|p| p.anchor(*s).is_some())
    });
    #[allow(clippy::cast_precision_loss)] // pair counts are far below 2^52
    let share_exceeded = deletes > rule.min_delete_count
        && deletes as f64 > rule.max_delete_share * state.total_pairs as f64;
    (empty_side.is_some() || share_exceeded).then_some(GuardTrip {
        empty_side,
        deletes,
        pairs: state.total_pairs,
    })
}

/// A create of `record` on `target`, with the source's key healed afterwards if needed.
/// `source_key`: the key the source carries now (`None`: none stored).
fn create_item(
    key: &str,
    source: Current,
    source_key: Option<&str>,
    target: SideId,
    record: &Record,
) -> PlanItem {
    let mut item = PlanItem {
        key: key.to_owned(),
        change: Change::Create { on: target },
        base: Record::new(),
        pair: None,
        local: Step::default(),
        remote: Step::default(),
        detach_reason: None,
    };
    // The source always gets the key stored explicitly, so that it re-pairs after a move.
    let heal = source_key != Some(key);
    let src_step = item.step_mut(target.other());
    src_step.write = heal.then(|| WriteOp::SetKey {
        id: source.id.clone(),
        expected: source.version.clone(),
        key: key.to_owned(),
    });
    src_step.before = Some(source);
    let t = item.step_mut(target);
    t.write = Some(WriteOp::Create {
        record: record.clone(),
        key: key.to_owned(),
    });
    t.after = Some(record.clone());
    item
}

fn plan_pair(
    ps: &PairState<'_>,
    snaps: &[&HashMap<Id, Record>; 2],
    rule: &Policy,
    skipped: &mut Vec<(SideId, Id)>,
) -> Option<PlanItem> {
    let p = ps.pair;
    let simple = |change: Change| PlanItem {
        key: p.key.clone(),
        change,
        pair: Some(p.clone()),
        base: p.base.clone(),
        local: Step::keep(current(ps.status[0], p.local.as_ref(), snaps[0])),
        remote: Step::keep(current(ps.status[1], p.remote.as_ref(), snaps[1])),
        detach_reason: None,
    };
    let gone = |s: Status<'_>| matches!(s, Status::Gone | Status::Absent);
    match (ps.status[0], ps.status[1]) {
        // A tombstone stays until one of its records comes back.
        (a, b) if gone(a) && gone(b) && p.local.is_none() && p.remote.is_none() => None,
        (a, b) if gone(a) && gone(b) => Some(simple(Change::Forget)),
        (Status::Absent, other) | (other, Status::Absent) => {
            let side = if matches!(ps.status[0], Status::Absent) {
                SideId::Remote
            } else {
                SideId::Local
            };
            match other {
                // A record of a tombstone came back: track it, detached, and wait for its
                // partner (which re-attaches by key when it comes back too). Creating a copy
                // now would duplicate the partner when it returns.
                Status::Present(_) if p.anchor(side).is_none() => {
                    let mut item = simple(Change::Detach { gone: side.other() });
                    item.detach_reason = Some(DetachReason::BothGone);
                    Some(item)
                }
                // Detached pair: follow the remaining record's id and version, nothing else.
                Status::Present(e)
                    if p.anchor(side)
                        .is_some_and(|a| a.id != e.id || a.version != e.version) =>
                {
                    Some(simple(Change::Update))
                }
                _ => None,
            }
        }
        (Status::Gone, _) | (_, Status::Gone) => {
            let gone_side = if matches!(ps.status[0], Status::Gone) {
                SideId::Local
            } else {
                SideId::Remote
            };
            let other = gone_side.other();
            let o = idx(other);
            let cur = current(ps.status[o], p.anchor(other), snaps[o])?;
            // An unknown content counts as edited: never delete what may hold an edit.
            let edited = cur.record.as_ref() != Some(&p.base);
            if !rule.into_side(other).delete_missing || edited {
                // Delete switch off, or an edit beats the delete: keep the record, detach.
                let reason = if !rule.into_side(other).delete_missing {
                    DetachReason::DeleteSwitchOff
                } else if cur.record.is_none() {
                    DetachReason::ContentUnknown
                } else {
                    DetachReason::EditBeatsDelete
                };
                let mut item = simple(Change::Detach { gone: gone_side });
                item.detach_reason = Some(reason);
                return Some(item);
            }
            let mut item = simple(Change::Delete { on: other });
            item.step_mut(other).write = Some(WriteOp::Delete {
                id: cur.id.clone(),
                expected: cur.version.clone(),
            });
            Some(item)
        }
        (sl, sr) => {
            let changed = [
                version_changed(sl, p.local.as_ref()),
                version_changed(sr, p.remote.as_ref()),
            ];
            let entries = [entry_of(sl), entry_of(sr)];
            if !changed[0] && !changed[1] {
                if entries.iter().flatten().all(|e| carries(e, &p.key)) {
                    return None;
                }
                // Nothing changed; only heal a missing key on a fully listed record.
                let mut item = simple(Change::Update);
                let mut any = false;
                for side in [SideId::Local, SideId::Remote] {
                    if let Some(e) = entries[idx(side)]
                        && !carries(e, &p.key)
                    {
                        any = true;
                        item.step_mut(side).write = Some(WriteOp::SetKey {
                            id: e.id.clone(),
                            expected: e.version.clone(),
                            key: p.key.clone(),
                        });
                    }
                }
                return any.then_some(item);
            }
            let cur = [
                current(sl, p.local.as_ref(), snaps[0])?,
                current(sr, p.remote.as_ref(), snaps[1])?,
            ];
            if cur[0].record.is_none() || cur[1].record.is_none() {
                for side in [SideId::Local, SideId::Remote] {
                    if cur[idx(side)].record.is_none() {
                        skipped.push((side, cur[idx(side)].id.clone()));
                    }
                }
                return None;
            }
            Some(plan_merge(
                &p.key,
                Change::Update,
                Some(p.clone()),
                &p.base,
                cur,
                entries,
                rule,
            ))
        }
    }
}

/// Whether a listed record carries the pair's key explicitly. A record matched only by its
/// own id (no key stored) gets the key written: if its id changes (a move), the key is what
/// finds it again. (A side that cannot store keys reports its id as the key.)
fn carries(e: &Entry, key: &str) -> bool {
    e.key.as_deref() == Some(key)
}

fn entry_of(s: Status<'_>) -> Option<&Entry> {
    match s {
        Status::Present(e) => Some(e),
        _ => None,
    }
}

/// Merge two present records (contents known) against `base`.
fn plan_merge(
    key: &str,
    change: Change,
    pair: Option<Pair>,
    base: &Record,
    cur: [Current; 2],
    entries: [Option<&Entry>; 2],
    rule: &Policy,
) -> PlanItem {
    let empty = Record::new();
    let l = cur[0].record.as_ref().unwrap_or(&empty);
    let r = cur[1].record.as_ref().unwrap_or(&empty);
    let (ml, mr) = merge(base, l, r, rule);
    let merged = [ml, mr];
    let mut steps: [Step; 2] = [Step::default(), Step::default()];
    for side in [SideId::Local, SideId::Remote] {
        let i = idx(side);
        let c = &cur[i];
        let content = c.record.as_ref().unwrap_or(&empty);
        let step = &mut steps[i];
        if merged[i] != *content && rule.into_side(side).transfer_changed {
            step.write = Some(WriteOp::Update {
                id: c.id.clone(),
                expected: c.version.clone(),
                record: merged[i].clone(),
                key: key.to_owned(),
            });
            step.after = Some(merged[i].clone());
        } else if entries[i].is_some_and(|e| !carries(e, key)) {
            step.write = Some(WriteOp::SetKey {
                id: c.id.clone(),
                expected: c.version.clone(),
                key: key.to_owned(),
            });
            step.after = Some(content.clone());
        }
        step.before = Some(c.clone());
    }
    let [local, remote] = steps;
    PlanItem {
        key: key.to_owned(),
        change,
        pair,
        base: base.clone(),
        local,
        remote,
        detach_reason: None,
    }
}

/// The state change an item's outcomes lead to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// The pair to store, if it changed.
    pub upsert: Option<Pair>,
    /// The pair to remove.
    pub remove: Option<Key>,
    /// Whether the item's create intent can be cleared (its outcome is known).
    pub clear_intent: bool,
    /// Whether every write of the item succeeded.
    pub complete: bool,
}

fn done(outcome: Option<&WriteOutcome>) -> Option<(&Id, &String)> {
    match outcome {
        Some(WriteOutcome::Done { id, version }) => Some((id, version)),
        _ => None,
    }
}

/// Fold an item's write outcomes (`None`: no write or not attempted) into the state change.
pub fn settle(item: &PlanItem, outcomes: [Option<&WriteOutcome>; 2]) -> Settled {
    let steps = [&item.local, &item.remote];
    let ok = |i: usize| steps[i].write.is_none() || done(outcomes[i]).is_some();
    let complete = ok(0) && ok(1);
    let has_create = steps
        .iter()
        .any(|s| matches!(s.write, Some(WriteOp::Create { .. })));
    let clear_intent = has_create
        && steps.iter().zip(outcomes).all(|(s, o)| {
            !matches!(s.write, Some(WriteOp::Create { .. }))
                || !matches!(o, Some(WriteOutcome::Unknown(_)) | None)
        });
    let mut out = Settled {
        clear_intent,
        complete,
        ..Settled::default()
    };
    match item.change {
        Change::Forget => {
            // Keep a tombstone (the key and base, no anchors): if the records only left the
            // scope, the first to come back must not be copied, or its partner would be a
            // duplicate when it comes back too.
            if let Some(p) = &item.pair {
                out.upsert = Some(Pair {
                    local: None,
                    remote: None,
                    ..p.clone()
                });
            }
            return out;
        }
        Change::Detach { gone } => {
            if let Some(p) = &item.pair {
                let mut p = p.clone();
                *p.anchor_mut(gone) = None;
                // The remaining record is known as it is now.
                let kept = gone.other();
                if let Some((id, version)) = done(outcomes[idx(kept)]) {
                    // Written (a returning original that took its copy's edits).
                    *p.anchor_mut(kept) = Some(Anchor {
                        id: id.clone(),
                        version: version.clone(),
                    });
                } else if let Some(b) = &item.step(kept).before {
                    *p.anchor_mut(kept) = Some(Anchor {
                        id: b.id.clone(),
                        version: b.version.clone(),
                    });
                }
                out.upsert = Some(p);
            }
            return out;
        }
        _ => {}
    }
    let mut anchors: [Option<Anchor>; 2] = [None, None];
    let mut contents: [Option<&Record>; 2] = [None, None];
    for side in [SideId::Local, SideId::Remote] {
        let i = idx(side);
        let step = steps[i];
        let old = item.pair.as_ref().and_then(|p| p.anchor(side));
        match (&step.write, done(outcomes[i])) {
            (Some(WriteOp::Delete { .. }), Some(_)) => {}
            (Some(_), Some((id, version))) => {
                anchors[i] = Some(Anchor {
                    id: id.clone(),
                    version: version.clone(),
                });
                contents[i] = step
                    .after
                    .as_ref()
                    .or_else(|| step.before.as_ref().and_then(|b| b.record.as_ref()));
            }
            (_, _) => {
                if let Some(b) = &step.before {
                    let version = if complete {
                        b.version.clone()
                    } else if step.write.is_some() {
                        // This side's write did not happen: look again next run, even if
                        // the version stored so far is its current one (a detached record
                        // re-attached with an edit).
                        String::new()
                    } else {
                        // Keep the old version so that the next run looks again.
                        old.filter(|a| a.id == b.id)
                            .map(|a| a.version.clone())
                            .unwrap_or_default()
                    };
                    anchors[i] = Some(Anchor {
                        id: b.id.clone(),
                        version,
                    });
                    contents[i] = b.record.as_ref();
                }
            }
        }
    }
    match anchors {
        [None, None] => {
            if item.pair.is_some() {
                out.remove = Some(item.key.clone());
            }
        }
        [Some(l), Some(r)] => {
            let base = match contents {
                [Some(cl), Some(cr)] => agreed_base(&item.base, cl, cr),
                _ => item.base.clone(),
            };
            let pair = Pair {
                key: item.key.clone(),
                local: Some(l),
                remote: Some(r),
                base,
            };
            if item.pair.as_ref() != Some(&pair) {
                out.upsert = Some(pair);
            }
        }
        [l, r] => {
            // One side missing: a detached pair following a move of its remaining record is
            // stored; otherwise a write failed and what was stored stays.
            let detached = item
                .pair
                .as_ref()
                .is_some_and(|p| p.local.is_none() || p.remote.is_none());
            if detached
                && complete
                && let Some(p) = &item.pair
            {
                let pair = Pair {
                    local: l,
                    remote: r,
                    ..p.clone()
                };
                if *p != pair {
                    out.upsert = Some(pair);
                }
            }
        }
    }
    out
}
