//! `add-user` and `import`: put users, groups and CRM records into the embedded database, so
//! every direction and rule scope can be tried from the command line.
//!
//! The import file is JSON (`.json`) or, for users only, CSV (`.csv`, header
//! `name,display_name,mailbox,groups` with groups separated by `;`):
//!
//! ```json
//! {
//!   "users": [{"name": "carla", "mailbox": "carla@demo.example", "groups": ["Vertrieb"]}],
//!   "contacts": [{"owner": "anna", "record": {"name": {"given_name": "Jan", "surname": "Neu"}}}],
//!   "appointments": [{"owner": "anna", "record": {"subject": "Workshop P-2026-0042", "...": "..."}}],
//!   "tasks": [{"owner": "anna", "record": {"subject": "Anrufen"}}],
//!   "references": [{"kind": "project", "id": "proj-43", "number": "P-2026-0043", "title": "Shop"}]
//! }
//! ```
//!
//! `record` is the CRM record in its JSON form (the fields of `conaktiv-model`'s types).

use std::path::Path;

use conaktiv_exchange::host::{CrmRecord, CrmStore, DirectoryUser};
use conaktiv_exchange::sqlite::{ReferenceRecord, SqliteCrm, SqliteDb};
use conaktiv_model::{Appointment, ContactPerson, Task};
use serde::Deserialize;
use serde_json::json;

use super::{Exit, Output};

/// A user line of an import.
#[derive(Debug, Deserialize)]
pub struct UserInput {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    mailbox: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

impl UserInput {
    fn user(self) -> DirectoryUser {
        DirectoryUser {
            display_name: self.display_name.unwrap_or_else(|| self.name.clone()),
            name: self.name,
            mailbox: self.mailbox,
            groups: self.groups,
            active: self.active,
            ..DirectoryUser::default()
        }
    }
}

#[derive(Debug, Deserialize)]
struct Owned<R> {
    owner: String,
    record: R,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportFile {
    #[serde(default)]
    users: Vec<UserInput>,
    #[serde(default)]
    contacts: Vec<Owned<ContactPerson>>,
    #[serde(default)]
    appointments: Vec<Owned<Appointment>>,
    #[serde(default)]
    tasks: Vec<Owned<Task>>,
    #[serde(default)]
    references: Vec<ReferenceRecord>,
}

/// The database `add-user` and `import` fill: the embedded SQLite file, or the PostgreSQL
/// database of the configuration's `[state] url`.
pub enum Target {
    /// `--db`.
    Sqlite(SqliteDb),
    /// `[state] url = "postgres://…"`.
    #[cfg(feature = "postgres")]
    Postgres(conaktiv_exchange::postgres::PgDb),
}

impl Target {
    /// The database of `config`'s `[state]` section (when given), or else `db`; opened as
    /// `batch` opens it.
    pub async fn open(
        config: Option<&conaktiv_model::Configuration>,
        db: &Path,
    ) -> Result<Self, Output> {
        use conaktiv_model::config::StateLocation;
        match (super::backend::state_location(config)?, config) {
            #[cfg(feature = "postgres")]
            (StateLocation::Postgres(_), Some(config)) => super::backend::open_postgres(config)
                .await
                .map(Target::Postgres),
            #[cfg(not(feature = "postgres"))]
            (StateLocation::Postgres(_), Some(config)) => {
                match super::backend::open_postgres(config).await? {}
            }
            _ => super::backend::open_sqlite(db).map(Target::Sqlite),
        }
    }

    async fn put_user(&self, user: &DirectoryUser) -> Result<(), Output> {
        match self {
            Target::Sqlite(db) => db.directory().put_user(user).await,
            #[cfg(feature = "postgres")]
            Target::Postgres(db) => db.directory().put_user(user).await,
        }
        .map_err(db_error)
    }

    async fn add_reference(&self, r: ReferenceRecord) -> Result<(), Output> {
        match self {
            Target::Sqlite(db) => db.add_reference(r).await,
            #[cfg(feature = "postgres")]
            Target::Postgres(db) => db.add_reference(r).await,
        }
        .map_err(db_error)
    }

