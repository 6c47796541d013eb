//! Error types of mail-transport.

use std::error::Error as StdError;

/// The source of a [`MailError`] that keeps the error it came from (an I/O, TLS, SMTP, IMAP,
/// EWS, Graph or SQLite error), reachable through [`std::error::Error::source`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong while sending or receiving mail.
///
/// Messages never contain passwords or tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The account settings are invalid (empty host, port 0, ...).
    #[error("invalid mail settings: {0}")]
    Config(String),
    /// The host name could not be resolved.
    #[error("cannot resolve host {host}: {message}")]
    Resolve {
        /// Host name.
        host: String,
        /// Resolver message.
        message: String,
    },
    /// Nothing listens on the port (connection refused): the port is closed.
    #[error(
        "connection to {host}:{port} refused: the port is closed or no mail server listens there"
    )]
    ConnectionRefused {
        /// Host.
        host: String,
        /// Port.
        port: u16,
    },
    /// Another network error (reset, unreachable, dropped connection).
    ///
    /// Build one without a source with [`MailError::network`].
    #[error("network error talking to {server}: {message}")]
    Network {
        /// `host:port`.
        server: String,
        /// Description.
        message: String,
        /// The error it came from (an I/O, SMTP, EWS or Graph error), if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The operation did not finish in time.
    #[error("timeout while {0}")]
    Timeout(String),
    /// The server certificate was not accepted (unknown issuer, wrong name, expired).
    #[error("certificate problem: {0}")]
    Certificate(String),
    /// TLS failed for another reason than the certificate.
    #[error("TLS error: {0}")]
    Tls(String),
    /// STARTTLS was required by the settings but the server does not offer it.
    #[error("the server {0} does not offer STARTTLS, but the account requires it")]
    StartTlsMissing(String),
    /// The server rejected the credentials (wrong user name, password or token).
    #[error("authentication failed (wrong user name, password or token): {0}")]
    AuthenticationFailed(String),
    /// The server does not offer the configured authentication mechanism.
    #[error("the server does not offer the authentication mechanism {0}")]
    AuthMechanismUnsupported(String),
    /// The SMTP server rejected the message or a recipient.
    #[error("the server rejected the message ({code}): {message}")]
    Rejected {
        /// SMTP reply code.
        code: u16,
        /// Server message.
        message: String,
        /// A 4xx reply: trying again later may succeed.
        transient: bool,
    },
    /// An IMAP folder does not exist.
    #[error("folder {0:?} not found on the server")]
    FolderNotFound(String),
    /// The server answered something unexpected.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The local state database (queue, checkpoints, dedup) failed.
    ///
    /// Build one without a source with [`MailError::storage`]; a [`rusqlite::Error`] converts
    /// into one that keeps it as its source.
    #[error("local storage error: {message}")]
    Storage {
        /// Description.
        message: String,
        /// The error it came from (a [`rusqlite::Error`] for the SQLite stores), if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The host's sink failed to store a received message (nothing was acknowledged).
    #[error("the host could not store a received message: {0}")]
    Sink(#[from] crate::sink::SinkError),
    /// A message could not be built.
    #[error("cannot build message: {0}")]
    Build(String),
}

impl MailError {
    /// A [`MailError::Network`] error talking to `server` without a source error.
    pub fn network(server: impl Into<String>, message: impl Into<String>) -> Self {
        MailError::Network {
            server: server.into(),
            message: message.into(),
            source: None,
        }
    }

    /// A [`MailError::Storage`] error without a source error (e.g. a host's own
    /// [`CheckpointStore`](crate::CheckpointStore) that failed).
    pub fn storage(message: impl Into<String>) -> Self {
        MailError::Storage {
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `source` as the source of a [`Network`](MailError::Network) or
    /// [`Storage`](MailError::Storage) error that has none yet; other errors are returned
    /// unchanged.
    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        if let MailError::Network { source: s, .. } | MailError::Storage { source: s, .. } =
            &mut self
            && s.is_none()
        {
            *s = Some(source.into());
        }
        self
    }

    /// Whether trying again later may succeed (network trouble, timeouts, 4xx replies).
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Network { .. }
            | MailError::Timeout(_)
            | MailError::ConnectionRefused { .. } => true,
            MailError::Rejected { transient, .. } => *transient,
            MailError::Sink(e) => e.is_transient(),
            _ => false,
        }
    }

    /// Whether the error is a rejected login.
    pub fn is_auth(&self) -> bool {
        matches!(self, MailError::AuthenticationFailed(_))
    }

    /// Whether the error is a certificate verification failure.
    pub fn is_certificate(&self) -> bool {
        matches!(self, MailError::Certificate(_))
    }
}

impl From<rusqlite::Error> for MailError {
    fn from(e: rusqlite::Error) -> Self {
        MailError::Storage {
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

/// Finds a rustls error or an io error in an error's source chain.
pub(crate) fn classify_chain(
    err: &(dyn StdError + 'static),
    server: &str,
    host: &str,
    port: u16,
) -> Option<MailError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(classify_rustls(tls, host));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref()
                && let Some(tls) = inner.downcast_ref::<rustls::Error>()
            {
                return Some(classify_rustls(tls, host));
            }
            return Some(classify_io_ref(io, server, host, port));
        }
        cur = e.source();
    }
    None
}

pub(crate) fn classify_rustls(e: &rustls::Error, host: &str) -> MailError {
    use rustls::CertificateError;
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let (cause, names) = match c {
                CertificateError::Other(rustls::OtherError(other)) => {
                    match other.downcast_ref::<crate::tls::Refused>() {
                        Some(refused) => (&refused.cause, refused.names.as_ref()),
                        None => (c, None),
                    }
                }
                _ => (c, None),
            };
            let about = names.map(|n| format!(" ({n})")).unwrap_or_default();
            MailError::Certificate(match cause {
                CertificateError::UnknownIssuer => format!(
                    "the certificate of {host}{about} is not issued by a trusted CA; if the mail \
                     server uses a certificate of the organisation's own CA, set \
                     trusted_ca_file in the mail account to that CA's PEM file"
                ),
                other => format!("the certificate of {host}{about} was refused: {other}"),
            })
        }
        rustls::Error::NoCertificatesPresented => {
            MailError::Certificate(format!("the server {host} presented no certificate"))
        }
        other => MailError::Tls(other.to_string()),
    }
}

