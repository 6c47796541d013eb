//! The Microsoft Graph v1.0 front: the same mailbox store as the EWS front, seen through
//! Graph's JSON (graph-client's serde types; no JSON plumbing of its own beyond error bodies).
//!
//! - `token`: the Graph scope of the OAuth 2.0 token endpoint (client secret or a certificate
//!   client assertion verified against the app's configured certificate);
//! - `ids`: immutable ids, change keys and etags, delta tokens;
//! - `users`, `contacts`, `extended` (single-value extended properties), `translate`;
//! - this module: the `/v1.0/...` route (bearer token of the Graph audience, the app's roles
//!   and mailbox scope as RBAC for Applications gives them, the 4-requests-per-mailbox limit,
//!   the seeded faults of the EWS front, the request log) and Graph's error shape.

pub(crate) mod calendar;
pub(crate) mod common;
pub(crate) mod contacts;
pub mod exo;
pub(crate) mod extended;
pub(crate) mod ids;
pub(crate) mod mail;
pub(crate) mod messages;
pub(crate) mod outgoing;
pub(crate) mod todo;
pub(crate) mod token;
pub(crate) mod translate;
pub(crate) mod users;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde::{Deserialize, Serialize};

use crate::auth::{Credentials, TokenStore, parse_authorization};
use crate::faults::{Fault, Limits};
use crate::log::LogEntry;
use crate::server::{ConnInfo, Shared};

/// Graph settings of the organisation (`[graph]` in the data file).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GraphData {
    /// Graph settings per application (by client id). An app of `[[apps]]` without an entry
    /// here has every Graph permission on every mailbox (tenant-wide consent).
    pub apps: Vec<GraphAppData>,
    /// Concurrent requests per app and mailbox (Exchange Online: 4).
    pub max_concurrency_per_mailbox: Option<u32>,
    /// `Retry-After` (seconds) of a 429 for the concurrency limit (default 1).
    pub retry_after_secs: Option<u64>,
    /// Requests per app and mailbox within [`GraphData::window_secs`] (Exchange Online:
    /// 10,000 per 10 minutes); more answer 429 with the seconds until a slot frees.
    pub requests_per_window: Option<u32>,
    /// The window of [`GraphData::requests_per_window`] in seconds (default 600).
    pub window_secs: Option<u64>,
    /// Exchange Online's `EwsEnabled`: `false` switches the EWS front off (absent: on).
    pub ews_enabled: Option<bool>,
    /// Exchange Online's `EWSAllowedAppIDs`: when set, only these apps may use EWS.
    pub ews_allowed_app_ids: Option<Vec<String>>,
}

/// Graph settings of one application.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GraphAppData {
    /// The client id (as in `[[apps]]`).
    pub client_id: String,
    /// The app's certificate (PEM): client assertions signed by its key are accepted.
    pub certificate: Option<String>,
    /// Application permissions (`Contacts.ReadWrite`, `User.Read.All`, ...); empty: all.
    pub roles: Vec<String>,
    /// The mailboxes the app may act on (an RBAC for Applications management scope); absent:
    /// all mailboxes.
    pub mailboxes: Option<Vec<String>>,
}

/// Graph state beside the store: tokens of the Graph audience, the concurrency limit, the
/// delta epoch (delta tokens of an older epoch are expired).
pub(crate) struct GraphState {
    pub tokens: TokenStore,
    pub limits: Limits,
    pub apps: HashMap<String, GraphAppData>,
    pub delta_epoch: AtomicU64,
    pub retry_after_secs: u64,
    /// Items moved through Graph: (mailbox, current key) -> immutable key and back, so that
    /// an item's Graph id stays the same across moves (`Prefer: IdType="ImmutableId"`).
    pub moved: std::sync::Mutex<Moved>,
    /// The EWS switches (changed at run time through `/admin/graph/ews`).
    pub ews: std::sync::Mutex<exo::EwsSwitches>,
    /// Events created with a `transactionId`: (mailbox, transaction id) -> immutable key.
    pub transactions: std::sync::Mutex<HashMap<(String, String), u64>>,
    /// Attachment upload sessions by the token of their upload URL.
    pub uploads: std::sync::Mutex<HashMap<String, outgoing::Upload>>,
    /// The request budget: at most `.0` requests per app and mailbox within `.1`.
    pub budget: (u32, Duration),
    /// When each app and mailbox's requests of the current window arrived.
    pub spent: std::sync::Mutex<HashMap<String, std::collections::VecDeque<std::time::Instant>>>,
}

