//! `translateExchangeIds`: EWS ids to Graph's immutable ids and back.

use http::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Mailbox, WriteOptions};
use crate::error::Error;
use crate::odata::Page;
use crate::schema::{graph_enum, graph_struct};

/// Most ids per call.
pub const MAX_IDS: usize = 1000;

graph_enum! {
    /// `exchangeIdFormat`.
    pub enum ExchangeIdFormat = "exchangeIdFormat" {
        EntryId = "entryId",
        EwsId = "ewsId",
        ImmutableEntryId = "immutableEntryId",
        RestId = "restId",
        RestImmutableEntryId = "restImmutableEntryId",
    }
}

graph_struct! {
    /// `genericError`.
    pub struct GenericError = "genericError" {
        "code" => code: String,
        "message" => message: String,
    }
}

graph_struct! {
    /// `convertIdResult`: one translated id, in request order.
    pub struct ConvertIdResult = "convertIdResult" {
        "sourceId" => source_id: String,
        "targetId" => target_id: String,
        "errorDetails" => error_details: GenericError,
    }
}

/// The body of `translateExchangeIds` (parameter names as Microsoft's reference writes
/// them; OData matches action parameters case-insensitively).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranslateExchangeIds {
    /// The ids to translate.
    pub input_ids: Vec<String>,
    /// The format wanted.
    pub target_id_type: ExchangeIdFormat,
    /// The format of `input_ids`.
    pub source_id_type: ExchangeIdFormat,
}

impl Mailbox {
    /// Translates up to [`MAX_IDS`] ids of this mailbox; one result per id, in order (a
    /// failed id carries `error_details`).
    pub async fn translate_exchange_ids(
        &self,
        ids: &[&str],
        source: ExchangeIdFormat,
        target: ExchangeIdFormat,
    ) -> Result<Vec<ConvertIdResult>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_IDS {
            return Err(Error::InvalidArgument(format!(
                "translateExchangeIds takes at most {MAX_IDS} ids, got {}",
                ids.len()
            )));
        }
        let body = TranslateExchangeIds {
            input_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            target_id_type: target,
            source_id_type: source,
        };
        let page: Page<ConvertIdResult> = self
            .send_json(
                Method::POST,
                &["translateExchangeIds"],
                &body,
                WriteOptions {
                    if_match: None,
                    idempotent: Some(true),
                },
                "translateExchangeIds",
            )
            .await?;
        if page.value.len() != ids.len() {
            return Err(Error::protocol(format!(
                "translateExchangeIds answered {} results for {} ids",
                page.value.len(),
                ids.len()
            )));
        }
        Ok(page.value)
    }
}
