//! The Graph front's Microsoft To Do, driven over HTTP by graph-client's `Client`: task lists
//! CRUD, tasks CRUD with etags (412), delta per list with `@removed`, `linkedResources` kept
//! on the mock's task item; a To Do task is the same item as the EWS task.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use std::time::Duration;

use common::Ews;
use ews_client::ops::GetItem;
use ews_client::transport::{RetryPolicy, SecretString};
use ews_client::types::shape::ItemShape;
use ews_client::types::{Item, ItemId};
use ews_mock::MockHandle;
use graph_client::auth;
use graph_client::todo::{LinkedResource, TaskStatus, TodoTask, WellknownListName};
use graph_client::translate::ExchangeIdFormat;
use graph_client::types::{DateTimeTimeZone, ItemBody};
use graph_client::{Change, Client, ClientConfig, DeltaStart, ListOptions};

fn client(mock: &MockHandle) -> Client {
    let mut creds =
        auth::credentials("contoso", "sync-app").with_token_url(mock.token_url().parse().unwrap());
    creds.client_secret = SecretString::from("app-secret".to_owned());
    let config = ClientConfig::new(auth::with_secret(creds).unwrap())
        .with_base_url(url::Url::parse(&format!("{}/v1.0/", mock.base_url())).unwrap())
        .with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_attempts(3),
        )
        .with_retry_after_floor(Duration::from_millis(10))
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(30));
    Client::new(config).unwrap()
}

fn crm_link(record: &str) -> LinkedResource {
    LinkedResource {
        application_name: Some("ConAktiv".into()),
        display_name: Some(format!("Vorgang {record}")),
        external_id: Some(record.into()),
        web_url: Some(format!("https://crm.example.org/records/{record}")),
        ..LinkedResource::default()
    }
}

#[tokio::test]
async fn lists_tasks_and_linked_resources_with_the_ews_view() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");

    let lists = bob.todo_lists().await.unwrap();
    let default = lists
        .iter()
        .find(|l| l.wellknown_list_name == Some(WellknownListName::DefaultList))
        .expect("the default list");
    let default_id = default.id.clone().unwrap();
    // list CRUD
    let crm = bob.create_todo_list("CRM").await.unwrap();
    let crm_id = crm.id.clone().unwrap();
    assert_eq!(crm.wellknown_list_name, Some(WellknownListName::None));
    let renamed = bob.update_todo_list(&crm_id, "CRM-Aufgaben").await.unwrap();
    assert_eq!(renamed.display_name.as_deref(), Some("CRM-Aufgaben"));
    assert_eq!(bob.todo_lists().await.unwrap().len(), lists.len() + 1);

    // a task with a linked resource
    let task = TodoTask {
        title: Some("Angebot nachfassen".into()),
        body: Some(ItemBody::text("Kunde anrufen")),
        due_date_time: Some(DateTimeTimeZone::new("2027-03-01T00:00:00", "UTC")),
        linked_resources: Some(vec![crm_link("4711")]),
        ..TodoTask::default()
    };
    let created = bob.create_task(&crm_id, &task).await.unwrap();
    let id = created.id.clone().unwrap();
    assert_eq!(created.status, Some(TaskStatus::NotStarted));
    let read = bob.task(&crm_id, &id).await.unwrap();
    let links = read.linked_resources.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].external_id.as_deref(), Some("4711"));
    assert_eq!(links[0].application_name.as_deref(), Some("ConAktiv"));
    assert!(links[0].id.is_some());
    // a second one, then the first removed
    let second = bob
        .create_linked_resource(&crm_id, &id, &crm_link("4712"))
        .await
        .unwrap();
    bob.delete_linked_resource(&crm_id, &id, links[0].id.as_deref().unwrap())
        .await
        .unwrap();
    let now = bob.linked_resources(&crm_id, &id).await.unwrap();
    assert_eq!(now, vec![second.clone()]);
    // not found in another list
    let err = bob.task(&default_id, &id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // update with the etag; the old one gives 412
    let current = bob.task(&crm_id, &id).await.unwrap();
    let done = TodoTask {
        status: Some(TaskStatus::Completed),
        ..TodoTask::default()
    };
    let updated = bob
        .update_task(&crm_id, &id, &done, current.etag.as_deref())
        .await
        .unwrap();
    assert_eq!(updated.status, Some(TaskStatus::Completed));
    assert!(updated.completed_date_time.is_some());
    let err = bob
        .update_task(&crm_id, &id, &done, current.etag.as_deref())
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");

    // the same item through EWS: an IPM.Task, completed, in the list's folder
    let ews_id = bob
        .translate_exchange_ids(
            &[id.as_str()],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    let got = Ews::bob(&mock)
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![ItemId::new(ews_id)],
        ))
        .await;
    let Item::Task(t) = &got.messages[0].content.items[0] else {
        panic!("not a task");
    };
    assert_eq!(t.common.subject.as_deref(), Some("Angebot nachfassen"));
    assert_eq!(t.is_complete, Some(true));

    // delete the task, then the list
    bob.delete_task(&crm_id, &id, None).await.unwrap();
    assert!(
        bob.tasks(&crm_id, &ListOptions::default())
            .await
            .unwrap()
            .is_empty()
    );
    bob.delete_todo_list(&crm_id).await.unwrap();
    assert_eq!(bob.todo_lists().await.unwrap().len(), lists.len());
}

