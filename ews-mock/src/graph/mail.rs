//! Mail folders: list (top level below the message folder root), get by id or well-known name,
//! child folders, create, delta of the hierarchy. Messages are not on the Graph front yet.

use axum::http::{Method, StatusCode};
use graph_client::mail::MailFolder;
use graph_client::odata::Page;

use super::ids as gids;
use super::{Reply, Request, parse_body};
use crate::ids::IdKind;
use crate::store::{ChangeKind, Mailbox, StoreError};

/// Well-known folder names Graph and EWS share.
const WELL_KNOWN: &[&str] = &[
    "msgfolderroot",
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
        ["mailFolders"] if m == Method::GET => list(req, None),
        ["mailFolders"] if m == Method::POST => create(req, None),
        ["mailFolders", "delta"] if m == Method::GET => delta(req),
        ["mailFolders", id] if m == Method::GET => get(req, id),
        ["mailFolders", id, "childFolders"] if m == Method::GET => list(req, Some(id)),
        ["mailFolders", id, "childFolders"] if m == Method::POST => create(req, Some(id)),
        _ => Reply::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment.",
        ),
    }
}

fn is_mail(class: &str) -> bool {
    class.starts_with("IPF.Note")
}

/// The folder key of a Graph mail folder id or well-known name (`None`: the root).
fn folder_key(mb: &Mailbox, id: Option<&str>) -> Option<u64> {
    match id {
        None => mb.distinguished("msgfolderroot"),
        Some(name) if WELL_KNOWN.iter().any(|w| w.eq_ignore_ascii_case(name)) => {
            mb.distinguished(&name.to_ascii_lowercase())
        }
        Some(id) => {
            let key = gids::decode(IdKind::Folder, &mb.address, id)?;
            mb.folders
                .get(&key)
                .filter(|f| is_mail(&f.class))
                .map(|f| f.key)
        }
    }
}

fn folder_json(mb: &Mailbox, key: u64) -> Option<MailFolder> {
    let f = mb.folders.get(&key)?;
    let children = mb
        .folders
        .values()
        .filter(|c| c.parent == Some(key) && is_mail(&c.class))
        .count();
    let unread = f
        .items
        .iter()
        .filter_map(|k| mb.items.get(k))
        .filter(|s| crate::store::is_read(&s.item) == Some(false))
        .count();
    Some(MailFolder {
        id: Some(gids::encode(IdKind::Folder, &mb.address, key)),
        display_name: Some(f.name.clone()),
        parent_folder_id: f
            .parent
            .map(|p| gids::encode(IdKind::Folder, &mb.address, p)),
        child_folder_count: Some(i32::try_from(children).unwrap_or(i32::MAX)),
        total_item_count: Some(i32::try_from(f.items.len()).unwrap_or(i32::MAX)),
        unread_item_count: Some(i32::try_from(unread).unwrap_or(i32::MAX)),
        is_hidden: Some(false),
        single_value_extended_properties: None,
    })
}

fn list(req: &Request<'_>, parent: Option<&str>) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(parent) = folder_key(mb, parent) else {
        return Reply::not_found("folder");
    };
    let value: Vec<MailFolder> = mb
        .folders
        .values()
        .filter(|f| f.parent == Some(parent) && is_mail(&f.class))
        .filter_map(|f| folder_json(mb, f.key))
        .collect();
    Reply::json(
        StatusCode::OK,
        &Page {
            value,
            next_link: None,
            delta_link: None,
        },
    )
}

fn get(req: &Request<'_>, id: &str) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    match folder_key(mb, Some(id)).and_then(|k| folder_json(mb, k)) {
        Some(f) => Reply::json(StatusCode::OK, &f),
        None => Reply::not_found("folder"),
    }
}

fn create(req: &Request<'_>, parent: Option<&str>) -> Reply {
    let body: MailFolder = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = body.display_name.filter(|n| !n.trim().is_empty()) else {
        return Reply::bad_request("displayName is required.");
    };
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(parent) = folder_key(mb, parent) else {
        return Reply::not_found("folder");
    };
    match mb.create_folder(parent, &name, Some("IPF.Note")) {
        Ok(key) => match folder_json(mb, key) {
            Some(f) => Reply::json(StatusCode::CREATED, &f),
            None => Reply::not_found("folder"),
        },
        Err(StoreError::FolderExists) => Reply::error(
            StatusCode::CONFLICT,
            "ErrorFolderExists",
            "A folder with the specified name already exists.",
        ),
        Err(e) => Reply::error(StatusCode::BAD_REQUEST, e.response_code(), &e.to_string()),
    }
}

/// `mailFolders/delta`: the mail folders below the root changed since the token (every mail
/// folder on an initial round), `@removed` for deleted ones.
fn delta(req: &Request<'_>) -> Reply {
    use graph_client::odata::Change;
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(root) = mb.distinguished("msgfolderroot") else {
        return Reply::not_found("folder");
    };
    let epoch = req
        .shared
        .graph
        .delta_epoch
        .load(std::sync::atomic::Ordering::SeqCst);
    let secret = &store.sync_secret;
    let kind = gids::SyncKind::Hierarchy;
    let since = match req.delta_since(secret, kind, epoch, &mb.address, root) {
        Ok(since) => since,
        Err(reply) => return reply,
    };
    let page = match mb.sync_hierarchy(root, since.unwrap_or(0), usize::MAX) {
        Ok(p) => p,
        Err(_) => return Reply::not_found("folder"),
    };
    let mut value: Vec<Change<MailFolder>> = Vec::new();
    for change in &page.changes {
        if change.kind == ChangeKind::Delete {
            if since.is_some() {
                value.push(Change::Removed {
                    id: gids::encode(IdKind::Folder, &mb.address, change.key),
                    reason: Some("deleted".to_string()),
                });
            }
            continue;
        }
        let mail = mb
            .folders
            .get(&change.key)
            .is_some_and(|f| is_mail(&f.class));
        if let Some(f) = folder_json(mb, change.key).filter(|_| mail) {
            value.push(Change::Upsert(f));
        }
    }
    let next = gids::delta_token(secret, kind, epoch, &mb.address, root, page.seq);
    Reply::json(
        StatusCode::OK,
        &Page {
            value,
            next_link: None,
            delta_link: Some(req.link(&["mailFolders", "delta"], &[("$deltatoken", &next)])),
        },
    )
}
