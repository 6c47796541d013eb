//! Sending and the content of messages: `$value` (MIME), a draft from MIME, `send` of a draft
//! (delivered to the organisation's mailboxes, the copy in Sent Items keeps the immutable
//! id), `sendMail` (JSON and MIME), file attachments (list, get, add) and upload sessions for
//! attachments above 3 MB (the upload URL carries its own authorisation, as on Graph).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ews_client::types::Item as EwsItem;
use ews_client::types::{Attachment as EwsAttachment, MimeContent};
use graph_client::Base64;
use graph_client::mail::{
    CreateUploadSession, FILE_ATTACHMENT_TYPE, FileAttachment, SendMail, UploadSession,
};

use super::common;
use super::messages::{apply, message_key, store_error, to_graph};
use super::{Reply, Request, parse_body};
use crate::server::Shared;
use crate::store::{Mailbox, StoreError};

type EwsMessage = ews_client::types::Message;
type EwsAddress = ews_client::types::EmailAddress;

/// Whether the request body is MIME content (base64, `Content-Type: text/plain`).
pub(crate) fn is_mime(req: &Request<'_>) -> bool {
    req.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("text/plain"))
}

/// A message from base64 MIME content (its properties promoted from the MIME headers).
fn message_from_mime(req: &Request<'_>) -> Result<EwsMessage, Reply> {
    let text: String = String::from_utf8_lossy(req.body)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mime = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|_| {
            Reply::error(
                StatusCode::BAD_REQUEST,
                "ErrorMimeContentInvalidBase64String",
                "Invalid base64 string for MIME content.",
            )
        })?;
    let mut item = EwsItem::Message(EwsMessage::default());
    item.common_mut().mime_content = Some(MimeContent::new(mime));
    crate::mime::promote(&mut item);
    match item {
        EwsItem::Message(mut m) => {
            m.common.item_class = Some("IPM.Note".to_string());
            Ok(m)
        }
        _ => Err(Reply::bad_request("The MIME content is no message.")),
    }
}

pub(crate) fn create_draft_mime(req: &Request<'_>) -> Reply {
    let mut message = match message_from_mime(req) {
        Ok(m) => m,
        Err(r) => return r,
    };
    message.common.is_draft = Some(true);
    message.is_read = Some(true);
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(drafts) = mb.distinguished("drafts") else {
        return Reply::not_found("folder");
    };
    match mb.create_item(drafts, EwsItem::Message(message)) {
        Ok(key) => common::item_reply(mb, key, StatusCode::CREATED, "message", |s| {
            to_graph(&req.shared.graph, mb, s, None)
        }),
        Err(e) => store_error(e),
    }
}

/// `GET /messages/{id}/$value`: the stored MIME content, else one built from the properties.
pub(crate) fn mime_value(req: &Request<'_>, id: &str) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let mime = message_key(&req.shared.graph, mb, id)
        .and_then(|k| mb.items.get(&k))
        .and_then(|s| match &s.item {
            EwsItem::Message(m) => m
                .common
                .mime_content
                .clone()
                .or_else(|| crate::mime::render(m)),
            _ => None,
        });
    match mime {
        Some(m) => Reply {
            status: StatusCode::OK,
            body: m.content,
            content_type: "text/plain",
            headers: Vec::new(),
            code: None,
        },
        None => Reply::not_found("message"),
    }
}

fn send_error(e: StoreError) -> Reply {
    match e {
        StoreError::InvalidRecipients => Reply::error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRecipients",
            "At least one recipient is not valid.",
        ),
        other => store_error(other),
    }
}

fn sender(address: &str) -> EwsAddress {
    EwsAddress::smtp(address.to_string(), None)
}

