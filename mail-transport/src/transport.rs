//! Backend-neutral traits: a sender and a receiver. SMTP+IMAP implement them here; an
//! Exchange backend implements the same traits.

use async_trait::async_trait;

use crate::error::MailError;
use crate::mime::{BuiltMail, OutgoingMail};
use crate::sink::{LinkHook, MailSink};

/// Whether a sent message is kept in the account's sent folder (Sent Items on Exchange, the
/// IMAP sent folder for SMTP accounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SentItems {
    /// Keep a copy of every sent message in the sent folder.
    Keep,
    /// Send without keeping a copy.
    Discard,
}

impl SentItems {
    /// Whether a copy is kept.
    pub fn keeps_copy(self) -> bool {
        self == SentItems::Keep
    }
}

/// Where the server stored the sent copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCopy {
    /// Folder name (IMAP) or distinguished folder (Exchange).
    pub folder: String,
    /// Backend id of the copy (`folder/uidvalidity/uid` for IMAP, item id for Exchange).
    pub id: String,
}

/// The result of sending one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// Message-ID of the sent message.
    pub message_id: String,
    /// The server's acceptance, e.g. `250 2.0.0 Ok: queued as 4F3A`.
    pub server_response: String,
    /// The stored copy in the sent folder, when the account keeps one.
    pub stored_copy: Option<SentCopy>,
    /// The message was sent but storing the copy failed (not retried: that would send twice).
    pub copy_error: Option<String>,
}

/// Sends messages.
#[async_trait]
pub trait MailSender: Send + Sync {
    /// Builds and sends one message.
    async fn send(&self, mail: &OutgoingMail) -> Result<SendReceipt, MailError>;
    /// Sends an already built message (used by the [`crate::SendQueue`]).
    async fn send_built(&self, mail: &BuiltMail) -> Result<SendReceipt, MailError>;
}

/// The result of one receive run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiveReport {
    /// Messages the host stored now.
    pub stored: usize,
    /// Messages the host already had (redeliveries).
    pub duplicates: usize,
    /// Messages acknowledged on the server.
    pub acknowledged: usize,
    /// The folder's UIDVALIDITY (or sync state) changed: the whole folder was offered again
    /// and deduplicated by Message-ID.
    pub checkpoint_reset: bool,
    /// The checkpoint after the run.
    pub checkpoint: Option<String>,
}

/// Receives messages: fetches what is new since the checkpoint, hands each message to the
/// sink, and acknowledges it on the server only after the sink confirmed.
#[async_trait]
pub trait MailReceiver: Send + Sync {
    /// One receive run.
    async fn receive(
        &self,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
    ) -> Result<ReceiveReport, MailError>;
}
