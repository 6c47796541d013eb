//! # graph-client
//!
//! A typed Microsoft Graph v1.0 client for what the connector needs from Exchange Online:
//! users, mail folders and messages (MIME, attachments, upload sessions, `sendMail`), contact
//! folders and contacts, calendars and events (series, instances, `calendarView` delta), To Do
//! lists and tasks (linked resources, open extensions), single-value extended properties and
//! `translateExchangeIds`, with JSON `$batch`.
//!
//! Architecture invariant: with the mock's future Graph front, the only crate that knows
//! Graph JSON. Every resource type derives `Serialize` and `Deserialize` (so a server can
//! reuse it) with property names exactly as in Graph's CSDL, checked by `tests/csdl.rs`
//! against `../shared/graph-metadata/v1.0-csdl.xml`.
//!
//! Start with [`Client`] and [`Client::mailbox`]; authenticate through [`auth`] (client
//! secret or certificate, on ews-client's token cache) or any
//! [`TokenProvider`](ews_client::transport::TokenProvider).
#![warn(missing_docs)]

mod decide;
pub(crate) mod schema;

pub mod auth;
pub mod batch;
pub mod calendar;
pub mod client;
pub mod contacts;
pub mod error;
pub mod extended;
pub mod mail;
pub mod odata;
pub mod todo;
pub mod translate;
pub mod types;
pub mod users;

pub use client::{Client, ClientConfig, GRAPH_SCOPE, GRAPH_V1, Mailbox};
pub use error::{ApiError, Error};
pub use odata::{Change, DeltaRound, DeltaStart, ListOptions, Page};
pub use schema::{Described, DescribedEnum, Edm};
pub use types::Base64;
