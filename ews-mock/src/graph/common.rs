//! What the resource families of the Graph front (contacts, calendar, To Do, mail) answer
//! alike: store errors, `If-Match` checks, `$top`/`$skip` pages, folder listing and
//! creation, and delta rounds over a folder's items or over the folder hierarchy.

use axum::http::StatusCode;
use ews_client::types::Item as EwsItem;
use ews_client::types::{Body, BodyType};
use graph_client::odata::{Change, Page};
use graph_client::types::{BodyType as GraphBodyType, ItemBody};
use serde::Serialize;

use super::ids as gids;
use super::{Reply, Request, parse_body};
use crate::ids::{IdKind, encode_change_key};
use crate::store::{ChangeKind, Mailbox, StoreError, StoredItem, SyncChange};

/// The answer to a store error of a contact, event or task write.
pub(crate) fn store_error(e: StoreError) -> Reply {
    match e {
        StoreError::ItemNotFound | StoreError::FolderNotFound => Reply::not_found("item"),
        StoreError::IrresolvableConflict => Reply::error(
            StatusCode::PRECONDITION_FAILED,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
        ),
        StoreError::FolderExists => folder_exists(),
        other => Reply::error(
            StatusCode::BAD_REQUEST,
            other.response_code(),
            &other.to_string(),
        ),
    }
}

/// 409 for a folder name taken below the same parent.
pub(crate) fn folder_exists() -> Reply {
    Reply::error(
        StatusCode::CONFLICT,
        "ErrorFolderExists",
        "A folder with the specified name already exists.",
    )
}

/// The stored version whose change key `if_match` is; a stale one gives 412.
pub(crate) fn check_if_match(
    stored: &StoredItem,
    if_match: Option<String>,
) -> Result<Option<u64>, Reply> {
    if_match_version(stored, if_match, store_error)
}

/// The stored version whose change key `if_match` is; a stale one is answered by `error`
/// ([`StoreError::IrresolvableConflict`]).
pub(crate) fn if_match_version(
    stored: &StoredItem,
    if_match: Option<String>,
    error: fn(StoreError) -> Reply,
) -> Result<Option<u64>, Reply> {
    match if_match {
        None => Ok(None),
        Some(ck) if ck == encode_change_key(stored.key, stored.version) => Ok(Some(stored.version)),
        Some(_) => Err(error(StoreError::IrresolvableConflict)),
    }
}

/// The properties a PATCH body sets to `null` (Graph's way of removing a value).
pub(crate) fn nulled(body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter(|(_, v)| v.is_null())
            .map(|(k, _)| k)
            .collect(),
        _ => Vec::new(),
    }
}

/// Creates `item` in the folder `folder` finds (else 404 naming `what_folder`): 201 with
/// the Graph view `view` gives (404 naming `what` if none); `error` answers a store error.
pub(crate) fn create_item<T: Serialize>(
    req: &Request<'_>,
    folder: impl FnOnce(&Mailbox) -> Option<u64>,
    what_folder: &str,
    item: EwsItem,
    what: &str,
    error: fn(StoreError) -> Reply,
    view: impl FnOnce(&Mailbox, &StoredItem) -> Option<T>,
) -> Reply {
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(fkey) = folder(mb) else {
        return Reply::not_found(what_folder);
    };
    match mb.create_item(fkey, item) {
        Ok(key) => item_reply(mb, key, StatusCode::CREATED, what, |s| view(mb, s)),
        Err(e) => error(e),
    }
}

/// A collection page without a delta link.
pub(crate) fn page_reply<T: Serialize>(value: Vec<T>, next_link: Option<String>) -> Reply {
    Reply::json(
        StatusCode::OK,
        &Page {
            value,
            next_link,
            delta_link: None,
        },
    )
}

/// One page of `values` by `$top`/`Prefer: odata.maxpagesize` (else `default`) and
/// `$skip`; the next link keeps the other query parameters.
pub(crate) fn paged<T: Serialize>(req: &Request<'_>, values: Vec<T>, default: usize) -> Reply {
    paged_map(req, values, default, |v| v)
}

/// [`paged`], turning only the page's values into their answer (`$select` on a page of a
/// large collection costs the page, not the collection).
pub(crate) fn paged_map<T, U: Serialize>(
    req: &Request<'_>,
    values: Vec<T>,
    default: usize,
    answer: impl FnMut(T) -> U,
) -> Reply {
    let top = req.page_size(default);
    let skip: usize = req.param("$skip").and_then(|s| s.parse().ok()).unwrap_or(0);
    let total = values.len();
    let page: Vec<U> = values
        .into_iter()
        .skip(skip)
        .take(top)
        .map(answer)
        .collect();
    let next_link = (skip + top < total).then(|| {
        let mut q: Vec<(&str, String)> = req
            .query
            .iter()
            .filter(|(k, _)| k != "$skip" && k != "$top")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        q.push(("$top", top.to_string()));
        q.push(("$skip", (skip + top).to_string()));
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let segs: Vec<&str> = req.path.iter().map(String::as_str).collect();
        req.link(&segs, &q)
    });
    page_reply(page, next_link)
}

