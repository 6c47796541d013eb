//! The configuration's batch tasks: which job each one runs, where it runs, and the mail
//! receiving job.
//!
//! * [`task_kind`]: a task whose group or task name speaks of mail (`"E-Mails abholen"`,
//!   `"Mail receiving"`: the name contains `mail`, case-insensitive) receives mail; any
//!   other task of the group [`crate::scheduler::BATCH_GROUP`] synchronises the rules.
//!   Tasks of other groups are not the connector's: [`problems`] reports them.
//! * [`runs_here`]: a task with `run_on = "server"` runs only on the machine whose name is
//!   its `server_name`; `run_on = "client"` runs wherever the batch runs.
//! * [`receive_mail`]: one receive run over every mail account with
//!   `receive_automatically_on_server`: IMAP accounts through mail-transport's
//!   [`ImapReceiver`], Exchange accounts through its Exchange receiver (with the server's
//!   administrator account) or, for a server speaking Microsoft Graph
//!   ([`EwsServer::effective_api`](conaktiv_model::config::EwsServer::effective_api)), its Graph receiver (the server's OAuth app), each mail filed once (Message-ID) for the account's user by
//!   [`CrmMailSink`] and linked by the host's [`MailLinker`].

use std::sync::Arc;

use conaktiv_model::config::{BatchTask, MailAccount, MailServerKind, RunOn, ServerApi};
use conaktiv_model::{Configuration, Mail};
use mail_transport::{CheckpointStore, ImapReceiver, MailReceiver};
use serde::Serialize;

use crate::host::{CrmStore, MailLinker};
use crate::mail_store::{CrmMailSink, LinkerHook};
use crate::scheduler::BATCH_GROUP;

/// The job a batch task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskKind {
    /// Synchronise every rule's mailboxes (the scheduler).
    Sync,
    /// Receive the mail accounts marked `receive_automatically_on_server` into the CRM.
    ReceiveMail,
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TaskKind::Sync => "sync",
            TaskKind::ReceiveMail => "mail receiving",
        })
    }
}

/// The job of a task (see the module docs); `None` for a task that is not the connector's.
pub fn task_kind(task: &BatchTask) -> Option<TaskKind> {
    let speaks_of_mail = |s: &str| s.to_lowercase().contains("mail");
    if speaks_of_mail(&task.task) || speaks_of_mail(&task.group) {
        Some(TaskKind::ReceiveMail)
    } else if task.group.trim().eq_ignore_ascii_case(BATCH_GROUP) {
        Some(TaskKind::Sync)
    } else {
        None
    }
}

/// Whether a task runs on this machine (named `this_server`): `Err` says why not.
pub fn runs_here(task: &BatchTask, this_server: &str) -> Result<(), String> {
    match task.run_on {
        RunOn::Client => Ok(()),
        RunOn::Server => match task.server_name.as_deref().map(str::trim) {
            Some(name) if name.eq_ignore_ascii_case(this_server.trim()) => Ok(()),
            Some(name) => Err(format!(
                "runs on the server {name:?}, this machine is {:?} (start the batch with --server-name {name:?} there)",
                this_server.trim()
            )),
            None => Err("runs on a server but names none".to_owned()),
        },
    }
}

