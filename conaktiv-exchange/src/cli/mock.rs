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
    let mock = match MockServer::start(config).await {
        Ok(m) => m,
        Err(e) => return Output::error(Exit::Failure, "mock", format!("cannot start: {e}")),
    };
    let urls = json!({
        "ews": mock.url(),
        "token": mock.token_url(),
        "autodiscover": mock.autodiscover_url(),
        "admin": mock.admin_url(),
    });
    // Announce the URLs at once (one JSON line with --json), then serve until interrupted.
    if json_mode {
        println!("{urls}");
    } else {
        println!("EWS URL: {}", mock.url());
        println!("Token endpoint: {}", mock.token_url());
        println!("Autodiscover: {}", mock.autodiscover_url());
        println!("Admin: {}", mock.admin_url());
        println!("Press Ctrl-C to stop.");
    }
    if let Err(e) = shutdown_signal().await {
        return Output::error(Exit::Failure, "mock", format!("signal handling: {e}"));
    }
    if let Err(e) = mock.shutdown().await {
        return Output::error(Exit::Failure, "mock", format!("shutdown: {e}"));
    }
    Output::new(
        Exit::Success,
        json!({"ok": true, "stopped": true}),
        "mock server stopped",
    )
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
