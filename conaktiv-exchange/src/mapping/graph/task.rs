//! TEMPORARY scaffold.
use crate::mapping::Record;
use crate::mapping::canon::{get_string, put};
use graph_client::todo::TodoTask;
pub fn graph_to_record(t: &TodoTask) -> Record {
    let mut r = Record::new();
    put(
        &mut r,
        "subject",
        t.title.clone().filter(|s| !s.trim().is_empty()),
    );
    r
}
pub fn record_to_graph(r: &Record) -> TodoTask {
    TodoTask {
        title: get_string(r, "subject"),
        ..TodoTask::default()
    }
}
pub fn patch(_old: &Record, new: &Record) -> serde_json::Value {
    serde_json::json!({"title": get_string(new, "subject").unwrap_or_default()})
}
