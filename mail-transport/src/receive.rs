//! Receiving over IMAP: checkpoints by UIDVALIDITY and UID, bounded chunks, acknowledge only
//! after the host stored the message, keep/move/delete, IDLE.

use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_trait::async_trait;
use futures::TryStreamExt;

use crate::error::MailError;
use crate::imap::{self, ImapSession, imap_err, timed};
use crate::mime::ReceivedMail;
use crate::settings::{AfterReceive, ImapSettings};
use crate::sink::{LinkContext, LinkHook, MailSink, StoreOutcome};
use crate::store::CheckpointStore;
use crate::transport::{MailReceiver, ReceiveReport};

/// Extensions that change how messages are acknowledged.
struct ServerCaps {
    uidplus: bool,
    mv: bool,
}

/// An IMAP checkpoint: the folder's UIDVALIDITY and the highest acknowledged UID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImapCheckpoint {
    /// UIDVALIDITY of the folder when the checkpoint was taken.
    pub uid_validity: u32,
    /// Highest UID handed to the host and acknowledged.
    pub last_uid: u32,
}

impl ImapCheckpoint {
    /// `uidvalidity:uid`.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.uid_validity, self.last_uid)
    }
    /// Parses `uidvalidity:uid`; `None` for anything else.
    pub fn decode(s: &str) -> Option<Self> {
        let (v, u) = s.split_once(':')?;
        Some(ImapCheckpoint {
            uid_validity: v.trim().parse().ok()?,
            last_uid: u.trim().parse().ok()?,
        })
    }
}

/// Receives from an IMAP folder.
pub struct ImapReceiver {
    account: String,
    settings: ImapSettings,
    checkpoints: Arc<dyn CheckpointStore>,
}

impl std::fmt::Debug for ImapReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapReceiver")
            .field("account", &self.account)
            .field("server", &self.settings.server.server())
            .field("folder", &self.settings.inbox)
            .finish()
    }
}

/// What [`ImapReceiver::wait_for_mail`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// New mail is there (or the server reported a change): call `receive`.
    NewMail,
    /// Nothing happened before the timeout.
    Timeout,
}

impl ImapReceiver {
    /// A receiver for `account` (the key of its checkpoints).
    pub fn new(
        account: impl Into<String>,
        settings: ImapSettings,
        checkpoints: Arc<dyn CheckpointStore>,
    ) -> Self {
        ImapReceiver {
            account: account.into(),
            settings,
            checkpoints,
        }
    }

    /// The stored checkpoint of the receiving folder.
    pub fn checkpoint(&self) -> Result<Option<ImapCheckpoint>, MailError> {
        Ok(self
            .checkpoints
            .load(&self.account, &self.settings.inbox)?
            .as_deref()
            .and_then(ImapCheckpoint::decode))
    }

