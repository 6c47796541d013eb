//! Tasks ("Aufgaben").

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::appointment::Sensitivity;
use crate::ids::{ProjectId, TaskId, UserName};
use crate::recurrence::Recurrence;
use crate::values::Percent;

/// A task's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    #[default]
    NotStarted,
    /// In progress.
    InProgress,
    /// Completed.
    Completed,
    /// Waiting on someone else.
    WaitingOnOthers,
    /// Deferred.
    Deferred,
}

/// Importance of a task or mail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    /// Low.
    Low,
    /// Normal.
    #[default]
    Normal,
    /// High.
    High,
}

/// A task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Task {
    /// ConAktiv key; `None` for a task not yet stored in ConAktiv.
    pub id: Option<TaskId>,
    /// Subject.
    pub subject: String,
    /// Body (plain text).
    pub body: String,
    /// Start date.
    pub start_date: Option<NaiveDate>,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Status.
    pub status: TaskStatus,
    /// Percent complete (0 to 100).
    pub percent_complete: Percent,
    /// Importance.
    pub importance: Importance,
    /// Reminder time; `None` for no reminder.
    pub reminder: Option<DateTime<Utc>>,
    /// The ConAktiv user who owns the task.
    pub owner: Option<UserName>,
    /// Categories.
    pub categories: Vec<String>,
    /// Privacy.
    pub sensitivity: Sensitivity,
    /// Recurrence, for a recurring task.
    pub recurrence: Option<Recurrence>,
    /// The project the task belongs to.
    pub project: Option<ProjectId>,
}

/// Why a task is inconsistent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// Due before it starts.
    #[error("task is due on {due} before it starts on {start}")]
    DueBeforeStart {
        /// Start date.
        start: NaiveDate,
        /// Due date.
        due: NaiveDate,
    },
    /// Status "completed" with less than 100 percent, or 100 percent with another status.
    #[error("task status {status:?} contradicts {percent} percent complete")]
    StatusContradictsPercent {
        /// Status.
        status: TaskStatus,
        /// Percent complete.
        percent: u8,
    },
    /// The recurrence is inconsistent.
    #[error(transparent)]
    Recurrence(#[from] crate::recurrence::RecurrenceError),
}

impl Task {
    /// A task with a subject and everything else at its default.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            ..Self::default()
        }
    }

    /// Marks the task completed (status and 100 percent together).
    pub fn complete(&mut self) {
        self.status = TaskStatus::Completed;
        self.percent_complete = Percent::HUNDRED;
    }

    /// Checks the task for contradictions.
    pub fn validate(&self) -> Result<(), TaskError> {
        if let (Some(start), Some(due)) = (self.start_date, self.due_date)
            && due < start
        {
            return Err(TaskError::DueBeforeStart { start, due });
        }
        let done = self.status == TaskStatus::Completed;
        if done != (self.percent_complete == Percent::HUNDRED) {
            return Err(TaskError::StatusContradictsPercent {
                status: self.status,
                percent: self.percent_complete.get(),
            });
        }
        if let Some(r) = &self.recurrence {
            r.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let d = |day| NaiveDate::from_ymd_opt(2025, 4, day).unwrap_or_default();
        let mut t = Task::new("Angebot nachfassen");
        t.start_date = Some(d(1));
        t.due_date = Some(d(5));
        assert_eq!(t.validate(), Ok(()));
        t.complete();
        assert_eq!(t.validate(), Ok(()));
        t.percent_complete = Percent::new(50).unwrap_or_default();
        assert!(matches!(
            t.validate(),
            Err(TaskError::StatusContradictsPercent { .. })
        ));
        let mut late = Task::new("x");
        late.start_date = Some(d(5));
        late.due_date = Some(d(1));
        assert!(matches!(
            late.validate(),
            Err(TaskError::DueBeforeStart { .. })
        ));
    }
}
