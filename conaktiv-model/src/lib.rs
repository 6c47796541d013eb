//! # conaktiv-model
//!
//! The CRM side's records (contact persons, appointments, tasks, mails) and the configuration
//! records of the product's admin screens (EWS servers, mail accounts, sync rules, batch tasks),
//! with validation and a TOML configuration file.
//!
//! Architecture invariant: this crate does no I/O beyond parsing a configuration text it is
//! handed, and knows nothing of EWS, HTTP, SMTP/IMAP or SQL.
#![warn(missing_docs)]
