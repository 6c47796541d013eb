//! The CRM side's projections of the model records, over the field mapping's
//! `crm_to_record` / `record_onto_crm` functions.

use conaktiv_model::{Appointment, ContactPerson, Task};
use sync_core::Record;

use crate::crm_side::Projection;
use crate::mapping::{appointment, contact, task};

/// Contacts through [`crate::mapping::contact`]: CRM-only fields (the customer link) stay.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContactProjection;

impl Projection<ContactPerson> for ContactProjection {
    fn to_record(&self, record: &ContactPerson) -> Record {
        contact::crm_to_record(record)
    }

    fn apply(
        &self,
        current: Option<&ContactPerson>,
        record: &Record,
    ) -> Result<ContactPerson, String> {
        let mut out = current.cloned().unwrap_or_default();
        contact::record_onto_crm(record, &mut out);
        Ok(out)
    }
}

/// Appointments through [`crate::mapping::appointment`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AppointmentProjection;

impl Projection<Appointment> for AppointmentProjection {
    fn to_record(&self, record: &Appointment) -> Record {
        appointment::crm_to_record(record)
    }

    fn apply(&self, current: Option<&Appointment>, record: &Record) -> Result<Appointment, String> {
        let mut out = current.cloned().unwrap_or_default();
        appointment::record_onto_crm(record, &mut out);
        Ok(out)
    }
}

/// Tasks through [`crate::mapping::task`]: the owner and project stay.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskProjection;

impl Projection<Task> for TaskProjection {
    fn to_record(&self, record: &Task) -> Record {
        task::crm_to_record(record)
    }

    fn apply(&self, current: Option<&Task>, record: &Record) -> Result<Task, String> {
        let mut out = current.cloned().unwrap_or_default();
        task::record_onto_crm(record, &mut out);
        Ok(out)
    }
}

/// A projection without the fields the Exchange side cannot carry (Microsoft Graph's To Do
/// has no percent complete and no sensitivity): they are left out of the record, so neither
/// side sees them change, and applying a record keeps the CRM's own values of them.
#[derive(Debug, Clone, Copy)]
pub struct Uncarried<P> {
    /// The projection wrapped.
    pub inner: P,
    /// The field names left out.
    pub fields: &'static [&'static str],
}

impl<R, P: Projection<R>> Projection<R> for Uncarried<P> {
    fn to_record(&self, record: &R) -> Record {
        let mut out = self.inner.to_record(record);
        for f in self.fields {
            out.fields.remove(*f);
        }
        out
    }

    fn apply(&self, current: Option<&R>, record: &Record) -> Result<R, String> {
        let mut record = record.clone();
        if let Some(cur) = current {
            let own = self.inner.to_record(cur);
            for f in self.fields {
                match own.fields.get(*f) {
                    Some(v) => record.fields.insert((*f).to_owned(), v.clone()),
                    None => record.fields.remove(*f),
                };
            }
        }
        self.inner.apply(current, &record)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::mapping::task::fields;

    #[test]
    fn uncarried_fields_are_neither_projected_nor_overwritten() {
        let p = Uncarried {
            inner: TaskProjection,
            fields: &[fields::PERCENT_COMPLETE],
        };
        let t = Task {
            subject: "Angebot".into(),
            percent_complete: conaktiv_model::values::Percent::new(40).unwrap(),
            ..Task::default()
        };
        let r = p.to_record(&t);
        assert!(r.get(fields::PERCENT_COMPLETE).is_none());
        assert!(
            TaskProjection
                .to_record(&t)
                .get(fields::PERCENT_COMPLETE)
                .is_some()
        );
        // a record from Exchange without the field keeps the CRM's value
        let mut incoming = r.clone();
        incoming.fields.remove(fields::SUBJECT);
        incoming = incoming.with(fields::SUBJECT, "Angebot 2");
        let applied = p.apply(Some(&t), &incoming).unwrap();
        assert_eq!(applied.percent_complete.get(), 40);
        assert_eq!(applied.subject, "Angebot 2");
    }
}
