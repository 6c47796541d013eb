//! # sync-core
//!
//! A storage-agnostic, deterministic three-way sync engine: plan (a pure function of both
//! sides' snapshots, the stored state and the [`Policy`]), preview, apply, crash safety.
//!
//! ## Start here
//!
//! Two [`Side`]s, a [`StateStore`] and an [`Engine`]: [`Engine::prepare`] reads both sides
//! and plans (the preview, nothing written), [`Engine::apply`] writes the plan. Here with the
//! in-memory test doubles [`memory::MemorySide`] and [`MemoryStore`]:
//!
//! ```
//! use sync_core::memory::{Feed, MemorySide};
//! use sync_core::{Engine, MemoryStore, Policy, Record, Timestamp};
//!
//! let mut crm = MemorySide::new("crm-", Feed::FullListing);
//! let mut exchange = MemorySide::new("ews-", Feed::CoalescingDelta);
//! let mut state = MemoryStore::new();
//! crm.insert(Record::new().with("name", "Ann"));
//! exchange.insert(Record::new().with("name", "Bob"));
//!
//! // `Policy::default()`: every switch on, the local side wins conflicts.
//! let engine = Engine::new(Policy::default())?;
//! // The engine reads no clock: the host passes the time in.
//! let now = Timestamp::from_unix_secs(1_800_000_000);
//! # futures::executor::block_on(async {
//! let preview = engine.prepare(&mut crm, &mut exchange, &mut state, now).await?;
//! let counts = &preview.plan.counts; // what the preview screen shows
//! println!("to Exchange: {}; to the CRM: {}", counts.remote, counts.local);
//! // Ann is created on Exchange, Bob in the CRM; each source gets the pair's correlation
//! // key stored ("linked"), so that the pair is found again after a move or a lost state.
//! assert_eq!(counts.remote.to_string(), "1 new, 0 changed, 0 deleted, 1 linked");
//! assert_eq!(counts.local.to_string(), "1 new, 0 changed, 0 deleted, 1 linked");
//!
//! let report = engine.apply(&preview.plan, &mut crm, &mut exchange, &mut state).await?;
//! assert_eq!(report.counts, preview.plan.counts);
//!
//! // Both sides agree now: the next plan writes nothing.
//! let again = engine.prepare(&mut crm, &mut exchange, &mut state, now).await?;
//! assert!(again.plan.is_noop());
//! # Ok::<(), sync_core::SyncError>(())
//! # })?;
//! # Ok::<(), sync_core::SyncError>(())
//! ```
//!
//! A host implements [`Side`] twice (conaktiv-exchange: the CRM and an Exchange mailbox),
//! keeps the state in a [`SqliteStore`] and converts its own configuration into a
//! [`Policy`].
//!
//! Architecture invariant: knows nothing of EWS, XML, HTTP or ConAktiv; all I/O goes through
//! traits and time is passed in (a [`Timestamp`], whole seconds since the Unix epoch).
//!
//! ## Shape
//!
//! * [`Side`]: what the host implements twice (the CRM store, Exchange). Lists `(id,
//!   version, key)` cheaply, optionally offers a change feed since a token, fetches
//!   [`Record`]s (named, comparable field values) by id in batches, and writes batches of
//!   [`WriteOp`]s with per-item [`WriteOutcome`]s and optimistic version checks.
//! * [`StateStore`]: pairs (local id, remote id, correlation key) with the per-field base,
//!   change-feed tokens and the intent journal. [`MemoryStore`] and [`SqliteStore`].
//! * [`plan()`]: pure and synchronous over snapshots already fetched; returns a [`Plan`] of
//!   [`PlanItem`]s whose [`Counts`] (one per side, a [`PerSide`]) are the preview.
//!   [`needed_records`] tells which contents to fetch first (only records whose version
//!   changed, their partners and new records).
//! * [`Engine`]: the async driver. [`Engine::prepare`] reads and plans, [`Engine::apply`]
//!   writes the plan and returns a [`Report`]; [`Engine::run`] does both.
//!
//! Why async traits rather than a sans-I/O request/response loop: the engine's decisions
//! are already sans-I/O ([`plan()`] and [`plan::settle`] are pure functions over data), so
//! the only I/O is the straight-line read, fetch, write, commit sequence of the driver.
//! Writing that sequence as `async fn` over the [`Side`] trait keeps it short and readable,
//! the sides' futures are `Send` so hosts can run it on a multi-threaded runtime, and tests
//! drive it with in-memory sides on a trivial executor. The state store is synchronous: it
//! is embedded and local, and each batch commit is one short transaction.
//!
//! ## Deciding (three-way, per item)
//!
//! * Changed on one side only: copied to the other. Changed on both: merged field by field
//!   ([`merge`]); a field changed on one side only is taken from that side; a field changed on
//!   both to different values goes to the [`Master`]. Equal content on both sides is not a
//!   conflict and writes nothing (a version bump with unchanged content writes nothing).
//! * New on one side: created on the other, carrying the pair's correlation key; the source
//!   gets the key stored first (if it does not carry it yet), so that moves on either side
//!   re-pair and a crash between the two writes leaves no unkeyed copy. A paired record
//!   that does not report the key (a key write that failed, a state from an older version)
//!   gets it at the next run that lists it.
//! * Gone on one side (deleted or out of scope): if that direction's `delete_missing` is on,
//!   the other side's record is deleted; if it is off, the pair is *detached*: the remaining
//!   record is no longer tracked and never re-created.
//! * **Edit versus delete**: an edit beats a delete. If one side's record is gone while the
//!   other side's record differs from the base (it was edited since the last agreement, or its
//!   content could not be read), nothing is deleted and the pair is detached: the edited record
//!   is kept where it is and no longer tracked. It is deliberately not re-created on the
//!   deleting side, because "gone" may only mean "moved out of the scope" (another folder, a
//!   filter), and a re-created copy would become a duplicate when the original comes back.
//!   When it does come back, it carries the pair's key, is re-attached to the detached pair
//!   and the two versions are merged as usual. When `delete_missing` is off the pair is
//!   detached whatever the other side did. Detaches are reported with their reason
//!   ([`Report::detached`], [`Plan::detached`], [`StateStore::detached`]); with
//!   [`Engine::with_reattach`] the kept record is written back to the side that lost it.
//! * Switches per [`Direction`] ([`Switches`]): a switch that is off means that kind of write
//!   never happens in that direction. With `overwrite_completely` the target becomes a copy
//!   of the source instead of a merge.
//! * The base after a run is, per field, the value both sides now agree on; a field that
//!   still differs (because a switch suppressed the write) keeps its old base, so a suppressed
//!   edit is never mistaken for an edit of the other side.
//!
//! ## Safety
//!
//! * Mass-delete guard: a full listing that is empty while pairs exist, or a plan deleting
//!   more than [`Policy::max_delete_share`] of the pairs (and more than
//!   [`Policy::min_delete_count`]), sets [`Plan::guard`]; [`Engine::apply`] then refuses with
//!   [`SyncError::MassDelete`] and writes nothing, unless the host accepts it with
//!   [`Plan::accept_mass_delete`] or [`Policy::force`] is set.
//! * Optimistic concurrency: every update, delete and key write carries the version the plan
//!   saw; a record changed since planning is reported as [`WriteResult::Conflict`] and left
//!   for the next run.
//! * Crash safety: an [`Intent`] is journaled (committed) before each create batch, the
//!   create's source carries the key before the create is sent, and the created record
//!   carries it too. A run that finds intents (a crash, an
//!   unknown outcome) or an empty state (state lost) lists both sides in full and links
//!   unpaired records carrying the same key instead of creating them again. A record whose
//!   id changed (Exchange moves an item) is re-anchored by its key.
//! * Overlapping runs: before writing a batch, [`Engine::apply`] re-reads the batch's pairs
//!   and the intent journal; an item another run changed since planning is left out
//!   ([`Report::stale`]). Update, delete and key writes also carry versions, so a record
//!   changed by the other run is a conflict, not a lost update.
//! * Idempotence: a second run with no changes writes nothing and leaves the pairs unchanged
//!   (only the change-feed cursor may advance past the first run's own writes).
//! * Change feed: with a token stored, a run reads only the changes, loads only the pairs
//!   they touch and fetches only the records whose version changed: its cost is proportional
//!   to the changes, not to the pairs. Tokens are stored only after a run in which every
//!   write succeeded; after any other run they are cleared, so the next run lists both sides
//!   in full and nothing left over hides behind a cursor. A change of the policy (e.g. switching
//!   `transfer_new` on) takes effect for old records at the next full listing (an empty
//!   token store, see [`StateBatch::tokens`]).
//!
//! Requirement on sides: a side stores the key given with a create, update or key write and
//! reports it in its listings. The ids of the two sides are separate namespaces: the same id
//! may name a record on each side (a record without a stored key is matched by its own id,
//! and its copy on the other side carries that id as its key).
//!
//! ## Leaving the scope and coming back
//!
//! * A pair whose records are both gone (deleted or out of scope) is kept as a *tombstone*
//!   (its key and base, no records). If one of its records comes back, it is tracked again
//!   but not copied ([`DetachReason::BothGone`]); if its partner comes back too, it
//!   re-attaches by key and the two are merged as usual.
//! * A record that comes back while the engine had made a copy of it on its own side (it was
//!   away while the state was lost, or while its create's outcome was unknown, so the
//!   engine created it again): both carry the pair's key. The returning record takes the
//!   pair's place, with the copy's edits merged into it (where only the copy changed a
//!   field), and the copy is deleted; the record keeps its id and its fields the other side
//!   does not have. Several unpaired records carrying one key after a state loss are
//!   handled the same way (the later one is kept; with no base, its values win where both
//!   set a field). This delete and update follow the switches into that side: with
//!   `delete_missing` (or, for an edited copy, `transfer_changed`) off there, the copy stays.
//! * A change feed that reports a record carrying a key no pair knows makes the run list
//!   both sides in full, so that its partner is found even if it is not in the feed.
//!
//! ## Known limits (what the engine cannot know)
//!
//! * A second state loss before such a returning record is back forgets which record was
//!   the copy: records carrying the same key with different contents are then reconciled
//!   only if the switches allow the delete and update described above.
//! * After a state loss, deletes made since the last run are not known: the surviving copy
//!   is re-created rather than deleted (nothing is lost).
//! * Tombstones are kept until a record of theirs comes back (one small row per pair whose
//!   records disappeared on both sides on their own).
#![warn(missing_docs)]

mod counts;
mod engine;
mod error;
pub mod memory;
pub mod plan;
mod policy;
#[cfg(feature = "postgres")]
pub mod postgres;
mod side;
mod sqlite;
mod store;
mod time;
mod types;

pub use counts::{Counts, PerSide};
pub use engine::{Engine, ItemReport, Prepared, ReadStats, Reattach, Report, WriteResult};
pub use error::{StoreError, SyncError};
pub use plan::{
    Change, DetachReason, Detached, GuardTrip, Plan, PlanItem, Planner, SideListing, SideSnapshot,
    StateSnapshot, merge, needed_records, plan,
};
pub use policy::{Direction, Master, Policy, Switches};
pub use side::{ChangeSet, Listing, Side, SideError, SideErrorKind, WriteOp, WriteOutcome};
pub use sqlite::{BUSY_TIMEOUT, SCHEMA_VERSION, SqliteStore};
pub use store::{AsyncStateStore, DynStateStore, MemoryStore, StateBatch, StateStore, StoreFuture};
pub use time::Timestamp;
pub use types::{Anchor, Entry, Id, Intent, Key, Pair, Record, SideId, Value, Version};
