//! Folders (`t:Folder`, `t:CalendarFolder`, `t:ContactsFolder`, `t:SearchFolder`,
//! `t:TasksFolder`).

use super::ids::{FolderId, string_enum};
use super::paths::ExtendedProperty;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// Which folder element a folder is written as; the element name carries the kind.
    #[derive(Default)]
    FolderKind {
        /// `t:Folder` (mail and generic folders).
        #[default]
        Folder = "Folder",
        /// `t:CalendarFolder`.
        CalendarFolder = "CalendarFolder",
        /// `t:ContactsFolder`.
        ContactsFolder = "ContactsFolder",
        /// `t:SearchFolder`.
        SearchFolder = "SearchFolder",
        /// `t:TasksFolder`.
        TasksFolder = "TasksFolder",
    }
}

impl FolderKind {
    /// The kind for an element name, if it is a folder element.
    pub fn from_element(local: &str) -> Option<FolderKind> {
        local.parse().ok()
    }

    /// Whether the kind has `t:UnreadCount` (types derived from `t:FolderType`).
    fn has_unread_count(self) -> bool {
        matches!(
            self,
            FolderKind::Folder | FolderKind::SearchFolder | FolderKind::TasksFolder
        )
    }
}

/// A folder with the properties this crate reads and writes (`t:BaseFolderType` and the
/// `UnreadCount` of `t:FolderType`). Unknown properties are skipped when reading.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folder {
    /// The element kind.
    pub kind: FolderKind,
    /// `t:FolderId`.
    pub folder_id: Option<FolderId>,
    /// `t:ParentFolderId`.
    pub parent_folder_id: Option<FolderId>,
    /// `t:FolderClass` (`IPF.Note`, `IPF.Contact`, `IPF.Appointment`, `IPF.Task`, ...).
    pub folder_class: Option<String>,
    /// `t:DisplayName`.
    pub display_name: Option<String>,
    /// `t:TotalCount`: number of items.
    pub total_count: Option<i32>,
    /// `t:ChildFolderCount`.
    pub child_folder_count: Option<i32>,
    /// `t:ExtendedProperty` values.
    pub extended_properties: Vec<ExtendedProperty>,
    /// `t:UnreadCount` (mail, search and task folders).
    pub unread_count: Option<i32>,
}

impl Folder {
    /// A new folder of `kind` named `display_name` (for `CreateFolder`).
    pub fn new(kind: FolderKind, display_name: impl Into<String>) -> Self {
        Self {
            kind,
            display_name: Some(display_name.into()),
            ..Self::default()
        }
    }

    /// A new folder with an explicit folder class (e.g. `IPF.Contact` in a `t:Folder`).
    pub fn with_class(mut self, folder_class: impl Into<String>) -> Self {
        self.folder_class = Some(folder_class.into());
        self
    }

    /// Writes the folder as the element of its kind (`t:Folder`, `t:ContactsFolder`, ...).
    pub fn write(&self, w: &mut XmlWriter) {
        self.write_xml(w, Ns::Types, self.kind.as_str());
    }

    /// Reads a folder element of any kind; `None` (element left unread) for other elements.
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Self>, XmlError> {
        if start.ns() != Ns::Types {
            return Ok(None);
        }
        match FolderKind::from_element(start.local()) {
            Some(_) => Ok(Some(Folder::read_xml(r, start)?)),
            None => Ok(None),
        }
    }

    /// Reads the folder children of an array element (`t:Folders`), skipping others.
    pub fn read_list<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Vec<Self>, XmlError> {
        let mut out = Vec::new();
        while let Some(child) = r.next_child(start)? {
            match Folder::try_read(r, &child)? {
                Some(f) => out.push(f),
                None => r.skip(&child)?,
            }
        }
        Ok(out)
    }

    /// Writes an array element (`m:Folders`, `t:Folders`) holding `folders`.
    pub fn write_list(w: &mut XmlWriter, ns: Ns, name: &str, folders: &[Folder]) {
        w.element(ns, name, |w| {
            for f in folders {
                f.write(w);
            }
        });
    }
}

/// Writes the folder's fields as `ns:name`; the kind is the caller's choice of `name`
/// (normally [`Folder::write`] picks it).
impl WriteXml for Folder {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.opt_write(Ns::Types, "FolderId", self.folder_id.as_ref());
            w.opt_write(Ns::Types, "ParentFolderId", self.parent_folder_id.as_ref());
            w.opt_value(Ns::Types, "FolderClass", self.folder_class.as_ref());
            w.opt_value(Ns::Types, "DisplayName", self.display_name.as_ref());
            w.opt_value(Ns::Types, "TotalCount", self.total_count.as_ref());
            w.opt_value(
                Ns::Types,
                "ChildFolderCount",
                self.child_folder_count.as_ref(),
            );
            w.write_all(Ns::Types, "ExtendedProperty", &self.extended_properties);
            if self.kind.has_unread_count() {
                w.opt_value(Ns::Types, "UnreadCount", self.unread_count.as_ref());
            }
        });
    }
}

impl ReadXml for Folder {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut f = Folder {
            kind: FolderKind::from_element(start.local()).unwrap_or_default(),
            ..Folder::default()
        };
        while let Some(child) = r.next_child(start)? {
            if child.ns() != Ns::Types {
                r.skip(&child)?;
                continue;
            }
            match child.local() {
                "FolderId" => f.folder_id = Some(FolderId::read_xml(r, &child)?),
                "ParentFolderId" => f.parent_folder_id = Some(FolderId::read_xml(r, &child)?),
                "FolderClass" => f.folder_class = Some(r.text(&child)?.into_owned()),
                "DisplayName" => f.display_name = Some(r.text(&child)?.into_owned()),
                "TotalCount" => f.total_count = Some(r.value(&child)?),
                "ChildFolderCount" => f.child_folder_count = Some(r.value(&child)?),
                "UnreadCount" => f.unread_count = Some(r.value(&child)?),
                "ExtendedProperty" => f
                    .extended_properties
                    .push(ExtendedProperty::read_xml(r, &child)?),
                _ => r.skip(&child)?,
            }
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_kinds_round_trip() {
        let folders = vec![
            Folder {
                folder_id: Some(FolderId::new("F1")),
                parent_folder_id: Some(FolderId::new("P")),
                total_count: Some(3),
                child_folder_count: Some(0),
                unread_count: Some(1),
                ..Folder::new(FolderKind::Folder, "Inbox").with_class("IPF.Note")
            },
            Folder {
                total_count: Some(1000),
                ..Folder::new(FolderKind::ContactsFolder, "Kontakte")
            },
            Folder::new(FolderKind::CalendarFolder, "Calendar"),
            Folder::new(FolderKind::TasksFolder, "Tasks"),
        ];
        let mut w = XmlWriter::new();
        w.start_root(Ns::Types, "Folders").open();
        for f in &folders {
            f.write(&mut w);
        }
        w.end(Ns::Types, "Folders");
        let bytes = w.into_bytes();
        let mut r = XmlReader::new(&bytes);
        let root = r.root().unwrap();
        assert_eq!(Folder::read_list(&mut r, &root).unwrap(), folders);
    }
}
