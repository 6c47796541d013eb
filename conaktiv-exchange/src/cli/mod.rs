//! The `conaktiv-exchange` command line.
//!
//! Every subcommand reads the TOML configuration (`--config FILE`; default
//! `config/demo.toml` when that file exists) and prints a human report, or with `--json` one
//! JSON document on stdout. Logs go to stderr (`RUST_LOG` sets the level). Progress bars are
//! drawn on stderr only when it is a terminal and `--json` is off.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | the command ran and failed (an account test failed, every mailbox failed, an I/O error) |
//! | 2 | partial failure (some mailboxes or items failed, the rest succeeded) |
//! | 3 | configuration error (unreadable or invalid file, conflicting rules) |
//! | 4 | busy: nothing failed, but some mailboxes were not synchronised because another run (a second `sync`, the batch) was working on them |
//! | 64 | usage error (unknown option, missing argument) |

mod backend;
mod check;
mod import;
mod migrate;
mod mock;
mod run;
mod test_account;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conaktiv_model::Configuration;
use serde_json::{Value, json};

/// The process exit codes (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0
    Success,
    /// 1
    Failure,
    /// 2
    Partial,
    /// 3
    Config,
    /// 4
    Busy,
    /// 64
    Usage,
}

impl Exit {
    fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Partial => 2,
            Exit::Config => 3,
            Exit::Busy => 4,
            Exit::Usage => 64,
        }
    }
}

/// What a command produced: an exit code, a JSON document and a human text.
pub struct Output {
    exit: Exit,
    json: Value,
    text: String,
}

impl Output {
    fn new(exit: Exit, json: Value, text: impl Into<String>) -> Self {
        Self {
            exit,
            json,
            text: text.into(),
        }
    }

    fn error(exit: Exit, kind: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            exit,
            json: json!({"ok": false, "error": kind, "message": message}),
            text: format!("error: {message}"),
        }
    }
}

