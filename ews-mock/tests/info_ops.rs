//! Operations clients call at logon and for directory data (ConvertId, GetUserConfiguration,
//! ExpandDL, GetServerTimeZones, GetUserOofSettings, GetUserPhoto) and the answer to an operation the
//! schema does not declare; every response is validated against the vendored EWS schema.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use common::*;
use ews_client::envelope;
use ews_client::ops::{
    AlternateId, ConvertId, ExpandDL, GetFolder, GetServerTimeZones, GetUserConfiguration,
    GetUserOofSettings, GetUserPhoto, IdFormat, OofState, UserConfigurationName,
};
use ews_client::types::{DistinguishedFolderName as D, EmailAddress};

#[tokio::test]
async fn convert_id_names_the_mailbox_and_round_trips_formats() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let inbox = ews.call(&GetFolder::new([D::Inbox])).await.messages[0]
        .content
        .folders[0]
        .folder_id
        .clone()
        .unwrap()
        .id;
    let convert = |format: IdFormat, id: &str, to: IdFormat| ConvertId {
        destination_format: to,
        source_ids: vec![AlternateId {
            format,
            id: id.to_string(),
            // clients pass the logon name they know; the answer names the primary address
            mailbox: "BOB@contoso.test".into(),
            is_archive: None,
        }],
    };
    let r = ews
        .call(&convert(IdFormat::EwsId, &inbox, IdFormat::HexEntryId))
        .await;
    assert_eq!(codes(&r), ["NoError"]);
    let hex = r.messages[0].content.alternate_id.clone().unwrap();
    assert_eq!(hex.mailbox, "bob@contoso.test");
    assert_eq!(hex.format, IdFormat::HexEntryId);
    assert!(hex.id.chars().all(|c| c.is_ascii_hexdigit()));
    let back = ews
        .call(&convert(IdFormat::HexEntryId, &hex.id, IdFormat::EwsId))
        .await;
    assert_eq!(
        back.messages[0].content.alternate_id.as_ref().unwrap().id,
        inbox
    );
    let bad = ews
        .call(&convert(IdFormat::EwsId, "bm90IGFuIGlk", IdFormat::EwsId))
        .await;
    assert_eq!(codes(&bad), ["ErrorInvalidIdMalformed"]);
    ews.validate();
}

#[tokio::test]
async fn directory_and_settings_operations_answer_as_exchange() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let config = ews
        .call(&GetUserConfiguration {
            name: UserConfigurationName {
                name: "OWA.UserOptions".into(),
                folder: D::Root.into(),
            },
            properties: "All".into(),
        })
        .await;
    assert_eq!(codes(&config), ["ErrorItemNotFound"]);

    let team = ews
        .call(&ExpandDL {
            mailbox: EmailAddress::smtp("team@contoso.test", None),
        })
        .await;
    assert_eq!(codes(&team), ["NoError"]);
    let members: Vec<_> = team.messages[0]
        .content
        .members
        .iter()
        .map(|m| (m.name.clone().unwrap(), m.email_address.clone().unwrap()))
        .collect();
    assert_eq!(
        members,
        [
            ("Alice Admin".to_string(), "alice@contoso.test".to_string()),
            ("Bob".to_string(), "bob@contoso.test".to_string())
        ]
    );
    let not_a_list = ews
        .call(&ExpandDL {
            mailbox: EmailAddress::smtp("bob@contoso.test", None),
        })
        .await;
    assert_eq!(codes(&not_a_list), ["ErrorNameResolutionNoResults"]);

    let all = ews.call(&GetServerTimeZones::default()).await;
    let zones = &all.messages[0].content.definitions;
    assert!(zones.len() > 100, "{}", zones.len());
    assert!(
        zones
            .iter()
            .any(|z| z.id.as_deref() == Some("W. Europe Standard Time"))
    );
    let some = ews
        .call(&GetServerTimeZones {
            ids: vec!["W. Europe Standard Time".into(), "No Such Zone".into()],
            return_full_time_zone_data: Some(false),
        })
        .await;
    assert_eq!(some.messages[0].content.definitions.len(), 1);

    let own = ews
        .call(&GetUserOofSettings {
            address: "bob@contoso.test".into(),
        })
        .await;
    assert_eq!(own.message.status.code.as_str(), "NoError");
    assert_eq!(own.oof_settings.unwrap().oof_state, OofState::Disabled);
    let other = ews
        .call(&GetUserOofSettings {
            address: "alice@contoso.test".into(),
        })
        .await;
    assert_eq!(other.message.status.code.as_str(), "ErrorAccessDenied");
    let nobody = ews
        .call(&GetUserOofSettings {
            address: "nobody@contoso.test".into(),
        })
        .await;
    assert_eq!(
        nobody.message.status.code.as_str(),
        "ErrorMailRecipientNotFound"
    );

    let photo = |email: &str| GetUserPhoto {
        email: email.into(),
        size_requested: "HR96x96".into(),
    };
    let none = ews.call(&photo("alice@contoso.test")).await;
    assert_eq!(none.0.status.code.as_str(), "ErrorItemNotFound");
    assert!(none.0.content.picture_data.is_none());
    let unknown = ews.call(&photo("nobody@contoso.test")).await;
    assert_eq!(unknown.0.status.code.as_str(), "ErrorMailRecipientNotFound");
    ews.validate();
}

