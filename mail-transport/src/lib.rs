//! # mail-transport
//!
//! Sending and receiving mail for a mail account: SMTP (lettre), IMAP (async-imap) and
//! Exchange (through `ews-client`), MIME building and parsing, "test account".
//!
//! ## Start here
//!
//! A backend implements [`MailSender`] (send an [`OutgoingMail`]) and [`MailReceiver`] (hand
//! what is new to the host's [`MailSink`], acknowledge only what the sink stored). The
//! message itself is backend-neutral: [`OutgoingMail::build`] makes the MIME,
//! [`ReceivedMail::parse`] reads any MIME back:
//!
//! ```
//! use mail_transport::{Mailbox, OutgoingMail, ReceivedMail, TransferEncoding};
//!
//! let mail = OutgoingMail {
//!     from: Mailbox::named("Anna Schmidt", "anna@contoso.test"),
//!     to: vec![Mailbox::new("ben@contoso.test")],
//!     subject: "Angebot AN-2026-0007".into(),
//!     text: Some("Guten Tag, anbei das Angebot.".into()),
//!     ..OutgoingMail::default()
//! };
//! let built = mail.build(TransferEncoding::Auto)?;
//! assert_eq!(built.envelope_to, ["ben@contoso.test"]);
//! let back = ReceivedMail::parse(built.bytes.clone());
//! assert_eq!(back.message_id, built.message_id);
//! assert_eq!(back.subject.as_deref(), Some("Angebot AN-2026-0007"));
//! # Ok::<(), mail_transport::MailError>(())
//! ```
//!
//! Sending and receiving through Exchange Online (Microsoft Graph), here against the Graph
//! front of `ews-mock`; [`SmtpSender`]/[`ImapReceiver`] and
//! [`ExchangeSender`]/[`ExchangeReceiver`] (EWS) are used the same way:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use mail_transport::{
//!     AfterReceive, GraphReceiver, GraphSender, MailReceiver, MailSender, MailSink, Mailbox,
//!     NoLinks, OutgoingMail, ReceivedMail, SentItems, SinkError, SqliteCheckpoints,
//!     StoreOutcome,
//! };
//!
//! /// The host's side: where received mail is filed.
//! #[derive(Default)]
//! struct Filed(Mutex<Vec<ReceivedMail>>);
//!
//! #[async_trait::async_trait]
//! impl MailSink for Filed {
//!     async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
//!         self.0.lock().map_err(|_| SinkError::permanent("poisoned"))?.push(mail);
//!         Ok(StoreOutcome::Stored)
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let org = ews_mock::OrgData::from_toml(r#"
//!     [[users]]
//!     address = "anna@contoso.test"
//!     password = "anna-pw"
//!     [[users]]
//!     address = "ben@contoso.test"
//!     password = "ben-pw"
//!     [[apps]]
//!     client_id = "crm-app"
//!     client_secret = "crm-app-secret"
//!     tenant = "contoso"
//!     roles = ["full_access_as_app"]
//! "#)?;
//! let mock = ews_mock::MockServer::start(ews_mock::MockConfig::new(org)).await?;
//! // an app-only Graph client of the organisation's app
//! let mut credentials = graph_client::auth::credentials("contoso", "crm-app")
//!     .with_token_url(mock.token_url().parse()?);
//! credentials.client_secret = "crm-app-secret".to_owned().into();
//! let graph = graph_client::Client::new(
//!     graph_client::ClientConfig::new(graph_client::auth::with_secret(credentials)?)
//!         .with_base_url(mock.graph_url().parse()?),
//! )?;
//!
//! let sender = GraphSender::new(graph.clone(), "anna@contoso.test", SentItems::Keep);
//! let receipt = sender
//!     .send(&OutgoingMail {
//!         from: Mailbox::new("anna@contoso.test"),
//!         to: vec![Mailbox::new("ben@contoso.test")],
//!         subject: "Hallo Ben".into(),
//!         text: Some("Bis morgen.".into()),
//!         ..OutgoingMail::default()
//!     })
//!     .await?;
//! assert!(receipt.stored_copy.is_some(), "kept in anna's Sent Items");
//!
//! let state = tempfile::tempdir()?;
//! let checkpoints = Arc::new(SqliteCheckpoints::open(state.path().join("mail.sqlite"))?);
//! let receiver = GraphReceiver::new(
//!     graph,
//!     "ben@contoso.test",
//!     "ben", // the account name the checkpoints are kept under
//!     checkpoints,
//!     AfterReceive::KeepCopy,
//! );
//! let filed = Filed::default();
//! let report = receiver.receive(&filed, &NoLinks).await?;
//! assert_eq!(report.stored, 1);
//! // the next run starts at the checkpoint: nothing new
//! assert_eq!(receiver.receive(&filed, &NoLinks).await?.stored, 0);
//! mock.shutdown().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Contents
//!
//! Architecture invariant: knows nothing of sync rules or of the CRM's storage; the host
//! receives mail through a sink trait ([`MailSink`]) and links it through [`LinkHook`].
//!
//! Entry points:
//! - [`SmtpSender`] (implements [`MailSender`]) and [`SendQueue`] (persistent, throttled; in
//!   SQLite, or with the feature `postgres` in PostgreSQL shared by several workers);
//! - [`ImapReceiver`] (implements [`MailReceiver`]) with a [`CheckpointStore`]
//!   ([`SqliteCheckpoints`]);
//! - [`DedupSink`] and [`MessageIdStore`] for Message-ID deduplication on the host side;
//! - [`ExchangeSender`] and [`ExchangeReceiver`] (the same traits over `ews-client`; a
//!   [`MailboxAccess`] says whether they impersonate the mailbox);
//! - [`GraphSender`] and [`GraphReceiver`] (the same traits over Microsoft Graph through
//!   `graph-client`, for Exchange Online without EWS);
//! - [`model`] for conversions from and to `conaktiv-model`;
//! - [`test_account`] for the structured account test;
//! - [`OutgoingMail::build`] and [`ReceivedMail::parse`] for MIME.
#![warn(missing_docs)]

pub mod account_test;
pub mod error;
pub mod exchange;
pub mod graph;
pub mod imap;
pub mod mime;
pub mod model;
#[cfg(feature = "postgres")]
mod pg_queue;
pub mod receive;
pub mod settings;
pub mod sink;
pub mod smtp;
pub mod store;
mod tls;
pub mod transport;

pub use account_test::{
    AccountTestOptions, AccountTestReport, FailureKind, StepStatus, TestProtocol, TestStep,
    TestStepKind, test_account, test_exchange,
};
/// The connection pool [`SendQueue::postgres`] takes (feature `postgres`).
#[cfg(feature = "postgres")]
pub use deadpool_postgres;
pub use error::MailError;
pub use exchange::{ExchangeReceiver, ExchangeSender, MailboxAccess};
pub use graph::{GraphReceiver, GraphSender};
pub use imap::{FolderInfo, StoredCopy};
pub use mime::{
    Attachment, BuiltMail, MailLinks, Mailbox, OutgoingMail, ParseError, ParseProblem,
    ReceivedAttachment, ReceivedMail,
};
pub use receive::{ImapCheckpoint, ImapReceiver, WaitOutcome};
pub use settings::{
    AccountSettings, AfterReceive, AuthMechanism, Credentials, ImapSettings, Secret,
    ServerSettings, SmtpSettings, Throttle, TlsMode, TransferEncoding,
};
pub use sink::{
    DedupSink, LinkContext, LinkHook, MailSink, MessageIdStore, NoLinks, SinkError, StoreOutcome,
};
pub use smtp::SmtpSender;
#[cfg(feature = "postgres")]
pub use store::PG_COMPONENT as SEND_QUEUE_PG_COMPONENT;
pub use store::{CheckpointStore, QueueRun, SendQueue, SqliteCheckpoints};
pub use transport::{MailReceiver, MailSender, ReceiveReport, SendReceipt, SentCopy, SentItems};
