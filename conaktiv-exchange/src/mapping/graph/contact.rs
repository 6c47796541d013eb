//! TEMPORARY scaffold.
use crate::mapping::Record;
use crate::mapping::canon::{get_string, put};
use graph_client::contacts::Contact;
pub fn graph_to_record(c: &Contact) -> Record {
    let mut r = Record::new();
    put(
        &mut r,
        "given_name",
        c.given_name.clone().filter(|s| !s.trim().is_empty()),
    );
    put(
        &mut r,
        "surname",
        c.surname.clone().filter(|s| !s.trim().is_empty()),
    );
    r
}
pub fn record_to_graph(r: &Record) -> Contact {
    Contact {
        given_name: get_string(r, "given_name"),
        surname: get_string(r, "surname"),
        ..Contact::default()
    }
}
pub fn patch(_old: &Record, new: &Record) -> serde_json::Value {
    serde_json::json!({"givenName": get_string(new, "given_name").unwrap_or_default(), "surname": get_string(new, "surname").unwrap_or_default()})
}
pub fn extended_properties() -> Vec<graph_client::extended::PropertyId> {
    Vec::new()
}
