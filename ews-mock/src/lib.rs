//! # ews-mock
//!
//! A stateful mock Exchange server speaking EWS over HTTP: mailboxes, folders, items, ids and
//! change keys, sync states, impersonation rights, throttling and injectable faults.
//!
//! ## Start here
//!
//! [`MockServer::start`] serves a [`MockConfig`] in-process (a free port on 127.0.0.1 by
//! default) and returns a [`MockHandle`]: seed it ([`MockHandle::seed`], or the
//! [`OrgData`] the config starts with), point any EWS client at [`MockHandle::url`] (or a
//! Microsoft Graph client at [`MockHandle::graph_url`], tokens at
//! [`MockHandle::token_url`]), inspect the mailboxes ([`MockHandle::mailbox`]), inject faults
//! ([`MockHandle::add_fault`]) and shut it down:
//!
//! ```
//! use ews_mock::{MockConfig, MockServer, OrgData};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let users = OrgData::from_toml(r#"
//!     [[users]]
//!     address = "alice@contoso.test"
//!     password = "alice-pw"
//! "#)?;
//! let mock = MockServer::start(MockConfig::new(users)).await?;
//! // seed a mailbox (any time; the same TOML as the data file's [[mailboxes]])
//! mock.seed(&OrgData::from_toml(r#"
//!     [[mailboxes]]
//!     owner = "alice@contoso.test"
//!     items = [{ folder = "contacts", subject = "Carla Diaz", fields = { GivenName = "Carla" } }]
//! "#)?)?;
//! let url = mock.url(); // http://127.0.0.1:<port>/EWS/Exchange.asmx
//! assert!(url.starts_with("http://127.0.0.1:"));
//!
//! // any EWS client: here a bare SOAP GetFolder with Basic authentication
//! let soap = r#"<?xml version="1.0" encoding="utf-8"?>
//! <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
//!     xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
//!     xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
//!   <soap:Header><t:RequestServerVersion Version="Exchange2016"/></soap:Header>
//!   <soap:Body><m:GetFolder>
//!     <m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>
//!     <m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds>
//!   </m:GetFolder></soap:Body>
//! </soap:Envelope>"#;
//! let answer = reqwest::Client::new()
//!     .post(&url)
//!     .basic_auth("alice@contoso.test", Some("alice-pw"))
//!     .header("Content-Type", "text/xml; charset=utf-8")
//!     .body(soap)
//!     .send()
//!     .await?
//!     .text()
//!     .await?;
//! assert!(answer.contains(r#"ResponseClass="Success""#), "{answer}");
//! assert!(answer.contains("<t:TotalCount>1</t:TotalCount>"), "{answer}");
//!
//! // what the server holds, without a client
//! let alice = mock.mailbox("alice@contoso.test").expect("seeded");
//! assert_eq!(alice.items_in("contacts").count(), 1);
//! mock.shutdown().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
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
