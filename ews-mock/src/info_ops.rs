//! Operations clients call around logon and for directory information: ConvertId,
//! GetUserConfiguration, ExpandDL, GetServerTimeZones, GetUserOofSettings, GetUserPhoto,
//! GetUserAvailability (free/busy). Requests and
//! responses are `ews-client`'s types; the answers follow Exchange for the mock's data.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ews_client::ops::{
    AlternateId, CalendarEvent, ConvertId, ConvertIdResult, DLExpansion, ExpandDL,
    ExternalAudience, FreeBusyResponse, FreeBusyView, GetServerTimeZones, GetUserAvailability,
    GetUserAvailabilityResponse, GetUserConfiguration, GetUserOofSettings,
    GetUserOofSettingsResponse, GetUserPhoto, GetUserPhotoResponse, IdFormat, OofState,
    SerializableTimeZone, TimeZoneDefinitions, UserConfiguration, UserOofSettings,
};
use ews_client::types::EmailAddress;
use ews_client::types::response::{ResponseCode, ResponseMessage, ResponseMessages};
use ews_client::types::shape::PagingInfo;
use ews_client::types::timezone::{TimeZoneDefinition, windows_zones};

use crate::ews::Target;
use crate::ids::{self, IdKind};
use crate::server::Shared;

fn raw_id(format: IdFormat, id: &str) -> Option<Vec<u8>> {
    let id = id.trim();
    match format {
        IdFormat::HexEntryId => {
            if !id.len().is_multiple_of(2) {
                return None;
            }
            (0..id.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(id.get(i..i + 2)?, 16).ok())
                .collect()
        }
        _ => STANDARD.decode(id).ok(),
    }
}

fn format_id(format: IdFormat, raw: &[u8]) -> String {
    match format {
        IdFormat::HexEntryId => raw.iter().map(|b| format!("{b:02X}")).collect(),
        _ => STANDARD.encode(raw),
    }
}

/// ConvertId: the mock's ids are one binary record, written as base64 in every format but
/// `HexEntryId` (hex); the answer names the primary SMTP address of the id's mailbox.
pub(crate) fn convert_id(
    shared: &Shared,
    _target: &Target,
    req: ConvertId,
) -> ResponseMessages<ConvertIdResult> {
    let store = shared.read();
    ResponseMessages::new(
        req.source_ids
            .iter()
            .map(|source| {
                let malformed = || {
                    ResponseMessage::error(
                        ResponseCode::ErrorInvalidIdMalformed,
                        "Id is malformed.",
                    )
                };
                let Some(raw) = raw_id(source.format, &source.id) else {
                    return malformed();
                };
                let b64 = STANDARD.encode(&raw);
                let decoded = [
                    IdKind::Item,
                    IdKind::Folder,
                    IdKind::Occurrence,
                    IdKind::Attachment,
                ]
                .into_iter()
                .find_map(|k| ids::decode_id(k, &b64).ok());
                let Some(decoded) = decoded else {
                    return malformed();
                };
                let Some(mb) = store.mailbox(&decoded.mailbox) else {
                    return ResponseMessage::error(
                        ResponseCode::ErrorNonExistentMailbox,
                        "The SMTP address has no mailbox associated with it.",
                    );
                };
                ResponseMessage::success(ConvertIdResult {
                    alternate_id: Some(AlternateId {
                        format: req.destination_format,
                        id: format_id(req.destination_format, &raw),
                        mailbox: mb.address.clone(),
                        is_archive: None,
                    }),
                })
            })
            .collect(),
    )
}

/// GetUserConfiguration: the mock keeps no user configuration objects, so every existing
/// folder answers `ErrorItemNotFound`, as Exchange does for an object never created.
pub(crate) fn get_user_configuration(
    shared: &Shared,
    target: &Target,
    req: GetUserConfiguration,
) -> ResponseMessages<UserConfiguration> {
    let store = shared.read();
    let message = match crate::ews::resolve_folder(&store, target, &req.name.folder) {
        Ok(_) => ResponseMessage::error(
            ResponseCode::ErrorItemNotFound,
            "The specified object was not found in the store.",
        ),
        Err(e) => ResponseMessage::error(ResponseCode::parse(e.response_code()), e.to_string()),
    };
    ResponseMessages::new(vec![message])
}

