//! Validation of a whole [`Configuration`]: every problem is collected, and each error names
//! the record (by its name, short code or description) and the field path (`rules[2].validity_name`).

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::config::ImapSettings;
use crate::config::{
    AuthMechanism, BatchTask, Configuration, EwsServer, MailAccount, MailServerKind, RunOn,
    ServerKind, SmtpSettings, SyncRule, TlsMode, Validity,
};
use crate::values::is_loopback_host;

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Where a field lives in the configuration file, for example `servers[0].url`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The empty path (the whole document).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut v = self.0.clone();
        v.push(PathSegment::Key(key.to_owned()));
        Self(v)
    }

    /// This path extended by an index.
    pub fn index(&self, index: usize) -> Self {
        let mut v = self.0.clone();
        v.push(PathSegment::Index(index));
        Self(v)
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                PathSegment::Key(k) if i == 0 => f.write_str(k)?,
                PathSegment::Key(k) => write!(f, ".{k}")?,
                PathSegment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationErrorKind {
    /// A required field is missing or empty.
    #[error("{0}")]
    Missing(&'static str),
    /// A field that must not be set in this combination.
    #[error("{0}")]
    NotAllowed(&'static str),
    /// Two records share a name that must be unique.
    #[error("duplicate {what} {value:?}; it must be unique")]
    Duplicate {
        /// What kind of name.
        what: &'static str,
        /// The name.
        value: String,
    },
    /// A reference to an EWS server that does not exist.
    #[error("names the EWS server {0:?}, which is not configured")]
    UnknownServer(String),
    /// The folder for new items lies outside the sync folders.
    #[error(
        "the folder for new items {0:?} lies outside the sync folders (it must be one of them, or below one that includes subfolders)"
    )]
    NewItemsFolderOutsideSyncFolders(String),
    /// "Overwrite completely" in both directions.
    #[error(
        "\"overwrite completely\" is set in both directions, which is contradictory (each side would replace the other)"
    )]
    OverwriteBothDirections,
    /// Two rules for the same validity target and table.
    #[error("conflicts with rule {other:?}: both apply to {target} for the same table")]
    ConflictingRules {
        /// The other rule's description.
        other: String,
        /// The shared target, for example `user "mmueller"`.
        target: String,
    },
    /// A connection without TLS to a host that is not a loopback address.
    #[error("TLS mode \"none\" is only allowed for loopback hosts, not {0:?}")]
    PlaintextNotLoopback(String),
    /// A number that must be at least 1.
    #[error("must be at least 1")]
    Zero,
    /// The `[state]` URL names no usable location.
    #[error("{0}")]
    InvalidState(&'static str),
    /// A user with more than one default sending account.
    #[error("user {0:?} has more than one default account for sending")]
    SeveralDefaults(String),
}

/// One validation problem: record, field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path} ({record}): {kind}")]
pub struct ValidationError {
    /// The record, named as a user would find it (`server "Exchange Büro"`).
    pub record: String,
    /// The field.
    pub path: FieldPath,
    /// The problem.
    pub kind: ValidationErrorKind,
}

struct Collector(Vec<ValidationError>);

impl Collector {
    fn push(&mut self, record: &str, path: FieldPath, kind: ValidationErrorKind) {
        self.0.push(ValidationError {
            record: record.to_owned(),
            path,
            kind,
        });
    }
}

fn blank(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.trim().is_empty())
}

