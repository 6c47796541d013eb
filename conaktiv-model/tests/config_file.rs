//! The configuration file: the shipped examples, the TOML round trip, error locations, and
//! secrets that never show in Debug, Display or errors.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::path::Path;

use conaktiv_model::config::{
    AuthScheme, BatchTask, EwsServer, MailServerKind, Master, OAuthApp, ServerCredentials,
    ServerKind, SyncFolder, SyncRule, SyncTable, Validity,
};
use conaktiv_model::{
    ConfigError, Configuration, EmailAddress, FolderPath, GroupName, HttpsUrl, IntervalMinutes,
    Port, Secret, UserName,
};

fn repo_file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("config")
        .join(name)
}

const EXAMPLE_SECRETS: [&str; 4] = [
    "FAKE-onprem-admin-password",
    "FAKE-oauth-client-secret",
    "FAKE-imap-password",
    "FAKE-smtp-password",
];

#[test]
fn example_loads_and_validates() {
    let config = Configuration::load(repo_file("example.toml")).unwrap();
    assert_eq!(config.servers.len(), 2);
    assert_eq!(config.mail_accounts.len(), 3);
    assert_eq!(config.rules.len(), 4);
    assert_eq!(config.batch_tasks.len(), 2);

    let buero = config.server("exchange büro").unwrap();
    match buero.credentials().unwrap() {
        ServerCredentials::OnPremises {
            user,
            password,
            scheme,
        } => {
            assert_eq!(user, "AGENTUR\\exchange-admin");
            assert_eq!(password.expose(), "FAKE-onprem-admin-password");
            assert_eq!(scheme, AuthScheme::Ntlm);
        }
        other => panic!("expected on-premises credentials, got {other:?}"),
    }
    let online = config.server("Exchange Online").unwrap();
    assert_eq!(online.kind, ServerKind::ExchangeOnline);
    match online.credentials().unwrap() {
        ServerCredentials::ExchangeOnline { admin_mailbox, app } => {
            assert_eq!(
                admin_mailbox.as_str(),
                "exchange-sync@agentur-beispiel.example"
            );
            assert_eq!(
                app.token_endpoint(),
                "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/oauth2/v2.0/token"
            );
            assert_eq!(app.scope(), OAuthApp::DEFAULT_SCOPE);
        }
        other => panic!("expected OAuth credentials, got {other:?}"),
    }

    let info = config.mail_account("info").unwrap();
    assert_eq!(info.server_kind, MailServerKind::ImapSmtp);
    let smtp = info.smtp.as_ref().unwrap();
    assert_eq!(smtp.port.get(), 587);
    assert_eq!(smtp.throttle.unwrap().delay_minutes.minutes(), 5);
    assert!(info.receiving.keep_copy_on_server);
    assert_eq!(
        config.mail_accounts_of(&UserName::new("MMueller")).count(),
        2
    );

    // rule lookup: user rule beats group rule beats all-users rule
    let mm = UserName::new("mmueller");
    let vertrieb = [GroupName::new("Vertrieb")];
    assert_eq!(
        config
            .rule_for(SyncTable::Tasks, &mm, &[])
            .map(|r| r.description.as_str()),
        Some("Aufgaben Müller")
    );
    assert_eq!(
        config.rule_for(SyncTable::Tasks, &UserName::new("jschulz"), &[]),
        None
    );
    assert_eq!(
        config
            .rule_for(
                SyncTable::Appointments,
                &UserName::new("jschulz"),
                &vertrieb
            )
            .map(|r| r.description.as_str()),
        Some("Termine Vertrieb")
    );
    let mail_rule = config.rule_for(SyncTable::Email, &mm, &[]).unwrap();
    assert!(mail_rule.covers(&FolderPath::new("/Inbox/Projekte/2025").unwrap()));
    assert!(!mail_rule.covers(&FolderPath::new("/Sent Items/Alt").unwrap()));

    assert_eq!(config.batch_tasks[0].group, "Exchange Abgleich");
    assert_eq!(config.batch_tasks[0].interval_minutes.minutes(), 15);
}

