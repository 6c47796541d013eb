//! IMAP connections (async-imap over tokio-rustls): IMAPS, STARTTLS, plain; LOGIN,
//! AUTHENTICATE PLAIN and XOAUTH2; folder discovery; appending to the sent folder.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::imap_proto::{self, Response, Status};
use async_imap::types::NameAttribute;
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::{MailError, classify_io};
use crate::settings::{AuthMechanism, ServerSettings, TlsMode};

/// A plain or TLS connection.
#[derive(Debug)]
pub enum MailStream {
    /// Unencrypted TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An authenticated IMAP session.
pub type ImapSession = async_imap::Session<MailStream>;
pub(crate) type ImapClient = async_imap::Client<MailStream>;

/// Runs `fut` with a timeout; a timeout becomes [`MailError::Timeout`].
pub(crate) async fn timed<T>(
    dur: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, MailError>>,
) -> Result<T, MailError> {
    match tokio::time::timeout(dur, fut).await {
        Ok(r) => r,
        Err(_) => Err(MailError::Timeout(what.to_string())),
    }
}

/// Maps an async-imap error.
pub(crate) fn imap_err(e: async_imap::error::Error, s: &ServerSettings) -> MailError {
    use async_imap::error::Error as E;
    match e {
        E::Io(io) => classify_io(io, &s.server(), s.host(), s.port()),
        lost @ E::ConnectionLost => {
            MailError::network(s.server(), "connection lost").with_source(lost)
        }
        E::No(m) => MailError::Protocol(format!("server said NO: {m}")),
        E::Bad(m) => MailError::Protocol(format!("server said BAD: {m}")),
        other => MailError::Protocol(other.to_string()),
    }
}

/// Resolves the server's host name.
pub(crate) async fn resolve(s: &ServerSettings) -> Result<Vec<SocketAddr>, MailError> {
    let fut = async {
        tokio::net::lookup_host((s.host(), s.port()))
            .await
            .map(|a| a.collect::<Vec<_>>())
            .map_err(|e| MailError::Resolve {
                host: s.host().to_string(),
                message: e.to_string(),
            })
    };
    let addrs = timed(s.connect_timeout(), "resolving the host name", fut).await?;
    if addrs.is_empty() {
        return Err(MailError::Resolve {
            host: s.host().to_string(),
            message: "no address".into(),
        });
    }
    Ok(addrs)
}

/// Opens a TCP connection to the first address that answers.
pub(crate) async fn tcp_connect(
    s: &ServerSettings,
    addrs: &[SocketAddr],
) -> Result<TcpStream, MailError> {
    let mut last = MailError::Resolve {
        host: s.host().to_string(),
        message: "no address".into(),
    };
    for addr in addrs {
        let fut = async {
            TcpStream::connect(addr)
                .await
                .map_err(|e| classify_io(e, &s.server(), s.host(), s.port()))
        };
        match timed(
            s.connect_timeout(),
            &format!("connecting to {}", s.server()),
            fut,
        )
        .await
        {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// TLS handshake over a TCP connection, verifying the certificate.
pub(crate) async fn tls_handshake(
    s: &ServerSettings,
    tcp: TcpStream,
) -> Result<MailStream, MailError> {
    let config = crate::tls::client_config(s)?;
    let name = crate::tls::server_name(s)?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let fut = async {
        connector
            .connect(name, tcp)
            .await
            .map_err(|e| classify_io(e, &s.server(), s.host(), s.port()))
    };
    let tls = timed(s.connect_timeout(), "TLS handshake", fut).await?;
    Ok(MailStream::Tls(Box::new(tls)))
}

/// A connected, greeted, (if configured) encrypted IMAP client before login.
pub(crate) struct Greeted {
    pub(crate) client: ImapClient,
    pub(crate) capabilities: Vec<String>,
    pub(crate) encrypted: bool,
}

async fn read_greeting(client: &mut ImapClient, s: &ServerSettings) -> Result<(), MailError> {
    let fut = async {
        let resp = client
            .read_response()
            .await
            .map_err(|e| classify_io(e, &s.server(), s.host(), s.port()))?
            .ok_or_else(|| {
                MailError::network(s.server(), "connection closed before the greeting")
            })?;
        match resp.parsed() {
            Response::Data {
                status: Status::Ok | Status::PreAuth,
                ..
            } => Ok(()),
            other => Err(MailError::Protocol(format!(
                "unexpected IMAP greeting: {other:?}"
            ))),
        }
    };
    timed(s.command_timeout(), "waiting for the IMAP greeting", fut).await
}

/// Asks for CAPABILITY before login. async-imap's `Client` has no public way to run a
/// command and read its untagged data, so the (flushed) stream gets the command directly and
/// the responses are read through the client's parser.
async fn client_capabilities(
    client: &mut ImapClient,
    s: &ServerSettings,
) -> Result<Vec<String>, MailError> {
    const TAG: &str = "MTCAP";
    let io_err = |e: std::io::Error| classify_io(e, &s.server(), s.host(), s.port());
    let fut = async {
        {
            use tokio::io::AsyncWriteExt;
            let stream = client.get_mut();
            stream
                .write_all(format!("{TAG} CAPABILITY\r\n").as_bytes())
                .await
                .map_err(io_err)?;
            stream.flush().await.map_err(io_err)?;
        }
        let mut caps = Vec::new();
        loop {
            let resp = client
                .read_response()
                .await
                .map_err(io_err)?
                .ok_or_else(|| MailError::network(s.server(), "connection closed"))?;
            match resp.parsed() {
                Response::Capabilities(list) => {
                    for c in list {
                        caps.push(match c {
                            imap_proto::Capability::Imap4rev1 => "IMAP4REV1".to_string(),
                            imap_proto::Capability::Auth(a) => format!("AUTH={}", a.to_uppercase()),
                            imap_proto::Capability::Atom(a) => a.to_uppercase(),
                        });
                    }
                }
                Response::Done {
                    tag,
                    status,
                    outcome,
                } if tag.0 == TAG => {
                    if *status == Status::Ok {
                        return Ok(caps);
                    }
                    return Err(MailError::Protocol(format!(
                        "CAPABILITY failed: {}",
                        outcome.information.as_deref().unwrap_or("")
                    )));
                }
                _ => {}
            }
        }
    };
    timed(s.command_timeout(), "asking for capabilities", fut).await
}

/// Greeting, STARTTLS or implicit TLS, capabilities.
pub(crate) async fn establish(s: &ServerSettings, tcp: TcpStream) -> Result<Greeted, MailError> {
    match s.tls() {
        TlsMode::Implicit => {
            let stream = tls_handshake(s, tcp).await?;
            let mut client = async_imap::Client::new(stream);
            read_greeting(&mut client, s).await?;
            let capabilities = client_capabilities(&mut client, s).await?;
            Ok(Greeted {
                client,
                capabilities,
                encrypted: true,
            })
        }
        TlsMode::StartTls => {
            let mut client = async_imap::Client::new(MailStream::Plain(tcp));
            read_greeting(&mut client, s).await?;
            let caps = client_capabilities(&mut client, s).await?;
            if !caps.iter().any(|c| c == "STARTTLS") {
                return Err(MailError::StartTlsMissing(s.server()));
            }
            timed(s.command_timeout(), "STARTTLS", async {
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| imap_err(e, s))
            })
            .await?;
            let MailStream::Plain(tcp) = client.into_inner() else {
                return Err(MailError::Protocol("unexpected stream state".into()));
            };
            let stream = tls_handshake(s, tcp).await?;
            let mut client = async_imap::Client::new(stream);
            let capabilities = client_capabilities(&mut client, s).await?;
            Ok(Greeted {
                client,
                capabilities,
                encrypted: true,
            })
        }
        TlsMode::None => {
            let mut client = async_imap::Client::new(MailStream::Plain(tcp));
            read_greeting(&mut client, s).await?;
            let capabilities = client_capabilities(&mut client, s).await?;
            Ok(Greeted {
                client,
                capabilities,
                encrypted: false,
            })
        }
    }
}

struct SaslOnce(Option<Vec<u8>>);

impl async_imap::Authenticator for SaslOnce {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        // The first challenge gets the credentials; an error challenge gets an empty answer,
        // after which the server sends its NO.
        self.0.take().unwrap_or_default()
    }
}

/// Logs in with the configured mechanism.
pub(crate) async fn login(g: Greeted, s: &ServerSettings) -> Result<ImapSession, MailError> {
    let creds = s.credentials();
    let mech = s.auth();
    // (SASL mechanism, initial response) or None for the LOGIN command
    let sasl = match mech {
        AuthMechanism::Login => None,
        AuthMechanism::Plain => Some((
            "PLAIN",
            format!("\0{}\0{}", creds.username, creds.secret.expose()).into_bytes(),
        )),
        AuthMechanism::XOAuth2 => {
            if !g.capabilities.iter().any(|c| c == "AUTH=XOAUTH2") {
                return Err(MailError::AuthMechanismUnsupported(mech.to_string()));
            }
            Some((
                "XOAUTH2",
                format!(
                    "user={}\x01auth=Bearer {}\x01\x01",
                    creds.username,
                    creds.secret.expose()
                )
                .into_bytes(),
            ))
        }
        AuthMechanism::None => {
            return Err(MailError::AuthMechanismUnsupported(
                "none (IMAP always needs a login)".into(),
            ));
        }
    };
    let fut = async {
        let result = match sasl {
            None => g.client.login(&creds.username, creds.secret.expose()).await,
            Some((name, msg)) => g.client.authenticate(name, SaslOnce(Some(msg))).await,
        };
        result.map_err(|(e, _client)| match e {
            async_imap::error::Error::No(m) => MailError::AuthenticationFailed(m),
            async_imap::error::Error::Bad(m) => MailError::AuthenticationFailed(m),
            other => imap_err(other, s),
        })
    };
    timed(s.command_timeout(), "logging in", fut).await
}

/// Connects and logs in: resolve, TCP, TLS as configured, authenticate.
pub async fn connect(s: &ServerSettings) -> Result<ImapSession, MailError> {
    let addrs = resolve(s).await?;
    let tcp = tcp_connect(s, &addrs).await?;
    let greeted = establish(s, tcp).await?;
    login(greeted, s).await
}

/// A folder as listed by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderInfo {
    /// Full name.
    pub name: String,
    /// SPECIAL-USE or other attributes, e.g. `\Sent`.
    pub attributes: Vec<String>,
}

/// Lists all folders.
pub async fn list_folders(
    session: &mut ImapSession,
    s: &ServerSettings,
) -> Result<Vec<FolderInfo>, MailError> {
    let fut = async {
        let names: Vec<_> = session
            .list(Some(""), Some("*"))
            .await
            .map_err(|e| imap_err(e, s))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, s))?;
        Ok(names
            .iter()
            .map(|n| FolderInfo {
                name: n.name().to_string(),
                attributes: n.attributes().iter().map(attr_name).collect(),
            })
            .collect())
    };
    timed(s.command_timeout(), "listing folders", fut).await
}

