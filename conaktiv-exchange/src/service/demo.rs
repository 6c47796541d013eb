//! The self-contained demo: ews-mock in-process with a seeded organisation, an SQLite CRM in
//! a temporary folder, preview, sync, and a second run that does nothing.

use std::fmt::Write as _;
use std::sync::Arc;

use conaktiv_model::contact::PersonName;
use conaktiv_model::values::Port;
use conaktiv_model::{Configuration, ContactPerson, Task};
use ews_mock::{MockConfig, MockServer, OrgData};
use serde::Serialize;

use super::{Connector, CrmStores, Preview, RunSummary, ServiceError};
use crate::host::{CrmStore, DirectoryUser};
use crate::sqlite::SqliteDb;

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
    let mut org = String::from(
        r#"
[settings]
domain = "demo.example"

[[users]]
address = "admin@demo.example"
display_name = "CRM service account"
password = "demo-admin-password"
roles = ["ApplicationImpersonation"]
"#,
    );
    for (i, (name, mailbox)) in DEMO_USERS.iter().enumerate() {
        let _ = write!(
            org,
            r#"
[[users]]
address = "{mailbox}"
display_name = "{name}"
password = "{name}-pw"

[[mailboxes]]
owner = "{mailbox}"
items = [
  {{ folder = "contacts", subject = "Erika Muster {i}", fields = {{ GivenName = "Erika", Surname = "Muster {i}", CompanyName = "Muster GmbH" }} }},
  {{ folder = "contacts", subject = "Max Beispiel {i}", fields = {{ GivenName = "Max", Surname = "Beispiel {i}" }} }},
  {{ folder = "calendar", subject = "Kundentermin {i}", fields = {{ Start = "2026-12-0{d}T09:00:00Z", End = "2026-12-0{d}T10:00:00Z", Location = "Berlin" }} }},
  {{ folder = "tasks", subject = "Angebot nachfassen {i}" }},
  {{ folder = "inbox", subject = "Anfrage {i}", fields = {{ Body = "Bitte um ein Angebot." }} }},
]
"#,
            d = i + 1
        );
    }
    org
}

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
    pub first_run: RunSummary,
    /// The second run (writes nothing).
    pub second_run: RunSummary,
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
                "  {:<22} {:<12} rule {:<10} Exchange: {}; ConAktiv: {}",
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
                match &item.result {
                    Ok(r) => {
                        let _ = writeln!(
                            out,
                            "  {:<22} {:<12} to Exchange {}, to ConAktiv {}{}",
                            item.job.mailbox,
                            crate::rules::table_name(item.job.table),
                            r.report.to_exchange.total(),
                            r.report.to_conaktiv.total(),
                            if r.complete { "" } else { " (incomplete)" }
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(
                            out,
                            "  {:<22} {:<12} FAILED: {e}",
                            item.job.mailbox,
                            crate::rules::table_name(item.job.table)
                        );
                    }
                }
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
        previews.push(connector.preview(&job.rule, &job.user, true).await?);
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
