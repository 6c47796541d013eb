//! `check`: validation, rule conflicts against the directory, what a batch run covers.

use std::path::Path;

use conaktiv_exchange::config_directory::ConfigDirectory;
use conaktiv_exchange::host::{DirectoryUser, UserDirectory};
use conaktiv_exchange::rules::{Assignment, RuleProblem, assignments, check_rules};
use conaktiv_exchange::scheduler::BATCH_GROUP;
use conaktiv_exchange::service::routing::{RouteInfo, describe_route};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::Configuration;
use conaktiv_model::config::BatchTask;
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
    let users = match directory_users(config, db).await {
        Ok(users) => users,
        Err(out) => return out,
    };
    let checked = Checked::gather(config, db.is_none(), users);
    let exit = if checked.errors() > 0 {
        Exit::Config
    } else {
        Exit::Success
    };
    Output::new(exit, checked.json(), checked.text().trim_end().to_owned())
}

/// The users to check the rules against: from the database at `db`, or from the mail accounts
/// of the configuration (`None` when that fails). A database that cannot be read is the error
/// output.
async fn directory_users(
    config: &Configuration,
    db: Option<&Path>,
) -> Result<Option<Vec<DirectoryUser>>, Output> {
    let Some(path) = db else {
        return Ok(ConfigDirectory::new(config).users().await.ok());
    };
    let db = SqliteDb::open(path).map_err(|e| {
        Output::error(
            Exit::Failure,
            "database",
            format!("{}: {e}", path.display()),
        )
    })?;
    match db.directory().users().await {
        Ok(u) => Ok(Some(u)),
        Err(e) => Err(Output::error(Exit::Failure, "database", e.to_string())),
    }
}

/// One user's mailbox and the server (and sign-in) that serves it.
struct MailboxRoute {
    user: String,
    mailbox: String,
    route: RouteInfo,
}

/// What `check` found; [`Checked::text`] and [`Checked::json`] render it.
struct Checked<'a> {
    config: &'a Configuration,
    /// The users come from the configuration's mail accounts, not from a directory.
    from_config: bool,
    users: Option<Vec<DirectoryUser>>,
    problems: Vec<RuleProblem>,
    api_warnings: Vec<String>,
    batch: Vec<&'a BatchTask>,
    jobs: Vec<Assignment>,
    routes: Vec<MailboxRoute>,
}

impl<'a> Checked<'a> {
    fn gather(
        config: &'a Configuration,
        from_config: bool,
        users: Option<Vec<DirectoryUser>>,
    ) -> Self {
        let directory = users.as_deref().unwrap_or_default();
        // The configuration knows no groups: without a real directory, unknown users and empty
        // groups say nothing.
        let problems = check_rules(&config.rules, directory)
            .into_iter()
            .filter(|p| {
                !from_config || p.is_error() || matches!(p, RuleProblem::UnknownFilterField { .. })
            })
            .collect();
        let (jobs, _) = assignments(&config.rules, directory);
        let batch = config
            .batch_tasks
            .iter()
            .filter(|b| b.group.trim().eq_ignore_ascii_case(BATCH_GROUP))
            .collect();
        let api_warnings = config
            .servers
            .iter()
            .filter_map(conaktiv_model::config::EwsServer::api_warning)
            .collect();
        // Which server (and sign-in) serves each user's mailbox.
        let routes = directory
            .iter()
            .filter_map(|user| {
                let mailbox = user.mailbox.as_deref()?;
                let route = describe_route(config, None, &user.name, mailbox)?;
                Some(MailboxRoute {
                    user: user.name.clone(),
                    mailbox: mailbox.to_owned(),
                    route,
                })
            })
            .collect();
        Checked {
            config,
            from_config,
            users,
            problems,
            api_warnings,
            batch,
            jobs,
            routes,
        }
    }

    fn errors(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }

    fn text(&self) -> String {
        let config = self.config;
        let mut text = format!(
            "{} server(s), {} mail account(s), {} rule(s), {} batch task(s)\n",
            config.servers.len(),
            config.mail_accounts.len(),
            config.rules.len(),
            config.batch_tasks.len()
        );
        for p in &self.problems {
            let level = if p.is_error() { "error" } else { "warning" };
            text.push_str(&format!("{level}: {p}\n"));
        }
        for w in &self.api_warnings {
            text.push_str(&format!("warning: {w}\n"));
        }
        for b in &self.batch {
            text.push_str(&format!(
                "batch task {:?}: every {} minute(s){}\n",
                b.label(),
                b.interval_minutes.minutes(),
                if b.active { "" } else { " (inactive)" }
            ));
        }
        let Some(users) = &self.users else {
            text.push_str("no user directory\n");
            return text;
        };
        text.push_str(&format!(
            "{} user(s) ({}); a batch run covers {} mailbox/table pair(s):\n",
            users.len(),
            if self.from_config {
                "from the mail accounts; pass --db for the directory"
            } else {
                "from the directory"
            },
            self.jobs.len()
        ));
        for j in &self.jobs {
            text.push_str(&format!("  {j}\n"));
        }
        if !config.servers.is_empty() {
            text.push_str("mailboxes by server and API:\n");
        }
        for MailboxRoute {
            user,
            mailbox,
            route: r,
        } in &self.routes
        {
            text.push_str(&format!(
                "  {user} <{mailbox}>: server {:?}, {}, {}{} ({})\n",
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
        }
        text
    }

    fn json(&self) -> serde_json::Value {
        let config = self.config;
        let routes: Vec<_> = self
            .routes
            .iter()
            .map(
                |MailboxRoute {
                     user,
                     mailbox,
                     route: r,
                 }| {
                    json!({
                        "user": user,
                        "mailbox": mailbox,
                        "server": r.server,
                        "auth": r.auth,
                        "api": match r.api {
                            conaktiv_model::config::ServerApi::Ews => "ews",
                            conaktiv_model::config::ServerApi::Graph => "graph",
                        },
                        "autodiscover": r.autodiscover,
                        "reason": r.reason,
                    })
                },
            )
            .collect();
        json!({
            "routes": routes,
            "api_warnings": self.api_warnings,
            "ok": self.errors() == 0,
            "servers": config.servers.len(),
            "mail_accounts": config.mail_accounts.len(),
            "rules": config.rules.len(),
            "problems": self.problems.iter().map(|p| json!({
                "error": p.is_error(),
                "message": p.to_string(),
                "rules": p.rules(),
            })).collect::<Vec<_>>(),
            "batch_tasks": self.batch.iter().map(|b| json!({
                "task": b.label(),
                "interval_minutes": b.interval_minutes.minutes(),
                "active": b.active,
            })).collect::<Vec<_>>(),
            "users": self.users.as_ref().map(Vec::len),
            "directory": if self.from_config { "configuration" } else { "database" },
            "assignments": self.users.as_ref().map(|_| &self.jobs),
        })
    }
}
