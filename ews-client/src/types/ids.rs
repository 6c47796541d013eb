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
    /// The well-known folders of a mailbox (`t:DistinguishedFolderId/@Id`): every value of the
    /// schema's `t:DistinguishedFolderIdNameType` (in schema order), then the further names
    /// Exchange Online (15.20) accepts, which clients such as exchangelib ask for.
    DistinguishedFolderName {
        /// Calendar (`calendar`).
        Calendar = "calendar",
        /// Contacts (`contacts`).
        Contacts = "contacts",
        /// Deleted Items (`deleteditems`).
        DeletedItems = "deleteditems",
        /// Drafts (`drafts`).
        Drafts = "drafts",
        /// Inbox (`inbox`).
        Inbox = "inbox",
        /// Journal (`journal`).
        Journal = "journal",
        /// Notes (`notes`).
        Notes = "notes",
        /// Outbox (`outbox`).
        Outbox = "outbox",
        /// Sent Items (`sentitems`).
        SentItems = "sentitems",
        /// Tasks (`tasks`).
        Tasks = "tasks",
        /// Top of Information Store (`msgfolderroot`).
        MsgFolderRoot = "msgfolderroot",
        /// Public Folders (`publicfoldersroot`).
        PublicFoldersRoot = "publicfoldersroot",
        /// Root (`root`).
        Root = "root",
        /// Junk Email (`junkemail`).
        JunkEmail = "junkemail",
        /// Finder (`searchfolders`).
        SearchFolders = "searchfolders",
        /// Voice Mail (`voicemail`).
        VoiceMail = "voicemail",
        /// Recoverable Items (`recoverableitemsroot`).
        RecoverableItemsRoot = "recoverableitemsroot",
        /// Deletions (`recoverableitemsdeletions`).
        RecoverableItemsDeletions = "recoverableitemsdeletions",
        /// Versions (`recoverableitemsversions`).
        RecoverableItemsVersions = "recoverableitemsversions",
        /// Purges (`recoverableitemspurges`).
        RecoverableItemsPurges = "recoverableitemspurges",
        /// DiscoveryHolds (`recoverableitemsdiscoveryholds`).
        RecoverableItemsDiscoveryHolds = "recoverableitemsdiscoveryholds",
        /// Archive Root (`archiveroot`).
        ArchiveRoot = "archiveroot",
        /// Archive Top of Information Store (`archivemsgfolderroot`).
        ArchiveMsgFolderRoot = "archivemsgfolderroot",
        /// Archive Deleted Items (`archivedeleteditems`).
        ArchiveDeletedItems = "archivedeleteditems",
        /// Archive Inbox (`archiveinbox`).
        ArchiveInbox = "archiveinbox",
        /// Archive Recoverable Items (`archiverecoverableitemsroot`).
        ArchiveRecoverableItemsRoot = "archiverecoverableitemsroot",
        /// Archive Deletions (`archiverecoverableitemsdeletions`).
        ArchiveRecoverableItemsDeletions = "archiverecoverableitemsdeletions",
        /// Archive Versions (`archiverecoverableitemsversions`).
        ArchiveRecoverableItemsVersions = "archiverecoverableitemsversions",
        /// Archive Purges (`archiverecoverableitemspurges`).
        ArchiveRecoverableItemsPurges = "archiverecoverableitemspurges",
        /// Archive DiscoveryHolds (`archiverecoverableitemsdiscoveryholds`).
        ArchiveRecoverableItemsDiscoveryHolds = "archiverecoverableitemsdiscoveryholds",
        /// Sync Issues (`syncissues`).
        SyncIssues = "syncissues",
        /// Conflicts (`conflicts`).
        Conflicts = "conflicts",
        /// Local Failures (`localfailures`).
        LocalFailures = "localfailures",
        /// Server Failures (`serverfailures`).
        ServerFailures = "serverfailures",
        /// Recipient Cache (`recipientcache`).
        RecipientCache = "recipientcache",
        /// Quick Contacts (`quickcontacts`).
        QuickContacts = "quickcontacts",
        /// Conversation History (`conversationhistory`).
        ConversationHistory = "conversationhistory",
        /// AdminAuditLogs (`adminauditlogs`).
        AdminAuditLogs = "adminauditlogs",
        /// To-Do Search (`todosearch`).
        ToDoSearch = "todosearch",
        /// My Contacts (`mycontacts`).
        MyContacts = "mycontacts",
        /// Directory (`directory`).
        Directory = "directory",
        /// IM Contact List (`imcontactlist`).
        ImContactList = "imcontactlist",
        /// PeopleConnect (`peopleconnect`).
        PeopleConnect = "peopleconnect",
        /// Favorites (`favorites`).
        Favorites = "favorites",
        /// Me Contact (`mecontact`).
        MeContact = "mecontact",
        /// PersonMetadata (`personmetadata`).
        PersonMetadata = "personmetadata",
        /// TeamSpaceActivity (`teamspaceactivity`).
        TeamSpaceActivity = "teamspaceactivity",
        /// TeamSpaceMessaging (`teamspacemessaging`).
        TeamSpaceMessaging = "teamspacemessaging",
        /// TeamSpaceWorkItems (`teamspaceworkitems`).
        TeamSpaceWorkItems = "teamspaceworkitems",
        /// Scheduled (`scheduled`).
        Scheduled = "scheduled",
        /// OrionNotes (`orionnotes`).
        OrionNotes = "orionnotes",
        /// TagItems (`tagitems`).
        TagItems = "tagitems",
        /// AllTaggedItems (`alltaggeditems`).
        AllTaggedItems = "alltaggeditems",
        /// AllCategorizedItems (`allcategorizeditems`).
        AllCategorizedItems = "allcategorizeditems",
        /// ExternalContacts (`externalcontacts`).
        ExternalContacts = "externalcontacts",
        /// TeamChat (`teamchat`).
        TeamChat = "teamchat",
        /// TeamChatHistory (`teamchathistory`).
        TeamChatHistory = "teamchathistory",
        /// Yammer Root (`yammerdata`).
        YammerData = "yammerdata",
        /// Yammer Root (`yammerroot`).
        YammerRoot = "yammerroot",
        /// Inbound (`yammerinbound`).
        YammerInbound = "yammerinbound",
        /// Outbound (`yammeroutbound`).
        YammerOutbound = "yammeroutbound",
        /// Feeds (`yammerfeeds`).
        YammerFeeds = "yammerfeeds",
        /// KaizalaData (`kaizaladata`).
        KaizalaData = "kaizaladata",
        /// MessageIngestion (`messageingestion`).
        MessageIngestion = "messageingestion",
        /// OneDriveRoot (`onedriveroot`).
        OneDriveRoot = "onedriveroot",
        /// OneDriveRecycleBin (`onedriverecylebin`).
        OneDriveRecycleBin = "onedriverecylebin",
        /// OneDriveSystem (`onedrivesystem`).
        OneDriveSystem = "onedrivesystem",
        /// OneDriveVolume (`onedrivevolume`).
        OneDriveVolume = "onedrivevolume",
        /// Important (`important`).
        Important = "important",
        /// Starred (`starred`).
        Starred = "starred",
        /// Archive (`archive`).
        Archive = "archive",
        // Exchange Online (15.20) names beyond the vendored 2018 schema, which clients such as
        // exchangelib send to a 15.20 server; requests naming them do not validate against
        // `ews-client/schema`.
        /// AllContacts (`allcontacts`; Exchange Online only, not in the vendored schema).
        AllContacts = "allcontacts",
        /// AllItems (`allitems`; Exchange Online only, not in the vendored schema).
        AllItems = "allitems",
        /// AllPersonMetadata (`allpersonmetadata`; Exchange Online only, not in the vendored schema).
        AllPersonMetadata = "allpersonmetadata",
        /// Companies (`companycontacts`; Exchange Online only, not in the vendored schema).
        CompanyContacts = "companycontacts",
        /// DlpPolicyEvaluation (`dlppolicyevaluation`; Exchange Online only, not in the vendored schema).
        DlpPolicyEvaluation = "dlppolicyevaluation",
        /// From Favorite Senders (`fromfavoritesenders`; Exchange Online only, not in the vendored schema).
        FromFavoriteSenders = "fromfavoritesenders",
        /// Inference (`inference`; Exchange Online only, not in the vendored schema).
        Inference = "inference",
        /// OneNotePagePreviews (`onenotepagepreviews`; Exchange Online only, not in the vendored schema).
        OneNotePagePreviews = "onenotepagepreviews",
        /// PeopleCentricConversation Buddies (`peoplecentricconversationbuddies`; Exchange Online only, not in the vendored schema).
        PeopleCentricConversationBuddies = "peoplecentricconversationbuddies",
        /// QedcDefaultRetention (`qedcdefaultretention`; Exchange Online only, not in the vendored schema).
        QedcDefaultRetention = "qedcdefaultretention",
        /// QedcLongRetention (`qedclongretention`; Exchange Online only, not in the vendored schema).
        QedcLongRetention = "qedclongretention",
        /// QedcMediumRetention (`qedcmediumretention`; Exchange Online only, not in the vendored schema).
        QedcMediumRetention = "qedcmediumretention",
        /// QedcShortRetention (`qedcshortretention`; Exchange Online only, not in the vendored schema).
        QedcShortRetention = "qedcshortretention",
        /// QuarantinedEmail (`quarantinedemail`; Exchange Online only, not in the vendored schema).
        QuarantinedEmail = "quarantinedemail",
        /// QuarantinedEmailDefaultCategory (`quarantinedemaildefaultcategory`; Exchange Online only, not in the vendored schema).
        QuarantinedEmailDefaultCategory = "quarantinedemaildefaultcategory",
        /// SubstrateHolds (`recoverableitemssubstrateholds`; Exchange Online only, not in the vendored schema).
        RecoverableItemsSubstrateHolds = "recoverableitemssubstrateholds",
        /// RelevantContacts (`relevantcontacts`; Exchange Online only, not in the vendored schema).
        RelevantContacts = "relevantcontacts",
        /// SharePointNotifications (`sharepointnotifications`; Exchange Online only, not in the vendored schema).
        SharePointNotifications = "sharepointnotifications",
        /// ShortNotes (`shortnotes`; Exchange Online only, not in the vendored schema).
        ShortNotes = "shortnotes",
        /// TemporarySaves (`temporarysaves`; Exchange Online only, not in the vendored schema).
        TemporarySaves = "temporarysaves",
        /// UserCuratedContacts (`usercuratedcontacts`; Exchange Online only, not in the vendored schema).
        UserCuratedContacts = "usercuratedcontacts",
    }
}

