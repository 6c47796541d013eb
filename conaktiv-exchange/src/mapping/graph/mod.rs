//! TEMPORARY (lead's scaffold, replaced by the full Graph mapping): minimal Graph mapping.
pub mod appointment;
pub mod contact;
pub mod task;
