//! Mail folders: list (top level below the message folder root), get by id or well-known name,
//! child folders, create, delta of the hierarchy. Messages are not on the Graph front yet.

use axum::http::{Method, StatusCode};
use graph_client::mail::MailFolder;

use super::common;
use super::ids as gids;
use super::{Reply, Request};
use crate::ids::IdKind;
use crate::store::{Mailbox, StoreError};

pub(crate) fn dispatch(req: &Request<'_>, path: &[&str]) -> Reply {
    let m = &req.method;
    match path {
        ["mailFolders"] if m == Method::GET => list(req, None),
        ["mailFolders"] if m == Method::POST => create(req, None),
        ["mailFolders", "delta"] if m == Method::GET => delta(req),
        ["mailFolders", id] if m == Method::GET => get(req, id),
        ["mailFolders", id, "childFolders"] if m == Method::GET => list(req, Some(id)),
        ["mailFolders", id, "childFolders"] if m == Method::POST => create(req, Some(id)),
        _ => Reply::no_segment(),
    }
}

fn is_mail(class: &str) -> bool {
    class.starts_with("IPF.Note")
}

/// The folder key of a Graph mail folder id or well-known name (`None`: the root).
fn folder_key(mb: &Mailbox, id: Option<&str>) -> Option<u64> {
    match id {
        None => mb.distinguished("msgfolderroot"),
        Some(name)
            if name.eq_ignore_ascii_case("msgfolderroot")
                || super::messages::WELL_KNOWN
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(name)) =>
        {
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
    let scope = |mb: &Mailbox| folder_key(mb, parent).map(Some).ok_or(());
    common::list_folders(req, scope, is_mail, folder_json)
}

fn get(req: &Request<'_>, id: &str) -> Reply {
    let find = |mb: &Mailbox| folder_key(mb, Some(id)).and_then(|k| folder_json(mb, k));
    common::get_folder(req, find, "folder")
}

fn create(req: &Request<'_>, parent: Option<&str>) -> Reply {
    let name = match common::folder_name(req, |b: MailFolder| b.display_name) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let kind = common::FolderKind {
        class: "IPF.Note",
        json: folder_json,
        what: "folder",
        error: create_error,
    };
    common::create_folder(req, &name, |mb| folder_key(mb, parent), &kind)
}

/// The answer to a store error of a folder creation.
fn create_error(e: StoreError) -> Reply {
    match e {
        StoreError::FolderExists => common::folder_exists(),
        e => Reply::error(StatusCode::BAD_REQUEST, e.response_code(), &e.to_string()),
    }
}

/// `mailFolders/delta`: the mail folders below the root changed since the token (every mail
/// folder on an initial round), `@removed` for deleted ones.
fn delta(req: &Request<'_>) -> Reply {
    common::folder_delta(req, is_mail, folder_json, &["mailFolders", "delta"])
}