#[test]
fn demo_loads_and_points_at_loopback() {
    let config = Configuration::load(repo_file("demo.toml")).unwrap();
    assert!(!config.servers.is_empty());
    for server in &config.servers {
        assert!(server.url.is_loopback(), "{}", server.url);
    }
    let moved = config.with_loopback_port(Port::new(18080).unwrap());
    for server in &moved.servers {
        assert_eq!(
            server.url.as_str(),
            "http://127.0.0.1:18080/EWS/Exchange.asmx"
        );
    }
    let app = moved
        .server("Mock Exchange Online")
        .unwrap()
        .oauth
        .as_ref()
        .unwrap();
    assert_eq!(
        app.token_endpoint(),
        "http://127.0.0.1:18080/oauth2/v2.0/token"
    );
    assert_eq!(moved.validate(), Ok(()));
    // non-loopback URLs stay as they are
    let example = Configuration::load(repo_file("example.toml")).unwrap();
    assert_eq!(
        example.with_loopback_port(Port::new(18080).unwrap()),
        example
    );
    let tables: Vec<SyncTable> = config.rules.iter().map(|r| r.table).collect();
    for table in SyncTable::ALL {
        assert!(tables.contains(&table), "demo has no rule for {table:?}");
    }
}

#[test]
fn debug_display_and_errors_hide_every_secret() {
    let text = std::fs::read_to_string(repo_file("example.toml")).unwrap();
    let config = Configuration::from_toml_str(&text, "example.toml").unwrap();
    let debug = format!("{config:?}");
    let pretty = format!("{config:#?}");
    for secret in EXAMPLE_SECRETS {
        assert!(text.contains(secret), "example lacks {secret}");
        assert!(!debug.contains(secret), "Debug shows {secret}");
        assert!(!pretty.contains(secret), "pretty Debug shows {secret}");
    }
    assert!(debug.contains("[redacted]"));

    // An invalid configuration's error must not show secrets either.
    let broken = text.replace("kind = \"on_premises\"", "kind = \"exchange_online\"");
    let err = Configuration::from_toml_str(&broken, "example.toml").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("servers[0].admin_password"), "{shown}");
    for secret in EXAMPLE_SECRETS {
        assert!(!shown.contains(secret), "error shows {secret}: {shown}");
    }
}

#[test]
fn toml_round_trip_keeps_everything_including_secrets() {
    let text = std::fs::read_to_string(repo_file("example.toml")).unwrap();
    let config = Configuration::from_toml_str(&text, "example.toml").unwrap();
    let written = config.to_toml_string().unwrap();
    for secret in EXAMPLE_SECRETS {
        assert!(written.contains(secret), "the file must keep {secret}");
    }
    let again = Configuration::from_toml_str(&written, "written.toml").unwrap();
    assert_eq!(again, config);
    // and a second round gives the same text
    assert_eq!(again.to_toml_string().unwrap(), written);
}

