//! The request shapes of the calendar, To Do, contact-folder and mail-folder operations
//! against wiremock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use chrono::TimeZone;
use graph_client::calendar::{Event, EventType, Window};
use graph_client::extended::PropertyId;
use graph_client::todo::{LinkedResource, OpenExtension, TaskStatus, TodoTask};
use graph_client::types::{
    DayOfWeek, PatternedRecurrence, RecurrencePattern, RecurrencePatternType, RecurrenceRange,
    RecurrenceRangeType,
};
use graph_client::{Change, DeltaStart, ListOptions};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MB: &str = "/v1.0/users/anna@contoso.com";

fn window() -> Window {
    Window {
        start: chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        end: chrono::Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
    }
}

#[tokio::test]
async fn series_instances_exceptions_and_calendar_view_delta() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/calendars/cal-1/events")))
        .and(body_json(json!({
            "transactionId": "tx-9",
            "subject": "Jour fixe",
            "start": {"dateTime": "2026-12-07T09:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2026-12-07T09:30:00", "timeZone": "W. Europe Standard Time"},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                "range": {"type": "numbered", "startDate": "2026-12-07", "numberOfOccurrences": 10}
            },
            "singleValueExtendedProperties": [
                {"id": "String {00020329-0000-0000-C000-000000000046} Name ConAktivRecordId", "value": "A-7"}
            ]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "ser-1", "type": "seriesMaster"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/events/ser-1/instances")))
        .and(query_param("startDateTime", "2026-12-01T00:00:00Z"))
        .and(query_param("endDateTime", "2027-01-01T00:00:00Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "occ-1", "type": "occurrence", "seriesMasterId": "ser-1"},
            {"id": "exc-2", "type": "exception", "seriesMasterId": "ser-1", "subject": "moved",
             "originalStart": "2026-12-14T08:00:00Z"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/events/ser-1")))
        .and(query_param("$expand", "exceptionOccurrences"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "ser-1", "type": "seriesMaster",
            "cancelledOccurrences": ["OID.ser-1.2026-12-21"],
            "exceptionOccurrences": [{"id": "exc-2", "type": "exception"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{MB}/events/occ-1")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/calendars/cal-1/calendarView/delta")))
        .and(query_param("startDateTime", "2026-12-01T00:00:00Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [
                {"id": "exc-2", "type": "exception", "seriesMasterId": "ser-1",
                 "start": {"dateTime": "2026-12-14T10:00:00.0000000", "timeZone": "UTC"},
                 "end": {"dateTime": "2026-12-14T10:30:00.0000000", "timeZone": "UTC"}},
                {"id": "occ-1", "@removed": {"reason": "deleted"}}
            ],
            "@odata.deltaLink": format!("{}{MB}/calendars/cal-1/calendarView/delta?$deltatoken=w1", server.uri())
        })))
        .expect(1)
        .mount(&server)
        .await;

    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    let id = PropertyId::public_string("ConAktivRecordId");
    let series = Event {
        transaction_id: Some("tx-9".into()),
        subject: Some("Jour fixe".into()),
        start: Some(graph_client::types::DateTimeTimeZone::new(
            "2026-12-07T09:00:00",
            "W. Europe Standard Time",
        )),
        end: Some(graph_client::types::DateTimeTimeZone::new(
            "2026-12-07T09:30:00",
            "W. Europe Standard Time",
        )),
        recurrence: Some(PatternedRecurrence {
            pattern: Some(RecurrencePattern {
                kind: Some(RecurrencePatternType::Weekly),
                interval: Some(1),
                days_of_week: Some(vec![DayOfWeek::Monday]),
                ..Default::default()
            }),
            range: Some(RecurrenceRange {
                kind: Some(RecurrenceRangeType::Numbered),
                start_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 7),
                number_of_occurrences: Some(10),
                ..Default::default()
            }),
        }),
        single_value_extended_properties: Some(vec![id.value("A-7")]),
        ..Default::default()
    };
    let master = mailbox.create_event(Some("cal-1"), &series).await.unwrap();
    assert_eq!(master.kind, Some(EventType::SeriesMaster));
    let instances = mailbox
        .instances("ser-1", window(), &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(instances[1].kind, Some(EventType::Exception));
    assert!(instances[1].original_start.is_some());
    let master = mailbox.series_master("ser-1").await.unwrap();
    assert_eq!(master.cancelled_occurrences.unwrap().len(), 1);
    assert_eq!(
        master.exception_occurrences.unwrap()[0].id.as_deref(),
        Some("exc-2")
    );
    mailbox.delete_event("occ-1", None).await.unwrap();
    let round = mailbox
        .calendar_view_delta(Some("cal-1"), window(), DeltaStart::Initial, None)
        .await
        .unwrap();
    assert_eq!(round.changes.len(), 2);
    assert!(matches!(&round.changes[1], Change::Removed { id, .. } if id == "occ-1"));
}

#[tokio::test]
async fn todo_tasks_with_linked_resources_extensions_and_delta() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/todo/lists/l1/tasks")))
        .and(body_json(json!({
            "title": "Call back", "status": "notStarted",
            "dueDateTime": {"dateTime": "2026-12-09T00:00:00", "timeZone": "UTC"},
            "linkedResources": [{"applicationName": "ConAktiv", "externalId": "T-17", "displayName": "Task T-17"}]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "t1", "@odata.etag": "W/\"t1\""})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{MB}/todo/lists/l1/tasks/t1")))
        .and(header("if-match", "W/\"t1\""))
        .and(body_json(json!({"status": "completed"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "t1", "status": "completed"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/todo/lists/l1/tasks/t1/extensions")))
        .and(body_json(
            json!({"@odata.type": "#microsoft.graph.openTypeExtension",
            "extensionName": "de.conaktiv.sync", "recordId": "T-17"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "@odata.type": "#microsoft.graph.openTypeExtension", "id": "de.conaktiv.sync",
            "extensionName": "de.conaktiv.sync", "recordId": "T-17"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/todo/lists/l1/tasks/t1")))
        .and(query_param("$expand", "linkedResources,extensions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "t1",
            "linkedResources": [{"id": "lr1", "applicationName": "ConAktiv", "externalId": "T-17"}],
            "extensions": [{"id": "de.conaktiv.sync", "extensionName": "de.conaktiv.sync", "recordId": "T-17"}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/todo/lists/l1/tasks/delta")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": "t1", "title": "Call back"}, {"id": "t0", "@removed": {"reason": "deleted"}}],
            "@odata.deltaLink": format!("{}{MB}/todo/lists/l1/tasks/delta?$deltatoken=x", server.uri())
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "{MB}/todo/lists/l1/tasks/t1/linkedResources/lr1"
        )))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    let task = TodoTask {
        title: Some("Call back".into()),
        status: Some(TaskStatus::NotStarted),
        due_date_time: Some(graph_client::types::DateTimeTimeZone::new(
            "2026-12-09T00:00:00",
            "UTC",
        )),
        linked_resources: Some(vec![LinkedResource {
            application_name: Some("ConAktiv".into()),
            external_id: Some("T-17".into()),
            display_name: Some("Task T-17".into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let created = mailbox.create_task("l1", &task).await.unwrap();
    let done = TodoTask {
        status: Some(TaskStatus::Completed),
        ..Default::default()
    };
    mailbox
        .update_task("l1", "t1", &done, created.etag.as_deref())
        .await
        .unwrap();
    let mut data = serde_json::Map::new();
    data.insert("recordId".into(), json!("T-17"));
    let ext = mailbox
        .create_task_extension("l1", "t1", &OpenExtension::new("de.conaktiv.sync", data))
        .await
        .unwrap();
    assert_eq!(ext.data["recordId"], "T-17");
    let read = mailbox.task("l1", "t1").await.unwrap();
    assert_eq!(
        read.linked_resources.unwrap()[0].external_id.as_deref(),
        Some("T-17")
    );
    assert_eq!(read.extensions.unwrap()[0].data["recordId"], "T-17");
    let round = mailbox
        .tasks_delta("l1", DeltaStart::Initial, None)
        .await
        .unwrap();
    assert_eq!(round.changes.len(), 2);
    mailbox
        .delete_linked_resource("l1", "t1", "lr1")
        .await
        .unwrap();
}

#[tokio::test]
async fn folder_trees_and_folder_delta() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/contactFolders/cf1/childFolders")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "cf2", "displayName": "Customers", "parentFolderId": "cf1"}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders/delta")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": "mf1", "displayName": "Projects", "childFolderCount": 2}],
            "@odata.deltaLink": format!("{}{MB}/mailFolders/delta?$deltatoken=f", server.uri())
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders/mf1/childFolders")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "mf2"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    let children = mailbox.contact_child_folders("cf1").await.unwrap();
    assert_eq!(children[0].display_name.as_deref(), Some("Customers"));
    let round = mailbox
        .mail_folders_delta(DeltaStart::Initial)
        .await
        .unwrap();
    assert!(round.delta_link.ends_with("$deltatoken=f"));
    assert_eq!(mailbox.mail_child_folders("mf1").await.unwrap().len(), 1);
}

#[tokio::test]
async fn events_are_updated_and_deleted_with_etags_and_read_through_the_calendar_view() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!("{MB}/events/e1")))
        .and(header("if-match", "W/\"DwAAABYAAAA\""))
        .and(body_json(json!({"subject": "Moved", "isAllDay": false})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "e1", "subject": "Moved",
            "@odata.etag": "W/\"DwAAABYAAAB\""})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{MB}/events/e1")))
        .and(header("if-match", "W/\"DwAAABYAAAB\""))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/calendarView")))
        .and(query_param("endDateTime", "2027-01-01T00:00:00Z"))
        .and(query_param("$select", "subject,start,end,type,seriesMasterId"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "o1", "type": "occurrence", "seriesMasterId": "s1",
             "start": {"dateTime": "2026-12-07T09:00:00.0000000", "timeZone": "W. Europe Standard Time"}}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{MB}/todo/lists/l1")))
        .and(body_json(json!({"displayName": "CRM"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "l1", "displayName": "CRM"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{MB}/todo/lists/l1")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    let patch = Event {
        subject: Some("Moved".into()),
        is_all_day: Some(false),
        ..Default::default()
    };
    let updated = mailbox
        .update_event("e1", &patch, Some("W/\"DwAAABYAAAA\""))
        .await
        .unwrap();
    mailbox
        .delete_event("e1", updated.etag.as_deref())
        .await
        .unwrap();
    let view = mailbox
        .calendar_view(
            None,
            window(),
            &ListOptions::default().select(&["subject", "start", "end", "type", "seriesMasterId"]),
        )
        .await
        .unwrap();
    assert_eq!(view[0].series_master_id.as_deref(), Some("s1"));
    assert_eq!(
        mailbox
            .update_todo_list("l1", "CRM")
            .await
            .unwrap()
            .display_name
            .as_deref(),
        Some("CRM")
    );
    mailbox.delete_todo_list("l1").await.unwrap();
}

/// Mounts `METHOD path` answering `status` with `body`, expected once.
async fn once(server: &MockServer, verb: &str, p: &str, status: u16, body: serde_json::Value) {
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_remaining_operations_use_their_documented_paths() {
    use graph_client::contacts::Contact;
    use graph_client::mail::Message;

    let server = MockServer::start().await;
    let s = &server;
    let list = json!({"value": [{"id": "x"}]});
    let one = json!({"id": "x"});
    once(s, "GET", &format!("{MB}/contactFolders"), 200, list.clone()).await;
    once(
        s,
        "POST",
        &format!("{MB}/contactFolders/cf1/childFolders"),
        201,
        one.clone(),
    )
    .await;
    once(s, "POST", &format!("{MB}/mailFolders"), 201, one.clone()).await;
    once(s, "GET", &format!("{MB}/contacts/c1"), 200, one.clone()).await;
    once(s, "DELETE", &format!("{MB}/contacts/c1"), 204, json!(null)).await;
    once(
        s,
        "POST",
        &format!("{MB}/contactFolders/cf1/contacts"),
        201,
        one.clone(),
    )
    .await;
    once(
        s,
        "GET",
        &format!("{MB}/mailFolders/inbox/messages"),
        200,
        list.clone(),
    )
    .await;
    once(s, "GET", &format!("{MB}/messages/m1"), 200, one.clone()).await;
    once(s, "PATCH", &format!("{MB}/messages/m1"), 200, one.clone()).await;
    once(
        s,
        "GET",
        &format!("{MB}/messages/m1/attachments"),
        200,
        json!({"value": [
        {"@odata.type": "#microsoft.graph.fileAttachment", "id": "a1", "name": "a.txt",
         "contentBytes": "aGk=", "size": 2}]}),
    )
    .await;
    once(
        s,
        "POST",
        &format!("{MB}/mailFolders/drafts/messages"),
        201,
        one.clone(),
    )
    .await;
    once(s, "GET", &format!("{MB}/events"), 200, list.clone()).await;
    once(s, "GET", &format!("{MB}/todo/lists"), 200, list.clone()).await;
    once(s, "POST", &format!("{MB}/todo/lists"), 201, one.clone()).await;
    once(
        s,
        "GET",
        &format!("{MB}/todo/lists/delta"),
        200,
        json!({"value": [],
        "@odata.deltaLink": format!("{}{MB}/todo/lists/delta?$deltatoken=t", s.uri())}),
    )
    .await;
    once(
        s,
        "GET",
        &format!("{MB}/todo/lists/l1/tasks"),
        200,
        list.clone(),
    )
    .await;
    once(
        s,
        "DELETE",
        &format!("{MB}/todo/lists/l1/tasks/t1"),
        204,
        json!(null),
    )
    .await;
    once(
        s,
        "GET",
        &format!("{MB}/todo/lists/l1/tasks/t1/linkedResources"),
        200,
        list.clone(),
    )
    .await;
    once(
        s,
        "POST",
        &format!("{MB}/todo/lists/l1/tasks/t1/linkedResources"),
        201,
        one.clone(),
    )
    .await;
    once(
        s,
        "GET",
        &format!("{MB}/todo/lists/l1/tasks/t1/extensions/de.conaktiv.sync"),
        200,
        json!({"id": "de.conaktiv.sync", "recordId": "T-1"}),
    )
    .await;
    once(
        s,
        "PATCH",
        &format!("{MB}/todo/lists/l1/tasks/t1/extensions/de.conaktiv.sync"),
        204,
        json!(null),
    )
    .await;
    once(
        s,
        "DELETE",
        &format!("{MB}/todo/lists/l1/tasks/t1/extensions/de.conaktiv.sync"),
        204,
        json!(null),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/messages")))
        .and(header("content-type", "text/plain"))
        .and(wiremock::matchers::body_string("U3ViamVjdDogeA0KDQp5"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "mime-draft"})))
        .expect(1)
        .mount(s)
        .await;

    let (client, _) = common::client(&server.uri());
    let m = client.mailbox("anna@contoso.com");
    let none = ListOptions::default();
    assert_eq!(m.contact_folders().await.unwrap().len(), 1);
    m.create_contact_folder(Some("cf1"), "Customers")
        .await
        .unwrap();
    m.create_mail_folder(None, "Projects").await.unwrap();
    m.contact("c1", &none).await.unwrap();
    m.delete_contact("c1", None).await.unwrap();
    m.create_contact(Some("cf1"), &Contact::default())
        .await
        .unwrap();
    assert_eq!(m.messages("inbox", &none).await.unwrap().len(), 1);
    m.message("m1", &none).await.unwrap();
    m.update_message(
        "m1",
        &Message {
            is_read: Some(true),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let attachments = m.attachments("m1").await.unwrap();
    assert_eq!(attachments[0].content_bytes.as_ref().unwrap().0, b"hi");
    m.create_draft(Some("drafts"), &Message::default())
        .await
        .unwrap();
    assert_eq!(
        m.create_draft_mime(b"Subject: x\r\n\r\ny")
            .await
            .unwrap()
            .id
            .as_deref(),
        Some("mime-draft")
    );
    assert_eq!(m.events(None, &none).await.unwrap().len(), 1);
    assert_eq!(m.todo_lists().await.unwrap().len(), 1);
    m.create_todo_list("CRM").await.unwrap();
    m.todo_lists_delta(DeltaStart::Initial).await.unwrap();
    assert_eq!(m.tasks("l1", &none).await.unwrap().len(), 1);
    m.delete_task("l1", "t1", None).await.unwrap();
    assert_eq!(m.linked_resources("l1", "t1").await.unwrap().len(), 1);
    m.create_linked_resource("l1", "t1", &LinkedResource::default())
        .await
        .unwrap();
    let ext = m
        .task_extension("l1", "t1", "de.conaktiv.sync")
        .await
        .unwrap();
    assert_eq!(ext.data["recordId"], "T-1");
    m.update_task_extension("l1", "t1", "de.conaktiv.sync", &ext)
        .await
        .unwrap();
    m.delete_task_extension("l1", "t1", "de.conaktiv.sync")
        .await
        .unwrap();
}
