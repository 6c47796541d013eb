//! A real third-party EWS client against the mock: Thunderbird's EWS protocol crate
//! (`ews`, thunderbird/ews-rs) builds every request with its own types and serialization and
//! parses every answer with its own deserialization, over HTTP with Basic authentication, the
//! way Thunderbird's EWS account code drives Exchange: folder hierarchy sync, the inbox by its
//! distinguished id, a message stored from MIME, item sync, fetching the item with its MIME
//! content, marking it read through UpdateItem, deleting it.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ews::create_item::CreateItem;
use ews::delete_item::DeleteItem;
use ews::get_folder::GetFolder;
use ews::get_item::GetItem;
use ews::server_version::ExchangeServerVersion;
use ews::soap::{Envelope, Header};
use ews::sync_folder_hierarchy::{self, SyncFolderHierarchy};
use ews::sync_folder_items::{self, SyncFolderItems};
use ews::update_item::{
    ConflictResolution, ItemChange, ItemChangeDescription, ItemChangeInner, UpdateItem, Updates,
};
use ews::{
    BaseFolderId, BaseItemId, BaseShape, DeleteType, ExtendedFieldURI, ExtendedProperty, Folder,
    FolderShape, ItemShape, Message, MessageDisposition, MimeContent, Operation, OperationResponse,
    PathToElement, PropertyType, RealItem, ResponseClass,
};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};

const USER: &str = "anna@contoso.test";
const PASSWORD: &str = "anna-pw";

/// Thunderbird's request path: serialize with `ews`, POST with Basic auth, parse with `ews`.
struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    fn new(mock: &MockHandle) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: mock.url().to_string(),
        }
    }

    /// Sends one operation and returns its response messages, each required to be `Success`.
    async fn call<Op>(&self, op: Op) -> Vec<<Op::Response as OperationResponse>::Message>
    where
        Op: Operation,
        <Op::Response as OperationResponse>::Message: std::fmt::Debug,
    {
        let name = <Op as Operation>::NAME;
        let envelope = Envelope {
            headers: vec![Header::RequestServerVersion {
                version: ExchangeServerVersion::Exchange2013_SP1,
            }],
            body: op,
        };
        let body = envelope.as_xml_document().unwrap();
        let response = self
            .http
            .post(&self.url)
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        assert!(
            status.is_success(),
            "{name}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let parsed = Envelope::<Op::Response>::from_xml_document(&bytes).unwrap_or_else(|e| {
            panic!(
                "{name}: ews-rs cannot parse the answer: {e}\n{}",
                String::from_utf8_lossy(&bytes)
            )
        });
        assert!(
            parsed
                .headers
                .iter()
                .any(|h| matches!(h, Header::ServerVersionInfo(_))),
            "{name}: no ServerVersionInfo header"
        );
        parsed
            .body
            .into_response_messages()
            .into_iter()
            .map(|m| match m {
                ResponseClass::Success(m) => m,
                other => panic!("{name}: not a success: {other:?}"),
            })
            .collect()
    }
}

fn folder_parts(folder: &Folder) -> (String, Option<String>, Option<String>) {
    let (id, name, class) = match folder {
        Folder::Folder {
            folder_id,
            display_name,
            folder_class,
            ..
        }
        | Folder::CalendarFolder {
            folder_id,
            display_name,
            folder_class,
            ..
        }
        | Folder::ContactsFolder {
            folder_id,
            display_name,
            folder_class,
            ..
        }
        | Folder::SearchFolder {
            folder_id,
            display_name,
            folder_class,
            ..
        }
        | Folder::TasksFolder {
            folder_id,
            display_name,
            folder_class,
            ..
        } => (folder_id, display_name, folder_class),
    };
    (
        id.as_ref().expect("folder id").id.clone(),
        name.clone(),
        class.clone(),
    )
}

