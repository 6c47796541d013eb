//! `test-account`: the connection test of a mail account (IMAP/SMTP or Exchange) or of an
//! EWS server's service account, through mail-transport's account test.
//!
//! * `--account CODE`: IMAP/SMTP accounts test resolve, connect, TLS, login, capabilities,
//!   folders; Exchange accounts reach the mailbox (through the server's service account with
//!   impersonation, or the account's own on-premises credentials) and its folders.
//! * `--server NAME`: the service account reaches its admin mailbox (Exchange Online: the
//!   configured `admin_mailbox`, impersonated).

use conaktiv_exchange::service::graph::test_graph_server;
use conaktiv_exchange::service::{client_for_server, transport_for_server};
use conaktiv_model::Configuration;
use conaktiv_model::config::{
    AuthScheme, EwsServer, MailAccount, MailServerKind, OAuthApp, ServerApi,
};
use ews_client::transport::Auth;
use ews_client::{Client, ClientConfig};
use mail_transport::account_test::{
    AccountTestOptions, AccountTestReport, FailureKind, StepStatus, TestProtocol, TestStepKind,
    test_account, test_exchange,
};
use mail_transport::settings::AccountSettings;
use serde_json::json;

use super::{Exit, Output, progress};

fn protocol(p: TestProtocol) -> &'static str {
    match p {
        TestProtocol::Imap => "imap",
        TestProtocol::Smtp => "smtp",
        TestProtocol::Exchange => "exchange",
    }
}

fn step(k: TestStepKind) -> &'static str {
    match k {
        TestStepKind::Resolve => "resolve",
        TestStepKind::Connect => "connect",
        TestStepKind::Tls => "tls",
        TestStepKind::Authenticate => "login",
        TestStepKind::Capabilities => "capabilities",
        TestStepKind::Folders => "folders",
        TestStepKind::SendTest => "test mail",
        _ => "other step",
    }
}

fn failure(k: FailureKind) -> &'static str {
    match k {
        FailureKind::HostNotFound => "host not found",
        FailureKind::PortClosed => "port closed",
        FailureKind::Timeout => "timeout",
        FailureKind::Certificate => "certificate not accepted",
        FailureKind::Tls => "TLS failure",
        FailureKind::StartTlsMissing => "STARTTLS not offered",
        FailureKind::WrongCredentials => "wrong credentials",
        FailureKind::MechanismUnsupported => "login mechanism not offered",
        FailureKind::FolderMissing => "folder missing",
        FailureKind::Rejected => "rejected",
        _ => "other failure",
    }
}

pub async fn run(
    config: &Configuration,
    account: Option<&str>,
    server: Option<&str>,
    send_to: Option<String>,
    json_mode: bool,
) -> Output {
    let options = AccountTestOptions {
        send_test_to: send_to,
    };
    if let Some(name) = server {
        return test_server(config, name, &options, json_mode).await;
    }
    let Some(code) = account else {
        return Output::error(
            Exit::Usage,
            "usage",
            "pass --account SHORT_CODE or --server NAME",
        );
    };
    test_mail_account(config, code, &options, json_mode).await
}

/// `--server NAME`: the service account of a server record, over Microsoft Graph or EWS.
async fn test_server(
    config: &Configuration,
    name: &str,
    options: &AccountTestOptions,
    json_mode: bool,
) -> Output {
    let Some(record) = config.server(name) else {
        return Output::error(
            Exit::Config,
            "configuration",
            format!("no EWS server named {name:?} in the configuration"),
        );
    };
    if record.effective_api() == ServerApi::Graph {
        test_graph_server_record(config, record, name, json_mode).await
    } else {
        test_ews_server(record, name, options, json_mode).await
    }
}