/// The folders of one kind (`kind` of the folder class) as a collection: below the folder
/// `scope` finds (`Ok(None)`: anywhere; `Err(())`: no such folder, 404).
pub(crate) fn list_folders<T: Serialize>(
    req: &Request<'_>,
    scope: impl FnOnce(&Mailbox) -> Result<Option<u64>, ()>,
    kind: fn(&str) -> bool,
    json: fn(&Mailbox, u64) -> Option<T>,
) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Ok(parent) = scope(mb) else {
        return Reply::not_found("folder");
    };
    let value: Vec<T> = mb
        .folders
        .values()
        .filter(|f| parent.is_none_or(|p| f.parent == Some(p)) && kind(&f.class))
        .filter_map(|f| json(mb, f.key))
        .collect();
    page_reply(value, None)
}

/// One folder (`find` gives its Graph view), else 404 naming `what`.
pub(crate) fn get_folder<T: Serialize>(
    req: &Request<'_>,
    find: impl FnOnce(&Mailbox) -> Option<T>,
    what: &str,
) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    match find(mb) {
        Some(f) => Reply::json(StatusCode::OK, &f),
        None => Reply::not_found(what),
    }
}

/// The `displayName` of a folder write body (`name` reads it), which must not be blank.
pub(crate) fn folder_name<B: serde::de::DeserializeOwned>(
    req: &Request<'_>,
    name: fn(B) -> Option<String>,
) -> Result<String, Reply> {
    let body: B = parse_body(req)?;
    name(body)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Reply::bad_request("displayName is required."))
}

/// How a folder family is created: the folder class, its Graph view, what a missing view
/// is called and how a store error is answered.
pub(crate) struct FolderKind<T> {
    /// The folder class of a new folder.
    pub class: &'static str,
    /// The Graph view of a folder.
    pub json: fn(&Mailbox, u64) -> Option<T>,
    /// What a 404 for a missing view names.
    pub what: &'static str,
    /// The answer to a store error.
    pub error: fn(StoreError) -> Reply,
}

/// Creates the folder `name` below the folder `parent` finds (404 `folder` if none): 201
/// with its Graph view.
pub(crate) fn create_folder<T: Serialize>(
    req: &Request<'_>,
    name: &str,
    parent: impl FnOnce(&Mailbox) -> Option<u64>,
    kind: &FolderKind<T>,
) -> Reply {
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(parent) = parent(mb) else {
        return Reply::not_found("folder");
    };
    match mb.create_folder(parent, name, Some(kind.class)) {
        Ok(key) => match (kind.json)(mb, key) {
            Some(f) => Reply::json(StatusCode::CREATED, &f),
            None => Reply::not_found(kind.what),
        },
        Err(e) => (kind.error)(e),
    }
}

/// The current delta epoch (a bump expires every delta token).
fn delta_epoch(req: &Request<'_>) -> u64 {
    req.shared
        .graph
        .delta_epoch
        .load(std::sync::atomic::Ordering::SeqCst)
}

/// A `@removed` entry of an item or folder deleted since the last round.
pub(crate) fn removed<T>(id: String) -> Change<T> {
    Change::Removed {
        id,
        reason: Some("deleted".to_string()),
    }
}

/// One page of a delta round over the items of the folder `folder` finds (404 naming
/// `what` if none): `$deltatoken` (a finished round) or `$skiptoken` (the next page) carry
/// the folder's journal position; `entries` adds the entries of one journal change;
/// `query` is kept in the next and delta links.
pub(crate) fn item_delta<T: Serialize>(
    req: &Request<'_>,
    folder: impl FnOnce(&Mailbox) -> Option<u64>,
    what: &str,
    error: fn(StoreError) -> Reply,
    query: &[(&str, &str)],
    mut entries: impl FnMut(&Mailbox, &SyncChange, &mut Vec<T>),
) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(fkey) = folder(mb) else {
        return Reply::not_found(what);
    };
    let epoch = delta_epoch(req);
    let secret = &store.sync_secret;
    let kind = gids::SyncKind::Items;
    let since = match req.delta_since(secret, kind, epoch, &mb.address, fkey) {
        Ok(since) => since,
        Err(reply) => return reply,
    };
    let page = match mb.sync_items(fkey, since.unwrap_or(0), req.page_size(100)) {
        Ok(p) => p,
        Err(e) => return error(e),
    };
    let mut value: Vec<T> = Vec::new();
    for change in &page.changes {
        entries(mb, change, &mut value);
    }
    let next = gids::delta_token(secret, kind, epoch, &mb.address, fkey, page.seq);
    let segs: Vec<&str> = req.path.iter().map(String::as_str).collect();
    let mut q: Vec<(&str, &str)> = query.to_vec();
    let (next_link, delta_link) = if page.includes_last {
        q.push(("$deltatoken", &next));
        (None, Some(req.link(&segs, &q)))
    } else {
        q.push(("$skiptoken", &next));
        (Some(req.link(&segs, &q)), None)
    };
    Reply::json(
        StatusCode::OK,
        &Page {
            value,
            next_link,
            delta_link,
        },
    )
}

