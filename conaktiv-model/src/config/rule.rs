//! Sync rules (admin screen "EWS-Einstellungen").

use serde::{Deserialize, Serialize};

use crate::ids::{GroupName, UserName};
use crate::values::{FolderPath, Subfolders};

/// Whom a rule applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// Every user.
    #[default]
    AllUsers,
    /// One user, named in [`SyncRule::validity_name`].
    User,
    /// One group, named in [`SyncRule::validity_name`].
    Group,
}

/// Which ConAktiv table a rule synchronises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncTable {
    /// Mails.
    Email,
    /// Contact persons.
    Contacts,
    /// Appointments.
    Appointments,
    /// Tasks.
    Tasks,
}

impl SyncTable {
    /// Every table.
    pub const ALL: [SyncTable; 4] = [Self::Email, Self::Contacts, Self::Appointments, Self::Tasks];
}

/// Which side wins a conflict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Master {
    /// ConAktiv wins.
    #[default]
    #[serde(rename = "conaktiv")]
    ConAktiv,
    /// Exchange wins.
    #[serde(rename = "exchange")]
    Exchange,
}

/// An Exchange folder a rule synchronises.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncFolder {
    /// Folder path.
    pub path: FolderPath,
    /// Whether the folders below it are synchronised too.
    #[serde(default)]
    pub include_subfolders: bool,
}

impl SyncFolder {
    /// A sync folder, with or without the folders below it.
    pub fn new(path: FolderPath, subfolders: Subfolders) -> Self {
        Self {
            path,
            include_subfolders: subfolders == Subfolders::Included,
        }
    }

    /// Whether the folders below it are synchronised too.
    pub fn subfolders(&self) -> Subfolders {
        Subfolders::included_if(self.include_subfolders)
    }

    /// Whether `folder` is covered: the folder itself, or below it with subfolders included.
    pub fn covers(&self, folder: &FolderPath) -> bool {
        folder.is_within(&self.path, self.subfolders())
    }
}

/// The switches for one direction of a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectionSwitches {
    /// Overwrite the target completely with the source.
    pub overwrite_completely: bool,
    /// Transfer items new in the source.
    pub transfer_new: bool,
    /// Transfer items changed in the source.
    pub transfer_changed: bool,
    /// Delete target items the source no longer has in its filter or folders.
    pub delete_missing: bool,
}

impl DirectionSwitches {
    /// New and changed items, no deletions, no overwrite.
    pub const NEW_AND_CHANGED: DirectionSwitches = DirectionSwitches {
        overwrite_completely: false,
        transfer_new: true,
        transfer_changed: true,
        delete_missing: false,
    };

    /// Whether the direction transfers anything at all.
    pub fn is_active(self) -> bool {
        self.overwrite_completely
            || self.transfer_new
            || self.transfer_changed
            || self.delete_missing
    }
}

/// Whom a rule targets, as one comparable value (names compare case-insensitively).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RuleTarget {
    /// Every user.
    AllUsers,
    /// One user (lower-cased name).
    User(String),
    /// One group (lower-cased name).
    Group(String),
}

/// A sync rule ("EWS preferences"): the rule an administrator configures for a table (who,
/// which folder, which records, the switches per direction, the master).
///
/// The sync engine does not read it: conaktiv-exchange converts it into sync-core's `Policy`
/// (the engine's switches, master and mass-delete guard thresholds) with
/// `conaktiv_exchange::service::engine_policy`, ConAktiv being the engine's local side and
/// Exchange its remote side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRule {
    /// Unique short description ("Kontakte Vertrieb").
    pub description: String,
    /// All users, one user or one group.
    #[serde(default)]
    pub validity: Validity,
    /// The user or group name (for `user` and `group` validity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_name: Option<String>,
    /// The ConAktiv table.
    pub table: SyncTable,
    /// Which side wins a conflict.
    pub master: Master,
    /// The Exchange folders to synchronise.
    #[serde(default)]
    pub sync_folders: Vec<SyncFolder>,
    /// The folder new ConAktiv items go to; must lie inside the sync folders. `None` means
    /// the first sync folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_items_folder: Option<FolderPath>,
    /// The ConAktiv filter: an expression the host evaluates (empty: everything).
    #[serde(default)]
    pub filter: String,
    /// Switches for ConAktiv to Exchange.
    #[serde(default)]
    pub to_exchange: DirectionSwitches,
    /// Switches for Exchange to ConAktiv.
    #[serde(default)]
    pub to_conaktiv: DirectionSwitches,
}

impl SyncRule {
    /// A rule for all users with the given folders, new and changed items in both directions.
    pub fn new(
        description: impl Into<String>,
        table: SyncTable,
        master: Master,
        sync_folders: Vec<SyncFolder>,
    ) -> Self {
        Self {
            description: description.into(),
            validity: Validity::AllUsers,
            validity_name: None,
            table,
            master,
            sync_folders,
            new_items_folder: None,
            filter: String::new(),
            to_exchange: DirectionSwitches::NEW_AND_CHANGED,
            to_conaktiv: DirectionSwitches::NEW_AND_CHANGED,
        }
    }

    /// Whom the rule targets.
    pub fn target(&self) -> RuleTarget {
        let name = || {
            self.validity_name
                .as_deref()
                .unwrap_or_default()
                .trim()
                .to_lowercase()
        };
        match self.validity {
            Validity::AllUsers => RuleTarget::AllUsers,
            Validity::User => RuleTarget::User(name()),
            Validity::Group => RuleTarget::Group(name()),
        }
    }

    /// Whether the rule applies to `user`, a member of `groups`.
    pub fn applies_to(&self, user: &UserName, groups: &[GroupName]) -> bool {
        match self.target() {
            RuleTarget::AllUsers => true,
            RuleTarget::User(name) => user.as_str().to_lowercase() == name,
            RuleTarget::Group(name) => groups.iter().any(|g| g.as_str().to_lowercase() == name),
        }
    }

    /// The folder new ConAktiv items go to: the configured one, or the first sync folder.
    pub fn effective_new_items_folder(&self) -> Option<&FolderPath> {
        self.new_items_folder
            .as_ref()
            .or_else(|| self.sync_folders.first().map(|f| &f.path))
    }

    /// Whether `folder` lies inside the rule's sync folders.
    pub fn covers(&self, folder: &FolderPath) -> bool {
        self.sync_folders.iter().any(|f| f.covers(folder))
    }
}
