//! Starting, serving and stopping the mock: the accept loop (plain or TLS), per-connection
//! state (NTLM, dropped connections), the library handle for seeding and inspection.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::auth::TokenStore;
use crate::config::{MockConfig, OrgData, TlsConfig};
use crate::error::MockError;
use crate::faults::{FaultEngine, FaultRule, FaultStatus, Limits};
use crate::log::{LogEntry, RequestLog};
use crate::store::{MailboxSnapshot, OutboundMail, Store};

/// State shared by all requests.
pub(crate) struct Shared {
    pub store: RwLock<Store>,
    pub tokens: TokenStore,
    pub faults: FaultEngine,
    pub limits: Limits,
    pub log: RequestLog,
    pub base_url: String,
    /// The token the admin endpoint requires (`None`: open, on loopback only).
    pub admin_token: Option<String>,
    /// Goes up with every write access to the store (so the state saver knows a change).
    pub generation: AtomicU64,
    /// Serialises state-file writes.
    pub save_lock: Mutex<()>,
    /// The Graph front's state (`crate::graph`).
    pub graph: crate::graph::GraphState,
}

impl Shared {
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        let guard = self.store.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        guard
    }

    /// Writes the organisation to `path` atomically (a temporary file in the same directory,
    /// mode 0600, synced, then renamed over `path`); returns the generation written.
    pub fn save_state(&self, path: &std::path::Path) -> Result<u64, MockError> {
        let _one_at_a_time = self.save_lock.lock().unwrap_or_else(|p| p.into_inner());
        let (generation, json) = {
            let store = self.read();
            let generation = self.generation.load(Ordering::SeqCst);
            let json =
                serde_json::to_vec(&*store).map_err(|e| MockError::InvalidData(e.to_string()))?;
            (generation, json)
        };
        let file_error = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| MockError::File { path, source }
        };
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        {
            use std::io::Write as _;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(file_error(&tmp))?;
            #[cfg(unix)]
            {
                // an existing temporary file keeps its mode: set it
                use std::os::unix::fs::PermissionsExt as _;
                file.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(file_error(&tmp))?;
            }
            file.write_all(&json).map_err(file_error(&tmp))?;
            file.sync_all().map_err(file_error(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(file_error(path))?;
        Ok(generation)
    }
}

/// Saves the state file within `interval` of every change, until shutdown.
async fn state_saver(
    shared: Arc<Shared>,
    path: PathBuf,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut saved = shared.generation.load(Ordering::SeqCst);
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => {}
        }
        if shared.generation.load(Ordering::SeqCst) == saved {
            continue;
        }
        let shared2 = shared.clone();
        let path2 = path.clone();
        match tokio::task::spawn_blocking(move || shared2.save_state(&path2)).await {
            Ok(Ok(generation)) => saved = generation,
            Ok(Err(e)) => tracing::warn!("saving the state file failed: {e}"),
            Err(e) => tracing::warn!("saving the state file failed: {e}"),
        }
    }
}

/// NTLM progress on one connection.
#[derive(Default)]
pub(crate) struct NtlmConn {
    pub challenge: Option<[u8; 8]>,
    pub user: Option<String>,
}

/// Per-connection state, available to handlers as a request extension.
pub(crate) struct ConnInfo {
    #[allow(dead_code)]
    pub peer: SocketAddr,
    pub ntlm: Mutex<NtlmConn>,
    pub kill: Notify,
}

/// Starts mock servers.
pub struct MockServer;

impl MockServer {
    /// Binds the listening socket, loads the organisation (from the state file if it exists,
    /// else from the data) and starts serving.
    pub async fn start(config: MockConfig) -> Result<MockHandle, MockError> {
        let store = match &config.state_file {
            Some(path) if path.exists() => load_state(path)?,
            _ => Store::from_data(&config.data)?,
        };
        let settings = store.settings.clone();
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| MockError::Bind {
                    addr: config.listen.to_string(),
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| MockError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
        if config.admin_open_on_loopback && !addr.ip().is_loopback() {
            return Err(MockError::AdminOpenNotLoopback(addr.to_string()));
        }
        let admin_token = if config.admin_open_on_loopback {
            None
        } else {
            Some(config.admin_token.clone().unwrap_or_else(|| {
                let mut bytes = [0u8; 24];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            }))
        };
        let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared {
            store: RwLock::new(store),
            tokens: TokenStore::default(),
            faults: FaultEngine::new(config.data.faults.clone(), settings.seed),
            limits: Limits::new(settings.max_concurrency, settings.max_concurrent_sync_calls),
            log: RequestLog::default(),
            base_url: format!("{scheme}://{addr}"),
            admin_token,
            generation: AtomicU64::new(0),
            save_lock: Mutex::new(()),
            graph: crate::graph::GraphState::new(&config.data.graph),
        });
        let router = crate::http::router(shared.clone());
        let (tx, rx) = watch::channel(false);
        let saver = config.state_file.clone().map(|path| {
            tokio::spawn(state_saver(
                shared.clone(),
                path,
                config.state_interval,
                rx.clone(),
            ))
        });
        let task = tokio::spawn(accept_loop(listener, acceptor, router, rx));
        Ok(MockHandle {
            shared,
            addr,
            shutdown: tx,
            task: Some(task),
            saver,
            state_file: config.state_file.clone(),
        })
    }
}

