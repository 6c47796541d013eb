//! Tasks (`t:Task`, `t:TaskType`).

use super::fields::item_fields;
use super::ids::string_enum;
use super::recurrence::Recurrence;
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

item_fields! {
    /// A task (`t:Task`). Subject, body, importance, `ReminderIsSet` and `ReminderDueBy` are in
    /// [`ItemCommon`](super::item::ItemCommon).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Task: ItemCommon {
        /// Actual work in minutes.
        actual_work: Option<i32> => "ActualWork" value, rw "task:ActualWork";
        /// When the task was assigned.
        assigned_time: Option<DateTime<Utc>> => "AssignedTime" value, ro "task:AssignedTime";
        /// Billing information.
        billing_information: Option<String> => "BillingInformation" value, rw "task:BillingInformation";
        /// Change count.
        change_count: Option<i32> => "ChangeCount" value, ro "task:ChangeCount";
        /// Companies.
        companies: Vec<String> => "Companies" strings, rw "task:Companies";
        /// When the task was completed.
        complete_date: Option<DateTime<Utc>> => "CompleteDate" value, rw "task:CompleteDate";
        /// Contacts' names.
        contacts: Vec<String> => "Contacts" strings, rw "task:Contacts";
        /// Delegation state.
        delegation_state: Option<TaskDelegateState> => "DelegationState" value, ro "task:DelegationState";
        /// The delegator's name.
        delegator: Option<String> => "Delegator" value, ro "task:Delegator";
        /// When the task is due.
        due_date: Option<DateTime<Utc>> => "DueDate" value, rw "task:DueDate";
        /// Whether the assignment is editable (an integer in the schema).
        is_assignment_editable: Option<i32> => "IsAssignmentEditable" value, ro "task:IsAssignmentEditable";
        /// Whether the task is complete.
        is_complete: Option<bool> => "IsComplete" value, ro "task:IsComplete";
        /// Whether the task recurs.
        is_recurring: Option<bool> => "IsRecurring" value, ro "task:IsRecurring";
        /// Whether this is a team task.
        is_team_task: Option<bool> => "IsTeamTask" value, ro "task:IsTeamTask";
        /// Mileage.
        mileage: Option<String> => "Mileage" value, rw "task:Mileage";
        /// The owner's name.
        owner: Option<String> => "Owner" value, ro "task:Owner";
        /// Percent complete, 0 to 100.
        percent_complete: Option<f64> => "PercentComplete" value, rw "task:PercentComplete";
        /// The recurrence (may use regenerating patterns).
        recurrence: Option<Recurrence> => "Recurrence" element, rw "task:Recurrence";
        /// When the task starts.
        start_date: Option<DateTime<Utc>> => "StartDate" value, rw "task:StartDate";
        /// Status.
        status: Option<TaskStatus> => "Status" value, rw "task:Status";
        /// The status in words (read-only, localized).
        status_description: Option<String> => "StatusDescription" value, ro "task:StatusDescription";
        /// Total work in minutes.
        total_work: Option<i32> => "TotalWork" value, rw "task:TotalWork";
    }
}