impl Configuration {
    /// Checks every rule and returns all problems found.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut c = Collector(Vec::new());
        let root = FieldPath::root();
        check_servers(&mut c, self, &root.key("servers"));
        check_mail_accounts(&mut c, self, &root.key("mail_accounts"));
        check_rules(&mut c, self, &root.key("rules"));
        check_batch_tasks(&mut c, self, &root.key("batch_tasks"));
        check_mailbox_routes(&mut c, self, &root.key("mailbox_routes"));
        if let Some(state) = &self.state {
            let at = root.key("state");
            if let Err(why) = state.location() {
                c.push(
                    "state",
                    at.key("url"),
                    ValidationErrorKind::InvalidState(why),
                );
            }
            if state.max_connections == Some(0) {
                c.push(
                    "state",
                    at.key("max_connections"),
                    ValidationErrorKind::Zero,
                );
            }
            if !state.password.is_empty()
                && !matches!(
                    state.location(),
                    Ok(crate::config::StateLocation::Postgres(_))
                )
            {
                c.push(
                    "state",
                    at.key("password"),
                    ValidationErrorKind::NotAllowed(
                        "a password is only used with a postgres:// URL",
                    ),
                );
            }
        }
        if c.0.is_empty() { Ok(()) } else { Err(c.0) }
    }
}

/// Each server record, then unique names.
fn check_servers(c: &mut Collector, cfg: &Configuration, servers: &FieldPath) {
    for (i, s) in cfg.servers.iter().enumerate() {
        check_server(c, s, &servers.index(i));
    }
    unique(
        c,
        cfg.servers.iter().map(|s| s.name.clone()),
        servers,
        "name",
        "server name",
        |i| format!("server {:?}", cfg.servers[i].name),
    );
}

/// Each mail account, then unique short codes, unique user/address pairs and at most one
/// default sending account per user.
fn check_mail_accounts(c: &mut Collector, cfg: &Configuration, accounts: &FieldPath) {
    for (i, a) in cfg.mail_accounts.iter().enumerate() {
        check_account(c, cfg, a, &accounts.index(i));
    }
    unique(
        c,
        cfg.mail_accounts.iter().map(|a| a.short_code.clone()),
        accounts,
        "short_code",
        "short code",
        |i| format!("mail account {:?}", cfg.mail_accounts[i].short_code),
    );
    unique(
        c,
        cfg.mail_accounts
            .iter()
            .map(|a| format!("{} / {}", a.user, a.email.as_str().to_lowercase())),
        accounts,
        "email",
        "user and address",
        |i| format!("mail account {:?}", cfg.mail_accounts[i].short_code),
    );
    let mut defaults: HashSet<String> = HashSet::new();
    for (i, a) in cfg.mail_accounts.iter().enumerate() {
        if a.default_for_sending && !defaults.insert(a.user.as_str().to_lowercase()) {
            c.push(
                &format!("mail account {:?}", a.short_code),
                accounts.index(i).key("default_for_sending"),
                ValidationErrorKind::SeveralDefaults(a.user.to_string()),
            );
        }
    }
}

/// Each sync rule, then unique descriptions and no two rules for one target and table.
fn check_rules(c: &mut Collector, cfg: &Configuration, rules: &FieldPath) {
    for (i, r) in cfg.rules.iter().enumerate() {
        check_rule(c, r, &rules.index(i));
    }
    unique(
        c,
        cfg.rules.iter().map(|r| r.description.clone()),
        rules,
        "description",
        "rule description",
        |i| format!("rule {:?}", cfg.rules[i].description),
    );
    let mut seen: HashMap<_, usize> = HashMap::new();
    for (i, r) in cfg.rules.iter().enumerate() {
        if let Some(&first) = seen.get(&(r.target(), r.table)) {
            let other: &SyncRule = &cfg.rules[first];
            c.push(
                &format!("rule {:?}", r.description),
                rules.index(i).key("validity"),
                ValidationErrorKind::ConflictingRules {
                    other: other.description.clone(),
                    target: describe_target(r),
                },
            );
        } else {
            seen.insert((r.target(), r.table), i);
        }
    }
}

/// Each batch task, then unique task labels.
fn check_batch_tasks(c: &mut Collector, cfg: &Configuration, batch: &FieldPath) {
    for (i, b) in cfg.batch_tasks.iter().enumerate() {
        check_batch(c, b, &batch.index(i));
    }
    unique(
        c,
        cfg.batch_tasks.iter().map(BatchTask::label),
        batch,
        "task",
        "batch task",
        |i| format!("batch task {:?}", cfg.batch_tasks[i].label()),
    );
}

