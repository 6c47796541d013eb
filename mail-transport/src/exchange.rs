//! The Exchange backend through `ews-client`: sending with CreateItem `SendAndSaveCopy`
//! (the copy lands in Sent Items), receiving with SyncFolderItems on the inbox, the sync state
//! being the checkpoint. Impersonation: build the sender or receiver with
//! [`MailboxAccess::Impersonate`] and a client authenticated as the administrator account.

use std::sync::Arc;

use async_trait::async_trait;
use ews_client::client::Client;
use ews_client::ops::{
    CreateItem, DisposalType, GetAttachment, SavedCopy, SyncFolderItems, SyncItemChange,
};
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::response::ResponseCode;
use ews_client::types::shape::ItemShape;
use ews_client::types::{
    Attachment as EwsAttachment, Body, BodyType, DistinguishedFolderName, EmailAddress,
    FileAttachment, Item, ItemCommon, ItemId, Message,
};
use futures::TryStreamExt;

use crate::error::MailError;
use crate::mime::{
    BuiltMail, Mailbox, OutgoingMail, ReceivedAttachment, ReceivedMail, synthetic_message_id,
};
use crate::settings::{AfterReceive, TransferEncoding};
use crate::sink::{LinkContext, LinkHook, MailSink, StoreOutcome};
use crate::store::CheckpointStore;
use crate::transport::{MailReceiver, MailSender, ReceiveReport, SendReceipt, SentCopy, SentItems};

/// Maps an ews-client error.
pub(crate) fn ews_err(e: ews_client::Error) -> MailError {
    use ews_client::transport::TransportError as T;
    match &e {
        ews_client::Error::Transport(T::Tls { message, .. }) => {
            let lower = message.to_ascii_lowercase();
            return if lower.contains("certificate") || lower.contains("issuer") {
                MailError::Certificate(message.clone())
            } else {
                MailError::Tls(message.clone())
            };
        }
        ews_client::Error::Transport(T::Connect { host, message, .. }) => {
            return MailError::network(host.clone(), message.clone()).with_source(e);
        }
        _ => {}
    }
    if e.is_auth() {
        return MailError::AuthenticationFailed(e.to_string());
    }
    if e.is_timeout() {
        return MailError::Timeout(format!("calling Exchange: {e}"));
    }
    if e.response_code() == Some(ResponseCode::ErrorInvalidRecipients) {
        return MailError::Rejected {
            code: 550,
            message: e.to_string(),
            transient: false,
        };
    }
    if e.is_transient() || e.is_throttled() {
        return MailError::network("Exchange", e.to_string()).with_source(e);
    }
    MailError::Protocol(e.to_string())
}

fn ews_address(m: &Mailbox) -> EmailAddress {
    EmailAddress::smtp(m.address.clone(), m.name.as_deref())
}

fn mailbox_of(a: &EmailAddress) -> Option<Mailbox> {
    a.email_address.as_ref().map(|address| Mailbox {
        name: a.name.clone().filter(|n| !n.is_empty()),
        address: address.clone(),
    })
}

fn bracket(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

fn unbracket(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// How an Exchange sender or receiver reaches its mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailboxAccess {
    /// The client is authenticated as the administrator (service) account and every call
    /// impersonates the mailbox (EWS `ExchangeImpersonation`).
    Impersonate,
    /// The client logs in as the mailbox itself.
    Own,
}

fn client_for(client: Client, mailbox: &str, access: MailboxAccess) -> Client {
    match access {
        MailboxAccess::Impersonate => client.for_mailbox(mailbox),
        MailboxAccess::Own => client,
    }
}

/// Sends through Exchange.
pub struct ExchangeSender {
    client: Client,
    save_copy: bool,
    encoding: TransferEncoding,
}

impl std::fmt::Debug for ExchangeSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeSender")
            .field("impersonation", &self.client.impersonation())
            .field("save_copy", &self.save_copy)
            .finish()
    }
}

