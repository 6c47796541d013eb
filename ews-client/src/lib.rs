//! # ews-client
//!
//! A typed client for Exchange Web Services (EWS): SOAP envelope, one module per operation,
//! authentication (Basic, NTLM, OAuth 2.0), impersonation and throttling.
//!
//! Architecture invariant: this is the only crate (with `ews-mock`, which reuses its types)
//! that knows EWS XML. It knows nothing of ConAktiv or of sync.
//!
//! Start with [`Client`] (see the [`client`] module for an example that impersonates a
//! mailbox): build it from a [`ClientConfig`], call [`Client::for_mailbox`] per mailbox and
//! [`Client::execute`] any request of [`ops`], or use the paging and sync streams. Servers
//! (`ews-mock`) use [`envelope`] and [`ops::AnyRequest`] to read requests and write responses,
//! and [`schema::validate`] to check them against Microsoft's schema.
#![warn(missing_docs)]

pub mod client;
pub mod envelope;
pub mod error;
pub mod operation;
pub mod ops;
pub mod schema;
pub mod transport;
pub mod types;
pub mod xml;

pub use client::{Client, ClientConfig};
pub use error::Error;
