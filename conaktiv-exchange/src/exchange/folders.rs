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

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use conaktiv_model::config::SyncFolder;
use conaktiv_model::values::{DistinguishedFolder, FolderPath};
use ews_client::Client;
use ews_client::ops::{FindFolder, FolderChange, FolderTraversal, SyncFolderHierarchy};
use ews_client::types::response::ResponseCode;
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

/// Whether `folder` is the sync folder's path or, if it includes its subfolders, below it;
/// like [`SyncFolder::covers`], but a distinguished folder's English, German and EWS names
/// are the same folder.
pub fn covers(sync_folder: &SyncFolder, folder: &FolderPath) -> bool {
    let (r, f) = (normalized(&sync_folder.path), normalized(folder));
    r == f || (sync_folder.include_subfolders && f.len() > r.len() && f[..r.len()] == r[..])
}

/// A failed folder lookup: a missing folder is [`ExchangeError::FolderNotFound`] (the
/// rule names a path the mailbox lacks); a missing mailbox (`ErrorNonExistentMailbox`, which
/// EWS also counts as "not found") stays the EWS error, whose text names the code, so that a
/// host tells "mailbox gone" from a configuration error.
fn folder_error(e: ews_client::Error, not_found: impl FnOnce() -> ExchangeError) -> ExchangeError {
    let mailbox_gone = e.response_code() == Some(ResponseCode::ErrorNonExistentMailbox);
    if e.is_not_found() && !mailbox_gone {
        not_found()
    } else {
        ExchangeError::Ews(e)
    }
}

