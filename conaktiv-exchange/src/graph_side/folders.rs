//! The rule's folders in a mailbox over Microsoft Graph.
//!
//! A rule names folders by path, the first segment a distinguished folder (`/Contacts/Kunden`,
//! `/Calendar`, `/Tasks`, `/Inbox/Projekte`). Over Graph:
//!
//! * contacts: `Contacts` is the default contact folder (`/contacts`), deeper segments are
//!   `contactFolders` / `childFolders` by display name;
//! * appointments: `Calendar` is the default calendar (`/calendar`); a deeper path names a
//!   calendar of `/calendars` by the name of its last segment (Graph lists calendars flat);
//!   "with subfolders" takes every calendar of the mailbox;
//! * tasks: `Tasks` is the To Do list whose `wellknownListName` is `defaultList`; a deeper
//!   path names a list by its last segment; "with subfolders" takes every list;
//! * mail: `mailFolders` by well-known name (`inbox`, `sentitems`, ...) and `childFolders` by
//!   display name.

use conaktiv_model::config::SyncFolder;
use conaktiv_model::values::{DistinguishedFolder, FolderPath};
use graph_client::Mailbox;
use graph_client::todo::WellknownListName;

use crate::exchange::ExchangeTable;

/// A folder of the rule resolved over Graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFolder {
    /// The folder's id; `None` for the default contact folder or calendar, which Graph
    /// addresses without an id.
    pub id: Option<String>,
    /// The path as the rule names it (for messages).
    pub path: String,
}

impl GraphFolder {
    /// A key for the folder in tokens (`""` for the default folder).
    pub fn token_key(&self) -> String {
        self.id.clone().unwrap_or_default()
    }
}

/// Why a folder could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FolderError {
    /// The path does not exist in the mailbox.
    #[error("folder {path} not found in the mailbox")]
    NotFound {
        /// The path.
        path: String,
    },
    /// A Graph call failed.
    #[error(transparent)]
    Graph(#[from] graph_client::Error),
}

fn not_found(path: &FolderPath) -> FolderError {
    FolderError::NotFound {
        path: path.to_string(),
    }
}

fn rest(path: &FolderPath) -> Vec<String> {
    path.segments().skip(1).map(str::to_owned).collect()
}

fn root_is(path: &FolderPath, want: DistinguishedFolder) -> bool {
    path.distinguished_root() == Some(want)
}

/// Resolves the rule's folders (with subfolders where asked) and the new-items folder.
/// Duplicates (a folder named twice, or inside another synced tree) appear once.
pub async fn resolve(
    mbox: &Mailbox,
    table: ExchangeTable,
    folders: &[SyncFolder],
    new_items: &FolderPath,
) -> Result<(Vec<GraphFolder>, GraphFolder), FolderError> {
    let mut out: Vec<GraphFolder> = Vec::new();
    for f in folders {
        for g in resolve_one(mbox, table, &f.path, f.include_subfolders).await? {
            if !out.iter().any(|o| o.id == g.id) {
                out.push(g);
            }
        }
    }
    // the new-items folder is usually one of the sync folders: no second lookup then
    let target = match out
        .iter()
        .find(|f| f.path.eq_ignore_ascii_case(new_items.as_str()))
    {
        Some(f) => f.clone(),
        None => resolve_one(mbox, table, new_items, false)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| not_found(new_items))?,
    };
    Ok((out, target))
}

async fn resolve_one(
    mbox: &Mailbox,
    table: ExchangeTable,
    path: &FolderPath,
    subfolders: bool,
) -> Result<Vec<GraphFolder>, FolderError> {
    match table {
        ExchangeTable::Contacts => contacts(mbox, path, subfolders).await,
        ExchangeTable::Appointments => calendars(mbox, path, subfolders).await,
        ExchangeTable::Tasks => lists(mbox, path, subfolders).await,
        _ => mail(mbox, path, subfolders).await,
    }
}

async fn contacts(
    mbox: &Mailbox,
    path: &FolderPath,
    subfolders: bool,
) -> Result<Vec<GraphFolder>, FolderError> {
    if !root_is(path, DistinguishedFolder::Contacts) {
        return Err(not_found(path));
    }
    // The default folder needs no request; a path below it is looked up level by level.
    let mut current: Option<String> = None;
    for segment in rest(path) {
        let level = match &current {
            None => mbox.contact_folders().await?,
            Some(id) => mbox.contact_child_folders(id).await?,
        };
        let found = level
            .iter()
            .find(|f| {
                f.display_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&segment))
            })
            .and_then(|f| f.id.clone())
            .ok_or_else(|| not_found(path))?;
        current = Some(found);
    }
    let level = if subfolders {
        match &current {
            None => mbox.contact_folders().await?,
            Some(id) => mbox.contact_child_folders(id).await?,
        }
    } else {
        Vec::new()
    };
    let mut out = vec![GraphFolder {
        id: current,
        path: path.to_string(),
    }];
    if subfolders {
        // breadth first over the tree below
        let mut queue: Vec<(String, Vec<graph_client::contacts::ContactFolder>)> =
            vec![(path.to_string(), level)];
        while let Some((base, children)) = queue.pop() {
            for c in children {
                let Some(id) = c.id.clone() else { continue };
                let p = format!("{base}/{}", c.display_name.as_deref().unwrap_or("?"));
                let below = mbox.contact_child_folders(&id).await?;
                out.push(GraphFolder {
                    id: Some(id),
                    path: p.clone(),
                });
                queue.push((p, below));
            }
        }
    }
    Ok(out)
}

