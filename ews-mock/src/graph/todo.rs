//! Microsoft To Do over the mailbox's task folders: lists (the Tasks folder is the
//! `defaultList`; CRUD), tasks (the folders' task items; CRUD with `If-Match`, delta per list
//! with `@removed`), and `linkedResources`. To Do tasks have no extended properties in Graph;
//! the mock keeps a task's linked resources on its task item (a property of a mock-private
//! property set, so EWS sees the same item unchanged otherwise).

use axum::http::StatusCode;
use ews_client::types::Item as EwsItem;
use ews_client::types::item::Importance as EwsImportance;
use ews_client::types::paths::{
    ExtendedFieldUri, ExtendedProperty, ExtendedValue, MapiPropertyType,
};
use ews_client::types::task::TaskStatus as EwsStatus;
use graph_client::odata::Change;
use graph_client::todo::{
    LinkedResource, OPEN_TYPE_EXTENSION, OpenExtension, TaskStatus, TodoTask, TodoTaskList,
    WellknownListName,
};
use graph_client::types::{Importance, ItemBody};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::calendar::{ews_time, graph_time};
use super::common::{self, check_if_match, store_error};
use super::ids as gids;
use super::{Reply, Request, parse_body};
use crate::ids::{IdKind, encode_change_key};
use crate::store::{ChangeKind, Mailbox, StoredItem};

type EwsTask = ews_client::types::Task;

/// The mock's own property set for what Graph keeps on a To Do task but EWS has no field for.
const MOCK_SET: &str = "{6C1A9E42-3B7D-4F0A-9E51-2D8C4B7A0F13}";
const LINKED_RESOURCES: &str = "GraphLinkedResources";
const OPEN_EXTENSIONS: &str = "GraphOpenExtensions";

fn extensions_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::named(MOCK_SET, OPEN_EXTENSIONS, MapiPropertyType::String)
}

fn linked_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::named(MOCK_SET, LINKED_RESOURCES, MapiPropertyType::String)
}

pub(crate) fn dispatch(req: &Request<'_>, path: &[&str]) -> Reply {
    let m = req.method.as_str();
    match path {
        ["todo", "lists"] if m == "GET" => list_lists(req),
        ["todo", "lists"] if m == "POST" => create_list(req),
        ["todo", "lists", "delta"] if m == "GET" => lists_delta(req),
        ["todo", "lists", id] => match m {
            "GET" => get_list(req, id),
            "PATCH" => update_list(req, id),
            "DELETE" => delete_list(req, id),
            _ => Reply::no_segment(),
        },
        ["todo", "lists", list, "tasks"] if m == "GET" => list_tasks(req, list),
        ["todo", "lists", list, "tasks"] if m == "POST" => create_task(req, list),
        ["todo", "lists", list, "tasks", "delta"] if m == "GET" => delta(req, list),
        ["todo", "lists", list, "tasks", id] => match m {
            "GET" => get_task(req, list, id),
            "PATCH" => update_task(req, list, id),
            "DELETE" => delete_task(req, list, id),
            _ => Reply::no_segment(),
        },
        ["todo", "lists", list, "tasks", id, "linkedResources"] => match m {
            "GET" => list_children::<LinkedResource>(req, list, id),
            "POST" => create_linked(req, list, id),
            _ => Reply::no_segment(),
        },
        ["todo", "lists", list, "tasks", id, "extensions"] => match m {
            "GET" => list_children::<OpenExtension>(req, list, id),
            "POST" => create_extension(req, list, id),
            _ => Reply::no_segment(),
        },
        ["todo", "lists", list, "tasks", id, "extensions", name] => match m {
            "GET" => get_child::<OpenExtension>(req, list, id, name),
            "PATCH" => update_extension(req, list, id, name),
            "DELETE" => delete_child::<OpenExtension>(req, list, id, name),
            _ => Reply::no_segment(),
        },
        ["todo", "lists", list, "tasks", id, "linkedResources", rid] => match m {
            "GET" => get_child::<LinkedResource>(req, list, id, rid),
            "PATCH" => update_linked(req, list, id, rid),
            "DELETE" => delete_child::<LinkedResource>(req, list, id, rid),
            _ => Reply::no_segment(),
        },
        _ => Reply::no_segment(),
    }
}

