//! Where the command line keeps the CRM, the directory, the sync state, the leases and the
//! receive checkpoints: SQLite files by default (`--db` and its state folder), or one
//! PostgreSQL database when the configuration says `[state] url = "postgres://…"` (then every
//! worker process on any machine with the same configuration shares them).

use std::path::PathBuf;
use std::sync::Arc;

use conaktiv_exchange::config_directory::ConfigDirectory;
use conaktiv_exchange::host::UserDirectory;
use conaktiv_exchange::scheduler::SchedulerStore;
use conaktiv_exchange::service::CrmStores;
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_exchange::state::{SqliteStates, StateStores};
use conaktiv_model::Configuration;
use conaktiv_model::config::StateLocation;

use super::run::HostArgs;
use super::{Exit, Output};

/// The stores of one command.
pub(crate) enum Stores {
    Sqlite {
        db: SqliteDb,
        state_dir: PathBuf,
    },
    #[cfg(feature = "postgres")]
    Postgres {
        db: conaktiv_exchange::postgres::PgDb,
        state_dir: PathBuf,
    },
}

fn failure(kind: &str, message: impl Into<String>) -> Output {
    Output::error(Exit::Failure, kind, message.into())
}

/// Where `config`'s `[state]` section puts the embedded stores (SQLite without one).
pub(crate) fn state_location(config: Option<&Configuration>) -> Result<StateLocation, Output> {
    match config.and_then(|c| c.state.as_ref()) {
        None => Ok(StateLocation::Sqlite(None)),
        Some(s) => s
            .location()
            .map_err(|why| Output::error(Exit::Config, "configuration", why.to_owned())),
    }
}

/// The embedded SQLite database `db`.
pub(crate) fn open_sqlite(db: &std::path::Path) -> Result<SqliteDb, Output> {
    SqliteDb::open(db).map_err(|e| failure("database", format!("{}: {e}", db.display())))
}

/// The embedded PostgreSQL database of `config`'s `[state]` section (its password from the
/// configuration's secrets), migrated.
#[cfg(feature = "postgres")]
pub(crate) async fn open_postgres(
    config: &Configuration,
) -> Result<conaktiv_exchange::postgres::PgDb, Output> {
    let settings = config.state.clone().unwrap_or_default();
    let secrets = conaktiv_exchange::secrets::ConfigSecrets::from_configuration(config)
        .map_err(|e| Output::error(Exit::Config, "configuration", e.to_string()))?;
    let pool = conaktiv_exchange::state::postgres_pool(&settings, &secrets)
        .await
        .map_err(|e| Output::error(Exit::Config, "configuration", e.to_string()))?;
    conaktiv_exchange::postgres::PgDb::open(&pool)
        .await
        .map_err(|e| failure("database", format!("{}: {e}", pool.target())))
}

/// Without the `postgres` feature, a `[state]` naming PostgreSQL is a configuration error.
#[cfg(not(feature = "postgres"))]
pub(crate) async fn open_postgres(
    _config: &Configuration,
) -> Result<std::convert::Infallible, Output> {
    Err(Output::error(
        Exit::Config,
        "configuration",
        "[state] url names PostgreSQL, but this build has no PostgreSQL support (cargo \
         feature `postgres`)",
    ))
}

impl Stores {
    /// The stores `config` and `args` name. The state folder (SQLite state files, and with
    /// PostgreSQL nothing but temporary files) is `--state-dir`, else `[state] url =
    /// "sqlite:<folder>"`, else the database's name + `.state`.
    pub(crate) async fn open(config: &Configuration, args: &HostArgs) -> Result<Self, Output> {
        let location = state_location(Some(config))?;
        let state_dir = args
            .state_dir
            .clone()
            .or(match &location {
                StateLocation::Sqlite(Some(dir)) => Some(dir.clone()),
                _ => None,
            })
            .unwrap_or_else(|| {
                let mut name = args.db.as_os_str().to_owned();
                name.push(".state");
                PathBuf::from(name)
            });
        conaktiv_exchange::sqlite::create_private_dir(&state_dir)
            .map_err(|e| failure("state", format!("{}: {e}", state_dir.display())))?;
        match location {
            StateLocation::Sqlite(_) => Ok(Stores::Sqlite {
                db: open_sqlite(&args.db)?,
                state_dir,
            }),
            #[cfg(feature = "postgres")]
            StateLocation::Postgres(_) => Ok(Stores::Postgres {
                db: open_postgres(config).await?,
                state_dir,
            }),
            #[cfg(not(feature = "postgres"))]
            StateLocation::Postgres(_) => match open_postgres(config).await? {},
        }
    }

