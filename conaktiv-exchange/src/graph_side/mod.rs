//! The Exchange side of a sync over Microsoft Graph: sync-core's [`Side`] for Exchange Online
//! mailboxes, beside the EWS [`crate::exchange::ExchangeSide`], with the same rules, the same
//! field mapping (`crate::mapping::graph`) and the same correlation key.
//!
//! [`GraphSide`] works on the folders of one rule in one mailbox (app-only access; the
//! mailbox is named in each URL, `/users/{address}/...`):
//!
//! * **Folders** ([`folders`]): the rule's paths resolved over Graph (default contact folder and
//!   `contactFolders`, calendars, To Do lists, mail folders).
//! * **Listing** ([`Side::list`]): per folder first a delta round (`.../delta`, `$select=id`)
//!   whose delta link becomes the folder's feed, then the folder's items in full with the
//!   correlation key expanded (`$expand=singleValueExtendedProperties($filter=...)`, for To Do
//!   tasks `linkedResources`), pages of 500. The listed records are kept for [`Side::fetch`],
//!   so an initial sync reads each item once. Appointments: the calendar's `events` (single
//!   events and series masters, every date), each series read with its `instances` inside the
//!   configured calendar window; the feed is the `calendarView/delta` of that window.
//! * **Change feed** ([`Side::changes_since`]): one delta round per folder ([`token`]); a run
//!   without changes costs one request per folder and no item reads. Changed items are read
//!   again with their key. A delta token Graph rejects (HTTP 410, `syncStateNotFound`), a
//!   token of another folder configuration or of EWS, and a calendar token older than
//!   [`token::CALENDAR_TOKEN_HOURS`] answer `Ok(None)`: the engine lists in full and
//!   reconciles (never delete-and-recreate). A removed calendar instance cannot be traced to
//!   its series from the delta alone, so it also answers `Ok(None)`.
//! * **Versions**: the item's `changeKey` (To Do tasks: the `@odata.etag`); writes send it as
//!   `If-Match` (`W/"changeKey"`), so a stale version gives [`WriteOutcome::Conflict`].
//! * **Writes**, per item:
//!
//! | op | Graph | stale version / missing item |
//! |---|---|---|
//! | `Create` | `POST` into the new-items folder with the key property (tasks: a linked resource; events: a `transactionId`); contacts and tasks in `$batch`es of 20 | - |
//! | `Update` | `PATCH` of the changed properties plus the key, `If-Match` | `Conflict` / `NotFound` |
//! | `Delete` | `DELETE`, `If-Match` (Graph moves it to Deleted Items) | `Conflict` / `NotFound` |
//! | `SetKey` | `PATCH` of the key property, `If-Match` (tasks: `POST linkedResources` after an etag check) | `Conflict` / `NotFound` |
//!
//!   A create whose outcome is unknown is reported [`WriteOutcome::Unknown`] and never
//!   repeated here (graph-client repeats an event create only with its `transactionId`).
//!   Series exceptions are written after the master: cancelled occurrences deleted, modified
//!   ones patched (`crate::mapping::graph::appointment::occurrence_writes`).
//!
//! Invariants: this module knows Graph only through `graph-client`'s typed calls and the
//! field mapping; it knows nothing of the CRM store or of the state store. Time comes in
//! through [`GraphSide::with_now`].

pub mod folders;
pub mod token;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use conaktiv_model::config::{CalendarWindow, SyncRule};
use graph_client::calendar::{Event, EventType, Window};
use graph_client::contacts::Contact;
use graph_client::todo::TodoTask;
use graph_client::{Change, DeltaStart, ListOptions, Mailbox};
use serde_json::Value as Json;
use sync_core::{
    ChangeSet, Entry, Id, Listing, Record, Side, SideError, SideErrorKind, Version, WriteOp,
    WriteOutcome,
};

use crate::exchange::{ExchangeError, ExchangeSideConfig, ExchangeTable};
use crate::mapping::{self, key};

pub use folders::GraphFolder;
pub use token::GraphToken;

/// Items per page of a listing (`$top`).
pub const PAGE: u32 = 500;
/// Concurrent reads of one mailbox (Graph allows 4 concurrent requests per app and mailbox).
pub const READS_IN_FLIGHT: usize = 4;

/// The [`SideErrorKind`] of a Graph failure, decided on the error's type, status and code
/// (never on its text): refused credentials, a refused mailbox or permission, a mailbox
/// that does not exist and a configuration that cannot work are permanent; throttling,
/// 5xx, dropped connections and unreadable answers are transient.
pub fn graph_error_kind(e: &graph_client::Error) -> SideErrorKind {
    use ews_client::transport::TransportError as T;
    use graph_client::Error as E;
    if let Some(api) = e.api() {
        let code = api.code.as_str();
        if [
            "ErrorInvalidUser",
            "MailboxNotEnabledForRESTAPI",
            "ErrorNonExistentMailbox",
        ]
        .iter()
        .any(|c| code.eq_ignore_ascii_case(c))
        {
            return SideErrorKind::MailboxGone;
        }
        match api.status {
            401 => return SideErrorKind::Authentication,
            403 => return SideErrorKind::Authorization,
            413 => return SideErrorKind::Rejected,
            _ => {}
        }
    }
    match e {
        E::Transport(t) if t.is_auth() => SideErrorKind::Authentication,
        E::Transport(T::InvalidConfig(_) | T::Tls { .. } | T::UnknownHost { .. }) => {
            SideErrorKind::Configuration
        }
        E::Transport(t) if t.is_limit() => SideErrorKind::Other,
        E::InvalidArgument(_) => SideErrorKind::Configuration,
        _ if e.is_auth() => SideErrorKind::Authentication,
        _ if e.is_transient() || e.is_throttled() || e.outcome_unknown() => {
            SideErrorKind::Transient
        }
        E::Transport(_) | E::Protocol { .. } => SideErrorKind::Transient,
        _ => SideErrorKind::Other,
    }
}