#[tokio::test]
async fn task_delta_per_list_with_removals() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let list = bob.create_todo_list("Sync").await.unwrap().id.unwrap();
    let other = bob.create_todo_list("Andere").await.unwrap().id.unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let t = TodoTask {
            title: Some(format!("Aufgabe {n}")),
            ..TodoTask::default()
        };
        ids.push(bob.create_task(&list, &t).await.unwrap().id.unwrap());
    }
    // another list's task is not in this list's delta
    bob.create_task(
        &other,
        &TodoTask {
            title: Some("woanders".into()),
            ..TodoTask::default()
        },
    )
    .await
    .unwrap();
    let first = bob
        .tasks_delta(&list, DeltaStart::Initial, Some(2))
        .await
        .unwrap();
    assert!(first.pages >= 2, "paged by 2");
    let seen: Vec<String> = first
        .changes
        .iter()
        .map(|c| match c {
            Change::Upsert(t) => t.id.clone().unwrap(),
            Change::Removed { .. } => panic!("nothing removed yet"),
        })
        .collect();
    assert_eq!(seen, ids);

    bob.update_task(
        &list,
        &ids[0],
        &TodoTask {
            title: Some("Aufgabe 0 (neu)".into()),
            ..TodoTask::default()
        },
        None,
    )
    .await
    .unwrap();
    bob.delete_task(&list, &ids[1], None).await.unwrap();
    let next = bob
        .tasks_delta(&list, DeltaStart::Link(&first.delta_link), None)
        .await
        .unwrap();
    let mut upserts = Vec::new();
    let mut removed = Vec::new();
    for c in next.changes {
        match c {
            Change::Upsert(t) => upserts.push(t.title.unwrap()),
            Change::Removed { id, .. } => removed.push(id),
        }
    }
    assert_eq!(upserts, vec!["Aufgabe 0 (neu)".to_string()]);
    assert_eq!(removed, vec![ids[1].clone()]);
}