/// Each mailbox route; a user or mail domain is routed at most once across all routes.
fn check_mailbox_routes(c: &mut Collector, cfg: &Configuration, routes: &FieldPath) {
    let mut routed_users: HashSet<String> = HashSet::new();
    let mut routed_domains: HashSet<String> = HashSet::new();
    for (i, r) in cfg.mailbox_routes.iter().enumerate() {
        let at = routes.index(i);
        let rec = format!("mailbox route to {:?}", r.server);
        if cfg.server(&r.server).is_none() {
            c.push(
                &rec,
                at.key("server"),
                ValidationErrorKind::UnknownServer(r.server.clone()),
            );
        }
        if r.users.is_empty() && r.mail_domains.is_empty() {
            c.push(
                &rec,
                at.key("users"),
                ValidationErrorKind::Missing("a mailbox route needs users or mail domains"),
            );
        }
        for (j, u) in r.users.iter().enumerate() {
            if !routed_users.insert(u.as_str().to_lowercase()) {
                c.push(
                    &rec,
                    at.key("users").index(j),
                    ValidationErrorKind::Duplicate {
                        what: "routed user",
                        value: u.to_string(),
                    },
                );
            }
        }
        for (j, d) in r.mail_domains.iter().enumerate() {
            let at = at.key("mail_domains").index(j);
            match routed_domain(d) {
                None => c.push(
                    &rec,
                    at,
                    ValidationErrorKind::NotAllowed(
                        "a mail domain is a host name such as agentur.example",
                    ),
                ),
                Some(d) if !routed_domains.insert(d.clone()) => c.push(
                    &rec,
                    at,
                    ValidationErrorKind::Duplicate {
                        what: "routed mail domain",
                        value: d,
                    },
                ),
                Some(_) => {}
            }
        }
        if r.autodiscover_url.is_some() && !r.autodiscover {
            c.push(
                &rec,
                at.key("autodiscover_url"),
                ValidationErrorKind::NotAllowed("autodiscover_url needs autodiscover = true"),
            );
        }
    }
}

/// A route's mail domain, trimmed, without a leading `@` and lowercased; `None` when it is no
/// host name (empty, with an `@` or white space inside).
fn routed_domain(d: &str) -> Option<String> {
    let d = d.trim().trim_start_matches('@').to_lowercase();
    if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
        None
    } else {
        Some(d)
    }
}

fn describe_target(r: &SyncRule) -> String {
    let name = r.validity_name.as_deref().unwrap_or_default();
    match r.validity {
        Validity::AllUsers => "all users".to_owned(),
        Validity::User => format!("user {name:?}"),
        Validity::Group => format!("group {name:?}"),
    }
}

/// Reports every record whose key (case-insensitive, trimmed) repeats an earlier one's.
fn unique(
    c: &mut Collector,
    keys: impl Iterator<Item = String>,
    list: &FieldPath,
    field: &str,
    what: &'static str,
    record: impl Fn(usize) -> String,
) {
    let mut seen = HashSet::new();
    for (i, key) in keys.enumerate() {
        let norm = key.trim().to_lowercase();
        if norm.is_empty() {
            continue; // reported as missing by the record check
        }
        if !seen.insert(norm) {
            c.push(
                &record(i),
                list.index(i).key(field),
                ValidationErrorKind::Duplicate { what, value: key },
            );
        }
    }
}

