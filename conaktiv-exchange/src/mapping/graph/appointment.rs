//! TEMPORARY scaffold.
use crate::mapping::canon::{get_string, put};
use crate::mapping::{MappingWarning, Record};
use graph_client::calendar::Event;
pub enum OccurrenceWrite {
    Delete { id: String },
    Patch { id: String, body: serde_json::Value },
}
pub fn graph_to_record(e: &Event, _instances: &[Event]) -> (Record, Vec<MappingWarning>) {
    let mut r = Record::new();
    put(&mut r, "subject", e.subject.clone());
    (r, Vec::new())
}
pub fn record_to_graph(r: &Record) -> Event {
    Event {
        subject: get_string(r, "subject"),
        ..Event::default()
    }
}
pub fn patch(_old: &Record, new: &Record) -> serde_json::Value {
    serde_json::json!({"subject": get_string(new, "subject")})
}
pub fn occurrence_writes(
    _old: &Record,
    _new: &Record,
    _instances: &[Event],
) -> Vec<OccurrenceWrite> {
    Vec::new()
}
