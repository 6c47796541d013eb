//! The mock's typed errors (configuration, start-up, I/O).

use std::path::PathBuf;

/// An error of the mock server's library API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The organisation data (TOML data file, state file or seed) is invalid.
    #[error("invalid organisation data: {0}")]
    InvalidData(String),
    /// A data or state file could not be parsed.
    #[error("cannot parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot access {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key is invalid.
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
    /// An open (token-less) admin endpoint was asked for on an address that is not loopback.
    #[error("the admin endpoint may be served without a token only on a loopback address, not {0}")]
    AdminOpenNotLoopback(String),
    /// A mailbox, folder or item named in a library call does not exist.
    #[error("not found: {0}")]
    NotFound(String),
}

impl MockError {
    /// Whether retrying the same call could succeed (never, for the mock's own errors, except
    /// a busy port).
    pub fn is_transient(&self) -> bool {
        matches!(self, MockError::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse)
    }
}
