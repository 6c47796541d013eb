//! # ews-client
//!
//! A typed client for Exchange Web Services (EWS): SOAP envelope, one module per operation,
//! authentication (Basic, NTLM, OAuth 2.0), impersonation and throttling.
//!
//! Architecture invariant: this is the only crate (with `ews-mock`, which reuses its types)
//! that knows EWS XML. It knows nothing of ConAktiv or of sync.
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