/// ConAktiv <-> Exchange connector: preview and run the sync rules, run the batch, test
/// accounts, run the mock Exchange server.
#[derive(Parser, Debug)]
#[command(name = "conaktiv-exchange", version, about)]
struct Cli {
    /// The TOML configuration file [default: config/demo.toml if it exists].
    #[arg(long, global = true, env = "CONAKTIV_EXCHANGE_CONFIG")]
    config: Option<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the mock Exchange with a seeded organisation and an SQLite CRM in a temporary
    /// folder, preview, sync, and show that a second run does nothing.
    Demo {
        /// Also write a working setup into this folder (the demo organisation for `mock
        /// --data`, a configuration pointing at `--port`, the seeded CRM database), for
        /// `preview`, `sync` and `batch` after the demo.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
        /// The port the kept configuration expects the mock on.
        #[arg(long, default_value_t = 8765, requires = "keep")]
        port: u16,
    },
    /// Show what a rule would change for a user (new, changed, deleted on each side);
    /// nothing is written.
    Preview {
        /// Only this rule (by description) [default: every rule].
        #[arg(long)]
        rule: Option<String>,
        /// Only this user [default: every user in the rules' scope].
        #[arg(long)]
        user: Option<String>,
        /// List the actions, not only the counts.
        #[arg(long)]
        actions: bool,
        #[command(flatten)]
        host: run::HostArgs,
    },
    /// Run the sync now, for a rule, a user or everyone.
    Sync {
        /// Only this rule.
        #[arg(long)]
        rule: Option<String>,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        /// Wait up to this many seconds for a mailbox that another run (a second `sync`, the
        /// batch) is working on, then report it busy (exit code 4 when nothing failed).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        wait: u64,
        /// Write records back that the other side lost: pairs detached earlier (a mailbox
        /// restored from a backup, a delete while deleting was switched off) are re-created
        /// on the side that lost them, under the same key.
        #[arg(long)]
        reattach: bool,
        /// Accept once that the mass-delete guard of this rule would stop the run (after
        /// checking its numbers in `preview` or the last report): the deletes are made in
        /// this run only. Repeatable.
        #[arg(long, value_name = "RULE")]
        accept_mass_delete: Vec<String>,
        #[command(flatten)]
        host: run::HostArgs,
    },
    /// Run the configuration's batch tasks, each on its own interval (sync tasks of "Exchange
    /// Abgleich", mail receiving tasks such as "E-Mails abholen"), until Ctrl-C or SIGTERM.
    Batch {
        #[command(flatten)]
        batch: run::BatchArgs,
        #[command(flatten)]
        host: run::HostArgs,
    },
    /// Check the configuration: validation, rule conflicts against the directory, and what
    /// a batch run would cover.
    Check {
        /// The embedded database holding the user directory.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Test a mail account (IMAP/SMTP) or an EWS server's connection.
    TestAccount {
        /// The mail account's short code.
        #[arg(long, conflicts_with = "server")]
        account: Option<String>,
        /// The EWS server's name.
        #[arg(long)]
        server: Option<String>,
        /// Send a test message to this address.
        #[arg(long)]
        send_to: Option<String>,
    },
    /// Add (or replace) a user of the embedded directory, with groups and mailbox.
    AddUser {
        /// The ConAktiv user name.
        name: String,
        /// The Exchange mailbox (primary SMTP address).
        #[arg(long)]
        mailbox: Option<String>,
        /// A group the user belongs to (repeatable).
        #[arg(long)]
        group: Vec<String>,
        /// The name shown in reports [default: the user name].
        #[arg(long)]
        display_name: Option<String>,
        /// The embedded database.
        #[arg(long, default_value = "conaktiv.sqlite")]
        db: PathBuf,
    },
    /// Import users, groups, CRM records and project/offer/invoice numbers into the embedded
    /// database (JSON; users also CSV).
    Import {
        /// The file (`.json`, or `.csv` with name,display_name,mailbox,groups).
        file: PathBuf,
        /// The embedded database.
        #[arg(long, default_value = "conaktiv.sqlite")]
        db: PathBuf,
    },
    /// Move each mailbox's sync state from EWS to Microsoft Graph (Exchange Online ends EWS
    /// on 1 April 2027); the EWS state is kept as it is.
    MigrateToGraph(migrate::MigrateArgs),
    /// Run the mock Exchange (EWS) server until interrupted.
    Mock {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// The organisation data file (TOML, see ews-mock).
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

/// Where the configuration comes from: `--config`, else `config/demo.toml` if present.
fn config_path(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let default = PathBuf::from("config/demo.toml");
            default.exists().then_some(default)
        }
    }
}

/// Loads and validates the configuration; a failure is a configuration error (exit 3).
/// Where `add-user` and `import` write: the configuration's `[state]` PostgreSQL database
/// when `--config` is given and names one, else `db`.
async fn import_target(config: Option<&Path>, db: &Path) -> Result<import::Target, Output> {
    let configuration = match config {
        Some(_) => Some(load_config(config).map_err(|o| *o)?.1),
        None => None,
    };
    import::Target::open(configuration.as_ref(), db).await
}

fn load_config(given: Option<&Path>) -> Result<(PathBuf, Configuration), Box<Output>> {
    let Some(path) = config_path(given) else {
        return Err(Box::new(Output::error(
            Exit::Config,
            "configuration",
            "no configuration file: pass --config FILE (config/demo.toml does not exist here)",
        )));
    };
    match Configuration::load(&path) {
        Ok(c) => Ok((path, c)),
        Err(e) => {
            let problems: Vec<Value> = e
                .validation_errors()
                .iter()
                .map(|p| {
                    json!({
                        "file": p.location.file.display().to_string(),
                        "line": p.location.line,
                        "column": p.location.column,
                        "message": p.error.to_string(),
                    })
                })
                .collect();
            Err(Box::new(Output::new(
                Exit::Config,
                json!({
                    "ok": false,
                    "error": "configuration",
                    "message": e.to_string(),
                    "line": e.line(),
                    "field": e.field(),
                    "problems": problems,
                }),
                format!("configuration error: {e}"),
            )))
        }
    }
}

/// A progress bar on stderr, hidden unless stderr is a terminal and JSON output is off.
pub fn progress(len: Option<u64>, json: bool, message: &str) -> indicatif::ProgressBar {
    let bar = if json || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        match len {
            Some(n) => indicatif::ProgressBar::new(n),
            None => {
                let b = indicatif::ProgressBar::new_spinner();
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            }
        }
    };
    bar.set_message(message.to_owned());
    bar
}