/// This machine's name for [`runs_here`]: `CONAKTIV_SERVER_NAME`, else the host name.
pub fn this_server_name() -> String {
    std::env::var("CONAKTIV_SERVER_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .or_else(|_| std::fs::read_to_string("/etc/hostname"))
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The accounts a mail receiving task receives.
pub fn receiving_accounts(config: &Configuration) -> impl Iterator<Item = &MailAccount> {
    config
        .mail_accounts
        .iter()
        .filter(|a| a.usage.receives() && a.receiving.receive_automatically_on_server)
}

/// What cannot work in the batch tasks and receiving accounts, one sentence each: a task that
/// is not the connector's, a mail task with no account to receive, an account the batch
/// cannot receive (XOAUTH2 IMAP without a token, Exchange with own credentials, an unknown
/// server), a `run_as` user missing from `users` (when a directory is given).
pub fn problems(config: &Configuration, users: Option<&[String]>) -> Vec<String> {
    let mut out = Vec::new();
    for t in config.batch_tasks.iter().filter(|t| t.active) {
        match task_kind(t) {
            None => out.push(format!(
                "batch task {:?}: the connector runs only the group {BATCH_GROUP:?} (sync) and mail receiving tasks (a task or group name containing \"mail\"); deactivate this task or move it",
                t.label()
            )),
            Some(TaskKind::ReceiveMail) if receiving_accounts(config).next().is_none() => {
                out.push(format!(
                    "batch task {:?} receives mail, but no mail account has receive_automatically_on_server = true",
                    t.label()
                ))
            }
            _ => {}
        }
        if let (Some(run_as), Some(users)) = (&t.run_as, users)
            && !users
                .iter()
                .any(|u| u.eq_ignore_ascii_case(run_as.as_str()))
        {
            out.push(format!(
                "batch task {:?} runs as {:?}, who is not a user of the directory",
                t.label(),
                run_as.as_str()
            ));
        }
    }
    for a in receiving_accounts(config) {
        if let Err(e) = receivable(a, config) {
            out.push(e);
        }
    }
    out
}

fn receivable(a: &MailAccount, config: &Configuration) -> Result<(), String> {
    match a.server_kind {
        MailServerKind::ImapSmtp => match &a.imap {
            None => Err(format!(
                "mail account {}: receives automatically but has no IMAP settings",
                a.short_code
            )),
            Some(i) if i.oauth.is_some() => Err(format!(
                "mail account {}: the batch cannot receive over IMAP with XOAUTH2 yet; give it a password or switch off receive_automatically_on_server",
                a.short_code
            )),
            Some(_) => Ok(()),
        },
        _ => match &a.exchange {
            None => Err(format!(
                "mail account {}: an Exchange account without Exchange settings",
                a.short_code
            )),
            Some(ex) if !ex.use_admin_account => Err(format!(
                "mail account {}: the batch receives Exchange mail with the server's administrator account; set use_admin_account = true",
                a.short_code
            )),
            Some(ex) if !config.servers.iter().any(|s| s.name == ex.server) => Err(format!(
                "mail account {}: there is no EWS server {:?}",
                a.short_code, ex.server
            )),
            Some(_) => Ok(()),
        },
    }
}

/// The outcome of receiving one account.
#[derive(Clone, Debug, Serialize)]
pub struct AccountReceipt {
    /// The account's short code.
    pub account: String,
    /// The user the mail was filed for.
    pub user: String,
    /// Mails filed now.
    pub new: usize,
    /// Mails the CRM already had (not filed again).
    pub duplicates: usize,
    /// Why receiving failed, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One receive run over every [`receiving_accounts`] account, filing into `store` and
/// linking with `linker`; checkpoints in `checkpoints`. An account that fails is reported and
/// the others still run.
pub async fn receive_mail<S, L>(
    config: &Configuration,
    store: S,
    linker: L,
    checkpoints: Arc<dyn CheckpointStore>,
) -> Vec<AccountReceipt>
where
    S: CrmStore<Mail> + Clone,
    L: MailLinker + Clone,
{
    let mut out = Vec::new();
    for a in receiving_accounts(config) {
        let user = a.user.as_str().to_owned();
        let mut receipt = AccountReceipt {
            account: a.short_code.clone(),
            user: user.clone(),
            new: 0,
            duplicates: 0,
            error: None,
        };
        let sink = CrmMailSink::new(store.clone(), Some(user));
        let hook = LinkerHook(linker.clone());
        let result = match receiver(a, config, Arc::clone(&checkpoints)) {
            Ok(r) => r.receive(&sink, &hook).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => {
                receipt.new = r.stored;
                receipt.duplicates = r.duplicates;
            }
            Err(e) => receipt.error = Some(e),
        }
        out.push(receipt);
    }
    out
}

/// The server record of an Exchange mail account ([`Configuration::server`]).
fn exchange_server<'c>(
    a: &MailAccount,
    config: &'c Configuration,
) -> Result<&'c conaktiv_model::config::EwsServer, String> {
    let ex = a
        .exchange
        .as_ref()
        .ok_or_else(|| format!("mail account {}: no Exchange settings", a.short_code))?;
    config
        .server(&ex.server)
        .ok_or_else(|| format!("mail account {}: no server {:?}", a.short_code, ex.server))
}

/// The sender of an Exchange mail account (the host sends CRM mail with it): over Microsoft
/// Graph when the account's server record speaks Graph (a draft with an immutable id, sent,
/// its Sent Items copy found by that id and returned in the receipt, attachments above 3 MB
/// through upload sessions), else over EWS (`CreateItem` with `SendAndSaveCopy`), both
/// through the server's service account.
pub fn exchange_sender(
    a: &MailAccount,
    config: &Configuration,
) -> Result<Box<dyn mail_transport::MailSender>, String> {
    let server = exchange_server(a, config)?;
    let fail = |e: &dyn std::fmt::Display| format!("mail account {}: {e}", a.short_code);
    if server.effective_api() == ServerApi::Graph {
        let client =
            crate::service::graph::graph_client_for_server(server).map_err(|e| fail(&e))?;
        let s = mail_transport::model::graph_sender(a, client).map_err(|e| fail(&e))?;
        return Ok(Box::new(s));
    }
    let client = crate::service::client_for_server(server).map_err(|e| fail(&e))?;
    let s = mail_transport::model::exchange_sender(a, client).map_err(|e| fail(&e))?;
    Ok(Box::new(s))
}

fn receiver(
    a: &MailAccount,
    config: &Configuration,
    checkpoints: Arc<dyn CheckpointStore>,
) -> Result<Box<dyn MailReceiver>, String> {
    receivable(a, config)?;
    match a.server_kind {
        MailServerKind::ImapSmtp => {
            let settings = mail_transport::model::account_settings(a, None)
                .map_err(|e| format!("mail account {}: {e}", a.short_code))?;
            let imap = settings
                .imap
                .ok_or_else(|| format!("mail account {}: no IMAP settings", a.short_code))?;
            Ok(Box::new(ImapReceiver::new(
                a.short_code.clone(),
                imap,
                checkpoints,
            )))
        }
        _ => {
            let server = exchange_server(a, config)?;
            if server.effective_api() == ServerApi::Graph {
                let client = crate::service::graph::graph_client_for_server(server)
                    .map_err(|e| format!("mail account {}: {e}", a.short_code))?;
                let r = mail_transport::model::graph_receiver(a, client, checkpoints)
                    .map_err(|e| format!("mail account {}: {e}", a.short_code))?;
                return Ok(Box::new(r));
            }
            let client = crate::service::client_for_server(server)
                .map_err(|e| format!("mail account {}: {e}", a.short_code))?;
            let r = mail_transport::model::exchange_receiver(a, client, checkpoints)
                .map_err(|e| format!("mail account {}: {e}", a.short_code))?;
            Ok(Box::new(r))
        }
    }
}