/// A Graph server record: its admin mailbox and the mailboxes of the accounts on it.
async fn test_graph_server_record(
    config: &Configuration,
    record: &EwsServer,
    name: &str,
    json_mode: bool,
) -> Output {
    let mailbox = record
        .admin_mailbox
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let others = other_mailboxes_on(config, record, &mailbox);
    let bar = progress(None, json_mode, &format!("testing Graph server {name}"));
    let report = test_graph_server(record, &mailbox, &others).await;
    bar.finish_and_clear();
    let ok = report.is_ok();
    let text = format!(
        "Microsoft Graph server {} ({}), mailbox {mailbox}:\n{report}",
        record.name,
        record.graph_root()
    );
    Output::new(
        if ok { Exit::Success } else { Exit::Failure },
        json!({"ok": ok, "tested": format!("Graph server {}", record.name), "api": "graph",
               "address": record.graph_root(), "steps": report.steps}),
        text.trim_end().to_owned(),
    )
}

/// The addresses of the Exchange mail accounts on `record`, other than `mailbox`.
fn other_mailboxes_on(config: &Configuration, record: &EwsServer, mailbox: &str) -> Vec<String> {
    config
        .mail_accounts
        .iter()
        .filter(|a| {
            a.exchange
                .as_ref()
                .is_some_and(|x| x.server.trim().eq_ignore_ascii_case(record.name.trim()))
        })
        .map(|a| a.email.to_string())
        .filter(|m| !m.eq_ignore_ascii_case(mailbox))
        .collect()
}

/// An EWS server record: the service account reaches its admin mailbox (impersonated), or
/// the endpoint.
async fn test_ews_server(
    record: &EwsServer,
    name: &str,
    options: &AccountTestOptions,
    json_mode: bool,
) -> Output {
    let client = match client_for_server(record) {
        Ok(c) => c,
        Err(e) => return Output::error(Exit::Config, "configuration", e.to_string()),
    };
    let account = match (&record.admin_mailbox, &record.admin_user) {
        (Some(mailbox), _) => mailbox.to_string(),
        (None, Some(user)) => user.clone(),
        (None, None) => "(none)".to_owned(),
    };
    let client = match &record.admin_mailbox {
        Some(mailbox) => client.for_mailbox(mailbox.as_str()),
        None => client,
    };
    let bar = progress(None, json_mode, &format!("testing EWS server {name}"));
    let mut report = test_exchange(&client, &record.name, options).await;
    bar.finish_and_clear();
    // The service account has no mailbox of its own to name: say what was reached.
    for s in &mut report.steps {
        if let (TestStepKind::Authenticate, StepStatus::Ok(detail)) = (s.kind, &mut s.status) {
            *detail = format!(
                "reached the EWS endpoint of server {:?} as the service account {account}",
                record.name
            );
        }
    }
    let mut out = report_output(
        &format!("EWS server {}", record.name),
        record.url.as_str(),
        &report,
    );
    if let Some(w) = record.api_warning() {
        out.text = format!("{}\nwarning: {w}", out.text);
    }
    out
}

/// `--account CODE`: an Exchange mail account, or an IMAP/SMTP one.
async fn test_mail_account(
    config: &Configuration,
    code: &str,
    options: &AccountTestOptions,
    json_mode: bool,
) -> Output {
    let Some(record) = config.mail_account(code) else {
        return Output::error(
            Exit::Config,
            "configuration",
            format!("no mail account with short code {code:?} in the configuration"),
        );
    };
    let report = if record.server_kind == MailServerKind::Exchange {
        let client = match exchange_client(config, record) {
            Ok(c) => c,
            Err(message) => return Output::error(Exit::Config, "configuration", message),
        };
        let bar = progress(None, json_mode, &format!("testing mail account {code}"));
        let report = test_exchange(&client, record.email.as_str(), options).await;
        bar.finish_and_clear();
        report
    } else {
        let settings = match imap_smtp_settings(record, code).await {
            Ok(s) => s,
            Err(out) => return out,
        };
        let bar = progress(None, json_mode, &format!("testing mail account {code}"));
        let report = test_account(&settings, options).await;
        bar.finish_and_clear();
        report
    };
    report_output(
        &format!("mail account {code}"),
        record.email.as_str(),
        &report,
    )
}

