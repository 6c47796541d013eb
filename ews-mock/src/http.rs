//! HTTP routes: the EWS and Autodiscover endpoints (authentication, rights, limits, faults,
//! dispatch, logging), the OAuth 2.0 token endpoint and the admin/inspection endpoints.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::auth::{Credentials, Principal, parse_authorization};
use crate::config::OrgData;
use crate::ews::{self, Reply, Target};
use crate::faults::{Fault, FaultRule};
use crate::log::LogEntry;
use crate::ntlm;
use crate::server::{ConnInfo, Shared};
use crate::soap;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/EWS/Exchange.asmx", post(ews_endpoint).get(ews_probe))
        .route("/ews/exchange.asmx", post(ews_endpoint).get(ews_probe))
        .route("/autodiscover/autodiscover.svc", post(ews_endpoint))
        .route("/oauth2/token", post(token_endpoint))
        .route("/oauth2/v2.0/token", post(token_endpoint))
        .route("/{tenant}/oauth2/token", post(tenant_token_endpoint))
        .route("/{tenant}/oauth2/v2.0/token", post(tenant_token_endpoint))
        .merge(admin_router(shared.clone()))
        // the Graph front (src/graph/)
        .merge(crate::graph::routes())
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(shared)
}

/// The admin/inspection routes, behind the admin token.
fn admin_router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/admin/log", get(admin_log).delete(admin_clear_log))
        .route("/admin/counts", get(admin_counts))
        .route("/admin/mailboxes", get(admin_mailboxes))
        .route("/admin/mailboxes/{address}", get(admin_mailbox))
        .route("/admin/outbox", get(admin_outbox))
        .route(
            "/admin/faults",
            get(admin_faults)
                .post(admin_add_fault)
                .delete(admin_clear_faults),
        )
        .route("/admin/limits", post(admin_limits))
        .route("/admin/seed", post(admin_seed))
        .route("/admin/tokens/expire", post(admin_expire_tokens))
        // the Graph front's admin routes (src/graph/)
        .merge(crate::graph::admin_routes())
        .route_layer(axum::middleware::from_fn_with_state(shared, admin_guard))
}

/// Requires `Authorization: Bearer <admin token>` unless the endpoint is open (loopback).
async fn admin_guard(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(token) = &shared.admin_token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        // compared without an early exit, so the time does not tell how much matched
        let equal = given.len() == token.len()
            && given
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !equal {
            let mut resp = (StatusCode::UNAUTHORIZED, "admin token required").into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ews-mock-admin\""),
            );
            return resp;
        }
    }
    next.run(request).await
}

// ---------------------------------------------------------------------------------------------
// authentication

enum AuthFailure {
    /// No or wrong credentials.
    Denied,
    /// An expired or unknown bearer token.
    InvalidToken,
    /// NTLM negotiate: answer with this challenge, in the client's scheme.
    Challenge(Vec<u8>, &'static str),
}

fn unauthorized(failure: AuthFailure) -> Response {
    let mut resp = StatusCode::UNAUTHORIZED.into_response();
    let h = resp.headers_mut();
    match failure {
        AuthFailure::Challenge(msg, scheme) => {
            if let Ok(v) = HeaderValue::from_str(&format!("{scheme} {}", STANDARD.encode(msg))) {
                h.append(header::WWW_AUTHENTICATE, v);
            }
        }
        AuthFailure::InvalidToken => {
            h.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        AuthFailure::Denied => {
            h.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("NTLM"));
            h.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ews-mock\""),
            );
            h.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
    }
    resp
}

