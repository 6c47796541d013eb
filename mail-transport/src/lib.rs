//! # mail-transport
//!
//! Sending and receiving mail for a mail account: SMTP (lettre), IMAP (async-imap) and
//! Exchange (through `ews-client`), MIME building and parsing, "test account".
//!
//! Architecture invariant: knows nothing of sync rules or of the CRM's storage; the host
//! receives mail through a sink trait.
#![warn(missing_docs)]
