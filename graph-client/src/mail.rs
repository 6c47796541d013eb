//! Mail folders, messages (MIME, delta per folder, drafts, send, move, update, delete),
//! attachments (upload sessions above 3 MB) and `sendMail`.

use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Body, Mailbox, Request, WriteOptions};
use crate::error::Error;
use crate::odata::{DeltaRound, DeltaStart, ListOptions, folder_path, select_query};
use crate::schema::{graph_enum, graph_struct};
use crate::types::{Base64, Importance, ItemBody, Recipient, SingleValueExtendedProperty};

/// Attachments up to this size go in one request; larger ones through an upload session.
pub const MAX_INLINE_ATTACHMENT: usize = 3 * 1024 * 1024;

/// Size of one upload-session chunk (a multiple of 320 KiB, below Graph's 4 MiB limit).
pub const UPLOAD_CHUNK: usize = 10 * 320 * 1024;

graph_struct! {
    /// `mailFolder`.
    pub struct MailFolder = "mailFolder" {
        "id" => id: String,
        "displayName" => display_name: String,
        "parentFolderId" => parent_folder_id: String,
        "childFolderCount" => child_folder_count: i32,
        "totalItemCount" => total_item_count: i32,
        "unreadItemCount" => unread_item_count: i32,
        "isHidden" => is_hidden: bool,
        "singleValueExtendedProperties" => single_value_extended_properties: Vec<SingleValueExtendedProperty>,
    }
}

graph_enum! {
    /// `followupFlagStatus`.
    pub enum FollowupFlagStatus = "followupFlagStatus" {
        NotFlagged = "notFlagged",
        Complete = "complete",
        Flagged = "flagged",
    }
}

graph_struct! {
    /// `followupFlag`.
    pub struct FollowupFlag = "followupFlag" {
        "flagStatus" => flag_status: FollowupFlagStatus,
    }
}

graph_struct! {
    /// `message`.
    pub struct Message = "message" {
        "@odata.etag" => etag: String,
        "id" => id: String,
        "changeKey" => change_key: String,
        "categories" => categories: Vec<String>,
        "createdDateTime" => created_date_time: chrono::DateTime<chrono::Utc>,
        "lastModifiedDateTime" => last_modified_date_time: chrono::DateTime<chrono::Utc>,
        "receivedDateTime" => received_date_time: chrono::DateTime<chrono::Utc>,
        "sentDateTime" => sent_date_time: chrono::DateTime<chrono::Utc>,
        "subject" => subject: String,
        "body" => body: ItemBody,
        "bodyPreview" => body_preview: String,
        "from" => from: Recipient,
        "sender" => sender: Recipient,
        "toRecipients" => to_recipients: Vec<Recipient>,
        "ccRecipients" => cc_recipients: Vec<Recipient>,
        "bccRecipients" => bcc_recipients: Vec<Recipient>,
        "replyTo" => reply_to: Vec<Recipient>,
        "internetMessageId" => internet_message_id: String,
        "conversationId" => conversation_id: String,
        "parentFolderId" => parent_folder_id: String,
        "isRead" => is_read: bool,
        "isDraft" => is_draft: bool,
        "importance" => importance: Importance,
        "hasAttachments" => has_attachments: bool,
        "flag" => flag: FollowupFlag,
        "singleValueExtendedProperties" => single_value_extended_properties: Vec<SingleValueExtendedProperty>,
    }
}

graph_struct! {
    /// `fileAttachment` (and the `attachment` properties it inherits).
    pub struct FileAttachment = "fileAttachment" {
        "@odata.type" => odata_type: String,
        "id" => id: String,
        "name" => name: String,
        "contentType" => content_type: String,
        "size" => size: i32,
        "isInline" => is_inline: bool,
        "lastModifiedDateTime" => last_modified_date_time: chrono::DateTime<chrono::Utc>,
        "contentId" => content_id: String,
        "contentBytes" => content_bytes: Base64,
    }
}

/// `@odata.type` of a file attachment.
pub const FILE_ATTACHMENT_TYPE: &str = "#microsoft.graph.fileAttachment";

