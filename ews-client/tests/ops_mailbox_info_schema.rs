//! `ConvertId`, `GetUserConfiguration`, `ExpandDL`, `GetServerTimeZones` and
//! `GetUserOofSettings`: every request and response form validates against the vendored EWS
//! schema and reads back equal (requests also through `AnyRequest`).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use chrono::{TimeZone, Utc};
use ews_client::envelope::{
    RequestHeaders, ServerVersionInfo, read_request, read_response, write_operation_response,
    write_request,
};
use ews_client::operation::Operation;
use ews_client::ops::{
    AlternateId, AnyRequest, ConvertId, ConvertIdResult, DLExpansion, ExpandDL, ExternalAudience,
    GetServerTimeZones, GetUserAvailability, GetUserAvailabilityResponse, GetUserConfiguration,
    GetUserOofSettings, GetUserOofSettingsResponse, GetUserPhoto, GetUserPhotoResponse, IdFormat,
    OofState, TimeZoneDefinitions, UserConfiguration, UserConfigurationName,
    UserConfigurationObject, UserOofSettings,
};
use ews_client::schema;
use ews_client::types::response::{ResponseCode, ResponseMessage, ResponseMessages};
use ews_client::types::timezone::TimeZoneDefinition;
use ews_client::types::{DistinguishedFolderName, EmailAddress, ItemId};

fn check<O: Operation + PartialEq + std::fmt::Debug>(op: &O) -> Vec<u8> {
    let h = RequestHeaders::default();
    let bytes = write_request(&h, op);
    let (_, back): (RequestHeaders, O) = read_request(&bytes).unwrap();
    assert_eq!(&back, op);
    let (_, any) = AnyRequest::read_envelope(&bytes).unwrap();
    assert_eq!(any.name(), O::NAME);
    assert_eq!(any.response_name(), O::response_name());
    bytes
}

fn alternate(format: IdFormat) -> AlternateId {
    AlternateId {
        format,
        id: "AAMkAD=".into(),
        mailbox: "anna@contoso.com".into(),
        is_archive: None,
    }
}

fn config_name() -> UserConfigurationName {
    UserConfigurationName {
        name: "OWA.UserOptions".into(),
        folder: DistinguishedFolderName::Root.into(),
    }
}

fn availability() -> GetUserAvailability {
    use ews_client::ops::{
        FreeBusyViewOptions, MailboxData, SerializableTimeZone, TimeZoneTransition,
    };
    GetUserAvailability {
        time_zone: Some(SerializableTimeZone {
            bias: -60,
            standard: TimeZoneTransition {
                bias: 0,
                time: "03:00:00".into(),
                day_order: 5,
                month: 10,
                day_of_week: "Sunday".into(),
            },
            daylight: TimeZoneTransition {
                bias: -60,
                time: "02:00:00".into(),
                day_order: 5,
                month: 3,
                day_of_week: "Sunday".into(),
            },
        }),
        mailboxes: vec![MailboxData {
            address: "anna@contoso.com".into(),
            attendee_type: "Required".into(),
        }],
        free_busy_view_options: Some(FreeBusyViewOptions {
            start: "2025-07-01T00:00:00".into(),
            end: "2025-07-02T00:00:00".into(),
            merged_interval_minutes: Some(30),
            requested_view: Some("FreeBusyMerged".into()),
        }),
    }
}

fn validate(docs: &[(String, Vec<u8>)]) {
    let refs: Vec<(&str, &[u8])> = docs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    if let Err(e) = schema::validate_in_test(&refs) {
        panic!("{e}");
    }
}

