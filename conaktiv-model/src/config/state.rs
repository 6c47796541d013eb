//! `[state]`: where the sync state, the scheduler's leases and (for the CLI's embedded CRM)
//! the CRM records live.
//!
//! ```toml
//! [state]
//! url = "postgres://conaktiv@db.example.com:5432/conaktiv?sslmode=disable"
//! password = "…"   # a secret (`state.password`): never in the URL
//! ```
//!
//! Without a `[state]` section, or with `url = "sqlite:"`, the state is in SQLite files in the
//! state folder (one process, or several on one machine's disk); `sqlite:/path/to/folder`
//! names the folder. With a `postgres://` (or `postgresql://`) URL every worker that uses
//! the same database shares the state, the leases and the CRM store.

use serde::{Deserialize, Serialize};

use crate::Secret;

/// The `[state]` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateSettings {
    /// `sqlite:` (the default: the state folder), `sqlite:<folder>`, or a
    /// `postgres://user@host:port/database?options` URL without a password.
    pub url: String,
    /// The PostgreSQL password (a secret; empty: none, e.g. for peer or trust auth).
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    /// How many database connections each worker keeps at most (PostgreSQL; default 16).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
}

/// Where the state lives, as the `[state] url` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateLocation {
    /// SQLite files in a folder (`None`: the command line's state folder).
    Sqlite(Option<std::path::PathBuf>),
    /// A PostgreSQL database (the URL, without password).
    Postgres(String),
}

impl StateSettings {
    /// The location the URL names, or why it names none.
    pub fn location(&self) -> Result<StateLocation, &'static str> {
        let url = self.url.trim();
        if url.is_empty() || url == "sqlite:" {
            return Ok(StateLocation::Sqlite(None));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            return Ok(StateLocation::Sqlite(Some(path.into())));
        }
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let authority = url
                .split_once("://")
                .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or_default())
                .unwrap_or_default();
            let userinfo = authority
                .rsplit_once('@')
                .map(|(u, _)| u)
                .unwrap_or_default();
            if userinfo.contains(':') {
                return Err(
                    "the URL must not carry the password: put it in [state] password (a secret)",
                );
            }
            if url.to_ascii_lowercase().contains("password=") {
                return Err(
                    "the URL must not carry the password: put it in [state] password (a secret)",
                );
            }
            return Ok(StateLocation::Postgres(url.to_owned()));
        }
        Err("the state URL must start with sqlite: or postgres://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str) -> Result<StateLocation, &'static str> {
        StateSettings {
            url: url.into(),
            ..StateSettings::default()
        }
        .location()
    }

    #[test]
    fn urls() {
        assert_eq!(at(""), Ok(StateLocation::Sqlite(None)));
        assert_eq!(at("sqlite:"), Ok(StateLocation::Sqlite(None)));
        assert_eq!(
            at("sqlite:/var/lib/x"),
            Ok(StateLocation::Sqlite(Some("/var/lib/x".into())))
        );
        assert_eq!(
            at("postgres://u@h:5432/db"),
            Ok(StateLocation::Postgres("postgres://u@h:5432/db".into()))
        );
        assert!(at("postgres://u:pw@h/db").is_err());
        assert!(at("postgres://u@h/db?password=x").is_err());
        assert!(at("mysql://u@h/db").is_err());
    }
}
