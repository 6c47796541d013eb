//! Rule resolution: which sync rule applies to a mailbox (user) and table, and the conflicts
//! between rules, found at configuration time.
//!
//! Precedence: a rule for the user beats a rule for one of the user's groups, which beats a
//! rule for all users. At the same level there must be exactly one candidate: two rules for
//! the same target are a conflict ([`RuleProblem::DuplicateTarget`]), and so is a user in two
//! groups that both have a rule for the table while the user has no rule of their own
//! ([`RuleProblem::AmbiguousGroups`]).
//!
//! [`check_rules`] finds every problem of a rule set against the directory's users, naming
//! the rules; [`resolve`] answers for one user and table; [`assignments`] lists what a batch
//! run covers: every active user with a mailbox, every table a rule applies to.

use std::fmt;

use conaktiv_model::config::{RuleTarget, SyncRule, SyncTable, Validity};
use conaktiv_model::{GroupName, UserName};
use serde::Serialize;

use crate::filter::{Filter, FilterError};
use crate::host::DirectoryUser;

/// A problem of a rule set, naming the rules involved (by description).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleProblem {
    /// Two rules for the same table and the same target.
    #[error("rules {rule:?} and {other:?} both apply to {target} for table {table}")]
    DuplicateTarget {
        /// The later rule.
        rule: String,
        /// The earlier rule.
        other: String,
        /// The target ("all users", "user anna", "group Vertrieb").
        target: String,
        /// The table.
        table: &'static str,
    },
    /// A user is in several groups whose rules apply to the same table, and has no rule of
    /// their own to decide.
    #[error(
        "user {user:?} gets rules {rules:?} for table {table} through groups {groups:?}; add a rule for the user or remove them from all but one group"
    )]
    AmbiguousGroups {
        /// The user.
        user: String,
        /// The table.
        table: &'static str,
        /// The competing rules.
        rules: Vec<String>,
        /// The groups they come through.
        groups: Vec<String>,
    },
    /// Two rules for different tables apply to the same mailbox and share a folder.
    #[error(
        "rules {:?} ({}) and {:?} ({}) both synchronise folder {folder} of user {user:?}",
        rules[0], tables[0], rules[1], tables[1]
    )]
    FolderOverlap {
        /// The two rules.
        rules: [String; 2],
        /// Their tables.
        tables: [&'static str; 2],
        /// The shared folder.
        folder: String,
        /// A user both rules apply to.
        user: String,
    },
    /// The rule's filter is not a valid expression of the embedded filter language.
    #[error("rule {rule:?}: {error}")]
    InvalidFilter {
        /// The rule.
        rule: String,
        /// The parse error.
        error: FilterError,
    },
    /// The rule names a user the directory does not know (a warning: the rule does nothing).
    #[error("rule {rule:?} names user {user:?}, who is not in the directory")]
    UnknownUser {
        /// The rule.
        rule: String,
        /// The user name.
        user: String,
    },
    /// The rule names a group without members (a warning: the rule does nothing).
    #[error("rule {rule:?} names group {group:?}, which has no members")]
    EmptyGroup {
        /// The rule.
        rule: String,
        /// The group name.
        group: String,
    },
    /// The rule's filter compares a field that the table's records do not have (a warning:
    /// the comparison only ever sees `''`, so the filter probably selects nothing or
    /// everything).
    #[error(
        "rule {rule:?}: the filter names {field:?}, which {table} records do not have (it always compares as ''); known fields: {known}"
    )]
    UnknownFilterField {
        /// The rule.
        rule: String,
        /// The table.
        table: &'static str,
        /// The field path as written.
        field: String,
        /// The table's top-level fields.
        known: String,
    },
    /// Records the sync creates in the CRM from Exchange cannot be made to match the rule's
    /// filter (a warning: they are kept in scope as pinned records, see
    /// [`crate::crm_side`]), so the filter does not fully describe what the rule syncs.
    #[error("rule {rule:?}: {warning}")]
    FilterOutsideScope {
        /// The rule.
        rule: String,
        /// Why the filter cannot be satisfied automatically.
        warning: String,
    },
}

impl RuleProblem {
    /// Whether the problem makes the rule set unusable (as opposed to a warning about a rule
    /// that does nothing).
    pub fn is_error(&self) -> bool {
        !matches!(
            self,
            Self::UnknownUser { .. }
                | Self::EmptyGroup { .. }
                | Self::FilterOutsideScope { .. }
                | Self::UnknownFilterField { .. }
        )
    }

