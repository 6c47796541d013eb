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
//!
//! Against broken or hostile servers the client keeps bounds: every answer is limited in
//! size while it streams ([`transport::TransportConfig::max_response_bytes`], 64 MiB; larger
//! for MIME and attachment downloads), every paging and sync stream in pages, items and time
//! ([`ClientConfig::stream_limits`]) and against repeated pages or sync states, every
//! server-requested wait has a floor, jitter and an attempt cap
//! ([`ClientConfig::busy_retry`]), every batch answer must hold one result per request
//! ([`Error::ResultCount`]), and server text in errors is cut and scrubbed of every secret
//! the client holds ([`transport::Scrubber`]). Documents in UTF-16 or a declared 8-bit
//! character set are transcoded ([`xml::to_utf8`]). TLS trust (roots, and pinning a
//! self-signed server certificate) is described in [`transport`].
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