impl ExchangeSender {
    /// A sender for `mailbox`. With [`MailboxAccess::Impersonate`], `client` is the
    /// administrator account's and every call impersonates `mailbox`; with
    /// [`MailboxAccess::Own`] `client` logs in as the mailbox. [`SentItems::Keep`] sends with
    /// `SendAndSaveCopy` (a copy in Sent Items).
    pub fn new(
        client: Client,
        mailbox: &str,
        access: MailboxAccess,
        sent_items: SentItems,
    ) -> Self {
        ExchangeSender {
            client: client_for(client, mailbox, access),
            save_copy: sent_items.keeps_copy(),
            encoding: TransferEncoding::Auto,
        }
    }

    /// The typed EWS message for a built message: its own MIME is parsed back so the queue
    /// and direct sending share one path; Bcc comes from the envelope.
    fn message(built: &BuiltMail) -> Message {
        let parsed = ReceivedMail::parse(built.bytes.clone());
        let visible: Vec<String> = parsed
            .to
            .iter()
            .chain(&parsed.cc)
            .map(|m| m.address.to_ascii_lowercase())
            .collect();
        let bcc: Vec<EmailAddress> = built
            .envelope_to
            .iter()
            .filter(|a| !visible.contains(&a.to_ascii_lowercase()))
            .map(|a| EmailAddress::smtp(a.clone(), None))
            .collect();
        let body = match (&parsed.html, &parsed.text) {
            (Some(h), _) => Some(Body::html(h.clone())),
            (None, Some(t)) => Some(Body::text(t.clone())),
            (None, None) => None,
        };
        let attachments = parsed
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| {
                EwsAttachment::File(FileAttachment::new(
                    a.file_name
                        .clone()
                        .unwrap_or_else(|| format!("attachment-{}", i + 1)),
                    a.content_type.clone(),
                    a.data.clone(),
                ))
            })
            .collect();
        Message {
            common: ItemCommon {
                subject: parsed.subject.clone(),
                body,
                attachments,
                in_reply_to: parsed.in_reply_to.first().map(|i| bracket(i)),
                ..ItemCommon::default()
            },
            from: parsed.from.as_ref().map(ews_address),
            to_recipients: parsed.to.iter().map(ews_address).collect(),
            cc_recipients: parsed.cc.iter().map(ews_address).collect(),
            bcc_recipients: bcc,
            reply_to: parsed.reply_to.iter().map(ews_address).collect(),
            internet_message_id: Some(bracket(&built.message_id)),
            references: (!parsed.references.is_empty()).then(|| {
                parsed
                    .references
                    .iter()
                    .map(|r| bracket(r))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            ..Message::default()
        }
    }
}

#[async_trait]
impl MailSender for ExchangeSender {
    async fn send(&self, mail: &OutgoingMail) -> Result<SendReceipt, MailError> {
        self.send_built(&mail.build(self.encoding)?).await
    }

    async fn send_built(&self, built: &BuiltMail) -> Result<SendReceipt, MailError> {
        let op = CreateItem::send(
            Item::Message(Self::message(built)),
            if self.save_copy {
                SavedCopy::In(DistinguishedFolderName::SentItems.into())
            } else {
                SavedCopy::Discard
            },
        );
        let info = self.client.execute_single(&op).await.map_err(ews_err)?;
        // Exchange itself returns no id for a sent message; when the server names the copy
        // (ews-mock does), it is reported.
        let stored_copy = info
            .items
            .first()
            .and_then(Item::item_id)
            .map(|id| SentCopy {
                folder: "sentitems".into(),
                id: id.id.clone(),
            });
        Ok(SendReceipt {
            message_id: built.message_id.clone(),
            server_response: "NoError".into(),
            stored_copy,
            copy_error: None,
        })
    }
}

/// Receives from the Exchange inbox with SyncFolderItems.
pub struct ExchangeReceiver {
    client: Client,
    account: String,
    checkpoints: Arc<dyn CheckpointStore>,
    after_receive: AfterReceive,
    page_size: u16,
}

impl std::fmt::Debug for ExchangeReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeReceiver")
            .field("account", &self.account)
            .field("after_receive", &self.after_receive)
            .finish()
    }
}

/// The checkpoint key of the Exchange inbox.
const INBOX_KEY: &str = "exchange:inbox";

