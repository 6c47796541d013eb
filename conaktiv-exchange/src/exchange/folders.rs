//! Resolving a rule's folder paths in a mailbox.
//!
//! A [`FolderPath`] such as `/Contacts/Kunden` starts at a distinguished folder when its
//! first segment names one (English or German display name, or the EWS id:
//! `/Kontakte/Kunden` is the same folder), otherwise at the top of the information store
//! (`msgfolderroot`). Each further segment is found among the children of the previous folder
//! (`FindFolder` shallow, display names compared ignoring case). The subfolders of a sync
//! folder with `include_subfolders` are the `Create` changes of a `SyncFolderHierarchy`
//! from an empty state below it, whose final state is kept so that the change feed notices
//! new, removed and moved-in folders.

use std::str::FromStr;

use conaktiv_model::config::SyncFolder;
use conaktiv_model::values::{DistinguishedFolder, FolderPath};
use ews_client::Client;
use ews_client::ops::{FindFolder, FolderChange, FolderTraversal, SyncFolderHierarchy};
use ews_client::types::shape::{BaseShape, FolderShape};
use ews_client::types::{BaseFolderId, DistinguishedFolderName, FolderId};
use futures::TryStreamExt;

use super::ExchangeError;

/// One folder whose items are synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFolder {
    /// The EWS folder id.
    pub id: String,
    /// The rule's path for a sync folder, the root's path plus `/…/<name>` for a subfolder.
    pub path: String,
}

/// The result of resolving a rule's folders in one mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedFolders {
    /// Every folder whose items are synced (sync folders and their included subfolders),
    /// each once, in rule order.
    pub folders: Vec<ResolvedFolder>,
    /// Root folder id to the `SyncFolderHierarchy` state below it, for the sync folders
    /// with `include_subfolders`.
    pub trees: Vec<(String, String)>,
}

impl ResolvedFolders {
    /// Whether a folder id is one of the synced folders.
    pub fn contains(&self, id: &str) -> bool {
        self.folders.iter().any(|f| f.id == id)
    }
}

/// The EWS distinguished folder a path starts in, and the segments below it.
fn start_of(path: &FolderPath) -> (DistinguishedFolderName, Vec<&str>) {
    let segments: Vec<&str> = path.segments().collect();
    match path
        .distinguished_root()
        .and_then(|d| DistinguishedFolderName::from_str(d.ews_id()).ok())
    {
        Some(name) => (name, segments[1..].to_vec()),
        None => (DistinguishedFolderName::MsgFolderRoot, segments),
    }
}

/// A path's segments, lower case, with a distinguished first segment spelled as its EWS
/// id (`/Kontakte/Kunden` and `/Contacts/kunden` give `contacts`, `kunden`).
fn normalized(path: &FolderPath) -> Vec<String> {
    path.segments()
        .enumerate()
        .map(|(i, s)| match DistinguishedFolder::from_name(s) {
            Some(d) if i == 0 => d.ews_id().to_owned(),
            _ => s.to_lowercase(),
        })
        .collect()
}

/// Whether `folder` is the sync folder `root` or, with `include_subfolders`, below it;
/// like [`FolderPath::is_within`], but a distinguished folder's English, German and EWS
/// names are the same folder.
pub fn covers(root: &FolderPath, include_subfolders: bool, folder: &FolderPath) -> bool {
    let (r, f) = (normalized(root), normalized(folder));
    r == f || (include_subfolders && f.len() > r.len() && f[..r.len()] == r[..])
}

/// The folder id of a path in the client's mailbox.
pub async fn resolve_path(client: &Client, path: &FolderPath) -> Result<String, ExchangeError> {
    let (root, rest) = start_of(path);
    let not_found = || ExchangeError::FolderNotFound {
        path: path.to_string(),
    };
    let mut current: BaseFolderId = root.into();
    if rest.is_empty() {
        let folder = client.get_folder(current).await.map_err(|e| {
            if e.is_not_found() {
                not_found()
            } else {
                ExchangeError::Ews(e)
            }
        })?;
        return folder.folder_id.map(|f| f.id).ok_or_else(not_found);
    }
    let mut id = String::new();
    for segment in rest {
        let children: Vec<_> = client
            .find_folders(FindFolder::new(FolderTraversal::Shallow, vec![current]))
            .try_collect()
            .await
            .map_err(|e| {
                if e.is_not_found() {
                    not_found()
                } else {
                    ExchangeError::Ews(e)
                }
            })?;
        let wanted = segment.to_lowercase();
        id = children
            .into_iter()
            .find(|f| {
                f.display_name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase() == wanted)
            })
            .and_then(|f| f.folder_id)
            .map(|f| f.id)
            .ok_or_else(not_found)?;
        current = FolderId::new(id.clone()).into();
    }
    Ok(id)
}