#[test]
fn requests_validate_and_read_back() {
    let docs = vec![
        (
            "ConvertId".to_string(),
            check(&ConvertId {
                destination_format: IdFormat::EwsId,
                source_ids: vec![
                    alternate(IdFormat::EwsId),
                    AlternateId {
                        is_archive: Some(false),
                        ..alternate(IdFormat::HexEntryId)
                    },
                ],
            }),
        ),
        (
            "GetUserConfiguration".to_string(),
            check(&GetUserConfiguration {
                name: config_name(),
                properties: "All".into(),
            }),
        ),
        (
            "ExpandDL".to_string(),
            check(&ExpandDL {
                mailbox: EmailAddress::smtp("team@contoso.com", None),
            }),
        ),
        (
            "GetServerTimeZones all".to_string(),
            check(&GetServerTimeZones::default()),
        ),
        (
            "GetServerTimeZones some".to_string(),
            check(&GetServerTimeZones {
                ids: vec!["W. Europe Standard Time".into(), "UTC".into()],
                return_full_time_zone_data: Some(false),
            }),
        ),
        ("GetUserAvailability".to_string(), check(&availability())),
        (
            "GetUserPhoto".to_string(),
            check(&GetUserPhoto {
                email: "anna@contoso.com".into(),
                size_requested: "HR96x96".into(),
            }),
        ),
        (
            "GetUserOofSettings".to_string(),
            check(&GetUserOofSettings {
                address: "anna@contoso.com".into(),
            }),
        ),
    ];
    validate(&docs);
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
    let not_found = |text: &str| (ResponseCode::ErrorItemNotFound, text.to_string());
    let docs = vec![
        (
            "ConvertId".to_string(),
            response::<ConvertId>(&ResponseMessages::new(vec![
                ResponseMessage::success(ConvertIdResult {
                    alternate_id: Some(alternate(IdFormat::EwsId)),
                }),
                ResponseMessage::error(ResponseCode::ErrorInvalidIdMalformed, "Id is malformed."),
            ])),
        ),
        (
            "GetUserConfiguration".to_string(),
            response::<GetUserConfiguration>(&ResponseMessages::new(vec![
                ResponseMessage::success(UserConfiguration {
                    object: Some(UserConfigurationObject {
                        name: config_name(),
                        item_id: Some(ItemId::new("AAMkCfg=")),
                        xml_data: Some("PGEvPg==".into()),
                        binary_data: None,
                    }),
                }),
                {
                    let (code, text) =
                        not_found("The specified object was not found in the store.");
                    ResponseMessage::error(code, text)
                },
            ])),
        ),
        (
            "ExpandDL".to_string(),
            response::<ExpandDL>(&ResponseMessages::new(vec![ResponseMessage::success(
                DLExpansion {
                    paging: ews_client::types::shape::PagingInfo {
                        indexed_paging_offset: None,
                        includes_last_item_in_range: Some(true),
                        total_items_in_view: Some(2),
                    },
                    members: vec![
                        EmailAddress::smtp("anna@contoso.com", Some("Anna")),
                        EmailAddress::smtp("bob@contoso.com", Some("Bob")),
                    ],
                    present: true,
                },
            )])),
        ),
        (
            "GetServerTimeZones".to_string(),
            response::<GetServerTimeZones>(&ResponseMessages::new(vec![ResponseMessage::success(
                TimeZoneDefinitions {
                    definitions: vec![TimeZoneDefinition {
                        name: Some("(UTC+01:00) Amsterdam, Berlin".into()),
                        ..TimeZoneDefinition::windows("W. Europe Standard Time")
                    }],
                    present: true,
                },
            )])),
        ),
        (
            "GetUserOofSettings".to_string(),
            response::<GetUserOofSettings>(&GetUserOofSettingsResponse {
                message: ResponseMessage::success(()),
                oof_settings: Some(UserOofSettings {
                    oof_state: OofState::Scheduled,
                    external_audience: ExternalAudience::Known,
                    duration: Some((
                        Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap(),
                        Utc.with_ymd_and_hms(2025, 7, 15, 0, 0, 0).unwrap(),
                    )),
                    internal_reply: Some("Away".into()),
                    external_reply: Some(String::new()),
                }),
                allow_external_oof: Some(ExternalAudience::All),
            }),
        ),
        (
            "GetUserAvailability".to_string(),
            response::<GetUserAvailability>(&GetUserAvailabilityResponse {
                free_busy: vec![
                    ews_client::ops::FreeBusyResponse {
                        message: ResponseMessage::success(()),
                        view: Some(ews_client::ops::FreeBusyView {
                            view_type: "FreeBusy".into(),
                            merged_free_busy: Some("0220".into()),
                            events: vec![ews_client::ops::CalendarEvent {
                                start: "2025-07-01T09:00:00".into(),
                                end: "2025-07-01T10:00:00".into(),
                                busy_type: ews_client::types::calendar::LegacyFreeBusy::Busy,
                            }],
                        }),
                    },
                    ews_client::ops::FreeBusyResponse {
                        message: ResponseMessage::error(
                            ResponseCode::ErrorMailRecipientNotFound,
                            "The mail recipient was not found.",
                        ),
                        view: None,
                    },
                ],
            }),
        ),
        (
            "GetUserPhoto".to_string(),
            response::<GetUserPhoto>(&GetUserPhotoResponse(ResponseMessage::success(
                ews_client::ops::UserPhoto {
                    has_changed: true,
                    picture_data: Some("iVBORw0KGgo=".into()),
                },
            ))),
        ),
        (
            "GetUserPhoto error".to_string(),
            response::<GetUserPhoto>(&GetUserPhotoResponse(ResponseMessage::error(
                ResponseCode::ErrorItemNotFound,
                "The photo wasn't found.",
            ))),
        ),
        (
            "GetUserOofSettings error".to_string(),
            response::<GetUserOofSettings>(&GetUserOofSettingsResponse {
                message: ResponseMessage::error(
                    ResponseCode::ErrorNonExistentMailbox,
                    "No mailbox.",
                ),
                oof_settings: None,
                allow_external_oof: None,
            }),
        ),
    ];
    validate(&docs);
}