    async fn create_all<R: CrmRecord>(&self, rows: Vec<Owned<R>>) -> Result<usize, Output>
    where
        SqliteCrm: CrmStore<R>,
    {
        match self {
            Target::Sqlite(db) => create_all(&db.crm(), rows).await,
            #[cfg(feature = "postgres")]
            Target::Postgres(db) => create_all(&db.crm(), rows).await,
        }
    }
}

fn db_error(e: impl std::fmt::Display) -> Output {
    Output::error(Exit::Failure, "database", e.to_string())
}

/// `add-user`: adds or replaces a user of the embedded directory.
pub async fn add_user(db: &Target, user: UserInput) -> Output {
    let user = user.user();
    if let Err(o) = db.put_user(&user).await {
        return o;
    }
    Output::new(
        Exit::Success,
        json!({"ok": true, "user": user}),
        format!(
            "user {} <{}> in group(s) {}",
            user.name,
            user.mailbox.as_deref().unwrap_or("no mailbox"),
            if user.groups.is_empty() {
                "none".to_owned()
            } else {
                user.groups.join(", ")
            }
        ),
    )
}

/// Builds a user from `add-user`'s arguments.
pub fn user_input(
    name: String,
    display_name: Option<String>,
    mailbox: Option<String>,
    groups: Vec<String>,
) -> UserInput {
    UserInput {
        name,
        display_name,
        mailbox,
        groups,
        active: true,
    }
}

fn read(file: &Path) -> Result<ImportFile, Output> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Output::error(Exit::Failure, "import", format!("{}: {e}", file.display())))?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        let mut users = Vec::new();
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_lowercase())
            .collect();
        for (n, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let get = |name: &str| {
                header
                    .iter()
                    .position(|h| h == name)
                    .and_then(|i| cells.get(i))
                    .map(|s| s.to_string())
                    .filter(|s| !s.is_empty())
            };
            let Some(name) = get("name") else {
                return Err(Output::error(
                    Exit::Config,
                    "import",
                    format!("{} line {}: no name", file.display(), n + 2),
                ));
            };
            users.push(UserInput {
                name,
                display_name: get("display_name"),
                mailbox: get("mailbox"),
                groups: get("groups")
                    .map(|g| g.split(';').map(|s| s.trim().to_owned()).collect())
                    .unwrap_or_default(),
                active: true,
            });
        }
        return Ok(ImportFile {
            users,
            ..ImportFile::default()
        });
    }
    serde_json::from_str(&text)
        .map_err(|e| Output::error(Exit::Config, "import", format!("{}: {e}", file.display())))
}

async fn create_all<R: CrmRecord, S: CrmStore<R>>(
    crm: &S,
    rows: Vec<Owned<R>>,
) -> Result<usize, Output> {
    let n = rows.len();
    for row in rows {
        crm.create(Some(&row.owner), &row.record, None)
            .await
            .map_err(db_error)?;
    }
    Ok(n)
}

/// `import`: users (with groups), contacts, appointments, tasks and projects / offers /
/// invoices from a JSON file (users also from CSV) into the embedded database.
pub async fn import(db: &Target, file: &Path) -> Output {
    let data = match read(file) {
        Ok(d) => d,
        Err(o) => return o,
    };
    let users = data.users.len();
    for u in data.users {
        if let Err(o) = db.put_user(&u.user()).await {
            return o;
        }
    }
    let references = data.references.len();
    for r in data.references {
        if let Err(o) = db.add_reference(r).await {
            return o;
        }
    }
    let counts = async {
        Ok::<_, Output>((
            db.create_all(data.contacts).await?,
            db.create_all(data.appointments).await?,
            db.create_all(data.tasks).await?,
        ))
    }
    .await;
    let (contacts, appointments, tasks) = match counts {
        Ok(c) => c,
        Err(o) => return o,
    };
    Output::new(
        Exit::Success,
        json!({"ok": true, "users": users, "contacts": contacts, "appointments": appointments,
               "tasks": tasks, "references": references}),
        format!(
            "imported {users} user(s), {contacts} contact(s), {appointments} appointment(s), {tasks} task(s), {references} project/offer/invoice number(s)"
        ),
    )
}