#[tokio::test]
async fn an_undeclared_operation_fails_schema_validation() {
    let mock = start().await;
    let body = envelope("FrobnicateFolder", None);
    let resp = post_basic(&mock, "bob@contoso.test", "bob-pw", body).await;
    assert_eq!(resp.status(), 500);
    let fault = envelope::read_fault(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(fault.code().unwrap().as_str(), "ErrorSchemaValidation");
    assert!(fault.fault_string.contains("FrobnicateFolder"), "{fault:?}");
    // a schema operation the mock does not model says so
    let body = envelope("GetDelegate", None);
    let resp = post_basic(&mock, "bob@contoso.test", "bob-pw", body).await;
    assert_eq!(resp.status(), 500);
    let fault = envelope::read_fault(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(fault.code().unwrap().as_str(), "ErrorInvalidRequest");
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn availability_lists_the_calendar_in_the_requested_time_zone() {
    use ews_client::ops::{
        CreateItem, FreeBusyViewOptions, GetUserAvailability, MailboxData, SerializableTimeZone,
        TimeZoneTransition,
    };
    use ews_client::types::calendar::LegacyFreeBusy;
    use ews_client::types::{CalendarItem, Item};
    let mock = start().await;
    let alice = Ews::as_user(&mock, "alice@contoso.test", "alice-pw");
    let event = |subject: &str, start: &str, end: &str, status: LegacyFreeBusy| {
        let mut c = CalendarItem {
            start: Some(start.parse().unwrap()),
            end: Some(end.parse().unwrap()),
            legacy_free_busy_status: Some(status),
            ..CalendarItem::default()
        };
        c.common.subject = Some(subject.into());
        Item::CalendarItem(c)
    };
    let created = alice
        .call(&CreateItem::save(
            vec![
                event(
                    "Review",
                    "2025-07-01T09:00:00Z",
                    "2025-07-01T10:00:00Z",
                    LegacyFreeBusy::Busy,
                ),
                event(
                    "Maybe",
                    "2025-07-01T13:00:00Z",
                    "2025-07-01T14:00:00Z",
                    LegacyFreeBusy::Tentative,
                ),
                event(
                    "Other day",
                    "2025-07-03T09:00:00Z",
                    "2025-07-03T10:00:00Z",
                    LegacyFreeBusy::Busy,
                ),
            ],
            None,
        ))
        .await;
    assert_eq!(codes(&created), ["NoError"; 3]);
    let transition = |bias, time: &str, month| TimeZoneTransition {
        bias,
        time: time.into(),
        day_order: 5,
        month,
        day_of_week: "Sunday".into(),
    };
    // Europe/Berlin: UTC+2 in July
    let berlin = SerializableTimeZone {
        bias: -60,
        standard: transition(0, "03:00:00", 10),
        daylight: transition(-60, "02:00:00", 3),
    };
    let bob = Ews::bob(&mock);
    let r = bob
        .call(&GetUserAvailability {
            time_zone: Some(berlin),
            mailboxes: vec![
                MailboxData {
                    address: "alice@contoso.test".into(),
                    attendee_type: "Required".into(),
                },
                MailboxData {
                    address: "nobody@contoso.test".into(),
                    attendee_type: "Required".into(),
                },
            ],
            free_busy_view_options: Some(FreeBusyViewOptions {
                start: "2025-07-01T00:00:00".into(),
                end: "2025-07-02T00:00:00".into(),
                merged_interval_minutes: Some(60),
                requested_view: Some("FreeBusyMerged".into()),
            }),
        })
        .await;
    assert_eq!(r.free_busy.len(), 2);
    assert_eq!(r.free_busy[0].message.status.code.as_str(), "NoError");
    let view = r.free_busy[0].view.as_ref().unwrap();
    let events: Vec<(&str, &str, LegacyFreeBusy)> = view
        .events
        .iter()
        .map(|e| (e.start.as_str(), e.end.as_str(), e.busy_type))
        .collect();
    assert_eq!(
        events,
        [
            (
                "2025-07-01T11:00:00",
                "2025-07-01T12:00:00",
                LegacyFreeBusy::Busy
            ),
            (
                "2025-07-01T15:00:00",
                "2025-07-01T16:00:00",
                LegacyFreeBusy::Tentative
            )
        ]
    );
    assert_eq!(
        view.merged_free_busy.as_deref(),
        Some("000000000002000100000000")
    );
    assert_eq!(
        r.free_busy[1].message.status.code.as_str(),
        "ErrorMailRecipientNotFound"
    );
    alice.validate();
    bob.validate();
}