fn graph_err(e: graph_client::Error) -> SideError {
    SideError::from_source(graph_error_kind(&e), e)
}

impl From<folders::FolderError> for SideError {
    fn from(e: folders::FolderError) -> Self {
        match e {
            folders::FolderError::Graph(g) => graph_err(g),
            other => SideError::from_source(SideErrorKind::Configuration, other),
        }
    }
}

/// The `If-Match` value of a version.
fn etag_of(version: &str) -> String {
    if version.starts_with("W/") || version.starts_with('"') {
        version.to_owned()
    } else {
        format!("W/\"{version}\"")
    }
}

/// One item as read: its id, version, key and record.
#[derive(Debug, Clone)]
struct Read {
    id: Id,
    version: Version,
    key: Option<String>,
    record: Record,
}

/// sync-core's [`Side`] over one mailbox's folders of one table, over Microsoft Graph. See the
/// module docs.
#[derive(Debug)]
pub struct GraphSide {
    mbox: Mailbox,
    config: ExchangeSideConfig,
    window: CalendarWindow,
    now: DateTime<Utc>,
    resolved: Option<(Vec<GraphFolder>, GraphFolder)>,
    /// Records read in this run: id to (version, record).
    cache: HashMap<Id, (Version, Record)>,
    /// The To Do list of each task id seen in this run.
    task_lists: HashMap<Id, String>,
    /// Instances of the series read in this run (for exception writes).
    instances: HashMap<Id, Vec<Event>>,
    /// Items written in this run: id to (version after the write, key).
    written: HashMap<Id, (Version, String)>,
    unreadable: Vec<String>,
}

impl GraphSide {
    /// The side of a mailbox (a [`Mailbox`] handle of a Graph client) for a folder
    /// configuration.
    pub fn new(mbox: Mailbox, config: ExchangeSideConfig) -> Result<Self, ExchangeError> {
        config.validate()?;
        Ok(Self {
            mbox,
            config,
            window: CalendarWindow::default(),
            now: Utc::now(),
            resolved: None,
            cache: HashMap::new(),
            task_lists: HashMap::new(),
            instances: HashMap::new(),
            written: HashMap::new(),
            unreadable: Vec::new(),
        })
    }

    /// The side of a rule in a mailbox.
    pub fn for_rule(mbox: Mailbox, rule: &SyncRule) -> Result<Self, ExchangeError> {
        Self::new(mbox, ExchangeSideConfig::for_rule(rule)?)
    }

    /// Sets the calendar window (appointments).
    #[must_use]
    pub fn with_window(mut self, window: CalendarWindow) -> Self {
        self.window = window;
        self
    }

    /// Sets the time the window and token ages are measured from.
    #[must_use]
    pub fn with_now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Items that could not be read into records in this run, with why.
    pub fn unreadable(&self) -> &[String] {
        &self.unreadable
    }

    fn table(&self) -> ExchangeTable {
        self.config.table
    }

    fn calendar_window(&self) -> Window {
        Window {
            start: self.now - ChronoDuration::days(i64::from(self.window.past_days)),
            end: self.now + ChronoDuration::days(i64::from(self.window.future_days)),
        }
    }

    async fn resolve(&mut self) -> Result<(Vec<GraphFolder>, GraphFolder), SideError> {
        if let Some(r) = &self.resolved {
            return Ok(r.clone());
        }
        let new_items = self
            .config
            .effective_new_items_folder()
            .cloned()
            .ok_or_else(|| SideError::from(ExchangeError::NoFolders))?;
        let r =
            folders::resolve(&self.mbox, self.table(), &self.config.folders, &new_items).await?;
        self.resolved = Some(r.clone());
        Ok(r)
    }

    fn expand_for(&self) -> String {
        let mut ids = vec![key::graph_property()];
        if self.table() == ExchangeTable::Contacts {
            ids.extend(mapping::graph::contact::extended_properties());
        }
        let refs: Vec<&graph_client::extended::PropertyId> = ids.iter().collect();
        graph_client::extended::expand(&refs)
    }

    fn options(&self) -> ListOptions {
        let mapped: &[&str] = match self.table() {
            ExchangeTable::Contacts => &mapping::graph::contact::SELECT,
            ExchangeTable::Tasks => &mapping::graph::task::SELECT,
            ExchangeTable::Appointments => &mapping::graph::appointment::SELECT,
            _ => &[],
        };
        // what the mapping reads, plus id and version (To Do tasks: the etag comes anyway)
        let mut select: Vec<String> = Vec::new();
        if !mapped.is_empty() {
            select.push("id".into());
            if self.table() != ExchangeTable::Tasks {
                select.push("changeKey".into());
            }
            select.extend(mapped.iter().map(|s| (*s).to_owned()));
        }
        ListOptions {
            select,
            top: Some(PAGE),
            expand: Some(if self.table() == ExchangeTable::Tasks {
                "linkedResources".into()
            } else {
                self.expand_for()
            }),
            ..ListOptions::default()
        }
    }

    // ---------------------------------------------------------------- reading

    fn read_contact(&mut self, c: &Contact) -> Option<Read> {
        let id = c.id.clone()?;
        let version = c.change_key.clone().unwrap_or_default();
        Some(Read {
            key: key::graph_record_id(c.single_value_extended_properties.as_deref()),
            record: mapping::graph::contact::graph_to_record(c),
            id,
            version,
        })
    }

    fn read_task(&mut self, list: &str, t: &TodoTask) -> Option<Read> {
        let id = t.id.clone()?;
        self.task_lists.insert(id.clone(), list.to_owned());
        Some(Read {
            key: key::linked_record_id(t.linked_resources.as_deref()),
            record: mapping::graph::task::graph_to_record(t),
            version: t.etag.clone().unwrap_or_default(),
            id,
        })
    }