fn check_server(c: &mut Collector, s: &EwsServer, at: &FieldPath) {
    use ValidationErrorKind::{Missing, NotAllowed};
    let rec = format!("server {:?}", s.name);
    if s.name.trim().is_empty() {
        c.push(&rec, at.key("name"), Missing("a server needs a name"));
    }
    if s.kind == ServerKind::OnPremises && s.api == Some(crate::config::ServerApi::Graph) {
        c.push(
            &rec,
            at.key("api"),
            NotAllowed(
                "Microsoft Graph reaches only Exchange Online mailboxes; an on-premises server speaks EWS",
            ),
        );
    }
    if let Some(n) = s.ews_concurrent_sync_calls {
        if !(1..=crate::config::server::MAX_EWS_CONCURRENT_SYNC_CALLS).contains(&n) {
            c.push(
                &rec,
                at.key("ews_concurrent_sync_calls"),
                NotAllowed("the concurrent EWS sync calls are 1 to 100"),
            );
        } else if s.effective_api() == crate::config::ServerApi::Graph {
            c.push(
                &rec,
                at.key("ews_concurrent_sync_calls"),
                NotAllowed(
                    "the concurrent EWS sync calls apply only to a server that speaks EWS (set api = \"ews\" or remove the field)",
                ),
            );
        }
    }
    if let Some(w) = s.graph_calendar_window {
        let max = crate::config::CalendarWindow::MAX_DAYS;
        if w.past_days > max || w.future_days > max || w.past_days + w.future_days == 0 {
            c.push(
                &rec,
                at.key("graph_calendar_window"),
                NotAllowed("the calendar window needs 1 to 3650 days back or ahead"),
            );
        }
    }
    if let Some(b) = s.graph_request_budget
        && (!(1..=10_000).contains(&b.requests) || !(1..=3600).contains(&b.window_secs))
    {
        c.push(
            &rec,
            at.key("graph_request_budget"),
            NotAllowed("the request budget needs 1 to 10000 requests per 1 to 3600 seconds"),
        );
    }
    match s.kind {
        ServerKind::OnPremises => {
            if blank(s.admin_user.as_deref()) {
                c.push(
                    &rec,
                    at.key("admin_user"),
                    Missing("an on-premises server needs its admin user name"),
                );
            }
            if s.admin_password.as_ref().is_none_or(|p| p.is_empty()) {
                c.push(
                    &rec,
                    at.key("admin_password"),
                    Missing("an on-premises server needs its admin password"),
                );
            }
            if s.auth_scheme.is_none() {
                c.push(
                    &rec,
                    at.key("auth_scheme"),
                    Missing("an on-premises server needs its auth scheme (ntlm or basic)"),
                );
            }
        }
        ServerKind::ExchangeOnline => {
            if s.admin_password.is_some() {
                c.push(
                    &rec,
                    at.key("admin_password"),
                    NotAllowed(
                        "Exchange Online no longer accepts passwords for EWS; configure the OAuth app instead",
                    ),
                );
            }
            if s.admin_mailbox.is_none() {
                c.push(
                    &rec,
                    at.key("admin_mailbox"),
                    Missing("an Exchange Online server needs its admin mailbox"),
                );
            }
            match &s.oauth {
                None => c.push(
                    &rec,
                    at.key("oauth"),
                    Missing(
                        "an Exchange Online server needs its OAuth app (tenant id, client id, client secret)",
                    ),
                ),
                Some(app) => check_oauth(c, &rec, app, &at.key("oauth")),
            }
        }
    }
}

fn check_oauth(c: &mut Collector, rec: &str, app: &crate::config::OAuthApp, at: &FieldPath) {
    use ValidationErrorKind::Missing;
    if app.tenant_id.trim().is_empty() {
        c.push(
            rec,
            at.key("tenant_id"),
            Missing("the OAuth app needs its tenant id"),
        );
    }
    if app.client_id.trim().is_empty() {
        c.push(
            rec,
            at.key("client_id"),
            Missing("the OAuth app needs its client id"),
        );
    }
    if app.client_secret.is_empty() {
        c.push(
            rec,
            at.key("client_secret"),
            Missing("the OAuth app needs its client secret"),
        );
    }
}

fn check_tls(c: &mut Collector, rec: &str, host: &str, tls: TlsMode, at: &FieldPath) {
    if host.trim().is_empty() {
        c.push(
            rec,
            at.key("host"),
            ValidationErrorKind::Missing("a host is required"),
        );
    } else if tls == TlsMode::None && !is_loopback_host(host.trim()) {
        c.push(
            rec,
            at.key("tls"),
            ValidationErrorKind::PlaintextNotLoopback(host.to_owned()),
        );
    }
}

