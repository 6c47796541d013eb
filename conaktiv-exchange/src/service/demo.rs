//! The self-contained demo: ews-mock in-process with a seeded organisation, an SQLite CRM in
//! a temporary folder, preview, sync, and a second run that does nothing.

use std::fmt::Write as _;
use std::sync::Arc;

use conaktiv_model::contact::PersonName;
use conaktiv_model::values::Port;
use conaktiv_model::{Configuration, ContactPerson, Task};
use ews_mock::{MockConfig, MockServer, OrgData};
use serde::Serialize;

use super::{Connector, CrmStores, Preview, ServiceError};
use crate::host::{CrmStore, DirectoryUser};
use crate::scheduler::SyncReport;
use crate::sqlite::{ReferenceKind, ReferenceRecord, SqliteDb};

/// The EWS server of the demo configuration the demo uses.
pub const DEMO_SERVER: &str = "Mock Exchange";

/// The users of the demo organisation (name, mailbox).
pub const DEMO_USERS: [(&str, &str); 3] = [
    ("demo", "demo@demo.example"),
    ("anna", "anna@demo.example"),
    ("ben", "ben@demo.example"),
];

/// The seeded organisation: a service account `admin` with ApplicationImpersonation and the
/// [`DEMO_USERS`] with some contacts, appointments, tasks and mail.
pub fn demo_org() -> String {
    DEMO_ORG.to_owned()
}

/// The demo organisation's data file (`config/demo-org.toml`, the format of `mock --data`).
pub const DEMO_ORG: &str = include_str!("../../../config/demo-org.toml");

/// What the demo did.
#[derive(Clone, Debug, Serialize)]
pub struct DemoResult {
    /// The mock server's EWS URL (gone once the demo returned).
    pub mock_url: String,
    /// The users synchronised.
    pub users: Vec<String>,
    /// The preview of every job before the first run.
    pub previews: Vec<Preview>,
    /// The first run.
    pub first_run: SyncReport,
    /// The second run (writes nothing).
    pub second_run: SyncReport,
}

impl DemoResult {
    /// Whether the first run succeeded everywhere and the second wrote nothing.
    pub fn ok(&self) -> bool {
        self.first_run.failed() == 0
            && self.second_run.failed() == 0
            && self.second_run.total_writes() == 0
    }

    /// The human report.
    pub fn text(&self) -> String {
        let mut out = format!("mock Exchange at {}\n\npreview:\n", self.mock_url);
        for p in &self.previews {
            let _ = writeln!(
                out,
                "  {:<22} {:<12} rule {:<10} Exchange: {:#}; ConAktiv: {:#}",
                p.mailbox, p.table, p.rule, p.exchange, p.conaktiv
            );
        }
        for (title, run) in [
            ("first run", &self.first_run),
            ("second run", &self.second_run),
        ] {
            let _ = writeln!(
                out,
                "\n{title}: {} jobs ok, {} failed, {} writes",
                run.succeeded(),
                run.failed(),
                run.total_writes()
            );
            for item in &run.items {
                let _ = writeln!(out, "  {item}");
            }
        }
        let _ = write!(
            out,
            "\n{}",
            if self.ok() {
                "the second run changed nothing"
            } else {
                "the demo did not converge"
            }
        );
        out
    }
}

/// Seeds an embedded database with the demo's CRM: the [`DEMO_USERS`] in the directory, a
/// contact person and a task per user, and the project `P-2026-0042` (with an offer
/// `AN-2026-0007`) that the linker finds in subjects.
pub async fn seed_crm(db: &SqliteDb) -> Result<(), ServiceError> {
    let directory = db.directory();
    for (name, mailbox) in DEMO_USERS {
        directory
            .put_user(&DirectoryUser {
                name: name.to_owned(),
                display_name: name.to_owned(),
                mailbox: Some(mailbox.to_owned()),
                active: true,
                ..DirectoryUser::default()
            })
            .await?;
    }
    let crm = db.crm();
    for (name, _) in DEMO_USERS {
        let contact = ContactPerson {
            name: PersonName {
                given_name: "Clara".into(),
                surname: format!("Kunde ({name})"),
                ..PersonName::default()
            },
            company: "ConAktiv Kunde AG".into(),
            ..ContactPerson::default()
        };
        CrmStore::<ContactPerson>::create(&crm, Some(name), &contact, None).await?;
        let task = Task {
            subject: format!("Rückruf für {name}"),
            ..Task::default()
        };
        CrmStore::<Task>::create(&crm, Some(name), &task, None).await?;
    }
    for (kind, id, number, title) in [
        (
            ReferenceKind::Project,
            "proj-42",
            "P-2026-0042",
            "Relaunch Website",
        ),
        (
            ReferenceKind::Offer,
            "offer-7",
            "AN-2026-0007",
            "Angebot Relaunch",
        ),
    ] {
        db.add_reference(ReferenceRecord {
            kind,
            id: id.into(),
            number: number.into(),
            title: title.into(),
            customer: Some("cust-1".into()),
            project: (kind != ReferenceKind::Project).then(|| "proj-42".to_owned()),
        })
        .await?;
    }
    Ok(())
}