    /// A message with its file attachments read into a record.
    async fn read_message(
        &mut self,
        m: &graph_client::mail::Message,
    ) -> Result<Option<Read>, SideError> {
        let Some(id) = m.id.clone() else {
            return Ok(None);
        };
        let ExchangeTable::Mail { direction } = self.table() else {
            return Ok(None);
        };
        let attachments = if m.has_attachments == Some(true) {
            match self.mbox.attachments(&id).await {
                Ok(a) => a,
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(graph_err(e)),
            }
        } else {
            Vec::new()
        };
        let mail = mapping::graph_mail::message_to_mail(m, &attachments, direction);
        Ok(Some(Read {
            key: key::graph_record_id(m.single_value_extended_properties.as_deref()),
            version: m.change_key.clone().unwrap_or_default(),
            record: crate::exchange::mail_to_record(&mail),
            id,
        }))
    }

    /// An event (single or series master) with its instances read into a record.
    async fn read_event(&mut self, e: &Event) -> Result<Option<Read>, SideError> {
        let Some(id) = e.id.clone() else {
            return Ok(None);
        };
        let instances = if e.kind == Some(EventType::SeriesMaster) {
            match self
                .mbox
                .instances(
                    &id,
                    self.calendar_window(),
                    &ListOptions {
                        top: Some(PAGE),
                        ..ListOptions::default()
                    },
                )
                .await
            {
                Ok(list) => list,
                Err(err) if err.is_not_found() => return Ok(None),
                Err(err) => return Err(graph_err(err)),
            }
        } else {
            Vec::new()
        };
        let (record, warnings) = mapping::graph::appointment::graph_to_record(e, &instances);
        for w in warnings {
            tracing::warn!(event = %id, "{w}");
        }
        if record.fields.is_empty() {
            self.unreadable.push(format!("event {id}: no start or end"));
            return Ok(None);
        }
        self.instances.insert(id.clone(), instances);
        Ok(Some(Read {
            key: key::graph_record_id(e.single_value_extended_properties.as_deref()),
            version: e.change_key.clone().unwrap_or_default(),
            record,
            id,
        }))
    }

    fn remember(&mut self, r: &Read) -> Entry {
        self.cache
            .insert(r.id.clone(), (r.version.clone(), r.record.clone()));
        Entry {
            id: r.id.clone(),
            version: r.version.clone(),
            key: r.key.clone(),
        }
    }

    /// The delta link of a fresh round over a folder. Its `$select` (id and change key) stays
    /// in the link: later rounds name each changed item's version, so an item this run wrote
    /// is recognised without a read.
    async fn initial_delta(&self, folder: &GraphFolder) -> Result<String, SideError> {
        let id = folder.id.as_deref();
        let r = match self.table() {
            ExchangeTable::Contacts => self
                .mbox
                .contacts_delta(id, DeltaStart::Initial, &["id", "changeKey"], Some(PAGE))
                .await
                .map(|r| r.delta_link),
            ExchangeTable::Tasks => self
                .mbox
                .tasks_delta(id.unwrap_or_default(), DeltaStart::Initial, Some(PAGE))
                .await
                .map(|r| r.delta_link),
            ExchangeTable::Mail { .. } => self
                .mbox
                .messages_delta(
                    id.unwrap_or_default(),
                    DeltaStart::Initial,
                    &["id", "changeKey"],
                    Some(PAGE),
                )
                .await
                .map(|r| r.delta_link),
            _ => self
                .mbox
                .calendar_view_delta(id, self.calendar_window(), DeltaStart::Initial, Some(PAGE))
                .await
                .map(|r| r.delta_link),
        };
        r.map_err(graph_err)
    }

    /// Every item of a folder, read.
    async fn list_folder(&mut self, folder: &GraphFolder) -> Result<Vec<Read>, SideError> {
        let options = self.options();
        let id = folder.id.as_deref();
        let mut out = Vec::new();
        match self.table() {
            ExchangeTable::Contacts => {
                let list = self.mbox.contacts(id, &options).await.map_err(graph_err)?;
                out.extend(list.iter().filter_map(|c| self.read_contact(c)));
            }
            ExchangeTable::Tasks => {
                let list_id = id.unwrap_or_default().to_owned();
                let list = self
                    .mbox
                    .tasks(&list_id, &options)
                    .await
                    .map_err(graph_err)?;
                out.extend(list.iter().filter_map(|t| self.read_task(&list_id, t)));
            }
            ExchangeTable::Mail { .. } => {
                let folder_id = id.unwrap_or_default().to_owned();
                let list = self
                    .mbox
                    .messages(&folder_id, &options)
                    .await
                    .map_err(graph_err)?;
                for m in &list {
                    if let Some(r) = self.read_message(m).await? {
                        out.push(r);
                    }
                }
            }
            _ => {
                let list = self.mbox.events(id, &options).await.map_err(graph_err)?;
                for e in &list {
                    if let Some(r) = self.read_event(e).await? {
                        out.push(r);
                    }
                }
            }
        }
        Ok(out)
    }

    /// One item by id, with its key; `None` when it is gone.
    async fn read_one(&mut self, id: &str) -> Result<Option<Read>, SideError> {
        let options = ListOptions {
            top: None,
            ..self.options()
        };
        match self.table() {
            ExchangeTable::Contacts => match self.mbox.contact(id, &options).await {
                Ok(c) => Ok(self.read_contact(&c)),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(graph_err(e)),
            },
            ExchangeTable::Tasks => {
                let lists: Vec<String> = match self.task_lists.get(id) {
                    Some(l) => vec![l.clone()],
                    None => self
                        .resolve()
                        .await?
                        .0
                        .iter()
                        .filter_map(|f| f.id.clone())
                        .collect(),
                };
                for list in lists {
                    match self.mbox.task(&list, id).await {
                        Ok(t) => return Ok(self.read_task(&list, &t)),
                        Err(e) if e.is_not_found() => continue,
                        Err(e) => return Err(graph_err(e)),
                    }
                }
                Ok(None)
            }
            ExchangeTable::Mail { .. } => match self.mbox.message(id, &options).await {
                Ok(m) => self.read_message(&m).await,
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(graph_err(e)),
            },
            _ => match self.mbox.event(id, &options).await {
                Ok(e) => self.read_event(&e).await,
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(graph_err(e)),
            },
        }
    }

