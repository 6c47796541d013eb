//! `check`: validation, rule conflicts against the directory, what a batch run covers.

use std::path::Path;

use conaktiv_exchange::config_directory::ConfigDirectory;
use conaktiv_exchange::host::UserDirectory;
use conaktiv_exchange::rules::{assignments, check_rules};
use conaktiv_exchange::scheduler::BATCH_GROUP;
use conaktiv_exchange::service::routing::describe_route;
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::Configuration;
use serde_json::json;

use super::{Exit, Output};

/// The first rule whose filter cannot be parsed, as a configuration error (exit 3): checked
/// before `sync` and `preview` run anything.
pub fn invalid_filter(config: &Configuration) -> Option<Output> {
    config.rules.iter().find_map(|r| {
        conaktiv_exchange::filter::Filter::parse(&r.filter)
            .err()
            .map(|e| {
                Output::error(
                    Exit::Config,
                    "configuration",
                    format!("rule {:?}: {e}", r.description),
                )
            })
    })
}

pub async fn run(config: &Configuration, db: Option<&Path>) -> Output {
    let from_config = db.is_none();
    let users = match db {
        None => ConfigDirectory::new(config).users().await.ok(),
        Some(path) => {
            let db = match SqliteDb::open(path) {
                Ok(db) => db,
                Err(e) => {
                    return Output::error(
                        Exit::Failure,
                        "database",
                        format!("{}: {e}", path.display()),
                    );
                }
            };
            match db.directory().users().await {
                Ok(u) => Some(u),
                Err(e) => return Output::error(Exit::Failure, "database", e.to_string()),
            }
        }
    };
    let directory = users.as_deref().unwrap_or_default();
    // The configuration knows no groups: without a real directory, unknown users and empty
    // groups say nothing.
    let problems: Vec<_> = check_rules(&config.rules, directory)
        .into_iter()
        .filter(|p| {
            !from_config
                || p.is_error()
                || matches!(
                    p,
                    conaktiv_exchange::rules::RuleProblem::UnknownFilterField { .. }
                )
        })
        .collect();
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let (jobs, _) = assignments(&config.rules, directory);
    let batch: Vec<_> = config
        .batch_tasks
        .iter()
        .filter(|b| b.group.trim().eq_ignore_ascii_case(BATCH_GROUP))
        .collect();

    let mut text = format!(
        "{} server(s), {} mail account(s), {} rule(s), {} batch task(s)\n",
        config.servers.len(),
        config.mail_accounts.len(),
        config.rules.len(),
        config.batch_tasks.len()
    );
    for p in &problems {
        let level = if p.is_error() { "error" } else { "warning" };
        text.push_str(&format!("{level}: {p}\n"));
    }
    let api_warnings: Vec<String> = config
        .servers
        .iter()
        .filter_map(conaktiv_model::config::EwsServer::api_warning)
        .collect();
    for w in &api_warnings {
        text.push_str(&format!("warning: {w}\n"));
    }
    for b in &batch {
        text.push_str(&format!(
            "batch task {:?}: every {} minute(s){}\n",
            b.label(),
            b.interval_minutes.minutes(),
            if b.active { "" } else { " (inactive)" }
        ));
    }
    match &users {
        None => text.push_str("no user directory\n"),
        Some(u) => {
            text.push_str(&format!(
                "{} user(s) ({}); a batch run covers {} mailbox/table pair(s):\n",
                u.len(),
                if from_config {
                    "from the mail accounts; pass --db for the directory"
                } else {
                    "from the directory"
                },
                jobs.len()
            ));
            for j in &jobs {
                text.push_str(&format!("  {j}\n"));
            }
        }
    }
    // Which server (and sign-in) serves each user's mailbox.
    let mut routes = Vec::new();
    if let Some(u) = &users {
        if !config.servers.is_empty() {
            text.push_str("mailboxes by server and API:\n");
        }
        for user in u {
            let Some(mailbox) = user.mailbox.as_deref() else {
                continue;
            };
            let Some(r) = describe_route(config, None, &user.name, mailbox) else {
                continue;
            };
            text.push_str(&format!(
                "  {} <{mailbox}>: server {:?}, {}, {}{} ({})\n",
                user.name,
                r.server,
                r.api,
                r.auth,
                if r.autodiscover {
                    ", endpoint by Autodiscover"
                } else {
                    ""
                },
                r.reason
            ));
            routes.push(json!({
                "user": user.name,
                "mailbox": mailbox,
                "server": r.server,
                "auth": r.auth,
                "api": match r.api {
                    conaktiv_model::config::ServerApi::Ews => "ews",
                    conaktiv_model::config::ServerApi::Graph => "graph",
                },
                "autodiscover": r.autodiscover,
                "reason": r.reason,
            }));
        }
    }
    let json = json!({
        "routes": routes,
        "api_warnings": api_warnings,
        "ok": errors == 0,
        "servers": config.servers.len(),
        "mail_accounts": config.mail_accounts.len(),
        "rules": config.rules.len(),
        "problems": problems.iter().map(|p| json!({
            "error": p.is_error(),
            "message": p.to_string(),
            "rules": p.rules(),
        })).collect::<Vec<_>>(),
        "batch_tasks": batch.iter().map(|b| json!({
            "task": b.label(),
            "interval_minutes": b.interval_minutes.minutes(),
            "active": b.active,
        })).collect::<Vec<_>>(),
        "users": users.as_ref().map(Vec::len),
        "directory": if from_config { "configuration" } else { "database" },
        "assignments": users.as_ref().map(|_| jobs.clone()),
    });
    let exit = if errors > 0 {
        Exit::Config
    } else {
        Exit::Success
    };
    Output::new(exit, json, text.trim_end().to_owned())
}
