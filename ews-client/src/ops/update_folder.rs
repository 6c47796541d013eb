//! `UpdateFolder`: sets, appends to or deletes folder properties (rename, folder class,
//! extended properties).
//!
//! Microsoft reference: [UpdateFolder operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updatefolder-operation).

use super::common::{
    FieldChange, FieldChangeNames, FolderInfo, read_object_change, write_object_change,
};
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

/// The element names of folder property changes.
const FOLDER_FIELD: FieldChangeNames = FieldChangeNames {
    set: "SetFolderField",
    append: "AppendToFolderField",
    delete: "DeleteFolderField",
    value: "Folder",
};

impl FolderChangeDescription {
    /// The property the change is about.
    pub fn path(&self) -> &PropertyPath {
        match self {
            FolderChangeDescription::Set { path, .. }
            | FolderChangeDescription::Append { path, .. }
            | FolderChangeDescription::Delete { path } => path,
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        let (folder, append) = match self {
            FolderChangeDescription::Set { folder, .. } => (Some(folder), false),
            FolderChangeDescription::Append { folder, .. } => (Some(folder), true),
            FolderChangeDescription::Delete { .. } => (None, false),
        };
        FOLDER_FIELD.write(w, self.path(), folder, append, Folder::write);
    }

    fn try_read<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Option<Self>, XmlError> {
        Ok(FOLDER_FIELD
            .try_read(r, start, Folder::try_read)?
            .map(|change| match change {
                FieldChange::Set(path, folder) => FolderChangeDescription::Set { path, folder },
                FieldChange::Append(path, folder) => {
                    FolderChangeDescription::Append { path, folder }
                }
                FieldChange::Delete(path) => FolderChangeDescription::Delete { path },
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
        let write_id = |w: &mut XmlWriter| self.folder_id.write(w);
        write_object_change(
            w,
            ns,
            name,
            write_id,
            &self.updates,
            FolderChangeDescription::write,
        );
    }
}

impl ReadXml for FolderChange {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let (folder_id, updates) = read_object_change(
            r,
            start,
            "FolderId",
            BaseFolderId::try_read,
            FolderChangeDescription::try_read,
        )?;
        Ok(Self { folder_id, updates })
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