    /// Items by id, with their keys (`None`: gone). Contacts and tasks (whose list the delta
    /// named) are read in `$batch`es of 20 (Graph's limit); events and messages item by item
    /// (a series needs its instances, a message its attachments).
    async fn read_many(&mut self, ids: &[Id]) -> Result<Vec<(Id, Option<Read>)>, SideError> {
        let mut out = Vec::with_capacity(ids.len());
        let tasks = self.table() == ExchangeTable::Tasks;
        // a task is read in a batch when its list is known (from the delta that named it)
        let (batchable, single): (Vec<Id>, Vec<Id>) = ids.iter().cloned().partition(|id| {
            self.table() == ExchangeTable::Contacts || (tasks && self.task_lists.contains_key(id))
        });
        for id in &single {
            let r = self.read_one(id).await?;
            out.push((id.clone(), r));
        }
        let ids = &batchable;
        let options = ListOptions {
            top: None,
            ..self.options()
        };
        let query = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            if !options.select.is_empty() {
                q.append_pair("$select", &options.select.join(","));
            }
            if let Some(e) = &options.expand {
                q.append_pair("$expand", e);
            }
            q.finish()
        };
        let user = segment(self.mbox.user());
        for chunk in ids.chunks(graph_client::batch::MAX_BATCH) {
            let requests: Vec<graph_client::batch::BatchRequest> = chunk
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let path = match self.task_lists.get(id) {
                        Some(list) if tasks => {
                            format!("todo/lists/{}/tasks/{}", segment(list), segment(id))
                        }
                        _ => format!("contacts/{}", segment(id)),
                    };
                    graph_client::batch::BatchRequest::get(
                        i.to_string(),
                        format!("/users/{user}/{path}?{query}"),
                    )
                })
                .collect();
            let answers = self
                .mbox
                .client()
                .batch(self.mbox.user(), requests)
                .await
                .map_err(graph_err)?;
            for (id, answer) in chunk.iter().zip(answers) {
                let read = if tasks {
                    let list = self.task_lists.get(id).cloned().unwrap_or_default();
                    answer
                        .into_result::<TodoTask>()
                        .map(|t| t.and_then(|t| self.read_task(&list, &t)))
                } else {
                    answer
                        .into_result::<Contact>()
                        .map(|c| c.and_then(|c| self.read_contact(&c)))
                };
                match read {
                    Ok(r) => out.push((id.clone(), r)),
                    Err(e) if e.is_not_found() => out.push((id.clone(), None)),
                    Err(e) => return Err(graph_err(e)),
                }
            }
        }
        Ok(out)
    }

    /// The item's record at `expected`, or why not.
    async fn current(&mut self, id: &str, expected: &str) -> Result<Current, SideError> {
        if let Some((v, r)) = self.cache.get(id)
            && v == expected
        {
            return Ok(Current::At(r.clone()));
        }
        match self.read_one(id).await? {
            None => Ok(Current::Gone),
            Some(r) if r.version == expected => Ok(Current::At(r.record)),
            Some(_) => Ok(Current::Changed),
        }
    }

    // ---------------------------------------------------------------- writing

    fn key_property(k: &str) -> Json {
        let p = key::graph_property().value(k.trim());
        serde_json::json!([p])
    }

    async fn create(&mut self, record: &Record, k: &str) -> WriteOutcome {
        let target = match self.resolve().await {
            Ok((_, t)) => t,
            Err(e) => return WriteOutcome::Failed(e.to_string()),
        };
        let result = match self.table() {
            ExchangeTable::Contacts => {
                let mut c = mapping::graph::contact::record_to_graph(record);
                c.single_value_extended_properties =
                    Some(vec![key::graph_property().value(k.trim())]);
                self.mbox
                    .create_contact(target.id.as_deref(), &c)
                    .await
                    .map(|c| (c.id, c.change_key))
            }
            ExchangeTable::Tasks => {
                let mut t = mapping::graph::task::record_to_graph(record);
                t.linked_resources = Some(vec![key::linked_resource(k)]);
                let list = target.id.clone().unwrap_or_default();
                let r = self.mbox.create_task(&list, &t).await;
                if let Ok(t) = &r
                    && let Some(id) = &t.id
                {
                    self.task_lists.insert(id.clone(), list);
                }
                r.map(|t| (t.id, t.etag))
            }
            ExchangeTable::Mail { direction } => {
                return self
                    .create_message(
                        target.id.as_deref().unwrap_or_default(),
                        record,
                        k,
                        direction,
                    )
                    .await;
            }
            _ => {
                let mut e = mapping::graph::appointment::record_to_graph(record);
                e.single_value_extended_properties =
                    Some(vec![key::graph_property().value(k.trim())]);
                e.transaction_id = Some(format!(
                    "conaktiv-{}-{}",
                    k.trim(),
                    uuid::Uuid::new_v4().simple()
                ));
                match self.mbox.create_event(target.id.as_deref(), &e).await {
                    Ok(created) => {
                        let id = created.id.clone().unwrap_or_default();
                        return self.finish_series(&id, None, record, true).await;
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok((Some(id), version)) => WriteOutcome::Done {
                id,
                version: version.unwrap_or_default(),
            },
            Ok((None, _)) => WriteOutcome::Unknown("Graph answered a create without an id".into()),
            Err(e) if e.outcome_unknown() => WriteOutcome::Unknown(e.to_string()),
            Err(e) => WriteOutcome::Failed(e.to_string()),
        }
    }

    /// Contacts or To Do tasks created in `$batch`es of 20 (`POST .../contacts` each with
    /// the key property, `POST .../tasks` each with the key as a linked resource), one
    /// outcome per item in order. A batch that failed as a whole is reported unknown for each
    /// of its items (the next run lists in full and re-pairs them by their key).
    async fn create_batched(&mut self, creates: &[(&Record, &str)]) -> Vec<WriteOutcome> {
        let mut out = Vec::with_capacity(creates.len());
        if creates.is_empty() {
            return out;
        }
        let target = match self.resolve().await {
            Ok((_, t)) => t,
            Err(e) => {
                return creates
                    .iter()
                    .map(|_| WriteOutcome::Failed(e.to_string()))
                    .collect();
            }
        };
        let user = segment(self.mbox.user());
        let tasks = self.table() == ExchangeTable::Tasks;
        let list = target.id.clone().unwrap_or_default();
        let url = match &target.id {
            Some(f) => {
                let f = segment(f);
                if tasks {
                    format!("/users/{user}/todo/lists/{f}/tasks")
                } else {
                    format!("/users/{user}/contactFolders/{f}/contacts")
                }
            }
            None => format!("/users/{user}/contacts"),
        };
        for chunk in creates.chunks(graph_client::batch::MAX_BATCH) {
            let mut requests = Vec::with_capacity(chunk.len());
            for (i, (record, k)) in chunk.iter().enumerate() {
                let body = if tasks {
                    let mut t = mapping::graph::task::record_to_graph(record);
                    t.linked_resources = Some(vec![key::linked_resource(k)]);
                    serde_json::to_value(&t)
                } else {
                    let mut c = mapping::graph::contact::record_to_graph(record);
                    c.single_value_extended_properties =
                        Some(vec![key::graph_property().value(k.trim())]);
                    serde_json::to_value(&c)
                }
                .unwrap_or(Json::Null);
                requests.push(graph_client::batch::BatchRequest::new(
                    i.to_string(),
                    "POST",
                    url.clone(),
                    Some(body),
                ));
            }
            match self.mbox.client().batch(self.mbox.user(), requests).await {
                Ok(answers) => {
                    for answer in answers {
                        // (id, version) of the created item
                        let created = if tasks {
                            answer
                                .into_result::<TodoTask>()
                                .map(|t| t.and_then(|t| Some((t.id?, t.etag))))
                        } else {
                            answer
                                .into_result::<Contact>()
                                .map(|c| c.and_then(|c| Some((c.id?, c.change_key))))
                        };
                        out.push(match created {
                            Ok(Some((id, version))) => {
                                if tasks {
                                    self.task_lists.insert(id.clone(), list.clone());
                                }
                                WriteOutcome::Done {
                                    id,
                                    version: version.unwrap_or_default(),
                                }
                            }
                            Ok(None) => WriteOutcome::Unknown(
                                "Graph answered a create without an id".into(),
                            ),
                            Err(e) => outcome_of(e),
                        });
                    }
                }
                // Whatever failed, the POSTs may have run (an answer lost or unreadable after
                // the batch was sent): unknown, so the next run looks before creating again.
                Err(e) => out.extend(chunk.iter().map(|_| WriteOutcome::Unknown(e.to_string()))),
            }
        }
        out
    }

    /// A CRM mail written into a mail folder: the message with its key, then its
    /// attachments; a message whose attachments could not be added is deleted again (the
    /// write failed, nothing half-written stays).
    async fn create_message(
        &mut self,
        folder: &str,
        record: &Record,
        k: &str,
        direction: conaktiv_model::mail::Direction,
    ) -> WriteOutcome {
        let mail = match crate::exchange::record_to_mail(record, direction) {
            Ok(m) => m,
            Err(e) => return WriteOutcome::Failed(e),
        };
        let message = mapping::graph_mail::mail_to_message(&mail, k);
        let created = match self.mbox.create_draft(Some(folder), &message).await {
            Ok(m) => m,
            Err(e) if e.outcome_unknown() => return WriteOutcome::Unknown(e.to_string()),
            Err(e) => return WriteOutcome::Failed(e.to_string()),
        };
        let Some(id) = created.id.clone() else {
            return WriteOutcome::Unknown("Graph answered a create without an id".into());
        };
        for a in &mail.attachments {
            if let Err(e) = self
                .mbox
                .add_attachment(&id, &a.name, &a.content_type, &a.bytes)
                .await
            {
                let why = format!("attachment {:?}: {e}", a.name);
                return match self.mbox.delete_message(&id, None).await {
                    Ok(()) => WriteOutcome::Failed(why),
                    // the message may stay without its attachment: the next run re-pairs it
                    Err(_) => WriteOutcome::Unknown(why),
                };
            }
        }
        let version = if mail.attachments.is_empty() {
            created.change_key
        } else {
            let options = ListOptions::default().select(&["id", "changeKey"]);
            match self.mbox.message(&id, &options).await {
                Ok(m) => m.change_key,
                Err(e) => return WriteOutcome::Unknown(e.to_string()),
            }
        };
        WriteOutcome::Done {
            id,
            version: version.unwrap_or_default(),
        }
    }

    /// After a series master was written: its exceptions, then its final change key.
    async fn finish_series(
        &mut self,
        id: &str,
        old: Option<&Record>,
        new: &Record,
        created: bool,
    ) -> WriteOutcome {
        let empty = Record::new();
        let old = old.unwrap_or(&empty);
        let series = mapping::graph::appointment::record_to_graph(new)
            .recurrence
            .is_some();
        if series {
            let instances = match self
                .mbox
                .instances(
                    id,
                    self.calendar_window(),
                    &ListOptions {
                        top: Some(PAGE),
                        ..ListOptions::default()
                    },
                )
                .await
            {
                Ok(i) => i,
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return self.series_failed(created, e.to_string()),
            };
            for w in mapping::graph::appointment::occurrence_writes(old, new, &instances) {
                let r = match &w {
                    mapping::graph::appointment::OccurrenceWrite::Delete { id } => {
                        self.mbox.delete_event(id, None).await
                    }
                    mapping::graph::appointment::OccurrenceWrite::Patch { id, body } => {
                        self.mbox.update_event(id, body, None).await.map(|_| ())
                    }
                };
                if let Err(e) = r
                    && !e.is_not_found()
                {
                    return self.series_failed(created, format!("occurrence write: {e}"));
                }
            }
        }
        let options = ListOptions::default().select(&["id", "changeKey"]);
        match self.mbox.event(id, &options).await {
            Ok(e) => WriteOutcome::Done {
                id: id.to_owned(),
                version: e.change_key.unwrap_or_default(),
            },
            Err(e) => self.series_failed(created, e.to_string()),
        }
    }

    fn series_failed(&self, created: bool, why: String) -> WriteOutcome {
        if created {
            WriteOutcome::Unknown(why)
        } else {
            WriteOutcome::Failed(why)
        }
    }

    async fn update(&mut self, id: &str, expected: &str, record: &Record, k: &str) -> WriteOutcome {
        let old = match self.current(id, expected).await {
            Ok(Current::At(r)) => r,
            Ok(Current::Changed) => return WriteOutcome::Conflict,
            Ok(Current::Gone) => return WriteOutcome::NotFound,
            Err(e) => return WriteOutcome::Failed(e.to_string()),
        };
        let etag = etag_of(expected);
        let r = match self.table() {
            ExchangeTable::Contacts => {
                let mut body = mapping::graph::contact::patch(&old, record);
                set_json(
                    &mut body,
                    "singleValueExtendedProperties",
                    Self::key_property(k),
                );
                self.mbox
                    .update_contact(id, &body, Some(&etag))
                    .await
                    .map(|c| c.change_key)
            }
            ExchangeTable::Mail { .. } => {
                // mail is filed, not edited: only the key is stored
                let mut body = Json::Object(serde_json::Map::new());
                set_json(
                    &mut body,
                    "singleValueExtendedProperties",
                    Self::key_property(k),
                );
                self.mbox
                    .update_message(id, &body, Some(&etag))
                    .await
                    .map(|m| m.change_key)
            }
            ExchangeTable::Tasks => {
                let body = mapping::graph::task::patch(&old, record);
                let list = self.task_lists.get(id).cloned().unwrap_or_default();
                self.mbox
                    .update_task(&list, id, &body, Some(&etag))
                    .await
                    .map(|t| t.etag)
            }
            _ => {
                let mut body = mapping::graph::appointment::patch(&old, record);
                set_json(
                    &mut body,
                    "singleValueExtendedProperties",
                    Self::key_property(k),
                );
                match self.mbox.update_event(id, &body, Some(&etag)).await {
                    Ok(_) => {
                        let id = id.to_owned();
                        return self.finish_series(&id, Some(&old), record, false).await;
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match r {
            Ok(version) => WriteOutcome::Done {
                id: id.to_owned(),
                version: version.unwrap_or_default(),
            },
            Err(e) => outcome_of(e),
        }
    }

    async fn delete(&mut self, id: &str, expected: &str) -> WriteOutcome {
        let etag = etag_of(expected);
        let r = match self.table() {
            ExchangeTable::Contacts => self.mbox.delete_contact(id, Some(&etag)).await,
            ExchangeTable::Tasks => {
                let list = match self.task_lists.get(id) {
                    Some(l) => l.clone(),
                    None => match self.read_one(id).await {
                        Ok(Some(_)) => self.task_lists.get(id).cloned().unwrap_or_default(),
                        Ok(None) => return WriteOutcome::NotFound,
                        Err(e) => return WriteOutcome::Failed(e.to_string()),
                    },
                };
                self.mbox.delete_task(&list, id, Some(&etag)).await
            }
            ExchangeTable::Mail { .. } => self.mbox.delete_message(id, Some(&etag)).await,
            _ => self.mbox.delete_event(id, Some(&etag)).await,
        };
        match r {
            Ok(()) => WriteOutcome::Done {
                id: id.to_owned(),
                version: String::new(),
            },
            Err(e) => outcome_of(e),
        }
    }

    async fn set_key(&mut self, id: &str, expected: &str, k: &str) -> WriteOutcome {
        let etag = etag_of(expected);
        let mut body = serde_json::Map::new();
        body.insert(
            "singleValueExtendedProperties".into(),
            Self::key_property(k),
        );
        let body = Json::Object(body);
        let r = match self.table() {
            ExchangeTable::Contacts => self
                .mbox
                .update_contact(id, &body, Some(&etag))
                .await
                .map(|c| c.change_key),
            ExchangeTable::Tasks => {
                // To Do has no extended properties: check the version, then add the link.
                match self.read_one(id).await {
                    Ok(None) => return WriteOutcome::NotFound,
                    Ok(Some(r)) if r.version != expected => return WriteOutcome::Conflict,
                    Ok(Some(r)) if r.key.as_deref() == Some(k.trim()) => {
                        return WriteOutcome::Done {
                            id: id.to_owned(),
                            version: r.version,
                        };
                    }
                    Ok(Some(_)) => {}
                    Err(e) => return WriteOutcome::Failed(e.to_string()),
                }
                let list = self.task_lists.get(id).cloned().unwrap_or_default();
                if let Err(e) = self
                    .mbox
                    .create_linked_resource(&list, id, &key::linked_resource(k))
                    .await
                {
                    return outcome_of(e);
                }
                match self.read_one(id).await {
                    Ok(Some(r)) => Ok(Some(r.version)),
                    Ok(None) => return WriteOutcome::NotFound,
                    Err(e) => return WriteOutcome::Failed(e.to_string()),
                }
            }
            ExchangeTable::Mail { .. } => self
                .mbox
                .update_message(id, &body, Some(&etag))
                .await
                .map(|m| m.change_key),
            _ => self
                .mbox
                .update_event(id, &body, Some(&etag))
                .await
                .map(|e| e.change_key),
        };
        match r {
            Ok(version) => WriteOutcome::Done {
                id: id.to_owned(),
                version: version.unwrap_or_default(),
            },
            Err(e) => outcome_of(e),
        }
    }
}

/// A path segment of a `$batch` request URL (ids and addresses percent-encoded).
fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn set_json(body: &mut Json, name: &str, value: Json) {
    if !body.is_object() {
        *body = Json::Object(serde_json::Map::new());
    }
    if let Json::Object(map) = body {
        map.insert(name.to_owned(), value);
    }
}

fn outcome_of(e: graph_client::Error) -> WriteOutcome {
    if e.is_conflict() {
        WriteOutcome::Conflict
    } else if e.is_not_found() {
        WriteOutcome::NotFound
    } else if e.outcome_unknown() {
        WriteOutcome::Unknown(e.to_string())
    } else {
        WriteOutcome::Failed(e.to_string())
    }
}

/// What an update needs to know about an item's current state.
enum Current {
    At(Record),
    Changed,
    Gone,
}

/// Per id named by the delta rounds, the last change: `None` removed, else the version the
/// delta named (if it did).
type Touched = BTreeMap<Id, Option<Option<Version>>>;

/// The change feed ([`Side::changes_since`]): which token is still usable, the delta round
/// of each folder, and which changed items must be read.
impl GraphSide {
    /// The stored token, if this rule can continue from it: same folders and table, and,
    /// for a calendar, not older than [`token::CALENDAR_TOKEN_HOURS`] (its view window
    /// moves).
    fn usable_token(&self, token: &str) -> Option<GraphToken> {
        let token = GraphToken::decode(token)?;
        if token.config != self.config.fingerprint() || token.folders.is_empty() {
            return None;
        }
        let calendar = self.table() == ExchangeTable::Appointments;
        if calendar && self.now.timestamp() - token.issued > token::CALENDAR_TOKEN_HOURS * 3600 {
            return None;
        }
        Some(token)
    }

    /// The folders of the token's delta links, in its order; `None` if a folder tree
    /// changed (a full listing is needed).
    ///
    /// Plain folders are taken from the token, as EWS's sync states are: a folder that is
    /// gone answers 404 and the engine lists in full (which resolves the paths again).
    /// Folder trees are resolved again, so that a new or removed subfolder is noticed.
    async fn token_folders(
        &mut self,
        token: &GraphToken,
    ) -> Result<Option<Vec<GraphFolder>>, SideError> {
        let known: Vec<String> = token.folders.iter().map(|(k, _)| k.clone()).collect();
        if self.config.folders.iter().any(|f| f.include_subfolders) {
            let (folders, _) = self.resolve().await?;
            let keys: Vec<String> = folders.iter().map(GraphFolder::token_key).collect();
            return Ok((keys == known).then_some(folders));
        }
        Ok(Some(
            known
                .iter()
                .map(|k| GraphFolder {
                    id: (!k.is_empty()).then(|| k.clone()),
                    path: String::new(),
                })
                .collect(),
        ))
    }

    /// Runs each folder's delta round from the token's link: the ids they touched and the
    /// next links; `None` if a full listing is needed (the delta was reset, a folder is
    /// gone, or a calendar instance was removed).
    async fn delta_rounds(
        &mut self,
        folders: &[GraphFolder],
        token: &GraphToken,
    ) -> Result<Option<(Touched, Vec<(String, String)>)>, SideError> {
        let mut touched = Touched::new();
        let mut next = Vec::new();
        for (folder, (k, link)) in folders.iter().zip(token.folders.iter()) {
            let (changes, link) = match self.delta_round(folder, link).await {
                Ok(r) => r,
                Err(e) if e.is_delta_reset() || e.is_not_found() => return Ok(None),
                Err(e) => return Err(graph_err(e)),
            };
            for c in changes {
                match c {
                    DeltaId::Upsert(id, version) => {
                        if self.table() == ExchangeTable::Tasks
                            && let Some(list) = &folder.id
                        {
                            self.task_lists.insert(id.clone(), list.clone());
                        }
                        touched.insert(id, Some(version));
                    }
                    // a removed instance may be a cancelled occurrence of a series the
                    // delta does not name: reconcile through a full listing
                    DeltaId::Removed(_, true) => return Ok(None),
                    DeltaId::Removed(id, false) => {
                        touched.insert(id, None);
                    }
                    DeltaId::Unknown => {}
                }
            }
            next.push((k.clone(), link));
        }
        Ok(Some((touched, next)))
    }

    /// One folder's delta round from `link`: the ids it named and the next link.
    async fn delta_round(
        &self,
        folder: &GraphFolder,
        link: &str,
    ) -> Result<(Vec<DeltaId>, String), graph_client::Error> {
        let id = folder.id.as_deref();
        let start = DeltaStart::Link(link);
        Ok(match self.table() {
            ExchangeTable::Contacts => delta_ids(
                self.mbox
                    .contacts_delta(id, start, &["id", "changeKey"], Some(PAGE))
                    .await?,
                false,
                |c: &Contact| c.id.clone().map(|i| (i, c.change_key.clone())),
            ),
            ExchangeTable::Tasks => delta_ids(
                self.mbox
                    .tasks_delta(id.unwrap_or_default(), start, Some(PAGE))
                    .await?,
                false,
                |t: &TodoTask| t.id.clone().map(|i| (i, t.etag.clone())),
            ),
            ExchangeTable::Mail { .. } => delta_ids(
                self.mbox
                    .messages_delta(
                        id.unwrap_or_default(),
                        start,
                        &["id", "changeKey"],
                        Some(PAGE),
                    )
                    .await?,
                false,
                |m: &graph_client::mail::Message| m.id.clone().map(|i| (i, m.change_key.clone())),
            ),
            // an instance stands for its series: the master is what changed
            _ => delta_ids(
                self.mbox
                    .calendar_view_delta(id, self.calendar_window(), start, Some(PAGE))
                    .await?,
                true,
                |e: &Event| {
                    match e.kind {
                        Some(EventType::Occurrence | EventType::Exception) => {
                            e.series_master_id.clone()
                        }
                        _ => e.id.clone(),
                    }
                    .map(|i| (i, None))
                },
            ),
        })
    }

    /// Sorts the touched ids into (changed entries known without a read, removed ids, ids
    /// to read). An item this run wrote, still at the version the write returned, has a
    /// known key: no read needed (the engine reads the feed once more past its writes).
    fn sort_touched(&self, touched: Touched) -> (Vec<Entry>, Vec<Id>, Vec<Id>) {
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        let mut to_read = Vec::new();
        for (id, state) in touched {
            let Some(version) = state else {
                removed.push(id);
                continue;
            };
            if let (Some(v), Some((written, k))) = (&version, self.written.get(&id))
                && v == written
            {
                changed.push(Entry {
                    id,
                    version: v.clone(),
                    key: Some(k.clone()),
                });
                continue;
            }
            to_read.push(id);
        }
        (changed, removed, to_read)
    }
}

impl Side for GraphSide {
    async fn list(&mut self) -> Result<Listing, SideError> {
        self.cache.clear();
        self.instances.clear();
        let (folders, _) = self.resolve().await?;
        let mut token = GraphToken::new(self.config.fingerprint(), self.now.timestamp());
        let mut entries: BTreeMap<Id, Entry> = BTreeMap::new();
        for folder in &folders {
            // the delta link first: a change made while listing shows up in the next round
            let link = self.initial_delta(folder).await?;
            for r in self.list_folder(folder).await? {
                let e = self.remember(&r);
                entries.insert(e.id.clone(), e);
            }
            token.folders.push((folder.token_key(), link));
        }
        tracing::debug!(
            table = self.table().name(),
            folders = folders.len(),
            items = entries.len(),
            "listed Graph folders"
        );
        Ok(Listing {
            entries: entries.into_values().collect(),
            token: Some(token.encode()),
        })
    }

    async fn changes_since(&mut self, token: &str) -> Result<Option<ChangeSet>, SideError> {
        self.cache.clear();
        self.instances.clear();
        let Some(mut token) = self.usable_token(token) else {
            return Ok(None);
        };
        let Some(folders) = self.token_folders(&token).await? else {
            return Ok(None);
        };
        let Some((touched, next)) = self.delta_rounds(&folders, &token).await? else {
            return Ok(None);
        };
        token.folders = next;
        let (mut changed, mut removed, to_read) = self.sort_touched(touched);
        for (id, read) in self.read_many(&to_read).await? {
            match read {
                Some(r) => changed.push(self.remember(&r)),
                None => removed.push(id),
            }
        }
        Ok(Some(ChangeSet {
            changed,
            removed,
            token: token.encode(),
        }))
    }

    async fn fetch(&mut self, ids: &[Id]) -> Result<Vec<(Id, Record)>, SideError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some((_, r)) = self.cache.get(id) {
                out.push((id.clone(), r.clone()));
                continue;
            }
            if let Some(r) = self.read_one(id).await? {
                self.remember(&r);
                out.push((id.clone(), r.record));
            }
        }
        Ok(out)
    }

    async fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, SideError> {
        let mut out = Vec::with_capacity(ops.len());
        // Contact and task creates go in `$batch`es of 20; their outcomes are used below in
        // order.
        let batched = matches!(self.table(), ExchangeTable::Contacts | ExchangeTable::Tasks);
        let mut created: std::collections::VecDeque<WriteOutcome> = if batched {
            let creates: Vec<(&Record, &str)> = ops
                .iter()
                .filter_map(|op| match op {
                    WriteOp::Create { record, key } => Some((record, key.as_str())),
                    _ => None,
                })
                .collect();
            self.create_batched(&creates).await.into()
        } else {
            Default::default()
        };
        for op in ops {
            let outcome = match &op {
                WriteOp::Create { .. } if batched => created
                    .pop_front()
                    .unwrap_or_else(|| WriteOutcome::Unknown("no batch answer".into())),
                WriteOp::Create { record, key } => self.create(record, key).await,
                WriteOp::Update {
                    id,
                    expected,
                    record,
                    key,
                } => self.update(id, expected, record, key).await,
                WriteOp::Delete { id, expected } => self.delete(id, expected).await,
                WriteOp::SetKey { id, expected, key } => self.set_key(id, expected, key).await,
            };
            if let WriteOutcome::Done { id, version } = &outcome
                && !matches!(op, WriteOp::Delete { .. })
            {
                // the record now stands at the new version
                let record = match &op {
                    WriteOp::Create { record, .. } | WriteOp::Update { record, .. } => {
                        Some(record.clone())
                    }
                    _ => self.cache.get(id).map(|(_, r)| r.clone()),
                };
                if let Some(r) = record {
                    self.cache.insert(id.clone(), (version.clone(), r));
                }
                let key = match &op {
                    WriteOp::Create { key, .. }
                    | WriteOp::Update { key, .. }
                    | WriteOp::SetKey { key, .. } => Some(key.trim().to_owned()),
                    WriteOp::Delete { .. } => None,
                };
                if let Some(k) = key {
                    self.written.insert(id.clone(), (version.clone(), k));
                }
            }
            out.push(outcome);
        }
        Ok(out)
    }
}

/// An id a delta round named.
enum DeltaId {
    /// Created or changed, with the version the delta named (if it did).
    Upsert(Id, Option<Version>),
    /// Removed; `true` for a calendar view instance.
    Removed(Id, bool),
    Unknown,
}

/// The ids a delta round named, and its delta link. `calendar`: the round is over a
/// calendar view, whose removed entries are instances.
fn delta_ids<T>(
    round: graph_client::DeltaRound<T>,
    calendar: bool,
    id_of: impl Fn(&T) -> Option<(String, Option<Version>)>,
) -> (Vec<DeltaId>, String) {
    let ids = round
        .changes
        .into_iter()
        .map(|c| match c {
            Change::Upsert(t) => {
                id_of(&t).map_or(DeltaId::Unknown, |(id, v)| DeltaId::Upsert(id, v))
            }
            Change::Removed { id, .. } => DeltaId::Removed(id, calendar),
        })
        .collect();
    (ids, round.delta_link)
}