fn attr_name(a: &NameAttribute<'_>) -> String {
    match a {
        NameAttribute::Sent => "\\Sent".into(),
        NameAttribute::Drafts => "\\Drafts".into(),
        NameAttribute::Trash => "\\Trash".into(),
        NameAttribute::Junk => "\\Junk".into(),
        NameAttribute::All => "\\All".into(),
        NameAttribute::Archive => "\\Archive".into(),
        NameAttribute::Flagged => "\\Flagged".into(),
        NameAttribute::NoSelect => "\\Noselect".into(),
        NameAttribute::NoInferiors => "\\Noinferiors".into(),
        NameAttribute::Marked => "\\Marked".into(),
        NameAttribute::Unmarked => "\\Unmarked".into(),
        NameAttribute::Extension(e) => e.to_string(),
        other => format!("{other:?}"),
    }
}

/// The sent folder: SPECIAL-USE `\Sent`, else a folder called `fallback_name`.
pub fn find_sent_folder(folders: &[FolderInfo], fallback_name: &str) -> Option<String> {
    folders
        .iter()
        .find(|f| {
            f.attributes
                .iter()
                .any(|a| a.eq_ignore_ascii_case("\\Sent"))
        })
        .or_else(|| {
            folders
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(fallback_name))
        })
        .map(|f| f.name.clone())
}

