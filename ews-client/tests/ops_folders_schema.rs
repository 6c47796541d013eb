//! `DeleteFolder` and `UpdateFolder`: every request and response form validates against the
//! vendored EWS schema and reads back equal (also through `AnyRequest`); the XML a real
//! client sends reads into the expected values.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use ews_client::envelope::{
    Impersonation, RequestHeaders, ServerVersionInfo, read_request, read_response,
    write_operation_response, write_request,
};
use ews_client::operation::Operation;
use ews_client::ops::update_folder::FolderChange;
use ews_client::ops::{
    AnyRequest, DeleteFolder, DisposalType, FolderChangeDescription, FolderInfo, UpdateFolder,
};
use ews_client::schema;
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::response::{ResponseCode, ResponseMessage, ResponseMessages};
use ews_client::types::{
    BaseFolderId, DistinguishedFolderName, ExtendedFieldUri, ExtendedProperty, FolderId,
    MapiPropertyType, PropertyPath,
};

fn crm_id() -> ExtendedFieldUri {
    ExtendedFieldUri::named(
        "c11ff724-aa03-4555-9952-8fa248a11c3e",
        "ConAktivId",
        MapiPropertyType::String,
    )
}

fn folder_id() -> BaseFolderId {
    FolderId {
        id: "AAMkFolder=".into(),
        change_key: Some("AQAAAA==".into()),
    }
    .into()
}

fn requests() -> Vec<(String, Vec<u8>)> {
    let h = RequestHeaders::default()
        .with_impersonation(Impersonation::PrimarySmtpAddress("anna@contoso.com".into()));
    let mut docs = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>| docs.push((name, bytes));
    fn check<O: Operation + PartialEq + std::fmt::Debug>(h: &RequestHeaders, op: &O) -> Vec<u8> {
        let bytes = write_request(h, op);
        let (back_h, back): (RequestHeaders, O) = read_request(&bytes).unwrap();
        assert_eq!(&back_h, h);
        assert_eq!(&back, op);
        let (_, any) = AnyRequest::read_envelope(&bytes).unwrap();
        assert_eq!(any.name(), O::NAME);
        bytes
    }
    for kind in DisposalType::ALL {
        let op = DeleteFolder::new(*kind, [folder_id(), DistinguishedFolderName::Inbox.into()]);
        add(format!("DeleteFolder {kind}"), check(&h, &op));
    }
    add(
        "UpdateFolder rename".into(),
        check(&h, &UpdateFolder::rename(folder_id(), "Projekte 2025")),
    );
    let every = UpdateFolder {
        folder_changes: vec![
            FolderChange {
                folder_id: folder_id(),
                updates: vec![
                    FolderChangeDescription::Set {
                        path: PropertyPath::field("folder:DisplayName"),
                        folder: Folder {
                            display_name: Some("Kontakte CRM".into()),
                            ..Folder::default()
                        },
                    },
                    FolderChangeDescription::Set {
                        path: PropertyPath::Extended(crm_id()),
                        folder: Folder {
                            kind: FolderKind::ContactsFolder,
                            extended_properties: vec![ExtendedProperty::string(
                                crm_id(),
                                "folder:7",
                            )],
                            ..Folder::default()
                        },
                    },
                    FolderChangeDescription::Delete {
                        path: PropertyPath::field("folder:FolderClass"),
                    },
                ],
            },
            FolderChange {
                folder_id: DistinguishedFolderName::Calendar.into(),
                updates: vec![FolderChangeDescription::Append {
                    path: PropertyPath::field("folder:DisplayName"),
                    folder: Folder {
                        kind: FolderKind::CalendarFolder,
                        display_name: Some(" (alt)".into()),
                        ..Folder::default()
                    },
                }],
            },
        ],
    };
    add("UpdateFolder every change".into(), check(&h, &every));
    docs
}

#[test]
fn requests_validate_and_read_back() {
    let docs = requests();
    let refs: Vec<(&str, &[u8])> = docs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    if let Err(e) = schema::validate_in_test(&refs) {
        panic!("{e}");
    }
}

