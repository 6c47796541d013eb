//! Item and folder ids (`t:ItemId`, `t:FolderId`, `t:DistinguishedFolderId`).

use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use std::borrow::Cow;

/// An item's opaque id and change key (`t:ItemId`). The id is stable while the item stays in
/// its folder; the change key changes with every modification.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ItemId {
    /// The opaque id.
    pub id: String,
    /// The change key, when known; needed for optimistic concurrency in `UpdateItem`.
    pub change_key: Option<String>,
}

impl ItemId {
    /// An id without a change key.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            change_key: None,
        }
    }

    /// An id with a change key.
    pub fn with_change_key(id: impl Into<String>, change_key: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            change_key: Some(change_key.into()),
        }
    }
}

impl WriteXml for ItemId {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr("Id", &self.id)
            .attr_opt("ChangeKey", self.change_key.as_ref())
            .empty();
    }
}

impl ReadXml for ItemId {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let id = start.required_attr(r, "Id")?.into_owned();
        let change_key = start.attr("ChangeKey")?.map(Cow::into_owned);
        r.skip(start)?;
        Ok(Self { id, change_key })
    }
}

/// A folder's opaque id and change key (`t:FolderId`). Folder ids are stable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FolderId {
    /// The opaque id.
    pub id: String,
    /// The change key, when known.
    pub change_key: Option<String>,
}

impl FolderId {
    /// An id without a change key.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            change_key: None,
        }
    }
}

impl WriteXml for FolderId {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr("Id", &self.id)
            .attr_opt("ChangeKey", self.change_key.as_ref())
            .empty();
    }
}

impl ReadXml for FolderId {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let id = start.required_attr(r, "Id")?.into_owned();
        let change_key = start.attr("ChangeKey")?.map(Cow::into_owned);
        r.skip(start)?;
        Ok(Self { id, change_key })
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The schema spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err(format!(concat!("unknown ", stringify!($name), " {:?}"), other)),
                }
            }
        }

        impl $crate::xml::XmlValue for $name {
            fn to_xml_value(&self) -> std::borrow::Cow<'_, str> {
                std::borrow::Cow::Borrowed(self.as_str())
            }
            fn from_xml_value(text: &str) -> Result<Self, String> {
                text.trim().parse()
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// The well-known folders of a mailbox (`t:DistinguishedFolderId/@Id`).
    DistinguishedFolderName {
        /// The root of the mailbox's folder tree that users see.
        MsgFolderRoot = "msgfolderroot",
        /// The very root of the mailbox.
        Root = "root",
        /// Inbox.
        Inbox = "inbox",
        /// Sent Items.
        SentItems = "sentitems",
        /// Drafts.
        Drafts = "drafts",
        /// Deleted Items.
        DeletedItems = "deleteditems",
        /// Outbox.
        Outbox = "outbox",
        /// Contacts.
        Contacts = "contacts",
        /// Calendar.
        Calendar = "calendar",
        /// Tasks.
        Tasks = "tasks",
        /// Notes.
        Notes = "notes",
        /// Journal.
        Journal = "journal",
        /// Junk E-mail.
        JunkEmail = "junkemail",
    }
}

impl DistinguishedFolderName {
    /// The display name Exchange gives the folder in an English mailbox.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::MsgFolderRoot => "Top of Information Store",
            Self::Root => "Root",
            Self::Inbox => "Inbox",
            Self::SentItems => "Sent Items",
            Self::Drafts => "Drafts",
            Self::DeletedItems => "Deleted Items",
            Self::Outbox => "Outbox",
            Self::Contacts => "Contacts",
            Self::Calendar => "Calendar",
            Self::Tasks => "Tasks",
            Self::Notes => "Notes",
            Self::Journal => "Journal",
            Self::JunkEmail => "Junk Email",
        }
    }
}

/// A well-known folder, optionally in another mailbox (`t:DistinguishedFolderId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistinguishedFolderId {
    /// Which folder.
    pub name: DistinguishedFolderName,
    /// The mailbox (SMTP address) when it is not the caller's or impersonated mailbox.
    pub mailbox: Option<String>,
}

impl WriteXml for DistinguishedFolderId {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let tag = w.start(ns, name).attr("Id", self.name.as_str());
        match &self.mailbox {
            None => tag.empty(),
            Some(address) => tag.children(|w| {
                w.element(Ns::Types, "Mailbox", |w| {
                    w.text_element(Ns::Types, "EmailAddress", address);
                });
            }),
        }
    }
}