impl GraphState {
    pub fn new(data: &GraphData) -> Self {
        let max = data.max_concurrency_per_mailbox.unwrap_or(4).max(1);
        GraphState {
            tokens: TokenStore::default(),
            limits: Limits::new(max, max),
            apps: data
                .apps
                .iter()
                .map(|a| (a.client_id.to_ascii_lowercase(), a.clone()))
                .collect(),
            delta_epoch: AtomicU64::new(1),
            retry_after_secs: data.retry_after_secs.unwrap_or(1),
            moved: std::sync::Mutex::new(Moved::default()),
            ews: std::sync::Mutex::new(exo::EwsSwitches {
                ews_enabled: data.ews_enabled,
                ews_allowed_app_ids: data.ews_allowed_app_ids.clone(),
            }),
            transactions: std::sync::Mutex::new(HashMap::new()),
            uploads: std::sync::Mutex::new(HashMap::new()),
            budget: (
                data.requests_per_window.unwrap_or(10_000).max(1),
                Duration::from_secs(data.window_secs.unwrap_or(600).max(1)),
            ),
            spent: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Spends one request of `key`'s budget, or answers how long until a slot frees.
    pub fn spend(&self, key: &str) -> Result<(), Duration> {
        let now = std::time::Instant::now();
        let (max, window) = self.budget;
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let q = spent.entry(key.to_owned()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= max as usize {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }

    /// The immutable key of the event created with `transaction_id` in `mailbox`.
    pub fn transaction(&self, mailbox: &str, transaction_id: &str) -> Option<u64> {
        let map = self.transactions.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(mailbox.to_ascii_lowercase(), transaction_id.to_string()))
            .copied()
    }

    /// Records the event `key` as created with `transaction_id`.
    pub fn record_transaction(&self, mailbox: &str, transaction_id: &str, key: u64) {
        let immutable = ids::decode(
            crate::ids::IdKind::Item,
            mailbox,
            &self.item_id(mailbox, key),
        )
        .unwrap_or(key);
        let mut map = self.transactions.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(
            (mailbox.to_ascii_lowercase(), transaction_id.to_string()),
            immutable,
        );
    }

    /// The `transactionId` the event `key` was created with.
    pub fn transaction_of(&self, mailbox: &str, key: u64) -> Option<String> {
        let immutable = ids::decode(
            crate::ids::IdKind::Item,
            mailbox,
            &self.item_id(mailbox, key),
        )?;
        let mailbox = mailbox.to_ascii_lowercase();
        let map = self.transactions.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .find(|((m, _), k)| *m == mailbox && **k == immutable)
            .map(|((_, tx), _)| tx.clone())
    }

    /// The Graph (immutable) id of the item with store key `key`.
    pub fn item_id(&self, mailbox: &str, key: u64) -> String {
        let moved = self.moved.lock().unwrap_or_else(|p| p.into_inner());
        let immutable = moved
            .to_immutable
            .get(&(mailbox.to_ascii_lowercase(), key))
            .copied()
            .unwrap_or(key);
        ids::encode(crate::ids::IdKind::Item, mailbox, immutable)
    }

    /// The current store key of a Graph item id.
    pub fn item_key(&self, mailbox: &str, id: &str) -> Option<u64> {
        let immutable = ids::decode(crate::ids::IdKind::Item, mailbox, id)?;
        let moved = self.moved.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            moved
                .to_current
                .get(&(mailbox.to_ascii_lowercase(), immutable))
                .copied()
                .unwrap_or(immutable),
        )
    }

    /// Records that the item `old` is now `new` (moved), keeping its immutable id.
    pub fn record_move(&self, mailbox: &str, old: u64, new: u64) {
        let mailbox = mailbox.to_ascii_lowercase();
        let mut moved = self.moved.lock().unwrap_or_else(|p| p.into_inner());
        let immutable = moved
            .to_immutable
            .remove(&(mailbox.clone(), old))
            .unwrap_or(old);
        moved.to_immutable.insert((mailbox.clone(), new), immutable);
        moved.to_current.insert((mailbox, immutable), new);
    }

    /// Whether `app` holds one of `roles` (an app without Graph settings holds all).
    fn has_role(&self, app: &str, roles: &[&str]) -> bool {
        match self.apps.get(&app.to_ascii_lowercase()) {
            Some(a) if !a.roles.is_empty() => a
                .roles
                .iter()
                .any(|r| roles.iter().any(|want| r.eq_ignore_ascii_case(want))),
            _ => true,
        }
    }

    /// Whether `app` may act on `mailbox` (its management scope).
    fn in_scope(&self, app: &str, mailbox: &str) -> bool {
        match self
            .apps
            .get(&app.to_ascii_lowercase())
            .and_then(|a| a.mailboxes.as_ref())
        {
            Some(list) => list.iter().any(|m| m.eq_ignore_ascii_case(mailbox)),
            None => true,
        }
    }
}

/// Keys of items moved through Graph.
#[derive(Default)]
pub(crate) struct Moved {
    to_immutable: HashMap<(String, u64), u64>,
    to_current: HashMap<(String, u64), u64>,
}

/// The routes of the Graph front (merged into the mock's router).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/v1.0/{*path}", any(endpoint)).route(
        "/graph-upload/{token}",
        axum::routing::put(outgoing::upload),
    )
}