// ---------------------------------------------------------------------------------------------
// lists

fn is_task_folder(class: &str) -> bool {
    class.starts_with("IPF.Task")
}

fn list_key(mb: &Mailbox, id: &str) -> Option<u64> {
    let key = gids::decode(IdKind::Folder, &mb.address, id)?;
    mb.folders
        .get(&key)
        .filter(|f| is_task_folder(&f.class))
        .map(|f| f.key)
}

fn list_json(mb: &Mailbox, key: u64) -> Option<TodoTaskList> {
    let f = mb.folders.get(&key)?;
    let default = mb.distinguished("tasks") == Some(key);
    Some(TodoTaskList {
        etag: Some(gids::etag(&encode_change_key(key, 0))),
        id: Some(gids::encode(IdKind::Folder, &mb.address, key)),
        display_name: Some(if default {
            "Tasks".to_string()
        } else {
            f.name.clone()
        }),
        is_owner: Some(true),
        is_shared: Some(false),
        wellknown_list_name: Some(if default {
            WellknownListName::DefaultList
        } else {
            WellknownListName::None
        }),
    })
}

fn list_lists(req: &Request<'_>) -> Reply {
    common::list_folders(req, |_| Ok(None), is_task_folder, list_json)
}

/// `todo/lists/delta`: the task folders of the hierarchy journal since the token (a deleted
/// folder is `@removed`; its class is gone with it, so any deleted folder is reported).
fn lists_delta(req: &Request<'_>) -> Reply {
    common::folder_delta(req, is_task_folder, list_json, &["todo", "lists", "delta"])
}

fn get_list(req: &Request<'_>, id: &str) -> Reply {
    let find = |mb: &Mailbox| list_key(mb, id).and_then(|k| list_json(mb, k));
    common::get_folder(req, find, "task list")
}

fn list_name(req: &Request<'_>) -> Result<String, Reply> {
    common::folder_name(req, |b: TodoTaskList| b.display_name)
}

fn create_list(req: &Request<'_>) -> Reply {
    let name = match list_name(req) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let kind = common::FolderKind {
        class: "IPF.Task",
        json: list_json,
        what: "task list",
        error: store_error,
    };
    // beside the Tasks folder, as Outlook keeps To Do lists
    let parent = |mb: &Mailbox| {
        mb.distinguished("tasks")
            .and_then(|k| mb.folders.get(&k))
            .and_then(|f| f.parent)
    };
    common::create_folder(req, &name, parent, &kind)
}

fn update_list(req: &Request<'_>, id: &str) -> Reply {
    let name = match list_name(req) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(key) = list_key(mb, id) else {
        return Reply::not_found("task list");
    };
    match mb.update_folder(key, Some(&name), None) {
        Ok(()) => match list_json(mb, key) {
            Some(l) => Reply::json(StatusCode::OK, &l),
            None => Reply::not_found("task list"),
        },
        Err(e) => store_error(e),
    }
}

fn delete_list(req: &Request<'_>, id: &str) -> Reply {
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(key) = list_key(mb, id) else {
        return Reply::not_found("task list");
    };
    if mb.distinguished("tasks") == Some(key) {
        return Reply::error(
            StatusCode::BAD_REQUEST,
            "ErrorDeleteDistinguishedFolder",
            "The default task list cannot be deleted.",
        );
    }
    match mb.delete_folder(key) {
        Ok(()) => Reply::empty(StatusCode::NO_CONTENT),
        Err(e) => store_error(e),
    }
}

// ---------------------------------------------------------------------------------------------
// EWS task <-> To Do task

fn status(s: Option<&EwsStatus>) -> TaskStatus {
    match s {
        Some(EwsStatus::InProgress) => TaskStatus::InProgress,
        Some(EwsStatus::Completed) => TaskStatus::Completed,
        Some(EwsStatus::WaitingOnOthers) => TaskStatus::WaitingOnOthers,
        Some(EwsStatus::Deferred) => TaskStatus::Deferred,
        _ => TaskStatus::NotStarted,
    }
}

fn ews_status(s: TaskStatus) -> EwsStatus {
    match s {
        TaskStatus::InProgress => EwsStatus::InProgress,
        TaskStatus::Completed => EwsStatus::Completed,
        TaskStatus::WaitingOnOthers => EwsStatus::WaitingOnOthers,
        TaskStatus::Deferred => EwsStatus::Deferred,
        _ => EwsStatus::NotStarted,
    }
}

