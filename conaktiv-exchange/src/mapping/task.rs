//! Tasks: [`Task`](conaktiv_model::Task) and EWS [`Task`](ews_client::types::Task)
//! (`t:Task`).
//!
//! Dates are date-only on both sides (Exchange stores them as `xs:dateTime`; see
//! [`canon::date_from_ews`]). The owner (a ConAktiv user) and the project are CRM-only;
//! Exchange's owner, companies, mileage and work fields are Exchange-only; both are left
//! alone. Regenerating task recurrences have no ConAktiv counterpart (recorded as
//! `unsupported`, and the CRM recurrence is left alone).

use conaktiv_model::task::{Importance, TaskStatus};
use conaktiv_model::{Percent, Task as CrmTask};
use ews_client::types::item::Importance as EwsImportance;
use ews_client::types::task::TaskStatus as EwsStatus;
use ews_client::types::{Body, PropertyPath, Task as EwsTask};
use serde_json::Value;

use super::appointment::{
    apply_recurrence, ews_sensitivity_from, ews_sensitivity_name, sensitivity_from,
    sensitivity_name,
};
use super::canon::{self, get_str, get_string, put, put_value};
use super::contact::changed_paths;
use super::recurrence;
use super::{FieldChange, Record};

/// The canonical field names of a task [`Record`].
pub mod fields {
    /// Subject; `item:Subject`.
    pub const SUBJECT: &str = "subject";
    /// Body (multi-line text); `item:Body`.
    pub const BODY: &str = "body";
    /// Start date; `task:StartDate`.
    pub const START_DATE: &str = "start_date";
    /// Due date; `task:DueDate`.
    pub const DUE_DATE: &str = "due_date";
    /// `not_started`, `in_progress`, `completed`, `waiting_on_others`, `deferred` (always
    /// present); `task:Status`.
    pub const STATUS: &str = "status";
    /// Percent complete, 0 to 100 (always present); `task:PercentComplete`.
    pub const PERCENT_COMPLETE: &str = "percent_complete";
    /// `low`, `normal`, `high` (always present); `item:Importance`.
    pub const IMPORTANCE: &str = "importance";
    /// Reminder instant, absent for none; `item:ReminderIsSet` and `item:ReminderDueBy`.
    pub const REMINDER: &str = "reminder";
    /// Categories, a sorted array; `item:Categories`.
    pub const CATEGORIES: &str = "categories";
    /// Sensitivity (always present); `item:Sensitivity`.
    pub const SENSITIVITY: &str = "sensitivity";
    /// The recurrence object; `task:Recurrence`.
    pub const RECURRENCE: &str = "recurrence";
}

const STATUSES: [(TaskStatus, EwsStatus, &str); 5] = [
    (TaskStatus::NotStarted, EwsStatus::NotStarted, "not_started"),
    (TaskStatus::InProgress, EwsStatus::InProgress, "in_progress"),
    (TaskStatus::Completed, EwsStatus::Completed, "completed"),
    (
        TaskStatus::WaitingOnOthers,
        EwsStatus::WaitingOnOthers,
        "waiting_on_others",
    ),
    (TaskStatus::Deferred, EwsStatus::Deferred, "deferred"),
];

const IMPORTANCES: [(Importance, EwsImportance, &str); 3] = [
    (Importance::Low, EwsImportance::Low, "low"),
    (Importance::Normal, EwsImportance::Normal, "normal"),
    (Importance::High, EwsImportance::High, "high"),
];

/// Projects a CRM task onto a [`Record`].
pub fn crm_to_record(t: &CrmTask) -> Record {
    let mut r = Record::new();
    put(&mut r, fields::SUBJECT, canon::line(&t.subject));
    put(&mut r, fields::BODY, canon::multiline(&t.body));
    put(&mut r, fields::START_DATE, t.start_date.map(canon::date));
    put(&mut r, fields::DUE_DATE, t.due_date.map(canon::date));
    put(
        &mut r,
        fields::STATUS,
        STATUSES
            .iter()
            .find(|s| s.0 == t.status)
            .map(|s| s.2.to_owned()),
    );
    put_value(
        &mut r,
        fields::PERCENT_COMPLETE,
        Some(Value::from(t.percent_complete.get())),
    );
    put(
        &mut r,
        fields::IMPORTANCE,
        IMPORTANCES
            .iter()
            .find(|s| s.0 == t.importance)
            .map(|s| s.2.to_owned()),
    );
    put(
        &mut r,
        fields::REMINDER,
        t.reminder.map(|d| canon::instant(canon::whole_seconds(d))),
    );
    put_value(&mut r, fields::CATEGORIES, canon::categories(&t.categories));
    put(
        &mut r,
        fields::SENSITIVITY,
        Some(sensitivity_name(t.sensitivity).to_owned()),
    );
    put_value(
        &mut r,
        fields::RECURRENCE,
        t.recurrence.as_ref().map(recurrence::crm_to_value),
    );
    r
}