    /// The descriptions of the rules involved.
    pub fn rules(&self) -> Vec<&str> {
        match self {
            Self::DuplicateTarget { rule, other, .. } => vec![rule, other],
            Self::FolderOverlap { rules, .. } => rules.iter().map(String::as_str).collect(),
            Self::AmbiguousGroups { rules, .. } => rules.iter().map(String::as_str).collect(),
            Self::InvalidFilter { rule, .. }
            | Self::UnknownUser { rule, .. }
            | Self::EmptyGroup { rule, .. }
            | Self::UnknownFilterField { rule, .. }
            | Self::FilterOutsideScope { rule, .. } => vec![rule],
        }
    }
}

/// A record of the table in its JSON form with every field present (the defaults), for
/// checking the field paths of a rule's filter.
fn example_record(table: SyncTable) -> serde_json::Value {
    use conaktiv_model::{Appointment, ContactPerson, Mail, Task};
    match table {
        SyncTable::Contacts => serde_json::to_value(ContactPerson::default()),
        SyncTable::Appointments => serde_json::to_value(Appointment::default()),
        SyncTable::Tasks => serde_json::to_value(Task::default()),
        SyncTable::Email => serde_json::to_value(Mail::default()),
    }
    .unwrap_or_default()
}

/// The name of a table as the configuration file writes it.
pub fn table_name(table: SyncTable) -> &'static str {
    match table {
        SyncTable::Email => "email",
        SyncTable::Contacts => "contacts",
        SyncTable::Appointments => "appointments",
        SyncTable::Tasks => "tasks",
    }
}

fn describe(target: &RuleTarget) -> String {
    match target {
        RuleTarget::AllUsers => "all users".to_owned(),
        RuleTarget::User(u) => format!("user {u}"),
        RuleTarget::Group(g) => format!("group {g}"),
    }
}

fn level(rule: &SyncRule) -> u8 {
    match rule.validity {
        Validity::User => 0,
        Validity::Group => 1,
        Validity::AllUsers => 2,
    }
}

fn applies(rule: &SyncRule, user: &DirectoryUser) -> bool {
    let groups: Vec<GroupName> = user
        .groups
        .iter()
        .map(|g| GroupName::new(g.as_str()))
        .collect();
    rule.applies_to(&UserName::new(user.name.as_str()), &groups)
}

/// The rule for `table` that applies to `user`: the user's own rule, else their group's,
/// else the all-users rule; `Ok(None)` if none applies. Ambiguities are errors.
pub fn resolve<'a>(
    rules: &'a [SyncRule],
    table: SyncTable,
    user: &DirectoryUser,
) -> Result<Option<&'a SyncRule>, Box<RuleProblem>> {
    let candidates: Vec<&SyncRule> = rules
        .iter()
        .filter(|r| r.table == table && applies(r, user))
        .collect();
    let Some(best) = candidates.iter().map(|r| level(r)).min() else {
        return Ok(None);
    };
    let top: Vec<&SyncRule> = candidates
        .into_iter()
        .filter(|r| level(r) == best)
        .collect();
    match top.as_slice() {
        [only] => Ok(Some(only)),
        [first, second, ..] if first.target() == second.target() => {
            Err(Box::new(RuleProblem::DuplicateTarget {
                rule: second.description.clone(),
                other: first.description.clone(),
                target: describe(&first.target()),
                table: table_name(table),
            }))
        }
        many => Err(Box::new(RuleProblem::AmbiguousGroups {
            user: user.name.clone(),
            table: table_name(table),
            rules: many.iter().map(|r| r.description.clone()).collect(),
            groups: many
                .iter()
                .filter_map(|r| r.validity_name.clone())
                .collect(),
        })),
    }
}

