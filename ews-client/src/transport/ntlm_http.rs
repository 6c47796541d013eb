//! NTLM over HTTP/1.1 with hyper's connection API.
//!
//! NTLM authenticates a *connection*: Type 1 and Type 3 must travel over the same TCP
//! connection, and the server then treats later requests on it as authenticated. reqwest's
//! pool gives no guarantee which connection a request uses, so this path owns its
//! connections: each handshake opens a dedicated connection with
//! `hyper::client::conn::http1`, sends Type 1 (empty body), reads the 401 challenge and sends
//! Type 3 together with the real SOAP request on the same connection. Authenticated
//! connections are kept in a small idle list and reused without a new handshake; a 401 on a
//! reused connection (the server dropped the authentication) triggers a fresh handshake,
//! which is safe because a 401 means the request was not processed.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use super::ntlm::{self, NtlmCredentials, NtlmError};
use super::tls::{error_chain, find_tls_error};
use super::{AttemptError, RawResponse, SoapRequest, TransportError};

type Body = Full<Bytes>;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub(crate) struct NtlmConnector {
    credentials: NtlmCredentials,
    workstation: String,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    host: String,
    port: u16,
    host_header: HeaderValue,
    path: String,
    connect_timeout: Duration,
    user_agent: HeaderValue,
    max_idle: usize,
    idle: Mutex<Vec<SendRequest<Body>>>,
}

