//! [`Client`]: the public entry point. One client serves many mailboxes: [`Client::for_mailbox`]
//! returns a cheap handle that impersonates a mailbox (SOAP `ExchangeImpersonation` header
//! and `X-AnchorMailbox` HTTP header on every call).
//!
//! Every call writes the request envelope, posts it through the [`HttpTransport`] (auth,
//! HTTP-level retries, concurrency limits, deadline) and parses the answer. EWS-level
//! throttling is handled here: `ErrorServerBusy` as a SOAP fault (HTTP 500) or inside the
//! response messages of an HTTP 200 answer (possibly wrapped in `ErrorInternalServerError`)
//! waits `BackOffMilliseconds` (at least 1 s, growing when repeated, with jitter: see
//! [`ClientConfig::busy_retry`]) and repeats the call, at most `busy_retry.max_attempts`
//! times and within the call's deadline; then [`Error::Throttled`].
//!
//! Every answer is checked before it is handed out: its size (at most
//! [`TransportConfig::max_response_bytes`], 64 MiB by default, or
//! [`ClientConfig::max_download_bytes`] for MIME and attachment downloads), its character
//! set (UTF-16 and declared 8-bit encodings are transcoded), the number of response
//! messages (one per requested id, item or change, else [`Error::ResultCount`]); text the
//! server supplied (fault strings, message texts, body excerpts, parse errors) is cut and
//! cleaned of every secret the client holds by the transport's
//! [`Scrubber`](crate::transport::Scrubber).
//!
//! Large operations are exposed as streams, so memory stays flat for any folder size:
//! [`Client::find_items`] (pages of up to 1000), [`Client::find_folders`],
//! [`Client::sync_folder_items`] (until `IncludesLastItemInRange`) and [`Client::get_items`]
//! (batches of [`ClientConfig::batch_size`] ids). The paging and sync streams are bounded
//! as a whole by [`ClientConfig::stream_limits`] (pages, items, time) and fail when the
//! server repeats a sync state, an offset or a page ([`TransportError::Stream`]).
//!
//! ```no_run
//! use ews_client::client::{Client, ClientConfig};
//! use ews_client::ops::GetItem;
//! use ews_client::transport::{Auth, TransportConfig};
//! use ews_client::types::shape::ItemShape;
//! use ews_client::types::{DistinguishedFolderName, ItemId};
//! use futures::TryStreamExt;
//!
//! # async fn demo() -> Result<(), ews_client::Error> {
//! let url = url::Url::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
//! let transport = TransportConfig::new(url, Auth::ntlm("CONTOSO\\svc-crm", "secret"));
//! let client = Client::new(ClientConfig::new(transport).with_time_zone("W. Europe Standard Time"))?;
//!
//! // Act on Anna's mailbox: ExchangeImpersonation + X-AnchorMailbox on every call.
//! let anna = client.for_mailbox("anna@contoso.com");
//! let contacts = anna
//!     .find_items_in(DistinguishedFolderName::Contacts.into(), ItemShape::id_only())
//!     .try_collect::<Vec<_>>()
//!     .await?;
//! println!("{} contacts", contacts.len());
//!
//! // Per-item results in request order: a partly failed batch reports each item.
//! let response = anna
//!     .execute(&GetItem::new(ItemShape::all_properties(), [ItemId::new("AAMkAD...")]))
//!     .await?;
//! for message in response.messages {
//!     match message.into_result() {
//!         Ok(info) => println!("{} item(s)", info.items.len()),
//!         Err(e) => println!("failed: {e}"),
//!     }
//! }
//! println!("server: {:?}", client.server_version());
//! # Ok(())
//! # }
//! ```

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};