/// The To Do view of a stored task; `linked`: with its linked resources.
fn to_graph(
    graph: &super::GraphState,
    mb: &Mailbox,
    stored: &StoredItem,
    linked: bool,
) -> Option<TodoTask> {
    let EwsItem::Task(t) = &stored.item else {
        return None;
    };
    let change_key = encode_change_key(stored.key, stored.version);
    Some(TodoTask {
        etag: Some(gids::etag(&change_key)),
        id: Some(graph.item_id(&mb.address, stored.key)),
        title: t.common.subject.clone(),
        body: Some(match &t.common.body {
            Some(b) => common::graph_body(b),
            None => ItemBody::text(""),
        }),
        importance: Some(match t.common.importance {
            Some(EwsImportance::Low) => Importance::Low,
            Some(EwsImportance::High) => Importance::High,
            _ => Importance::Normal,
        }),
        status: Some(status(t.status.as_ref())),
        categories: Some(t.common.categories.clone()),
        created_date_time: Some(stored.created),
        last_modified_date_time: Some(stored.modified),
        start_date_time: t.start_date.map(graph_time),
        due_date_time: t.due_date.map(graph_time),
        completed_date_time: t.complete_date.map(graph_time),
        is_reminder_on: Some(t.common.reminder_is_set.unwrap_or(false)),
        reminder_date_time: t
            .common
            .reminder_due_by
            .filter(|_| t.common.reminder_is_set == Some(true))
            .map(graph_time),
        recurrence: t
            .recurrence
            .as_ref()
            .and_then(super::calendar::graph_recurrence),
        linked_resources: linked.then(|| LinkedResource::all_of(t)),
        ..TodoTask::default()
    })
}

fn apply(g: &TodoTask, t: &mut EwsTask) -> Result<(), String> {
    if let Some(s) = &g.title {
        t.common.subject = Some(s.clone());
    }
    if let Some(b) = &g.body {
        t.common.body = Some(common::ews_body(b));
    }
    if let Some(i) = g.importance {
        t.common.importance = Some(match i {
            Importance::Low => EwsImportance::Low,
            Importance::High => EwsImportance::High,
            _ => EwsImportance::Normal,
        });
    }
    if let Some(s) = g.status {
        t.status = Some(ews_status(s));
        t.is_complete = Some(s == TaskStatus::Completed);
        t.percent_complete = Some(if s == TaskStatus::Completed {
            100.0
        } else {
            0.0
        });
        if s == TaskStatus::Completed && t.complete_date.is_none() {
            t.complete_date = Some(chrono::Utc::now());
        }
    }
    if let Some(c) = &g.categories {
        t.common.categories = c.clone();
    }
    if let Some(d) = &g.start_date_time {
        t.start_date = Some(ews_time(d)?);
    }
    if let Some(d) = &g.due_date_time {
        t.due_date = Some(ews_time(d)?);
    }
    if let Some(d) = &g.completed_date_time {
        t.complete_date = Some(ews_time(d)?);
    }
    if let Some(r) = g.is_reminder_on {
        t.common.reminder_is_set = Some(r);
    }
    if let Some(d) = &g.reminder_date_time {
        t.common.reminder_due_by = Some(ews_time(d)?);
    }
    if let Some(r) = &g.recurrence {
        if t.due_date.is_none() {
            return Err("A recurring task needs a dueDateTime.".into());
        }
        t.recurrence = Some(super::calendar::ews_recurrence(r)?);
        t.is_recurring = Some(true);
    }
    if let Some(list) = &g.linked_resources {
        let mut list = list.clone();
        assign_ids(&mut list);
        LinkedResource::set_all(t, &list);
    }
    Ok(())
}

/// Clears what a PATCH body sets to `null` (Graph's way of removing a value).
fn clear_nulls(body: &[u8], t: &mut EwsTask) {
    for k in common::nulled(body) {
        match k.as_str() {
            "startDateTime" => t.start_date = None,
            "dueDateTime" => t.due_date = None,
            "completedDateTime" => t.complete_date = None,
            "reminderDateTime" => {
                t.common.reminder_due_by = None;
                t.common.reminder_is_set = Some(false);
            }
            "recurrence" => {
                t.recurrence = None;
                t.is_recurring = Some(false);
            }
            "body" => t.common.body = None,
            _ => {}
        }
    }
}

