//! Tasks (`t:Task`, `t:TaskType`).

use super::ids::string_enum;
use super::item::{ItemCommon, read_strings, write_strings};
use super::recurrence::Recurrence;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use chrono::{DateTime, Utc};

string_enum! {
    /// A task's status (`t:TaskStatusType`).
    TaskStatus {
        /// Not started.
        NotStarted = "NotStarted",
        /// In progress.
        InProgress = "InProgress",
        /// Completed.
        Completed = "Completed",
        /// Waiting on others.
        WaitingOnOthers = "WaitingOnOthers",
        /// Deferred.
        Deferred = "Deferred",
    }
}

string_enum! {
    /// A task's delegation state (`t:TaskDelegateStateType`).
    TaskDelegateState {
        /// Not delegated.
        NoMatch = "NoMatch",
        /// Owned by the mailbox.
        OwnNew = "OwnNew",
        /// Owned.
        Owned = "Owned",
        /// Accepted.
        Accepted = "Accepted",
        /// Declined.
        Declined = "Declined",
        /// Max.
        Max = "Max",
    }
}

/// A task (`t:Task`). Subject, body, importance, `ReminderIsSet` and `ReminderDueBy` are in
/// [`ItemCommon`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Task {
    /// The `t:ItemType` fields.
    pub common: ItemCommon,
    /// Actual work in minutes.
    pub actual_work: Option<i32>,
    /// When the task was assigned.
    pub assigned_time: Option<DateTime<Utc>>,
    /// Billing information.
    pub billing_information: Option<String>,
    /// Change count.
    pub change_count: Option<i32>,
    /// Companies.
    pub companies: Vec<String>,
    /// When the task was completed.
    pub complete_date: Option<DateTime<Utc>>,
    /// Contacts' names.
    pub contacts: Vec<String>,
    /// Delegation state.
    pub delegation_state: Option<TaskDelegateState>,
    /// The delegator's name.
    pub delegator: Option<String>,
    /// When the task is due.
    pub due_date: Option<DateTime<Utc>>,
    /// Whether the assignment is editable (an integer in the schema).
    pub is_assignment_editable: Option<i32>,
    /// Whether the task is complete.
    pub is_complete: Option<bool>,
    /// Whether the task recurs.
    pub is_recurring: Option<bool>,
    /// Whether this is a team task.
    pub is_team_task: Option<bool>,
    /// Mileage.
    pub mileage: Option<String>,
    /// The owner's name.
    pub owner: Option<String>,
    /// Percent complete, 0 to 100.
    pub percent_complete: Option<f64>,
    /// The recurrence (may use regenerating patterns).
    pub recurrence: Option<Recurrence>,
    /// When the task starts.
    pub start_date: Option<DateTime<Utc>>,
    /// Status.
    pub status: Option<TaskStatus>,
    /// The status in words (read-only, localized).
    pub status_description: Option<String>,
    /// Total work in minutes.
    pub total_work: Option<i32>,
}

impl WriteXml for Task {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let t = Ns::Types;
        w.element(ns, name, |w| {
            self.common.write_fields(w);
            w.opt_value(t, "ActualWork", self.actual_work.as_ref());
            w.opt_value(t, "AssignedTime", self.assigned_time.as_ref());
            w.opt_value(t, "BillingInformation", self.billing_information.as_ref());
            w.opt_value(t, "ChangeCount", self.change_count.as_ref());
            write_strings(w, "Companies", &self.companies);
            w.opt_value(t, "CompleteDate", self.complete_date.as_ref());
            write_strings(w, "Contacts", &self.contacts);
            w.opt_value(t, "DelegationState", self.delegation_state.as_ref());
            w.opt_value(t, "Delegator", self.delegator.as_ref());
            w.opt_value(t, "DueDate", self.due_date.as_ref());
            w.opt_value(
                t,
                "IsAssignmentEditable",
                self.is_assignment_editable.as_ref(),
            );
            w.opt_value(t, "IsComplete", self.is_complete.as_ref());
            w.opt_value(t, "IsRecurring", self.is_recurring.as_ref());
            w.opt_value(t, "IsTeamTask", self.is_team_task.as_ref());
            w.opt_value(t, "Mileage", self.mileage.as_ref());
            w.opt_value(t, "Owner", self.owner.as_ref());
            w.opt_value(t, "PercentComplete", self.percent_complete.as_ref());
            w.opt_write(t, "Recurrence", self.recurrence.as_ref());
            w.opt_value(t, "StartDate", self.start_date.as_ref());
            w.opt_value(t, "Status", self.status.as_ref());
            w.opt_value(t, "StatusDescription", self.status_description.as_ref());
            w.opt_value(t, "TotalWork", self.total_work.as_ref());
        });
    }
}

impl ReadXml for Task {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut x = Self::default();
        while let Some(c) = r.next_child(start)? {
            if x.common.read_field(r, &c)? {
                continue;
            }
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "ActualWork" => x.actual_work = Some(r.value(&c)?),
                "AssignedTime" => x.assigned_time = Some(r.value(&c)?),
                "BillingInformation" => x.billing_information = Some(r.value(&c)?),
                "ChangeCount" => x.change_count = Some(r.value(&c)?),
                "Companies" => x.companies = read_strings(r, &c)?,
                "CompleteDate" => x.complete_date = Some(r.value(&c)?),
                "Contacts" => x.contacts = read_strings(r, &c)?,
                "DelegationState" => x.delegation_state = Some(r.value(&c)?),
                "Delegator" => x.delegator = Some(r.value(&c)?),
                "DueDate" => x.due_date = Some(r.value(&c)?),
                "IsAssignmentEditable" => x.is_assignment_editable = Some(r.value(&c)?),
                "IsComplete" => x.is_complete = Some(r.value(&c)?),
                "IsRecurring" => x.is_recurring = Some(r.value(&c)?),
                "IsTeamTask" => x.is_team_task = Some(r.value(&c)?),
                "Mileage" => x.mileage = Some(r.value(&c)?),
                "Owner" => x.owner = Some(r.value(&c)?),
                "PercentComplete" => x.percent_complete = Some(r.value(&c)?),
                "Recurrence" => x.recurrence = Some(Recurrence::read_xml(r, &c)?),
                "StartDate" => x.start_date = Some(r.value(&c)?),
                "Status" => x.status = Some(r.value(&c)?),
                "StatusDescription" => x.status_description = Some(r.value(&c)?),
                "TotalWork" => x.total_work = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(x)
    }
}