fn authenticate(
    shared: &Shared,
    conn: &ConnInfo,
    headers: &HeaderMap,
) -> Result<Principal, AuthFailure> {
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(parse_authorization);
    match creds {
        None => {
            let ntlm = conn.ntlm.lock().unwrap_or_else(|p| p.into_inner());
            ntlm.user
                .clone()
                .map(Principal::User)
                .ok_or(AuthFailure::Denied)
        }
        Some(None) => Err(AuthFailure::Denied),
        Some(Some(Credentials::Basic(user, password))) => {
            let store = shared.read();
            match store.user_by_logon(&user) {
                Some(u) if u.password == password => Ok(Principal::User(u.address.clone())),
                _ => Err(AuthFailure::Denied),
            }
        }
        Some(Some(Credentials::Bearer(token))) => shared
            .tokens
            .check(&token)
            .map(Principal::App)
            .ok_or(AuthFailure::InvalidToken),
        Some(Some(Credentials::Ntlm(msg, scheme))) => {
            let mut state = conn.ntlm.lock().unwrap_or_else(|p| p.into_inner());
            match ntlm::message_type(&msg) {
                Ok(1) => {
                    let mut challenge = [0u8; 8];
                    rand::RngCore::fill_bytes(&mut rand::rng(), &mut challenge);
                    state.challenge = Some(challenge);
                    state.user = None;
                    let domain = shared.read().settings.domain.clone();
                    let now = chrono::Utc::now();
                    // FILETIME: 100 ns ticks since 1601-01-01
                    let filetime = (now.timestamp() + 11_644_473_600).max(0) as u64 * 10_000_000
                        + u64::from(now.timestamp_subsec_nanos() / 100);
                    Err(AuthFailure::Challenge(
                        ntlm::challenge_message(challenge, &domain, filetime),
                        scheme,
                    ))
                }
                Ok(3) => {
                    let challenge = state.challenge.take().ok_or(AuthFailure::Denied)?;
                    let auth = ntlm::parse_authenticate(&msg).map_err(|_| AuthFailure::Denied)?;
                    let store = shared.read();
                    let user = store.user_by_logon(&auth.user).ok_or(AuthFailure::Denied)?;
                    // the domain must be the organisation's (NetBIOS name or the user's DNS
                    // domain); an empty domain (UPN logon) is the user's own
                    let dns_domain = user.address.rsplit('@').next().unwrap_or_default();
                    let domain = auth.domain.trim();
                    if !(domain.is_empty()
                        || domain.eq_ignore_ascii_case(&store.settings.domain)
                        || domain.eq_ignore_ascii_case(dns_domain))
                    {
                        return Err(AuthFailure::Denied);
                    }
                    auth.verify(challenge, &user.password)
                        .map_err(|_| AuthFailure::Denied)?;
                    state.user = Some(user.address.clone());
                    Ok(Principal::User(user.address.clone()))
                }
                _ => Err(AuthFailure::Denied),
            }
        }
    }
}

