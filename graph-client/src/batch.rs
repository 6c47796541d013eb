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
        let retry_after = header_seconds(&self.headers);
        let body = self
            .body
            .map(|b| serde_json::to_vec(&b).unwrap_or_default())
            .unwrap_or_default();
        Err(Error::from_api(ApiError::from_body(
            self.status,
            &body,
            retry_after,
            // the client already cleaned an inner error answer of its secrets (`Client::batch`);
            // here: credential patterns, control characters and length
            &ews_client::transport::Scrubber::new(),
        )))
    }
}

/// Replaces every string in a JSON value by its scrubbed form.
fn scrub_json(value: &mut serde_json::Value, scrubber: &ews_client::transport::Scrubber) {
    match value {
        serde_json::Value::String(s) => *s = scrubber.scrub(s),
        serde_json::Value::Array(items) => {
            for v in items {
                scrub_json(v, scrubber);
            }
        }
        serde_json::Value::Object(map) => {
            for v in map.values_mut() {
                scrub_json(v, scrubber);
            }
        }
        _ => {}
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
    ///
    /// Graph applies its per-mailbox limits to each inner request, so some may answer 429
    /// (or 503): those were not run, nor were the requests that failed with 424 because
    /// they depend on them. They are sent again in a smaller batch after the longest
    /// `Retry-After` (at least the configured floor), up to `retry.max_attempts` rounds;
    /// what is still throttled then is returned as it came. The HTTP call itself is
    /// repeated after a transport failure only if every request in it is a GET.
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
        let config = self.config();
        let deadline = std::time::Instant::now() + config.call_timeout;
        let mut done: HashMap<String, BatchResponse> = HashMap::new();
        let mut pending: Vec<BatchRequest> = requests.clone();
        let mut round = 0u32;
        loop {
            round += 1;
            let answers = self.batch_once(mailbox, &pending).await?;
            let mut retry_ids: HashSet<String> = HashSet::new();
            let mut requested: Option<std::time::Duration> = None;
            for (request, response) in pending.iter().zip(&answers) {
                let throttled = matches!(response.status, 429 | 503);
                let blocked = response.status == 424
                    && request.depends_on.iter().any(|d| retry_ids.contains(d));
                if throttled && let Some(after) = header_seconds(&response.headers) {
                    requested = Some(requested.map_or(after, |r| r.max(after)));
                }
                if throttled || blocked {
                    retry_ids.insert(request.id.clone());
                }
            }
            // the same floor, growth and jitter as every server-requested wait
            let wait = config.retry.server_wait(requested, round);
            let may_retry = !retry_ids.is_empty()
                && round < config.retry.max_attempts
                && requested.is_none_or(|r| r <= config.retry.max_retry_after)
                && std::time::Instant::now() + wait < deadline;
            for (request, response) in pending.iter().zip(answers) {
                if !may_retry || !retry_ids.contains(&request.id) {
                    done.insert(request.id.clone(), response);
                }
            }
            if !may_retry {
                break;
            }
            tracing::debug!(
                retrying = retry_ids.len(),
                ?wait,
                "$batch requests throttled"
            );
            tokio::time::sleep(wait).await;
            pending = pending
                .into_iter()
                .filter(|r| retry_ids.contains(&r.id))
                .map(|mut r| {
                    // Dependencies that already succeeded are not in the new batch.
                    r.depends_on.retain(|d| retry_ids.contains(d));
                    r
                })
                .collect();
        }
        requests
            .iter()
            .map(|r| {
                let mut response = done.remove(&r.id).ok_or_else(|| {
                    Error::protocol(format!(
                        "$batch answer has no response for request {}",
                        r.id
                    ))
                })?;
                // An inner error answer's text reaches errors: clean it of every secret this
                // client holds (the outer answer is cleaned by the transport).
                if !(200..300).contains(&response.status)
                    && let Some(body) = response.body.as_mut()
                {
                    scrub_json(body, self.scrubber());
                }
                Ok(response)
            })
            .collect()
    }

    /// One `$batch` HTTP call; the responses in the order of `requests`.
    async fn batch_once(
        &self,
        mailbox: &str,
        requests: &[BatchRequest],
    ) -> Result<Vec<BatchResponse>, Error> {
        let all_reads = requests
            .iter()
            .all(|r| r.method.eq_ignore_ascii_case("GET"));
        let body = serde_json::to_vec(&BatchBody {
            requests: requests.to_vec(),
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

fn header_seconds(headers: &BTreeMap<String, String>) -> Option<std::time::Duration> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs)
}