/// The Graph front's admin routes (merged into the admin router, behind its token).
pub(crate) fn admin_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/admin/graph/expire-delta-tokens", post(admin_expire_delta))
        .route(
            "/admin/graph/ews",
            axum::routing::get(exo::admin_get).post(exo::admin_set),
        )
}

async fn admin_expire_delta(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.graph.delta_epoch.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

/// A Graph answer before it becomes an HTTP response.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(header::HeaderName, String)>,
    /// The error code, for the log.
    pub code: Option<String>,
}

impl Reply {
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
        match serde_json::to_vec(value) {
            Ok(body) => Reply {
                status,
                body,
                content_type: "application/json; odata.metadata=minimal",
                headers: Vec::new(),
                code: None,
            },
            Err(e) => Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "generalException",
                &format!("serialising the answer: {e}"),
            ),
        }
    }

    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: Vec::new(),
            content_type: "text/plain",
            headers: Vec::new(),
            code: None,
        }
    }

    /// Graph's error body: `{"error": {"code", "message", "innerError": {...}}}`.
    pub fn error(status: StatusCode, code: &str, message: &str) -> Reply {
        let now = chrono::Utc::now();
        let body = serde_json::json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": uuid_like(now.timestamp_nanos_opt().unwrap_or_default() as u64),
                }
            }
        });
        Reply {
            status,
            body: serde_json::to_vec(&body).unwrap_or_default(),
            content_type: "application/json",
            headers: Vec::new(),
            code: Some(code.to_string()),
        }
    }

    pub fn not_found(what: &str) -> Reply {
        Reply::error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            &format!("The specified object was not found in the store. ({what})"),
        )
    }

    pub fn bad_request(message: &str) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 400 for a path no resource answers.
    pub fn no_segment() -> Reply {
        Reply::bad_request("Resource not found for the segment.")
    }

    /// 405 for a method a resource does not answer.
    pub fn method_not_allowed() -> Reply {
        Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            "The method is not allowed here.",
        )
    }

    pub fn access_denied() -> Reply {
        Reply::error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )
    }

    pub fn with_header(mut self, name: header::HeaderName, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body).into_response();
        if let Ok(v) = HeaderValue::from_str(self.content_type) {
            resp.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

/// A GUID-shaped string derived from `n`.
pub(crate) fn uuid_like(n: u64) -> String {
    guid_of(&n.to_le_bytes())
}

/// A GUID-shaped string of the first 16 bytes of the SHA-256 of `bytes`.
pub(crate) fn guid_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(bytes);
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// One Graph request, parsed: the mailbox, the path below `/users/{id}`, the query.
pub(crate) struct Request<'a> {
    pub shared: &'a Shared,
    pub method: Method,
    /// The mailbox address (lower case).
    pub mailbox: String,
    /// Path segments below `/users/{id}` (percent-decoded).
    pub path: Vec<String>,
    /// Query parameters (decoded).
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// `http://host:port/v1.0`.
    pub service_root: String,
}