fn info() -> ServerVersionInfo {
    ServerVersionInfo {
        major_version: Some(15),
        minor_version: Some(20),
        major_build_number: Some(0),
        minor_build_number: Some(0),
        version: Some("V2018_01_08".into()),
    }
}

fn response<O: Operation>(resp: &O::Response) -> Vec<u8>
where
    O::Response: PartialEq + std::fmt::Debug,
{
    let bytes = write_operation_response::<O>(Some(&info()), resp);
    let back = read_response::<O>(&bytes).unwrap();
    assert_eq!(back.body.as_ref().unwrap(), resp);
    bytes
}

#[test]
fn responses_validate_and_read_back() {
    let delete = response::<DeleteFolder>(&ResponseMessages::new(vec![
        ResponseMessage::success(()),
        ResponseMessage::error(
            ResponseCode::ErrorDeleteDistinguishedFolder,
            "Distinguished folders cannot be deleted.",
        ),
        ResponseMessage::error(
            ResponseCode::ErrorFolderNotFound,
            "The specified folder could not be found in the store.",
        ),
    ]));
    let update = response::<UpdateFolder>(&ResponseMessages::new(vec![
        ResponseMessage::success(FolderInfo {
            folders: vec![Folder {
                folder_id: Some(FolderId {
                    id: "AAMkFolder=".into(),
                    change_key: Some("AgAAAA==".into()),
                }),
                ..Folder::default()
            }],
        }),
        ResponseMessage::error(
            ResponseCode::ErrorFolderExists,
            "A folder with the specified name already exists.",
        ),
    ]));
    let text = String::from_utf8_lossy(&delete);
    assert_eq!(
        text.matches("<m:DeleteFolderResponseMessage").count(),
        3,
        "{text}"
    );
    let text = String::from_utf8_lossy(&update);
    assert!(text.contains("<m:UpdateFolderResponseMessage"), "{text}");
    let docs: [(&str, &[u8]); 2] = [("DeleteFolder", &delete), ("UpdateFolder", &update)];
    if let Err(e) = schema::validate_in_test(&docs) {
        panic!("{e}");
    }
}

/// The request body as exchangelib writes it (prefixes and spacing its own).
#[test]
fn reads_a_third_party_update_folder() {
    let body = br#"<?xml version='1.0' encoding='utf-8'?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header><t:RequestServerVersion Version="Exchange2016"/></s:Header><s:Body><m:UpdateFolder><m:FolderChanges><t:FolderChange><t:FolderId Id="F1" ChangeKey="CK"/><t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>Renamed</t:DisplayName></t:Folder></t:SetFolderField><t:DeleteFolderField><t:FieldURI FieldURI="folder:FolderClass"/></t:DeleteFolderField></t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder></s:Body></s:Envelope>"#;
    let (_, op): (RequestHeaders, UpdateFolder) = read_request(body).unwrap();
    let change = &op.folder_changes[0];
    assert_eq!(
        change.folder_id,
        BaseFolderId::Id(FolderId {
            id: "F1".into(),
            change_key: Some("CK".into())
        })
    );
    assert_eq!(
        change.updates,
        [
            FolderChangeDescription::Set {
                path: PropertyPath::field("folder:DisplayName"),
                folder: Folder {
                    display_name: Some("Renamed".into()),
                    ..Folder::default()
                },
            },
            FolderChangeDescription::Delete {
                path: PropertyPath::field("folder:FolderClass"),
            },
        ]
    );
    let delete = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body><m:DeleteFolder DeleteType="HardDelete"><m:FolderIds><t:FolderId Id="F1"/></m:FolderIds></m:DeleteFolder></s:Body></s:Envelope>"#;
    let (_, op): (RequestHeaders, DeleteFolder) = read_request(delete).unwrap();
    assert_eq!(
        op,
        DeleteFolder::new(DisposalType::HardDelete, [FolderId::new("F1")])
    );
    // a missing DeleteType is a typed error naming it
    let bad = String::from_utf8_lossy(delete).replace(r#" DeleteType="HardDelete""#, "");
    let err = read_request::<DeleteFolder>(bad.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("DeleteType"), "{err}");
}