fn check_imap(c: &mut Collector, rec: &str, imap: &ImapSettings, at: &FieldPath) {
    use ValidationErrorKind::{Missing, NotAllowed};
    check_tls(c, rec, &imap.host, imap.tls, at);
    if imap.user.trim().is_empty() {
        c.push(rec, at.key("user"), Missing("IMAP needs a user"));
    }
    match (&imap.password, &imap.oauth) {
        (None, None) => c.push(
            rec,
            at.key("password"),
            Missing("IMAP needs a password or an OAuth app"),
        ),
        (Some(_), Some(_)) => c.push(
            rec,
            at.key("oauth"),
            NotAllowed("IMAP takes a password or an OAuth app, not both"),
        ),
        (Some(p), None) if p.is_empty() => {
            c.push(
                rec,
                at.key("password"),
                Missing("the IMAP password is empty"),
            );
        }
        (None, Some(app)) => check_oauth(c, rec, app, &at.key("oauth")),
        _ => {}
    }
}

fn check_smtp(c: &mut Collector, rec: &str, smtp: &SmtpSettings, at: &FieldPath) {
    use ValidationErrorKind::{Missing, Zero};
    check_tls(c, rec, &smtp.host, smtp.tls, at);
    let needs_user = smtp.auth != AuthMechanism::None;
    if needs_user && blank(smtp.user.as_deref()) {
        c.push(
            rec,
            at.key("user"),
            Missing("SMTP authentication needs a user"),
        );
    }
    match smtp.auth {
        AuthMechanism::Plain | AuthMechanism::Login
            if smtp.password.as_ref().is_none_or(|p| p.is_empty()) =>
        {
            c.push(
                rec,
                at.key("password"),
                Missing("SMTP authentication with plain or login needs a password"),
            );
        }
        AuthMechanism::XOAuth2 => match &smtp.oauth {
            None => c.push(
                rec,
                at.key("oauth"),
                Missing("SMTP authentication with xoauth2 needs an OAuth app"),
            ),
            Some(app) => check_oauth(c, rec, app, &at.key("oauth")),
        },
        _ => {}
    }
    if smtp.timeout_seconds == 0 {
        c.push(rec, at.key("timeout_seconds"), Zero);
    }
    if smtp.throttle.is_some_and(|t| t.after_mails == 0) {
        c.push(rec, at.key("throttle").key("after_mails"), Zero);
    }
}

fn check_account(c: &mut Collector, cfg: &Configuration, a: &MailAccount, at: &FieldPath) {
    use ValidationErrorKind::{Missing, NotAllowed};
    let rec = format!("mail account {:?}", a.short_code);
    if a.short_code.trim().is_empty() {
        c.push(
            &rec,
            at.key("short_code"),
            Missing("a mail account needs a short code"),
        );
    }
    if a.user.as_str().trim().is_empty() {
        c.push(
            &rec,
            at.key("user"),
            Missing("a mail account needs its user"),
        );
    }
    if a.default_for_sending && !a.usage.sends() {
        c.push(
            &rec,
            at.key("default_for_sending"),
            NotAllowed("an account that does not send cannot be the default for sending"),
        );
    }
    match a.server_kind {
        MailServerKind::ImapSmtp => {
            match (&a.imap, a.usage.receives()) {
                (Some(imap), _) => check_imap(c, &rec, imap, &at.key("imap")),
                (None, true) => c.push(
                    &rec,
                    at.key("imap"),
                    Missing("an IMAP/SMTP account that receives needs IMAP settings"),
                ),
                (None, false) => {}
            }
            match (&a.smtp, a.usage.sends()) {
                (Some(smtp), _) => check_smtp(c, &rec, smtp, &at.key("smtp")),
                (None, true) => c.push(
                    &rec,
                    at.key("smtp"),
                    Missing("an IMAP/SMTP account that sends needs SMTP settings"),
                ),
                (None, false) => {}
            }
        }
        MailServerKind::Exchange => {
            let Some(ex) = &a.exchange else {
                c.push(
                    &rec,
                    at.key("exchange"),
                    Missing("an Exchange account needs its Exchange settings"),
                );
                return;
            };
            let at = at.key("exchange");
            let server = cfg.server(&ex.server);
            if server.is_none() {
                c.push(
                    &rec,
                    at.key("server"),
                    ValidationErrorKind::UnknownServer(ex.server.clone()),
                );
            }
            if !ex.use_admin_account {
                if server.is_some_and(|s| s.kind == ServerKind::ExchangeOnline) {
                    c.push(
                        &rec,
                        at.key("use_admin_account"),
                        NotAllowed(
                            "Exchange Online accepts no passwords for EWS; use the administrator account (OAuth app with impersonation)",
                        ),
                    );
                } else {
                    if blank(ex.user.as_deref()) {
                        c.push(
                            &rec,
                            at.key("user"),
                            Missing("own credentials need a user (or set use_admin_account)"),
                        );
                    }
                    if ex.password.as_ref().is_none_or(|p| p.is_empty()) {
                        c.push(
                            &rec,
                            at.key("password"),
                            Missing("own credentials need a password (or set use_admin_account)"),
                        );
                    }
                }
            }
        }
    }
}

