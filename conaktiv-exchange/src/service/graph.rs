//! The Microsoft Graph client of an Exchange Online server record.

use conaktiv_model::config::{EwsServer, ServerCredentials};
use ews_client::transport::CertificateFingerprint;

use super::ServiceError;

/// The time zone the Graph side asks Graph to express event times in
/// (`Prefer: outlook.timezone`); the field mapping reads them in this zone.
pub const GRAPH_TIMEZONE: &str = "UTC";

/// The Graph client of a server record's OAuth app (client credentials, scope
/// `https://graph.microsoft.com/.default`, the app's token endpoint), at the record's Graph
/// service root ([`EwsServer::graph_root`]), with Graph's per-mailbox limits (4 concurrent
/// requests, 10,000 requests per 10 minutes). Certificates are verified as for EWS: public
/// CAs, the record's `trusted_ca_file`, or its pinned certificate.
pub fn graph_client_for_server(server: &EwsServer) -> Result<graph_client::Client, ServiceError> {
    let fail = |what: String| {
        ServiceError::Configuration(format!("Graph for server {:?}: {what}", server.name))
    };
    let Some(ServerCredentials::ExchangeOnline { app, .. }) = server.credentials() else {
        return Err(fail(
            "Microsoft Graph needs an Exchange Online server record with its OAuth app".into(),
        ));
    };
    let mut creds = graph_client::auth::credentials(&app.tenant_id, &app.client_id);
    creds.client_secret =
        ews_client::transport::SecretString::from(app.client_secret.expose().to_owned());
    let endpoint = app.token_endpoint();
    let url = url::Url::parse(&endpoint).map_err(|e| fail(format!("token endpoint: {e}")))?;
    creds = creds.with_token_url(url);
    let tokens = graph_client::auth::with_secret(creds).map_err(|e| fail(e.to_string()))?;
    let root =
        url::Url::parse(&server.graph_root()).map_err(|e| fail(format!("graph_url: {e}")))?;
    let mut config = graph_client::ClientConfig::new(tokens)
        .with_base_url(root)
        .with_timezone(GRAPH_TIMEZONE);
    if let Some(b) = server.graph_request_budget {
        config = config.with_budget(
            b.requests as usize,
            std::time::Duration::from_secs(u64::from(b.window_secs)),
        );
    }
    if let Some(pin) = &server.pinned_certificate_sha256 {
        config =
            config.with_pinned_certificate(CertificateFingerprint::from_bytes(*pin.as_bytes()));
    }
    if let Some(pem) = super::client::trusted_ca_pem(server)? {
        config = config.with_extra_root_certificate(pem);
    }
    graph_client::Client::new(config).map_err(|e| fail(e.to_string()))
}

/// One step of a Graph server test.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GraphTestStep {
    /// What was tested ("token", "Contacts", "mailbox scope", ...).
    pub step: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, in words.
    pub detail: String,
}

/// The result of [`test_graph_server`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GraphServerTest {
    /// The steps, in order.
    pub steps: Vec<GraphTestStep>,
}

impl GraphServerTest {
    /// Whether every step passed.
    pub fn is_ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }

    fn push(&mut self, step: impl Into<String>, ok: bool, detail: impl Into<String>) {
        self.steps.push(GraphTestStep {
            step: step.into(),
            ok,
            detail: detail.into(),
        });
    }
}

impl std::fmt::Display for GraphServerTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for s in &self.steps {
            writeln!(
                f,
                "  {:<16} {:<6} {}",
                s.step,
                if s.ok { "ok" } else { "failed" },
                s.detail
            )?;
        }
        Ok(())
    }
}

fn probe_detail(what: &str, e: &graph_client::Error) -> String {
    if e.is_auth() {
        format!("{what}: refused ({e}); grant the application permission and admin consent")
    } else {
        format!("{what}: {e}")
    }
}

/// Tests a Graph server record the way the sync will use it: the app gets a token, and in
/// `mailbox` (the admin mailbox, or a user's) each permission the rules need answers:
/// Contacts (`contactFolders`), Calendars (`calendars`), Mail (`mailFolders/inbox`), Tasks
/// (`todo/lists`), Mail.Send (a `sendMail` without recipients: refused as invalid when the
/// permission is granted, as forbidden when not; nothing is sent). Each of `others` (mailboxes
/// routed to this server) is checked against the app's mailbox scope (RBAC for
/// Applications). Writes nothing.
pub async fn test_graph_server(
    server: &EwsServer,
    mailbox: &str,
    others: &[String],
) -> GraphServerTest {
    let mut report = GraphServerTest::default();
    let client = match graph_client_for_server(server) {
        Ok(c) => c,
        Err(e) => {
            report.push("configuration", false, e.to_string());
            return report;
        }
    };
    match client.config().tokens.token().await {
        Ok(_) => report.push(
            "token",
            true,
            format!(
                "the OAuth app got a Microsoft Graph token ({})",
                graph_client::GRAPH_SCOPE
            ),
        ),
        Err(e) => {
            report.push("token", false, format!("no token: {e}"));
            return report;
        }
    }
    let mbox = client.mailbox(mailbox);
    let r = mbox.contact_folders().await.map(|_| ());
    report.push_probe("Contacts", r, "contact folders readable");
    let r = mbox.calendars().await.map(|_| ());
    report.push_probe("Calendars", r, "calendars readable");
    let r = mbox.mail_folder("inbox").await.map(|_| ());
    report.push_probe("Mail", r, "inbox readable");
    let r = mbox.todo_lists().await.map(|_| ());
    report.push_probe("Tasks", r, "To Do lists readable");
    match mbox
        .send_mail(
            &graph_client::mail::Message::default(),
            graph_client::mail::SaveCopy::Discard,
        )
        .await
    {
        Err(e) if e.is_auth() => report.push("Mail.Send", false, probe_detail("sendMail", &e)),
        Err(e) if e.api().is_some_and(|a| a.status == 400) => report.push(
            "Mail.Send",
            true,
            "sending permitted (probe without recipients refused as invalid; nothing sent)",
        ),
        Err(e) => report.push("Mail.Send", false, probe_detail("sendMail", &e)),
        Ok(()) => report.push("Mail.Send", true, "sending permitted"),
    }
    for other in others {
        let r = client
            .mailbox(other.as_str())
            .mail_folder("inbox")
            .await
            .map(|_| ());
        match r {
            Ok(()) => report.push("mailbox scope", true, format!("{other}: reachable")),
            Err(e) if e.is_auth() => report.push(
                "mailbox scope",
                false,
                format!("{other}: outside the app's mailbox scope ({e})"),
            ),
            Err(e) => report.push("mailbox scope", false, format!("{other}: {e}")),
        }
    }
    report
}

impl GraphServerTest {
    fn push_probe(&mut self, step: &str, r: Result<(), graph_client::Error>, ok: &str) {
        match r {
            Ok(()) => self.push(step, true, ok),
            Err(e) => self.push(step, false, probe_detail(step, &e)),
        }
    }
}