impl ExchangeReceiver {
    /// A receiver for `mailbox` (see [`ExchangeSender::new`] for `access`). With
    /// [`AfterReceive::Delete`] a stored message is moved to Deleted Items; with
    /// [`AfterReceive::MoveTo`] it is moved to that folder id.
    pub fn new(
        client: Client,
        mailbox: &str,
        access: MailboxAccess,
        account: impl Into<String>,
        checkpoints: Arc<dyn CheckpointStore>,
        after_receive: AfterReceive,
    ) -> Self {
        ExchangeReceiver {
            client: client_for(client, mailbox, access),
            account: account.into(),
            checkpoints,
            after_receive,
            page_size: 100,
        }
    }

    /// Changes per SyncFolderItems call (1..=512; bounded memory on large inboxes).
    pub fn with_page_size(mut self, page_size: u16) -> Self {
        self.page_size = page_size;
        self
    }

    async fn attachments(&self, item: &Item) -> Result<Vec<ReceivedAttachment>, MailError> {
        let mut out = Vec::new();
        for a in &item.common().attachments {
            let EwsAttachment::File(f) = a else { continue };
            let data = match (&f.content, &f.common.attachment_id) {
                (Some(c), _) => c.clone(),
                (None, Some(id)) => {
                    let info = self
                        .client
                        .execute_single(&GetAttachment::new(vec![id.clone()]))
                        .await
                        .map_err(ews_err)?;
                    match info.attachments.into_iter().next() {
                        Some(EwsAttachment::File(full)) => full.content.unwrap_or_default(),
                        _ => Vec::new(),
                    }
                }
                (None, None) => Vec::new(),
            };
            out.push(ReceivedAttachment {
                file_name: f.common.name.clone(),
                content_type: f
                    .common
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                data,
            });
        }
        Ok(out)
    }

    async fn to_mail(&self, item: &Item, id: &ItemId) -> Result<ReceivedMail, MailError> {
        let c = item.common();
        let raw = c
            .mime_content
            .as_ref()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let (from, to, cc, bcc, reply_to, message_id, references) = match item {
            Item::Message(m) => (
                m.from.as_ref().or(m.sender.as_ref()).and_then(mailbox_of),
                m.to_recipients.iter().filter_map(mailbox_of).collect(),
                m.cc_recipients.iter().filter_map(mailbox_of).collect(),
                m.bcc_recipients.iter().filter_map(mailbox_of).collect(),
                m.reply_to.iter().filter_map(mailbox_of).collect(),
                m.internet_message_id.clone(),
                m.references.clone(),
            ),
            _ => (
                None,
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                None,
                None,
            ),
        };
        let message_id = match message_id.map(|m| unbracket(&m)).filter(|m| !m.is_empty()) {
            Some(m) => m,
            // stable across redeliveries: derived from the item id
            None => synthetic_message_id(id.id.as_bytes()),
        };
        let (text, html) = match &c.body {
            Some(b) if b.body_type == BodyType::Html => (None, Some(b.content.clone())),
            Some(b) => (Some(b.content.clone()), None),
            None => (None, None),
        };
        Ok(ReceivedMail {
            message_id,
            from,
            to,
            cc,
            bcc,
            reply_to,
            subject: c.subject.clone(),
            date: c.date_time_sent.or(c.date_time_received),
            text,
            html,
            attachments: self.attachments(item).await?,
            in_reply_to: c.in_reply_to.iter().map(|i| unbracket(i)).collect(),
            references: references
                .map(|r| r.split_whitespace().map(unbracket).collect())
                .unwrap_or_default(),
            headers: c
                .internet_message_headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
            raw,
            links: Default::default(),
            problems: Vec::new(),
        })
    }

    async fn acknowledge(&self, id: &ItemId) -> Result<(), MailError> {
        let ids = vec![BaseItemId::from(id.clone())];
        let results = match &self.after_receive {
            AfterReceive::KeepCopy => return Ok(()),
            AfterReceive::Delete => self
                .client
                .delete_items(DisposalType::MoveToDeletedItems, ids)
                .await
                .map_err(ews_err)?,
            AfterReceive::MoveTo(folder) => self
                .client
                .move_items(ews_client::types::FolderId::new(folder.clone()).into(), ids)
                .await
                .map_err(ews_err)?
                .into_iter()
                .map(|r| r.map(|_| ()))
                .collect(),
        };
        for r in results {
            match r {
                Ok(()) => {}
                // already gone: nothing left to acknowledge
                Err(e) if e.code() == ResponseCode::ErrorItemNotFound => {}
                Err(e) => return Err(MailError::Protocol(e.to_string())),
            }
        }
        Ok(())
    }

