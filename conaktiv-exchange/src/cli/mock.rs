//! `mock`: runs the mock Exchange (EWS) server until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::Path;

use ews_mock::{MockConfig, MockServer, OrgData};
use serde_json::json;

use super::{Exit, Output};

pub async fn run(listen: SocketAddr, data: Option<&Path>, json_mode: bool) -> Output {
    let org = match data {
        Some(path) => match OrgData::load(path) {
            Ok(d) => d,
            Err(e) => return Output::error(Exit::Config, "configuration", e.to_string()),
        },
        None => OrgData::default(),
    };
    let mut config = MockConfig::new(org);
    config.listen = listen;
    // Listen for signals before announcing the URLs, so that an immediate SIGTERM stops
    // the server cleanly.
    let signal = match shutdown_signal() {
        Ok(s) => s,
        Err(e) => return Output::error(Exit::Failure, "mock", format!("signal handling: {e}")),
    };
    let mock = match MockServer::start(config).await {
        Ok(m) => m,
        Err(e) => return Output::error(Exit::Failure, "mock", format!("cannot start: {e}")),
    };
    let urls = json!({
        "ews": mock.url(),
        "graph": mock.graph_url(),
        "token": mock.token_url(),
        "autodiscover": mock.autodiscover_url(),
        "admin": mock.admin_url(),
        "admin_token": mock.admin_token(),
    });
    // Announce the URLs at once (one JSON line with --json), then serve until interrupted.
    if json_mode {
        println!("{urls}");
    } else {
        println!("EWS URL: {}", mock.url());
        println!("Graph URL: {}", mock.graph_url());
        println!("Token endpoint: {}", mock.token_url());
        println!("Autodiscover: {}", mock.autodiscover_url());
        println!("Admin: {}", mock.admin_url());
        if let Some(token) = mock.admin_token() {
            println!("Admin token: {token}");
        }
        println!("Press Ctrl-C to stop.");
    }
    signal.await;
    if let Err(e) = mock.shutdown().await {
        return Output::error(Exit::Failure, "mock", format!("shutdown: {e}"));
    }
    Output::new(
        Exit::Success,
        json!({"ok": true, "stopped": true}),
        "mock server stopped",
    )
}

/// A future that completes on Ctrl-C or SIGTERM; the handlers are installed at once.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