graph_enum! {
    /// `attachmentType`.
    pub enum AttachmentType = "attachmentType" {
        File = "file",
        Item = "item",
        Reference = "reference",
    }
}

graph_struct! {
    /// `attachmentItem`: what an upload session will create.
    pub struct AttachmentItem = "attachmentItem" {
        "attachmentType" => attachment_type: AttachmentType,
        "name" => name: String,
        "size" => size: i64,
        "contentType" => content_type: String,
        "isInline" => is_inline: bool,
        "contentId" => content_id: String,
    }
}

graph_struct! {
    /// `uploadSession`.
    pub struct UploadSession = "uploadSession" {
        "uploadUrl" => upload_url: String,
        "expirationDateTime" => expiration_date_time: chrono::DateTime<chrono::Utc>,
        "nextExpectedRanges" => next_expected_ranges: Vec<String>,
    }
}

/// Body of `createUploadSession`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateUploadSession {
    /// The attachment to create.
    #[serde(rename = "AttachmentItem")]
    pub attachment_item: AttachmentItem,
}

/// Body of `sendMail` (JSON form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMail {
    /// The message.
    pub message: Message,
    /// Whether a copy goes to Sent Items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_to_sent_items: Option<bool>,
}

/// Body of `move`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveTo {
    /// Target folder id or well-known name.
    pub destination_id: String,
}

macro_rules! has_id {
    ($($t:ty),*) => {$(impl $crate::odata::HasId for $t { fn id(&self) -> Option<&str> { self.id.as_deref() } })*};
}
has_id!(MailFolder, Message, FileAttachment);
pub(crate) use has_id;

impl Mailbox {
    /// The top-level mail folders (below the message folder root).
    pub async fn mail_folders(&self) -> Result<Vec<MailFolder>, Error> {
        self.list_at(
            &["mailFolders"],
            &[("$top", "100".to_owned())],
            "mail folders",
        )
        .await
    }

    /// One folder by id or well-known name (`inbox`, `sentitems`, `msgfolderroot`, ...).
    pub async fn mail_folder(&self, id: &str) -> Result<MailFolder, Error> {
        self.get(&["mailFolders", id], &[], "mail folder").await
    }

    /// The child folders of a folder.
    pub async fn mail_child_folders(&self, id: &str) -> Result<Vec<MailFolder>, Error> {
        self.list_at(
            &["mailFolders", id, "childFolders"],
            &[("$top", "100".to_owned())],
            "mail folders",
        )
        .await
    }

    /// Creates a folder below `parent` (top level if `None`).
    pub async fn create_mail_folder(
        &self,
        parent: Option<&str>,
        name: &str,
    ) -> Result<MailFolder, Error> {
        let body = MailFolder {
            display_name: Some(name.to_owned()),
            ..Default::default()
        };
        let segments: Vec<&str> = folder_path(parent, "mailFolders", "childFolders", "mailFolders");
        self.post_entity(&segments, &body, "mail folder").await
    }

    /// One delta round over the mail folder hierarchy.
    pub async fn mail_folders_delta(
        &self,
        start: DeltaStart<'_>,
    ) -> Result<DeltaRound<MailFolder>, Error> {
        let url = self.url(&["mailFolders", "delta"], &[])?;
        self.delta_round(url, start, None, "mail folder delta")
            .await
    }

    /// The messages of a folder.
    pub async fn messages(
        &self,
        folder: &str,
        options: &ListOptions,
    ) -> Result<Vec<Message>, Error> {
        self.list_at(
            &["mailFolders", folder, "messages"],
            &options.query(),
            "messages",
        )
        .await
    }

    /// One message.
    pub async fn message(&self, id: &str, options: &ListOptions) -> Result<Message, Error> {
        self.get(&["messages", id], &options.query(), "message")
            .await
    }