fn assign_ids(list: &mut [LinkedResource]) {
    for r in list.iter_mut().filter(|r| r.id.is_none()) {
        r.id = Some(new_id());
    }
}

fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::SeqCst)
        ^ (chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64);
    super::uuid_like(n)
}

// ---------------------------------------------------------------------------------------------
// tasks

fn task_key(req: &Request<'_>, mb: &Mailbox, list: &str, id: &str) -> Option<u64> {
    let folder = list_key(mb, list)?;
    let key = req.shared.graph.item_key(&mb.address, id)?;
    mb.items
        .get(&key)
        .filter(|s| s.folder == folder && matches!(s.item, EwsItem::Task(_)))
        .map(|s| s.key)
}

fn wants_linked(req: &Request<'_>) -> bool {
    req.param("$expand").is_some_and(|e| {
        e.split(',')
            .any(|p| p.trim().eq_ignore_ascii_case("linkedResources"))
    })
}

fn list_tasks(req: &Request<'_>, list: &str) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(f) = list_key(mb, list).and_then(|k| mb.folders.get(&k)) else {
        return Reply::not_found("task list");
    };
    let linked = wants_linked(req);
    let all: Vec<TodoTask> = f
        .items
        .iter()
        .filter_map(|k| mb.items.get(k))
        .filter_map(|s| to_graph(&req.shared.graph, mb, s, linked))
        .collect();
    common::paged(req, all, 10)
}

fn get_task(req: &Request<'_>, list: &str, id: &str) -> Reply {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let stored = task_key(req, mb, list, id).and_then(|k| mb.items.get(&k));
    let with_extensions = req.param("$expand").is_some_and(|e| {
        e.split(',')
            .any(|p| p.trim().eq_ignore_ascii_case("extensions"))
    });
    match stored.and_then(|s| {
        let mut t = to_graph(&req.shared.graph, mb, s, wants_linked(req))?;
        if with_extensions && let EwsItem::Task(task) = &s.item {
            t.extensions = Some(OpenExtension::all_of(task));
        }
        Some(t)
    }) {
        Some(t) => Reply::json(StatusCode::OK, &t),
        None => Reply::not_found("task"),
    }
}

fn create_task(req: &Request<'_>, list: &str) -> Reply {
    let body: TodoTask = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
        return Reply::bad_request("title is required.");
    }
    let mut task = EwsTask::default();
    task.common.item_class = Some("IPM.Task".to_string());
    task.status = Some(EwsStatus::NotStarted);
    if let Err(e) = apply(&body, &mut task) {
        return Reply::bad_request(&e);
    }
    let linked = body.linked_resources.is_some();
    common::create_item(
        req,
        |mb| list_key(mb, list),
        "task list",
        EwsItem::Task(task),
        "task",
        store_error,
        |mb, s| to_graph(&req.shared.graph, mb, s, linked),
    )
}

/// Changes the task `id` of `list` with `change` (after the `If-Match` check).
fn change_task<'r>(
    req: &Request<'r>,
    list: &str,
    id: &str,
    change: impl FnOnce(&mut EwsTask) -> Result<(), String>,
) -> Result<(u64, std::sync::RwLockWriteGuard<'r, crate::store::Store>), Reply> {
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Err(Reply::not_found("mailbox"));
    };
    let Some(key) = task_key(req, mb, list, id) else {
        return Err(Reply::not_found("task"));
    };
    let expected = match mb.items.get(&key) {
        Some(s) => check_if_match(s, req.if_match())?,
        None => return Err(Reply::not_found("task")),
    };
    common::change_item(mb, key, expected, store_error, |item| match item {
        EwsItem::Task(t) => change(t),
        _ => Ok(()),
    })?;
    Ok((key, store))
}

