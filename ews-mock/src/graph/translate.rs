//! `translateExchangeIds`: EWS ids to Graph ids and back, items and folders, one mailbox.

use graph_client::translate::{
    ConvertIdResult, ExchangeIdFormat, GenericError, MAX_IDS, TranslateExchangeIds,
};

use super::ids as gids;
use super::{Reply, Request, parse_body};
use crate::ids::{IdKind, decode_id, encode_id};

fn is_rest(f: ExchangeIdFormat) -> bool {
    matches!(
        f,
        ExchangeIdFormat::RestId | ExchangeIdFormat::RestImmutableEntryId
    )
}

/// The (kind, key) an id of `format` names in `mailbox`.
fn decode(
    graph: &super::GraphState,
    format: ExchangeIdFormat,
    mailbox: &str,
    id: &str,
) -> Option<(IdKind, u64)> {
    [IdKind::Item, IdKind::Folder].into_iter().find_map(|kind| {
        if format == ExchangeIdFormat::EwsId {
            decode_id(kind, id)
                .ok()
                .filter(|d| d.mailbox.eq_ignore_ascii_case(mailbox))
                .map(|d| (kind, d.key))
        } else if is_rest(format) && kind == IdKind::Item {
            graph.item_key(mailbox, id).map(|k| (kind, k))
        } else if is_rest(format) {
            gids::decode(kind, mailbox, id).map(|k| (kind, k))
        } else {
            None
        }
    })
}

pub(crate) fn translate(req: &Request<'_>) -> Reply {
    let body: TranslateExchangeIds = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.input_ids.len() > MAX_IDS {
        return Reply::bad_request("At most 1000 ids can be translated in one request.");
    }
    let supported = |f: ExchangeIdFormat| f == ExchangeIdFormat::EwsId || is_rest(f);
    if !supported(body.source_id_type) || !supported(body.target_id_type) {
        return Reply::bad_request(
            "The mock translates only between ewsId, restId and restImmutableEntryId.",
        );
    }
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let value: Vec<ConvertIdResult> = body
        .input_ids
        .iter()
        .map(|id| {
            let target = decode(&req.shared.graph, body.source_id_type, &mb.address, id).map(
                |(kind, key)| {
                    if body.target_id_type == ExchangeIdFormat::EwsId {
                        encode_id(kind, &mb.id_address(), key, 0)
                    } else if kind == IdKind::Item {
                        req.shared.graph.item_id(&mb.address, key)
                    } else {
                        gids::encode(kind, &mb.address, key)
                    }
                },
            );
            match target {
                Some(t) => ConvertIdResult {
                    source_id: Some(id.clone()),
                    target_id: Some(t),
                    error_details: None,
                },
                None => ConvertIdResult {
                    source_id: Some(id.clone()),
                    target_id: None,
                    error_details: Some(GenericError {
                        code: Some("ErrorInvalidIdMalformed".to_string()),
                        message: Some("Id is malformed.".to_string()),
                    }),
                },
            }
        })
        .collect();
    super::common::page_reply(value, None)
}
