//! Errors keep the error they came from as their `source()`, with the messages and
//! predicates unchanged.

use std::error::Error as _;

use mail_transport::{MailError, SqliteCheckpoints};

#[test]
fn a_storage_failure_keeps_the_sqlite_error_as_its_source() {
    let dir = tempfile::tempdir().unwrap();
    // a directory is not a database file: SQLite cannot open it
    let err = SqliteCheckpoints::open(dir.path()).unwrap_err();
    assert!(matches!(err, MailError::Storage { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("local storage error: "),
        "{err}"
    );
    let source = err.source().expect("the SQLite error is kept");
    let sqlite = source
        .downcast_ref::<rusqlite::Error>()
        .expect("the source is the rusqlite error");
    assert!(
        err.to_string().ends_with(&sqlite.to_string()),
        "the message still names the SQLite error: {err}"
    );
    assert!(!err.is_transient());
}

#[test]
fn a_storage_error_converted_from_rusqlite_keeps_it() {
    let err = MailError::from(rusqlite::Error::InvalidQuery);
    assert_eq!(
        err.to_string(),
        format!("local storage error: {}", rusqlite::Error::InvalidQuery)
    );
    assert!(
        err.source()
            .and_then(|s| s.downcast_ref::<rusqlite::Error>())
            .is_some_and(|e| matches!(e, rusqlite::Error::InvalidQuery)),
        "{err:?}"
    );
}

#[test]
fn errors_built_without_a_source_have_none() {
    let err = MailError::network("mail.example.test:25", "reset");
    assert_eq!(
        err.to_string(),
        "network error talking to mail.example.test:25: reset"
    );
    assert!(err.is_transient());
    assert!(err.source().is_none());
    let err = MailError::storage("lock poisoned");
    assert_eq!(err.to_string(), "local storage error: lock poisoned");
    assert!(err.source().is_none());
}
