//! # sync-core
//!
//! A storage-agnostic, deterministic three-way sync engine: plan (a pure function of both
//! sides' snapshots, the stored state and the rule), preview, apply, crash safety.
//!
//! Architecture invariant: knows nothing of EWS, XML, HTTP or ConAktiv; all I/O goes through
//! traits and time is passed in.
#![warn(missing_docs)]