impl Request<'_> {
    /// The journal position a delta request continues from: `None` for a first round, else
    /// the position in its `$deltatoken` or `$skiptoken` (of this `epoch`). A token of an
    /// older epoch answers
    /// 410 `syncStateNotFound` (the client resyncs), a foreign or damaged one 400.
    pub(crate) fn delta_since(
        &self,
        secret: &[u8],
        kind: ids::SyncKind,
        epoch: u64,
        mailbox: &str,
        folder: u64,
    ) -> Result<Option<u64>, Reply> {
        let Some(token) = self
            .param("$deltatoken")
            .or_else(|| self.param("$skiptoken"))
        else {
            return Ok(None);
        };
        match ids::decode_delta_token(secret, kind, epoch, mailbox, folder, token) {
            Ok(seq) => Ok(Some(seq)),
            Err(ids::DeltaTokenError::Expired) => Err(Reply::error(
                StatusCode::GONE,
                "syncStateNotFound",
                "The sync state generation is not found. Resync from the start.",
            )),
            Err(ids::DeltaTokenError::Invalid) => Err(Reply::error(
                StatusCode::BAD_REQUEST,
                "syncStateInvalid",
                "The sync state is invalid.",
            )),
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The page size from `Prefer: odata.maxpagesize=N` or `$top`.
    pub fn page_size(&self, default: usize) -> usize {
        let prefer = self
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|p| {
                p.trim()
                    .strip_prefix("odata.maxpagesize=")
                    .and_then(|n| n.trim().parse::<usize>().ok())
            });
        prefer
            .or_else(|| self.param("$top").and_then(|t| t.parse().ok()))
            .unwrap_or(default)
            .clamp(1, 1000)
    }

    /// The `If-Match` value without `W/` and quotes.
    pub fn if_match(&self) -> Option<String> {
        let v = self.headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
        if v == "*" {
            return None;
        }
        let v = v.strip_prefix("W/").unwrap_or(v);
        Some(v.trim_matches('"').to_string())
    }

    /// The URL of `segments` below this mailbox with a query.
    pub fn link(&self, segments: &[&str], query: &[(&str, &str)]) -> String {
        let mut url = format!(
            "{}/users/{}",
            self.service_root,
            percent_encoding::utf8_percent_encode(&self.mailbox, SEGMENT)
        );
        for s in segments {
            url.push('/');
            url.extend(percent_encoding::utf8_percent_encode(s, SEGMENT));
        }
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            ser.append_pair(k, v);
        }
        let q = ser.finish();
        if !q.is_empty() {
            url.push('?');
            url.push_str(&q);
        }
        url
    }
}

const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'@')
    .remove(b'~');

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The permissions an operation needs (any one of them).
fn required_roles(family: &str, method: &Method) -> &'static [&'static str] {
    let write = method != Method::GET;
    match (family, write) {
        ("contacts" | "contactFolders", false) => &["Contacts.Read", "Contacts.ReadWrite"],
        ("contacts" | "contactFolders", true) => &["Contacts.ReadWrite"],
        ("mailFolders" | "messages", false) => &["Mail.Read", "Mail.ReadWrite"],
        ("mailFolders" | "messages", true) => &["Mail.ReadWrite"],
        ("sendMail", _) => &["Mail.Send"],
        ("calendars" | "calendar" | "events" | "calendarView", false) => {
            &["Calendars.Read", "Calendars.ReadWrite"]
        }
        ("calendars" | "calendar" | "events" | "calendarView", true) => &["Calendars.ReadWrite"],
        ("todo", false) => &["Tasks.Read", "Tasks.ReadWrite"],
        ("todo", true) => &["Tasks.ReadWrite"],
        (_, _) => &["User.Read.All", "User.ReadBasic.All", "User.ReadWrite.All"],
    }
}