async fn run(cli: Cli) -> Output {
    let config = cli.config.as_deref();
    match cli.command {
        // The mock server needs no configuration.
        Command::Mock { listen, data } if config.is_none() => {
            mock::run(listen, data.as_deref(), cli.json).await
        }
        // The embedded database needs no configuration either; a configuration given with
        // `--config` whose `[state] url` names PostgreSQL sends them there.
        Command::AddUser {
            name,
            mailbox,
            group,
            display_name,
            db,
        } => match import_target(config, &db).await {
            Ok(t) => {
                import::add_user(&t, import::user_input(name, display_name, mailbox, group)).await
            }
            Err(o) => o,
        },
        Command::Import { file, db } => match import_target(config, &db).await {
            Ok(t) => import::import(&t, &file).await,
            Err(o) => o,
        },
        command => {
            let (path, configuration) = match load_config(config) {
                Ok(c) => c,
                Err(out) => return *out,
            };
            if matches!(command, Command::Preview { .. } | Command::Sync { .. })
                && let Some(out) = check::invalid_filter(&configuration)
            {
                return out;
            }
            match command {
                Command::MigrateToGraph(args) => migrate::run(&configuration, &args).await,
                Command::Check { db } => {
                    let out = check::run(&configuration, db.as_deref()).await;
                    batch_task_problems(&configuration, db.as_deref())
                        .await
                        .unwrap_or(out)
                }
                Command::TestAccount {
                    account,
                    server,
                    send_to,
                } => {
                    test_account::run(
                        &configuration,
                        account.as_deref(),
                        server.as_deref(),
                        send_to,
                        cli.json,
                    )
                    .await
                }
                Command::Batch { batch, host } => {
                    // Rule conflicts are configuration errors (exit 3) before anything runs.
                    let checked = check::run(&configuration, Some(&host.db)).await;
                    if checked.exit != Exit::Success {
                        return checked;
                    }
                    if let Some(out) = batch_task_problems(&configuration, Some(&host.db)).await {
                        return out;
                    }
                    run::batch(&configuration, &host, &batch, cli.json).await
                }
                Command::Demo { keep, port } => {
                    tracing::debug!(config = %path.display(), "demo");
                    run::demo(&configuration, keep.as_deref().map(|k| (k, port)), cli.json).await
                }
                Command::Preview {
                    rule,
                    user,
                    actions,
                    host,
                } => {
                    run::preview(
                        &configuration,
                        &host,
                        rule.as_deref(),
                        user.as_deref(),
                        actions,
                        cli.json,
                    )
                    .await
                }
                Command::Sync {
                    rule,
                    user,
                    wait,
                    reattach,
                    accept_mass_delete,
                    host,
                } => {
                    if let Some(unknown) = accept_mass_delete.iter().find(|r| {
                        !configuration
                            .rules
                            .iter()
                            .any(|c| c.description.eq_ignore_ascii_case(r))
                    }) {
                        return Output::error(
                            Exit::Config,
                            "configuration",
                            format!("--accept-mass-delete: there is no rule {unknown:?}"),
                        );
                    }
                    let options = run::SyncOptions {
                        wait: std::time::Duration::from_secs(wait),
                        reattach,
                        accept_mass_delete,
                    };
                    run::sync(
                        &configuration,
                        &host,
                        rule.as_deref(),
                        user.as_deref(),
                        options,
                        cli.json,
                    )
                    .await
                }
                // Handled above, before the configuration is read.
                Command::AddUser { .. } | Command::Import { .. } => {
                    Output::error(Exit::Usage, "usage", "not reached")
                }
                Command::Mock { listen, data } => {
                    mock::run(listen, data.as_deref(), cli.json).await
                }
            }
        }
    }
}

/// What cannot work in the batch tasks and receiving mail accounts (a configuration error,
/// exit 3), checked against the embedded directory's users when `db` has any.
async fn batch_task_problems(configuration: &Configuration, db: Option<&Path>) -> Option<Output> {
    let mut users = None;
    if let Some(db) = db.filter(|p| p.exists())
        && let Ok(db) = conaktiv_exchange::sqlite::SqliteDb::open(db)
    {
        use conaktiv_exchange::host::UserDirectory;
        if let Ok(list) = db.directory().users().await
            && !list.is_empty()
        {
            users = Some(list.into_iter().map(|u| u.name).collect::<Vec<_>>());
        }
    }
    let problems = conaktiv_exchange::batch_tasks::problems(configuration, users.as_deref());
    if problems.is_empty() {
        return None;
    }
    let mut out = Output::error(Exit::Config, "configuration", problems.join("\n"));
    out.json["problems"] = json!(problems);
    Some(out)
}

/// Parses the arguments, runs the command, prints its output and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Success.code()
            });
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let json_mode = cli.json;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Failure.code());
        }
    };
    let out = runtime.block_on(run(cli));
    if json_mode {
        println!(
            "{}",
            serde_json::to_string_pretty(&out.json).unwrap_or_else(|_| "{}".into())
        );
    } else if out.exit == Exit::Success || out.exit == Exit::Partial {
        println!("{}", out.text);
    } else {
        eprintln!("{}", out.text);
    }
    ExitCode::from(out.exit.code())
}
