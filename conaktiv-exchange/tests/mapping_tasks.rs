#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Tasks: CRM <-> Record <-> EWS, data-driven from `tests/data/mapping/tasks.json` and
//! `task_ews.xml` / `task_ews.json`.

mod common;

use common::{data, read_item, through_xml};
use std::collections::BTreeMap;

use conaktiv_exchange::mapping::task::{
    crm_to_record, ews_to_record, record_onto_crm, record_to_ews,
};
use conaktiv_model::Task;
use conaktiv_model::ids::{ProjectId, TaskId, UserName};
use conaktiv_model::recurrence::{Recurrence, RecurrencePattern};
use ews_client::types::{Item, Task as EwsTask};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Case {
    name: String,
    crm: Task,
    record: BTreeMap<String, Value>,
}

fn cases() -> Vec<Case> {
    serde_json::from_str(&data("tasks.json")).unwrap()
}

fn ews_task() -> EwsTask {
    match read_item(&data("task_ews.xml")) {
        Item::Task(t) => t,
        other => panic!("not a task: {other:?}"),
    }
}

#[test]
fn crm_to_record_gives_the_canonical_record() {
    for case in cases() {
        assert_eq!(
            crm_to_record(&case.crm).fields,
            case.record,
            "{}",
            case.name
        );
    }
}

#[test]
fn crm_record_ews_record_crm_round_trip_keeps_everything() {
    for case in cases() {
        let record = crm_to_record(&case.crm);
        let back = ews_to_record(&through_xml(&record_to_ews(&record), "Task"));
        assert_eq!(back, record, "{}: EWS round trip", case.name);

        let mut same = case.crm.clone();
        record_onto_crm(&back, &mut same);
        assert_eq!(same, case.crm, "{}: applied onto the original", case.name);

        let mut fresh = Task {
            id: Some(TaskId::new("X")),
            owner: Some(UserName::new("jdoe")),
            project: Some(ProjectId::new("P-X")),
            ..Task::default()
        };
        record_onto_crm(&back, &mut fresh);
        assert_eq!(fresh.owner, Some(UserName::new("jdoe")), "{}", case.name);
        assert_eq!(fresh.project, Some(ProjectId::new("P-X")), "{}", case.name);
        assert_eq!(crm_to_record(&fresh), record, "{}: fresh CRM", case.name);
        assert_eq!(fresh.validate(), Ok(()), "{}", case.name);
    }
}

#[test]
fn ews_record_crm_record_round_trip() {
    let task = ews_task();
    let expected: BTreeMap<String, Value> = serde_json::from_str(&data("task_ews.json")).unwrap();
    let record = ews_to_record(&task);
    assert_eq!(record.fields, expected);

    // A regenerating recurrence has no CRM counterpart: the CRM's own recurrence stays.
    let mine = Recurrence::new(
        RecurrencePattern::Daily { interval: 3 },
        "2025-04-01".parse().unwrap(),
    );
    let mut crm = Task {
        recurrence: Some(mine.clone()),
        ..Task::default()
    };
    record_onto_crm(&record, &mut crm);
    assert_eq!(crm.recurrence, Some(mine));
    let mut again = crm_to_record(&crm);
    let mut without = record.clone();
    again.fields.remove("recurrence");
    without.fields.remove("recurrence");
    assert_eq!(again, without);
    assert_eq!(crm.percent_complete.get(), 25);
    assert_eq!(crm.due_date, Some("2025-04-05".parse().unwrap()));

    // A task without the unsupported recurrence goes EWS -> Record -> CRM -> Record exactly.
    let mut plain = task.clone();
    plain.recurrence = None;
    let record = ews_to_record(&plain);
    let mut crm = Task::default();
    record_onto_crm(&record, &mut crm);
    assert_eq!(crm_to_record(&crm), record);
    // Exchange-only fields are not written back.
    let written = record_to_ews(&record);
    assert_eq!(written.owner, None);
    assert_eq!(written.billing_information, None);
}

#[test]
fn removing_the_recurrence_removes_it() {
    let case = cases().into_iter().next().unwrap();
    let mut record = crm_to_record(&case.crm);
    record.fields.remove("recurrence");
    let mut crm = case.crm.clone();
    record_onto_crm(&record, &mut crm);
    assert_eq!(crm.recurrence, None);
    assert_eq!(record_to_ews(&record).recurrence, None);
}