/// The subfolders below `root` (every level) and the hierarchy sync state after them.
pub async fn subfolders(
    client: &Client,
    root: &str,
) -> Result<(Vec<(String, String)>, String), ExchangeError> {
    let mut state = None;
    let mut found = Vec::new();
    loop {
        let op = SyncFolderHierarchy {
            folder_shape: FolderShape::new(BaseShape::Default),
            sync_folder_id: Some(FolderId::new(root).into()),
            sync_state: state.clone(),
        };
        let page = client.execute_single(&op).await?;
        for change in page.changes {
            match change {
                FolderChange::Create(f) | FolderChange::Update(f) => {
                    if let Some(id) = f.folder_id {
                        found.retain(|(i, _): &(String, String)| *i != id.id);
                        found.push((id.id, f.display_name.unwrap_or_default()));
                    }
                }
                FolderChange::Delete(id) => found.retain(|(i, _)| *i != id.id),
            }
        }
        let more = page.includes_last_folder_in_range == Some(false);
        state = page.sync_state;
        if !more || state.is_none() {
            break;
        }
    }
    Ok((found, state.unwrap_or_default()))
}

/// Resolves every sync folder (and, where the rule says so, its subfolders).
pub async fn resolve(
    client: &Client,
    folders: &[SyncFolder],
) -> Result<ResolvedFolders, ExchangeError> {
    let mut out = ResolvedFolders::default();
    for sf in folders {
        let id = resolve_path(client, &sf.path).await?;
        if !out.contains(&id) {
            out.folders.push(ResolvedFolder {
                id: id.clone(),
                path: sf.path.to_string(),
            });
        }
        if sf.include_subfolders {
            let (subs, state) = subfolders(client, &id).await?;
            for (sub, name) in subs {
                if !out.contains(&sub) {
                    out.folders.push(ResolvedFolder {
                        id: sub,
                        path: format!("{}/…/{name}", sf.path),
                    });
                }
            }
            out.trees.push((id, state));
        }
    }
    Ok(out)
}

/// What a hierarchy change means for a feed over `known` folders: `true` if the set of
/// synced folders may have changed (a folder was created, a synced one removed, or an
/// unknown one changed, e.g. moved in), so the side must list in full.
pub fn hierarchy_changed(changes: &[FolderChange], known: &dyn Fn(&str) -> bool) -> bool {
    changes.iter().any(|c| match c {
        FolderChange::Create(_) => true,
        FolderChange::Update(f) => f.folder_id.as_ref().is_none_or(|id| !known(&id.id)),
        FolderChange::Delete(id) => known(&id.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_start_at_distinguished_folders_or_the_root() {
        let cases = [
            ("/Contacts/Kunden", "contacts", vec!["Kunden"]),
            ("/Kontakte/Kunden/A", "contacts", vec!["Kunden", "A"]),
            ("/Inbox", "inbox", vec![]),
            ("/Posteingang", "inbox", vec![]),
            ("/Projekte/2024", "msgfolderroot", vec!["Projekte", "2024"]),
        ];
        for (path, root, rest) in cases {
            let p = FolderPath::new(path).unwrap();
            let (r, segs) = start_of(&p);
            assert_eq!((r.as_str(), segs), (root, rest), "{path}");
        }
    }

    #[test]
    fn coverage_ignores_the_language_of_distinguished_folders() {
        let p = |s: &str| FolderPath::new(s).unwrap();
        let cases = [
            ("/Contacts/Kunden", true, "/Kontakte/Kunden/Nord", true),
            ("/Contacts/Kunden", false, "/Kontakte/Kunden/Nord", false),
            ("/Contacts/Kunden", false, "/contacts/KUNDEN", true),
            ("/Posteingang", true, "/Inbox/Projekte", true),
            ("/Contacts/Kunden", true, "/Contacts/Andere", false),
            ("/Contacts/Kunden", true, "/Contacts/KundenAlt", false),
            ("/Projekte", true, "/Projekte/2024", true),
        ];
        for (root, subs, folder, want) in cases {
            assert_eq!(
                covers(&p(root), subs, &p(folder)),
                want,
                "{root} {subs} {folder}"
            );
        }
    }

    #[test]
    fn hierarchy_changes_that_force_a_full_listing() {
        use ews_client::types::folder::{Folder, FolderKind};
        let known = |id: &str| id == "A";
        let folder = |id: &str| Folder {
            folder_id: Some(FolderId::new(id)),
            ..Folder::new(FolderKind::Folder, "x")
        };
        assert!(!hierarchy_changed(&[], &known));
        assert!(!hierarchy_changed(
            &[FolderChange::Update(folder("A"))],
            &known
        ));
        assert!(!hierarchy_changed(
            &[FolderChange::Delete(FolderId::new("B"))],
            &known
        ));
        assert!(hierarchy_changed(
            &[FolderChange::Create(folder("B"))],
            &known
        ));
        assert!(hierarchy_changed(
            &[FolderChange::Update(folder("B"))],
            &known
        ));
        assert!(hierarchy_changed(
            &[FolderChange::Delete(FolderId::new("A"))],
            &known
        ));
    }
}
