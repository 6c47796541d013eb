//! Every response the protocol layer writes (what `ews-mock` answers) validates against the
//! vendored EWS schema, and reads back equal.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use chrono::{TimeZone, Utc};
use ews_client::envelope::{ServerVersionInfo, read_response, write_operation_response};
use ews_client::operation::Operation;
use ews_client::ops::*;
use ews_client::schema;
use ews_client::types::contact::{EmailAddressEntry, EmailAddressKey};
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::response::{
    MessageXml, MessageXmlValue, ResponseCode, ResponseMessage, ResponseMessages, ResponseStatus,
};
use ews_client::types::shape::PagingInfo;
use ews_client::types::{
    Contact, EmailAddress, ExtendedFieldUri, ExtendedProperty, FolderId, GenericItem, Item,
    ItemCommon, ItemId, MapiPropertyType, Message,
};

fn info() -> ServerVersionInfo {
    ServerVersionInfo {
        major_version: Some(15),
        minor_version: Some(2),
        major_build_number: Some(1544),
        minor_build_number: Some(4),
        version: Some("V2017_07_11".into()),
    }
}

struct Docs(Vec<(String, Vec<u8>)>);

impl Docs {
    fn add<O: Operation>(&mut self, name: &str, resp: O::Response)
    where
        O::Response: PartialEq + std::fmt::Debug,
    {
        let bytes = write_operation_response::<O>(Some(&info()), &resp);
        let env = read_response::<O>(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(env.server_version, Some(info()), "{name}");
        assert_eq!(env.body.unwrap(), resp, "{name}");
        self.0.push((name.to_owned(), bytes));
    }
}

fn crm_id() -> ExtendedFieldUri {
    ExtendedFieldUri::named(
        "c11ff724-aa03-4555-9952-8fa248a11c3e",
        "ConAktivId",
        MapiPropertyType::String,
    )
}

fn contact(n: u32) -> Item {
    Item::Contact(Contact {
        common: ItemCommon {
            item_id: Some(ItemId::with_change_key(format!("AAMkC{n}="), "EQAAAB")),
            parent_folder_id: Some(FolderId::new("AAMkContacts=")),
            item_class: Some("IPM.Contact".into()),
            subject: Some(format!("Müller {n}")),
            extended_properties: vec![ExtendedProperty::string(crm_id(), format!("contact:{n}"))],
            ..ItemCommon::default()
        },
        display_name: Some(format!("Anna Müller {n}")),
        given_name: Some("Anna".into()),
        company_name: Some("Contoso & Co".into()),
        email_addresses: vec![EmailAddressEntry::new(
            EmailAddressKey::EmailAddress1,
            format!("anna{n}@contoso.com"),
        )],
        ..Contact::default()
    })
}

fn busy<T: Default>() -> ResponseMessage<T> {
    let mut m = ResponseMessage::error(
        ResponseCode::ErrorServerBusy,
        "The server cannot service this request right now. Try again later.",
    );
    m.status.message_xml = MessageXml(vec![MessageXmlValue::named("BackOffMilliseconds", "5000")]);
    m
}

#[test]
fn every_response_validates_against_the_schema() {
    let mut docs = Docs(Vec::new());
    let folder = Folder {
        folder_id: Some(FolderId {
            id: "AAMkF=".into(),
            change_key: Some("AQAAAA==".into()),
        }),
        parent_folder_id: Some(FolderId::new("AAMkRoot=")),
        total_count: Some(12),
        child_folder_count: Some(0),
        unread_count: Some(2),
        ..Folder::new(FolderKind::Folder, "Inbox").with_class("IPF.Note")
    };
    let contacts_folder = Folder {
        folder_id: Some(FolderId::new("AAMkC=")),
        total_count: Some(1000),
        extended_properties: vec![ExtendedProperty::string(crm_id(), "folder")],
        ..Folder::new(FolderKind::ContactsFolder, "Contacts")
    };

    docs.add::<GetFolder>(
        "GetFolder",
        ResponseMessages::new(vec![
            ResponseMessage::success(FolderInfo {
                folders: vec![folder.clone()],
            }),
            ResponseMessage::error(
                ResponseCode::ErrorFolderNotFound,
                "The specified folder could not be found in the store.",
            ),
            busy(),
        ]),
    );
    docs.add::<CreateFolder>(
        "CreateFolder",
        ResponseMessages::new(vec![
            ResponseMessage::success(FolderInfo {
                folders: vec![Folder {
                    folder_id: Some(FolderId::new("AAMkNew=")),
                    ..Folder::default()
                }],
            }),
            ResponseMessage::error(
                ResponseCode::ErrorFolderExists,
                "A folder with the specified name already exists.",
            ),
        ]),
    );
    docs.add::<FindFolder>(
        "FindFolder",
        ResponseMessages::new(vec![ResponseMessage::success(FindFolderResult {
            paging: PagingInfo {
                indexed_paging_offset: Some(2),
                includes_last_item_in_range: Some(true),
                total_items_in_view: Some(2),
            },
            folders: vec![
                folder.clone(),
                contacts_folder.clone(),
                Folder::new(FolderKind::CalendarFolder, "Calendar"),
                Folder::new(FolderKind::TasksFolder, "Tasks"),
            ],
        })]),
    );
    docs.add::<SyncFolderHierarchy>(
        "SyncFolderHierarchy",
        ResponseMessages::new(vec![ResponseMessage::success(SyncFolderHierarchyResult {
            sync_state: Some("H4sIAAAAAAAEAO29B2AcSZY=".into()),
            includes_last_folder_in_range: Some(true),
            changes: vec![
                FolderChange::Create(contacts_folder.clone()),
                FolderChange::Update(folder.clone()),
                FolderChange::Delete(FolderId::new("AAMkGone=")),
            ],
        })]),
    );
    docs.add::<SyncFolderItems>(
        "SyncFolderItems",
        ResponseMessages::new(vec![ResponseMessage::success(SyncFolderItemsResult {
            sync_state: Some("H4sIAAAAAAAEAO29B2AcSZY=".into()),
            includes_last_item_in_range: Some(false),
            changes: vec![
                SyncItemChange::Create(contact(1)),
                SyncItemChange::Update(contact(2)),
                SyncItemChange::Delete(ItemId::new("AAMkDel=")),
                SyncItemChange::ReadFlagChange {
                    item_id: ItemId::new("AAMkRead="),
                    is_read: true,
                },
            ],
        })]),
    );
    docs.add::<SyncFolderItems>(
        "SyncFolderItems invalid sync state",
        ResponseMessages::new(vec![ResponseMessage::error(
            ResponseCode::ErrorInvalidSyncStateData,
            "Synchronization state data is corrupt or otherwise invalid.",
        )]),
    );
    docs.add::<FindItem>(
        "FindItem",
        ResponseMessages::new(vec![ResponseMessage::success(FindItemResult {
            paging: PagingInfo {
                indexed_paging_offset: Some(3),
                includes_last_item_in_range: Some(false),
                total_items_in_view: Some(1200),
            },
            items: vec![
                contact(1),
                Item::Message(Message {
                    common: ItemCommon {
                        item_id: Some(ItemId::new("AAMkM=")),
                        subject: Some("Hello".into()),
                        date_time_received: Some(
                            Utc.with_ymd_and_hms(2026, 5, 1, 9, 30, 0).unwrap(),
                        ),
                        ..ItemCommon::default()
                    },
                    ..Message::default()
                }),
                Item::Generic(GenericItem {
                    common: ItemCommon {
                        item_id: Some(ItemId::new("AAMkG=")),
                        item_class: Some("IPM.Post".into()),
                        ..ItemCommon::default()
                    },
                    ..GenericItem::default()
                }),
            ],
        })]),
    );
    docs.add::<GetItem>(
        "GetItem partial failure",
        ResponseMessages::new(vec![
            ResponseMessage::success(ItemInfo {
                items: vec![contact(1)],
            }),
            ResponseMessage::error(
                ResponseCode::ErrorItemNotFound,
                "The specified object was not found in the store.",
            ),
            ResponseMessage::success(ItemInfo {
                items: vec![contact(3)],
            }),
        ]),
    );
    docs.add::<MoveItem>(
        "MoveItem",
        ResponseMessages::new(vec![ResponseMessage::success(ItemInfo {
            items: vec![Item::Generic(GenericItem {
                common: ItemCommon {
                    item_id: Some(ItemId::new("AAMkMoved=")),
                    ..ItemCommon::default()
                },
                ..GenericItem::default()
            })],
        })]),
    );
    docs.add::<DeleteItem>(
        "DeleteItem",
        ResponseMessages::new(vec![
            ResponseMessage::success(()),
            ResponseMessage::error(ResponseCode::ErrorItemNotFound, "not found"),
            ResponseMessage {
                status: ResponseStatus::warning(
                    ResponseCode::ErrorBatchProcessingStopped,
                    "stopped",
                ),
                content: (),
            },
        ]),
    );
    docs.add::<ResolveNames>(
        "ResolveNames",
        ResponseMessages::new(vec![ResponseMessage {
            status: ResponseStatus::warning(
                ResponseCode::ErrorNameResolutionMultipleResults,
                "Multiple results were found.",
            ),
            content: ResolutionSet {
                paging: PagingInfo {
                    indexed_paging_offset: None,
                    includes_last_item_in_range: Some(true),
                    total_items_in_view: Some(2),
                },
                resolutions: vec![
                    Resolution {
                        mailbox: EmailAddress {
                            name: Some("Anna Müller".into()),
                            email_address: Some("anna@contoso.com".into()),
                            routing_type: Some("SMTP".into()),
                            ..EmailAddress::default()
                        },
                        contact: None,
                    },
                    Resolution {
                        mailbox: EmailAddress {
                            name: Some("Anton Meier".into()),
                            email_address: Some("anton@contoso.com".into()),
                            routing_type: Some("SMTP".into()),
                            ..EmailAddress::default()
                        },
                        contact: match contact(9) {
                            Item::Contact(c) => Some(Contact {
                                common: ItemCommon::default(),
                                ..c
                            }),
                            _ => None,
                        },
                    },
                ],
            },
        }]),
    );

    let refs: Vec<(&str, &[u8])> = docs
        .0
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    if let Err(e) = schema::validate_in_test(&refs) {
        panic!("{e}");
    }
}