/// The IMAP/SMTP settings of the mail account `code`, with an access token of its OAuth app for
/// XOAUTH2 when it has one.
async fn imap_smtp_settings(record: &MailAccount, code: &str) -> Result<AccountSettings, Output> {
    // XOAUTH2: an access token of the account's OAuth app.
    let app = record
        .imap
        .as_ref()
        .and_then(|i| i.oauth.as_ref())
        .or_else(|| record.smtp.as_ref().and_then(|s| s.oauth.as_ref()));
    let token = match app {
        Some(app) => Some(oauth_token(app).await.map_err(|message| {
            Output::error(
                Exit::Failure,
                "oauth",
                format!("mail account {code}: {message}"),
            )
        })?),
        None => None,
    };
    mail_transport::model::account_settings(record, token.as_deref())
        .map_err(|e| Output::error(Exit::Config, "configuration", e.to_string()))
}

/// An access token of an OAuth app (client credentials), for XOAUTH2.
async fn oauth_token(app: &OAuthApp) -> Result<String, String> {
    use ews_client::transport::{
        ClientCredentialsProvider, ExposeSecret, OAuthClientCredentials, TokenProvider,
    };
    let mut creds = OAuthClientCredentials::new(
        app.tenant_id.clone(),
        app.client_id.clone(),
        app.client_secret.expose(),
    );
    if let Some(url) = &app.token_url {
        creds = creds.with_token_url(url.as_url().clone());
    }
    creds = creds.with_scope(app.scope().to_owned());
    let provider = ClientCredentialsProvider::new(creds)
        .map_err(|e| format!("the OAuth app cannot be used: {e}"))?;
    let token = provider
        .token()
        .await
        .map_err(|e| format!("no access token from the OAuth app: {e}"))?;
    Ok(token.expose_secret().to_owned())
}

/// The client an Exchange mail account is tested with: the server's service account
/// impersonating the address, or the account's own on-premises credentials.
fn exchange_client(config: &Configuration, account: &MailAccount) -> Result<Client, String> {
    let code = &account.short_code;
    let ex = account
        .exchange
        .as_ref()
        .ok_or_else(|| format!("mail account {code:?} has no Exchange settings"))?;
    let server = config.server(&ex.server).ok_or_else(|| {
        format!(
            "mail account {code:?} names no known EWS server ({:?})",
            ex.server
        )
    })?;
    if ex.use_admin_account {
        let client = client_for_server(server).map_err(|e| e.to_string())?;
        return Ok(client.for_mailbox(account.email.as_str()));
    }
    let (Some(user), Some(password)) = (&ex.user, &ex.password) else {
        return Err(format!(
            "mail account {code:?} uses its own credentials but has no user or password"
        ));
    };
    let auth = match server.auth_scheme {
        Some(AuthScheme::Ntlm) => Auth::ntlm(user, password.expose()),
        _ => Auth::basic(user.clone(), password.expose()),
    };
    // The server record's URL and TLS trust, with the account's own sign-in.
    let mut transport = transport_for_server(server).map_err(|e| e.to_string())?;
    transport.auth = auth;
    Client::new(ClientConfig::new(transport)).map_err(|e| format!("mail account {code:?}: {e}"))
}

fn report_output(title: &str, address: &str, report: &AccountTestReport) -> Output {
    let mut text = format!("{title} ({address}):\n");
    let mut steps = Vec::new();
    for s in &report.steps {
        let (status, detail, kind) = match &s.status {
            StepStatus::Ok(d) => ("ok", d.clone(), None),
            StepStatus::Failed { kind, message } => {
                ("failed", message.clone(), Some(failure(*kind)))
            }
            StepStatus::Skipped(why) => ("skipped", why.clone(), None),
        };
        text.push_str(&format!(
            "  {:<8} {:<12} {:<7} {}\n",
            protocol(s.protocol),
            step(s.kind),
            status,
            detail
        ));
        steps.push(json!({
            "protocol": protocol(s.protocol),
            "step": step(s.kind),
            "status": status,
            "detail": detail,
            "failure": kind,
        }));
    }
    let ok = report.is_ok();
    Output::new(
        if ok { Exit::Success } else { Exit::Failure },
        json!({"ok": ok, "tested": title, "address": address, "steps": steps}),
        text.trim_end().to_owned(),
    )
}