fn check_rule(c: &mut Collector, r: &SyncRule, at: &FieldPath) {
    use ValidationErrorKind::{Missing, NotAllowed};
    let rec = format!("rule {:?}", r.description);
    if r.description.trim().is_empty() {
        c.push(
            &rec,
            at.key("description"),
            Missing("a rule needs a short description"),
        );
    }
    match r.validity {
        Validity::User if blank(r.validity_name.as_deref()) => c.push(
            &rec,
            at.key("validity_name"),
            Missing("a rule valid for one user needs the user name"),
        ),
        Validity::Group if blank(r.validity_name.as_deref()) => c.push(
            &rec,
            at.key("validity_name"),
            Missing("a rule valid for one group needs the group name"),
        ),
        Validity::AllUsers if r.validity_name.is_some() => c.push(
            &rec,
            at.key("validity_name"),
            NotAllowed("a rule valid for all users takes no user or group name"),
        ),
        _ => {}
    }
    if r.sync_folders.is_empty() {
        c.push(
            &rec,
            at.key("sync_folders"),
            Missing("a rule needs at least one Exchange sync folder"),
        );
    }
    if let Some(folder) = &r.new_items_folder
        && !r.sync_folders.is_empty()
        && !r.covers(folder)
    {
        c.push(
            &rec,
            at.key("new_items_folder"),
            ValidationErrorKind::NewItemsFolderOutsideSyncFolders(folder.to_string()),
        );
    }
    if r.to_exchange.overwrite_completely && r.to_conaktiv.overwrite_completely {
        c.push(
            &rec,
            at.key("to_conaktiv").key("overwrite_completely"),
            ValidationErrorKind::OverwriteBothDirections,
        );
    }
}

fn check_batch(c: &mut Collector, b: &BatchTask, at: &FieldPath) {
    use ValidationErrorKind::Missing;
    let rec = format!("batch task {:?}", b.label());
    if b.group.trim().is_empty() {
        c.push(
            &rec,
            at.key("group"),
            Missing("a batch task needs its task group"),
        );
    }
    if b.task.trim().is_empty() {
        c.push(&rec, at.key("task"), Missing("a batch task needs its task"));
    }
    if b.run_on == RunOn::Server && blank(b.server_name.as_deref()) {
        c.push(
            &rec,
            at.key("server_name"),
            Missing("a batch task that runs on a server needs the server name"),
        );
    }
    if b.run_as
        .as_ref()
        .is_some_and(|u| u.as_str().trim().is_empty())
    {
        c.push(&rec, at.key("run_as"), Missing("the run-as user is empty"));
    }
}