fn resolve_target(
    shared: &Shared,
    principal: &Principal,
    impersonate: Option<&str>,
) -> Result<Target, (&'static str, &'static str)> {
    let store = shared.read();
    match impersonate {
        Some(who) => {
            let allowed = match principal {
                Principal::User(a) => store.user(a).is_some_and(|u| u.can_impersonate()),
                Principal::App(c) => store.apps.get(c).is_some_and(|a| a.has_full_access()),
            };
            if !allowed {
                return Err((
                    "ErrorImpersonateUserDenied",
                    "The account does not have permission to impersonate the requested user.",
                ));
            }
            let mailbox = store
                .mailbox(who)
                .map(|m| m.address.clone())
                .or_else(|| store.user_by_logon(who).map(|u| u.address.clone()))
                .ok_or((
                    "ErrorNonExistentMailbox",
                    "The SMTP address has no mailbox associated with it.",
                ))?;
            Ok(Target {
                mailbox,
                impersonating: Some(principal.account().to_string()),
            })
        }
        None => match principal {
            Principal::User(a) => Ok(Target {
                mailbox: a.clone(),
                impersonating: None,
            }),
            Principal::App(_) => Err((
                "ErrorInvalidExchangeImpersonationHeaderData",
                "ExchangeImpersonation SOAP header must be present for this type of OAuth token.",
            )),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// the EWS endpoint

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET` of the EWS URL, as clients probe it before their first SOAP call: IIS answers an
/// anonymous request with 401 and the authentication schemes (NTLM handshakes work over GET
/// too) and an authenticated one with 200 and the service's description page.
async fn ews_probe(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<Arc<ConnInfo>>,
    headers: HeaderMap,
) -> Response {
    match authenticate(&shared, &conn, &headers) {
        Ok(_) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<html><head><title>Service</title></head><body><p>Exchange Web Services \
             (ews-mock). Send SOAP requests with POST.</p></body></html>",
        )
            .into_response(),
        Err(failure) => unauthorized(failure),
    }
}

/// The message of every "server busy" answer, from the concurrency limits and from the fault.
const SERVER_BUSY: &str = "The server cannot service this request right now. Try again later.";

/// A request that passed admission: who it acts on, what it asks, and the concurrency slot it
/// holds until the response is built.
struct Admitted {
    head: soap::RequestHead,
    target: Target,
    _slot: crate::faults::LimitGuard,
}

/// Why admission turned a request away.
enum Refused {
    /// A plain HTTP answer (401, 403) logged with this status and no EWS response code.
    Http(u16, Box<Response>),
    /// A SOAP answer (schema, rights, server busy) logged like any reply.
    Reply(Reply),
}

/// `POST` of the EWS URL: admission, the injected faults, dispatch to the operation, and one
/// log entry per request.
async fn ews_endpoint(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<Arc<ConnInfo>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut entry = log_entry_now();
    // `_slot` holds the concurrency slot until the response is built
    let Admitted {
        head,
        target,
        _slot,
    } = match admit(&shared, &conn, &headers, &body, &mut entry) {
        Ok(admitted) => admitted,
        Err(Refused::Http(status, response)) => {
            entry.status = status;
            shared.log.push(entry);
            return *response;
        }
        Err(Refused::Reply(reply)) => return finish(&shared, entry, reply),
    };

    let terminal = inject_faults(&shared, &head, &target, &mut entry).await;
    match &terminal {
        Some(Fault::ServerBusy {
            back_off_ms,
            as_soap_fault,
        }) => {
            let reply = server_busy(&head.operation, *back_off_ms, *as_soap_fault);
            return finish(&shared, entry, reply);
        }
        Some(Fault::Http503 { retry_after_secs }) => {
            entry.status = 503;
            shared.log.push(entry);
            return service_unavailable(*retry_after_secs);
        }
        Some(Fault::DropBeforeProcessing) => return drop_connection(&shared, &conn, entry).await,
        _ => {}
    }

    let reply = ews::dispatch(&shared, &head, &target, &body);
    deliver(&shared, &conn, entry, reply, terminal).await
}

/// The log entry of a request received now, before anything about it is known.
fn log_entry_now() -> LogEntry {
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

/// Logs and sends the dispatched reply, as the terminal fault (dropped connection, truncated
/// or malformed body) mangles it.
async fn deliver(
    shared: &Shared,
    conn: &ConnInfo,
    mut entry: LogEntry,
    reply: Reply,
    terminal: Option<Fault>,
) -> Response {
    match terminal {
        Some(Fault::DropAfterProcessing) => {
            entry.response_code = reply.code;
            drop_connection(shared, conn, entry).await
        }
        Some(Fault::Truncated) => {
            entry.status = reply.status.as_u16();
            entry.response_code = reply.code;
            shared.log.push(entry);
            truncated(reply.status, reply.body)
        }
        Some(Fault::Malformed) => {
            entry.status = 200;
            entry.response_code = reply.code;
            shared.log.push(entry);
            let broken = reply.body.replace("</s:Envelope>", "</s:Envelop><<");
            xml_response(StatusCode::OK, broken)
        }
        _ => finish(shared, entry, reply),
    }
}

/// Admission, in Exchange's order: authentication, the Exchange Online EWS gate, the SOAP
/// head, the target mailbox (own or impersonated) and the per-account concurrency limits.
/// Records what it learns (caller, operation, mailbox) in `entry`.
fn admit(
    shared: &Shared,
    conn: &ConnInfo,
    headers: &HeaderMap,
    body: &[u8],
    entry: &mut LogEntry,
) -> Result<Admitted, Refused> {
    let principal = authenticate(shared, conn, headers)
        .map_err(|failure| Refused::Http(401, Box::new(unauthorized(failure))))?;
    entry.caller = Some(principal.account().to_string());
    // Exchange Online's EWSAllowedAppIDs / EWS switched off (src/graph/exo.rs)
    if let Some(refused) = crate::graph::exo::ews_gate(shared, &principal) {
        return Err(Refused::Http(403, Box::new(refused)));
    }
    let head = soap::read_head(body).map_err(|e| {
        Refused::Reply(Reply::fault(
            "ErrorSchemaValidation",
            &format!("The request failed schema validation: {e}"),
            None,
        ))
    })?;
    entry.operation = Some(head.operation.clone());
    let target = resolve_target(shared, &principal, head.impersonate.as_deref())
        .map_err(|(code, message)| Refused::Reply(Reply::fault(code, message, None)))?;
    entry.mailbox = Some(target.mailbox.clone());
    entry.impersonating = target.impersonating.clone();

    let is_sync = matches!(
        head.operation.as_str(),
        "SyncFolderItems" | "SyncFolderHierarchy"
    );
    let Some(slot) = shared.limits.acquire(principal.account(), is_sync) else {
        let back_off = shared.read().settings.concurrency_back_off_ms;
        return Err(Refused::Reply(Reply::fault(
            "ErrorServerBusy",
            SERVER_BUSY,
            Some(back_off),
        )));
    };
    Ok(Admitted {
        head,
        target,
        _slot: slot,
    })
}

/// Picks the injected faults for this request, records their names in `entry`, sleeps the
/// latencies and returns the first fault that changes the answer.
async fn inject_faults(
    shared: &Shared,
    head: &soap::RequestHead,
    target: &Target,
    entry: &mut LogEntry,
) -> Option<Fault> {
    let faults = shared
        .faults
        .pick(Some(&head.operation), Some(&target.mailbox));
    entry.faults = faults.iter().map(|f| f.name().to_string()).collect();
    let mut terminal = None;
    for fault in faults {
        match fault {
            Fault::Latency { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            other if terminal.is_none() => terminal = Some(other),
            _ => {}
        }
    }
    terminal
}

/// Logs `entry` with the reply's status and response code and sends the reply.
fn finish(shared: &Shared, mut entry: LogEntry, reply: Reply) -> Response {
    entry.status = reply.status.as_u16();
    entry.response_code = reply.code;
    shared.log.push(entry);
    xml_response(reply.status, reply.body)
}

/// The injected "server busy": a SOAP fault or an `ErrorServerBusy` response message.
fn server_busy(operation: &str, back_off_ms: u64, as_soap_fault: bool) -> Reply {
    if as_soap_fault {
        Reply::fault("ErrorServerBusy", SERVER_BUSY, Some(back_off_ms))
    } else {
        Reply::error_message(operation, "ErrorServerBusy", SERVER_BUSY, Some(back_off_ms))
    }
}

/// The injected HTTP 503 with its `Retry-After`.
fn service_unavailable(retry_after_secs: u64) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, retry_after_secs.to_string())],
        "Service Unavailable",
    )
        .into_response()
}

/// Logs `entry`, kills the connection and never answers.
async fn drop_connection(shared: &Shared, conn: &ConnInfo, entry: LogEntry) -> Response {
    shared.log.push(entry);
    conn.kill.notify_one();
    std::future::pending().await
}

/// The reply cut short: the first half of the body, 50 ms for it to reach the client, then an
/// error so hyper closes the connection short of the announced `Content-Length`.
fn truncated(status: StatusCode, body: String) -> Response {
    let full = body.into_bytes();
    let half = Bytes::from(full[..full.len() / 2].to_vec());
    let first = futures::stream::iter([Ok::<Bytes, std::io::Error>(half)]);
    let fail = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(std::io::Error::other("truncated by fault injection"))
    });
    let mut resp = Response::new(Body::from_stream(futures::StreamExt::chain(first, fail)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    resp
}

// ---------------------------------------------------------------------------------------------
// OAuth 2.0 token endpoint

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn tenant_token_endpoint(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    issue_token(&shared, Some(&tenant), &headers, &body)
}

async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    issue_token(&shared, None, &headers, &body)
}

fn issue_token(
    shared: &Shared,
    tenant: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    // the Graph scope and certificate assertions (src/graph/token.rs)
    if let Some(resp) = crate::graph::token::intercept(shared, tenant, headers, body) {
        return resp;
    }
    let form: HashMap<String, String> = match serde_urlencoded_pairs(body) {
        Some(f) => f,
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "malformed form"),
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization)
        .and_then(|c| match c {
            Credentials::Basic(u, p) => Some((u, p)),
            _ => None,
        });
    let (client_id, secret) = match (form.get("client_id"), form.get("client_secret"), basic) {
        (Some(id), Some(secret), _) => (id.clone(), secret.clone()),
        (_, _, Some((id, secret))) => (id, secret),
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client credentials missing",
            );
        }
    };
    let store = shared.read();
    let valid = store.apps.get(&client_id).is_some_and(|app| {
        app.client_secret == secret
            && match (tenant, &app.tenant) {
                (Some(t), Some(want)) => {
                    t.eq_ignore_ascii_case(want) || t == "common" || t == "organizations"
                }
                _ => true,
            }
    });
    if !valid {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    let lifetime = store.settings.token_lifetime_secs;
    drop(store);
    let token = shared
        .tokens
        .issue(&client_id, Duration::from_secs(lifetime));
    axum::Json(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }))
    .into_response()
}

/// Parses `application/x-www-form-urlencoded`.
fn serde_urlencoded_pairs(body: &[u8]) -> Option<HashMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(k)?, percent_decode(v)?);
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

// ---------------------------------------------------------------------------------------------
// admin / inspection

async fn admin_log(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.log.entries()).into_response()
}

async fn admin_clear_log(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.log.clear();
    StatusCode::NO_CONTENT
}

async fn admin_counts(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.log.counts()).into_response()
}

async fn admin_mailboxes(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<String> = shared
        .read()
        .mailboxes
        .values()
        .map(|m| m.address.clone())
        .collect();
    axum::Json(list).into_response()
}

async fn admin_mailbox(State(shared): State<Arc<Shared>>, Path(address): Path<String>) -> Response {
    match shared.read().mailbox(&address) {
        Some(m) => axum::Json(m.snapshot()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn admin_outbox(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.read().outbox.clone()).into_response()
}

async fn admin_faults(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.faults.rules()).into_response()
}

async fn admin_add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultRule>(&body) {
        Ok(rule) => {
            shared.faults.add(rule);
            StatusCode::CREATED.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn admin_clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct LimitsBody {
    max_concurrency: u32,
    max_concurrent_sync_calls: u32,
}

async fn admin_limits(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<LimitsBody>(&body) {
        Ok(l) => {
            shared
                .limits
                .set(l.max_concurrency, l.max_concurrent_sync_calls);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn admin_seed(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let data = match OrgData::from_toml(text) {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if let Err(e) = shared.write().seed(&data) {
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    for rule in data.faults {
        shared.faults.add(rule);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_expire_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.tokens.expire_all();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let f = serde_urlencoded_pairs(
            b"grant_type=client_credentials&scope=https%3A%2F%2Fx%2F.default&a=b+c",
        )
        .unwrap();
        assert_eq!(f["scope"], "https://x/.default");
        assert_eq!(f["a"], "b c");
        assert!(serde_urlencoded_pairs(b"a=%zz").is_none());
    }
}
