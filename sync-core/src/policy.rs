//! The engine's [`Policy`]: switches per direction, the master side and the mass-delete
//! guard.

use serde::{Deserialize, Serialize};

use crate::SideId;

/// A direction of data flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// From the local side (CRM) to the remote side (Exchange).
    LocalToRemote,
    /// From the remote side to the local side.
    RemoteToLocal,
}

impl Direction {
    /// The side data is read from.
    pub fn source(self) -> SideId {
        match self {
            Direction::LocalToRemote => SideId::Local,
            Direction::RemoteToLocal => SideId::Remote,
        }
    }

    /// The side data is written to.
    pub fn target(self) -> SideId {
        self.source().other()
    }
}

/// Which side wins a conflict (a field changed on both sides to different values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Master {
    /// The local side wins.
    Local,
    /// The remote side wins.
    Remote,
}

impl Master {
    /// The winning side.
    pub fn side(self) -> SideId {
        match self {
            Master::Local => SideId::Local,
            Master::Remote => SideId::Remote,
        }
    }
}

/// The switches of one direction. A switch that is off means that kind of write never
/// happens in that direction (on the direction's target side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switches {
    /// Create on the target what is new on the source.
    pub transfer_new: bool,
    /// Update on the target what changed on the source.
    pub transfer_changed: bool,
    /// Delete on the target what the source no longer has (deleted or out of scope). When
    /// off, such a pair is detached: the target's record stays and is no longer tracked.
    pub delete_missing: bool,
    /// When updating the target, make it the source's projection: the target's own edits are
    /// discarded instead of merged field by field (if both directions say so, the master's
    /// direction wins).
    pub overwrite_completely: bool,
}

impl Switches {
    /// All kinds of writes on, field-by-field merge.
    pub const ALL: Switches = Switches {
        transfer_new: true,
        transfer_changed: true,
        delete_missing: true,
        overwrite_completely: false,
    };
    /// No writes at all in this direction.
    pub const NONE: Switches = Switches {
        transfer_new: false,
        transfer_changed: false,
        delete_missing: false,
        overwrite_completely: false,
    };
}

impl Default for Switches {
    fn default() -> Self {
        Switches::ALL
    }
}

/// How the engine decides: the switches of both directions, the master side and the
/// thresholds of the mass-delete guard.
///
/// This is the engine's own vocabulary, independent of any host. A host converts its
/// configuration into a policy: conaktiv-exchange's `SyncRule` (the rule an administrator
/// configures for a table: its filter, folder, switches per direction and master) becomes a
/// `Policy` through `conaktiv_exchange::service::engine_policy`, with the guard's thresholds
/// left at their defaults.
///
/// [`Policy::default()`]: every switch on in both directions ([`Switches::ALL`]: create,
/// change and delete, field-by-field merge), [`Master::Local`] wins conflicts, the guard
/// trips above a delete share of `0.5` and more than `5` deletes
/// (`max_delete_share: 0.5, min_delete_count: 5`), `force: false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Switches for local to remote.
    pub local_to_remote: Switches,
    /// Switches for remote to local.
    pub remote_to_local: Switches,
    /// Who wins a conflict.
    pub master: Master,
    /// The mass-delete guard trips when a run would delete more than this share of the pairs
    /// (0.0 to 1.0), counting deletes on both sides.
    pub max_delete_share: f64,
    /// ... and more than this many records (so that small states can still delete a few).
    pub min_delete_count: usize,
    /// Never trip the mass-delete guard (a plan made with it on has no
    /// [`crate::Plan::guard`]). To accept one tripped guard after a preview, see
    /// [`crate::Plan::accept_mass_delete`].
    pub force: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            local_to_remote: Switches::ALL,
            remote_to_local: Switches::ALL,
            master: Master::Local,
            max_delete_share: 0.5,
            min_delete_count: 5,
            force: false,
        }
    }
}

impl Policy {
    /// The switches of a direction.
    pub fn switches(&self, direction: Direction) -> &Switches {
        match direction {
            Direction::LocalToRemote => &self.local_to_remote,
            Direction::RemoteToLocal => &self.remote_to_local,
        }
    }

    /// The switches for writes landing on `target`.
    pub fn into_side(&self, target: SideId) -> &Switches {
        self.switches(target.incoming())
    }

    /// Check the policy's numbers.
    pub fn validate(&self) -> Result<(), crate::SyncError> {
        if !(0.0..=1.0).contains(&self.max_delete_share) {
            return Err(crate::SyncError::InvalidPolicy(format!(
                "max_delete_share must be between 0 and 1, got {}",
                self.max_delete_share
            )));
        }
        Ok(())
    }

    /// The direction whose `overwrite_completely` applies (the master's if both are on).
    pub fn overwriting_direction(&self) -> Option<Direction> {
        let l2r = self.local_to_remote.overwrite_completely;
        let r2l = self.remote_to_local.overwrite_completely;
        match (l2r, r2l) {
            (true, true) => Some(match self.master {
                Master::Local => Direction::LocalToRemote,
                Master::Remote => Direction::RemoteToLocal,
            }),
            (true, false) => Some(Direction::LocalToRemote),
            (false, true) => Some(Direction::RemoteToLocal),
            (false, false) => None,
        }
    }
}
