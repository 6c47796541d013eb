//! The host side of receiving: the sink that stores mail, the linking hook, and a
//! Message-ID deduplication helper.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::mime::{MailLinks, Mailbox, ReceivedMail};

/// What the host did with a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Stored now.
    Stored,
    /// Already stored earlier (same Message-ID): a redelivery.
    Duplicate,
}

/// The host could not store a message; it stays unacknowledged on the server.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    /// What went wrong.
    pub message: String,
    /// Trying again later may succeed.
    pub transient: bool,
}

impl SinkError {
    /// A transient failure (retry later).
    pub fn transient(message: impl Into<String>) -> Self {
        SinkError {
            message: message.into(),
            transient: true,
        }
    }
    /// A permanent failure.
    pub fn permanent(message: impl Into<String>) -> Self {
        SinkError {
            message: message.into(),
            transient: false,
        }
    }
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

/// Where received mail goes. A message is acknowledged on the server (flagged, moved or
/// deleted, checkpoint advanced) only after `store` returned `Ok`.
#[async_trait]
pub trait MailSink: Send + Sync {
    /// Stores one message; must return `Duplicate` for a Message-ID it already holds.
    async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError>;
}

/// What the linking hook sees of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkContext {
    /// Author.
    pub from: Option<Mailbox>,
    /// To, Cc and Bcc.
    pub recipients: Vec<Mailbox>,
    /// Subject.
    pub subject: Option<String>,
    /// Message-ID.
    pub message_id: String,
    /// In-Reply-To.
    pub in_reply_to: Vec<String>,
    /// References.
    pub references: Vec<String>,
}

impl LinkContext {
    /// The context of a received message.
    pub fn of(mail: &ReceivedMail) -> Self {
        LinkContext {
            from: mail.from.clone(),
            recipients: mail
                .to
                .iter()
                .chain(&mail.cc)
                .chain(&mail.bcc)
                .cloned()
                .collect(),
            subject: mail.subject.clone(),
            message_id: mail.message_id.clone(),
            in_reply_to: mail.in_reply_to.clone(),
            references: mail.references.clone(),
        }
    }
}

/// The host decides which customer, project, offer or invoice a message belongs to.
#[async_trait]
pub trait LinkHook: Send + Sync {
    /// Links for a message (empty when nothing matches).
    async fn links(&self, context: &LinkContext) -> MailLinks;
}

/// A link hook that links nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLinks;

#[async_trait]
impl LinkHook for NoLinks {
    async fn links(&self, _context: &LinkContext) -> MailLinks {
        MailLinks::default()
    }
}

/// Remembers which Message-IDs were stored (SQLite). Used by [`DedupSink`].
#[derive(Clone)]
pub struct MessageIdStore {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

impl std::fmt::Debug for MessageIdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageIdStore")
    }
}

impl MessageIdStore {
    /// Opens (or creates) the store in a SQLite file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let conn =
            rusqlite::Connection::open(path).map_err(|e| SinkError::permanent(e.to_string()))?;
        Self::init(conn)
    }
    /// An in-memory store (tests).
    pub fn in_memory() -> Result<Self, SinkError> {
        let conn = rusqlite::Connection::open_in_memory()
            .map_err(|e| SinkError::permanent(e.to_string()))?;
        Self::init(conn)
    }
    fn init(conn: rusqlite::Connection) -> Result<Self, SinkError> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS stored_message_ids (
                 message_id TEXT PRIMARY KEY,
                 stored_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        )
        .map_err(|e| SinkError::permanent(e.to_string()))?;
        Ok(MessageIdStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, rusqlite::Connection>, SinkError> {
        self.conn
            .lock()
            .map_err(|_| SinkError::permanent("message id store lock poisoned"))
    }
    /// Whether a Message-ID was recorded.
    pub fn contains(&self, message_id: &str) -> Result<bool, SinkError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT COUNT(*) FROM stored_message_ids WHERE message_id = ?1",
            [message_id],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| SinkError::transient(e.to_string()))
    }
    /// Records a Message-ID; false if it was already there.
    pub fn insert(&self, message_id: &str) -> Result<bool, SinkError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT OR IGNORE INTO stored_message_ids (message_id) VALUES (?1)",
            [message_id],
        )
        .map(|n| n > 0)
        .map_err(|e| SinkError::transient(e.to_string()))
    }
}

/// Wraps a host sink and answers `Duplicate` for Message-IDs that were stored before, so a
/// redelivery (crash between store and acknowledge, UIDVALIDITY change) files nothing twice.
///
/// The id is recorded right after the inner sink stored the message. A host whose storage is
/// transactional should instead check the Message-ID in the same transaction as the insert.
pub struct DedupSink<S> {
    inner: S,
    ids: MessageIdStore,
}

impl<S> DedupSink<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, ids: MessageIdStore) -> Self {
        DedupSink { inner, ids }
    }
    /// The wrapped sink.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: MailSink> MailSink for DedupSink<S> {
    async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
        let id = mail.message_id.clone();
        if self.ids.contains(&id)? {
            return Ok(StoreOutcome::Duplicate);
        }
        let outcome = self.inner.store(mail).await?;
        self.ids.insert(&id)?;
        Ok(outcome)
    }
}

#[async_trait]
impl<S: MailSink + ?Sized> MailSink for Arc<S> {
    async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
        (**self).store(mail).await
    }
}

#[async_trait]
impl<S: MailSink + ?Sized> MailSink for &S {
    async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
        (**self).store(mail).await
    }
}