use crate::envelope::{
    ExchangeVersion, Impersonation, RequestHeaders, ServerVersionInfo, SoapFault,
    read_response_charset, write_request,
};
use crate::error::Error;
use crate::operation::{Operation, OperationResponse};
use crate::ops::Paged;
use crate::ops::find_item::MAX_PAGE_SIZE;
use crate::ops::{
    CreateFolder, CreateItem, DeleteItem, DisposalType, FindFolder, FindItem, FindItemResult,
    GetFolder, GetItem, ItemView, MoveItem, ResolutionSet, ResolveNames, SyncFolderHierarchy,
    SyncFolderHierarchyResult, SyncFolderItems, SyncFolderItemsResult,
};
use crate::transport::decide::{self, BusyDecision};
use crate::transport::retry::random_sample;
use crate::transport::{
    DEFAULT_MAX_DOWNLOAD_BYTES, HttpTransport, RawResponse, RetryPolicy, SoapRequest,
    StreamBoundError, StreamGuard, StreamLimits, TransportConfig, TransportError,
};
use crate::types::base_item_id::BaseItemId;
use crate::types::folder::Folder;
use crate::types::ids::BaseFolderId;
use crate::types::item::Item;
use crate::types::response::{ResponseCode, ResponseError, ResponseMessages};
use crate::types::shape::{IndexedPageView, ItemShape};
use crate::xml::XmlError;

/// A boxed stream of results, as returned by the paging methods.
pub type ResultStream<'a, T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send + 'a>>;

/// How a [`Client`] talks to Exchange.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Endpoint, authentication, timeouts, HTTP retries and concurrency limits.
    pub transport: TransportConfig,
    /// `RequestServerVersion` (default Exchange2016).
    pub server_version: ExchangeVersion,
    /// `TimeZoneContext` (a Windows time zone id), if any.
    pub time_zone: Option<String>,
    /// `MailboxCulture`, if any.
    pub mailbox_culture: Option<String>,
    /// Overall deadline of one call, including every retry and back-off (default 5 min).
    pub call_timeout: Duration,
    /// Waiting out `ErrorServerBusy` ([`RetryPolicy::server_wait`]): `base_delay` is the
    /// wait when the server names no `BackOffMilliseconds` (default 2 s, doubled on each
    /// repetition), `min_server_wait` the floor of every wait (default 1 s, doubled on each
    /// repetition), `jitter` (default 0.2) is added on top, `max_attempts` (default 10)
    /// bounds the answers per call; `max_delay` 60 s caps the computed waits.
    pub busy_retry: RetryPolicy,
    /// The largest answer accepted for MIME content and attachment downloads
    /// ([`Operation::is_download`]; default 256 MiB). Other answers are bounded by
    /// [`TransportConfig::max_response_bytes`] (default 64 MiB).
    pub max_download_bytes: u64,
    /// Overall bounds of each paging and sync stream (default: 100 000 pages, 50 million
    /// items, 12 hours).
    pub stream_limits: StreamLimits,
    /// Ids per `GetItem` batch in [`Client::get_items`] (default 100).
    pub batch_size: usize,
    /// Page size of [`Client::find_items`] and [`Client::find_folders`] (default 1000, the
    /// server maximum).
    pub page_size: u32,
}

impl ClientConfig {
    /// Defaults for everything but the transport.
    pub fn new(transport: TransportConfig) -> Self {
        Self {
            transport,
            server_version: ExchangeVersion::Exchange2016,
            time_zone: None,
            mailbox_culture: None,
            call_timeout: Duration::from_secs(300),
            busy_retry: RetryPolicy::default()
                .with_delays(Duration::from_secs(2), Duration::from_secs(60))
                .with_max_attempts(10)
                .with_min_server_wait(Duration::from_secs(1)),
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            stream_limits: StreamLimits::default(),
            batch_size: 100,
            page_size: MAX_PAGE_SIZE,
        }
    }

    /// Sets the requested server version.
    pub fn with_server_version(mut self, version: ExchangeVersion) -> Self {
        self.server_version = version;
        self
    }

    /// Sets the time zone context (Windows time zone id).
    pub fn with_time_zone(mut self, id: impl Into<String>) -> Self {
        self.time_zone = Some(id.into());
        self
    }

    /// Sets the mailbox culture.
    pub fn with_mailbox_culture(mut self, culture: impl Into<String>) -> Self {
        self.mailbox_culture = Some(culture.into());
        self
    }

    /// Sets the overall deadline of one call.
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Sets the back-off used when `ErrorServerBusy` names none.
    pub fn with_default_back_off(mut self, back_off: Duration) -> Self {
        self.busy_retry.base_delay = back_off;
        self
    }

    /// Sets how `ErrorServerBusy` is waited out.
    pub fn with_busy_retry(mut self, policy: RetryPolicy) -> Self {
        self.busy_retry = policy;
        self
    }

