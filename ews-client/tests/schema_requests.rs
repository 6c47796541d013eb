//! Every request this crate's protocol layer writes, with every option, validates against
//! the vendored EWS schema (one xmllint run over all documents), and reads back equal.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use chrono::{TimeZone, Utc};
use ews_client::envelope::{
    ExchangeVersion, Impersonation, RequestHeaders, read_request, write_request,
};
use ews_client::operation::Operation;
use ews_client::ops::*;
use ews_client::schema;
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::shape::{
    BaseShape, BodyTypeResponse, CalendarView, CompareOp, FieldOrder, FolderShape, IndexedPageView,
    ItemShape, Operand, Restriction,
};
use ews_client::types::{
    DistinguishedFolderId, DistinguishedFolderName, ExtendedFieldUri, ExtendedProperty, FolderId,
    ItemId, MapiPropertyType, PropertyPath,
};

struct Docs(Vec<(String, Vec<u8>)>);

impl Docs {
    /// Writes `op` with `headers`, checks that it reads back equal, and keeps it for
    /// validation.
    fn add<O: Operation + PartialEq + std::fmt::Debug>(
        &mut self,
        name: &str,
        headers: &RequestHeaders,
        op: O,
    ) {
        let bytes = write_request(headers, &op);
        let (h, back): (RequestHeaders, O) =
            read_request(&bytes).unwrap_or_else(|e| panic!("{name}: cannot read back: {e}"));
        assert_eq!(&h, headers, "{name}: headers");
        assert_eq!(back, op, "{name}: body");
        // The dispatching reader agrees.
        let (_, any) = AnyRequest::read_envelope(&bytes).unwrap();
        assert_eq!(any.name(), O::NAME);
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

fn full_item_shape() -> ItemShape {
    ItemShape {
        base_shape: BaseShape::AllProperties,
        include_mime_content: Some(true),
        body_type: Some(BodyTypeResponse::Html),
        filter_html_content: Some(false),
        convert_html_code_page_to_utf8: Some(true),
        maximum_body_size: Some(65536),
        additional_properties: vec![
            PropertyPath::field("item:Subject"),
            PropertyPath::indexed("contacts:EmailAddress", "EmailAddress1"),
            PropertyPath::indexed("contacts:PhoneNumber", "MobilePhone"),
            PropertyPath::Extended(crm_id()),
            PropertyPath::Extended(ExtendedFieldUri::tagged("0x1000", MapiPropertyType::String)),
        ],
    }
}

fn header_variants() -> Vec<(&'static str, RequestHeaders)> {
    vec![
        ("minimal", RequestHeaders::default()),
        (
            "primary smtp + tz + culture",
            RequestHeaders::default()
                .with_impersonation(Impersonation::PrimarySmtpAddress("anna@contoso.com".into()))
                .with_time_zone("W. Europe Standard Time")
                .with_mailbox_culture("de-DE"),
        ),
        (
            "smtp",
            RequestHeaders::default()
                .with_impersonation(Impersonation::SmtpAddress("anna.alias@contoso.com".into())),
        ),
        (
            "principal name, 2013 SP1",
            RequestHeaders::default()
                .with_impersonation(Impersonation::PrincipalName("anna@corp.contoso.com".into()))
                .with_server_version(ExchangeVersion::Exchange2013Sp1),
        ),
        (
            "sid, V2018_01_08",
            RequestHeaders::default()
                .with_impersonation(Impersonation::Sid(
                    "S-1-5-21-3623811015-3361044348-30300820-1013".into(),
                ))
                .with_server_version(ExchangeVersion::V2018_01_08),
        ),
    ]
}

#[test]
fn every_request_validates_against_the_schema() {
    let mut docs = Docs(Vec::new());
    let h = RequestHeaders::default()
        .with_impersonation(Impersonation::PrimarySmtpAddress("anna@contoso.com".into()));
    let inbox: ews_client::types::BaseFolderId = DistinguishedFolderName::Inbox.into();
    let contacts_other = ews_client::types::BaseFolderId::Distinguished(DistinguishedFolderId {
        name: DistinguishedFolderName::Contacts,
        mailbox: Some("shared@contoso.com".into()),
    });
    let folder_by_id: ews_client::types::BaseFolderId = FolderId {
        id: "AAMkFolder=".into(),
        change_key: Some("AQAAAA==".into()),
    }
    .into();

    // Headers: every impersonation kind, versions, time zone, culture.
    for (name, headers) in header_variants() {
        docs.add(
            &format!("headers: {name}"),
            &headers,
            GetFolder::new(vec![inbox.clone()]),
        );
    }

    // GetFolder
    docs.add(
        "GetFolder all shapes",
        &h,
        GetFolder {
            folder_shape: FolderShape::new(BaseShape::AllProperties).with_additional([
                PropertyPath::field("folder:DisplayName"),
                PropertyPath::Extended(crm_id()),
            ]),
            folder_ids: vec![inbox.clone(), contacts_other.clone(), folder_by_id.clone()],
        },
    );
    docs.add(
        "GetFolder id only",
        &h,
        GetFolder {
            folder_shape: FolderShape::new(BaseShape::IdOnly),
            folder_ids: vec![DistinguishedFolderName::MsgFolderRoot.into()],
        },
    );

    // FindFolder: shallow and deep, paged, restricted.
    docs.add(
        "FindFolder shallow",
        &h,
        FindFolder::new(
            FolderTraversal::Shallow,
            [DistinguishedFolderName::MsgFolderRoot],
        ),
    );
    docs.add(
        "FindFolder deep paged restricted",
        &h,
        FindFolder {
            traversal: FolderTraversal::Deep,
            folder_shape: FolderShape::new(BaseShape::Default),
            page: Some(IndexedPageView::new(100, 200)),
            restriction: Some(Restriction::equals(
                PropertyPath::field("folder:FolderClass"),
                "IPF.Contact",
            )),
            parent_folder_ids: vec![DistinguishedFolderName::Root.into(), folder_by_id.clone()],
        },
    );

    // CreateFolder: every kind, with class and extended property.
    docs.add(
        "CreateFolder",
        &h,
        CreateFolder {
            parent_folder_id: DistinguishedFolderName::MsgFolderRoot.into(),
            folders: vec![
                Folder {
                    extended_properties: vec![ExtendedProperty::string(crm_id(), "folder:1")],
                    ..Folder::new(FolderKind::Folder, "CRM").with_class("IPF.Note")
                },
                Folder::new(FolderKind::ContactsFolder, "CRM Kontakte"),
                Folder::new(FolderKind::CalendarFolder, "CRM Termine"),
                Folder::new(FolderKind::TasksFolder, "CRM Aufgaben"),
            ],
        },
    );

    // SyncFolderHierarchy: first and later call, with and without root.
    docs.add(
        "SyncFolderHierarchy first",
        &h,
        SyncFolderHierarchy {
            folder_shape: FolderShape::new(BaseShape::AllProperties),
            sync_folder_id: None,
            sync_state: None,
        },
    );
    docs.add(
        "SyncFolderHierarchy later",
        &h,
        SyncFolderHierarchy {
            folder_shape: FolderShape::new(BaseShape::IdOnly),
            sync_folder_id: Some(DistinguishedFolderName::MsgFolderRoot.into()),
            sync_state: Some("H4sIAAAAAAAEAO29B2AcSZY=".into()),
        },
    );

    // SyncFolderItems: bounds of MaxChangesReturned, ignore list, scope.
    docs.add(
        "SyncFolderItems first, 1 change",
        &h,
        SyncFolderItems::new(
            DistinguishedFolderName::Contacts.into(),
            ItemShape::id_only(),
            None,
            1,
        ),
    );
    docs.add(
        "SyncFolderItems full options, 512",
        &h,
        SyncFolderItems {
            item_shape: full_item_shape(),
            sync_folder_id: folder_by_id.clone(),
            sync_state: Some("H4sIAAAAAAAEAO29B2AcSZY=".into()),
            ignore: vec![ItemId::new("AAMkIgnored=")],
            max_changes_returned: 512,
            sync_scope: Some(SyncScope::NormalAndAssociatedItems),
        },
    );
    docs.add(
        "SyncFolderItems clamps",
        &h,
        SyncFolderItems::new(
            DistinguishedFolderName::Calendar.into(),
            ItemShape::default(),
            None,
            9999,
        ),
    );

    // FindItem: indexed page, calendar view, restrictions, sort order, traversal.
    docs.add(
        "FindItem page",
        &h,
        FindItem::new(
            DistinguishedFolderName::Contacts.into(),
            ItemShape::id_only(),
            1000,
        ),
    );
    docs.add(
        "FindItem calendar view",
        &h,
        FindItem {
            view: Some(ItemView::Calendar(CalendarView {
                max_entries_returned: Some(500),
                start_date: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                end_date: Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap(),
            })),
            ..FindItem::new(
                DistinguishedFolderName::Calendar.into(),
                ItemShape::default(),
                10,
            )
        },
    );
    let restriction = Restriction::And(vec![
        Restriction::equals(PropertyPath::field("item:ItemClass"), "IPM.Contact"),
        Restriction::compare(
            CompareOp::IsGreaterThanOrEqualTo,
            PropertyPath::field("item:LastModifiedTime"),
            "2026-01-01T00:00:00Z",
        ),
        Restriction::Or(vec![
            Restriction::contains(PropertyPath::field("item:Subject"), "Müller"),
            Restriction::Exists(PropertyPath::Extended(crm_id())),
        ]),
        Restriction::Not(Box::new(Restriction::Compare {
            op: CompareOp::IsEqualTo,
            path: PropertyPath::field("item:DateTimeCreated"),
            operand: Operand::Path(PropertyPath::field("item:LastModifiedTime")),
        })),
    ]);
    docs.add(
        "FindItem restricted sorted",
        &h,
        FindItem {
            traversal: ItemTraversal::Shallow,
            item_shape: full_item_shape(),
            view: Some(ItemView::Indexed(IndexedPageView::new(50, 100))),
            restriction: Some(restriction),
            sort_order: vec![
                FieldOrder::descending(PropertyPath::field("item:DateTimeReceived")),
                FieldOrder::ascending(PropertyPath::field("item:Subject")),
            ],
            parent_folder_ids: vec![inbox.clone(), folder_by_id.clone()],
        },
    );
    docs.add(
        "FindItem associated, no view",
        &h,
        FindItem {
            traversal: ItemTraversal::Associated,
            view: None,
            ..FindItem::new(inbox.clone(), ItemShape::id_only(), 10)
        },
    );

    // GetItem: id and property shapes, occurrence ids.
    docs.add(
        "GetItem id only",
        &h,
        GetItem::new(
            ItemShape::id_only(),
            [
                ItemId::with_change_key("AAMkA=", "CQAAAB"),
                ItemId::new("AAMkB="),
            ],
        ),
    );
    docs.add(
        "GetItem full shape, occurrences",
        &h,
        GetItem {
            item_shape: full_item_shape().with_mime_content(),
            item_ids: vec![
                BaseItemId::Item(ItemId::new("AAMkA=")),
                BaseItemId::Occurrence {
                    recurring_master_id: "AAMkMaster=".into(),
                    change_key: Some("DwAAAB".into()),
                    instance_index: 3,
                },
                BaseItemId::RecurringMaster {
                    occurrence_id: "AAMkOcc=".into(),
                    change_key: None,
                },
            ],
        },
    );

    // DeleteItem: every disposal type, cancellations, task occurrences.
    for (i, delete_type) in DisposalType::ALL.iter().enumerate() {
        docs.add(
            &format!("DeleteItem {delete_type}"),
            &h,
            DeleteItem::new(*delete_type, [ItemId::new(format!("AAMk{i}="))]),
        );
    }
    for cancel in SendMeetingCancellations::ALL {
        for task in AffectedTaskOccurrences::ALL {
            docs.add(
                &format!("DeleteItem {cancel} {task}"),
                &h,
                DeleteItem {
                    item_ids: vec![ItemId::new("AAMkCal=").into()],
                    delete_type: DisposalType::MoveToDeletedItems,
                    send_meeting_cancellations: Some(*cancel),
                    affected_task_occurrences: Some(*task),
                    suppress_read_receipts: Some(true),
                },
            );
        }
    }
    docs.add(
        "DeleteItem bare",
        &h,
        DeleteItem {
            item_ids: vec![ItemId::new("AAMkX=").into()],
            delete_type: DisposalType::HardDelete,
            send_meeting_cancellations: None,
            affected_task_occurrences: None,
            suppress_read_receipts: None,
        },
    );

    // MoveItem
    docs.add(
        "MoveItem",
        &h,
        MoveItem {
            to_folder_id: DistinguishedFolderName::DeletedItems.into(),
            item_ids: vec![ItemId::new("AAMkA=").into(), ItemId::new("AAMkB=").into()],
            return_new_item_ids: Some(true),
        },
    );
    docs.add(
        "MoveItem to folder id",
        &h,
        MoveItem {
            to_folder_id: folder_by_id.clone(),
            item_ids: vec![ItemId::new("AAMkA=").into()],
            return_new_item_ids: None,
        },
    );

    // ResolveNames: every scope and shape.
    docs.add("ResolveNames minimal", &h, ResolveNames::new("anna"));
    for scope in ResolveNamesSearchScope::ALL {
        docs.add(
            &format!("ResolveNames {scope}"),
            &h,
            ResolveNames {
                parent_folder_ids: vec![DistinguishedFolderName::Contacts.into()],
                unresolved_entry: "Müller".into(),
                return_full_contact_data: true,
                search_scope: Some(*scope),
                contact_data_shape: Some(BaseShape::AllProperties),
            },
        );
    }

    let refs: Vec<(&str, &[u8])> = docs
        .0
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    assert!(refs.len() > 35, "{} documents", refs.len());
    if let Err(e) = schema::validate_in_test(&refs) {
        panic!("{e}");
    }
}