/// `POST /messages/{id}/send`: delivers a draft, then moves it to Sent Items (202).
pub(crate) fn send_draft(req: &Request<'_>, id: &str) -> Reply {
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let address = mb.address.clone();
    let Some(stored) = message_key(&req.shared.graph, mb, id).and_then(|k| mb.items.get(&k)) else {
        return Reply::not_found("message");
    };
    if stored.item.common().is_draft == Some(false) {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidOperation",
            "Only a draft can be sent.",
        );
    }
    let key = stored.key;
    let mut message = stored.item.clone();
    if let EwsItem::Message(m) = &mut message
        && m.from.is_none()
    {
        m.from = Some(sender(&address));
    }
    if let Err(e) = store.deliver(&address, &message) {
        return send_error(e);
    }
    let Some(mb) = store.mailbox_mut(&address) else {
        return Reply::not_found("mailbox");
    };
    // PidTagDeleteAfterSubmit: Exchange deletes the submitted message instead of moving it to
    // Sent Items (how a draft is sent without a copy: `send` has no saveToSentItems)
    if delete_after_submit(&message) {
        return match mb.delete_item(key) {
            Ok(_) => Reply::empty(StatusCode::ACCEPTED),
            Err(e) => store_error(e),
        };
    }
    let Some(sent) = mb.distinguished("sentitems") else {
        return Reply::not_found("folder");
    };
    let now = chrono::Utc::now();
    let result = mb.move_item(key, sent).and_then(|new| {
        req.shared.graph.record_move(&address, key, new);
        mb.update_item(new, None, |i| {
            crate::store::set_read(i, Some(true));
            let c = i.common_mut();
            c.is_draft = Some(false);
            c.date_time_sent = Some(now);
            if let EwsItem::Message(m) = i
                && m.from.is_none()
            {
                m.from = Some(sender(&address));
            }
        })
    });
    match result {
        Ok(()) => Reply::empty(StatusCode::ACCEPTED),
        Err(e) => store_error(e),
    }
}

/// Whether the message carries `PidTagDeleteAfterSubmit` (`Boolean 0x0e01`) set to true.
fn delete_after_submit(item: &EwsItem) -> bool {
    let uri = ews_client::types::paths::ExtendedFieldUri::tagged(
        "0x0e01",
        ews_client::types::paths::MapiPropertyType::Boolean,
    );
    item.common().extended_properties.iter().any(|p| {
        super::extended::same(&p.uri, &uri)
            && matches!(&p.value, ews_client::types::paths::ExtendedValue::Single(v)
                if v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
    })
}

/// `POST /users/{id}/sendMail`: JSON (`message`, `saveToSentItems`) or base64 MIME (202).
pub(crate) fn send_mail(req: &Request<'_>) -> Reply {
    let (mut message, save) = if is_mime(req) {
        match message_from_mime(req) {
            Ok(m) => (m, true),
            Err(r) => return r,
        }
    } else {
        let body: SendMail = match parse_body(req) {
            Ok(b) => b,
            Err(r) => return r,
        };
        let mut m = EwsMessage::default();
        m.common.item_class = Some("IPM.Note".to_string());
        if let Err(e) = apply(&body.message, &mut m) {
            return Reply::bad_request(&e);
        }
        (m, body.save_to_sent_items != Some(false))
    };
    let mut store = req.shared.write();
    let Some(address) = store.mailbox(&req.mailbox).map(|mb| mb.address.clone()) else {
        return Reply::not_found("mailbox");
    };
    if message.from.is_none() {
        message.from = Some(sender(&address));
    }
    let now = chrono::Utc::now();
    message.common.is_draft = Some(false);
    message.common.date_time_sent = Some(now);
    message.is_read = Some(true);
    let item = EwsItem::Message(message);
    if let Err(e) = store.deliver(&address, &item) {
        return send_error(e);
    }
    if save {
        let Some(mb) = store.mailbox_mut(&address) else {
            return Reply::not_found("mailbox");
        };
        if let Some(sent) = mb.distinguished("sentitems")
            && let Err(e) = mb.create_item(sent, item)
        {
            return store_error(e);
        }
    }
    Reply::empty(StatusCode::ACCEPTED)
}

// ---------------------------------------------------------------------------------------------
// attachments

/// The Graph id of attachment `number` of the message with immutable key `immutable`.
fn gids_attachment(mailbox: &str, immutable: u64, number: u64) -> String {
    super::ids::encode(
        crate::ids::IdKind::Attachment,
        mailbox,
        (immutable << 20) | (number & 0xF_FFFF),
    )
}

/// The number of the store's attachment id (`#N`).
fn number_of(a: &EwsAttachment) -> Option<u64> {
    a.common()
        .attachment_id
        .as_ref()
        .and_then(|id| id.id.strip_prefix('#'))
        .and_then(|n| n.parse().ok())
}

fn attachment_json(
    mb: &Mailbox,
    immutable: u64,
    a: &EwsAttachment,
    with_content: bool,
) -> Option<FileAttachment> {
    let EwsAttachment::File(f) = a else {
        return None;
    };
    let number = number_of(a)?;
    let content = f.content.clone().unwrap_or_default();
    Some(FileAttachment {
        odata_type: Some(FILE_ATTACHMENT_TYPE.to_string()),
        id: Some(gids_attachment(&mb.address, immutable, number)),
        name: f.common.name.clone(),
        content_type: f.common.content_type.clone(),
        size: Some(i32::try_from(content.len()).unwrap_or(i32::MAX)),
        is_inline: Some(f.common.is_inline.unwrap_or(false)),
        last_modified_date_time: f.common.last_modified_time,
        content_id: f.common.content_id.clone(),
        content_bytes: with_content.then_some(Base64(content)),
    })
}

/// The store key and immutable key of the message `id`.
fn keys(req: &Request<'_>, mb: &Mailbox, id: &str) -> Option<(u64, u64)> {
    let key = message_key(&req.shared.graph, mb, id)?;
    let immutable = super::ids::decode(crate::ids::IdKind::Item, &mb.address, id)?;
    Some((key, immutable))
}

pub(crate) fn list_attachments(req: &Request<'_>, id: &str) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some((key, immutable)) = keys(req, mb, id) else {
        return Reply::not_found("message");
    };
    let Some(stored) = mb.items.get(&key) else {
        return Reply::not_found("message");
    };
    let value: Vec<FileAttachment> = stored
        .item
        .common()
        .attachments
        .iter()
        .filter_map(|a| attachment_json(mb, immutable, a, true))
        .collect();
    super::common::page_reply(value, None)
}

