//! Microsoft To Do: task lists and tasks (CRUD, delta), linked resources and open
//! extensions. To Do tasks have no extended properties; a CRM id goes into a linked
//! resource (`applicationName` + `externalId`) or an open extension.

use http::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Mailbox, WriteOptions};
use crate::error::Error;
use crate::mail::has_id;
use crate::odata::{DeltaRound, DeltaStart, ListOptions};
use crate::schema::{graph_enum, graph_struct};
use crate::types::{DateTimeTimeZone, Importance, ItemBody, PatternedRecurrence};

graph_enum! {
    /// `wellknownListName`.
    pub enum WellknownListName = "wellknownListName" {
        None = "none",
        DefaultList = "defaultList",
        FlaggedEmails = "flaggedEmails",
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// `taskStatus`.
    pub enum TaskStatus = "taskStatus" {
        NotStarted = "notStarted",
        InProgress = "inProgress",
        Completed = "completed",
        WaitingOnOthers = "waitingOnOthers",
        Deferred = "deferred",
    }
}

graph_struct! {
    /// `todoTaskList`.
    pub struct TodoTaskList = "todoTaskList" {
        "@odata.etag" => etag: String,
        "id" => id: String,
        "displayName" => display_name: String,
        "isOwner" => is_owner: bool,
        "isShared" => is_shared: bool,
        "wellknownListName" => wellknown_list_name: WellknownListName,
    }
}

graph_struct! {
    /// `linkedResource`: a link from a task to an item of another application.
    pub struct LinkedResource = "linkedResource" {
        "id" => id: String,
        "applicationName" => application_name: String,
        "displayName" => display_name: String,
        "externalId" => external_id: String,
        "webUrl" => web_url: String,
    }
}

/// `@odata.type` of an open extension.
pub const OPEN_TYPE_EXTENSION: &str = "#microsoft.graph.openTypeExtension";

/// `openTypeExtension`: a named bag of custom properties on a task (or message, event,
/// contact). Custom properties are open (not in the CSDL), kept in `data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenExtension {
    /// `@odata.type`, [`OPEN_TYPE_EXTENSION`].
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// `id` (Graph sets it to the qualified extension name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `extensionName`, e.g. `de.conaktiv.sync`.
    #[serde(
        rename = "extensionName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub extension_name: Option<String>,
    /// The custom properties.
    #[serde(flatten)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

impl crate::schema::Described for OpenExtension {
    const CSDL_NAME: &'static str = "openTypeExtension";
    fn properties() -> Vec<(&'static str, String)> {
        vec![
            ("id", "Edm.String".to_owned()),
            ("extensionName", "Edm.String".to_owned()),
        ]
    }
}

impl crate::schema::Edm for OpenExtension {
    fn edm() -> String {
        "microsoft.graph.extension".to_owned()
    }
}

impl OpenExtension {
    /// A new extension named `name` with `data`.
    pub fn new(name: &str, data: serde_json::Map<String, serde_json::Value>) -> Self {
        Self {
            odata_type: Some(OPEN_TYPE_EXTENSION.to_owned()),
            id: None,
            extension_name: Some(name.to_owned()),
            data,
        }
    }
}

graph_struct! {
    /// `todoTask`.
    pub struct TodoTask = "todoTask" {
        "@odata.etag" => etag: String,
        "id" => id: String,
        "title" => title: String,
        "body" => body: ItemBody,
        "importance" => importance: Importance,
        "status" => status: TaskStatus,
        "categories" => categories: Vec<String>,
        "createdDateTime" => created_date_time: chrono::DateTime<chrono::Utc>,
        "lastModifiedDateTime" => last_modified_date_time: chrono::DateTime<chrono::Utc>,
        "bodyLastModifiedDateTime" => body_last_modified_date_time: chrono::DateTime<chrono::Utc>,
        "startDateTime" => start_date_time: DateTimeTimeZone,
        "dueDateTime" => due_date_time: DateTimeTimeZone,
        "completedDateTime" => completed_date_time: DateTimeTimeZone,
        "reminderDateTime" => reminder_date_time: DateTimeTimeZone,
        "isReminderOn" => is_reminder_on: bool,
        "recurrence" => recurrence: PatternedRecurrence,
        "linkedResources" => linked_resources: Vec<LinkedResource>,
        "extensions" => extensions: Vec<OpenExtension>,
    }
}

has_id!(TodoTaskList, TodoTask, LinkedResource);

impl Mailbox {
    /// The user's To Do lists.
    pub async fn todo_lists(&self) -> Result<Vec<TodoTaskList>, Error> {
        self.list_at(&["todo", "lists"], &[], "task lists").await
    }

    /// Creates a list.
    pub async fn create_todo_list(&self, name: &str) -> Result<TodoTaskList, Error> {
        let body = TodoTaskList {
            display_name: Some(name.to_owned()),
            ..Default::default()
        };
        self.post_entity(&["todo", "lists"], &body, "task list")
            .await
    }

    /// Renames a list.
    pub async fn update_todo_list(&self, id: &str, name: &str) -> Result<TodoTaskList, Error> {
        let body = TodoTaskList {
            display_name: Some(name.to_owned()),
            ..Default::default()
        };
        self.update_entity(&["todo", "lists", id], &body, None, "task list")
            .await
    }

    /// Deletes a list with its tasks.
    pub async fn delete_todo_list(&self, id: &str) -> Result<(), Error> {
        self.delete_entity(&["todo", "lists", id], None).await
    }

    /// One delta round over the lists.
    pub async fn todo_lists_delta(
        &self,
        start: DeltaStart<'_>,
    ) -> Result<DeltaRound<TodoTaskList>, Error> {
        let url = self.url(&["todo", "lists", "delta"], &[])?;
        self.delta_round(url, start, None, "task list delta").await
    }

    /// The tasks of a list.
    pub async fn tasks(&self, list: &str, options: &ListOptions) -> Result<Vec<TodoTask>, Error> {
        self.list_at(&["todo", "lists", list, "tasks"], &options.query(), "tasks")
            .await
    }

    /// One task, with its linked resources and open extensions (`$expand`).
    pub async fn task(&self, list: &str, id: &str) -> Result<TodoTask, Error> {
        self.get(
            &["todo", "lists", list, "tasks", id],
            &[("$expand", "linkedResources,extensions".to_owned())],
            "task",
        )
        .await
    }

    /// Creates a task (linked resources in the body are created with it). Never repeated
    /// blindly.
    pub async fn create_task(&self, list: &str, task: &TodoTask) -> Result<TodoTask, Error> {
        self.post_entity(&["todo", "lists", list, "tasks"], task, "task")
            .await
    }

    /// Updates the properties in `patch` (the typed resource, or a `serde_json::Value` when a
    /// property must be cleared with `null`); with `etag`, 412 gives [`Error::Conflict`].
    pub async fn update_task(
        &self,
        list: &str,
        id: &str,
        patch: &(impl serde::Serialize + Sync),
        etag: Option<&str>,
    ) -> Result<TodoTask, Error> {
        self.update_entity(&["todo", "lists", list, "tasks", id], patch, etag, "task")
            .await
    }

    /// Deletes a task.
    pub async fn delete_task(&self, list: &str, id: &str, etag: Option<&str>) -> Result<(), Error> {
        self.delete_entity(&["todo", "lists", list, "tasks", id], etag)
            .await
    }

    /// One delta round over the tasks of a list.
    pub async fn tasks_delta(
        &self,
        list: &str,
        start: DeltaStart<'_>,
        page_size: Option<u32>,
    ) -> Result<DeltaRound<TodoTask>, Error> {
        let url = self.url(&["todo", "lists", list, "tasks", "delta"], &[])?;
        self.delta_round(url, start, page_size, "task delta").await
    }

    /// The linked resources of a task.
    pub async fn linked_resources(
        &self,
        list: &str,
        task: &str,
    ) -> Result<Vec<LinkedResource>, Error> {
        self.list_at(
            &["todo", "lists", list, "tasks", task, "linkedResources"],
            &[],
            "linked resources",
        )
        .await
    }

    /// Adds a linked resource to a task.
    pub async fn create_linked_resource(
        &self,
        list: &str,
        task: &str,
        resource: &LinkedResource,
    ) -> Result<LinkedResource, Error> {
        self.post_entity(
            &["todo", "lists", list, "tasks", task, "linkedResources"],
            resource,
            "linked resource",
        )
        .await
    }

    /// Removes a linked resource.
    pub async fn delete_linked_resource(
        &self,
        list: &str,
        task: &str,
        id: &str,
    ) -> Result<(), Error> {
        self.delete_entity(
            &["todo", "lists", list, "tasks", task, "linkedResources", id],
            None,
        )
        .await
    }

    /// Adds an open extension to a task.
    pub async fn create_task_extension(
        &self,
        list: &str,
        task: &str,
        extension: &OpenExtension,
    ) -> Result<OpenExtension, Error> {
        self.post_entity(
            &["todo", "lists", list, "tasks", task, "extensions"],
            extension,
            "extension",
        )
        .await
    }

    /// Reads an open extension of a task by name.
    pub async fn task_extension(
        &self,
        list: &str,
        task: &str,
        name: &str,
    ) -> Result<OpenExtension, Error> {
        self.get(
            &["todo", "lists", list, "tasks", task, "extensions", name],
            &[],
            "extension",
        )
        .await
    }

    /// Replaces the custom properties of an open extension.
    pub async fn update_task_extension(
        &self,
        list: &str,
        task: &str,
        name: &str,
        extension: &OpenExtension,
    ) -> Result<(), Error> {
        self.send_raw(
            Method::PATCH,
            &["todo", "lists", list, "tasks", task, "extensions", name],
            Some(extension),
            WriteOptions::default(),
        )
        .await
        .map(|_| ())
    }

    /// Deletes an open extension.
    pub async fn delete_task_extension(
        &self,
        list: &str,
        task: &str,
        name: &str,
    ) -> Result<(), Error> {
        self.delete_entity(
            &["todo", "lists", list, "tasks", task, "extensions", name],
            None,
        )
        .await
    }
}