/// Every problem of a rule set, checked against the directory's users. Errors and warnings
/// both; see [`RuleProblem::is_error`].
pub fn check_rules(rules: &[SyncRule], users: &[DirectoryUser]) -> Vec<RuleProblem> {
    let mut problems = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        match Filter::parse(&r.filter) {
            Err(error) => problems.push(RuleProblem::InvalidFilter {
                rule: r.description.clone(),
                error,
            }),
            Ok(filter) => {
                let example = example_record(r.table);
                for field in filter.unknown_fields(&example) {
                    let known = example
                        .as_object()
                        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default();
                    problems.push(RuleProblem::UnknownFilterField {
                        rule: r.description.clone(),
                        table: table_name(r.table),
                        field,
                        known,
                    });
                }
                if let Some(warning) = crate::crm_side::scope_warning(&r.filter) {
                    problems.push(RuleProblem::FilterOutsideScope {
                        rule: r.description.clone(),
                        warning,
                    });
                }
            }
        }
        if let Some(other) = rules
            .get(..i)
            .unwrap_or_default()
            .iter()
            .find(|o| o.table == r.table && o.target() == r.target())
        {
            problems.push(RuleProblem::DuplicateTarget {
                rule: r.description.clone(),
                other: other.description.clone(),
                target: describe(&r.target()),
                table: table_name(r.table),
            });
        }
        match r.target() {
            RuleTarget::User(name) if !users.iter().any(|u| u.name.to_lowercase() == name) => {
                problems.push(RuleProblem::UnknownUser {
                    rule: r.description.clone(),
                    user: r.validity_name.clone().unwrap_or_default(),
                });
            }
            RuleTarget::Group(name)
                if !users
                    .iter()
                    .any(|u| u.groups.iter().any(|g| g.to_lowercase() == name)) =>
            {
                problems.push(RuleProblem::EmptyGroup {
                    rule: r.description.clone(),
                    group: r.validity_name.clone().unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    let mut overlaps: Vec<(String, String)> = Vec::new();
    for user in users {
        let mut chosen: Vec<&SyncRule> = Vec::new();
        for table in SyncTable::ALL {
            match resolve(rules, table, user) {
                Ok(Some(rule)) => chosen.push(rule),
                Ok(None) => {}
                Err(p) => {
                    if !matches!(*p, RuleProblem::DuplicateTarget { .. }) && !problems.contains(&p)
                    {
                        problems.push(*p);
                    }
                }
            }
        }
        for (i, a) in chosen.iter().enumerate() {
            for b in chosen.iter().skip(i + 1) {
                let pair = (a.description.clone(), b.description.clone());
                if overlaps.contains(&pair) {
                    continue;
                }
                if let Some(folder) = shared_folder(a, b) {
                    overlaps.push(pair);
                    problems.push(RuleProblem::FolderOverlap {
                        rules: [a.description.clone(), b.description.clone()],
                        tables: [table_name(a.table), table_name(b.table)],
                        folder,
                        user: user.name.clone(),
                    });
                }
            }
        }
    }
    problems
}

/// A folder both rules synchronise, if any.
fn shared_folder(a: &SyncRule, b: &SyncRule) -> Option<String> {
    for fa in &a.sync_folders {
        for fb in &b.sync_folders {
            if fa.covers(&fb.path) {
                return Some(fb.path.to_string());
            }
            if fb.covers(&fa.path) {
                return Some(fa.path.to_string());
            }
        }
    }
    None
}

/// One unit of batch work: a user's mailbox, a table and the rule that applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignment {
    /// The user.
    pub user: String,
    /// The user's mailbox (SMTP address).
    pub mailbox: String,
    /// The table.
    pub table: SyncTable,
    /// The rule's description.
    pub rule: String,
}

impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} <{}> {}: rule {:?}",
            self.user,
            self.mailbox,
            table_name(self.table),
            self.rule
        )
    }
}

/// What a batch run covers: for every active user with a mailbox, every table a rule
/// resolves for, ordered by user and table. Users whose resolution fails are reported in the
/// second list and left out (the batch goes on for everyone else).
pub fn assignments(
    rules: &[SyncRule],
    users: &[DirectoryUser],
) -> (Vec<Assignment>, Vec<RuleProblem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for user in users.iter().filter(|u| u.active) {
        let Some(mailbox) = user.mailbox.as_deref().filter(|m| !m.trim().is_empty()) else {
            continue;
        };
        for table in SyncTable::ALL {
            match resolve(rules, table, user) {
                Ok(Some(rule)) => out.push(Assignment {
                    user: user.name.clone(),
                    mailbox: mailbox.to_owned(),
                    table,
                    rule: rule.description.clone(),
                }),
                Ok(None) => {}
                Err(p) => problems.push(*p),
            }
        }
    }
    (out, problems)
}