/// The folder id of a path in the client's mailbox.
pub async fn resolve_path(client: &Client, path: &FolderPath) -> Result<String, ExchangeError> {
    let (root, rest) = start_of(path);
    let not_found = || ExchangeError::FolderNotFound {
        path: path.to_string(),
    };
    let mut current: BaseFolderId = root.into();
    if rest.is_empty() {
        let folder = client
            .get_folder(current)
            .await
            .map_err(|e| folder_error(e, not_found))?;
        return folder.folder_id.map(|f| f.id).ok_or_else(not_found);
    }
    let mut id = String::new();
    for segment in rest {
        let children: Vec<_> = client
            .find_folders(FindFolder::new(FolderTraversal::Shallow, vec![current]))
            .try_collect()
            .await
            .map_err(|e| folder_error(e, not_found))?;
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

/// The folder ids resolved during one run, shared by the run's jobs: each mailbox's folder
/// path is looked up once per run (the first job asks Exchange, concurrent jobs of the same
/// mailbox wait for its answer), however many tables and jobs name it.
///
/// A run creates one and drops it at its end, so a folder renamed or moved between runs is
/// seen by the next run. Entries are keyed by mailbox (ignoring ASCII case) and the path as
/// the rule spells it, so an id never serves another mailbox. A failed lookup is not kept:
/// the next job asking for the same path asks Exchange again (and gets the same error).
/// Clones share the same entries.
#[derive(Debug, Clone, Default)]
pub struct FolderCache {
    ids: Arc<Mutex<IdCells>>,
}

/// The folder ids of a [`FolderCache`] by (mailbox in lower case, path as written), each set
/// by the first lookup that succeeds.
type IdCells = HashMap<(String, String), Arc<tokio::sync::OnceCell<String>>>;

impl FolderCache {
    /// An empty cache (for one run).
    pub fn new() -> Self {
        Self::default()
    }

    /// The folder id of `path` in `mailbox`, looked up with `client` (which impersonates
    /// `mailbox`) unless this cache has it already: [`resolve_path`] once per mailbox and path.
    pub async fn resolve_path(
        &self,
        client: &Client,
        mailbox: &str,
        path: &FolderPath,
    ) -> Result<String, ExchangeError> {
        let cell = {
            let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
            ids.entry((mailbox.to_ascii_lowercase(), path.as_str().to_owned()))
                .or_default()
                .clone()
        };
        cell.get_or_try_init(|| resolve_path(client, path))
            .await
            .cloned()
    }

    /// How many folder ids are held (mailbox and path pairs resolved so far).
    pub fn len(&self) -> usize {
        let ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        ids.values().filter(|c| c.initialized()).count()
    }

    /// Whether no folder id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a folder path's id comes from: Exchange every time, or a run's [`FolderCache`] for
/// a mailbox.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup<'a> {
    /// Ask Exchange.
    Fresh,
    /// Ask the run's cache for this mailbox.
    Cached(&'a FolderCache, &'a str),
}

impl Lookup<'_> {
    /// The folder id of `path`.
    pub(crate) async fn path(
        self,
        client: &Client,
        path: &FolderPath,
    ) -> Result<String, ExchangeError> {
        match self {
            Lookup::Fresh => resolve_path(client, path).await,
            Lookup::Cached(cache, mailbox) => cache.resolve_path(client, mailbox, path).await,
        }
    }
}

/// Resolves every sync folder (and, where the rule says so, its subfolders).
pub async fn resolve(
    client: &Client,
    folders: &[SyncFolder],
) -> Result<ResolvedFolders, ExchangeError> {
    resolve_with(client, folders, Lookup::Fresh).await
}

/// [`resolve`], the sync folders' ids from `lookup`.
pub(crate) async fn resolve_with(
    client: &Client,
    folders: &[SyncFolder],
    lookup: Lookup<'_>,
) -> Result<ResolvedFolders, ExchangeError> {
    let mut out = ResolvedFolders::default();
    for sf in folders {
        let id = lookup.path(client, &sf.path).await?;
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
                covers(
                    &SyncFolder::new(p(root), conaktiv_model::Subfolders::included_if(subs)),
                    &p(folder)
                ),
                want,
                "{root} {subs} {folder}"
            );
        }
    }

    #[test]
    fn a_missing_mailbox_is_not_a_missing_folder() {
        use ews_client::envelope::SoapFault;
        use ews_client::types::response::{ResponseError, ResponseStatus};
        let response = |code: ResponseCode| {
            ews_client::Error::Response(ResponseError(ResponseStatus::error(code, "x")))
        };
        let fault = |code: ResponseCode| ews_client::Error::from(SoapFault::for_code(code, "x"));
        let cases = [
            (response(ResponseCode::ErrorFolderNotFound), "folder"),
            (response(ResponseCode::ErrorItemNotFound), "folder"),
            (response(ResponseCode::ErrorNonExistentMailbox), "ews"),
            (fault(ResponseCode::ErrorNonExistentMailbox), "ews"),
            (response(ResponseCode::ErrorAccessDenied), "ews"),
        ];
        for (e, want) in cases {
            let text = e.to_string();
            let got = match folder_error(e, || ExchangeError::FolderNotFound {
                path: "/Contacts".into(),
            }) {
                ExchangeError::FolderNotFound { .. } => "folder",
                ExchangeError::Ews(_) => "ews",
                other => panic!("{other}"),
            };
            assert_eq!(got, want, "{text}");
        }
    }

    /// Impersonating an address without a mailbox: the error is "mailbox gone" for the
    /// service, not a configuration error (a missing folder).
    #[tokio::test]
    async fn resolving_in_a_mailbox_that_does_not_exist_reports_mailbox_gone() {
        use crate::scheduler::JobErrorKind;
        use ews_client::envelope::Impersonation;
        use ews_client::transport::{Auth, TransportConfig};
        use ews_client::{Client, ClientConfig};
        use ews_mock::{MockConfig, MockServer, OrgData};
        use sync_core::{SideError, SideId, SyncError};

        const ORG: &str = r#"
[[users]]
address = "svc-crm@contoso.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"

[[mailboxes]]
owner = "bob@contoso.test"
folders = [{ path = "contacts/Kunden" }]
"#;
        let mock = MockServer::start(MockConfig::new(OrgData::from_toml(ORG).expect("org")))
            .await
            .expect("mock");
        let url = url::Url::parse(&mock.url()).expect("url");
        let service = Client::new(ClientConfig::new(TransportConfig::new(
            url,
            Auth::basic("svc-crm@contoso.test", "svc-pw"),
        )))
        .expect("client");
        let as_user =
            |who: &str| service.impersonating(Impersonation::PrimarySmtpAddress(who.to_owned()));
        let classify = |e: ExchangeError| {
            crate::service::classify(&SyncError::Side {
                side: SideId::Remote,
                source: SideError::from(e),
            })
        };
        let bob = as_user("bob@contoso.test");
        let gone = as_user("gone@contoso.test");
        let p = |s: &str| FolderPath::new(s).expect("path");

        // Bob's folders resolve; a path Bob lacks is a configuration error.
        assert!(resolve_path(&bob, &p("/Kontakte/Kunden")).await.is_ok());
        let e = resolve_path(&bob, &p("/Kontakte/Fehlt"))
            .await
            .expect_err("no folder");
        assert!(matches!(e, ExchangeError::FolderNotFound { .. }), "{e}");
        assert_eq!(classify(e).kind(), JobErrorKind::Configuration);

        // No mailbox: neither the distinguished-folder lookup nor the walk down the path
        // says "folder not found".
        for path in ["/Kontakte", "/Kontakte/Kunden", "/Projekte"] {
            let e = resolve_path(&gone, &p(path)).await.expect_err("no mailbox");
            assert!(
                !matches!(e, ExchangeError::FolderNotFound { .. }),
                "{path}: {e}"
            );
            assert!(!e.is_transient(), "{path}: {e}");
            let job = classify(e);
            assert_eq!(job.kind(), JobErrorKind::MailboxGone, "{path}: {job:?}");
        }
        mock.shutdown().await.expect("shutdown");
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
