//! The `ews-mock` server binary:
//! `ews-mock --listen 127.0.0.1:PORT --data org.toml [--tls-cert C --tls-key K] [--state FILE]
//! [--admin-token T | --admin-open]`.
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use ews_mock::{MockConfig, MockServer, OrgData, TlsConfig};

/// A stateful mock Exchange (EWS) server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The organisation data file (TOML).
    #[arg(long)]
    data: Option<PathBuf>,
    /// TLS certificate chain (PEM); serves HTTPS with --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Load the organisation from this file if it exists; save it here (atomically, mode
    /// 0600) within --state-interval-ms of every change and on shutdown.
    #[arg(long)]
    state: Option<PathBuf>,
    /// How long a change may stay unsaved in the state file, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    state_interval_ms: u64,
    /// The token the admin endpoint requires (`Authorization: Bearer TOKEN`); a random one is
    /// generated and printed when not given.
    #[arg(long, env = "EWS_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Serve the admin endpoint without a token (only with a loopback --listen address).
    #[arg(long, conflicts_with = "admin_token")]
    admin_open: bool,
}

/// Prints a line on stdout, ignoring a closed stdout: a caller that read the URLs and
/// closed the pipe must not take the server down with it.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let data = match &args.data {
        Some(path) => OrgData::load(path)?,
        None => OrgData::default(),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(TlsConfig::from_files(c, k)?),
        _ => None,
    };
    let config = MockConfig {
        listen: args.listen,
        data,
        tls,
        state_file: args.state.clone(),
        state_interval: std::time::Duration::from_millis(args.state_interval_ms),
        admin_token: args.admin_token.clone(),
        admin_open_on_loopback: args.admin_open,
    };
    // listen for signals before announcing the URLs, so a quick SIGTERM still saves the state
    let signal = shutdown_signal()?;
    let mock = MockServer::start(config)
        .await
        .context("starting ews-mock")?;
    say!("EWS URL: {}", mock.url());
    say!("Token endpoint: {}", mock.token_url());
    say!("Autodiscover: {}", mock.autodiscover_url());
    say!("Admin: {}", mock.admin_url());
    match (mock.admin_token(), &args.admin_token) {
        (None, _) => say!("Admin token: none (open on loopback)"),
        // a configured token is the caller's secret: not repeated
        (Some(_), Some(_)) => say!("Admin token: as configured"),
        (Some(token), None) => say!("Admin token: {token}"),
    }
    // Last, so that scripts reading the lines above by position keep working.
    say!("Graph URL: {}", mock.graph_url());
    signal.await?;
    mock.shutdown().await.context("shutting down")?;
    if let Some(state) = &args.state {
        say!("state saved to {}", state.display());
    }
    Ok(())
}

#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        Ok(())
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    Ok(async {
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