    async fn new_uids(&self, session: &mut ImapSession, last: u32) -> Result<Vec<u32>, MailError> {
        let s = &self.settings.server;
        let found = session
            .uid_search(format!("UID {}:*", last.saturating_add(1)))
            .await
            .map_err(|e| imap_err(e, s))?;
        // `n:*` always matches the highest UID even when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    async fn add_flag(
        &self,
        session: &mut ImapSession,
        set: &str,
        flag: &str,
    ) -> Result<(), MailError> {
        let s = &self.settings.server;
        let _: Vec<_> = session
            .uid_store(set, format!("+FLAGS.SILENT ({flag})"))
            .await
            .map_err(|e| imap_err(e, s))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, s))?;
        Ok(())
    }

    /// Acknowledges one message. Without UIDPLUS a deleted (or, without MOVE, a copied)
    /// message is only flagged `\Deleted` here; [`Self::expunge_flagged`] removes it after
    /// the chunk (the checkpoint already excludes it, so it is never offered twice).
    async fn acknowledge(
        &self,
        session: &mut ImapSession,
        uid: u32,
        caps: &ServerCaps,
    ) -> Result<(), MailError> {
        let s = &self.settings.server;
        let set = uid.to_string();
        match &self.settings.after_receive {
            AfterReceive::KeepCopy => self.add_flag(session, &set, "\\Seen").await?,
            AfterReceive::MoveTo(folder) if caps.mv => {
                session
                    .uid_mv(&set, folder)
                    .await
                    .map_err(|e| imap_err(e, s))?;
            }
            AfterReceive::MoveTo(folder) => {
                session
                    .uid_copy(&set, folder)
                    .await
                    .map_err(|e| imap_err(e, s))?;
                self.add_flag(session, &set, "\\Deleted").await?;
                if caps.uidplus {
                    self.uid_expunge(session, &set).await?;
                }
            }
            AfterReceive::Delete => {
                self.add_flag(session, &set, "\\Deleted").await?;
                if caps.uidplus {
                    self.uid_expunge(session, &set).await?;
                }
            }
        }
        Ok(())
    }

    async fn uid_expunge(&self, session: &mut ImapSession, set: &str) -> Result<(), MailError> {
        let s = &self.settings.server;
        let _: Vec<_> = session
            .uid_expunge(set)
            .await
            .map_err(|e| imap_err(e, s))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, s))?;
        Ok(())
    }

    async fn expunge_flagged(
        &self,
        session: &mut ImapSession,
        caps: &ServerCaps,
    ) -> Result<(), MailError> {
        let needs = match &self.settings.after_receive {
            AfterReceive::KeepCopy => false,
            AfterReceive::MoveTo(_) => !caps.mv && !caps.uidplus,
            AfterReceive::Delete => !caps.uidplus,
        };
        if needs {
            let s = &self.settings.server;
            let _: Vec<_> = session
                .expunge()
                .await
                .map_err(|e| imap_err(e, s))?
                .try_collect()
                .await
                .map_err(|e| imap_err(e, s))?;
        }
        Ok(())
    }

    async fn run(
        &self,
        session: &mut ImapSession,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
    ) -> Result<ReceiveReport, MailError> {
        let s = &self.settings.server;
        let folder = &self.settings.inbox;
        let mbox = timed(s.command_timeout(), "selecting the folder", async {
            session.select(folder).await.map_err(|e| match e {
                async_imap::error::Error::No(_) => MailError::FolderNotFound(folder.clone()),
                other => imap_err(other, s),
            })
        })
        .await?;
        let uid_validity = mbox
            .uid_validity
            .ok_or_else(|| MailError::Protocol("the server sent no UIDVALIDITY".into()))?;
        let mut report = ReceiveReport::default();
        let stored = self.checkpoint()?;
        let mut last = match stored {
            Some(cp) if cp.uid_validity == uid_validity => cp.last_uid,
            Some(cp) => {
                tracing::info!(folder = %folder, old = cp.uid_validity, new = uid_validity,
                    "UIDVALIDITY changed: offering the whole folder again, deduplicated by Message-ID");
                report.checkpoint_reset = true;
                0
            }
            None => 0,
        };
        let caps = timed(s.command_timeout(), "asking for capabilities", async {
            session.capabilities().await.map_err(|e| imap_err(e, s))
        })
        .await?;
        let caps = ServerCaps {
            uidplus: caps.has_str("UIDPLUS"),
            mv: caps.has_str("MOVE"),
        };
        // leftovers of an interrupted run without UIDPLUS
        self.expunge_flagged(session, &caps).await?;
        let uids = timed(
            s.command_timeout(),
            "searching new mail",
            self.new_uids(session, last),
        )
        .await?;
        let chunk = usize::try_from(self.settings.fetch_chunk.max(1)).unwrap_or(50);
        for part in uids.chunks(chunk) {
            let set = part
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut fetched: Vec<(u32, Vec<u8>)> =
                timed(s.command_timeout(), "fetching mail", async {
                    let fetches: Vec<_> = session
                        .uid_fetch(&set, "(UID BODY.PEEK[])")
                        .await
                        .map_err(|e| imap_err(e, s))?
                        .try_collect()
                        .await
                        .map_err(|e| imap_err(e, s))?;
                    Ok(fetches
                        .iter()
                        .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
                        .collect())
                })
                .await?;
            fetched.sort_by_key(|(uid, _)| *uid);
            for (uid, raw) in fetched {
                let mut mail = ReceivedMail::parse(raw);
                mail.links = links.links(&LinkContext::of(&mail)).await;
                match sink.store(mail).await? {
                    StoreOutcome::Stored => report.stored += 1,
                    StoreOutcome::Duplicate => report.duplicates += 1,
                }
                timed(
                    s.command_timeout(),
                    "acknowledging mail",
                    self.acknowledge(session, uid, &caps),
                )
                .await?;
                report.acknowledged += 1;
                last = last.max(uid);
                let cp = ImapCheckpoint {
                    uid_validity,
                    last_uid: last,
                };
                self.checkpoints.save(&self.account, folder, &cp.encode())?;
            }
            self.expunge_flagged(session, &caps).await?;
        }
        let cp = ImapCheckpoint {
            uid_validity,
            last_uid: last,
        };
        if report.checkpoint_reset || stored.is_none() {
            self.checkpoints.save(&self.account, folder, &cp.encode())?;
        }
        report.checkpoint = Some(cp.encode());
        Ok(report)
    }

    /// Waits until new mail arrives (IMAP IDLE; polling with NOOP where IDLE is missing) or
    /// `timeout` passes. Returns at once when mail newer than the checkpoint is waiting.
    pub async fn wait_for_mail(&self, timeout: Duration) -> Result<WaitOutcome, MailError> {
        let s = &self.settings.server;
        let mut session = imap::connect(s).await?;
        let mbox = session
            .select(&self.settings.inbox)
            .await
            .map_err(|e| imap_err(e, s))?;
        let last = match self.checkpoint()? {
            Some(cp) if Some(cp.uid_validity) == mbox.uid_validity => cp.last_uid,
            Some(_) => return Ok(WaitOutcome::NewMail),
            None => 0,
        };
        if !self.new_uids(&mut session, last).await?.is_empty() {
            let _ = session.logout().await;
            return Ok(WaitOutcome::NewMail);
        }
        let caps = session.capabilities().await.map_err(|e| imap_err(e, s))?;
        if caps.has_str("IDLE") {
            let mut idle = session.idle();
            idle.init().await.map_err(|e| imap_err(e, s))?;
            let (fut, _stop) = idle.wait_with_timeout(timeout);
            let outcome = fut.await.map_err(|e| imap_err(e, s))?;
            let mut session = idle.done().await.map_err(|e| imap_err(e, s))?;
            let _ = session.logout().await;
            return Ok(match outcome {
                IdleResponse::NewData(_) => WaitOutcome::NewMail,
                IdleResponse::Timeout | IdleResponse::ManualInterrupt => WaitOutcome::Timeout,
            });
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(2).min(timeout)).await;
            session.noop().await.map_err(|e| imap_err(e, s))?;
            if !self.new_uids(&mut session, last).await?.is_empty() {
                let _ = session.logout().await;
                return Ok(WaitOutcome::NewMail);
            }
        }
        let _ = session.logout().await;
        Ok(WaitOutcome::Timeout)
    }
}

#[async_trait]
impl MailReceiver for ImapReceiver {
    async fn receive(
        &self,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
    ) -> Result<ReceiveReport, MailError> {
        let mut session = imap::connect(&self.settings.server).await?;
        let result = self.run(&mut session, sink, links).await;
        let _ = session.logout().await;
        result
    }
}
