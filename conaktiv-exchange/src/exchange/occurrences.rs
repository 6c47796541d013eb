//! Writing a calendar series' exceptions: deleted and modified occurrences.
//!
//! EWS holds exceptions as read-only lists of the master (`DeletedOccurrences`,
//! `ModifiedOccurrences`); they are written on the occurrence itself, named by an
//! `OccurrenceItemId` (the master's id and the 1-based `InstanceIndex` of the occurrence in
//! the series pattern, deleted occurrences counted). After the master is created or
//! updated, [`exception_changes`] says what to apply: `DeleteItem` per newly deleted
//! occurrence, `UpdateItem` (start, end, subject, location, body) per new or changed modified
//! occurrence. The index comes from [`instance_index`]: the position of the occurrence's
//! original date (in the start zone) among the dates of the record's pattern.

use chrono::{DateTime, Utc};
use ews_client::ops::{
    DeleteItem, DisposalType, GetItem, ItemChange, SendMeetingCancellations,
    SendMeetingInvitationsOrCancellations, UpdateItem,
};
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::shape::ItemShape;
use ews_client::types::{CalendarItem, Item, ItemId, PropertyPath};
use sync_core::{Id, Record, Version};

use crate::mapping::appointment::{OccurrenceChange, fields, occurrence_changes};
use crate::mapping::{FieldChange, canon, recurrence};

use super::ExchangeSide;

/// Upper bound of days walked to find an occurrence (about 100 years).
const MAX_DAYS: usize = 36_600;

/// The 1-based `InstanceIndex` of the occurrence originally starting at `original_start` in
/// the series of `record` (deleted occurrences counted, as Exchange numbers them); `None`
/// when the record has no (supported) recurrence or the date is not one of its occurrences.
pub fn instance_index(record: &Record, original_start: DateTime<Utc>) -> Option<u32> {
    let rec = recurrence::value_to_crm(record.get(fields::RECURRENCE)?)?;
    let zone = canon::tz(
        record
            .get(fields::START_TZ)
            .and_then(|v| v.as_str())
            .unwrap_or("UTC"),
    );
    let date = original_start.with_timezone(&zone).date_naive();
    let max = match rec.end {
        conaktiv_model::recurrence::RecurrenceEnd::AfterOccurrences(n) => Some(n),
        _ => None,
    };
    let last = match rec.end {
        conaktiv_model::recurrence::RecurrenceEnd::ByDate(d) => Some(d),
        _ => None,
    };
    let mut n = 0u32;
    for day in rec.start_date.iter_days().take(MAX_DAYS) {
        if day > date || last.is_some_and(|l| day > l) {
            return None;
        }
        if rec.pattern.matches(rec.start_date, day) {
            n = n.checked_add(1)?;
            if max.is_some_and(|m| n > m) {
                return None;
            }
            if day == date {
                return Some(n);
            }
        }
    }
    None
}

/// The record with its exception fields removed (a series as `CreateItem` leaves it).
pub fn without_exceptions(record: &Record) -> Record {
    let mut r = record.clone();
    r.fields.remove(fields::DELETED_OCCURRENCES);
    r.fields.remove(fields::MODIFIED_OCCURRENCES);
    r
}

/// The occurrence writes that follow writing the master of `new` over that of `old`
/// (`None` for a create). A changed recurrence, series start or start zone drops all
/// exceptions in Exchange, so all of `new`'s are written again; changed series texts
/// (subject, location, body) re-write the modified occurrences (an exception keeps its own
/// texts in Exchange).
pub fn exception_changes(old: Option<&Record>, new: &Record) -> Vec<OccurrenceChange> {
    if new.get(fields::RECURRENCE).is_none() {
        return Vec::new();
    }
    // What Exchange re-shapes a series on (dropping its exceptions).
    let shape = [fields::RECURRENCE, fields::START, fields::START_TZ];
    let base = match old {
        Some(old) if shape.iter().all(|f| old.get(f) == new.get(f)) => {
            let mut base = old.clone();
            let texts = [fields::SUBJECT, fields::LOCATION, fields::BODY];
            if texts.iter().any(|f| old.get(f) != new.get(f)) {
                base.fields.remove(fields::MODIFIED_OCCURRENCES);
            }
            base
        }
        _ => without_exceptions(new),
    };
    occurrence_changes(&base, new)
}