/// Where a copy of a message is stored on the IMAP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCopy {
    /// Folder name.
    pub folder: String,
    /// UIDVALIDITY of the folder.
    pub uid_validity: u32,
    /// UID of the copy.
    pub uid: u32,
}

impl StoredCopy {
    /// A stable id: `folder/uidvalidity/uid`.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.folder, self.uid_validity, self.uid)
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Appends a message (flagged `\Seen`) to a folder and finds its UID by Message-ID.
pub async fn append_message(
    session: &mut ImapSession,
    s: &ServerSettings,
    folder: &str,
    bytes: &[u8],
    message_id: &str,
) -> Result<StoredCopy, MailError> {
    let fut = async {
        session
            .append(folder, Some("(\\Seen)"), None, bytes)
            .await
            .map_err(|e| match e {
                async_imap::error::Error::No(m) if m.to_ascii_uppercase().contains("TRYCREATE") => {
                    MailError::FolderNotFound(folder.to_string())
                }
                other => imap_err(other, s),
            })?;
        let mbox = session.examine(folder).await.map_err(|e| imap_err(e, s))?;
        let uid_validity = mbox
            .uid_validity
            .ok_or_else(|| MailError::Protocol("no UIDVALIDITY".into()))?;
        let uids = session
            .uid_search(format!("HEADER Message-ID {}", quote(message_id)))
            .await
            .map_err(|e| imap_err(e, s))?;
        let uid = uids.into_iter().max().ok_or_else(|| {
            MailError::Protocol(format!(
                "appended message {message_id} not found in {folder}"
            ))
        })?;
        Ok(StoredCopy {
            folder: folder.to_string(),
            uid_validity,
            uid,
        })
    };
    timed(s.command_timeout(), "appending to the sent folder", fut).await
}
