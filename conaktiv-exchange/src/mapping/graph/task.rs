//! Tasks: the canonical task [`Record`] (see [`crate::mapping::task`]) and Microsoft To Do's
//! [`TodoTask`].
//!
//! To Do has no percent complete and no sensitivity, and To Do tasks carry no extended
//! properties, so [`NOT_CARRIED`] fields are absent from [`graph_to_record`] and never
//! written: the adapter must treat them as not carried by the Exchange side (keep the CRM's
//! value; do not read their absence as a deletion). Dates are written as midnight UTC and
//! read as the nearest date (as EWS does); setting `status` to `completed` through To Do
//! makes Exchange's percent complete 100, any other status 0.

use graph_client::todo::{TaskStatus, TodoTask};
use graph_client::types::{Importance, ItemBody};
use serde_json::{Map, Value};

use super::{parse_dtz, recurrence_to_value, to_json, utc_dtz, value_to_recurrence};
use crate::mapping::Record;
use crate::mapping::canon::{self, get_str, get_string, put, put_value};
use crate::mapping::task::fields;

/// The To Do properties the mapping reads, for a `$select`.
pub const SELECT: [&str; 10] = [
    "title",
    "body",
    "startDateTime",
    "dueDateTime",
    "status",
    "importance",
    "isReminderOn",
    "reminderDateTime",
    "categories",
    "recurrence",
];

/// Record fields To Do cannot carry: percent complete and sensitivity.
pub const NOT_CARRIED: [&str; 2] = [fields::PERCENT_COMPLETE, fields::SENSITIVITY];

const STATUSES: [(TaskStatus, &str); 5] = [
    (TaskStatus::NotStarted, "not_started"),
    (TaskStatus::InProgress, "in_progress"),
    (TaskStatus::Completed, "completed"),
    (TaskStatus::WaitingOnOthers, "waiting_on_others"),
    (TaskStatus::Deferred, "deferred"),
];

const IMPORTANCES: [(Importance, &str); 3] = [
    (Importance::Low, "low"),
    (Importance::Normal, "normal"),
    (Importance::High, "high"),
];

fn date_dtz(r: &Record, field: &str) -> Option<graph_client::types::DateTimeTimeZone> {
    r.get(field)
        .and_then(canon::parse_date)
        .map(|d| utc_dtz(canon::date_to_ews(d)))
}

/// Projects a To Do task onto a [`Record`] (equal to [`crate::mapping::task::ews_to_record`]
/// of the same item without the [`NOT_CARRIED`] fields).
pub fn graph_to_record(t: &TodoTask) -> Record {
    let mut r = Record::new();
    put(
        &mut r,
        fields::SUBJECT,
        t.title.as_deref().and_then(canon::line),
    );
    put(&mut r, fields::BODY, super::body_text(t.body.as_ref()));
    let date = |d: &Option<graph_client::types::DateTimeTimeZone>| {
        d.as_ref()
            .and_then(parse_dtz)
            .map(|at| canon::date(canon::date_from_ews(at)))
    };
    put(&mut r, fields::START_DATE, date(&t.start_date_time));
    put(&mut r, fields::DUE_DATE, date(&t.due_date_time));
    let status = t
        .status
        .and_then(|s| STATUSES.iter().find(|x| x.0 == s))
        .map_or("not_started", |s| s.1);
    put(&mut r, fields::STATUS, Some(status.to_owned()));
    let importance = t
        .importance
        .and_then(|i| IMPORTANCES.iter().find(|x| x.0 == i))
        .map_or("normal", |i| i.1);
    put(&mut r, fields::IMPORTANCE, Some(importance.to_owned()));
    let reminder = if t.is_reminder_on == Some(true) {
        t.reminder_date_time
            .as_ref()
            .and_then(parse_dtz)
            .map(canon::instant)
    } else {
        None
    };
    put(&mut r, fields::REMINDER, reminder);
    put_value(
        &mut r,
        fields::CATEGORIES,
        canon::categories(t.categories.as_deref().unwrap_or_default()),
    );
    put_value(
        &mut r,
        fields::RECURRENCE,
        t.recurrence.as_ref().map(recurrence_to_value),
    );
    r
}

/// The To Do task holding a [`Record`]'s mapped fields: the body of a POST (the correlation
/// key goes into a linked resource or open extension, not here).
pub fn record_to_graph(r: &Record) -> TodoTask {
    let reminder = r.get(fields::REMINDER).and_then(canon::parse_instant);
    let cats = canon::string_list(r.get(fields::CATEGORIES));
    TodoTask {
        title: get_string(r, fields::SUBJECT),
        body: get_string(r, fields::BODY).map(ItemBody::text),
        importance: get_str(r, fields::IMPORTANCE)
            .and_then(|n| IMPORTANCES.iter().find(|x| x.1 == n))
            .map(|x| x.0),
        status: get_str(r, fields::STATUS)
            .and_then(|n| STATUSES.iter().find(|x| x.1 == n))
            .map(|x| x.0),
        categories: (!cats.is_empty()).then_some(cats),
        start_date_time: date_dtz(r, fields::START_DATE),
        due_date_time: date_dtz(r, fields::DUE_DATE),
        is_reminder_on: Some(reminder.is_some()),
        reminder_date_time: reminder.map(utc_dtz),
        recurrence: r
            .get(fields::RECURRENCE)
            .and_then(|v| value_to_recurrence(v, None)),
        ..TodoTask::default()
    }
}

/// The PATCH body that turns the To Do task of `old` into that of `new`: only the changed
/// properties; a cleared title or body as `""`, cleared dates and recurrence as `null`,
/// cleared categories as `[]`, a removed reminder as `isReminderOn: false`.
pub fn patch(old: &Record, new: &Record) -> Value {
    let changed = |f: &str| old.get(f) != new.get(f);
    let full = record_to_graph(new);
    let mut m = Map::new();
    if changed(fields::SUBJECT) {
        m.insert(
            "title".into(),
            full.title.clone().unwrap_or_default().into(),
        );
    }
    if changed(fields::BODY) {
        m.insert(
            "body".into(),
            to_json(&full.body.clone().unwrap_or_else(|| ItemBody::text(""))),
        );
    }
    let opt =
        |v: &Option<graph_client::types::DateTimeTimeZone>| v.as_ref().map_or(Value::Null, to_json);
    if changed(fields::START_DATE) {
        m.insert("startDateTime".into(), opt(&full.start_date_time));
    }
    if changed(fields::DUE_DATE) {
        m.insert("dueDateTime".into(), opt(&full.due_date_time));
    }
    if changed(fields::STATUS) {
        m.insert("status".into(), to_json(&full.status));
    }
    if changed(fields::IMPORTANCE) {
        m.insert("importance".into(), to_json(&full.importance));
    }
    if changed(fields::REMINDER) {
        m.insert(
            "isReminderOn".into(),
            full.reminder_date_time.is_some().into(),
        );
        if full.reminder_date_time.is_some() {
            m.insert("reminderDateTime".into(), opt(&full.reminder_date_time));
        }
    }
    if changed(fields::CATEGORIES) {
        m.insert(
            "categories".into(),
            canon::string_list(new.get(fields::CATEGORIES)).into(),
        );
    }
    if changed(fields::RECURRENCE) {
        m.insert(
            "recurrence".into(),
            full.recurrence.as_ref().map_or(Value::Null, to_json),
        );
    }
    Value::Object(m)
}
