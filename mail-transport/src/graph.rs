//! The Exchange Online backend through Microsoft Graph (`graph-client`), for when EWS is
//! switched off: the same [`MailSender`]/[`MailReceiver`] traits and guarantees as
//! [`crate::exchange`].
//!
//! Sending: the built MIME becomes a draft in the mailbox (`POST /messages` with base64 MIME,
//! so Message-ID, In-Reply-To and References stay as built; Graph answers the draft's
//! immutable id, graph-client asks for `IdType="ImmutableId"`), Bcc recipients are set on the
//! draft, attachments are added through Graph's attachment API (up to 3 MB in one request,
//! larger ones through an upload session), then `POST /messages/{id}/send`. The copy lands
//! in Sent Items under the same immutable id and is reported in the [`SendReceipt`]. Without
//! a copy the draft carries `PidTagDeleteAfterSubmit` (`Boolean 0x0e01` = true): `send` has no
//! `saveToSentItems` parameter, Exchange deletes such a message once it is submitted. A send
//! whose outcome is unknown (the connection failed after the request) is never repeated: the
//! draft is looked up; if that does not prove it was sent, a non-transient error says so.
//!
//! Receiving: one folder (the inbox by default) through its messages delta; the
//! `@odata.deltaLink` is the checkpoint, saved only after every message of the round was
//! handed to the sink and acknowledged. Each message is read as MIME (`$value`) and handed to
//! the [`MailSink`]; a crash between filing and checkpoint offers the messages again and the
//! sink's Message-ID deduplication ([`crate::DedupSink`]) answers
//! [`StoreOutcome::Duplicate`]. A delta link the server rejects (410, `syncStateNotFound`)
//! starts a full round, deduplicated the same way. Delta reports changed messages as well as
//! new ones: a message changed after it was filed is offered again and answered as a
//! duplicate by the sink; the receiver's own changes (mark read) are absorbed by a follow-up
//! round within the same run.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use graph_client::extended::PropertyId;
use graph_client::mail::Message;
use graph_client::types::{EmailAddress, Recipient};
use graph_client::{Change, DeltaStart, ListOptions};

use crate::error::MailError;
use crate::mime::{BuiltMail, Mailbox, OutgoingMail, ReceivedMail, synthetic_message_id};
use crate::settings::{AfterReceive, TransferEncoding};
use crate::sink::{LinkContext, LinkHook, MailSink, StoreOutcome};
use crate::store::CheckpointStore;
use crate::transport::{MailReceiver, MailSender, ReceiveReport, SendReceipt, SentCopy, SentItems};

/// `PidTagDeleteAfterSubmit`: a submitted message carrying it is deleted, not moved to Sent
/// Items.
const DELETE_AFTER_SUBMIT: u16 = 0x0e01;

/// Well-known name of Sent Items.
const SENT_ITEMS: &str = "sentitems";

/// Maps a graph-client error (like [`crate::exchange`]'s EWS mapping): TLS and certificate,
/// connection, outcome unknown (never transient: the caller must not repeat the write),
/// authentication, timeouts, invalid recipients, throttling and server trouble (transient).
pub(crate) fn graph_err(e: graph_client::Error) -> MailError {
    use ews_client::transport::TransportError as T;
    match &e {
        graph_client::Error::Transport(T::Tls { message, .. }) => {
            let lower = message.to_ascii_lowercase();
            return if lower.contains("certificate") || lower.contains("issuer") {
                MailError::Certificate(message.clone())
            } else {
                MailError::Tls(message.clone())
            };
        }
        graph_client::Error::Transport(T::Connect { host, message, .. }) => {
            return MailError::network(host.clone(), message.clone()).with_source(e);
        }
        _ => {}
    }
    if e.outcome_unknown() {
        return MailError::Protocol(format!(
            "outcome unknown, not repeated (the server may have done it): {e}"
        ));
    }
    if e.is_auth() {
        return MailError::AuthenticationFailed(e.to_string());
    }
    if matches!(&e, graph_client::Error::Transport(t) if t.is_timeout()) {
        return MailError::Timeout(format!("calling Microsoft Graph: {e}"));
    }
    if e.api()
        .is_some_and(|a| a.code.eq_ignore_ascii_case("ErrorInvalidRecipients"))
    {
        return MailError::Rejected {
            code: 550,
            message: e.to_string(),
            transient: false,
        };
    }
    if e.is_transient() || e.is_throttled() {
        return MailError::network("Microsoft Graph", e.to_string()).with_source(e);
    }
    MailError::Protocol(e.to_string())
}

