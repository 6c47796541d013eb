//! `test-account`: the connection test of a mail account (IMAP/SMTP, through
//! mail-transport). EWS servers and Exchange mail accounts need the Exchange side, which is
//! not in this build yet.

use conaktiv_model::Configuration;
use conaktiv_model::config::MailServerKind;
use mail_transport::account_test::{
    AccountTestOptions, FailureKind, StepStatus, TestProtocol, TestStepKind, test_account,
};
use serde_json::json;

use super::{Exit, Output, progress};

fn protocol(p: TestProtocol) -> &'static str {
    match p {
        TestProtocol::Imap => "imap",
        TestProtocol::Smtp => "smtp",
        TestProtocol::Exchange => "exchange",
    }
}

fn step(k: TestStepKind) -> String {
    format!("{k:?}").to_lowercase()
}

fn failure(k: FailureKind) -> String {
    format!("{k:?}")
}

pub async fn run(
    config: &Configuration,
    account: Option<&str>,
    server: Option<&str>,
    send_to: Option<String>,
    json_mode: bool,
) -> Output {
    if let Some(name) = server {
        if config.server(name).is_none() {
            return Output::error(
                Exit::Config,
                "configuration",
                format!("no EWS server named {name:?} in the configuration"),
            );
        }
        return Output::error(
            Exit::Unavailable,
            "unavailable",
            "testing an EWS server needs the Exchange side, which is not in this build yet",
        );
    }
    let Some(code) = account else {
        return Output::error(
            Exit::Usage,
            "usage",
            "pass --account SHORT_CODE or --server NAME",
        );
    };
    let Some(record) = config.mail_account(code) else {
        return Output::error(
            Exit::Config,
            "configuration",
            format!("no mail account with short code {code:?} in the configuration"),
        );
    };
    if record.server_kind == MailServerKind::Exchange {
        return Output::error(
            Exit::Unavailable,
            "unavailable",
            format!(
                "mail account {code:?} sends through Exchange; testing it needs the Exchange side, which is not in this build yet"
            ),
        );
    }
    let settings = match mail_transport::model::account_settings(record, None) {
        Ok(s) => s,
        Err(e) => return Output::error(Exit::Config, "configuration", e.to_string()),
    };
    let bar = progress(None, json_mode, &format!("testing mail account {code}"));
    let report = test_account(
        &settings,
        &AccountTestOptions {
            send_test_to: send_to,
        },
    )
    .await;
    bar.finish_and_clear();

    let mut text = format!("mail account {code} ({}):\n", record.email);
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
            "  {:<4} {:<12} {:<7} {}\n",
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
        json!({"ok": ok, "account": code, "steps": steps}),
        text.trim_end().to_owned(),
    )
}