#[test]
fn round_trip_of_a_configuration_built_in_code() {
    let url = |s: &str| HttpsUrl::parse(s).unwrap();
    let config = Configuration {
        servers: vec![
            EwsServer::on_premises(
                "Büro",
                url("https://mail.agentur.example/EWS/Exchange.asmx"),
                "admin",
                Secret::new("code-secret-1"),
                AuthScheme::Basic,
            ),
            EwsServer::exchange_online(
                "Online",
                url("https://outlook.office365.com/EWS/Exchange.asmx"),
                EmailAddress::new("sync@agentur.example").unwrap(),
                OAuthApp {
                    tenant_id: "t".into(),
                    client_id: "c".into(),
                    client_secret: Secret::new("code-secret-2"),
                    token_url: Some(url("http://127.0.0.1:9/token")),
                    scope: Some("https://outlook.office365.com/.default".into()),
                },
            ),
        ],
        mail_accounts: vec![],
        rules: vec![SyncRule {
            validity: Validity::Group,
            validity_name: Some("Vertrieb".into()),
            new_items_folder: Some(FolderPath::new("/Calendar/ConAktiv").unwrap()),
            filter: "Termin.Typ = 'Kunde'".into(),
            ..SyncRule::new(
                "Termine",
                SyncTable::Appointments,
                Master::Exchange,
                vec![SyncFolder::new(
                    FolderPath::new("/Calendar").unwrap(),
                    conaktiv_model::Subfolders::Included,
                )],
            )
        }],
        batch_tasks: vec![BatchTask::on_server(
            "Exchange Abgleich",
            "Termine",
            "app01",
            IntervalMinutes::new(10).unwrap(),
        )],
        mailbox_routes: vec![conaktiv_model::config::MailboxRoute {
            server: "Online".into(),
            mail_domains: vec!["cloud.agentur.example".into()],
            ..Default::default()
        }],
        state: Some(conaktiv_model::config::StateSettings {
            url: "postgres://conaktiv@127.0.0.1:5432/conaktiv".into(),
            password: Secret::new("pg-secret-1"),
            max_connections: Some(8),
        }),
    };
    assert!(!format!("{config:?}").contains("pg-secret-1"));
    assert_eq!(config.validate(), Ok(()));
    let route = config
        .route_for("anna", "anna@cloud.agentur.example")
        .unwrap();
    assert_eq!(route.server.name, "Online");
    assert_eq!(
        route.reason,
        conaktiv_model::config::RouteReason::MailDomain
    );
    let other = config.route_for("bert", "bert@agentur.example").unwrap();
    assert_eq!(other.server.name, "Büro");
    let written = config.to_toml_string().unwrap();
    let again = Configuration::from_toml_str(&written, "built.toml").unwrap();
    assert_eq!(again, config);
    assert!(!format!("{config:?}").contains("code-secret"));
}

/// Parse and type errors: (text, expected "file:line" prefix, field, message substring).
#[test]
fn parse_errors_name_file_line_and_field() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // TOML syntax error
        (
            "[[servers]]\nname = \"A\nurl = 1\n",
            "bad.toml:2:",
            "(document)",
            "",
        ),
        // wrong type
        (
            "[[servers]]\nname = \"A\"\nurl = \"https://a.example/EWS/Exchange.asmx\"\nkind = 3\n",
            "bad.toml:4:",
            "servers[0].kind",
            "",
        ),
        // unknown enum value
        (
            "[[servers]]\nname = \"A\"\nurl = \"https://a.example/EWS/Exchange.asmx\"\nkind = \"cloud\"\n",
            "bad.toml:4:",
            "servers[0].kind",
            "unknown variant `cloud`",
        ),
        // misspelt field
        (
            "[[servers]]\nname = \"A\"\nurl = \"https://a.example/EWS/Exchange.asmx\"\nkind = \"on_premises\"\nadmin_pasword = \"x\"\n",
            "bad.toml:5:",
            "servers[0].admin_pasword",
            "unknown field `admin_pasword`",
        ),
        // missing field
        (
            "\n\n[[servers]]\nname = \"A\"\nkind = \"on_premises\"\n",
            "bad.toml:3:",
            "servers[0].url",
            "missing field `url`",
        ),
        // unknown top-level table
        (
            "[[server]]\nname = \"A\"\n",
            "bad.toml:1:",
            "server",
            "unknown field `server`",
        ),
        // value rule inside an inline array
        (
            "[[rules]]\ndescription = \"K\"\ntable = \"contacts\"\nmaster = \"conaktiv\"\nsync_folders = [\n  { path = \"/Contacts\" },\n  { path = \"/Contacts/\" },\n]\n",
            "bad.toml:7:",
            "rules[0].sync_folders[1].path",
            "must not end with '/'",
        ),
    ];
    for (text, prefix, field, message) in cases {
        let err = Configuration::parse_toml_str(text, "bad.toml").unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with(prefix),
            "{text:?}: want {prefix}, got {shown}"
        );
        assert!(
            shown.contains(&format!(": {field}: ")),
            "{text:?}: want {field}, got {shown}"
        );
        assert!(
            shown.contains(message),
            "{text:?}: want {message}, got {shown}"
        );
        assert!(err.line().is_some(), "{shown}");
        assert_eq!(err.field().as_deref(), Some(*field));
    }
}