/// Applies the mapped fields of a [`Record`] onto a CRM task; unmapped fields (id, owner,
/// project, the recurrence's exception lists) are left alone.
pub fn record_onto_crm(r: &Record, t: &mut CrmTask) {
    let cur = crm_to_record(t);
    let differs = |name: &str| cur.get(name) != r.get(name);
    canon::apply_line(&mut t.subject, get_str(r, fields::SUBJECT));
    canon::apply_multiline(&mut t.body, get_str(r, fields::BODY));
    if differs(fields::START_DATE) {
        t.start_date = r.get(fields::START_DATE).and_then(canon::parse_date);
    }
    if differs(fields::DUE_DATE) {
        t.due_date = r.get(fields::DUE_DATE).and_then(canon::parse_date);
    }
    if let Some(s) = get_str(r, fields::STATUS).and_then(|n| STATUSES.iter().find(|s| s.2 == n)) {
        t.status = s.0;
    }
    if let Some(p) = r
        .get(fields::PERCENT_COMPLETE)
        .and_then(Value::as_u64)
        .and_then(|n| u8::try_from(n.min(100)).ok())
        .and_then(|n| Percent::new(n).ok())
    {
        t.percent_complete = p;
    }
    if let Some(i) =
        get_str(r, fields::IMPORTANCE).and_then(|n| IMPORTANCES.iter().find(|s| s.2 == n))
    {
        t.importance = i.0;
    }
    if differs(fields::REMINDER) {
        t.reminder = r.get(fields::REMINDER).and_then(canon::parse_instant);
    }
    canon::apply_categories(&mut t.categories, r.get(fields::CATEGORIES));
    if let Some(s) = get_str(r, fields::SENSITIVITY).and_then(sensitivity_from) {
        t.sensitivity = s;
    }
    apply_recurrence(r, &cur, &mut t.recurrence);
}

/// Projects an EWS task onto a [`Record`].
pub fn ews_to_record(x: &EwsTask) -> Record {
    let mut r = Record::new();
    put(
        &mut r,
        fields::SUBJECT,
        x.common.subject.as_deref().and_then(canon::line),
    );
    put(
        &mut r,
        fields::BODY,
        canon::body_text(x.common.body.as_ref()),
    );
    put(
        &mut r,
        fields::START_DATE,
        x.start_date.map(|d| canon::date(canon::date_from_ews(d))),
    );
    put(
        &mut r,
        fields::DUE_DATE,
        x.due_date.map(|d| canon::date(canon::date_from_ews(d))),
    );
    let status = x
        .status
        .and_then(|s| STATUSES.iter().find(|x| x.1 == s))
        .map_or("not_started", |s| s.2);
    put(&mut r, fields::STATUS, Some(status.to_owned()));
    let percent = x
        .percent_complete
        .filter(|p| p.is_finite())
        .map_or(0, |p| p.round().clamp(0.0, 100.0) as u8);
    put_value(&mut r, fields::PERCENT_COMPLETE, Some(Value::from(percent)));
    let importance = x
        .common
        .importance
        .and_then(|i| IMPORTANCES.iter().find(|x| x.1 == i))
        .map_or("normal", |i| i.2);
    put(&mut r, fields::IMPORTANCE, Some(importance.to_owned()));
    let reminder = if x.common.reminder_is_set == Some(true) {
        x.common
            .reminder_due_by
            .map(|d| canon::instant(canon::whole_seconds(d)))
    } else {
        None
    };
    put(&mut r, fields::REMINDER, reminder);
    put_value(
        &mut r,
        fields::CATEGORIES,
        canon::categories(&x.common.categories),
    );
    put(
        &mut r,
        fields::SENSITIVITY,
        Some(ews_sensitivity_name(x.common.sensitivity).to_owned()),
    );
    put_value(
        &mut r,
        fields::RECURRENCE,
        x.recurrence.as_ref().map(recurrence::ews_to_value),
    );
    r
}

