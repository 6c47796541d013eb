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
//! ## Start here
//!
//! A [`Client`] is built from a [`ClientConfig`]: a token provider from [`auth`] (client
//! secret or certificate, on ews-client's token cache) or any
//! [`TokenProvider`](ews_client::transport::TokenProvider), and optionally another service
//! root (a national cloud, a mock). [`Client::mailbox`] gives the per-mailbox calls (mail,
//! contacts, calendars, To Do); every call is throttled, retried and bounded by the config.
//! Here a local stand-in server (wiremock; the workspace's `ews-mock` has a full Graph front)
//! plays the token endpoint and Graph:
//!
//! ```
//! use graph_client::{Client, ClientConfig, auth};
//! use wiremock::matchers::{method, path};
//! use wiremock::{Mock, MockServer, ResponseTemplate};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let server = MockServer::start().await;
//! Mock::given(method("POST"))
//!     .and(path("/contoso/oauth2/v2.0/token"))
//!     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
//!         "token_type": "Bearer", "expires_in": 3599, "access_token": "token-1"})))
//!     .mount(&server)
//!     .await;
//! Mock::given(method("GET"))
//!     .and(path("/v1.0/users/anna@contoso.test/mailFolders"))
//!     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
//!         "value": [{"id": "AAMk-inbox", "displayName": "Inbox"}]})))
//!     .mount(&server)
//!     .await;
//!
//! // app-only authentication with a client secret (token endpoint moved to the stand-in)
//! let mut credentials = auth::credentials("contoso", "app-id")
//!     .with_token_url(format!("{}/contoso/oauth2/v2.0/token", server.uri()).parse()?);
//! credentials.client_secret = "app-secret".to_owned().into();
//! let tokens = auth::with_secret(credentials)?;
//! // Graph v1.0 by default; here the stand-in's root
//! let root = format!("{}/v1.0", server.uri()).parse()?;
//! let config = ClientConfig::new(tokens).with_base_url(root);
//! let client = Client::new(config)?;
//!
//! let folders = client.mailbox("anna@contoso.test").mail_folders().await?;
//! assert_eq!(folders[0].display_name.as_deref(), Some("Inbox"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
/// The URL type of [`ClientConfig::base_url`] (re-exported so callers need no `url` dependency).
pub use url::Url;
