//! `migrate-to-graph`: moves each mailbox's sync state from EWS to Microsoft Graph (see
//! [`conaktiv_exchange::migrate`]).

use std::path::PathBuf;
use std::sync::Arc;

use conaktiv_exchange::config_directory::ConfigDirectory;
use conaktiv_exchange::host::UserDirectory;
use conaktiv_exchange::migrate::MigrateOptions;
use conaktiv_exchange::service::{Connector, CrmStores, ServiceError};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::Configuration;

use super::{Exit, Output};

/// The arguments of `migrate-to-graph`.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// Report what would be translated, re-paired by key or left unmatched (and why);
    /// write nothing (no Graph state, no task link).
    #[arg(long)]
    pub dry_run: bool,
    /// Only this user's mailbox [default: every user in the rules' scope].
    #[arg(long)]
    pub user: Option<String>,
    /// Replace a Graph state that exists already by a fresh migration from the EWS state
    /// (what Graph runs recorded since is dropped; their pairs are found again by key).
    #[arg(long)]
    pub force: bool,
    /// The embedded database (CRM records and user directory).
    #[arg(long, default_value = "conaktiv.sqlite")]
    pub db: PathBuf,
    /// The folder for the sync state [default: the database's name + `.state`].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

fn service_error(e: &ServiceError) -> Output {
    match e {
        ServiceError::Configuration(_) => {
            Output::error(Exit::Config, "configuration", e.to_string())
        }
        _ => Output::error(Exit::Failure, "service", e.to_string()),
    }
}

/// Runs `migrate-to-graph`: exit 0 when every pair was matched, 2 when some pair is
/// unmatched or a mailbox failed.
pub async fn run(config: &Configuration, args: &MigrateArgs) -> Output {
    let db = match SqliteDb::open(&args.db) {
        Ok(db) => db,
        Err(e) => {
            return Output::error(
                Exit::Failure,
                "database",
                format!("{}: {e}", args.db.display()),
            );
        }
    };
    let sqlite = db.directory();
    let directory: Arc<dyn UserDirectory> = match sqlite.users().await {
        Ok(users) if users.is_empty() => Arc::new(ConfigDirectory::new(config)),
        Ok(_) => Arc::new(sqlite),
        Err(e) => return Output::error(Exit::Failure, "database", e.to_string()),
    };
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        let mut name = args.db.as_os_str().to_owned();
        name.push(".state");
        PathBuf::from(name)
    });
    let connector = match Connector::from_config(
        config.clone(),
        None,
        CrmStores::all(db.crm()),
        directory,
        &state_dir,
    ) {
        Ok(c) => c,
        Err(e) => return service_error(&e),
    };
    let options = MigrateOptions {
        dry_run: args.dry_run,
        force: args.force,
    };
    match connector
        .migrate_to_graph(args.user.as_deref(), options)
        .await
    {
        Ok(report) => {
            let exit = if report.is_clean() {
                Exit::Success
            } else {
                Exit::Partial
            };
            let mut json = serde_json::to_value(&report).unwrap_or_default();
            json["ok"] = serde_json::Value::Bool(report.is_clean());
            Output::new(exit, json, report.to_string())
        }
        Err(e) => service_error(&e),
    }
}