/// ExpandDL: the members of a distribution group of the organisation (users and nested
/// groups, not expanded further); anything else is `ErrorNameResolutionNoResults`.
pub(crate) fn expand_dl(
    shared: &Shared,
    _target: &Target,
    req: ExpandDL,
) -> ResponseMessages<DLExpansion> {
    let store = shared.read();
    let address = req
        .mailbox
        .email_address
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some(group) = store.groups.get(&address) else {
        return ResponseMessages::new(vec![ResponseMessage::error(
            ResponseCode::ErrorNameResolutionNoResults,
            "No results were found.",
        )]);
    };
    let members: Vec<EmailAddress> = group
        .members
        .iter()
        .map(|m| {
            let lower = m.trim().to_ascii_lowercase();
            let (name, kind) = match (store.user(&lower), store.groups.get(&lower)) {
                (Some(u), _) => (u.display_name.clone(), "Mailbox"),
                (None, Some(g)) => (g.display_name.clone(), "PublicDL"),
                (None, None) => (m.trim().to_string(), "OneOff"),
            };
            EmailAddress {
                name: Some(name),
                email_address: Some(m.trim().to_string()),
                routing_type: Some("SMTP".to_string()),
                mailbox_type: kind.parse().ok(),
                item_id: None,
                original_display_name: None,
            }
        })
        .collect();
    let n = u32::try_from(members.len()).unwrap_or(u32::MAX);
    ResponseMessages::new(vec![ResponseMessage::success(DLExpansion {
        paging: PagingInfo {
            indexed_paging_offset: None,
            includes_last_item_in_range: Some(true),
            total_items_in_view: Some(n),
        },
        members,
        present: true,
    })])
}

/// GetServerTimeZones: every Windows time zone of the CLDR table (or the requested ones that
/// exist), by id and name. Periods and transitions are not given, even with
/// `ReturnFullTimeZoneData`.
pub(crate) fn get_server_time_zones(
    _shared: &Shared,
    _target: &Target,
    req: GetServerTimeZones,
) -> ResponseMessages<TimeZoneDefinitions> {
    let mut definitions: Vec<TimeZoneDefinition> = windows_zones()
        .filter(|(id, _)| req.ids.is_empty() || req.ids.iter().any(|w| w == id))
        .map(|(id, _)| TimeZoneDefinition {
            name: Some(id.to_string()),
            ..TimeZoneDefinition::windows(id)
        })
        .collect();
    definitions.dedup_by(|a, b| a.id == b.id);
    ResponseMessages::new(vec![ResponseMessage::success(TimeZoneDefinitions {
        definitions,
        present: true,
    })])
}

/// GetUserOofSettings: the settings of a new Exchange mailbox (automatic replies off, replies
/// to all external senders allowed, empty messages) for the caller's own or impersonated
/// mailbox; another existing mailbox is `ErrorAccessDenied`, an unknown one
/// `ErrorMailRecipientNotFound`.
pub(crate) fn get_user_oof_settings(
    shared: &Shared,
    target: &Target,
    req: GetUserOofSettings,
) -> GetUserOofSettingsResponse {
    let store = shared.read();
    let error = |code: ResponseCode, text: &str| GetUserOofSettingsResponse {
        message: ResponseMessage::error(code, text),
        oof_settings: None,
        allow_external_oof: None,
    };
    let Some(mb) = store.mailbox(&req.address) else {
        return error(
            ResponseCode::ErrorMailRecipientNotFound,
            "The mail recipient was not found.",
        );
    };
    if !mb.address.eq_ignore_ascii_case(&target.mailbox) {
        return error(
            ResponseCode::ErrorAccessDenied,
            "Access is denied. Check credentials and try again.",
        );
    }
    GetUserOofSettingsResponse {
        message: ResponseMessage::success(()),
        oof_settings: Some(UserOofSettings {
            oof_state: OofState::Disabled,
            external_audience: ExternalAudience::All,
            duration: None,
            internal_reply: Some(String::new()),
            external_reply: Some(String::new()),
        }),
        allow_external_oof: Some(ExternalAudience::All),
    }
}

/// GetUserPhoto: the mock keeps no photos; a user of the organisation answers
/// `ErrorItemNotFound` ("The photo wasn't found."), as Exchange does for a user without a
/// photo; an unknown address `ErrorMailRecipientNotFound`.
pub(crate) fn get_user_photo(
    shared: &Shared,
    _target: &Target,
    req: GetUserPhoto,
) -> GetUserPhotoResponse {
    let store = shared.read();
    let message = if store.user(&req.email).is_some() {
        ResponseMessage::error(ResponseCode::ErrorItemNotFound, "The photo wasn't found.")
    } else {
        ResponseMessage::error(
            ResponseCode::ErrorMailRecipientNotFound,
            "The mail recipient was not found.",
        )
    };
    GetUserPhotoResponse(message)
}

