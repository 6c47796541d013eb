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
