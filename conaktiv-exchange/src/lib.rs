//! # conaktiv-exchange
//!
//! Ties the workspace together: host traits and their SQLite defaults, the Exchange adapters
//! for each table, rule resolution, preview, batch scheduler and the `conaktiv-exchange` CLI.
//!
//! ## Start here
//!
//! [`Connector`] is the entry point: built from a configuration (servers
//! and sync rules), the host's CRM stores and user directory, and a folder for the sync state,
//! it previews a rule for a user ([`Connector::preview`](service::Connector::preview)) and
//! runs the sync for a rule, a user or everyone ([`Connector::run`](service::Connector::run)),
//! giving a [`SyncReport`]: one [`MailboxReport`]
//! per mailbox and table, each with its [`JobReport`]. Every report
//! prints as the CLI shows it (`Display`) and serialises as the CLI's `--json`.
//!
//! Here against the in-process mock Exchange (`ews-mock`) with the demo organisation, with the
//! embedded SQLite CRM and directory ([`sqlite::SqliteDb`]) as the host:
//!
//! ```
//! use std::sync::Arc;
//!
//! use conaktiv_exchange::host::DirectoryUser;
//! use conaktiv_exchange::service::{Connector, CrmStores, PreviewDetail, demo::demo_org};
//! use conaktiv_exchange::sqlite::SqliteDb;
//! use conaktiv_model::Configuration;
//! use ews_mock::{MockConfig, MockServer, OrgData};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A mock Exchange server; a real one is just a URL in the configuration.
//! let mock = MockServer::start(MockConfig::new(OrgData::from_toml(&demo_org())?)).await?;
//! let config = Configuration::from_toml_str(
//!     &format!(
//!         r#"
//! [[servers]]
//! name = "Exchange"
//! url = "{url}"
//! kind = "on_premises"
//! admin_user = "admin"
//! admin_password = "demo-admin-password"
//! auth_scheme = "ntlm"
//!
//! [[rules]]
//! description = "Kontakte"
//! table = "contacts"
//! master = "conaktiv"
//! sync_folders = [{{ path = "/Contacts", include_subfolders = true }}]
//! to_exchange = {{ transfer_new = true, transfer_changed = true }}
//! to_conaktiv = {{ transfer_new = true, transfer_changed = true }}
//! "#,
//!         url = mock.url()
//!     ),
//!     "conaktiv.toml",
//! )?;
//!
//! // The host: the embedded CRM and directory, with one user.
//! let dir = tempfile::tempdir()?;
//! let db = SqliteDb::open(dir.path().join("crm.sqlite"))?;
//! db.directory()
//!     .put_user(&DirectoryUser {
//!         name: "anna".into(),
//!         display_name: "Anna".into(),
//!         mailbox: Some("anna@demo.example".into()),
//!         active: true,
//!         ..DirectoryUser::default()
//!     })
//!     .await?;
//! let connector = Connector::from_config(
//!     config,
//!     None,
//!     CrmStores::all(db.crm()),
//!     Arc::new(db.directory()),
//!     dir.path().join("state"),
//! )?;
//!
//! // What a run would do, then the run.
//! let preview = connector.preview("Kontakte", "anna", PreviewDetail::Counts).await?;
//! println!("to ConAktiv: {}", preview.conaktiv);
//! let report = connector.run(None, None).await?;
//! println!("{report}");
//! assert_eq!(report.failed(), 0);
//! // A second run has nothing left to do.
//! assert_eq!(connector.run(None, None).await?.total_writes(), 0);
//! # mock.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! The batch ([`scheduler::Scheduler`]) runs the same jobs on an interval, with back-off and
//! leases; its [`Scheduler::run_once`](scheduler::Scheduler::run_once) gives the same
//! [`SyncReport`].
#![warn(missing_docs)]

pub mod batch_tasks;
pub mod clock;
pub mod config_directory;
pub mod crm_side;
pub mod exchange;
pub mod filter;
pub mod graph_side;
pub mod host;
pub mod linking;
pub mod mail_store;
pub mod mapping;
pub mod migrate;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rules;
pub mod scheduler;
pub mod secrets;
pub mod service;
pub mod sqlite;
pub mod state;

// What an embedding host needs, at the crate root (the modules keep their paths).
pub use host::{
    CrmRecord, CrmStore, DirectoryUser, HostError, ListQuery, MailLinkQuery, MailLinker,
    RecordMeta, SecretProvider, SecretValue, Stored, UserDirectory,
};
pub use migrate::{MigrateOptions, MigrationReport};
#[cfg(feature = "postgres")]
pub use postgres::PgDb;
pub use scheduler::{
    ItemStatus, JobError, JobErrorKind, JobReport, MailboxReport, Outcome, Scheduler,
    SchedulerOptions, SyncReport,
};
pub use service::{
    Connector, Counts, CrmStores, Preview, PreviewAction, PreviewDetail, ServiceError,
};
pub use sqlite::SqliteDb;
pub use sync_core::Reattach;
