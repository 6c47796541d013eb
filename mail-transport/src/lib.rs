//! # mail-transport
//!
//! Sending and receiving mail for a mail account: SMTP (lettre), IMAP (async-imap) and
//! Exchange (through `ews-client`), MIME building and parsing, "test account".
//!
//! Architecture invariant: knows nothing of sync rules or of the CRM's storage; the host
//! receives mail through a sink trait ([`MailSink`]) and links it through [`LinkHook`].
//!
//! Entry points:
//! - [`SmtpSender`] (implements [`MailSender`]) and [`SendQueue`] (persistent, throttled);
//! - [`ImapReceiver`] (implements [`MailReceiver`]) with a [`CheckpointStore`]
//!   ([`SqliteCheckpoints`]);
//! - [`DedupSink`] and [`MessageIdStore`] for Message-ID deduplication on the host side;
//! - [`exchange::ExchangeSender`] and [`exchange::ExchangeReceiver`] (the same traits over
//!   `ews-client`);
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
pub use store::{CheckpointStore, QueueRun, SendQueue, SqliteCheckpoints};
pub use transport::{MailReceiver, MailSender, ReceiveReport, SendReceipt, SentCopy, SentItems};