pub(crate) fn get_attachment(req: &Request<'_>, id: &str, aid: &str) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some((key, immutable)) = keys(req, mb, id) else {
        return Reply::not_found("message");
    };
    let found = mb.items.get(&key).and_then(|s| {
        s.item
            .common()
            .attachments
            .iter()
            .filter_map(|a| attachment_json(mb, immutable, a, true))
            .find(|a| a.id.as_deref() == Some(aid))
    });
    match found {
        Some(a) => Reply::json(StatusCode::OK, &a),
        None => Reply::not_found("attachment"),
    }
}

/// Adds a file attachment to the message `key`; answers it (without content).
fn attach(
    shared: &Shared,
    mailbox: &str,
    key: u64,
    immutable: u64,
    name: String,
    content_type: String,
    content: Vec<u8>,
) -> Result<FileAttachment, Reply> {
    let mut store = shared.write();
    let mb = store
        .mailbox_mut(mailbox)
        .ok_or_else(|| Reply::not_found("mailbox"))?;
    let mut file = ews_client::types::FileAttachment::new(name, content_type, content);
    file.common.last_modified_time = Some(chrono::Utc::now());
    let number = mb
        .add_attachment(key, EwsAttachment::File(file))
        .map_err(store_error)?;
    // the MIME a draft was created from no longer describes it: `$value` renders the message
    // from its properties, the new attachment included
    if let Some(stored) = mb.items.get_mut(&key) {
        stored.item.common_mut().mime_content = None;
    }
    mb.items
        .get(&key)
        .and_then(|s| {
            s.item
                .common()
                .attachments
                .iter()
                .find(|a| number_of(a) == Some(number))
        })
        .and_then(|a| attachment_json(mb, immutable, a, false))
        .ok_or_else(|| Reply::not_found("attachment"))
}

pub(crate) fn add_attachment(req: &Request<'_>, id: &str) -> Reply {
    let body: FileAttachment = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body
        .odata_type
        .as_deref()
        .is_some_and(|t| t != FILE_ATTACHMENT_TYPE)
    {
        return Reply::bad_request("The mock supports file attachments only.");
    }
    let content = body.content_bytes.map(|b| b.0).unwrap_or_default();
    if content.len() > graph_client::mail::MAX_INLINE_ATTACHMENT {
        return Reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ErrorAttachmentSizeLimitExceeded",
            "An attachment above 3 MB needs an upload session.",
        );
    }
    let (key, immutable) = {
        let store = req.shared.read();
        let Some(mb) = store.mailbox(&req.mailbox) else {
            return Reply::not_found("mailbox");
        };
        match keys(req, mb, id) {
            Some(k) => k,
            None => return Reply::not_found("message"),
        }
    };
    match attach(
        req.shared,
        &req.mailbox,
        key,
        immutable,
        body.name.unwrap_or_default(),
        body.content_type
            .unwrap_or_else(|| "application/octet-stream".to_string()),
        content,
    ) {
        Ok(a) => Reply::json(StatusCode::CREATED, &a),
        Err(r) => r,
    }
}

/// An upload session in progress.
pub(crate) struct Upload {
    mailbox: String,
    /// The message's immutable key.
    immutable: u64,
    /// The message's Graph id (for the `Location` of the finished attachment).
    message_id: String,
    name: String,
    content_type: String,
    size: usize,
    data: Vec<u8>,
    expires: chrono::DateTime<chrono::Utc>,
}