/// Maps an io error and keeps it as the source of a [`MailError::Network`].
pub(crate) fn classify_io(io: std::io::Error, server: &str, host: &str, port: u16) -> MailError {
    let mapped = classify_io_ref(&io, server, host, port);
    mapped.with_source(io)
}

/// Maps a borrowed io error (the caller attaches the error that owns it as the source).
fn classify_io_ref(io: &std::io::Error, server: &str, host: &str, port: u16) -> MailError {
    use std::io::ErrorKind;
    if let Some(inner) = io.get_ref()
        && let Some(tls) = inner.downcast_ref::<rustls::Error>()
    {
        return classify_rustls(tls, host);
    }
    match io.kind() {
        ErrorKind::ConnectionRefused => MailError::ConnectionRefused {
            host: host.to_string(),
            port,
        },
        ErrorKind::TimedOut => MailError::Timeout(format!("talking to {server}")),
        _ => MailError::network(server, io.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_error_keeps_the_io_error_as_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let err = classify_io(io, "mail.example.test:993", "mail.example.test", 993);
        assert!(matches!(err, MailError::Network { .. }), "{err:?}");
        assert!(err.is_transient());
        assert_eq!(
            err.to_string(),
            "network error talking to mail.example.test:993: reset by peer"
        );
        let source = err.source().expect("the io error is kept");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io error");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
    }

    #[test]
    fn with_source_keeps_the_first_source_and_leaves_other_errors_alone() {
        let first = std::io::Error::other("first");
        let err = MailError::network("s", "m")
            .with_source(first)
            .with_source(std::io::Error::other("second"));
        assert_eq!(
            err.source().map(|s| s.to_string()).as_deref(),
            Some("first")
        );
        let err = MailError::Timeout("x".into()).with_source(std::io::Error::other("y"));
        assert!(err.source().is_none());
    }
}