/// A delta round over the folders of one kind (`kind` of the folder class) below the
/// message folder root, in one page: every such folder on an initial round, else those
/// changed since the token and `@removed` for deleted ones (any deleted folder, its class
/// gone with it). The delta link is `link` with the new token.
pub(crate) fn folder_delta<T: Serialize>(
    req: &Request<'_>,
    kind: fn(&str) -> bool,
    json: fn(&Mailbox, u64) -> Option<T>,
    link: &[&str],
) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(root) = mb.distinguished("msgfolderroot") else {
        return Reply::not_found("folder");
    };
    let epoch = delta_epoch(req);
    let secret = &store.sync_secret;
    let sync = gids::SyncKind::Hierarchy;
    let since = match req.delta_since(secret, sync, epoch, &mb.address, root) {
        Ok(since) => since,
        Err(reply) => return reply,
    };
    let page = match mb.sync_hierarchy(root, since.unwrap_or(0), usize::MAX) {
        Ok(p) => p,
        Err(_) => return Reply::not_found("folder"),
    };
    let mut value: Vec<Change<T>> = Vec::new();
    for change in &page.changes {
        if change.kind == ChangeKind::Delete {
            if since.is_some() {
                value.push(removed(gids::encode(
                    IdKind::Folder,
                    &mb.address,
                    change.key,
                )));
            }
            continue;
        }
        let wanted = mb.folders.get(&change.key).is_some_and(|f| kind(&f.class));
        if let Some(f) = json(mb, change.key).filter(|_| wanted) {
            value.push(Change::Upsert(f));
        }
    }
    let next = gids::delta_token(secret, sync, epoch, &mb.address, root, page.seq);
    Reply::json(
        StatusCode::OK,
        &Page {
            value,
            next_link: None,
            delta_link: Some(req.link(link, &[("$deltatoken", &next)])),
        },
    )
}

/// The EWS body of a Graph body (HTML or text).
pub(crate) fn ews_body(b: &ItemBody) -> Body {
    Body {
        body_type: match b.content_type {
            Some(GraphBodyType::Html) => BodyType::Html,
            _ => BodyType::Text,
        },
        content: b.content.clone().unwrap_or_default(),
        is_truncated: None,
    }
}

/// The Graph body of an EWS body (HTML or text).
pub(crate) fn graph_body(b: &Body) -> ItemBody {
    ItemBody {
        content_type: Some(match b.body_type {
            BodyType::Html => GraphBodyType::Html,
            _ => GraphBodyType::Text,
        }),
        content: Some(b.content.clone()),
    }
}

/// The folder key of a Graph folder id of one kind (`kind` of the folder class): `None` or
/// the well-known name `default` is that distinguished folder.
pub(crate) fn folder_of_kind(
    mb: &Mailbox,
    id: Option<&str>,
    default: &str,
    kind: fn(&str) -> bool,
) -> Option<u64> {
    match id {
        None => mb.distinguished(default),
        Some(id) if id.eq_ignore_ascii_case(default) => mb.distinguished(default),
        Some(id) => {
            let key = gids::decode(IdKind::Folder, &mb.address, id)?;
            mb.folders
                .get(&key)
                .filter(|f| kind(&f.class))
                .map(|f| f.key)
        }
    }
}

/// Changes the stored item `key` expecting version `expected` (of an `If-Match`): an error
/// of `change` answers 400, a store error is answered by `error`.
pub(crate) fn change_item(
    mb: &mut Mailbox,
    key: u64,
    expected: Option<u64>,
    error: fn(StoreError) -> Reply,
    change: impl FnOnce(&mut EwsItem) -> Result<(), String>,
) -> Result<(), Reply> {
    let mut err = None;
    let result = mb.update_item(key, expected, |item| {
        if let Err(e) = change(item) {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(Reply::bad_request(&e));
    }
    result.map_err(error)
}

/// The Graph view `view` gives of the stored item `key`, with `status`; else 404 naming
/// `what`.
pub(crate) fn item_reply<T: Serialize>(
    mb: &Mailbox,
    key: u64,
    status: StatusCode,
    what: &str,
    view: impl FnOnce(&StoredItem) -> Option<T>,
) -> Reply {
    match mb.items.get(&key).and_then(view) {
        Some(v) => Reply::json(status, &v),
        None => Reply::not_found(what),
    }
}
