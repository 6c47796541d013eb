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
    let inbox = ews
        .call(&GetFolder::new(vec![D::Inbox.into()]))
        .await
        .messages[0]
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