fn update_task(req: &Request<'_>, list: &str, id: &str) -> Reply {
    let body: TodoTask = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match change_task(req, list, id, |t| {
        apply(&body, t)?;
        clear_nulls(req.body, t);
        Ok(())
    }) {
        Ok((key, store)) => {
            let Some(mb) = store.mailbox(&req.mailbox) else {
                return Reply::not_found("mailbox");
            };
            common::item_reply(mb, key, StatusCode::OK, "task", |s| {
                to_graph(&req.shared.graph, mb, s, body.linked_resources.is_some())
            })
        }
        Err(r) => r,
    }
}

fn delete_task(req: &Request<'_>, list: &str, id: &str) -> Reply {
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(key) = task_key(req, mb, list, id) else {
        return Reply::not_found("task");
    };
    if let Some(s) = mb.items.get(&key)
        && let Err(r) = check_if_match(s, req.if_match())
    {
        return r;
    }
    match mb.delete_item(key) {
        Ok(_) => Reply::empty(StatusCode::NO_CONTENT),
        Err(e) => store_error(e),
    }
}

/// `tasks/delta` of a list: `$deltatoken` (a finished round) or `$skiptoken` (the next page).
fn delta(req: &Request<'_>, list: &str) -> Reply {
    let graph = &req.shared.graph;
    common::item_delta(
        req,
        |mb| list_key(mb, list),
        "task list",
        store_error,
        &[],
        |mb, change, value| match change.kind {
            ChangeKind::Delete => {
                value.push(common::removed(graph.item_id(&mb.address, change.key)))
            }
            _ => {
                if let Some(t) = mb
                    .items
                    .get(&change.key)
                    .and_then(|s| to_graph(graph, mb, s, false))
                {
                    value.push(Change::Upsert(t));
                }
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// the collections of a task: linkedResources, open extensions

/// A collection of a task kept as JSON in one extended property of the EWS task.
trait TaskChild: Serialize + DeserializeOwned + Sized {
    /// What a 404 for a missing entry names.
    const WHAT: &'static str;
    /// The extended property holding the collection.
    fn uri() -> ExtendedFieldUri;
    /// Whether this entry is the one `key` (the last path segment) names.
    fn is(&self, key: &str) -> bool;

    /// The entries of a task.
    fn all_of(t: &EwsTask) -> Vec<Self> {
        let uri = Self::uri();
        t.common
            .extended_properties
            .iter()
            .find(|p| super::extended::same(&p.uri, &uri))
            .and_then(|p| match &p.value {
                ExtendedValue::Single(s) => serde_json::from_str(s).ok(),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Replaces the entries of a task (none: the property is removed).
    fn set_all(t: &mut EwsTask, list: &[Self]) {
        let uri = Self::uri();
        t.common
            .extended_properties
            .retain(|p| !super::extended::same(&p.uri, &uri));
        if !list.is_empty() {
            let json = serde_json::to_string(list).unwrap_or_default();
            t.common
                .extended_properties
                .push(ExtendedProperty::string(uri, json));
        }
    }
}

impl TaskChild for LinkedResource {
    const WHAT: &'static str = "linked resource";
    fn uri() -> ExtendedFieldUri {
        linked_uri()
    }
    fn is(&self, key: &str) -> bool {
        self.id.as_deref() == Some(key)
    }
}

impl TaskChild for OpenExtension {
    const WHAT: &'static str = "extension";
    fn uri() -> ExtendedFieldUri {
        extensions_uri()
    }
    /// By name, ignoring case.
    fn is(&self, name: &str) -> bool {
        self.extension_name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    }
}

/// The entries of a collection of the task `id` of `list`.
fn read_children<C: TaskChild>(req: &Request<'_>, list: &str, id: &str) -> Result<Vec<C>, Reply> {
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Err(Reply::not_found("mailbox"));
    };
    match task_key(req, mb, list, id).and_then(|k| mb.items.get(&k).map(|s| &s.item)) {
        Some(EwsItem::Task(t)) => Ok(C::all_of(t)),
        _ => Err(Reply::not_found("task")),
    }
}

fn list_children<C: TaskChild>(req: &Request<'_>, list: &str, id: &str) -> Reply {
    match read_children::<C>(req, list, id) {
        Ok(value) => common::page_reply(value, None),
        Err(r) => r,
    }
}

fn get_child<C: TaskChild>(req: &Request<'_>, list: &str, id: &str, key: &str) -> Reply {
    match read_children::<C>(req, list, id) {
        Ok(all) => match all.into_iter().find(|c| c.is(key)) {
            Some(c) => Reply::json(StatusCode::OK, &c),
            None => Reply::not_found(C::WHAT),
        },
        Err(r) => r,
    }
}

fn delete_child<C: TaskChild>(req: &Request<'_>, list: &str, id: &str, key: &str) -> Reply {
    let mut found = false;
    let result = change_task(req, list, id, |t| {
        let mut all = C::all_of(t);
        let before = all.len();
        all.retain(|c| !c.is(key));
        found = all.len() != before;
        C::set_all(t, &all);
        Ok(())
    });
    match result {
        Ok(_) if found => Reply::empty(StatusCode::NO_CONTENT),
        Ok(_) => Reply::not_found(C::WHAT),
        Err(r) => r,
    }
}

// linkedResources

fn create_linked(req: &Request<'_>, list: &str, id: &str) -> Reply {
    let mut body: LinkedResource = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.application_name.is_none() || body.display_name.is_none() {
        return Reply::bad_request("applicationName and displayName are required.");
    }
    body.id = Some(new_id());
    let created = body.clone();
    match change_task(req, list, id, |t| {
        let mut all = LinkedResource::all_of(t);
        all.push(body);
        LinkedResource::set_all(t, &all);
        Ok(())
    }) {
        Ok(_) => Reply::json(StatusCode::CREATED, &created),
        Err(r) => r,
    }
}

fn update_linked(req: &Request<'_>, list: &str, id: &str, rid: &str) -> Reply {
    let body: LinkedResource = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut updated = None;
    let result = change_task(req, list, id, |t| {
        let mut all = LinkedResource::all_of(t);
        let r = all
            .iter_mut()
            .find(|r| r.id.as_deref() == Some(rid))
            .ok_or("The linked resource was not found.")?;
        if body.application_name.is_some() {
            r.application_name = body.application_name.clone();
        }
        if body.display_name.is_some() {
            r.display_name = body.display_name.clone();
        }
        if body.external_id.is_some() {
            r.external_id = body.external_id.clone();
        }
        if body.web_url.is_some() {
            r.web_url = body.web_url.clone();
        }
        updated = Some(r.clone());
        LinkedResource::set_all(t, &all);
        Ok(())
    });
    match (result, updated) {
        (Ok(_), Some(r)) => Reply::json(StatusCode::OK, &r),
        (Err(r), _) => r,
        (Ok(_), None) => Reply::not_found("linked resource"),
    }
}

// open extensions

fn create_extension(req: &Request<'_>, list: &str, id: &str) -> Reply {
    let mut body: OpenExtension = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.odata_type.as_deref() != Some(OPEN_TYPE_EXTENSION) {
        return Reply::bad_request("@odata.type must be #microsoft.graph.openTypeExtension.");
    }
    let Some(name) = body.extension_name.clone().filter(|n| !n.trim().is_empty()) else {
        return Reply::bad_request("extensionName is required.");
    };
    body.id = Some(name.clone());
    let created = body.clone();
    let mut exists = false;
    let result = change_task(req, list, id, |t| {
        let mut all = OpenExtension::all_of(t);
        if all.iter().any(|e| e.is(&name)) {
            exists = true;
            return Ok(());
        }
        all.push(body);
        OpenExtension::set_all(t, &all);
        Ok(())
    });
    match result {
        Ok(_) if exists => Reply::error(
            StatusCode::CONFLICT,
            "NameAlreadyExists",
            "An extension already exists with given id.",
        ),
        Ok(_) => Reply::json(StatusCode::CREATED, &created),
        Err(r) => r,
    }
}

fn update_extension(req: &Request<'_>, list: &str, id: &str, name: &str) -> Reply {
    let body: OpenExtension = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut found = false;
    let result = change_task(req, list, id, |t| {
        let mut all = OpenExtension::all_of(t);
        if let Some(e) = all.iter_mut().find(|e| e.is(name)) {
            found = true;
            for (k, v) in body.data {
                e.data.insert(k, v);
            }
        }
        OpenExtension::set_all(t, &all);
        Ok(())
    });
    match result {
        Ok(_) if found => Reply::empty(StatusCode::NO_CONTENT),
        Ok(_) => Reply::not_found("extension"),
        Err(r) => r,
    }
}