/// Builds the EWS task holding a [`Record`]'s mapped fields (for `CreateItem`).
pub fn record_to_ews(r: &Record) -> EwsTask {
    let mut x = EwsTask::default();
    x.common.subject = get_string(r, fields::SUBJECT);
    x.common.body = get_string(r, fields::BODY).map(Body::text);
    x.start_date = r
        .get(fields::START_DATE)
        .and_then(canon::parse_date)
        .map(canon::date_to_ews);
    x.due_date = r
        .get(fields::DUE_DATE)
        .and_then(canon::parse_date)
        .map(canon::date_to_ews);
    x.status = get_str(r, fields::STATUS)
        .and_then(|n| STATUSES.iter().find(|s| s.2 == n))
        .map(|s| s.1);
    x.percent_complete = r
        .get(fields::PERCENT_COMPLETE)
        .and_then(Value::as_u64)
        .map(|p| p.min(100) as f64);
    x.common.importance = get_str(r, fields::IMPORTANCE)
        .and_then(|n| IMPORTANCES.iter().find(|s| s.2 == n))
        .map(|s| s.1);
    let reminder = r.get(fields::REMINDER).and_then(canon::parse_instant);
    x.common.reminder_is_set = Some(reminder.is_some());
    x.common.reminder_due_by = reminder;
    x.common.categories = canon::string_list(r.get(fields::CATEGORIES));
    x.common.sensitivity = get_str(r, fields::SENSITIVITY).and_then(ews_sensitivity_from);
    x.recurrence = r.get(fields::RECURRENCE).and_then(recurrence::value_to_ews);
    x
}

fn field_path(name: &str) -> Option<PropertyPath> {
    let uri = match name {
        fields::SUBJECT => "item:Subject",
        fields::BODY => "item:Body",
        fields::START_DATE => "task:StartDate",
        fields::DUE_DATE => "task:DueDate",
        fields::STATUS => "task:Status",
        fields::PERCENT_COMPLETE => "task:PercentComplete",
        fields::IMPORTANCE => "item:Importance",
        fields::REMINDER => "item:ReminderIsSet",
        fields::CATEGORIES => "item:Categories",
        fields::SENSITIVITY => "item:Sensitivity",
        fields::RECURRENCE => "task:Recurrence",
        _ => return None,
    };
    Some(PropertyPath::field(uri))
}

fn project(full: &EwsTask, uri: &str) -> Option<EwsTask> {
    let mut x = EwsTask::default();
    match uri {
        "item:Subject" => x.common.subject = Some(full.common.subject.clone()?),
        "item:Body" => x.common.body = Some(full.common.body.clone()?),
        "item:Importance" => x.common.importance = Some(full.common.importance?),
        "item:Categories" if !full.common.categories.is_empty() => {
            x.common.categories = full.common.categories.clone()
        }
        "item:Sensitivity" => x.common.sensitivity = Some(full.common.sensitivity?),
        "item:ReminderIsSet" => x.common.reminder_is_set = Some(full.common.reminder_is_set?),
        "item:ReminderDueBy" => x.common.reminder_due_by = Some(full.common.reminder_due_by?),
        "task:StartDate" => x.start_date = Some(full.start_date?),
        "task:DueDate" => x.due_date = Some(full.due_date?),
        "task:Status" => x.status = Some(full.status?),
        "task:PercentComplete" => x.percent_complete = Some(full.percent_complete?),
        "task:Recurrence" => x.recurrence = Some(full.recurrence.clone()?),
        _ => return None,
    }
    Some(x)
}

/// The `UpdateItem` changes that turn the Exchange task of `old` into that of `new`: one
/// `SetItemField` per changed or added property, one `DeleteItemField` per removed one. A
/// reminder is two properties (`ReminderIsSet`, `ReminderDueBy`); removing it sets
/// `ReminderIsSet` to false.
pub fn record_to_update_changes(old: &Record, new: &Record) -> Vec<FieldChange> {
    let full = record_to_ews(new);
    let mut paths = changed_paths(old, new, field_path);
    if old.get(fields::REMINDER) != new.get(fields::REMINDER) && new.get(fields::REMINDER).is_some()
    {
        paths.push(PropertyPath::field("item:ReminderDueBy"));
    }
    paths
        .into_iter()
        .map(|path| {
            let uri = match &path {
                PropertyPath::Field(u) => u.as_str(),
                _ => "",
            };
            match project(&full, uri) {
                Some(item) => FieldChange::Set {
                    path,
                    item: item.into(),
                },
                None => FieldChange::Delete { path },
            }
        })
        .collect()
}