    /// The message's MIME content (`$value`).
    pub async fn message_mime(&self, id: &str) -> Result<Vec<u8>, Error> {
        let url = self.url(&["messages", id, "$value"], &[])?;
        let mut request = self.request(Method::GET, url);
        request.max_response_bytes = Some(self.client.config().max_download_bytes);
        Ok(self.client.execute(request).await?.body.to_vec())
    }

    /// One delta round over the messages of a folder; `page_size` sets
    /// `Prefer: odata.maxpagesize`, `select` the properties returned.
    pub async fn messages_delta(
        &self,
        folder: &str,
        start: DeltaStart<'_>,
        select: &[&str],
        page_size: Option<u32>,
    ) -> Result<DeltaRound<Message>, Error> {
        let query = select_query(select);
        let url = self.url(&["mailFolders", folder, "messages", "delta"], &query)?;
        self.delta_round(url, start, page_size, "message delta")
            .await
    }

    /// Creates a draft in Drafts (or `folder`). Not repeated on failure: an
    /// [`Error::outcome_unknown`] means the draft may exist.
    pub async fn create_draft(
        &self,
        folder: Option<&str>,
        message: &Message,
    ) -> Result<Message, Error> {
        let segments: Vec<&str> = folder_path(folder, "mailFolders", "messages", "messages");
        self.post_entity(&segments, message, "message").await
    }

    /// Creates a draft from MIME content (sent base64 as `text/plain`).
    pub async fn create_draft_mime(&self, mime: &[u8]) -> Result<Message, Error> {
        let url = self.url(&["messages"], &[])?;
        let mut request = self.request(Method::POST, url);
        request.body = Body::MimeBase64(Bytes::from(
            base64::engine::general_purpose::STANDARD.encode(mime),
        ));
        self.client.execute(request).await?.json("message")
    }

    /// Sends a draft (`POST /messages/{id}/send`, 202). Never repeated blindly.
    pub async fn send_draft(&self, id: &str) -> Result<(), Error> {
        self.send_raw::<()>(
            Method::POST,
            &["messages", id, "send"],
            None,
            WriteOptions::default(),
        )
        .await
        .map(|_| ())
    }

    /// Moves a message; returns it with its id in the new folder (immutable ids keep it).
    pub async fn move_message(&self, id: &str, destination: &str) -> Result<Message, Error> {
        let body = MoveTo {
            destination_id: destination.to_owned(),
        };
        self.post_entity(&["messages", id, "move"], &body, "message")
            .await
    }

    /// Updates the properties in `patch` (the typed resource, or a `serde_json::Value` when a
    /// property must be cleared with `null`); with `etag`, fails with
    /// [`Error::Conflict`] if the message changed since.
    pub async fn update_message(
        &self,
        id: &str,
        patch: &(impl serde::Serialize + Sync),
        etag: Option<&str>,
    ) -> Result<Message, Error> {
        self.update_entity(&["messages", id], patch, etag, "message")
            .await
    }

    /// Deletes a message (to Deleted Items); with `etag`, only if unchanged.
    pub async fn delete_message(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        self.delete_entity(&["messages", id], etag).await
    }

    /// The attachments of a message (with content).
    pub async fn attachments(&self, message_id: &str) -> Result<Vec<FileAttachment>, Error> {
        let url = self.url(&["messages", message_id, "attachments"], &[])?;
        let limit = self.client.config().max_download_bytes;
        self.list_all_limited(url, "attachments", Some(limit)).await
    }