pub(crate) fn create_upload_session(req: &Request<'_>, id: &str) -> Reply {
    let body: CreateUploadSession = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let item = body.attachment_item;
    let Some(size) = item.size.and_then(|s| usize::try_from(s).ok()) else {
        return Reply::bad_request("AttachmentItem.size is required.");
    };
    // Graph takes attachments up to 150 MB through an upload session
    if size == 0 || size > 150 * 1024 * 1024 {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
            "The attachment size must be between 1 byte and 150 MB.",
        );
    }
    let immutable = {
        let store = req.shared.read();
        let Some(mb) = store.mailbox(&req.mailbox) else {
            return Reply::not_found("mailbox");
        };
        match keys(req, mb, id) {
            Some((_, immutable)) => immutable,
            None => return Reply::not_found("message"),
        }
    };
    let token = super::uuid_like(
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64 ^ immutable,
    );
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    let upload = Upload {
        mailbox: req.mailbox.clone(),
        immutable,
        message_id: id.to_string(),
        name: item.name.unwrap_or_default(),
        content_type: item
            .content_type
            .unwrap_or_else(|| "application/octet-stream".to_string()),
        size,
        data: Vec::new(),
        expires,
    };
    req.shared
        .graph
        .uploads
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), upload);
    Reply::json(
        StatusCode::CREATED,
        &UploadSession {
            upload_url: Some(format!("{}/graph-upload/{token}", req.shared.base_url)),
            expiration_date_time: Some(expires),
            next_expected_ranges: Some(vec!["0-".to_string()]),
        },
    )
}

fn upload_error(status: StatusCode, code: &str, message: &str) -> Response {
    let reply = Reply::error(status, code, message);
    (
        reply.status,
        [(header::CONTENT_TYPE, "application/json")],
        reply.body,
    )
        .into_response()
}

/// `PUT` of one chunk to an upload URL (`Content-Range: bytes a-b/total`); the last chunk
/// adds the attachment (201 with its `Location`).
pub(crate) async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let range = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes "))
        .and_then(|v| {
            let (span, total) = v.split_once('/')?;
            let (a, b) = span.split_once('-')?;
            Some((
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
                total.trim().parse::<usize>().ok()?,
            ))
        });
    let Some((start, end, total)) = range else {
        return upload_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "A valid Content-Range header is required.",
        );
    };
    let finished = {
        let mut uploads = shared
            .graph
            .uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let Some(u) = uploads.get_mut(&token) else {
            return upload_error(
                StatusCode::NOT_FOUND,
                "ErrorItemNotFound",
                "The upload session was not found or has expired.",
            );
        };
        if u.expires < chrono::Utc::now() {
            uploads.remove(&token);
            return upload_error(
                StatusCode::NOT_FOUND,
                "ErrorItemNotFound",
                "The upload session has expired.",
            );
        }
        let length = end.checked_sub(start).and_then(|d| d.checked_add(1));
        if total != u.size || start != u.data.len() || length != Some(body.len()) {
            return upload_error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                &format!(
                    "Expected the range starting at {} of {}.",
                    u.data.len(),
                    u.size
                ),
            );
        }
        u.data.extend_from_slice(&body);
        if u.data.len() < u.size {
            let session = UploadSession {
                upload_url: None,
                expiration_date_time: Some(u.expires),
                next_expected_ranges: Some(vec![format!("{}-", u.data.len())]),
            };
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::to_vec(&session).unwrap_or_default(),
            )
                .into_response();
        }
        uploads.remove(&token)
    };
    let Some(u) = finished else {
        return upload_error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "No session.");
    };
    let key = {
        let store = shared.read();
        store.mailbox(&u.mailbox).and_then(|mb| {
            shared.graph.item_key(
                &mb.address,
                &super::ids::encode(crate::ids::IdKind::Item, &mb.address, u.immutable),
            )
        })
    };
    let Some(key) = key else {
        return upload_error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The message is gone.",
        );
    };
    match attach(
        &shared,
        &u.mailbox,
        key,
        u.immutable,
        u.name,
        u.content_type,
        u.data,
    ) {
        Ok(a) => {
            let location = format!(
                "{}/v1.0/users('{}')/messages('{}')/attachments('{}')",
                shared.base_url,
                u.mailbox,
                u.message_id,
                a.id.unwrap_or_default()
            );
            (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
        }
        Err(r) => (r.status, r.body).into_response(),
    }
}