#[test]
fn a_secret_of_the_wrong_type_is_not_echoed() {
    let text = "[[servers]]\nname = \"A\"\nurl = \"https://a.example/EWS/Exchange.asmx\"\nkind = \"on_premises\"\nadmin_user = \"u\"\nadmin_password = 987654321\n";
    let err = Configuration::from_toml_str(text, "bad.toml").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("bad.toml:6:"), "{shown}");
    assert!(shown.contains("servers[0].admin_password"), "{shown}");
    assert!(!shown.contains("987654321"), "{shown}");
}

#[test]
fn a_secret_in_the_wrong_place_is_not_echoed() {
    // The client secret typed straight into `oauth` instead of its table.
    let text = "[[servers]]\nname = \"A\"\nurl = \"https://a.example/EWS/Exchange.asmx\"\nkind = \"exchange_online\"\noauth = \"FAKE-misplaced-secret\"\n";
    let err = Configuration::from_toml_str(text, "bad.toml").unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("bad.toml:5:"), "{shown}");
    assert!(shown.contains("servers[0].oauth"), "{shown}");
    assert!(!shown.contains("FAKE-misplaced-secret"), "{shown}");
}

#[test]
fn load_reports_a_missing_file_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = Configuration::load(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("nope.toml"), "{err}");
    assert!(!err.is_transient());
}

#[test]
fn load_names_the_real_path_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conaktiv.toml");
    std::fs::write(&path, "[[batch_tasks]]\ngroup = \"G\"\ntask = \"T\"\nrun_on = \"client\"\ninterval_minutes = -5\n").unwrap();
    let err = Configuration::load(&path).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}:5:", path.display())),
        "{shown}"
    );
    assert!(shown.contains("batch_tasks[0].interval_minutes"), "{shown}");
    assert!(shown.contains("at least 1 minute"), "{shown}");
}

#[test]
fn empty_file_is_an_empty_valid_configuration() {
    let config = Configuration::from_toml_str("# nothing yet\n", "empty.toml").unwrap();
    assert_eq!(config, Configuration::default());
}

#[test]
fn the_state_section_is_checked() {
    let text = |state: &str| format!("[state]\n{state}\n");
    let ok = Configuration::from_toml_str(&text("url = \"postgres://c@127.0.0.1/db\""), "s.toml")
        .unwrap();
    assert_eq!(
        ok.state.as_ref().unwrap().location(),
        Ok(conaktiv_model::config::StateLocation::Postgres(
            "postgres://c@127.0.0.1/db".into()
        ))
    );
    for (bad, field) in [
        ("url = \"postgres://c:pw@127.0.0.1/db\"", "state.url"),
        ("url = \"mysql://c@h/db\"", "state.url"),
        ("url = \"sqlite:\"\npassword = \"x\"", "state.password"),
        (
            "url = \"postgres://c@h/db\"\nmax_connections = 0",
            "state.max_connections",
        ),
    ] {
        // Loading validates: the problem names the file, line and field.
        let e = Configuration::from_toml_str(&text(bad), "s.toml").unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(
            shown.contains("s.toml:2:") || shown.contains("s.toml:3:"),
            "{bad}: {shown}"
        );
        assert!(shown.contains(field), "{bad}: {shown}");
        assert!(!shown.contains("pw@"), "no password in errors: {shown}");
    }
}