/// Writes a working setup into `dir` for the commands after the demo: `org.toml` (the demo
/// organisation, for `mock --data`), `conaktiv.toml` (`config` with its loopback servers on
/// `port`) and `conaktiv.sqlite` (the demo's CRM and directory, not yet synchronised).
/// Returns the commands to run next.
pub async fn keep(
    config: &Configuration,
    dir: &std::path::Path,
    port: u16,
) -> Result<Vec<String>, ServiceError> {
    crate::sqlite::create_private_dir(dir).map_err(demo_err)?;
    let org = dir.join("org.toml");
    std::fs::write(&org, demo_org()).map_err(demo_err)?;
    let config = config.with_loopback_port(Port::new(port).map_err(demo_err)?);
    let config_path = dir.join("conaktiv.toml");
    let text = config.to_toml_string().map_err(demo_err)?;
    std::fs::write(&config_path, text).map_err(demo_err)?;
    let db_path = dir.join("conaktiv.sqlite");
    if db_path.exists() {
        return Err(demo_err(format!(
            "{} exists already; keep the demo in an empty folder",
            db_path.display()
        )));
    }
    let db = SqliteDb::open(&db_path).map_err(demo_err)?;
    seed_crm(&db).await?;
    let (c, d) = (config_path.display(), db_path.display());
    Ok(vec![
        format!(
            "conaktiv-exchange mock --listen 127.0.0.1:{port} --data {}",
            org.display()
        ),
        format!("conaktiv-exchange --config {c} preview --db {d}"),
        format!("conaktiv-exchange --config {c} sync --db {d}"),
        format!("conaktiv-exchange --config {c} batch --db {d}"),
    ])
}

fn demo_err(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Demo(e.to_string())
}

/// Runs the demo with a configuration whose servers point at the loopback interface
/// (`config/demo.toml`: the port is replaced with the mock's).
pub async fn demo(config: &Configuration) -> Result<DemoResult, ServiceError> {
    let org = OrgData::from_toml(&demo_org()).map_err(demo_err)?;
    let mock = MockServer::start(MockConfig::new(org))
        .await
        .map_err(demo_err)?;
    let result = run_demo(config, &mock).await;
    let _ = mock.shutdown().await;
    result
}

async fn run_demo(
    config: &Configuration,
    mock: &ews_mock::MockHandle,
) -> Result<DemoResult, ServiceError> {
    let port = Port::new(mock.addr().port()).map_err(demo_err)?;
    let config = config.with_loopback_port(port);
    let dir = tempfile::tempdir().map_err(demo_err)?;
    let db = SqliteDb::open(dir.path().join("crm.sqlite")).map_err(demo_err)?;
    seed_crm(&db).await?;
    let directory = db.directory();
    let crm = db.crm();
    let connector = Connector::from_config(
        config,
        Some(DEMO_SERVER),
        CrmStores::all(crm).linked(Arc::new(db.linker())),
        Arc::new(directory),
        dir.path().join("state"),
    )?;
    let (jobs, _) = connector.jobs(None, None).await?;
    let mut previews = Vec::new();
    for job in &jobs {
        previews.push(
            connector
                .preview(&job.rule, &job.user, super::PreviewDetail::WithActions)
                .await?,
        );
    }
    let first_run = connector.run(None, None).await?;
    let second_run = connector.run(None, None).await?;
    Ok(DemoResult {
        mock_url: mock.url(),
        users: DEMO_USERS.iter().map(|(n, _)| (*n).to_owned()).collect(),
        previews,
        first_run,
        second_run,
    })
}
