//! # ews-mock
//!
//! A stateful mock Exchange server speaking EWS over HTTP: mailboxes, folders, items, ids and
//! change keys, sync states, impersonation rights, throttling and injectable faults.
//!
//! Start it in-process on a free loopback port, seed it, point a client at [`MockHandle::url`],
//! inspect it, shut it down:
//!
//! ```no_run
//! # async fn demo() -> Result<(), ews_mock::MockError> {
//! use ews_mock::{MockConfig, MockServer, OrgData};
//! let data = OrgData::from_toml(r#"
//!     [[users]]
//!     address = "alice@contoso.test"
//!     password = "secret"
//! "#)?;
//! let mock = MockServer::start(MockConfig::new(data)).await?;
//! println!("EWS at {}, tokens at {}", mock.url(), mock.token_url());
//! let inbox_items = mock.mailbox("alice@contoso.test").map(|m| m.items.len());
//! mock.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Architecture invariant: it reuses `ews-client`'s XML types and has no XML plumbing of its own.
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod error;
mod ews;
pub mod faults;
pub mod graph;
mod http;
pub mod ids;
mod info_ops;
pub mod itemxml;
pub mod log;
mod mime;
pub mod ntlm;
pub mod props;
pub mod recur;
mod server;
pub mod soap;
pub mod store;

pub use config::{
    AppData, GroupData, MailboxData, MockConfig, OrgData, Settings, TlsConfig, UserData,
};
pub use error::MockError;
pub use faults::{Fault, FaultRule, FaultStatus};
pub use graph::exo::EwsSwitches;
pub use graph::{GraphAppData, GraphData};
pub use log::LogEntry;
pub use server::{MockHandle, MockServer};
pub use store::{EwsItem, ItemSnapshot, MailboxSnapshot, OutboundMail, Store};