    /// Adds a file attachment to a draft: in one request up to
    /// [`MAX_INLINE_ATTACHMENT`], otherwise through an upload session in chunks of
    /// [`UPLOAD_CHUNK`]. Returns the attachment id when the server tells it.
    pub async fn add_attachment(
        &self,
        message_id: &str,
        name: &str,
        content_type: &str,
        content: &[u8],
    ) -> Result<Option<String>, Error> {
        if content.len() <= MAX_INLINE_ATTACHMENT {
            let body = FileAttachment {
                odata_type: Some(FILE_ATTACHMENT_TYPE.to_owned()),
                name: Some(name.to_owned()),
                content_type: Some(content_type.to_owned()),
                content_bytes: Some(Base64(content.to_vec())),
                ..Default::default()
            };
            let created: FileAttachment = self
                .post_entity(
                    &["messages", message_id, "attachments"],
                    &body,
                    "attachment",
                )
                .await?;
            return Ok(created.id);
        }
        let body = CreateUploadSession {
            attachment_item: AttachmentItem {
                attachment_type: Some(AttachmentType::File),
                name: Some(name.to_owned()),
                size: Some(content.len() as i64),
                content_type: Some(content_type.to_owned()),
                ..Default::default()
            },
        };
        let session: UploadSession = self
            .post_entity(
                &["messages", message_id, "attachments", "createUploadSession"],
                &body,
                "upload session",
            )
            .await?;
        let upload_url = session
            .upload_url
            .ok_or_else(|| Error::protocol("upload session without uploadUrl"))?;
        let upload_url = url::Url::parse(&upload_url)
            .map_err(|e| Error::protocol(format!("invalid uploadUrl: {e}")))?;
        let base = &self.client.config().base_url;
        if upload_url.scheme() != "https" && upload_url.host_str() != base.host_str() {
            return Err(Error::protocol("uploadUrl is not https"));
        }
        let total = content.len();
        let mut start = 0usize;
        let mut location = None;
        while start < total {
            let end = (start + UPLOAD_CHUNK).min(total);
            // The upload URL carries its own authorization: no bearer token is sent.
            let mut request = Request::new(Method::PUT, upload_url.clone());
            request.mailbox = Some(self.user.clone());
            request.authorize = false;
            request.body = Body::Raw(
                Bytes::copy_from_slice(&content[start..end]),
                "application/octet-stream",
            );
            request.headers.push((
                "Content-Range",
                format!("bytes {start}-{}/{total}", end - 1),
            ));
            let response = self.client.execute(request).await?;
            if let Some(loc) = response.headers.get(http::header::LOCATION) {
                location = loc.to_str().ok().map(str::to_owned);
            }
            start = end;
        }
        Ok(location.and_then(|l| {
            l.rsplit_once("attachments('")
                .and_then(|(_, rest)| rest.split_once("')"))
                .map(|(id, _)| id.to_owned())
        }))
    }

    /// Sends a message in one step (`sendMail`, 202, no id returned). Never repeated
    /// blindly; to know the Sent Items copy, use [`create_draft`](Self::create_draft) and
    /// [`send_draft`](Self::send_draft).
    pub async fn send_mail(&self, message: &Message, copy: SaveCopy) -> Result<(), Error> {
        let body = SendMail {
            message: message.clone(),
            save_to_sent_items: Some(copy == SaveCopy::InSentItems),
        };
        self.send_raw(
            Method::POST,
            &["sendMail"],
            Some(&body),
            WriteOptions::default(),
        )
        .await
        .map(|_| ())
    }

    /// Sends MIME content (`sendMail` with base64 `text/plain`).
    pub async fn send_mail_mime(&self, mime: &[u8]) -> Result<(), Error> {
        let url = self.url(&["sendMail"], &[])?;
        let mut request = self.request(Method::POST, url);
        request.body = Body::MimeBase64(Bytes::from(
            base64::engine::general_purpose::STANDARD.encode(mime),
        ));
        self.client.execute(request).await.map(|_| ())
    }
}

/// A plain-text message to `to`, for drafts and `sendMail`.
pub fn simple_message(subject: &str, body: &str, to: &[&str]) -> Message {
    Message {
        subject: Some(subject.to_owned()),
        body: Some(ItemBody::text(body)),
        to_recipients: Some(to.iter().map(|a| Recipient::address(*a)).collect()),
        ..Default::default()
    }
}

/// Whether [`send_mail`](crate::Mailbox::send_mail) keeps a copy in the sender's Sent Items
/// (Graph's `saveToSentItems`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SaveCopy {
    /// Keep a copy in Sent Items (Graph's default).
    #[default]
    InSentItems,
    /// Keep no copy.
    Discard,
}
