//! Batch tasks (admin screen "Batch-Aufgaben"), for example the periodic "Exchange Abgleich".

use serde::{Deserialize, Serialize};

use crate::ids::UserName;
use crate::values::IntervalMinutes;

/// Where a batch task runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOn {
    /// On the ConAktiv application server named in [`BatchTask::server_name`].
    #[default]
    Server,
    /// In a user's client.
    Client,
}

/// A batch task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchTask {
    /// Task group ("Exchange Abgleich").
    pub group: String,
    /// Task within the group ("Kontakte abgleichen").
    pub task: String,
    /// Server or client.
    #[serde(default)]
    pub run_on: RunOn,
    /// The application server (needed when running on a server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// The user the task runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<UserName>,
    /// Interval between runs.
    pub interval_minutes: IntervalMinutes,
    /// Whether the task runs at all.
    #[serde(default = "yes")]
    pub active: bool,
    /// Whether the task starts when the server or client starts.
    #[serde(default)]
    pub start_automatically: bool,
}

fn yes() -> bool {
    true
}

impl BatchTask {
    /// An active task on a server.
    pub fn on_server(
        group: impl Into<String>,
        task: impl Into<String>,
        server_name: impl Into<String>,
        interval: IntervalMinutes,
    ) -> Self {
        Self {
            group: group.into(),
            task: task.into(),
            run_on: RunOn::Server,
            server_name: Some(server_name.into()),
            run_as: None,
            interval_minutes: interval,
            active: true,
            start_automatically: true,
        }
    }

    /// "group / task", how error messages name the record.
    pub fn label(&self) -> String {
        format!("{} / {}", self.group, self.task)
    }
}
