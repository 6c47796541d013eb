//! JSON `$batch`: up to 20 requests in one HTTP call, `dependsOn`, one result per request
//! in request order; a request whose dependency failed answers 424
//! ([`Error::FailedDependency`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::{Body, Client, Request};
use crate::error::{ApiError, Error};

/// Most requests in one `$batch`.
pub const MAX_BATCH: usize = 20;

/// One request of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRequest {
    /// Unique id within the batch.
    pub id: String,
    /// HTTP method.
    pub method: String,
    /// URL relative to the service root, e.g. `/users/a@b/messages/ID`.
    pub url: String,
    /// Headers (`Content-Type` is set for JSON bodies, `Prefer` added by the client).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// Ids of requests that must succeed first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl BatchRequest {
    /// A GET of `url`.
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        Self::new(id, "GET", url, None)
    }

    /// A request with an optional JSON body.
    pub fn new(
        id: impl Into<String>,
        method: &str,
        url: impl Into<String>,
        body: Option<serde_json::Value>,
    ) -> Self {
        Self {
            id: id.into(),
            method: method.to_owned(),
            url: url.into(),
            headers: BTreeMap::new(),
            body,
            depends_on: Vec::new(),
        }
    }

    /// Runs after `ids` succeeded.
    pub fn depends_on(mut self, ids: &[&str]) -> Self {
        self.depends_on = ids.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Adds `If-Match`.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.headers.insert("If-Match".to_owned(), etag.into());
        self
    }
}

/// One response of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// The request's id.
    pub id: String,
    /// HTTP status.
    pub status: u16,
    /// Headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

impl BatchResponse {
    /// The result as a typed value (`None` for a body-less success), or the error the
    /// status and body mean (424 gives [`Error::FailedDependency`]).
    pub fn into_result<T: DeserializeOwned>(self) -> Result<Option<T>, Error> {
        if (200..300).contains(&self.status) {
            return match self.body {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(body) => serde_json::from_value(body)
                    .map(Some)
                    .map_err(|e| Error::decode("batch response body", e)),
            };
        }
        let retry_after = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let body = self
            .body
            .map(|b| serde_json::to_vec(&b).unwrap_or_default())
            .unwrap_or_default();
        Err(Error::from_api(ApiError::from_body(
            self.status,
            &body,
            retry_after,
        )))
    }
}

/// The `$batch` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchBody {
    /// The requests.
    pub requests: Vec<BatchRequest>,
}

/// The `$batch` response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchAnswer {
    /// The responses, in any order.
    pub responses: Vec<BatchResponse>,
}

fn validate(requests: &[BatchRequest]) -> Result<(), Error> {
    let invalid = |m: String| Err(Error::InvalidArgument(m));
    if requests.is_empty() || requests.len() > MAX_BATCH {
        return invalid(format!(
            "a batch holds 1 to {MAX_BATCH} requests, got {}",
            requests.len()
        ));
    }
    let mut earlier = HashSet::new();
    for r in requests {
        if r.id.is_empty() {
            return invalid("batch request without id".to_owned());
        }
        if !r.url.starts_with('/') {
            return invalid(format!(
                "batch request {} needs a relative URL starting with '/'",
                r.id
            ));
        }
        for d in &r.depends_on {
            if !earlier.contains(d.as_str()) {
                return invalid(format!(
                    "batch request {} depends on unknown or later id {d}",
                    r.id
                ));
            }
        }
        if !earlier.insert(r.id.as_str()) {
            return invalid(format!("duplicate batch request id {}", r.id));
        }
    }
    Ok(())
}

impl Client {
    /// Sends up to [`MAX_BATCH`] requests as one `$batch` on behalf of `mailbox` (whose
    /// limits it counts against) and returns one response per request, in request order.
    /// The batch is repeated after a failure only if every request in it is a GET.
    pub async fn batch(
        &self,
        mailbox: &str,
        mut requests: Vec<BatchRequest>,
    ) -> Result<Vec<BatchResponse>, Error> {
        validate(&requests)?;
        let prefer = match &self.config().timezone {
            Some(zone) => format!("IdType=\"ImmutableId\", outlook.timezone=\"{zone}\""),
            None => "IdType=\"ImmutableId\"".to_owned(),
        };
        for r in &mut requests {
            if r.body.is_some()
                && !r
                    .headers
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case("content-type"))
            {
                r.headers
                    .insert("Content-Type".to_owned(), "application/json".to_owned());
            }
            if !r.headers.keys().any(|k| k.eq_ignore_ascii_case("prefer")) {
                r.headers.insert("Prefer".to_owned(), prefer.clone());
            }
        }
        let all_reads = requests
            .iter()
            .all(|r| r.method.eq_ignore_ascii_case("GET"));
        let body = serde_json::to_vec(&BatchBody {
            requests: requests.clone(),
        })
        .map_err(|e| Error::InvalidArgument(format!("cannot serialize batch: {e}")))?;
        let url = self.url(&["$batch"], &[])?;
        let mut request = Request::new(Method::POST, url);
        request.mailbox = Some(mailbox.to_owned());
        request.idempotent = all_reads;
        request.cost = requests.len();
        request.body = Body::Json(Bytes::from(body));
        let answer: BatchAnswer = self.execute(request).await?.json("$batch response")?;
        let mut by_id: HashMap<String, BatchResponse> = HashMap::new();
        for response in answer.responses {
            if by_id.insert(response.id.clone(), response).is_some() {
                return Err(Error::protocol("$batch answered one id twice"));
            }
        }
        if by_id.len() != requests.len() {
            return Err(Error::protocol(format!(
                "$batch answered {} responses for {} requests",
                by_id.len(),
                requests.len()
            )));
        }
        requests
            .iter()
            .map(|r| {
                by_id.remove(&r.id).ok_or_else(|| {
                    Error::protocol(format!(
                        "$batch answer has no response for request {}",
                        r.id
                    ))
                })
            })
            .collect()
    }
}