impl ReadXml for DistinguishedFolderId {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let name = start.required_attr_value::<DistinguishedFolderName>(r, "Id")?;
        let mut mailbox = None;
        while let Some(child) = r.next_child(start)? {
            if child.is(Ns::Types, "Mailbox") {
                while let Some(m) = r.next_child(&child)? {
                    if m.is(Ns::Types, "EmailAddress") {
                        mailbox = Some(r.text(&m)?.into_owned());
                    } else {
                        r.skip(&m)?;
                    }
                }
            } else {
                r.skip(&child)?;
            }
        }
        Ok(Self { name, mailbox })
    }
}

/// A folder named either by id or as a distinguished folder (`t:NonEmptyArrayOfBaseFolderIdsType`
/// members, `t:TargetFolderIdType` content).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseFolderId {
    /// A folder by its id.
    Id(FolderId),
    /// A well-known folder.
    Distinguished(DistinguishedFolderId),
}

impl From<FolderId> for BaseFolderId {
    fn from(id: FolderId) -> Self {
        BaseFolderId::Id(id)
    }
}

impl From<DistinguishedFolderName> for BaseFolderId {
    fn from(name: DistinguishedFolderName) -> Self {
        BaseFolderId::Distinguished(DistinguishedFolderId {
            name,
            mailbox: None,
        })
    }
}

impl BaseFolderId {
    /// Writes the id as a `t:FolderId` or `t:DistinguishedFolderId` element (the element name
    /// carries the choice, so the parent's name is not used).
    pub fn write(&self, w: &mut XmlWriter) {
        match self {
            BaseFolderId::Id(id) => id.write_xml(w, Ns::Types, "FolderId"),
            BaseFolderId::Distinguished(d) => d.write_xml(w, Ns::Types, "DistinguishedFolderId"),
        }
    }

    /// Reads a `t:FolderId` or `t:DistinguishedFolderId` element; `None` for other elements
    /// (which are left unread).
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Self>, XmlError> {
        if start.is(Ns::Types, "FolderId") {
            Ok(Some(BaseFolderId::Id(FolderId::read_xml(r, start)?)))
        } else if start.is(Ns::Types, "DistinguishedFolderId") {
            Ok(Some(BaseFolderId::Distinguished(
                DistinguishedFolderId::read_xml(r, start)?,
            )))
        } else {
            Ok(None)
        }
    }
}

/// A folder wrapper element (`SavedItemFolderId`, `ParentFolderId`, `ToFolderId`, ...) whose
/// single child is a `t:FolderId` or `t:DistinguishedFolderId`.
impl WriteXml for BaseFolderId {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name).children(|w| self.write(w));
    }
}

impl ReadXml for BaseFolderId {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut found = None;
        while let Some(child) = r.next_child(start)? {
            match BaseFolderId::try_read(r, &child)? {
                Some(id) if found.is_none() => found = Some(id),
                _ => r.skip(&child)?,
            }
        }
        found.ok_or_else(|| r.missing(start, "FolderId or DistinguishedFolderId"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: WriteXml + ReadXml + PartialEq + std::fmt::Debug>(value: &T, name: &str) {
        let mut w = XmlWriter::new();
        w.start_root(Ns::Messages, "Root").open();
        value.write_xml(&mut w, Ns::Types, name);
        w.end(Ns::Messages, "Root");
        let bytes = w.into_bytes();
        let mut r = XmlReader::new(&bytes);
        let root = r.root().unwrap();
        let child = r.next_child(&root).unwrap().unwrap();
        let back = T::read_xml(&mut r, &child).unwrap();
        assert_eq!(&back, value);
        assert!(r.next_child(&root).unwrap().is_none());
    }

    #[test]
    fn ids_round_trip() {
        round_trip(&ItemId::with_change_key("AAMk=", "CQAAA"), "ItemId");
        round_trip(&ItemId::new("x&y"), "ItemId");
        round_trip(&FolderId::new("F1"), "FolderId");
        round_trip(
            &DistinguishedFolderId {
                name: DistinguishedFolderName::Inbox,
                mailbox: Some("anna@example.com".into()),
            },
            "DistinguishedFolderId",
        );
        round_trip(
            &BaseFolderId::from(DistinguishedFolderName::SentItems),
            "SavedItemFolderId",
        );
        round_trip(&BaseFolderId::from(FolderId::new("F2")), "ParentFolderId");
    }

    #[test]
    fn distinguished_names_parse_and_reject_unknown() {
        for name in DistinguishedFolderName::ALL {
            assert_eq!(
                name.as_str().parse::<DistinguishedFolderName>().unwrap(),
                *name
            );
        }
        let doc = br#"<t:DistinguishedFolderId xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" Id="nowhere"/>"#;
        let mut r = XmlReader::new(doc);
        let root = r.root().unwrap();
        let err = DistinguishedFolderId::read_xml(&mut r, &root).unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
        assert!(
            err.path().ends_with("DistinguishedFolderId/@Id"),
            "{}",
            err.path()
        );
    }
}