/// The operation name used for the log, the counts and fault rules: `Graph GET contacts`.
fn operation_name(method: &Method, path: &[String]) -> String {
    let mut shape: Vec<&str> = Vec::new();
    for (i, s) in path.iter().enumerate() {
        // keep the names, drop the ids (every other segment after a collection name)
        let is_name = matches!(
            s.as_str(),
            "contacts"
                | "contactFolders"
                | "childFolders"
                | "mailFolders"
                | "messages"
                | "delta"
                | "move"
                | "translateExchangeIds"
                | "singleValueExtendedProperties"
                | "calendars"
                | "calendar"
                | "events"
                | "instances"
                | "calendarView"
                | "sendMail"
                | "send"
                | "$value"
                | "attachments"
                | "createUploadSession"
                | "todo"
                | "lists"
                | "tasks"
                | "linkedResources"
                | "extensions"
        );
        if is_name || i == 0 {
            shape.push(s.as_str());
        }
    }
    if shape.is_empty() {
        format!("Graph {method} user")
    } else {
        format!("Graph {method} {}", shape.join("/"))
    }
}

fn new_entry() -> LogEntry {
    LogEntry {
        seq: 0,
        time: chrono::Utc::now(),
        operation: None,
        caller: None,
        mailbox: None,
        impersonating: None,
        status: 0,
        response_code: None,
        faults: Vec::new(),
    }
}

/// What became of one request (top level or inside a `$batch`).
enum Outcome {
    /// An answer.
    Reply(Reply),
    /// Drop the connection before processing.
    DropBefore,
    /// Processed; drop the connection instead of answering.
    DropAfter(Reply),
    /// Processed; answer with a broken body.
    Mangled(Reply),
}

fn split_path(path: &str) -> Vec<String> {
    path.trim_start_matches("/v1.0")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect()
}

fn split_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

async fn endpoint(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<Arc<ConnInfo>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut entry = new_entry();
    let segments = split_path(uri.path());
    let query = split_query(uri.query());
    let is_batch = segments.len() == 1 && segments[0] == "$batch";
    entry.operation = Some(if is_batch {
        format!("Graph {method} $batch")
    } else {
        operation_name(&method, segments.get(2..).unwrap_or_default())
    });

    // the bearer token must be one issued for Graph
    let app = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization)
    {
        Some(Credentials::Bearer(token)) => shared.graph.tokens.check(&token),
        _ => None,
    };
    let Some(app) = app else {
        let reply = Reply::error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty, expired or not valid for this audience.",
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            "Bearer error=\"invalid_token\"".to_string(),
        );
        return finish(&shared, entry, reply);
    };
    entry.caller = Some(app.clone());
    let outcome = if is_batch && method == Method::POST {
        // the envelope has faults of its own (`Graph POST $batch`), e.g. an answer lost
        // after every inner request ran
        match seeded_faults(&shared, &mut entry, None).await {
            Err(outcome) => outcome,
            Ok(terminal) => after_faults(terminal, batch(&shared, &app, &body).await),
        }
    } else {
        run(
            &shared, &app, method, segments, query, &headers, &body, &mut entry,
        )
        .await
    };
    match outcome {
        Outcome::Reply(reply) => finish(&shared, entry, reply),
        Outcome::DropBefore => {
            shared.log.push(entry);
            conn.kill.notify_one();
            std::future::pending().await
        }
        Outcome::DropAfter(reply) => {
            entry.status = reply.status.as_u16();
            entry.response_code = reply.code;
            shared.log.push(entry);
            conn.kill.notify_one();
            std::future::pending().await
        }
        Outcome::Mangled(mut reply) => {
            let half = reply.body.len() / 2;
            reply.body.truncate(half);
            reply.body.extend_from_slice(b"<<");
            finish(&shared, entry, reply)
        }
    }
}

fn finish(shared: &Shared, mut entry: LogEntry, reply: Reply) -> Response {
    entry.status = reply.status.as_u16();
    entry.response_code = reply.code.clone();
    shared.log.push(entry);
    reply.into_response()
}

