//! Messages: list per folder, get, create a draft, update (`If-Match`, 412), delete, delta per
//! folder with `@removed`, move (the id stays: immutable ids), delete (to Deleted Items).
//! Sending, `$value` and attachments are in `outgoing`.

use axum::http::{Method, StatusCode};
use ews_client::types::Item as EwsItem;
use graph_client::mail::Message;
use graph_client::odata::Change;
use graph_client::types::{EmailAddress, Recipient};

use super::common;
use super::ids as gids;
use super::{Reply, Request, extended, parse_body};
use crate::ids::{IdKind, encode_change_key};
use crate::store::{ChangeKind, Mailbox, StoreError, StoredItem};

type EwsMessage = ews_client::types::Message;
type EwsAddress = ews_client::types::EmailAddress;

/// Well-known names of mail folders Graph and EWS share (besides `msgfolderroot`).
pub(crate) const WELL_KNOWN: &[&str] = &[
    "inbox",
    "sentitems",
    "drafts",
    "deleteditems",
    "outbox",
    "junkemail",
];

pub(crate) fn dispatch(req: &Request<'_>, path: &[&str]) -> Reply {
    let m = &req.method;
    match path {
        ["mailFolders", f, "messages"] if m == Method::GET => list(req, f),
        ["mailFolders", f, "messages"] if m == Method::POST => create(req, Some(f)),
        ["mailFolders", f, "messages", "delta"] if m == Method::GET => delta(req, f),
        ["messages"] if m == Method::POST && super::outgoing::is_mime(req) => {
            super::outgoing::create_draft_mime(req)
        }
        ["messages"] if m == Method::POST => create(req, None),
        ["messages", id, "$value"] if m == Method::GET => super::outgoing::mime_value(req, id),
        ["messages", id, "send"] if m == Method::POST => super::outgoing::send_draft(req, id),
        ["messages", id, "attachments"] if m == Method::GET => {
            super::outgoing::list_attachments(req, id)
        }
        ["messages", id, "attachments"] if m == Method::POST => {
            super::outgoing::add_attachment(req, id)
        }
        ["messages", id, "attachments", "createUploadSession"] if m == Method::POST => {
            super::outgoing::create_upload_session(req, id)
        }
        ["messages", id, "attachments", aid] if m == Method::GET => {
            super::outgoing::get_attachment(req, id, aid)
        }
        ["messages", id, "move"] if m == Method::POST => move_to(req, id),
        ["messages", id] | ["mailFolders", _, "messages", id] => match m.as_str() {
            "GET" => get(req, id),
            "PATCH" => update(req, id),
            "DELETE" => delete(req, id),
            _ => Reply::method_not_allowed(),
        },
        _ => Reply::no_segment(),
    }
}

pub(crate) fn folder_key(mb: &Mailbox, id: &str) -> Option<u64> {
    if WELL_KNOWN.iter().any(|w| w.eq_ignore_ascii_case(id)) {
        return mb.distinguished(&id.to_ascii_lowercase());
    }
    let key = gids::decode(IdKind::Folder, &mb.address, id)?;
    mb.folders
        .get(&key)
        .filter(|f| f.class.starts_with("IPF.Note"))
        .map(|f| f.key)
}

pub(crate) fn message_key(graph: &super::GraphState, mb: &Mailbox, id: &str) -> Option<u64> {
    let key = graph.item_key(&mb.address, id)?;
    mb.items
        .get(&key)
        .filter(|s| matches!(s.item, EwsItem::Message(_)))
        .map(|s| s.key)
}

fn recipient(a: &EwsAddress) -> Recipient {
    Recipient {
        email_address: Some(EmailAddress {
            name: a.name.clone(),
            address: a.email_address.clone(),
        }),
    }
}

fn ews_address(r: &Recipient) -> EwsAddress {
    let e = r.email_address.clone().unwrap_or_default();
    EwsAddress {
        name: e.name,
        email_address: e.address,
        ..EwsAddress::default()
    }
}

