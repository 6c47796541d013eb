//! [`Client`]: the public entry point. One client serves many mailboxes: [`Client::for_mailbox`]
//! returns a cheap handle that impersonates a mailbox (SOAP `ExchangeImpersonation` header
//! and `X-AnchorMailbox` HTTP header on every call).
//!
//! Every call writes the request envelope, posts it through the [`HttpTransport`] (auth,
//! HTTP-level retries, concurrency limits, deadline) and parses the answer. EWS-level
//! throttling is handled here: `ErrorServerBusy` as a SOAP fault (HTTP 500) or inside the
//! response messages of an HTTP 200 answer (possibly wrapped in `ErrorInternalServerError`)
//! waits `BackOffMilliseconds` and repeats the call, until the call's deadline.
//!
//! Large operations are exposed as streams, so memory stays flat for any folder size:
//! [`Client::find_items`] (pages of up to 1000), [`Client::find_folders`],
//! [`Client::sync_folder_items`] (until `IncludesLastItemInRange`) and [`Client::get_items`]
//! (batches of [`ClientConfig::batch_size`] ids).
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
    ExchangeVersion, Impersonation, RequestHeaders, ServerVersionInfo, read_response, write_request,
};
use crate::error::Error;
use crate::operation::{Operation, OperationResponse};
use crate::ops::find_item::MAX_PAGE_SIZE;
use crate::ops::{
    CreateFolder, DeleteItem, DisposalType, FindFolder, FindItem, FindItemResult, GetFolder,
    GetItem, ItemView, MoveItem, ResolutionSet, ResolveNames, SyncFolderHierarchy,
    SyncFolderHierarchyResult, SyncFolderItems, SyncFolderItemsResult,
};
use crate::transport::{HttpTransport, RawResponse, SoapRequest, TransportConfig};
use crate::types::base_item_id::BaseItemId;
use crate::types::folder::Folder;
use crate::types::ids::BaseFolderId;
use crate::types::item::Item;
use crate::types::response::{ResponseCode, ResponseError, ResponseMessages};
use crate::types::shape::{IndexedPageView, ItemShape};

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
    /// The wait after an `ErrorServerBusy` that carries no `BackOffMilliseconds`
    /// (default 2 s, doubled on each repetition).
    pub default_back_off: Duration,
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
            default_back_off: Duration::from_secs(2),
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
        self.default_back_off = back_off;
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
    default_back_off: Duration,
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
            default_back_off,
            batch_size,
            page_size,
        } = config;
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
                default_back_off,
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
    /// operations in any response message) waits `BackOffMilliseconds` and repeats the call
    /// until [`ClientConfig::call_timeout`]; then [`Error::Throttled`]. Other SOAP faults are
    /// [`Error::Fault`]; per-item errors stay in the response. A request that the schema
    /// would reject ([`Operation::validate`]) is [`Error::InvalidRequest`] and not sent.
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
        let mut busy_count: u32 = 0;
        loop {
            let request = SoapRequest {
                body: body.clone(),
                soap_action: &action,
                anchor_mailbox: anchor,
                idempotent,
                deadline,
            };
            let raw = self.shared.transport.post(request).await?;
            match self.interpret::<O>(&raw, idempotent)? {
                Attempt::Done(response) => return Ok(response),
                Attempt::Busy { code, back_off } => {
                    busy_count += 1;
                    let wait = back_off.unwrap_or_else(|| {
                        self.shared
                            .default_back_off
                            .saturating_mul(1 << (busy_count - 1).min(6))
                    });
                    if Instant::now() + wait >= deadline {
                        return Err(Error::Throttled {
                            code,
                            back_off: wait,
                        });
                    }
                    tracing::info!(
                        operation = O::NAME,
                        mailbox = anchor,
                        code = %code,
                        back_off_ms = wait.as_millis() as u64,
                        "EWS throttling: backing off"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn interpret<O: Operation>(
        &self,
        raw: &RawResponse,
        idempotent: bool,
    ) -> Result<Attempt<O::Response>, Error> {
        let parsed = read_response::<O>(&raw.body);
        let envelope = match parsed {
            Ok(envelope) => envelope,
            Err(e) if raw.status == 200 => return Err(Error::Parse(e)),
            Err(_) => {
                return Err(Error::HttpStatus {
                    status: raw.status,
                    body: excerpt(&raw.body),
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
                _ => Err(Error::from(fault)),
            },
            Ok(response) if raw.status != 200 => {
                tracing::debug!(status = raw.status, "EWS response with unusual HTTP status");
                Ok(Attempt::Done(response))
            }
            Ok(response) => {
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

    /// Deletes items in batches; per-item results in request order.
    pub async fn delete_items(
        &self,
        delete_type: DisposalType,
        ids: Vec<BaseItemId>,
    ) -> Result<Vec<Result<(), ResponseError>>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.shared.batch_size) {
            let op = DeleteItem::new(delete_type, chunk.iter().cloned());
            out.extend(self.execute(&op).await?.into_results());
        }
        Ok(out)
    }

    /// Moves items to `to`; per-item results (the moved item with its new id) in order.
    pub async fn move_items(
        &self,
        to: BaseFolderId,
        ids: Vec<BaseItemId>,
    ) -> Result<Vec<Result<Option<Item>, ResponseError>>, Error> {
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

    /// The pages of a `FindItem`, following `IndexedPagingOffset` until
    /// `IncludesLastItemInRange`. A request without an indexed view gets one of
    /// [`ClientConfig::page_size`]; a calendar view is one page.
    pub fn find_item_pages(&self, op: FindItem) -> ResultStream<'static, FindItemResult> {
        let mut op = op;
        if op.view.is_none() {
            op.view = Some(ItemView::Indexed(IndexedPageView::new(
                self.shared.page_size,
                0,
            )));
        }
        let client = self.clone();
        Box::pin(stream::try_unfold(Some(op), move |state| {
            let client = client.clone();
            async move {
                let Some(op) = state else {
                    return Ok::<_, Error>(None);
                };
                let page = client.execute_single(&op).await?;
                let next = match op.view {
                    Some(ItemView::Indexed(view)) if page.has_more() && !page.items.is_empty() => {
                        let offset = page
                            .paging
                            .indexed_paging_offset
                            .unwrap_or(view.offset + page.items.len() as u32);
                        (offset > view.offset).then(|| op.at_offset(offset))
                    }
                    _ => None,
                };
                Ok(Some((page, next)))
            }
        }))
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
    /// request has its own page.
    pub fn find_folders(&self, op: FindFolder) -> ResultStream<'static, Folder> {
        let mut op = op;
        if op.page.is_none() {
            op.page = Some(IndexedPageView::new(self.shared.page_size, 0));
        }
        let client = self.clone();
        let pages = stream::try_unfold(Some(op), move |state| {
            let client = client.clone();
            async move {
                let Some(op) = state else {
                    return Ok::<_, Error>(None);
                };
                let page = client.execute_single(&op).await?;
                let next = match op.page {
                    Some(view)
                        if page.paging.includes_last_item_in_range == Some(false)
                            && !page.folders.is_empty() =>
                    {
                        let offset = page
                            .paging
                            .indexed_paging_offset
                            .unwrap_or(view.offset + page.folders.len() as u32);
                        (offset > view.offset).then(|| {
                            let mut next = op.clone();
                            next.page = Some(IndexedPageView { offset, ..view });
                            next
                        })
                    }
                    _ => None,
                };
                Ok(Some((page.folders, next)))
            }
        });
        Box::pin(
            pages
                .map_ok(|folders| stream::iter(folders.into_iter().map(Ok)))
                .try_flatten(),
        )
    }

    /// The change batches of a `SyncFolderItems`, each with the sync state to store after
    /// applying it, until `IncludesLastItemInRange`. An invalid sync state ends the stream
    /// with an error whose code is `ErrorInvalidSyncStateData` (see
    /// [`Error::is_invalid_sync_state`]): the caller must resynchronize from scratch.
    pub fn sync_folder_items(
        &self,
        op: SyncFolderItems,
    ) -> ResultStream<'static, SyncFolderItemsResult> {
        let client = self.clone();
        Box::pin(stream::try_unfold(Some(op), move |state| {
            let client = client.clone();
            async move {
                let Some(mut op) = state else {
                    return Ok::<_, Error>(None);
                };
                let batch = client.execute_single(&op).await?;
                let next = if batch.has_more()
                    && batch.sync_state.is_some()
                    && batch.sync_state != op.sync_state
                {
                    op.sync_state = batch.sync_state.clone();
                    Some(op)
                } else {
                    None
                };
                Ok(Some((batch, next)))
            }
        }))
    }

    /// The change batches of a `SyncFolderHierarchy`, until `IncludesLastFolderInRange`; each
    /// carries the sync state to store after applying it.
    pub fn sync_folder_hierarchy(
        &self,
        op: SyncFolderHierarchy,
    ) -> ResultStream<'static, SyncFolderHierarchyResult> {
        let client = self.clone();
        Box::pin(stream::try_unfold(Some(op), move |state| {
            let client = client.clone();
            async move {
                let Some(mut op) = state else {
                    return Ok::<_, Error>(None);
                };
                let batch = client.execute_single(&op).await?;
                let next = if batch.includes_last_folder_in_range == Some(false)
                    && batch.sync_state.is_some()
                    && batch.sync_state != op.sync_state
                {
                    op.sync_state = batch.sync_state.clone();
                    Some(op)
                } else {
                    None
                };
                Ok(Some((batch, next)))
            }
        }))
    }

    /// Gets items by id in batches of [`ClientConfig::batch_size`], yielding one result per
    /// id in request order (per-item errors such as `ErrorItemNotFound` are `Ok(Err(..))`).
    pub fn get_items(
        &self,
        shape: ItemShape,
        ids: Vec<BaseItemId>,
    ) -> ResultStream<'static, Result<Item, ResponseError>> {
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

/// The start of a body for an error message (at most 200 characters).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}