/// One request of an authenticated app: the mailbox, its roles and scope, the concurrency
/// limit, the seeded faults, the resource.
#[allow(clippy::too_many_arguments)]
async fn run(
    shared: &Arc<Shared>,
    app: &str,
    method: Method,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: &HeaderMap,
    body: &[u8],
    entry: &mut LogEntry,
) -> Outcome {
    let (user, rest) = match segments.split_first() {
        Some((first, rest)) if first == "users" && !rest.is_empty() => (&rest[0], &rest[1..]),
        _ => {
            return Outcome::Reply(Reply::no_segment());
        }
    };
    let Some(mailbox) = users::resolve(shared, user) else {
        return Outcome::Reply(if rest.is_empty() {
            Reply::error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                &format!(
                    "Resource '{user}' does not exist or one of its queried reference-property objects are not present."
                ),
            )
        } else {
            Reply::error(
                StatusCode::NOT_FOUND,
                "ErrorInvalidUser",
                &format!("The requested user '{user}' is invalid."),
            )
        });
    };
    entry.mailbox = Some(mailbox.clone());
    let family = rest.first().map(String::as_str).unwrap_or("user");
    if !shared.graph.has_role(app, required_roles(family, &method)) {
        return Outcome::Reply(Reply::access_denied());
    }
    // RBAC for Applications: a scope limits mailbox data, not the directory
    if !rest.is_empty() && !shared.graph.in_scope(app, &mailbox) {
        return Outcome::Reply(Reply::access_denied());
    }

    let Some(_guard) = shared
        .graph
        .limits
        .acquire(&format!("{app}|{mailbox}"), false)
    else {
        let secs = shared.graph.retry_after_secs;
        return Outcome::Reply(
            Reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
            )
            .with_header(header::RETRY_AFTER, secs.to_string()),
        );
    };

    if let Err(wait) = shared.graph.spend(&format!("{app}|{mailbox}")) {
        return Outcome::Reply(
            Reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                "ApplicationThrottled",
                "Application is over its MailboxRequests limit.",
            )
            .with_header(header::RETRY_AFTER, wait.as_secs().max(1).to_string()),
        );
    }

    let terminal = match seeded_faults(shared, entry, Some(&mailbox)).await {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };

    let request = Request {
        shared,
        method,
        mailbox,
        path: rest.to_vec(),
        query,
        headers,
        body,
        service_root: format!("{}/v1.0", shared.base_url),
    };
    let reply = dispatch(&request);
    after_faults(terminal, reply)
}

/// The seeded faults of a request: latency is slept here; a fault that answers before
/// processing is returned as `Err`; the one that acts on the answer as `Ok(Some(..))`.
async fn seeded_faults(
    shared: &Arc<Shared>,
    entry: &mut LogEntry,
    mailbox: Option<&str>,
) -> Result<Option<Fault>, Outcome> {
    let faults = shared.faults.pick(entry.operation.as_deref(), mailbox);
    entry.faults = faults.iter().map(|f| f.name().to_string()).collect();
    let mut terminal = None;
    for fault in faults {
        match fault {
            Fault::Latency { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            other if terminal.is_none() => terminal = Some(other),
            _ => {}
        }
    }
    match &terminal {
        Some(Fault::ServerBusy { back_off_ms, .. }) => {
            let secs = back_off_ms.div_ceil(1000).max(1);
            Err(Outcome::Reply(
                Reply::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Too many requests.",
                )
                .with_header(header::RETRY_AFTER, secs.to_string()),
            ))
        }
        Some(Fault::Http503 { retry_after_secs }) => Err(Outcome::Reply(
            Reply::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
            )
            .with_header(header::RETRY_AFTER, retry_after_secs.to_string()),
        )),
        Some(Fault::DropBeforeProcessing) => Err(Outcome::DropBefore),
        _ => Ok(terminal),
    }
}

/// The answer as a fault acting on it leaves it.
fn after_faults(terminal: Option<Fault>, reply: Reply) -> Outcome {
    match terminal {
        Some(Fault::DropAfterProcessing) => Outcome::DropAfter(reply),
        Some(Fault::Malformed | Fault::Truncated) => Outcome::Mangled(reply),
        _ => Outcome::Reply(reply),
    }
}