async fn calendars(
    mbox: &Mailbox,
    path: &FolderPath,
    subfolders: bool,
) -> Result<Vec<GraphFolder>, FolderError> {
    if !root_is(path, DistinguishedFolder::Calendar) {
        return Err(not_found(path));
    }
    let segments = rest(path);
    let all = if segments.is_empty() && !subfolders {
        Vec::new()
    } else {
        mbox.calendars().await?
    };
    let mut out = Vec::new();
    match segments.last() {
        None => out.push(GraphFolder {
            id: None,
            path: path.to_string(),
        }),
        Some(name) => {
            let c = all
                .iter()
                .find(|c| {
                    c.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
                .ok_or_else(|| not_found(path))?;
            out.push(GraphFolder {
                id: c.id.clone(),
                path: path.to_string(),
            });
        }
    }
    if subfolders {
        for c in &all {
            if c.is_default_calendar == Some(true) || out.iter().any(|o| o.id == c.id) {
                continue;
            }
            if segments.is_empty() {
                out.push(GraphFolder {
                    id: c.id.clone(),
                    path: format!("{path}/{}", c.name.as_deref().unwrap_or("?")),
                });
            }
        }
    }
    Ok(out)
}

async fn lists(
    mbox: &Mailbox,
    path: &FolderPath,
    subfolders: bool,
) -> Result<Vec<GraphFolder>, FolderError> {
    if !root_is(path, DistinguishedFolder::Tasks) {
        return Err(not_found(path));
    }
    let all = mbox.todo_lists().await?;
    let segments = rest(path);
    let chosen = match segments.last() {
        None => all
            .iter()
            .find(|l| l.wellknown_list_name == Some(WellknownListName::DefaultList)),
        Some(name) => all.iter().find(|l| {
            l.display_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }),
    }
    .ok_or_else(|| not_found(path))?;
    let mut out = vec![GraphFolder {
        id: chosen.id.clone(),
        path: path.to_string(),
    }];
    if subfolders && segments.is_empty() {
        for l in &all {
            if out.iter().any(|o| o.id == l.id) {
                continue;
            }
            out.push(GraphFolder {
                id: l.id.clone(),
                path: format!("{path}/{}", l.display_name.as_deref().unwrap_or("?")),
            });
        }
    }
    Ok(out)
}

fn well_known(d: DistinguishedFolder) -> Option<&'static str> {
    Some(match d {
        DistinguishedFolder::Inbox => "inbox",
        DistinguishedFolder::SentItems => "sentitems",
        DistinguishedFolder::Drafts => "drafts",
        DistinguishedFolder::DeletedItems => "deleteditems",
        DistinguishedFolder::JunkEmail => "junkemail",
        DistinguishedFolder::Outbox => "outbox",
        _ => return None,
    })
}

async fn mail(
    mbox: &Mailbox,
    path: &FolderPath,
    subfolders: bool,
) -> Result<Vec<GraphFolder>, FolderError> {
    let name = path
        .distinguished_root()
        .and_then(well_known)
        .ok_or_else(|| not_found(path))?;
    let mut id = mbox
        .mail_folder(name)
        .await
        .map_err(|e| {
            if e.is_not_found() {
                not_found(path)
            } else {
                e.into()
            }
        })?
        .id
        .ok_or_else(|| not_found(path))?;
    for segment in rest(path) {
        let children = mbox.mail_child_folders(&id).await?;
        id = children
            .iter()
            .find(|f| {
                f.display_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&segment))
            })
            .and_then(|f| f.id.clone())
            .ok_or_else(|| not_found(path))?;
    }
    let mut out = vec![GraphFolder {
        id: Some(id.clone()),
        path: path.to_string(),
    }];
    if subfolders {
        let mut queue = vec![(id, path.to_string())];
        while let Some((parent, base)) = queue.pop() {
            for c in mbox.mail_child_folders(&parent).await? {
                let Some(cid) = c.id.clone() else { continue };
                let p = format!("{base}/{}", c.display_name.as_deref().unwrap_or("?"));
                out.push(GraphFolder {
                    id: Some(cid.clone()),
                    path: p.clone(),
                });
                queue.push((cid, p));
            }
        }
    }
    Ok(out)
}