impl DistinguishedFolderName {
    /// The display name Exchange gives the folder in an English mailbox.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Calendar => "Calendar",
            Self::Contacts => "Contacts",
            Self::DeletedItems => "Deleted Items",
            Self::Drafts => "Drafts",
            Self::Inbox => "Inbox",
            Self::Journal => "Journal",
            Self::Notes => "Notes",
            Self::Outbox => "Outbox",
            Self::SentItems => "Sent Items",
            Self::Tasks => "Tasks",
            Self::MsgFolderRoot => "Top of Information Store",
            Self::PublicFoldersRoot => "Public Folders",
            Self::Root => "Root",
            Self::JunkEmail => "Junk Email",
            Self::SearchFolders => "Finder",
            Self::VoiceMail => "Voice Mail",
            Self::RecoverableItemsRoot => "Recoverable Items",
            Self::RecoverableItemsDeletions => "Deletions",
            Self::RecoverableItemsVersions => "Versions",
            Self::RecoverableItemsPurges => "Purges",
            Self::RecoverableItemsDiscoveryHolds => "DiscoveryHolds",
            Self::ArchiveRoot => "Archive Root",
            Self::ArchiveMsgFolderRoot => "Archive Top of Information Store",
            Self::ArchiveDeletedItems => "Archive Deleted Items",
            Self::ArchiveInbox => "Archive Inbox",
            Self::ArchiveRecoverableItemsRoot => "Archive Recoverable Items",
            Self::ArchiveRecoverableItemsDeletions => "Archive Deletions",
            Self::ArchiveRecoverableItemsVersions => "Archive Versions",
            Self::ArchiveRecoverableItemsPurges => "Archive Purges",
            Self::ArchiveRecoverableItemsDiscoveryHolds => "Archive DiscoveryHolds",
            Self::SyncIssues => "Sync Issues",
            Self::Conflicts => "Conflicts",
            Self::LocalFailures => "Local Failures",
            Self::ServerFailures => "Server Failures",
            Self::RecipientCache => "Recipient Cache",
            Self::QuickContacts => "Quick Contacts",
            Self::ConversationHistory => "Conversation History",
            Self::AdminAuditLogs => "AdminAuditLogs",
            Self::ToDoSearch => "To-Do Search",
            Self::MyContacts => "My Contacts",
            Self::Directory => "Directory",
            Self::ImContactList => "IM Contact List",
            Self::PeopleConnect => "PeopleConnect",
            Self::Favorites => "Favorites",
            Self::MeContact => "Me Contact",
            Self::PersonMetadata => "PersonMetadata",
            Self::TeamSpaceActivity => "TeamSpaceActivity",
            Self::TeamSpaceMessaging => "TeamSpaceMessaging",
            Self::TeamSpaceWorkItems => "TeamSpaceWorkItems",
            Self::Scheduled => "Scheduled",
            Self::OrionNotes => "OrionNotes",
            Self::TagItems => "TagItems",
            Self::AllTaggedItems => "AllTaggedItems",
            Self::AllCategorizedItems => "AllCategorizedItems",
            Self::ExternalContacts => "ExternalContacts",
            Self::TeamChat => "TeamChat",
            Self::TeamChatHistory => "TeamChatHistory",
            Self::YammerData => "Yammer Root",
            Self::YammerRoot => "Yammer Root",
            Self::YammerInbound => "Inbound",
            Self::YammerOutbound => "Outbound",
            Self::YammerFeeds => "Feeds",
            Self::KaizalaData => "KaizalaData",
            Self::MessageIngestion => "MessageIngestion",
            Self::OneDriveRoot => "OneDriveRoot",
            Self::OneDriveRecycleBin => "OneDriveRecycleBin",
            Self::OneDriveSystem => "OneDriveSystem",
            Self::OneDriveVolume => "OneDriveVolume",
            Self::Important => "Important",
            Self::Starred => "Starred",
            Self::Archive => "Archive",
            Self::AllContacts => "AllContacts",
            Self::AllItems => "AllItems",
            Self::AllPersonMetadata => "AllPersonMetadata",
            Self::CompanyContacts => "Companies",
            Self::DlpPolicyEvaluation => "DlpPolicyEvaluation",
            Self::FromFavoriteSenders => "From Favorite Senders",
            Self::Inference => "Inference",
            Self::OneNotePagePreviews => "OneNotePagePreviews",
            Self::PeopleCentricConversationBuddies => "PeopleCentricConversation Buddies",
            Self::QedcDefaultRetention => "QedcDefaultRetention",
            Self::QedcLongRetention => "QedcLongRetention",
            Self::QedcMediumRetention => "QedcMediumRetention",
            Self::QedcShortRetention => "QedcShortRetention",
            Self::QuarantinedEmail => "QuarantinedEmail",
            Self::QuarantinedEmailDefaultCategory => "QuarantinedEmailDefaultCategory",
            Self::RecoverableItemsSubstrateHolds => "SubstrateHolds",
            Self::RelevantContacts => "RelevantContacts",
            Self::SharePointNotifications => "SharePointNotifications",
            Self::ShortNotes => "ShortNotes",
            Self::TemporarySaves => "TemporarySaves",
            Self::UserCuratedContacts => "UserCuratedContacts",
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
        r.required(start, found, "FolderId or DistinguishedFolderId")
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
    fn distinguished_names_are_the_schema_values_then_exchange_online_ones() {
        let xsd = include_str!("../../schema/types.xsd");
        let start = xsd.find("name=\"DistinguishedFolderIdNameType\"").unwrap();
        let end = start + xsd[start..].find("</xs:simpleType>").unwrap();
        let schema: Vec<&str> = xsd[start..end]
            .split("value=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert!(schema.contains(&"allcategorizeditems"), "{schema:?}");
        let ours: Vec<&str> = DistinguishedFolderName::ALL
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(&ours[..schema.len()], &schema[..]);
        // the Exchange Online extras exchangelib asks a 15.20 server for
        for extra in ["allcontacts", "allitems", "usercuratedcontacts"] {
            assert!(ours[schema.len()..].contains(&extra), "{extra}");
        }
        for name in DistinguishedFolderName::ALL {
            assert!(!name.display_name().is_empty(), "{name}");
        }
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