/// GetUserAvailability (free/busy): the events of each mailbox's calendar overlapping the
/// window (recurring series expanded), in start order, with their free/busy status and times
/// local to the request's time zone; with a merged view also one digit per interval. Details
/// (subject, location) are not given: the view answered is `FreeBusy` or `FreeBusyMerged`, as
/// for a caller with Exchange's default free/busy permission. An unknown address is
/// `ErrorMailRecipientNotFound`; a request without a valid time window `ErrorInvalidRequest`.
pub(crate) fn get_user_availability(
    shared: &Shared,
    _target: &Target,
    req: GetUserAvailability,
) -> GetUserAvailabilityResponse {
    use chrono::{DateTime, Duration, Utc};
    use ews_client::types::calendar::LegacyFreeBusy;
    let store = shared.read();
    let tz = req
        .time_zone
        .clone()
        .unwrap_or_else(SerializableTimeZone::utc);
    let error = |code: ResponseCode, text: &str| FreeBusyResponse {
        message: ResponseMessage::error(code, text),
        view: None,
    };
    let window = req.free_busy_view_options.as_ref().and_then(|o| {
        let (start, end) = (tz.parse_time(&o.start)?, tz.parse_time(&o.end)?);
        (start < end).then_some((o, start, end))
    });
    let free_busy = req
        .mailboxes
        .iter()
        .map(|m| {
            let Some((options, start, end)) = window else {
                return error(
                    ResponseCode::ErrorInvalidRequest,
                    "The request needs FreeBusyViewOptions with a valid TimeWindow.",
                );
            };
            let Some(mb) = store.mailbox(&m.address) else {
                return error(
                    ResponseCode::ErrorMailRecipientNotFound,
                    "The mail recipient was not found.",
                );
            };
            let mut events: Vec<(DateTime<Utc>, DateTime<Utc>, LegacyFreeBusy)> = Vec::new();
            let calendar = mb
                .distinguished("calendar")
                .and_then(|k| mb.folders.get(&k));
            for stored in calendar
                .iter()
                .flat_map(|f| f.items.iter())
                .filter_map(|k| mb.items.get(k))
            {
                let crate::store::EwsItem::CalendarItem(c) = &stored.item else {
                    continue;
                };
                let status = c.legacy_free_busy_status.unwrap_or(LegacyFreeBusy::Busy);
                if c.recurrence.is_some() {
                    for occ in crate::recur::occurrences(c, Some(start), end) {
                        if occ.end > start && occ.start < end {
                            events.push((occ.start, occ.end, status));
                        }
                    }
                } else if let (Some(s), Some(e)) = (c.start, c.end)
                    && s < end
                    && e > start
                {
                    events.push((s, e, status));
                }
            }
            events.sort_by_key(|(s, e, _)| (*s, *e));
            let view = options.requested_view.as_deref().unwrap_or("FreeBusy");
            let merged = view.contains("Merged");
            let merged_free_busy = merged.then(|| {
                let step = Duration::minutes(i64::from(
                    options.merged_interval_minutes.unwrap_or(30).clamp(5, 1440),
                ));
                let digit = |s: &LegacyFreeBusy| match s {
                    LegacyFreeBusy::Free => 0,
                    LegacyFreeBusy::Tentative => 1,
                    LegacyFreeBusy::Busy => 2,
                    LegacyFreeBusy::Oof => 3,
                    LegacyFreeBusy::WorkingElsewhere => 4,
                    _ => 5,
                };
                let mut out = String::new();
                let mut slot = start;
                while slot < end {
                    let next = slot + step;
                    let d = events
                        .iter()
                        .filter(|(s, e, _)| *s < next && *e > slot)
                        .map(|(_, _, st)| digit(st))
                        .max()
                        .unwrap_or(0);
                    out.push(char::from(b'0' + d));
                    slot = next;
                }
                out
            });
            let local = |t: DateTime<Utc>| tz.to_local(t).format("%Y-%m-%dT%H:%M:%S").to_string();
            FreeBusyResponse {
                message: ResponseMessage::success(()),
                view: Some(FreeBusyView {
                    view_type: if view == "MergedOnly" {
                        "MergedOnly".to_string()
                    } else if merged {
                        "FreeBusyMerged".to_string()
                    } else {
                        "FreeBusy".to_string()
                    },
                    merged_free_busy,
                    events: events
                        .iter()
                        .map(|(s, e, st)| CalendarEvent {
                            start: local(*s),
                            end: local(*e),
                            busy_type: *st,
                        })
                        .collect(),
                }),
            }
        })
        .collect();
    GetUserAvailabilityResponse { free_busy }
}