impl NtlmConnector {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        url: &url::Url,
        credentials: NtlmCredentials,
        workstation: String,
        tls_config: std::sync::Arc<rustls::ClientConfig>,
        connect_timeout: Duration,
        user_agent: HeaderValue,
        max_idle: usize,
    ) -> Result<Self, TransportError> {
        let invalid = |m: &str| TransportError::InvalidConfig(m.to_owned());
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(invalid("URL has no host")),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| invalid("URL has no port"))?;
        let tls = if url.scheme() == "https" {
            let name = ServerName::try_from(host.clone())
                .map_err(|_| invalid("URL host is not a valid TLS server name"))?;
            Some((tokio_rustls::TlsConnector::from(tls_config), name))
        } else {
            None
        };
        let host_header =
            HeaderValue::from_str(&url[url::Position::BeforeHost..url::Position::AfterPort])
                .map_err(|_| invalid("URL host is not a valid Host header"))?;
        let path = url[url::Position::BeforePath..url::Position::AfterQuery].to_owned();
        Ok(Self {
            credentials,
            workstation,
            tls,
            host,
            port,
            host_header,
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path
            },
            connect_timeout,
            user_agent,
            max_idle,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn pop_idle(&self) -> Option<SendRequest<Body>> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put_idle(&self, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.retain(|s| !s.is_closed());
        if idle.len() < self.max_idle {
            idle.push(sender);
        }
    }

    fn build(
        &self,
        req: &SoapRequest<'_>,
        authorization: Option<String>,
        with_body: bool,
    ) -> Result<Request<Body>, AttemptError> {
        let body = if with_body {
            req.body.clone()
        } else {
            Bytes::new()
        };
        let mut builder = Request::post(self.path.as_str())
            .header(header::HOST, self.host_header.clone())
            .header(header::USER_AGENT, self.user_agent.clone())
            .header(header::CONTENT_LENGTH, body.len())
            .header(header::ACCEPT, "text/xml");
        if with_body {
            builder = builder.header(header::CONTENT_TYPE, super::CONTENT_TYPE);
        }
        let headers = builder
            .headers_mut()
            .ok_or_else(|| AttemptError::Fatal(TransportError::Ntlm("invalid request".into())))?;
        super::add_soap_headers(headers, req)?;
        if let Some(auth) = authorization {
            let mut value = HeaderValue::from_str(&auth)
                .map_err(|_| AttemptError::Fatal(TransportError::Ntlm("bad token".into())))?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        builder
            .body(Full::new(body))
            .map_err(|e| AttemptError::Fatal(TransportError::Ntlm(e.to_string())))
    }

    async fn connect(&self) -> Result<SendRequest<Body>, AttemptError> {
        let not_sent = |m: String| AttemptError::NotSent(m);
        let tcp = tokio::time::timeout(
            self.connect_timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| not_sent("connect timed out".to_owned()))?
        .map_err(|e| {
            let message = format!("connect: {e}");
            if super::is_unknown_host(&message) {
                AttemptError::Fatal(TransportError::UnknownHost {
                    host: self.host.clone(),
                    message,
                })
            } else {
                not_sent(message)
            }
        })?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match &self.tls {
            Some((connector, name)) => {
                let stream = tokio::time::timeout(
                    self.connect_timeout,
                    connector.connect(name.clone(), tcp),
                )
                .await
                .map_err(|_| not_sent("TLS handshake timed out".to_owned()))?
                .map_err(|e| match find_tls_error(&e) {
                    Some(message) => AttemptError::Fatal(TransportError::Tls {
                        host: self.host.clone(),
                        message,
                    }),
                    None => not_sent(format!("TLS handshake: {e}")),
                })?;
                Box::new(stream)
            }
            None => Box::new(tcp),
        };
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| not_sent(format!("HTTP handshake: {}", error_chain(&e))))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "NTLM connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// Sends `req` on `sender`. `Ok(None)` if the connection turned out to be unusable
    /// before the request was written.
    async fn send(
        sender: &mut SendRequest<Body>,
        request: Request<Body>,
    ) -> Result<Option<http::Response<hyper::body::Incoming>>, String> {
        if sender.ready().await.is_err() {
            return Ok(None);
        }
        match sender.try_send_request(request).await {
            Ok(response) => Ok(Some(response)),
            Err(mut e) => {
                if e.take_message().is_some() {
                    Ok(None)
                } else {
                    Err(error_chain(e.error()))
                }
            }
        }
    }

    /// Reads a response of at most `limit` bytes; a read failure is `NotSent` when
    /// `not_sent` (handshake legs that carried no request body), else `MaybeSent`.
    async fn read(
        response: http::Response<hyper::body::Incoming>,
        limit: u64,
        not_sent: bool,
    ) -> Result<RawResponse, AttemptError> {
        let (parts, body) = response.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = super::read_limited(
            http_body_util::BodyDataStream::new(body),
            declared,
            limit,
            |e: hyper::Error| format!("reading response: {}", error_chain(&e)),
        )
        .await
        .map_err(|e| match e {
            AttemptError::MaybeSent(m) if not_sent => AttemptError::NotSent(m),
            other => other,
        })?;
        Ok(RawResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// One attempt: on a reused authenticated connection, or with a full handshake.
    pub(crate) async fn post(
        &self,
        req: &SoapRequest<'_>,
        limit: u64,
    ) -> Result<RawResponse, AttemptError> {
        while let Some(mut sender) = self.pop_idle() {
            let request = self.build(req, None, true)?;
            match Self::send(&mut sender, request).await {
                Ok(None) => continue,
                Err(message) => return Err(AttemptError::MaybeSent(message)),
                Ok(Some(response)) => {
                    if response.status() == StatusCode::UNAUTHORIZED {
                        tracing::debug!("authenticated NTLM connection got 401; re-authenticating");
                        break;
                    }
                    let raw = Self::read(response, limit, false).await?;
                    self.put_idle(sender);
                    return Ok(raw);
                }
            }
        }
        self.handshake(req, limit).await
    }

    async fn handshake(
        &self,
        req: &SoapRequest<'_>,
        limit: u64,
    ) -> Result<RawResponse, AttemptError> {
        let mut sender = self.connect().await?;
        let type1 = ntlm::negotiate_message(&self.credentials.domain, &self.workstation)
            .map_err(|e| AttemptError::Fatal(TransportError::Ntlm(e.to_string())))?;
        let request = self.build(req, Some(ntlm::encode_authorization(&type1)), false)?;
        let closed = || AttemptError::NotSent("connection closed during NTLM handshake".into());
        let response = Self::send(&mut sender, request)
            .await
            .map_err(AttemptError::NotSent)?
            .ok_or_else(closed)?;
        if response.status() != StatusCode::UNAUTHORIZED {
            // The server does not require authentication; it got an empty body only.
            Self::read(response, limit, true).await?;
            let request = self.build(req, None, true)?;
            let response = Self::send(&mut sender, request)
                .await
                .map_err(AttemptError::MaybeSent)?
                .ok_or_else(closed)?;
            let raw = Self::read(response, limit, false).await?;
            self.put_idle(sender);
            return Ok(raw);
        }
        let challenge = ntlm::find_challenge(response.headers()).map_err(|e| match e {
            NtlmError::NoChallenge => AttemptError::Fatal(TransportError::Unauthorized {
                scheme: "NTLM",
                message: "the server did not answer the NTLM negotiation with a challenge"
                    .to_owned(),
            }),
            other => AttemptError::Fatal(TransportError::Ntlm(other.to_string())),
        })?;
        Self::read(response, limit, true).await?;
        let type3 = ntlm::authenticate_message(&challenge, &self.credentials, &self.workstation)
            .map_err(|e| AttemptError::Fatal(TransportError::Ntlm(e.to_string())))?;
        let request = self.build(req, Some(ntlm::encode_authorization(&type3)), true)?;
        let response = Self::send(&mut sender, request)
            .await
            .map_err(AttemptError::MaybeSent)?
            .ok_or_else(closed)?;
        if response.status() == StatusCode::UNAUTHORIZED {
            let _ = Self::read(response, limit, false).await;
            return Err(AttemptError::Fatal(TransportError::Unauthorized {
                scheme: "NTLM",
                message: "the server rejected the NTLM credentials".to_owned(),
            }));
        }
        let raw = Self::read(response, limit, false).await?;
        self.put_idle(sender);
        Ok(raw)
    }
}
