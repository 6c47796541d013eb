//! # ews-mock
//!
//! A stateful mock Exchange server speaking EWS over HTTP: mailboxes, folders, items, ids and
//! change keys, sync states, impersonation rights, throttling and injectable faults.
//!
//! Architecture invariant: it reuses `ews-client`'s XML types and has no XML plumbing of its own.
#![warn(missing_docs)]