    /// Sets the largest answer accepted for ordinary calls
    /// ([`TransportConfig::max_response_bytes`]).
    pub fn with_max_response_bytes(mut self, limit: u64) -> Self {
        self.transport.max_response_bytes = limit;
        self
    }

    /// Sets the largest answer accepted for MIME and attachment downloads.
    pub fn with_max_download_bytes(mut self, limit: u64) -> Self {
        self.max_download_bytes = limit;
        self
    }

    /// Sets the overall bounds of paging and sync streams.
    pub fn with_stream_limits(mut self, limits: StreamLimits) -> Self {
        self.stream_limits = limits;
        self
    }

    /// Sets the `GetItem` batch size.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the paging size (1 to 1000).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }
}

struct Shared {
    transport: HttpTransport,
    /// The headers every call sends; each handle adds its impersonation.
    headers: RequestHeaders,
    call_timeout: Duration,
    busy_retry: RetryPolicy,
    max_download_bytes: u64,
    stream_limits: StreamLimits,
    batch_size: usize,
    page_size: u32,
    last_server_version: Mutex<Option<ServerVersionInfo>>,
}

/// An EWS client; cheap to clone. See the [module documentation](self) for an example.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    impersonation: Option<Impersonation>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.shared.transport)
            .field("impersonation", &self.impersonation)
            .finish_non_exhaustive()
    }
}

/// The outcome of one HTTP exchange, before throttling decisions.
enum Attempt<R> {
    Done(R),
    Busy {
        code: ResponseCode,
        back_off: Option<Duration>,
    },
}