fn unbracket(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn mailbox_of(r: &Recipient) -> Option<Mailbox> {
    let e = r.email_address.as_ref()?;
    Some(Mailbox {
        name: e.name.clone().filter(|n| !n.is_empty()),
        address: e.address.clone()?,
    })
}

/// Sends through Microsoft Graph: draft, attachments, `send`, the Sent Items copy by its
/// immutable id.
pub struct GraphSender {
    mailbox: graph_client::Mailbox,
    save_copy: bool,
    encoding: TransferEncoding,
    copy_wait: Duration,
}

impl std::fmt::Debug for GraphSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphSender")
            .field("mailbox", &self.mailbox.user())
            .field("save_copy", &self.save_copy)
            .finish()
    }
}

impl GraphSender {
    /// A sender for `mailbox` (its address or user id) with an app-only `client`. With
    /// [`SentItems::Keep`] the sent message stays in Sent Items.
    pub fn new(client: graph_client::Client, mailbox: &str, sent_items: SentItems) -> Self {
        GraphSender {
            mailbox: client.mailbox(mailbox),
            save_copy: sent_items.keeps_copy(),
            encoding: TransferEncoding::Auto,
            copy_wait: Duration::from_secs(10),
        }
    }

    /// How long to look for the Sent Items copy after `send` (Exchange submits
    /// asynchronously; default 10 s). A copy not seen by then is reported in
    /// [`SendReceipt::copy_error`].
    pub fn with_copy_wait(mut self, wait: Duration) -> Self {
        self.copy_wait = wait;
        self
    }

    /// The MIME the draft is created from: the built message itself when it has no
    /// attachments, else the same message rebuilt without them (they are added through
    /// Graph's attachment API, large ones through an upload session).
    fn draft_mime(built: &BuiltMail, parsed: &ReceivedMail) -> Result<Vec<u8>, MailError> {
        if parsed.attachments.is_empty() {
            return Ok(built.bytes.clone());
        }
        let from = parsed
            .from
            .clone()
            .ok_or_else(|| MailError::Build("the built message has no From".into()))?;
        let bare = OutgoingMail {
            from,
            to: parsed.to.clone(),
            cc: parsed.cc.clone(),
            // Bcc is not in the MIME; it is set on the draft
            bcc: if parsed.to.is_empty() && parsed.cc.is_empty() {
                built
                    .envelope_to
                    .iter()
                    .map(|a| Mailbox::new(a.clone()))
                    .collect()
            } else {
                Vec::new()
            },
            reply_to: parsed.reply_to.first().cloned(),
            subject: parsed.subject.clone().unwrap_or_default(),
            text: parsed.text.clone(),
            html: parsed.html.clone(),
            attachments: Vec::new(),
            message_id: Some(built.message_id.clone()),
            in_reply_to: parsed.in_reply_to.first().cloned(),
            references: parsed.references.clone(),
            date: parsed.date,
        };
        Ok(bare.build(TransferEncoding::Auto)?.bytes)
    }

    /// Bcc recipients: the envelope's recipients that are not in To or Cc.
    fn bcc(built: &BuiltMail, parsed: &ReceivedMail) -> Vec<Recipient> {
        let visible: Vec<String> = parsed
            .to
            .iter()
            .chain(&parsed.cc)
            .map(|m| m.address.to_ascii_lowercase())
            .collect();
        built
            .envelope_to
            .iter()
            .filter(|a| !visible.contains(&a.to_ascii_lowercase()))
            .map(|a| Recipient {
                email_address: Some(EmailAddress {
                    name: None,
                    address: Some(a.clone()),
                }),
            })
            .collect()
    }

    /// Creates the draft and adds the attachments; returns the draft's immutable id.
    async fn prepare(&self, built: &BuiltMail) -> Result<String, MailError> {
        let parsed = ReceivedMail::parse(built.bytes.clone());
        let mime = Self::draft_mime(built, &parsed)?;
        let draft = self
            .mailbox
            .create_draft_mime(&mime)
            .await
            .map_err(pre_send_err)?;
        let id = draft
            .id
            .ok_or_else(|| MailError::Protocol("Graph created a draft without an id".into()))?;
        if let Err(e) = self.complete_draft(&id, built, &parsed).await {
            // nothing was sent: the half-built draft is removed (best effort)
            if let Err(cleanup) = self.mailbox.delete_message(&id, None).await {
                tracing::warn!(error = %cleanup, "could not remove an unsent Graph draft");
            }
            return Err(e);
        }
        Ok(id)
    }