    async fn run(
        &self,
        state: Option<String>,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
        report: &mut ExchangeRun,
    ) -> Result<(), ews_client::Error> {
        let op = SyncFolderItems::new(
            DistinguishedFolderName::Inbox.into(),
            ItemShape::id_only(),
            state,
            self.page_size,
        );
        let mut batches = self.client.sync_folder_items(op);
        while let Some(batch) = batches.try_next().await? {
            let ids: Vec<ItemId> = batch
                .changes
                .iter()
                .filter_map(|c| match c {
                    SyncItemChange::Create(item) => item.item_id().cloned(),
                    _ => None,
                })
                .collect();
            let base: Vec<BaseItemId> = ids.iter().cloned().map(BaseItemId::from).collect();
            let mut items = self
                .client
                .get_items(ItemShape::all_properties().with_mime_content(), base);
            let mut i = 0;
            while let Some(result) = items.try_next().await? {
                let Some(id) = ids.get(i) else { break };
                i += 1;
                let item = match result {
                    Ok(item) => item,
                    // deleted since the sync: nothing to deliver
                    Err(e) if e.code() == ResponseCode::ErrorItemNotFound => continue,
                    Err(e) => return Err(e.into()),
                };
                match self.deliver(&item, id, sink, links).await {
                    Ok(StoreOutcome::Stored) => report.stored += 1,
                    Ok(StoreOutcome::Duplicate) => report.duplicates += 1,
                    Err(e) => {
                        report.failure = Some(e);
                        return Ok(());
                    }
                }
                report.acknowledged += 1;
            }
            if let Some(state) = &batch.sync_state {
                // every message of the batch is stored and acknowledged
                if let Err(e) = self.checkpoints.save(&self.account, INBOX_KEY, state) {
                    report.failure = Some(e);
                    return Ok(());
                }
                report.checkpoint = Some(state.clone());
            }
        }
        Ok(())
    }

    async fn deliver(
        &self,
        item: &Item,
        id: &ItemId,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
    ) -> Result<StoreOutcome, MailError> {
        let mut mail = self.to_mail(item, id).await?;
        mail.links = links.links(&LinkContext::of(&mail)).await;
        let outcome = sink.store(mail).await?;
        self.acknowledge(id).await?;
        Ok(outcome)
    }
}

#[async_trait]
impl MailReceiver for ExchangeReceiver {
    async fn receive(
        &self,
        sink: &dyn MailSink,
        links: &dyn LinkHook,
    ) -> Result<ReceiveReport, MailError> {
        let state = self
            .checkpoints
            .load(&self.account, INBOX_KEY)?
            .filter(|s| !s.is_empty());
        let mut report = ExchangeRun::default();
        match self.run(state.clone(), sink, links, &mut report).await {
            Err(e) if e.is_invalid_sync_state() && state.is_some() => {
                tracing::info!(account = %self.account, "Exchange sync state rejected: offering the inbox again, deduplicated by Message-ID");
                self.checkpoints.save(&self.account, INBOX_KEY, "")?;
                report = ExchangeRun::default();
                report.checkpoint_reset = true;
                self.run(None, sink, links, &mut report)
                    .await
                    .map_err(ews_err)?;
            }
            Err(e) => return Err(ews_err(e)),
            Ok(()) => {}
        }
        if let Some(e) = report.failure.take() {
            return Err(e);
        }
        Ok(ReceiveReport {
            stored: report.stored,
            duplicates: report.duplicates,
            acknowledged: report.acknowledged,
            checkpoint_reset: report.checkpoint_reset,
            checkpoint: report.checkpoint.or(state),
        })
    }
}

/// Progress of one receive run.
#[derive(Default)]
struct ExchangeRun {
    stored: usize,
    duplicates: usize,
    acknowledged: usize,
    checkpoint_reset: bool,
    checkpoint: Option<String>,
    /// A delivery or checkpoint failure that ended the run (nothing after it acknowledged).
    failure: Option<MailError>,
}
