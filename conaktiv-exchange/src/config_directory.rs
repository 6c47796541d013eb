//! A read-only [`UserDirectory`] derived from the configuration file: for installations (and
//! the CLI) without a directory of their own.
//!
//! Every user named by a mail account is a user. Their mailbox is the address of their
//! Exchange mail account (the one marked for sending first, then the first in the file); a
//! user with only IMAP/SMTP accounts has no Exchange mailbox. Their mail accounts are the
//! short codes of all their accounts. The configuration has no groups, so nobody is in a
//! group; everyone is active.

use async_trait::async_trait;
use conaktiv_model::Configuration;
use conaktiv_model::config::{MailAccount, MailServerKind};

use crate::host::{DirectoryUser, HostError, UserDirectory};

/// The users the configuration's mail accounts name. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct ConfigDirectory {
    users: Vec<DirectoryUser>,
}

impl ConfigDirectory {
    /// The directory of a configuration.
    pub fn new(config: &Configuration) -> Self {
        let mut users: Vec<DirectoryUser> = Vec::new();
        for account in &config.mail_accounts {
            let name = account.user.as_str().trim();
            if name.is_empty() {
                continue;
            }
            if !users.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
                let mine: Vec<&MailAccount> = config
                    .mail_accounts
                    .iter()
                    .filter(|a| a.user.as_str().trim().eq_ignore_ascii_case(name))
                    .collect();
                let exchange = || {
                    mine.iter()
                        .copied()
                        .filter(|a| a.server_kind == MailServerKind::Exchange)
                };
                let mailbox = exchange()
                    .find(|a| a.default_for_sending)
                    .or_else(|| exchange().next())
                    .map(|a| a.email.to_string());
                users.push(DirectoryUser {
                    name: name.to_owned(),
                    display_name: name.to_owned(),
                    mailbox,
                    groups: Vec::new(),
                    mail_accounts: mine.iter().map(|a| a.short_code.clone()).collect(),
                    active: true,
                });
            }
        }
        users.sort_by_key(|u| u.name.to_lowercase());
        Self { users }
    }
}

#[async_trait]
impl UserDirectory for ConfigDirectory {
    async fn users(&self) -> Result<Vec<DirectoryUser>, HostError> {
        Ok(self.users.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn users_come_from_the_mail_accounts() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/example.toml");
        let config = Configuration::load(path).unwrap();
        let dir = ConfigDirectory::new(&config);
        let users = dir.users().await.unwrap();
        let got: Vec<(&str, Option<&str>, Vec<&str>)> = users
            .iter()
            .map(|u| {
                (
                    u.name.as_str(),
                    u.mailbox.as_deref(),
                    u.mail_accounts.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "jschulz",
                    Some("j.schulz@agentur-beispiel.example"),
                    vec!["JS1"]
                ),
                (
                    "mmueller",
                    Some("m.mueller@agentur-beispiel.example"),
                    vec!["MM1", "INFO"]
                ),
            ]
        );
        assert_eq!(
            dir.user("MMUELLER").await.unwrap().unwrap().name,
            "mmueller"
        );
    }
}
