//! `UpdateFolder`: sets, appends to or deletes folder properties (rename, folder class,
//! extended properties).

use super::common::FolderInfo;
use crate::operation::Operation;
use crate::types::folder::Folder;
use crate::types::ids::BaseFolderId;
use crate::types::paths::PropertyPath;
use crate::types::response::ResponseMessages;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// One change to a folder (`t:SetFolderField`, `t:AppendToFolderField`,
/// `t:DeleteFolderField`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderChangeDescription {
    /// Sets the property at `path` to its value in `folder`.
    Set {
        /// The property.
        path: PropertyPath,
        /// A folder holding the new value.
        folder: Folder,
    },
    /// Appends the value in `folder` to the property at `path`.
    Append {
        /// The property.
        path: PropertyPath,
        /// A folder holding the value to append.
        folder: Folder,
    },
    /// Deletes the property at `path`.
    Delete {
        /// The property.
        path: PropertyPath,
    },
}

impl FolderChangeDescription {
    fn element(&self) -> &'static str {
        match self {
            FolderChangeDescription::Set { .. } => "SetFolderField",
            FolderChangeDescription::Append { .. } => "AppendToFolderField",
            FolderChangeDescription::Delete { .. } => "DeleteFolderField",
        }
    }

    /// The property the change is about.
    pub fn path(&self) -> &PropertyPath {
        match self {
            FolderChangeDescription::Set { path, .. }
            | FolderChangeDescription::Append { path, .. }
            | FolderChangeDescription::Delete { path } => path,
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        w.element(Ns::Types, self.element(), |w| {
            self.path().write(w);
            match self {
                FolderChangeDescription::Set { folder, .. }
                | FolderChangeDescription::Append { folder, .. } => folder.write(w),
                FolderChangeDescription::Delete { .. } => {}
            }
        });
    }

    fn try_read<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Option<Self>, XmlError> {
        if start.ns() != Ns::Types {
            return Ok(None);
        }
        let kind = match start.local() {
            k @ ("SetFolderField" | "AppendToFolderField" | "DeleteFolderField") => k,
            _ => return Ok(None),
        };
        let mut path = None;
        let mut folder = None;
        while let Some(c) = r.next_child(start)? {
            if let Some(p) = PropertyPath::try_read(r, &c)? {
                path = Some(p);
            } else if let Some(f) = Folder::try_read(r, &c)? {
                folder = Some(f);
            } else {
                r.skip(&c)?;
            }
        }
        let path = r.required(start, path, "FieldURI")?;
        Ok(Some(match kind {
            "DeleteFolderField" => FolderChangeDescription::Delete { path },
            "SetFolderField" => FolderChangeDescription::Set {
                path,
                folder: r.required(start, folder, "Folder")?,
            },
            _ => FolderChangeDescription::Append {
                path,
                folder: r.required(start, folder, "Folder")?,
            },
        }))
    }
}

/// The changes to one folder (`t:FolderChange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderChange {
    /// The folder.
    pub folder_id: BaseFolderId,
    /// What changes, in order.
    pub updates: Vec<FolderChangeDescription>,
}

impl WriteXml for FolderChange {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.folder_id.write(w);
            w.element(Ns::Types, "Updates", |w| {
                for u in &self.updates {
                    u.write(w);
                }
            });
        });
    }
}

impl ReadXml for FolderChange {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut folder_id = None;
        let mut updates = None;
        while let Some(c) = r.next_child(start)? {
            if let Some(id) = BaseFolderId::try_read(r, &c)? {
                folder_id = Some(id);
            } else if c.is(Ns::Types, "Updates") {
                let mut list = Vec::new();
                while let Some(u) = r.next_child(&c)? {
                    match FolderChangeDescription::try_read(r, &u)? {
                        Some(d) => list.push(d),
                        None => r.skip(&u)?,
                    }
                }
                updates = Some(list);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            folder_id: r.required(start, folder_id, "FolderId")?,
            updates: r.required(start, updates, "Updates")?,
        })
    }
}

/// `m:UpdateFolder`: one response message (with the folder's id and new change key) per
/// folder change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFolder {
    /// The changes, one per folder.
    pub folder_changes: Vec<FolderChange>,
}

impl UpdateFolder {
    /// Renames one folder (`SetFolderField` of `folder:DisplayName`).
    pub fn rename(folder_id: impl Into<BaseFolderId>, display_name: impl Into<String>) -> Self {
        let display_name = display_name.into();
        Self {
            folder_changes: vec![FolderChange {
                folder_id: folder_id.into(),
                updates: vec![FolderChangeDescription::Set {
                    path: PropertyPath::field("folder:DisplayName"),
                    folder: Folder {
                        display_name: Some(display_name),
                        ..Folder::default()
                    },
                }],
            }],
        }
    }
}

impl Operation for UpdateFolder {
    const NAME: &'static str = "UpdateFolder";
    type Response = ResponseMessages<FolderInfo>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.folder_changes.len())
    }

    fn validate(&self) -> Result<(), String> {
        if self.folder_changes.is_empty() {
            return Err("UpdateFolder: at least one folder change is required".to_owned());
        }
        if self.folder_changes.iter().any(|c| c.updates.is_empty()) {
            return Err("UpdateFolder: every folder change needs at least one update".to_owned());
        }
        Ok(())
    }

    /// Setting and deleting are idempotent; appending is not.
    fn idempotent(&self) -> bool {
        !self.folder_changes.iter().any(|c| {
            c.updates
                .iter()
                .any(|u| matches!(u, FolderChangeDescription::Append { .. }))
        })
    }
}

impl WriteXml for UpdateFolder {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.element(Ns::Messages, "FolderChanges", |w| {
                for c in &self.folder_changes {
                    c.write_xml(w, Ns::Types, "FolderChange");
                }
            });
        });
    }
}

impl ReadXml for UpdateFolder {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut changes = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "FolderChanges") {
                let mut list = Vec::new();
                while let Some(fc) = r.next_child(&c)? {
                    if fc.is(Ns::Types, "FolderChange") {
                        list.push(FolderChange::read_xml(r, &fc)?);
                    } else {
                        r.skip(&fc)?;
                    }
                }
                changes = Some(list);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            folder_changes: r.required(start, changes, "FolderChanges")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ids::FolderId;

    #[test]
    fn validation_and_idempotence() {
        let mut op = UpdateFolder::rename(FolderId::new("F"), "New");
        assert!(op.validate().is_ok());
        assert!(op.idempotent());
        op.folder_changes[0]
            .updates
            .push(FolderChangeDescription::Append {
                path: PropertyPath::field("folder:PermissionSet"),
                folder: Folder::default(),
            });
        assert!(!op.idempotent());
        op.folder_changes[0].updates.clear();
        assert!(op.validate().is_err());
        assert!(
            UpdateFolder {
                folder_changes: vec![]
            }
            .validate()
            .is_err()
        );
    }
}