/// The Graph view of a stored message; `None` if the item is no message.
pub(crate) fn to_graph(
    graph: &super::GraphState,
    mb: &Mailbox,
    stored: &StoredItem,
    expand: Option<&[ews_client::types::paths::ExtendedFieldUri]>,
) -> Option<Message> {
    let EwsItem::Message(m) = &stored.item else {
        return None;
    };
    let c = &m.common;
    let change_key = encode_change_key(stored.key, stored.version);
    let body = c.body.as_ref().map(common::graph_body);
    Some(Message {
        etag: Some(gids::etag(&change_key)),
        id: Some(graph.item_id(&mb.address, stored.key)),
        change_key: Some(change_key),
        categories: Some(c.categories.clone()),
        created_date_time: Some(stored.created),
        last_modified_date_time: Some(stored.modified),
        received_date_time: c.date_time_received.or(Some(stored.created)),
        sent_date_time: c.date_time_sent,
        subject: c.subject.clone(),
        body_preview: c
            .body
            .as_ref()
            .map(|b| b.content.chars().take(255).collect()),
        body,
        from: m.from.as_ref().map(recipient),
        sender: m.sender.as_ref().map(recipient),
        to_recipients: Some(m.to_recipients.iter().map(recipient).collect()),
        cc_recipients: Some(m.cc_recipients.iter().map(recipient).collect()),
        bcc_recipients: Some(m.bcc_recipients.iter().map(recipient).collect()),
        reply_to: Some(m.reply_to.iter().map(recipient).collect()),
        internet_message_id: m.internet_message_id.clone(),
        conversation_id: None,
        parent_folder_id: Some(gids::encode(IdKind::Folder, &mb.address, stored.folder)),
        is_read: Some(m.is_read.unwrap_or(false)),
        is_draft: Some(c.is_draft.unwrap_or(false)),
        importance: None,
        has_attachments: Some(!c.attachments.is_empty()),
        flag: None,
        single_value_extended_properties: expand
            .map(|w| extended::read(&c.extended_properties, w))
            .filter(|v| !v.is_empty()),
    })
}

pub(crate) fn apply(g: &Message, m: &mut EwsMessage) -> Result<(), String> {
    if let Some(s) = &g.subject {
        m.common.subject = Some(s.clone());
    }
    if let Some(b) = &g.body {
        m.common.body = Some(common::ews_body(b));
    }
    if let Some(r) = &g.to_recipients {
        m.to_recipients = r.iter().map(ews_address).collect();
    }
    if let Some(r) = &g.cc_recipients {
        m.cc_recipients = r.iter().map(ews_address).collect();
    }
    if let Some(r) = &g.bcc_recipients {
        m.bcc_recipients = r.iter().map(ews_address).collect();
    }
    if let Some(r) = &g.reply_to {
        m.reply_to = r.iter().map(ews_address).collect();
    }
    if let Some(read) = g.is_read {
        m.is_read = Some(read);
    }
    if let Some(c) = &g.categories {
        m.common.categories = c.clone();
    }
    if let Some(props) = &g.single_value_extended_properties {
        extended::write(&mut m.common.extended_properties, props)?;
    }
    Ok(())
}

pub(crate) fn written_props(body: &Message) -> Vec<ews_client::types::paths::ExtendedFieldUri> {
    body.single_value_extended_properties
        .iter()
        .flatten()
        .filter_map(|p| p.id.as_deref().and_then(extended::parse_id))
        .collect()
}

pub(crate) fn store_error(e: StoreError) -> Reply {
    match e {
        StoreError::IrresolvableConflict => Reply::error(
            StatusCode::PRECONDITION_FAILED,
            "ErrorIrresolvableConflict",
            "The change key passed in the request does not match the current change key for the item.",
        ),
        StoreError::ItemNotFound | StoreError::FolderNotFound => Reply::not_found("message"),
        other => Reply::error(
            StatusCode::BAD_REQUEST,
            other.response_code(),
            &other.to_string(),
        ),
    }
}

fn list(req: &Request<'_>, folder: &str) -> Reply {
    let expand = match extended::parse_expand(req.param("$expand")) {
        Ok(e) => e,
        Err(e) => return Reply::bad_request(&e),
    };
    let filter = match req.param("$filter").map(extended::parse_filter) {
        None => None,
        Some(Ok(Some(f))) => Some(f),
        Some(Ok(None)) => return Reply::bad_request("unsupported $filter"),
        Some(Err(e)) => return Reply::bad_request(&e),
    };
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(f) = folder_key(mb, folder).and_then(|k| mb.folders.get(&k)) else {
        return Reply::not_found("folder");
    };
    let matching: Vec<Message> = f
        .items
        .iter()
        .filter_map(|k| mb.items.get(k))
        .filter(|s| match (&filter, &s.item) {
            (Some((uri, value)), item) => {
                extended::matches(&item.common().extended_properties, uri, value)
            }
            _ => true,
        })
        .filter_map(|s| to_graph(&req.shared.graph, mb, s, expand.as_deref()))
        .collect();
    common::paged(req, matching, 10)
}

