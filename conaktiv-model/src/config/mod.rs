//! Configuration records, as the product's admin screens know them: EWS servers, mail
//! accounts, sync rules and batch tasks, together in one [`Configuration`] that lives in a
//! TOML file (see [`file`]).

pub mod account;
pub mod batch;
pub mod file;
pub mod rule;
pub mod server;

use serde::{Deserialize, Serialize};

pub use account::{
    AuthMechanism, ExchangeAccount, ImapSettings, MailAccount, MailServerKind, MailUsage,
    ReceiveOptions, SmtpSettings, Throttle, TlsMode, TransferEncoding,
};
pub use batch::{BatchTask, RunOn};
pub use file::{ConfigError, LocatedError, Location};
pub use rule::{DirectionSwitches, Master, RuleTarget, SyncFolder, SyncRule, SyncTable, Validity};
pub use server::{AuthScheme, EwsServer, OAuthApp, ServerCredentials, ServerKind};

use crate::ids::{GroupName, UserName};

/// The whole configuration: servers, mail accounts, sync rules, batch tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Configuration {
    /// EWS servers (`[[servers]]`).
    pub servers: Vec<EwsServer>,
    /// Mail accounts (`[[mail_accounts]]`).
    pub mail_accounts: Vec<MailAccount>,
    /// Sync rules (`[[rules]]`).
    pub rules: Vec<SyncRule>,
    /// Batch tasks (`[[batch_tasks]]`).
    pub batch_tasks: Vec<BatchTask>,
}

impl Configuration {
    /// The server with this name (case-insensitive).
    pub fn server(&self, name: &str) -> Option<&EwsServer> {
        self.servers
            .iter()
            .find(|s| s.name.trim().eq_ignore_ascii_case(name.trim()))
    }

    /// The mail account with this short code (case-insensitive).
    pub fn mail_account(&self, short_code: &str) -> Option<&MailAccount> {
        self.mail_accounts
            .iter()
            .find(|a| a.short_code.trim().eq_ignore_ascii_case(short_code.trim()))
    }

    /// The mail accounts of a user.
    pub fn mail_accounts_of<'a>(
        &'a self,
        user: &'a UserName,
    ) -> impl Iterator<Item = &'a MailAccount> {
        self.mail_accounts
            .iter()
            .filter(move |a| a.user.as_str().eq_ignore_ascii_case(user.as_str()))
    }

    /// The rule for `table` that applies to `user` (a member of `groups`): a rule for the user
    /// beats one for a group, which beats one for all users.
    pub fn rule_for(
        &self,
        table: SyncTable,
        user: &UserName,
        groups: &[GroupName],
    ) -> Option<&SyncRule> {
        let rank = |r: &SyncRule| match r.validity {
            Validity::User => 0,
            Validity::Group => 1,
            Validity::AllUsers => 2,
        };
        self.rules
            .iter()
            .filter(|r| r.table == table && r.applies_to(user, groups))
            .min_by_key(|r| rank(r))
    }
}