const MIME: &str = "From: Ben Kraus <ben@contoso.test>\r\n\
To: Anna Berg <anna@contoso.test>\r\n\
Subject: Quarterly figures\r\n\
Message-ID: <q3-figures@contoso.test>\r\n\
Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
The figures are attached in spirit.\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thunderbird_ews_rs_drives_folders_and_a_mime_message_through_the_mock() {
    let data = OrgData::from_toml(include_str!("../org.example.toml")).unwrap();
    let mock = MockServer::start(MockConfig::new(data)).await.unwrap();
    let client = Client::new(&mock);

    // 1. Folder hierarchy sync from scratch: every folder arrives as a Create.
    let mut sync = client
        .call(SyncFolderHierarchy {
            folder_shape: FolderShape {
                base_shape: BaseShape::AllProperties,
            },
            sync_folder_id: None,
            sync_state: None,
        })
        .await;
    assert_eq!(sync.len(), 1);
    let sync = sync.remove(0);
    assert!(sync.includes_last_folder_in_range);
    assert!(!sync.sync_state.is_empty());
    let created: Vec<_> = sync
        .changes
        .inner
        .iter()
        .map(|c| match c {
            sync_folder_hierarchy::Change::Create { folder } => folder_parts(folder),
            other => panic!("initial hierarchy sync lists only creations: {other:?}"),
        })
        .collect();
    let names: Vec<_> = created.iter().filter_map(|(_, n, _)| n.clone()).collect();
    for expected in ["Inbox", "Projects", "2024", "CRM Contacts", "Calendar"] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    assert!(
        created
            .iter()
            .any(|(_, n, c)| n.as_deref() == Some("CRM Contacts")
                && c.as_deref() == Some("IPF.Contact")),
        "{created:?}"
    );

    // A second sync with the returned state reports nothing new.
    let again = client
        .call(SyncFolderHierarchy {
            folder_shape: FolderShape {
                base_shape: BaseShape::IdOnly,
            },
            sync_folder_id: None,
            sync_state: Some(sync.sync_state.clone()),
        })
        .await;
    assert!(again[0].changes.inner.is_empty(), "{again:?}");

    // 2. The inbox by its distinguished id: the same folder the hierarchy sync listed.
    let mut folders = client
        .call(GetFolder {
            folder_shape: FolderShape {
                base_shape: BaseShape::AllProperties,
            },
            folder_ids: vec![BaseFolderId::new_distinguished("inbox")],
        })
        .await;
    assert_eq!(folders.len(), 1);
    let inbox = folders.remove(0).folders.inner;
    assert_eq!(inbox.len(), 1);
    let (inbox_id, inbox_name, _) = folder_parts(&inbox[0]);
    assert_eq!(inbox_name.as_deref(), Some("Inbox"));
    assert!(
        created
            .iter()
            .any(|(id, n, _)| *id == inbox_id && n.as_deref() == Some("Inbox")),
        "inbox id {inbox_id} not in the hierarchy sync"
    );
    let Folder::Folder {
        total_count,
        unread_count,
        ..
    } = &inbox[0]
    else {
        panic!("the inbox is a plain Folder: {inbox:?}")
    };
    assert_eq!(*total_count, Some(1), "the seeded Welcome message");
    assert_eq!(*unread_count, Some(1));

    // 3. Item sync of the inbox from scratch: the seeded message.
    let first = client
        .call(SyncFolderItems {
            item_shape: ItemShape {
                base_shape: BaseShape::IdOnly,
                ..Default::default()
            },
            sync_folder_id: BaseFolderId::new_folder(inbox_id.clone()),
            sync_state: None,
            ignore: None,
            max_changes_returned: 100,
            sync_scope: None,
        })
        .await
        .remove(0);
    assert!(first.includes_last_item_in_range);
    assert_eq!(first.changes.inner.len(), 1, "{first:?}");
    let welcome_id = match first.changes.inner.as_slice() {
        [sync_folder_items::Change::Create { item }] => {
            item.inner_message().item_id.clone().unwrap()
        }
        other => panic!("one Create expected: {other:?}"),
    };

    // The seeded message was stored without MIME; Thunderbird reads messages as MIME, and
    // Exchange converts any message: the MIME answered is built from its properties.
    let welcome = client
        .call(GetItem {
            item_shape: ItemShape {
                base_shape: BaseShape::IdOnly,
                include_mime_content: Some(true),
                additional_properties: None,
            },
            item_ids: vec![BaseItemId::ItemId {
                id: welcome_id.id.clone(),
                change_key: None,
            }],
        })
        .await
        .remove(0);
    let mime = welcome.items.inner[0]
        .inner_message()
        .mime_content
        .as_ref()
        .expect("MIME content of a message stored without MIME");
    let mime = String::from_utf8(BASE64.decode(mime.content.trim()).unwrap()).unwrap();
    assert!(mime.contains("Subject: Welcome"), "{mime}");

    // 4. Store a message from its MIME source, the way Thunderbird copies a message into a
    //    folder: SaveOnly, MIME content in base64, PR_MESSAGE_FLAGS = MSGFLAG_READ.
    let created = client
        .call(CreateItem {
            message_disposition: Some(MessageDisposition::SaveOnly),
            saved_item_folder_id: Some(BaseFolderId::new_folder(inbox_id.clone())),
            items: vec![RealItem::Message(Message {
                mime_content: Some(MimeContent {
                    character_set: None,
                    content: BASE64.encode(MIME),
                }),
                is_read: Some(false),
                extended_property: Some(vec![ExtendedProperty {
                    extended_field_URI: ExtendedFieldURI {
                        distinguished_property_set_id: None,
                        property_set_id: None,
                        property_tag: Some("0x0E07".to_owned()),
                        property_name: None,
                        property_id: None,
                        property_type: Some(PropertyType::Integer),
                    },
                    value: "0".to_owned(),
                }]),
                ..Default::default()
            })],
        })
        .await
        .remove(0);
    assert_eq!(created.items.inner.len(), 1);
    let new_id = created.items.inner[0]
        .inner_message()
        .item_id
        .clone()
        .expect("CreateItem returns the new item's id");

    // 5. Item sync with the previous state: exactly the new message, as a Create.
    let second = client
        .call(SyncFolderItems {
            item_shape: ItemShape {
                base_shape: BaseShape::IdOnly,
                ..Default::default()
            },
            sync_folder_id: BaseFolderId::new_folder(inbox_id.clone()),
            sync_state: Some(first.sync_state.clone()),
            ignore: None,
            max_changes_returned: 100,
            sync_scope: None,
        })
        .await
        .remove(0);
    match second.changes.inner.as_slice() {
        [sync_folder_items::Change::Create { item }] => {
            assert!(matches!(item, RealItem::Message(_)), "{item:?}");
            assert_eq!(item.inner_message().item_id.as_ref().unwrap().id, new_id.id);
        }
        other => panic!("one Create expected: {other:?}"),
    }

    // 6. GetItem of the new message with its MIME content, as Thunderbird fetches a message.
    let got = client
        .call(GetItem {
            item_shape: ItemShape {
                base_shape: BaseShape::Default,
                include_mime_content: Some(true),
                additional_properties: Some(vec![
                    PathToElement::FieldURI {
                        field_URI: "item:Subject".to_owned(),
                    },
                    PathToElement::FieldURI {
                        field_URI: "message:IsRead".to_owned(),
                    },
                    PathToElement::FieldURI {
                        field_URI: "message:InternetMessageId".to_owned(),
                    },
                    PathToElement::FieldURI {
                        field_URI: "item:ParentFolderId".to_owned(),
                    },
                ]),
            },
            item_ids: vec![BaseItemId::ItemId {
                id: new_id.id.clone(),
                change_key: None,
            }],
        })
        .await
        .remove(0);
    assert_eq!(got.items.inner.len(), 1);
    let message = got.items.inner[0].inner_message();
    assert!(matches!(got.items.inner[0], RealItem::Message(_)));
    assert_eq!(message.subject.as_deref(), Some("Quarterly figures"));
    assert_eq!(message.is_read, Some(false));
    assert_eq!(
        message.internet_message_id.as_deref(),
        Some("<q3-figures@contoso.test>")
    );
    assert_eq!(message.parent_folder_id.as_ref().unwrap().id, inbox_id);
    // PR_MESSAGE_FLAGS without MSGFLAG_UNSENT: a received message, not a draft
    assert_eq!(message.is_draft, Some(false));
    let from = message
        .from
        .as_ref()
        .expect("From promoted from the MIME headers");
    assert_eq!(
        from.mailbox.email_address.as_deref(),
        Some("ben@contoso.test")
    );
    assert_eq!(from.mailbox.name.as_deref(), Some("Ben Kraus"));
    let mime = message.mime_content.as_ref().expect("MIME content");
    let mime = String::from_utf8(BASE64.decode(mime.content.trim()).unwrap()).unwrap();
    assert!(mime.contains("Subject: Quarterly figures"), "{mime}");
    assert!(
        mime.contains("The figures are attached in spirit."),
        "{mime}"
    );
    let change_key = message.item_id.as_ref().unwrap().change_key.clone();

    // Without IncludeMimeContent there is no MIME content, as in Exchange.
    let plain = client
        .call(GetItem {
            item_shape: ItemShape {
                base_shape: BaseShape::AllProperties,
                ..Default::default()
            },
            item_ids: vec![BaseItemId::ItemId {
                id: new_id.id.clone(),
                change_key: None,
            }],
        })
        .await
        .remove(0);
    let plain = plain.items.inner[0].inner_message();
    assert!(plain.mime_content.is_none());
    assert_eq!(plain.subject.as_deref(), Some("Quarterly figures"));
    assert!(change_key.is_some());

    // 7. Mark it read: Thunderbird's UpdateItem with SetItemField message:IsRead.
    let updated = client
        .call(UpdateItem {
            message_disposition: MessageDisposition::SaveOnly,
            conflict_resolution: Some(ConflictResolution::AlwaysOverwrite),
            item_changes: vec![ItemChange {
                item_change: ItemChangeInner {
                    item_id: BaseItemId::ItemId {
                        id: new_id.id.clone(),
                        change_key,
                    },
                    updates: Updates {
                        inner: vec![ItemChangeDescription::SetItemField {
                            field_uri: PathToElement::FieldURI {
                                field_URI: "message:IsRead".to_owned(),
                            },
                            message: Message {
                                is_read: Some(true),
                                ..Default::default()
                            },
                        }],
                    },
                },
            }],
        })
        .await
        .remove(0);
    assert_eq!(updated.items.inner.len(), 1);
    assert_eq!(
        updated.items.inner[0]
            .inner_message()
            .item_id
            .as_ref()
            .unwrap()
            .id,
        new_id.id
    );

    // The read flag change shows in the next item sync as a ReadFlagChange.
    let third = client
        .call(SyncFolderItems {
            item_shape: ItemShape {
                base_shape: BaseShape::IdOnly,
                ..Default::default()
            },
            sync_folder_id: BaseFolderId::new_folder(inbox_id.clone()),
            sync_state: Some(second.sync_state.clone()),
            ignore: None,
            max_changes_returned: 100,
            sync_scope: None,
        })
        .await
        .remove(0);
    match third.changes.inner.as_slice() {
        [sync_folder_items::Change::ReadFlagChange { item_id, is_read }] => {
            assert_eq!(item_id.id, new_id.id);
            assert!(*is_read);
        }
        [sync_folder_items::Change::Update { item }] => {
            assert_eq!(item.inner_message().item_id.as_ref().unwrap().id, new_id.id);
        }
        other => panic!("the read flag change expected: {other:?}"),
    }
    assert_eq!(
        mock.mailbox(USER)
            .unwrap()
            .items
            .iter()
            .filter(|i| i.subject.as_deref() == Some("Quarterly figures"))
            .count(),
        1
    );

    // 8. Delete it; the next item sync reports the deletion and the inbox holds one item again.
    let deleted = client
        .call(DeleteItem {
            delete_type: DeleteType::HardDelete,
            send_meeting_cancellations: None,
            affected_task_occurrences: None,
            suppress_read_receipts: Some(true),
            item_ids: vec![BaseItemId::ItemId {
                id: new_id.id.clone(),
                change_key: None,
            }],
        })
        .await;
    assert_eq!(deleted.len(), 1);
    let fourth = client
        .call(SyncFolderItems {
            item_shape: ItemShape {
                base_shape: BaseShape::IdOnly,
                ..Default::default()
            },
            sync_folder_id: BaseFolderId::new_folder(inbox_id.clone()),
            sync_state: Some(third.sync_state.clone()),
            ignore: None,
            max_changes_returned: 100,
            sync_scope: None,
        })
        .await
        .remove(0);
    match fourth.changes.inner.as_slice() {
        [sync_folder_items::Change::Delete { item_id }] => assert_eq!(item_id.id, new_id.id),
        other => panic!("one Delete expected: {other:?}"),
    }
    let folders = client
        .call(GetFolder {
            folder_shape: FolderShape {
                base_shape: BaseShape::AllProperties,
            },
            folder_ids: vec![BaseFolderId::new_distinguished("inbox")],
        })
        .await;
    let Folder::Folder { total_count, .. } = &folders[0].folders.inner[0] else {
        panic!("inbox")
    };
    assert_eq!(*total_count, Some(1));

    mock.shutdown().await.unwrap();
}