/// JSON `$batch`: at most 20 requests, run in order; one whose `dependsOn` request failed
/// answers 424. Each inner request is logged and limited like a request of its own.
async fn batch(shared: &Arc<Shared>, app: &str, body: &[u8]) -> Reply {
    use graph_client::batch::{BatchAnswer, BatchBody, BatchResponse, MAX_BATCH};
    let batch: BatchBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return Reply::bad_request(&format!("Invalid batch payload: {e}")),
    };
    if batch.requests.is_empty() || batch.requests.len() > MAX_BATCH {
        return Reply::bad_request(&format!(
            "Number of batch requests must be between 1 and {MAX_BATCH}."
        ));
    }
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::with_capacity(batch.requests.len());
    for r in &batch.requests {
        if statuses.contains_key(&r.id) {
            return Reply::bad_request(&format!("Duplicate batch request id '{}'.", r.id));
        }
        let failed_dependency = r.depends_on.iter().any(|d| match statuses.get(d) {
            Some(status) => !(200..300).contains(status),
            None => true,
        });
        let reply = if failed_dependency {
            Reply::error(
                StatusCode::FAILED_DEPENDENCY,
                "FailedDependency",
                "The request could not be executed because a request it depends on failed.",
            )
        } else {
            let (path, query) = r.url.split_once('?').unwrap_or((&r.url, ""));
            let method =
                Method::from_bytes(r.method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
            let segments = split_path(path);
            let mut headers = HeaderMap::new();
            for (k, v) in &r.headers {
                if let (Ok(name), Ok(value)) = (
                    header::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    headers.append(name, value);
                }
            }
            let inner_body = r
                .body
                .as_ref()
                .map(|b| serde_json::to_vec(b).unwrap_or_default())
                .unwrap_or_default();
            let mut entry = new_entry();
            entry.caller = Some(app.to_string());
            entry.operation = Some(operation_name(
                &method,
                segments.get(2..).unwrap_or_default(),
            ));
            let outcome = run(
                shared,
                app,
                method,
                segments,
                split_query(Some(query)),
                &headers,
                &inner_body,
                &mut entry,
            )
            .await;
            // connection faults have no meaning inside a batch: the answer stands
            let reply = match outcome {
                Outcome::Reply(r) | Outcome::DropAfter(r) | Outcome::Mangled(r) => r,
                Outcome::DropBefore => Reply::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable.",
                )
                .with_header(header::RETRY_AFTER, "1".to_string()),
            };
            entry.status = reply.status.as_u16();
            entry.response_code = reply.code.clone();
            shared.log.push(entry);
            reply
        };
        statuses.insert(r.id.clone(), reply.status.as_u16());
        let mut headers = std::collections::BTreeMap::new();
        if !reply.body.is_empty() {
            headers.insert("Content-Type".to_string(), reply.content_type.to_string());
        }
        for (name, value) in &reply.headers {
            headers.insert(name.as_str().to_string(), value.clone());
        }
        responses.push(BatchResponse {
            id: r.id.clone(),
            status: reply.status.as_u16(),
            headers,
            body: serde_json::from_slice(&reply.body).ok(),
        });
    }
    Reply::json(StatusCode::OK, &BatchAnswer { responses })
}

fn dispatch(req: &Request<'_>) -> Reply {
    let path: Vec<&str> = req.path.iter().map(String::as_str).collect();
    match path.first().copied() {
        None => users::get(req),
        Some("contacts" | "contactFolders") => contacts::dispatch(req, &path),
        Some("mailFolders") if path.get(2).is_some_and(|s| *s == "messages") => {
            messages::dispatch(req, &path)
        }
        Some("mailFolders") => mail::dispatch(req, &path),
        Some("messages") => messages::dispatch(req, &path),
        Some("todo") => todo::dispatch(req, &path),
        Some("sendMail") if req.method == Method::POST && path.len() == 1 => {
            outgoing::send_mail(req)
        }
        Some("calendars" | "calendar" | "events" | "calendarView") => {
            calendar::dispatch(req, &path)
        }
        Some("translateExchangeIds") if req.method == Method::POST && path.len() == 1 => {
            translate::translate(req)
        }
        Some(_) => Reply::no_segment(),
    }
}

/// Parses a JSON request body into a graph-client type.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(req: &Request<'_>) -> Result<T, Reply> {
    serde_json::from_slice(req.body).map_err(|e| {
        Reply::error(
            StatusCode::BAD_REQUEST,
            "RequestBodyRead",
            &format!("The request body could not be read: {e}"),
        )
    })
}