impl Client {
    /// Builds the client and its transport.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let ClientConfig {
            transport,
            server_version,
            time_zone,
            mailbox_culture,
            call_timeout,
            busy_retry,
            max_download_bytes,
            stream_limits,
            batch_size,
            page_size,
        } = config;
        if busy_retry.max_attempts == 0 {
            return Err(Error::Config(
                "busy_retry.max_attempts must be at least 1".into(),
            ));
        }
        if max_download_bytes == 0 {
            return Err(Error::Config(
                "max_download_bytes must be at least 1".into(),
            ));
        }
        if batch_size == 0 {
            return Err(Error::Config("batch_size must be at least 1".into()));
        }
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(Error::Config(format!(
                "page_size must be 1 to {MAX_PAGE_SIZE}"
            )));
        }
        if call_timeout.is_zero() {
            return Err(Error::Config("call_timeout must not be zero".into()));
        }
        let transport = HttpTransport::new(transport)?;
        Ok(Self {
            shared: Arc::new(Shared {
                transport,
                headers: RequestHeaders {
                    server_version,
                    impersonation: None,
                    time_zone,
                    mailbox_culture,
                },
                call_timeout,
                busy_retry,
                max_download_bytes,
                stream_limits,
                batch_size,
                page_size,
                last_server_version: Mutex::new(None),
            }),
            impersonation: None,
        })
    }

    /// A handle acting on the mailbox with this primary SMTP address
    /// (`ConnectingSID/PrimarySmtpAddress`, `X-AnchorMailbox`).
    pub fn for_mailbox(&self, primary_smtp_address: impl Into<String>) -> Client {
        self.impersonating(Impersonation::PrimarySmtpAddress(
            primary_smtp_address.into(),
        ))
    }

    /// A handle acting on a mailbox identified any way EWS allows.
    pub fn impersonating(&self, impersonation: Impersonation) -> Client {
        Client {
            shared: Arc::clone(&self.shared),
            impersonation: Some(impersonation),
        }
    }

    /// A handle acting as the authenticated account itself (no impersonation).
    pub fn without_impersonation(&self) -> Client {
        Client {
            shared: Arc::clone(&self.shared),
            impersonation: None,
        }
    }

    /// The impersonated mailbox of this handle.
    pub fn impersonation(&self) -> Option<&Impersonation> {
        self.impersonation.as_ref()
    }

    /// The `ServerVersionInfo` of the last response that carried one.
    pub fn server_version(&self) -> Option<ServerVersionInfo> {
        self.shared
            .last_server_version
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The SOAP headers this handle sends.
    pub fn request_headers(&self) -> RequestHeaders {
        RequestHeaders {
            impersonation: self.impersonation.clone(),
            ..self.shared.headers.clone()
        }
    }

    /// Runs one operation and returns its response: per-item results in request order.
    ///
    /// `ErrorServerBusy` (SOAP fault, or in every response message; for idempotent
    /// operations in any response message) waits `BackOffMilliseconds` (with the floor,
    /// growth and jitter of [`ClientConfig::busy_retry`]) and repeats the call, at most
    /// `busy_retry.max_attempts` times and until [`ClientConfig::call_timeout`]; then
    /// [`Error::Throttled`]. Other SOAP faults are [`Error::Fault`]; per-item errors stay in
    /// the response. An answer with another number of response messages than the request
    /// asked for ([`Operation::expected_responses`]) is [`Error::ResultCount`]. A request
    /// that the schema would reject ([`Operation::validate`]) is [`Error::InvalidRequest`]
    /// and not sent.
    pub async fn execute<O: Operation>(&self, op: &O) -> Result<O::Response, Error> {
        op.validate().map_err(Error::InvalidRequest)?;
        let deadline = Instant::now() + self.shared.call_timeout;
        let body = Bytes::from(write_request(&self.request_headers(), op));
        let action = O::soap_action();
        let anchor = self
            .impersonation
            .as_ref()
            .and_then(Impersonation::anchor_mailbox);
        let idempotent = op.idempotent();
        let max_response_bytes = op.is_download().then_some(self.shared.max_download_bytes);
        let policy = &self.shared.busy_retry;
        let mut busy_count: u32 = 0;
        let mut last_busy: Option<(ResponseCode, Duration)> = None;
        loop {
            let request = SoapRequest {
                body: body.clone(),
                soap_action: &action,
                anchor_mailbox: anchor,
                idempotent,
                deadline,
                max_response_bytes,
            };
            let raw = match self.shared.transport.post(request).await {
                Ok(raw) => raw,
                // The deadline ran out after the server had throttled: that is throttling.
                Err(e) if e.is_timeout() && !e.is_outcome_unknown() => {
                    return Err(match last_busy {
                        Some((code, back_off)) => Error::Throttled {
                            code,
                            back_off,
                            attempts: busy_count,
                        },
                        None => Error::Transport(e),
                    });
                }
                Err(e) => return Err(Error::Transport(e)),
            };
            match self.interpret::<O>(&raw, idempotent)? {
                Attempt::Done(response) => {
                    if let Some(expected) = op.expected_responses() {
                        let received = response.statuses().len();
                        if received != expected {
                            return Err(Error::ResultCount {
                                operation: O::NAME,
                                expected,
                                received,
                            });
                        }
                    }
                    return Ok(response);
                }
                Attempt::Busy { code, back_off } => {
                    busy_count += 1;
                    let now = decide::Now {
                        remaining: deadline.saturating_duration_since(Instant::now()),
                        jitter: random_sample(),
                    };
                    let wait = match decide::decide_busy(busy_count, back_off, policy, now) {
                        BusyDecision::Wait(wait) => wait,
                        BusyDecision::GiveUp(wait) => {
                            return Err(Error::Throttled {
                                code,
                                back_off: back_off.unwrap_or(wait),
                                attempts: busy_count,
                            });
                        }
                    };
                    let reported = back_off.unwrap_or(wait);
                    tracing::info!(
                        operation = O::NAME,
                        mailbox = anchor,
                        code = %code,
                        back_off_ms = wait.as_millis() as u64,
                        attempt = busy_count,
                        "EWS throttling: backing off"
                    );
                    last_busy = Some((code, reported));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Server text fit for an error (secrets removed, cut, no control characters).
    fn clean(&self, text: &str) -> String {
        self.shared.transport.scrubber().scrub(text)
    }

    fn clean_xml_error(&self, e: XmlError) -> XmlError {
        e.cleaned(|t| self.clean(t))
    }

    fn interpret<O: Operation>(
        &self,
        raw: &RawResponse,
        idempotent: bool,
    ) -> Result<Attempt<O::Response>, Error> {
        let charset = raw
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::xml::charset_of);
        let parsed = read_response_charset::<O::Response>(
            &raw.body,
            charset,
            crate::xml::Ns::Messages,
            &O::response_name(),
        );
        let envelope = match parsed {
            Ok(envelope) => envelope,
            Err(e) if raw.status == 200 => return Err(Error::Parse(self.clean_xml_error(e))),
            Err(e) => {
                let body = String::from_utf8_lossy(&raw.body);
                return Err(Error::HttpStatus {
                    status: raw.status,
                    body: self.clean(body.trim()),
                    cause: (!raw.body.is_empty()).then(|| self.clean_xml_error(e)),
                });
            }
        };
        if let Some(info) = envelope.server_version {
            *self
                .shared
                .last_server_version
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(info);
        }
        match envelope.body {
            Err(fault) => match fault.code() {
                // A fault means the request was not processed: safe to repeat.
                Some(code) if code.is_throttled() => Ok(Attempt::Busy {
                    back_off: fault.back_off(),
                    code,
                }),
                _ => Err(Error::from(self.clean_fault(fault))),
            },
            Ok(mut response) => {
                for status in response.statuses_mut() {
                    if let ResponseCode::Other(code) = &mut status.code {
                        *code = self.shared.transport.scrubber().scrub_to(code, 100);
                    }
                    if let Some(text) = status.message_text.as_mut() {
                        *text = self.clean(text);
                    }
                    for value in &mut status.message_xml.0 {
                        value.value = self.clean(&value.value);
                    }
                }
                if raw.status != 200 {
                    tracing::debug!(status = raw.status, "EWS response with unusual HTTP status");
                    return Ok(Attempt::Done(response));
                }
                let statuses = response.statuses();
                let throttled: Vec<_> = statuses
                    .iter()
                    .filter(|s| s.is_error() && s.effective_code().is_throttled())
                    .collect();
                let repeat =
                    !throttled.is_empty() && (idempotent || throttled.len() == statuses.len());
                if repeat {
                    let back_off = throttled.iter().filter_map(|s| s.back_off()).max();
                    let code = throttled
                        .first()
                        .map(|s| s.effective_code())
                        .unwrap_or(ResponseCode::ErrorServerBusy);
                    Ok(Attempt::Busy { code, back_off })
                } else {
                    Ok(Attempt::Done(response))
                }
            }
        }
    }

    /// The fault with its server-supplied texts cleaned.
    fn clean_fault(&self, mut fault: SoapFault) -> SoapFault {
        fault.fault_code = self.clean(&fault.fault_code);
        fault.fault_string = self.clean(&fault.fault_string);
        fault.message = fault.message.map(|m| self.clean(&m));
        if let Some(ResponseCode::Other(code)) = &mut fault.response_code {
            *code = self.shared.transport.scrubber().scrub_to(code, 100);
        }
        for value in &mut fault.message_xml.0 {
            value.value = self.clean(&value.value);
        }
        fault
    }

    /// Runs an operation expected to return one response message and returns its content,
    /// or its error as [`Error::Response`].
    pub async fn execute_single<O, T>(&self, op: &O) -> Result<T, Error>
    where
        O: Operation<Response = ResponseMessages<T>>,
        T: crate::types::response::ResponseContent + Send + 'static,
    {
        Ok(self.execute(op).await?.into_single()?)
    }

    /// Gets one folder with the default shape.
    pub async fn get_folder(&self, id: BaseFolderId) -> Result<Folder, Error> {
        let info = self.execute_single(&GetFolder::new(vec![id])).await?;
        info.folders.into_iter().next().ok_or_else(|| {
            Error::Response(ResponseError(
                crate::types::response::ResponseStatus::error(
                    ResponseCode::ErrorFolderNotFound,
                    "the response holds no folder",
                ),
            ))
        })
    }

    /// Creates one folder under `parent` and returns it with its new id.
    pub async fn create_folder(
        &self,
        parent: BaseFolderId,
        folder: Folder,
    ) -> Result<Folder, Error> {
        let mut info = self
            .execute_single(&CreateFolder {
                parent_folder_id: parent,
                folders: vec![folder.clone()],
            })
            .await?;
        let created = info.folders.pop().unwrap_or_default();
        Ok(Folder {
            folder_id: created.folder_id,
            ..folder
        })
    }

    /// Creates items in `folder` (the default folder of each item's kind when `None`) in
    /// batches of [`ClientConfig::batch_size`], one `CreateItem` request per batch
    /// ([`CreateItem::save`]: messages are saved, not sent; meetings send no invitations).
    /// Per-item results in request order: the created item as the server returned it
    /// (normally its new id only), or the item's error. Use [`creatable`](crate::ops::creatable)
    /// to turn an item read from a server into one `CreateItem` accepts.
    ///
    /// Creating is not idempotent: a request whose answer is lost fails with an error that
    /// [`is_outcome_unknown`](Error::is_outcome_unknown) and is not repeated, and the results
    /// of earlier batches are then not returned.
    pub async fn create_items(
        &self,
        folder: Option<BaseFolderId>,
        items: impl IntoIterator<Item = Item>,
    ) -> Result<Vec<Result<Option<Item>, ResponseError>>, Error> {
        let items: Vec<Item> = items.into_iter().collect();
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.shared.batch_size) {
            let op = CreateItem::save(chunk.iter().cloned(), folder.clone());
            for r in self.execute(&op).await?.into_results() {
                out.push(r.map(|info| info.items.into_iter().next()));
            }
        }
        Ok(out)
    }

    /// Deletes items in batches of [`ClientConfig::batch_size`]; per-item results in request
    /// order.
    pub async fn delete_items(
        &self,
        delete_type: DisposalType,
        ids: impl IntoIterator<Item = impl Into<BaseItemId>>,
    ) -> Result<Vec<Result<(), ResponseError>>, Error> {
        let ids: Vec<BaseItemId> = ids.into_iter().map(Into::into).collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.shared.batch_size) {
            let op = DeleteItem::new(delete_type, chunk.iter().cloned());
            out.extend(self.execute(&op).await?.into_results());
        }
        Ok(out)
    }

    /// Moves items to `to` in batches of [`ClientConfig::batch_size`]; per-item results (the
    /// moved item with its new id) in request order.
    pub async fn move_items(
        &self,
        to: BaseFolderId,
        ids: impl IntoIterator<Item = impl Into<BaseItemId>>,
    ) -> Result<Vec<Result<Option<Item>, ResponseError>>, Error> {
        let ids: Vec<BaseItemId> = ids.into_iter().map(Into::into).collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.shared.batch_size) {
            let op = MoveItem {
                to_folder_id: to.clone(),
                item_ids: chunk.to_vec(),
                return_new_item_ids: None,
            };
            for r in self.execute(&op).await?.into_results() {
                out.push(r.map(|info| info.items.into_iter().next()));
            }
        }
        Ok(out)
    }

    /// Resolves a name; several matches are a Warning with all candidates, no match an
    /// error `ErrorNameResolutionNoResults`.
    pub async fn resolve_names(&self, op: &ResolveNames) -> Result<ResolutionSet, Error> {
        self.execute_single(op).await
    }

    /// A guard for one stream, with [`ClientConfig::stream_limits`].
    fn stream_guard(&self) -> StreamGuard {
        StreamGuard::new(self.shared.stream_limits.clone())
    }

    /// The pages of a `FindItem`, following `IndexedPagingOffset` until
    /// `IncludesLastItemInRange`. A request without an indexed view gets one of
    /// [`ClientConfig::page_size`]; a calendar view is one page. An empty page ends the
    /// stream. A server that does not advance the offset, sends the same page twice or
    /// passes [`ClientConfig::stream_limits`] ends it with [`TransportError::Stream`].
    pub fn find_item_pages(&self, op: FindItem) -> ResultStream<'static, FindItemResult> {
        let mut op = op;
        if op.view.is_none() {
            op.view = Some(ItemView::Indexed(IndexedPageView::new(
                self.shared.page_size,
                0,
            )));
        }
        self.pages(op)
    }

    /// The items of a `FindItem`, page by page (see [`Client::find_item_pages`]).
    pub fn find_items(&self, op: FindItem) -> ResultStream<'static, Item> {
        Box::pin(
            self.find_item_pages(op)
                .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
                .try_flatten(),
        )
    }

    /// All items of a folder with `shape`, paged.
    pub fn find_items_in(
        &self,
        folder: BaseFolderId,
        shape: ItemShape,
    ) -> ResultStream<'static, Item> {
        self.find_items(FindItem::new(folder, shape, self.shared.page_size))
    }

    /// The folders of a `FindFolder`, paged with [`ClientConfig::page_size`] unless the
    /// request has its own page; bounded like [`Client::find_item_pages`].
    pub fn find_folders(&self, op: FindFolder) -> ResultStream<'static, Folder> {
        let mut op = op;
        if op.page.is_none() {
            op.page = Some(IndexedPageView::new(self.shared.page_size, 0));
        }
        Box::pin(
            self.pages(op)
                .map_ok(|page| stream::iter(page.folders.into_iter().map(Ok)))
                .try_flatten(),
        )
    }

    /// The change batches of a `SyncFolderItems`, each with the sync state to store after
    /// applying it, until `IncludesLastItemInRange`. An invalid sync state ends the stream
    /// with an error whose code is `ErrorInvalidSyncStateData` (see
    /// [`Error::is_invalid_sync_state`]): the caller must resynchronize from scratch. A
    /// server that announces more changes without a new sync state, repeats a sync state
    /// or passes [`ClientConfig::stream_limits`] ends it with [`TransportError::Stream`].
    pub fn sync_folder_items(
        &self,
        op: SyncFolderItems,
    ) -> ResultStream<'static, SyncFolderItemsResult> {
        self.pages(op)
    }

    /// The change batches of a `SyncFolderHierarchy`, until `IncludesLastFolderInRange`; each
    /// carries the sync state to store after applying it. Bounded like
    /// [`Client::sync_folder_items`].
    pub fn sync_folder_hierarchy(
        &self,
        op: SyncFolderHierarchy,
    ) -> ResultStream<'static, SyncFolderHierarchyResult> {
        self.pages(op)
    }

    /// The pages of a paged operation, one request per page: the one paging loop behind
    /// [`Client::find_item_pages`], [`Client::find_folders`], [`Client::sync_folder_items`]
    /// and [`Client::sync_folder_hierarchy`]. Every page passes the stream guard, which ends
    /// the stream with [`TransportError::Stream`] when a cursor or a page repeats or
    /// [`ClientConfig::stream_limits`] are passed.
    fn pages<O: Paged>(&self, op: O) -> ResultStream<'static, O::Page> {
        let client = self.clone();
        let mut guard = self.stream_guard();
        if let Some(cursor) = op.first_cursor() {
            guard.seen(cursor);
        }
        Box::pin(stream::try_unfold(Some((op, guard)), move |state| {
            let client = client.clone();
            async move {
                let Some((op, mut guard)) = state else {
                    return Ok::<_, Error>(None);
                };
                let page = client.execute_single(&op).await?;
                let next = op.next_page(&page).map_err(|what| {
                    stream_error(StreamBoundError::Repeated {
                        what,
                        pages: guard.pages() + 1,
                    })
                })?;
                guard
                    .page(
                        O::entries(&page),
                        next.as_ref().map(|(_, cursor)| cursor.as_slice()),
                        O::fingerprint(&page),
                    )
                    .map_err(stream_error)?;
                Ok(Some((page, next.map(|(op, _)| (op, guard)))))
            }
        }))
    }

    /// Gets items by id in batches of [`ClientConfig::batch_size`], yielding one result per
    /// id in request order (per-item errors such as `ErrorItemNotFound` are `Ok(Err(..))`).
    pub fn get_items(
        &self,
        shape: ItemShape,
        ids: impl IntoIterator<Item = impl Into<BaseItemId>>,
    ) -> ResultStream<'static, Result<Item, ResponseError>> {
        let ids: Vec<BaseItemId> = ids.into_iter().map(Into::into).collect();
        let client = self.clone();
        let batch_size = self.shared.batch_size;
        let batches: Vec<Vec<BaseItemId>> = ids.chunks(batch_size).map(<[_]>::to_vec).collect();
        let stream = stream::iter(batches)
            .then(move |batch| {
                let client = client.clone();
                let shape = shape.clone();
                async move {
                    let response = client
                        .execute(&GetItem {
                            item_shape: shape,
                            item_ids: batch,
                        })
                        .await?;
                    let results: Vec<Result<Result<Item, ResponseError>, Error>> = response
                        .into_results()
                        .into_iter()
                        .map(|r| {
                            Ok(r.and_then(|info| {
                                info.items.into_iter().next().ok_or_else(|| {
                                    ResponseError(crate::types::response::ResponseStatus::error(
                                        ResponseCode::ErrorItemNotFound,
                                        "the response message holds no item",
                                    ))
                                })
                            }))
                        })
                        .collect();
                    Ok::<_, Error>(stream::iter(results))
                }
            })
            .try_flatten();
        Box::pin(stream)
    }
}

fn stream_error(e: StreamBoundError) -> Error {
    Error::Transport(TransportError::Stream(e))
}