/// The `UpdateItem` changes setting an occurrence to `item`'s times and texts.
fn occurrence_updates(item: &CalendarItem) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut set = |uri: &str, x: CalendarItem| {
        out.push(FieldChange::Set {
            path: PropertyPath::field(uri),
            item: x.into(),
        })
    };
    if let Some(s) = item.start {
        set(
            "calendar:Start",
            CalendarItem {
                start: Some(s),
                ..CalendarItem::default()
            },
        );
    }
    if let Some(e) = item.end {
        set(
            "calendar:End",
            CalendarItem {
                end: Some(e),
                ..CalendarItem::default()
            },
        );
    }
    if let Some(l) = &item.location {
        set(
            "calendar:Location",
            CalendarItem {
                location: Some(l.clone()),
                ..CalendarItem::default()
            },
        );
    }
    if let Some(s) = &item.common.subject {
        let mut x = CalendarItem::default();
        x.common.subject = Some(s.clone());
        set("item:Subject", x);
    }
    if let Some(b) = &item.common.body {
        let mut x = CalendarItem::default();
        x.common.body = Some(b.clone());
        set("item:Body", x);
    }
    out
}

impl ExchangeSide {
    /// Applies `changes` to the occurrences of the series `master` (the record `record`)
    /// and answers the master's change key afterwards. The first failing write ends it with
    /// its reason (and whether a retry may succeed); deleting an occurrence already deleted
    /// counts as done.
    pub(super) async fn apply_occurrences(
        &self,
        master: &Id,
        record: &Record,
        changes: &[OccurrenceChange],
    ) -> Result<Version, (String, bool)> {
        let occurrence = |original_start: &DateTime<Utc>| {
            instance_index(record, *original_start)
                .map(|instance_index| BaseItemId::Occurrence {
                    recurring_master_id: master.clone(),
                    change_key: None,
                    instance_index,
                })
                .ok_or_else(|| {
                    (
                        format!("no occurrence of the series starts at {original_start}"),
                        false,
                    )
                })
        };
        let mut deletes = Vec::new();
        let mut modifies = Vec::new();
        for c in changes {
            match c {
                OccurrenceChange::Delete { original_start } => {
                    deletes.push(occurrence(original_start)?)
                }
                OccurrenceChange::Modify {
                    original_start,
                    item,
                } => modifies.push(ItemChange {
                    item_id: occurrence(original_start)?,
                    updates: occurrence_updates(item),
                }),
            }
        }
        let call = |e: ews_client::Error| (e.to_string(), e.is_transient());
        for chunk in deletes.chunks(super::BATCH) {
            let mut op = DeleteItem::new(DisposalType::HardDelete, chunk.to_vec());
            op.send_meeting_cancellations = Some(SendMeetingCancellations::SendToNone);
            let response = self.client.execute(&op).await.map_err(call)?;
            for r in response.into_results() {
                match r {
                    Ok(()) => {}
                    Err(e) if e.code().is_not_found() && !is_master_gone(&e) => {}
                    Err(e) => {
                        return Err((
                            format!("deleting an occurrence: {e}"),
                            e.code().is_transient(),
                        ));
                    }
                }
            }
        }
        for chunk in modifies.chunks(super::BATCH) {
            let mut op = UpdateItem::new(chunk.to_vec());
            op.send_meeting_invitations_or_cancellations =
                Some(SendMeetingInvitationsOrCancellations::SendToNone);
            let response = self.client.execute(&op).await.map_err(call)?;
            for r in response.into_results() {
                if let Err(e) = r {
                    return Err((
                        format!("changing an occurrence: {e}"),
                        e.code().is_transient(),
                    ));
                }
            }
        }
        let op = GetItem::new(
            ItemShape::id_only(),
            vec![BaseItemId::from(ItemId::new(master.clone()))],
        );
        let response = self.client.execute(&op).await.map_err(call)?;
        match response.into_results().into_iter().next() {
            Some(Ok(info)) => info
                .items
                .first()
                .and_then(Item::item_id)
                .and_then(|id| id.change_key.clone())
                .ok_or_else(|| ("series read back without a change key".to_owned(), true)),
            Some(Err(e)) => Err((
                format!("reading the series back: {e}"),
                e.code().is_transient(),
            )),
            None => Err(("no response message".to_owned(), true)),
        }
    }
}

/// Whether a not-found error of an occurrence write means the series itself is gone (and
/// not just the occurrence deleted before).
fn is_master_gone(e: &ews_client::types::response::ResponseError) -> bool {
    !matches!(
        e.code(),
        ews_client::types::response::ResponseCode::ErrorCalendarOccurrenceIsDeletedFromRecurrence
    )
}