#[tokio::test]
async fn open_extensions_on_tasks() {
    use graph_client::todo::OpenExtension;
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let list = bob.create_todo_list("Ext").await.unwrap().id.unwrap();
    let task = bob
        .create_task(
            &list,
            &TodoTask {
                title: Some("Mit Erweiterung".into()),
                ..TodoTask::default()
            },
        )
        .await
        .unwrap()
        .id
        .unwrap();
    let mut data = serde_json::Map::new();
    data.insert("recordId".into(), "4711".into());
    data.insert("kind".into(), "Aufgabe".into());
    let ext = OpenExtension::new("de.conaktiv.sync", data.clone());
    let created = bob.create_task_extension(&list, &task, &ext).await.unwrap();
    assert_eq!(created.extension_name.as_deref(), Some("de.conaktiv.sync"));
    // the same name again: 409
    assert!(bob.create_task_extension(&list, &task, &ext).await.is_err());
    // read with the task ($expand=extensions) and on its own
    let read = bob.task(&list, &task).await.unwrap();
    let exts = read.extensions.unwrap();
    assert_eq!(exts.len(), 1);
    assert_eq!(exts[0].data.get("recordId"), Some(&"4711".into()));
    let mut patch = serde_json::Map::new();
    patch.insert("recordId".into(), "4712".into());
    bob.update_task_extension(
        &list,
        &task,
        "de.conaktiv.sync",
        &OpenExtension::new("de.conaktiv.sync", patch),
    )
    .await
    .unwrap();
    let one = bob
        .task_extension(&list, &task, "de.conaktiv.sync")
        .await
        .unwrap();
    assert_eq!(one.data.get("recordId"), Some(&"4712".into()));
    assert_eq!(one.data.get("kind"), Some(&"Aufgabe".into()), "merged");
    bob.delete_task_extension(&list, &task, "de.conaktiv.sync")
        .await
        .unwrap();
    let err = bob
        .task_extension(&list, &task, "de.conaktiv.sync")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn task_list_delta_reports_new_renamed_and_deleted_lists() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let first = bob.todo_lists_delta(DeltaStart::Initial).await.unwrap();
    let initial: Vec<_> = first
        .changes
        .iter()
        .map(|c| match c {
            Change::Upsert(l) => l.wellknown_list_name,
            Change::Removed { .. } => panic!("nothing removed initially"),
        })
        .collect();
    assert!(initial.contains(&Some(WellknownListName::DefaultList)));
    // mail folders are no task lists
    assert_eq!(initial.len(), bob.todo_lists().await.unwrap().len());

    let a = bob.create_todo_list("A").await.unwrap().id.unwrap();
    let b = bob.create_todo_list("B").await.unwrap().id.unwrap();
    let second = bob
        .todo_lists_delta(DeltaStart::Link(&first.delta_link))
        .await
        .unwrap();
    let names: Vec<String> = second
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Upsert(l) => l.display_name.clone(),
            Change::Removed { .. } => None,
        })
        .collect();
    assert_eq!(names, vec!["A".to_string(), "B".to_string()]);
    bob.update_todo_list(&a, "A2").await.unwrap();
    bob.delete_todo_list(&b).await.unwrap();
    let third = bob
        .todo_lists_delta(DeltaStart::Link(&second.delta_link))
        .await
        .unwrap();
    let mut renamed = Vec::new();
    let mut removed = Vec::new();
    for c in third.changes {
        match c {
            Change::Upsert(l) => renamed.push(l.display_name.unwrap()),
            Change::Removed { id, .. } => removed.push(id),
        }
    }
    assert_eq!(renamed, vec!["A2".to_string()]);
    assert_eq!(removed, vec![b]);
}

#[tokio::test]
async fn a_recurring_task_keeps_its_pattern_and_needs_a_due_date() {
    use graph_client::types::{
        DayOfWeek, PatternedRecurrence, RecurrencePattern, RecurrencePatternType, RecurrenceRange,
        RecurrenceRangeType,
    };
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let list = bob
        .create_todo_list("Wiederkehrend")
        .await
        .unwrap()
        .id
        .unwrap();
    let recurrence = PatternedRecurrence {
        pattern: Some(RecurrencePattern {
            kind: Some(RecurrencePatternType::Weekly),
            interval: Some(1),
            days_of_week: Some(vec![DayOfWeek::Friday]),
            ..RecurrencePattern::default()
        }),
        range: Some(RecurrenceRange {
            kind: Some(RecurrenceRangeType::NoEnd),
            start_date: chrono::NaiveDate::from_ymd_opt(2027, 1, 1),
            ..RecurrenceRange::default()
        }),
    };
    let without_due = TodoTask {
        title: Some("Wochenbericht".into()),
        recurrence: Some(recurrence.clone()),
        ..TodoTask::default()
    };
    assert!(bob.create_task(&list, &without_due).await.is_err());
    let task = TodoTask {
        due_date_time: Some(DateTimeTimeZone::new("2027-01-01T00:00:00", "UTC")),
        ..without_due
    };
    let created = bob.create_task(&list, &task).await.unwrap();
    let read = bob
        .task(&list, created.id.as_deref().unwrap())
        .await
        .unwrap();
    let pattern = read.recurrence.unwrap().pattern.unwrap();
    assert_eq!(pattern.kind, Some(RecurrencePatternType::Weekly));
    assert_eq!(pattern.days_of_week, Some(vec![DayOfWeek::Friday]));
}
