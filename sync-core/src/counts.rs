//! Write counts: [`Counts`] of one side, and [`PerSide`] for anything held once per side.

use std::fmt;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use crate::{SideId, WriteOp};

/// The writes on one side: what a preview announces and a report confirms.
///
/// One counts type for the whole workspace: the plan's preview ([`crate::Plan::counts`]), the
/// engine's report ([`crate::Report::counts`]) and the hosts' reports all use it, per side in a
/// [`PerSide`]. Serialized with exactly these field names (`new`, `changed`, `deleted`,
/// `linked`); displayed as `2 new, 1 changed, 0 deleted, 3 linked`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Counts {
    /// Records created.
    #[serde(alias = "created")]
    pub new: usize,
    /// Records whose content changed.
    pub changed: usize,
    /// Records deleted.
    pub deleted: usize,
    /// Records whose content stays as it is and that only get the pair's correlation key
    /// stored (a pair re-found after a lost state, the source of a create).
    #[serde(alias = "keyed")]
    pub linked: usize,
}

impl Counts {
    /// All writes: new, changed, deleted and linked.
    pub fn total(&self) -> usize {
        self.new + self.changed + self.deleted + self.linked
    }

    /// The writes that touch content: new, changed and deleted (links are counted apart).
    pub fn content_writes(&self) -> usize {
        self.new + self.changed + self.deleted
    }

    /// Count one write.
    pub fn count(&mut self, op: &WriteOp) {
        match op {
            WriteOp::Create { .. } => self.new += 1,
            WriteOp::Update { .. } => self.changed += 1,
            WriteOp::Delete { .. } => self.deleted += 1,
            WriteOp::SetKey { .. } => self.linked += 1,
        }
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.new += other.new;
        self.changed += other.changed;
        self.deleted += other.deleted;
        self.linked += other.linked;
    }
}

/// `2 new, 1 changed, 0 deleted, 3 linked`. The alternate form (`{:#}`) leaves out
/// `, 0 linked` when nothing is only linked (`2 new, 1 changed, 0 deleted`), as a preview
/// screen shows it.
impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} new, {} changed, {} deleted",
            self.new, self.changed, self.deleted
        )?;
        if !f.alternate() || self.linked > 0 {
            write!(f, ", {} linked", self.linked)?;
        }
        Ok(())
    }
}

/// One value per side of a sync: the local side (the CRM) and the remote side (Exchange).
///
/// `PerSide<Counts>` is what [`crate::Plan::counts`] and [`crate::Report::counts`] hold: the
/// writes landing on each side (`local`: data flowing remote to local).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PerSide<T> {
    /// The local side's value.
    pub local: T,
    /// The remote side's value.
    pub remote: T,
}

impl<T> PerSide<T> {
    /// The value of one side.
    pub fn side(&self, side: SideId) -> &T {
        match side {
            SideId::Local => &self.local,
            SideId::Remote => &self.remote,
        }
    }

    /// The value of one side, mutable.
    pub fn side_mut(&mut self, side: SideId) -> &mut T {
        match side {
            SideId::Local => &mut self.local,
            SideId::Remote => &mut self.remote,
        }
    }
}

impl PerSide<Counts> {
    /// Count one write on `side`.
    pub fn count(&mut self, side: SideId, op: &WriteOp) {
        self.side_mut(side).count(op);
    }

    /// All writes on both sides ([`Counts::total`] of each).
    pub fn total(&self) -> usize {
        self.local.total() + self.remote.total()
    }

    /// Deletes on both sides.
    pub fn deleted(&self) -> usize {
        self.local.deleted + self.remote.deleted
    }
}

impl AddAssign for PerSide<Counts> {
    fn add_assign(&mut self, other: PerSide<Counts>) {
        self.local += other.local;
        self.remote += other.remote;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_total_and_serde_names() {
        let c = Counts {
            new: 2,
            changed: 1,
            deleted: 0,
            linked: 3,
        };
        assert_eq!(c.to_string(), "2 new, 1 changed, 0 deleted, 3 linked");
        assert_eq!(format!("{c:#}"), "2 new, 1 changed, 0 deleted, 3 linked");
        let unlinked = Counts { linked: 0, ..c };
        assert_eq!(
            unlinked.to_string(),
            "2 new, 1 changed, 0 deleted, 0 linked"
        );
        assert_eq!(format!("{unlinked:#}"), "2 new, 1 changed, 0 deleted");
        assert_eq!((c.total(), c.content_writes()), (6, 3));
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            serde_json::json!({"new": 2, "changed": 1, "deleted": 0, "linked": 3})
        );
        // The names counts had before (`created`, `keyed`) are still read.
        let old: Counts =
            serde_json::from_str(r#"{"created":2,"changed":1,"deleted":0,"keyed":3}"#).unwrap();
        assert_eq!(old, c);
        let mut sum = PerSide::<Counts>::default();
        sum += PerSide {
            local: c,
            remote: c,
        };
        assert_eq!(sum.total(), 12);
        assert_eq!(sum.side(SideId::Remote), &c);
    }
}