    /// The state folder.
    pub(crate) fn state_dir(&self) -> &std::path::Path {
        match self {
            Stores::Sqlite { state_dir, .. } => state_dir,
            #[cfg(feature = "postgres")]
            Stores::Postgres { state_dir, .. } => state_dir,
        }
    }

    /// The CRM tables, mail linked by the store's linker.
    pub(crate) fn crm(&self) -> CrmStores {
        match self {
            Stores::Sqlite { db, .. } => CrmStores::all(db.crm()).linked(Arc::new(db.linker())),
            #[cfg(feature = "postgres")]
            Stores::Postgres { db, .. } => CrmStores::all(db.crm()).linked(Arc::new(db.linker())),
        }
    }

    /// The store's directory if it has users, else the users of the configuration's mail
    /// accounts.
    pub(crate) async fn directory(
        &self,
        config: &Configuration,
    ) -> Result<Arc<dyn UserDirectory>, Output> {
        let (store, users): (Arc<dyn UserDirectory>, _) = match self {
            Stores::Sqlite { db, .. } => {
                let d = db.directory();
                let users = d.users().await;
                (Arc::new(d), users)
            }
            #[cfg(feature = "postgres")]
            Stores::Postgres { db, .. } => {
                let d = db.directory();
                let users = d.users().await;
                (Arc::new(d), users)
            }
        };
        let users = users.map_err(|e| failure("database", e.to_string()))?;
        Ok(if users.is_empty() {
            Arc::new(ConfigDirectory::new(config))
        } else {
            store
        })
    }

    /// Where the sync state lives.
    pub(crate) fn states(&self) -> Arc<dyn StateStores> {
        match self {
            Stores::Sqlite { state_dir, .. } => Arc::new(SqliteStates::new(state_dir.clone())),
            #[cfg(feature = "postgres")]
            Stores::Postgres { db, .. } => {
                Arc::new(conaktiv_exchange::state::PgStates::new(db.pool().clone()))
            }
        }
    }

    /// The leases and the scheduler's per-item state.
    pub(crate) async fn scheduler_store(&self) -> Result<SchedulerStore, Output> {
        match self {
            Stores::Sqlite { state_dir, .. } => {
                SchedulerStore::open(state_dir.join("scheduler.sqlite"))
                    .map_err(|e| failure("state", e.to_string()))
            }
            #[cfg(feature = "postgres")]
            Stores::Postgres { db, .. } => SchedulerStore::postgres(db.pool())
                .await
                .map_err(|e| failure("state", e.to_string())),
        }
    }

    /// Where received mail's checkpoints are kept.
    pub(crate) async fn checkpoints(
        &self,
    ) -> Result<Arc<dyn mail_transport::CheckpointStore>, Output> {
        match self {
            Stores::Sqlite { state_dir, .. } => Ok(Arc::new(
                mail_transport::SqliteCheckpoints::open(state_dir.join("mail-checkpoints.sqlite"))
                    .map_err(|e| failure("state", e.to_string()))?,
            )),
            #[cfg(feature = "postgres")]
            Stores::Postgres { db, .. } => Ok(Arc::new(
                conaktiv_exchange::postgres::PgCheckpoints::open(db.pool())
                    .await
                    .map_err(|e| failure("state", e.to_string()))?,
            )),
        }
    }
}