fn get(req: &Request<'_>, id: &str) -> Reply {
    let expand = match extended::parse_expand(req.param("$expand")) {
        Ok(e) => e,
        Err(e) => return Reply::bad_request(&e),
    };
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    match message_key(&req.shared.graph, mb, id)
        .and_then(|k| mb.items.get(&k))
        .and_then(|s| to_graph(&req.shared.graph, mb, s, expand.as_deref()))
    {
        Some(m) => Reply::json(StatusCode::OK, &m),
        None => Reply::not_found("message"),
    }
}

fn create(req: &Request<'_>, folder: Option<&str>) -> Reply {
    let body: Message = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut message = EwsMessage::default();
    message.common.item_class = Some("IPM.Note".to_string());
    message.common.is_draft = Some(true);
    message.is_read = Some(true);
    if let Err(e) = apply(&body, &mut message) {
        return Reply::bad_request(&e);
    }
    let wanted = written_props(&body);
    common::create_item(
        req,
        |mb| folder_key(mb, folder.unwrap_or("drafts")),
        "folder",
        EwsItem::Message(message),
        "message",
        store_error,
        |mb, s| to_graph(&req.shared.graph, mb, s, Some(&wanted)),
    )
}

fn update(req: &Request<'_>, id: &str) -> Reply {
    let body: Message = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(stored) = message_key(&req.shared.graph, mb, id).and_then(|k| mb.items.get(&k)) else {
        return Reply::not_found("message");
    };
    let key = stored.key;
    let expected = match common::if_match_version(stored, req.if_match(), store_error) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let change = |item: &mut EwsItem| match item {
        EwsItem::Message(m) => apply(&body, m),
        _ => Ok(()),
    };
    if let Err(r) = common::change_item(mb, key, expected, store_error, change) {
        return r;
    }
    let wanted = written_props(&body);
    common::item_reply(mb, key, StatusCode::OK, "message", |s| {
        to_graph(&req.shared.graph, mb, s, Some(&wanted))
    })
}

fn delete(req: &Request<'_>, id: &str) -> Reply {
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(stored) = message_key(&req.shared.graph, mb, id).and_then(|k| mb.items.get(&k)) else {
        return Reply::not_found("message");
    };
    let key = stored.key;
    if let Err(r) = common::if_match_version(stored, req.if_match(), store_error) {
        return r;
    }
    // Graph moves a deleted message to Deleted Items (its immutable id stays); from there
    // it is gone
    let deleted = mb.distinguished("deleteditems");
    let result = match deleted {
        Some(dest) if stored.folder != dest => mb
            .move_item(key, dest)
            .map(|new| req.shared.graph.record_move(&mb.address, key, new)),
        _ => mb.delete_item(key).map(|_| ()),
    };
    match result {
        Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
        Err(e) => store_error(e),
    }
}

fn delta(req: &Request<'_>, folder: &str) -> Reply {
    let graph = &req.shared.graph;
    common::item_delta(
        req,
        |mb| folder_key(mb, folder),
        "folder",
        store_error,
        &[],
        |mb, change, value| {
            if change.kind == ChangeKind::Delete {
                value.push(common::removed(graph.item_id(&mb.address, change.key)));
            } else if let Some(m) = mb
                .items
                .get(&change.key)
                .and_then(|s| to_graph(graph, mb, s, None))
            {
                value.push(Change::<Message>::Upsert(m));
            }
        },
    )
}

/// `POST /messages/{id}/move`: into a folder by id or well-known name; the immutable id stays.
fn move_to(req: &Request<'_>, id: &str) -> Reply {
    let body: graph_client::mail::MoveTo = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(key) = message_key(&req.shared.graph, mb, id) else {
        return Reply::not_found("message");
    };
    let Some(dest) = folder_key(mb, &body.destination_id) else {
        return Reply::not_found("destination folder");
    };
    if mb.items.get(&key).is_some_and(|s| s.folder == dest) {
        return common::item_reply(mb, key, StatusCode::CREATED, "message", |s| {
            to_graph(&req.shared.graph, mb, s, None)
        });
    }
    match mb.move_item(key, dest) {
        Ok(new_key) => {
            req.shared.graph.record_move(&mb.address, key, new_key);
            common::item_reply(mb, new_key, StatusCode::CREATED, "message", |s| {
                to_graph(&req.shared.graph, mb, s, None)
            })
        }
        Err(e) => store_error(e),
    }
}