fn tls_acceptor(tls: &TlsConfig) -> Result<tokio_rustls::TlsAcceptor, MockError> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut tls.cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| MockError::Tls(format!("certificate: {e}")))?;
    if certs.is_empty() {
        return Err(MockError::Tls("no certificate in the PEM".to_string()));
    }
    let key = rustls_pemfile::private_key(&mut tls.key_pem.as_slice())
        .map_err(|e| MockError::Tls(format!("key: {e}")))?
        .ok_or_else(|| MockError::Tls("no private key in the PEM".to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MockError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| MockError::Tls(e.to_string()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    router: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let rx = shutdown.clone();
                let acceptor = acceptor.clone();
                conns.spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve_conn(tls, peer, router, rx).await;
                            }
                        }
                        None => serve_conn(stream, peer, router, rx).await,
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
}

async fn serve_conn<S>(
    io: S,
    peer: SocketAddr,
    router: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let info = Arc::new(ConnInfo {
        peer,
        ntlm: Mutex::new(NtlmConn::default()),
        kill: Notify::new(),
    });
    let conn_info = info.clone();
    let svc = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(conn_info.clone());
        router.clone().oneshot(req)
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let mut shutting_down = *shutdown.borrow();
    if shutting_down {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = info.kill.notified() => break,
            changed = shutdown.changed(), if !shutting_down => {
                shutting_down = true;
                let _ = changed;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

fn load_state(path: &std::path::Path) -> Result<Store, MockError> {
    let text = std::fs::read_to_string(path).map_err(|source| MockError::File {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| MockError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// A running mock server: its URLs, seeding and inspection, shutdown.
pub struct MockHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    saver: Option<tokio::task::JoinHandle<()>>,
    state_file: Option<PathBuf>,
}

impl std::fmt::Debug for MockHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHandle")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl MockHandle {
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The EWS endpoint: `.../EWS/Exchange.asmx`.
    pub fn url(&self) -> String {
        format!("{}/EWS/Exchange.asmx", self.shared.base_url)
    }

    /// The Microsoft Graph front's base URL: `.../v1.0` (a Graph client's base URL).
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.shared.base_url)
    }

    /// The SOAP Autodiscover endpoint.
    pub fn autodiscover_url(&self) -> String {
        format!("{}/autodiscover/autodiscover.svc", self.shared.base_url)
    }

    /// The OAuth 2.0 token endpoint (client credentials).
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.shared.base_url)
    }

    /// Expires every Microsoft Graph delta link issued so far: the next round on one answers
    /// 410 Gone (`syncStateNotFound`), as Graph does when it drops a sync state.
    pub fn expire_graph_delta_tokens(&self) {
        self.shared
            .graph
            .delta_epoch
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The admin/inspection endpoint's base URL.
    pub fn admin_url(&self) -> String {
        format!("{}/admin", self.shared.base_url)
    }

    /// The token the admin endpoint requires (`Authorization: Bearer TOKEN`); `None` when it
    /// was started open on loopback.
    pub fn admin_token(&self) -> Option<&str> {
        self.shared.admin_token.as_deref()
    }

    /// Adds users, groups, apps and mailbox content; fault rules are added too.
    pub fn seed(&self, data: &OrgData) -> Result<(), MockError> {
        self.shared.write().seed(data)?;
        for rule in &data.faults {
            self.shared.faults.add(rule.clone());
        }
        Ok(())
    }

    /// Runs `f` on the store (for direct seeding and inspection in tests).
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        f(&mut self.shared.write())
    }

    /// A snapshot of a mailbox's folders and items.
    pub fn mailbox(&self, address: &str) -> Option<MailboxSnapshot> {
        self.shared.read().mailbox(address).map(|m| m.snapshot())
    }

    /// Mail sent to addresses outside the organisation.
    pub fn outbox(&self) -> Vec<OutboundMail> {
        self.shared.read().outbox.clone()
    }

    /// The request log.
    pub fn request_log(&self) -> Vec<LogEntry> {
        self.shared.log.entries()
    }

    /// Request counts by operation.
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.shared.log.counts()
    }

    /// Clears the request log and counts.
    pub fn clear_log(&self) {
        self.shared.log.clear()
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        self.shared.faults.add(rule)
    }

    /// Removes all fault rules.
    pub fn clear_faults(&self) {
        self.shared.faults.clear()
    }

    /// The fault rules and how often each fired.
    pub fn faults(&self) -> Vec<FaultStatus> {
        self.shared.faults.rules()
    }

    /// Changes the per-account limits (EWSMaxConcurrency, ConcurrentSyncCalls).
    pub fn set_limits(&self, max_concurrency: u32, max_concurrent_sync_calls: u32) {
        self.shared
            .limits
            .set(max_concurrency, max_concurrent_sync_calls)
    }

    /// Invalidates every issued OAuth token.
    pub fn expire_tokens(&self) {
        self.shared.tokens.expire_all()
    }

    /// Writes the organisation to `path` (JSON) atomically, readable by the owner only.
    pub fn save_state(&self, path: &std::path::Path) -> Result<(), MockError> {
        self.shared.save_state(path).map(|_| ())
    }

    /// Stops accepting, lets open requests finish (up to 5 s), and saves the state file if
    /// one was configured.
    pub async fn shutdown(mut self) -> Result<(), MockError> {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(saver) = self.saver.take() {
            let _ = saver.await;
        }
        if let Some(path) = self.state_file.clone() {
            self.save_state(&path)?;
        }
        Ok(())
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