    async fn complete_draft(
        &self,
        id: &str,
        built: &BuiltMail,
        parsed: &ReceivedMail,
    ) -> Result<(), MailError> {
        let bcc = Self::bcc(built, parsed);
        if !bcc.is_empty() || !self.save_copy {
            let patch = Message {
                bcc_recipients: (!bcc.is_empty()).then_some(bcc),
                single_value_extended_properties: (!self.save_copy).then(|| {
                    vec![PropertyId::tagged("Boolean", DELETE_AFTER_SUBMIT).value("true")]
                }),
                ..Message::default()
            };
            self.mailbox
                .update_message(id, &patch, None)
                .await
                .map_err(pre_send_err)?;
        }
        for (i, a) in parsed.attachments.iter().enumerate() {
            let name = a
                .file_name
                .clone()
                .unwrap_or_else(|| format!("attachment-{}", i + 1));
            self.mailbox
                .add_attachment(id, &name, &a.content_type, &a.data)
                .await
                .map_err(pre_send_err)?;
        }
        Ok(())
    }

    /// After `send`: where the message is now. `Ok(Some(true))` in Sent Items, `Ok(Some(false))`
    /// still a draft, `Ok(None)` gone (deleted after submit).
    async fn state_of(&self, id: &str) -> Result<Option<bool>, graph_client::Error> {
        let options = ListOptions::default().select(&["id", "parentFolderId", "isDraft"]);
        match self.mailbox.message(id, &options).await {
            Ok(m) => {
                if m.is_draft == Some(true) {
                    return Ok(Some(false));
                }
                let sent = self.mailbox.mail_folder(SENT_ITEMS).await?;
                Ok(Some(
                    m.parent_folder_id.is_some() && m.parent_folder_id == sent.id,
                ))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Looks for the copy in Sent Items by the draft's immutable id, for up to `copy_wait`.
    async fn find_copy(&self, id: &str) -> (Option<SentCopy>, Option<String>) {
        let deadline = tokio::time::Instant::now() + self.copy_wait;
        let mut delay = Duration::from_millis(200);
        loop {
            let last = match self.state_of(id).await {
                Ok(Some(true)) => {
                    return (
                        Some(SentCopy {
                            folder: SENT_ITEMS.into(),
                            id: id.to_string(),
                        }),
                        None,
                    );
                }
                Ok(Some(false)) => "not in Sent Items yet".to_string(),
                Ok(None) => "the message is gone from the mailbox".to_string(),
                Err(e) => e.to_string(),
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return (
                    None,
                    Some(format!(
                        "sent, but its copy (immutable id {id}) was not found in Sent Items: {last}"
                    )),
                );
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}

/// Errors before `send`: nothing was sent, so a dropped connection (a draft or attachment
/// that may exist) is worth another try; the rest as [`graph_err`].
fn pre_send_err(e: graph_client::Error) -> MailError {
    if e.outcome_unknown() {
        let message = format!("preparing the draft (nothing was sent): {e}");
        return MailError::network("Microsoft Graph", message).with_source(e);
    }
    graph_err(e)
}

#[async_trait]
impl MailSender for GraphSender {
    async fn send(&self, mail: &OutgoingMail) -> Result<SendReceipt, MailError> {
        self.send_built(&mail.build(self.encoding)?).await
    }

    async fn send_built(&self, built: &BuiltMail) -> Result<SendReceipt, MailError> {
        let id = self.prepare(built).await?;
        if let Err(e) = self.mailbox.send_draft(&id).await {
            if !e.outcome_unknown() {
                if let Err(cleanup) = self.mailbox.delete_message(&id, None).await {
                    tracing::warn!(error = %cleanup, "could not remove an unsent Graph draft");
                }
                return Err(graph_err(e));
            }
            // never sent again blindly: look whether the draft was sent
            match self.state_of(&id).await {
                Ok(Some(true)) => {}
                Ok(None) if !self.save_copy => {}
                Ok(_) | Err(_) => {
                    return Err(MailError::Protocol(format!(
                        "outcome of sending message {} unknown (draft {id} kept, not sent \
                         again; check the recipient or Sent Items before repeating): {e}",
                        built.message_id
                    )));
                }
            }
        }
        let (stored_copy, copy_error) = if self.save_copy {
            self.find_copy(&id).await
        } else {
            (None, None)
        };
        Ok(SendReceipt {
            message_id: built.message_id.clone(),
            server_response: "202 Accepted".into(),
            stored_copy,
            copy_error,
        })
    }
}

/// Receives one mail folder through Microsoft Graph's messages delta.
pub struct GraphReceiver {
    mailbox: graph_client::Mailbox,
    account: String,
    folder: String,
    checkpoints: Arc<dyn CheckpointStore>,
    after_receive: AfterReceive,
    page_size: u32,
}

impl std::fmt::Debug for GraphReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphReceiver")
            .field("mailbox", &self.mailbox.user())
            .field("account", &self.account)
            .field("folder", &self.folder)
            .field("after_receive", &self.after_receive)
            .finish()
    }
}

/// Follow-up rounds of one run that absorb the receiver's own changes (mark read) or take
/// the mail that arrived meanwhile.
const MAX_ROUNDS: usize = 4;

/// What ended a run early.
enum RunError {
    /// The stored delta link was rejected: start over.
    Reset,
    /// Anything else.
    Failed(MailError),
}

impl GraphReceiver {
    /// A receiver for the inbox of `mailbox` with an app-only `client`. With
    /// [`AfterReceive::KeepCopy`] a filed message is marked read; with
    /// [`AfterReceive::Delete`] it is moved to Deleted Items; with [`AfterReceive::MoveTo`]
    /// it is moved to that folder (id or well-known name).
    pub fn new(
        client: graph_client::Client,
        mailbox: &str,
        account: impl Into<String>,
        checkpoints: Arc<dyn CheckpointStore>,
        after_receive: AfterReceive,
    ) -> Self {
        GraphReceiver {
            mailbox: client.mailbox(mailbox),
            account: account.into(),
            folder: "inbox".into(),
            checkpoints,
            after_receive,
            page_size: 100,
        }
    }

    /// Receives from this folder (id or well-known name) instead of the inbox.
    pub fn with_folder(mut self, folder: impl Into<String>) -> Self {
        self.folder = folder.into();
        self
    }

    /// Messages per delta page (`Prefer: odata.maxpagesize`).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The checkpoint key of the folder.
    pub fn checkpoint_key(&self) -> String {
        format!("graph:{}", self.folder)
    }

    /// Whether a stored checkpoint is a delta link this client can follow for this folder.
    fn usable_link(&self, link: &str) -> bool {
        let base = self.mailbox.client().config().base_url.as_str();
        link.starts_with(base) && link.contains("/messages/delta")
    }

    /// The message as received mail; `None` if it was deleted meanwhile.
    async fn to_mail(
        &self,
        message: &Message,
        id: &str,
    ) -> Result<Option<ReceivedMail>, MailError> {
        let raw = match self.mailbox.message_mime(id).await {
            Ok(raw) => raw,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(graph_err(e)),
        };
        let mut mail = ReceivedMail::parse(raw);
        let has_header = mail
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Message-ID"));
        match message
            .internet_message_id
            .as_deref()
            .map(unbracket)
            .filter(|m| !m.is_empty())
        {
            Some(m) => mail.message_id = m,
            // stable across redeliveries: derived from the immutable id
            None if !has_header => mail.message_id = synthetic_message_id(id.as_bytes()),
            None => {}
        }
        if mail.from.is_none() {
            mail.from = message
                .from
                .as_ref()
                .or(message.sender.as_ref())
                .and_then(mailbox_of);
        }
        if mail.subject.is_none() {
            mail.subject = message.subject.clone();
        }
        if mail.date.is_none() {
            mail.date = message.sent_date_time.or(message.received_date_time);
        }
        Ok(Some(mail))
    }

    async fn acknowledge(&self, message: &Message, id: &str) -> Result<(), MailError> {
        let result = match &self.after_receive {
            AfterReceive::KeepCopy if message.is_read == Some(true) => return Ok(()),
            AfterReceive::KeepCopy => {
                let patch = Message {
                    is_read: Some(true),
                    ..Message::default()
                };
                self.mailbox
                    .update_message(id, &patch, None)
                    .await
                    .map(|_| ())
            }
            AfterReceive::MoveTo(folder) => self.mailbox.move_message(id, folder).await.map(|_| ()),
            AfterReceive::Delete => self.mailbox.delete_message(id, None).await,
        };
        match result {
            Ok(()) => Ok(()),
            // already gone: nothing left to acknowledge
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(graph_err(e)),
        }
    }

    async fn deliver(
        &self,
        message: &Message,
        id: &str,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
    ) -> Result<Option<StoreOutcome>, MailError> {
        let Some(mut mail) = self.to_mail(message, id).await? else {
            return Ok(None);
        };
        mail.links = links.links(&LinkContext::of(&mail)).await;
        let outcome = sink.store(mail).await?;
        self.acknowledge(message, id).await?;
        Ok(Some(outcome))
    }

    /// Delta rounds from `link` (or a full round): every new message to the sink, the delta
    /// link saved after each complete round.
    async fn run(
        &self,
        mut link: Option<String>,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
        report: &mut ReceiveReport,
    ) -> Result<(), RunError> {
        let key = self.checkpoint_key();
        let select = [
            "id",
            "internetMessageId",
            "subject",
            "from",
            "sender",
            "sentDateTime",
            "receivedDateTime",
            "isRead",
            "isDraft",
        ];
        let mut handled: HashSet<String> = HashSet::new();
        for round in 0..MAX_ROUNDS {
            let start = match &link {
                Some(l) => DeltaStart::Link(l),
                None => DeltaStart::Initial,
            };
            let delta = match self
                .mailbox
                .messages_delta(&self.folder, start, &select, Some(self.page_size))
                .await
            {
                Ok(d) => d,
                Err(e) if e.is_delta_reset() && round == 0 && link.is_some() => {
                    return Err(RunError::Reset);
                }
                Err(e) => return Err(RunError::Failed(graph_err(e))),
            };
            let mut new = 0usize;
            for change in &delta.changes {
                let Change::Upsert(message) = change else {
                    continue;
                };
                let Some(id) = message.id.as_deref() else {
                    continue;
                };
                if message.is_draft == Some(true) || handled.contains(id) {
                    continue;
                }
                new += 1;
                match self.deliver(message, id, sink, links).await {
                    Ok(Some(StoreOutcome::Stored)) => report.stored += 1,
                    Ok(Some(StoreOutcome::Duplicate)) => report.duplicates += 1,
                    // deleted since the delta: nothing to deliver
                    Ok(None) => continue,
                    Err(e) => return Err(RunError::Failed(e)),
                }
                report.acknowledged += 1;
                handled.insert(id.to_string());
            }
            // every message of the round is stored and acknowledged
            self.checkpoints
                .save(&self.account, &key, &delta.delta_link)
                .map_err(RunError::Failed)?;
            report.checkpoint = Some(delta.delta_link.clone());
            link = Some(delta.delta_link);
            if new == 0 {
                break;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl MailReceiver for GraphReceiver {
    async fn receive(
        &self,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
    ) -> Result<ReceiveReport, MailError> {
        let key = self.checkpoint_key();
        let stored = self
            .checkpoints
            .load(&self.account, &key)?
            .filter(|s| !s.is_empty());
        let mut report = ReceiveReport::default();
        let usable = stored.clone().filter(|l| self.usable_link(l));
        if stored.is_some() && usable.is_none() {
            tracing::info!(account = %self.account, folder = %self.folder, "stored checkpoint is no Graph delta link of this folder: reading the folder again, deduplicated by Message-ID");
            report.checkpoint_reset = true;
        }
        match self.run(usable, sink, links, &mut report).await {
            Ok(()) => {}
            Err(RunError::Reset) => {
                tracing::info!(account = %self.account, folder = %self.folder, "Graph delta link rejected: reading the folder again, deduplicated by Message-ID");
                self.checkpoints.save(&self.account, &key, "")?;
                report = ReceiveReport {
                    checkpoint_reset: true,
                    ..ReceiveReport::default()
                };
                match self.run(None, sink, links, &mut report).await {
                    Ok(()) => {}
                    Err(RunError::Reset) => {
                        return Err(MailError::Protocol(
                            "Graph rejected a full delta round as expired".into(),
                        ));
                    }
                    Err(RunError::Failed(e)) => return Err(e),
                }
            }
            Err(RunError::Failed(e)) => return Err(e),
        }
        if report.checkpoint.is_none() {
            report.checkpoint = stored;
        }
        Ok(report)
    }
}
