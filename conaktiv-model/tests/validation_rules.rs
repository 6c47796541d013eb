//! Every validation rule, data-driven: a failing TOML text and a passing one.
//!
//! In each failing text, the line the error must point at carries the marker `#!`. The test
//! checks that the error names the file, that line and the field, and says what is wrong;
//! and that the passing text loads and validates.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use conaktiv_model::{ConfigError, Configuration};

const FILE: &str = "rules-test.toml";

macro_rules! onprem {
    () => {
        r#"
[[servers]]
name = "Büro"
url = "https://mail.agentur.example/EWS/Exchange.asmx"
kind = "on_premises"
admin_user = "AGENTUR\\admin"
admin_password = "FAKE-pw-1"
auth_scheme = "ntlm"
"#
    };
}

/// An Exchange Online server record with the given lines (the setting under test) before its
/// OAuth app.
macro_rules! online_with {
    ($($line:literal),*) => {
        concat!(
            "\n[[servers]]\nname = \"Online\"\n",
            "url = \"https://outlook.office365.com/EWS/Exchange.asmx\"\n",
            "kind = \"exchange_online\"\nadmin_mailbox = \"sync@agentur.example\"\n",
            $($line,)*
            "oauth = { tenant_id = \"t\", client_id = \"c\", client_secret = \"s\" }\n"
        )
    };
}

macro_rules! online {
    () => {
        r#"
[[servers]]
name = "Online"
url = "https://outlook.office365.com/EWS/Exchange.asmx"
kind = "exchange_online"
admin_mailbox = "sync@agentur.example"

[servers.oauth]
tenant_id = "tenant"
client_id = "client"
client_secret = "FAKE-secret-1"
"#
    };
}

macro_rules! rule_head {
    ($desc:literal) => {
        concat!(
            "\n[[rules]]\ndescription = \"",
            $desc,
            "\"\ntable = \"contacts\"\nmaster = \"conaktiv\"\n"
        )
    };
}

macro_rules! batch {
    ($extra:literal) => {
        concat!(
            "\n[[batch_tasks]]\ngroup = \"Exchange Abgleich\"\ntask = \"Kontakte\"\n",
            $extra
        )
    };
}

macro_rules! imap_account {
    ($imap:literal) => {
        imap_account!("", $imap)
    };
    ($mark:literal, $imap:literal) => {
        concat!(
            r#"
[[mail_accounts]]
short_code = "IN"
user = "mmueller"
account_name = "Info"
email = "info@agentur.example"
usage = "receive"
server_kind = "imap_smtp"

[mail_accounts.imap]"#,
            $mark,
            "\n",
            $imap
        )
    };
}

macro_rules! smtp_account {
    ($smtp:literal) => {
        smtp_account!("", $smtp)
    };
    ($mark:literal, $smtp:literal) => {
        concat!(
            r#"
[[mail_accounts]]
short_code = "OUT"
user = "mmueller"
account_name = "Versand"
email = "versand@agentur.example"
usage = "send"
server_kind = "imap_smtp"

[mail_accounts.smtp]"#,
            $mark,
            "\n",
            $smtp
        )
    };
}

macro_rules! exchange_account {
    ($code:literal, $user:literal, $extra:literal, $exchange:literal) => {
        concat!(
            "\n[[mail_accounts]]\nshort_code = \"",
            $code,
            "\"\nuser = \"",
            $user,
            "\"\naccount_name = \"Konto\"\nemail = \"",
            $code,
            "@agentur.example\"\nusage = \"both\"\nserver_kind = \"exchange\"\n",
            $extra,
            "\n[mail_accounts.exchange]\n",
            $exchange
        )
    };
    (mark; $code:literal, $user:literal, $extra:literal, $exchange:literal) => {
        concat!(
            "\n[[mail_accounts]]\nshort_code = \"",
            $code,
            "\"\nuser = \"",
            $user,
            "\"\naccount_name = \"Konto\"\nemail = \"",
            $code,
            "@agentur.example\"\nusage = \"both\"\nserver_kind = \"exchange\"\n",
            $extra,
            "\n[mail_accounts.exchange] #!\n",
            $exchange
        )
    };
}

struct Case {
    /// The rule under test.
    rule: &'static str,
    bad: &'static str,
    /// The field path the error must name.
    field: &'static str,
    /// A substring of the message.
    message: &'static str,
    good: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        // ---- URLs: https, except loopback ----
        Case {
            rule: "URL must be https",
            bad: r#"
[[servers]]
name = "Büro"
url = "http://mail.agentur.example/EWS/Exchange.asmx" #!
kind = "on_premises"
admin_user = "admin"
admin_password = "FAKE-pw-1"
auth_scheme = "basic"
"#,
            field: "servers[0].url",
            message: "must use https",
            good: r#"
[[servers]]
name = "Büro"
url = "http://127.0.0.1:8080/EWS/Exchange.asmx"
kind = "on_premises"
admin_user = "admin"
admin_password = "FAKE-pw-1"
auth_scheme = "basic"
"#,
        },
        Case {
            rule: "URL must not carry credentials",
            bad: r#"
[[servers]]
name = "Büro"
url = "https://admin:FAKE-pw-1@mail.agentur.example/EWS/Exchange.asmx" #!
kind = "on_premises"
"#,
            field: "servers[0].url",
            message: "must not contain a user name or password",
            good: onprem!(),
        },
        Case {
            rule: "pinned certificate fingerprint is 64 hex digits",
            bad: concat!(onprem!(), "pinned_certificate_sha256 = \"AB:CD:EF\" #!\n"),
            field: "servers[0].pinned_certificate_sha256",
            message: "64 hex digits",
            good: concat!(
                onprem!(),
                "pinned_certificate_sha256 = \"sha256 Fingerprint=FF:18:A2:14:CA:28:57:70:FE:FE:1B:35:FB:A0:42:5E:7D:3C:EA:10:86:F3:17:DD:13:E5:07:F1:4D:01:58:38\"\n"
            ),
        },
        // ---- ports 1..65535 ----
        Case {
            rule: "port 0",
            bad: imap_account!(
                "host = \"imap.provider.example\"\nport = 0 #!\ntls = \"implicit\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n"
            ),
            field: "mail_accounts[0].imap.port",
            message: "port must be 1 to 65535, got 0",
            good: imap_account!(
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n"
            ),
        },
        Case {
            rule: "port above 65535",
            bad: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 65536 #!\ntls = \"starttls\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\n"
            ),
            field: "mail_accounts[0].smtp.port",
            message: "got 65536",
            good: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 65535\ntls = \"starttls\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\n"
            ),
        },
        // ---- interval >= 1 minute ----
        Case {
            rule: "batch interval 0",
            bad: batch!("run_on = \"client\"\ninterval_minutes = 0 #!\n"),
            field: "batch_tasks[0].interval_minutes",
            message: "at least 1 minute",
            good: batch!("run_on = \"client\"\ninterval_minutes = 1\n"),
        },
        Case {
            rule: "throttle delay 0",
            bad: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\nthrottle = { after_mails = 10, delay_minutes = 0 } #!\n"
            ),
            field: "mail_accounts[0].smtp.throttle.delay_minutes",
            message: "at least 1 minute",
            good: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\nthrottle = { after_mails = 10, delay_minutes = 2 }\n"
            ),
        },
        Case {
            rule: "throttle after 0 mails",
            bad: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\nthrottle = { after_mails = 0, delay_minutes = 2 } #!\n"
            ),
            field: "mail_accounts[0].smtp.throttle.after_mails",
            message: "must be at least 1",
            good: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\nthrottle = { after_mails = 1, delay_minutes = 2 }\n"
            ),
        },
        Case {
            rule: "SMTP timeout 0",
            bad: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\ntimeout_seconds = 0 #!\n"
            ),
            field: "mail_accounts[0].smtp.timeout_seconds",
            message: "must be at least 1",
            good: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\ntimeout_seconds = 30\n"
            ),
        },
        // ---- Exchange Online ----
        Case {
            rule: "Exchange Online needs its OAuth app",
            bad: r#"
[[servers]] #!
name = "Online"
url = "https://outlook.office365.com/EWS/Exchange.asmx"
kind = "exchange_online"
admin_mailbox = "sync@agentur.example"
"#,
            field: "servers[0].oauth",
            message: "needs its OAuth app",
            good: online!(),
        },
        Case {
            rule: "an on-premises server speaks EWS, not Microsoft Graph",
            bad: r#"
[[servers]]
name = "Büro"
url = "https://mail.agentur.example/EWS/Exchange.asmx"
kind = "on_premises"
admin_user = "AGENTUR\\admin"
admin_password = "FAKE-pw-1"
auth_scheme = "ntlm"
api = "graph" #!
"#,
            field: "servers[0].api",
            message: "Microsoft Graph reaches only Exchange Online",
            good: onprem!(),
        },
        Case {
            rule: "the Graph calendar window is 1 to 3650 days",
            bad: online_with!(
                "graph_calendar_window = { past_days = 5000, future_days = 10 } #!\n"
            ),
            field: "servers[0].graph_calendar_window",
            message: "1 to 3650 days",
            good: online!(),
        },
        Case {
            rule: "the Graph request budget is 1 to 10000 requests per 1 to 3600 s",
            bad: online_with!(
                "graph_request_budget = { requests = 20000, window_secs = 600 } #!\n"
            ),
            field: "servers[0].graph_request_budget",
            message: "1 to 10000 requests",
            good: online!(),
        },
        Case {
            rule: "the concurrent EWS sync calls are 1 to 100",
            bad: concat!(onprem!(), "ews_concurrent_sync_calls = 0 #!\n"),
            field: "servers[0].ews_concurrent_sync_calls",
            message: "1 to 100",
            good: concat!(onprem!(), "ews_concurrent_sync_calls = 20\n"),
        },
        Case {
            rule: "the concurrent EWS sync calls apply only to a server that speaks EWS",
            bad: online_with!("ews_concurrent_sync_calls = 10 #!\n"),
            field: "servers[0].ews_concurrent_sync_calls",
            message: "only to a server that speaks EWS",
            good: online_with!("api = \"ews\"\n", "ews_concurrent_sync_calls = 10\n"),
        },
        Case {
            rule: "OAuth app needs its client secret",
            bad: r#"
[[servers]]
name = "Online"
url = "https://outlook.office365.com/EWS/Exchange.asmx"
kind = "exchange_online"
admin_mailbox = "sync@agentur.example"
oauth = { tenant_id = "t", client_id = "c", client_secret = "" } #!
"#,
            field: "servers[0].oauth.client_secret",
            message: "needs its client secret",
            good: online!(),
        },
        Case {
            rule: "OAuth app needs its tenant id",
            bad: r#"
[[servers]]
name = "Online"
url = "https://outlook.office365.com/EWS/Exchange.asmx"
kind = "exchange_online"
admin_mailbox = "sync@agentur.example"

[servers.oauth]
tenant_id = " " #!
client_id = "client"
client_secret = "FAKE-secret-1"
"#,
            field: "servers[0].oauth.tenant_id",
            message: "needs its tenant id",
            good: online!(),
        },
        Case {
            rule: "Exchange Online needs its admin mailbox",
            bad: r#"
[[servers]] #!
name = "Online"
url = "https://outlook.office365.com/EWS/Exchange.asmx"
kind = "exchange_online"
oauth = { tenant_id = "t", client_id = "c", client_secret = "FAKE-secret-1" }
"#,
            field: "servers[0].admin_mailbox",
            message: "needs its admin mailbox",
            good: online!(),
        },
        Case {
            rule: "Exchange Online takes no password",
            bad: r#"
[[servers]]
name = "Online"
url = "https://outlook.office365.com/EWS/Exchange.asmx"
kind = "exchange_online"
admin_mailbox = "sync@agentur.example"
admin_password = "FAKE-pw-9" #!
oauth = { tenant_id = "t", client_id = "c", client_secret = "FAKE-secret-1" }
"#,
            field: "servers[0].admin_password",
            message: "no longer accepts passwords",
            good: online!(),
        },
        // ---- on-premises ----
        Case {
            rule: "on-premises needs admin user",
            bad: r#"
[[servers]] #!
name = "Büro"
url = "https://mail.agentur.example/EWS/Exchange.asmx"
kind = "on_premises"
admin_password = "FAKE-pw-1"
auth_scheme = "ntlm"
"#,
            field: "servers[0].admin_user",
            message: "needs its admin user name",
            good: onprem!(),
        },
        Case {
            rule: "on-premises needs admin password",
            bad: r#"
[[servers]]
name = "Büro"
url = "https://mail.agentur.example/EWS/Exchange.asmx"
kind = "on_premises"
admin_user = "admin"
admin_password = "" #!
auth_scheme = "ntlm"
"#,
            field: "servers[0].admin_password",
            message: "needs its admin password",
            good: onprem!(),
        },
        Case {
            rule: "on-premises needs auth scheme",
            bad: r#"
[[servers]] #!
name = "Büro"
url = "https://mail.agentur.example/EWS/Exchange.asmx"
kind = "on_premises"
admin_user = "admin"
admin_password = "FAKE-pw-1"
"#,
            field: "servers[0].auth_scheme",
            message: "auth scheme",
            good: onprem!(),
        },
        Case {
            rule: "server names unique",
            bad: concat!(
                onprem!(),
                "\n[[servers]]\nname = \"büro\" #!\nurl = \"https://x.example/EWS/Exchange.asmx\"\nkind = \"on_premises\"\nadmin_user = \"a\"\nadmin_password = \"FAKE-pw-1\"\nauth_scheme = \"basic\"\n"
            ),
            field: "servers[1].name",
            message: "duplicate server name",
            good: concat!(onprem!(), online!()),
        },
        // ---- sync rules ----
        Case {
            rule: "new-items folder outside the sync folders",
            bad: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\", include_subfolders = true }]\nnew_items_folder = \"/Kontakte/Neu\" #!\n"
            ),
            field: "rules[0].new_items_folder",
            message: "lies outside the sync folders",
            good: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\", include_subfolders = true }]\nnew_items_folder = \"/Contacts/Neu\"\n"
            ),
        },
        Case {
            rule: "new-items folder below a sync folder without subfolders",
            bad: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\", include_subfolders = false }]\nnew_items_folder = \"/Contacts/Neu\" #!\n"
            ),
            field: "rules[0].new_items_folder",
            message: "lies outside the sync folders",
            good: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\", include_subfolders = false }, { path = \"/Contacts/Neu\" }]\nnew_items_folder = \"/Contacts/Neu\"\n"
            ),
        },
        Case {
            rule: "rule needs sync folders",
            bad: concat!(rule_head!("Kontakte"), "sync_folders = [] #!\n"),
            field: "rules[0].sync_folders",
            message: "at least one Exchange sync folder",
            good: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\" }]\n"
            ),
        },
        Case {
            rule: "user rule needs its user name",
            bad: concat!(
                "\n[[rules]] #!\ndescription = \"Kontakte\"\ntable = \"contacts\"\nmaster = \"conaktiv\"\n",
                "validity = \"user\"\nsync_folders = [{ path = \"/Contacts\" }]\n"
            ),
            field: "rules[0].validity_name",
            message: "needs the user name",
            good: concat!(
                rule_head!("Kontakte"),
                "validity = \"user\"\nvalidity_name = \"mmueller\"\nsync_folders = [{ path = \"/Contacts\" }]\n"
            ),
        },
        Case {
            rule: "group rule needs its group name",
            bad: concat!(
                rule_head!("Kontakte"),
                "validity = \"group\"\nvalidity_name = \"\" #!\nsync_folders = [{ path = \"/Contacts\" }]\n"
            ),
            field: "rules[0].validity_name",
            message: "needs the group name",
            good: concat!(
                rule_head!("Kontakte"),
                "validity = \"group\"\nvalidity_name = \"Vertrieb\"\nsync_folders = [{ path = \"/Contacts\" }]\n"
            ),
        },
        Case {
            rule: "all-users rule takes no name",
            bad: concat!(
                rule_head!("Kontakte"),
                "validity = \"all_users\"\nvalidity_name = \"mmueller\" #!\nsync_folders = [{ path = \"/Contacts\" }]\n"
            ),
            field: "rules[0].validity_name",
            message: "takes no user or group name",
            good: concat!(
                rule_head!("Kontakte"),
                "validity = \"all_users\"\nsync_folders = [{ path = \"/Contacts\" }]\n"
            ),
        },
        Case {
            rule: "overwrite completely in both directions",
            bad: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\" }]\nto_exchange = { overwrite_completely = true }\nto_conaktiv = { overwrite_completely = true } #!\n"
            ),
            field: "rules[0].to_conaktiv.overwrite_completely",
            message: "contradictory",
            good: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\" }]\nto_exchange = { overwrite_completely = true }\nto_conaktiv = { transfer_new = true }\n"
            ),
        },
        Case {
            rule: "two rules for the same target and table",
            bad: concat!(
                rule_head!("Kontakte A"),
                "validity = \"user\"\nvalidity_name = \"mmueller\"\nsync_folders = [{ path = \"/Contacts\" }]\n",
                rule_head!("Kontakte B"),
                "validity = \"user\" #!\nvalidity_name = \"MMueller\"\nsync_folders = [{ path = \"/Contacts/B\" }]\n"
            ),
            field: "rules[1].validity",
            message: "conflicts with rule \"Kontakte A\"",
            good: concat!(
                rule_head!("Kontakte A"),
                "validity = \"user\"\nvalidity_name = \"mmueller\"\nsync_folders = [{ path = \"/Contacts\" }]\n",
                rule_head!("Kontakte B"),
                "validity = \"user\"\nvalidity_name = \"jschulz\"\nsync_folders = [{ path = \"/Contacts/B\" }]\n"
            ),
        },
        Case {
            rule: "rule descriptions unique",
            bad: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\" }]\n",
                "\n[[rules]]\ndescription = \"Kontakte\" #!\ntable = \"tasks\"\nmaster = \"conaktiv\"\nsync_folders = [{ path = \"/Tasks\" }]\n"
            ),
            field: "rules[1].description",
            message: "duplicate rule description",
            good: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Contacts\" }]\n",
                "\n[[rules]]\ndescription = \"Aufgaben\"\ntable = \"tasks\"\nmaster = \"conaktiv\"\nsync_folders = [{ path = \"/Tasks\" }]\n"
            ),
        },
        Case {
            rule: "folder path syntax",
            bad: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"Contacts/\" }] #!\n"
            ),
            field: "rules[0].sync_folders[0].path",
            message: "must start with '/'",
            good: concat!(
                rule_head!("Kontakte"),
                "sync_folders = [{ path = \"/Kontakte\" }]\n"
            ),
        },
        // ---- batch tasks ----
        Case {
            rule: "batch task on a server needs the server name",
            bad: "\n[[batch_tasks]] #!\ngroup = \"Exchange Abgleich\"\ntask = \"Kontakte\"\nrun_on = \"server\"\ninterval_minutes = 15\n",
            field: "batch_tasks[0].server_name",
            message: "needs the server name",
            good: batch!("run_on = \"server\"\nserver_name = \"app01\"\ninterval_minutes = 15\n"),
        },
        Case {
            rule: "batch tasks unique",
            bad: concat!(
                batch!("run_on = \"client\"\ninterval_minutes = 15\n"),
                "\n[[batch_tasks]]\ngroup = \"Exchange Abgleich\"\ntask = \"kontakte\" #!\nrun_on = \"client\"\ninterval_minutes = 5\n"
            ),
            field: "batch_tasks[1].task",
            message: "duplicate batch task",
            good: concat!(
                batch!("run_on = \"client\"\ninterval_minutes = 15\n"),
                "\n[[batch_tasks]]\ngroup = \"Exchange Abgleich\"\ntask = \"Mails\"\nrun_on = \"client\"\ninterval_minutes = 5\n"
            ),
        },
        // ---- mail accounts ----
        Case {
            rule: "account must name an existing EWS server",
            bad: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Buero\" #!\nuse_admin_account = true\n"
                )
            ),
            field: "mail_accounts[0].exchange.server",
            message: "names the EWS server \"Buero\", which is not configured",
            good: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                )
            ),
        },
        Case {
            rule: "own Exchange credentials need a password",
            bad: concat!(
                onprem!(),
                exchange_account!(mark; "MM1", "mmueller", "", "server = \"Büro\"\nuse_admin_account = false\nuser = \"mmueller\"\n")
            ),
            field: "mail_accounts[0].exchange.password",
            message: "own credentials need a password",
            good: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Büro\"\nuse_admin_account = false\nuser = \"mmueller\"\npassword = \"FAKE-pw-4\"\n"
                )
            ),
        },
        Case {
            rule: "Exchange Online accounts use the administrator account",
            bad: concat!(
                online!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Online\"\nuse_admin_account = false #!\nuser = \"mmueller\"\npassword = \"FAKE-pw-4\"\n"
                )
            ),
            field: "mail_accounts[0].exchange.use_admin_account",
            message: "Exchange Online accepts no passwords",
            good: concat!(
                online!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Online\"\nuse_admin_account = true\n"
                )
            ),
        },
        Case {
            rule: "Exchange account needs Exchange settings",
            bad: "\n[[mail_accounts]] #!\nshort_code = \"X\"\nuser = \"u\"\naccount_name = \"X\"\nemail = \"x@agentur.example\"\nusage = \"both\"\nserver_kind = \"exchange\"\n",
            field: "mail_accounts[0].exchange",
            message: "needs its Exchange settings",
            good: concat!(
                onprem!(),
                exchange_account!(
                    "X",
                    "u",
                    "",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                )
            ),
        },
        Case {
            rule: "short codes unique",
            bad: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                ),
                "\n[[mail_accounts]]\nshort_code = \"mm1\" #!\nuser = \"jschulz\"\naccount_name = \"Konto\"\nemail = \"js@agentur.example\"\nusage = \"both\"\nserver_kind = \"exchange\"\nexchange = { server = \"Büro\", use_admin_account = true }\n"
            ),
            field: "mail_accounts[1].short_code",
            message: "duplicate short code",
            good: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                ),
                exchange_account!(
                    "JS1",
                    "jschulz",
                    "",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                )
            ),
        },
        Case {
            rule: "one account per user and address",
            bad: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                ),
                "\n[[mail_accounts]]\nshort_code = \"MM2\"\nuser = \"mmueller\"\naccount_name = \"Konto\"\nemail = \"MM1@agentur.example\" #!\nusage = \"both\"\nserver_kind = \"exchange\"\nexchange = { server = \"Büro\", use_admin_account = true }\n"
            ),
            field: "mail_accounts[1].email",
            message: "duplicate user and address",
            good: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                ),
                exchange_account!(
                    "MM2",
                    "mmueller",
                    "",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                )
            ),
        },
        Case {
            rule: "one default sending account per user",
            bad: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "default_for_sending = true\n",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                ),
                "\n[[mail_accounts]]\nshort_code = \"MM2\"\nuser = \"mmueller\"\naccount_name = \"Konto\"\nemail = \"mm2@agentur.example\"\ndefault_for_sending = true #!\nusage = \"both\"\nserver_kind = \"exchange\"\nexchange = { server = \"Büro\", use_admin_account = true }\n"
            ),
            field: "mail_accounts[1].default_for_sending",
            message: "more than one default account",
            good: concat!(
                onprem!(),
                exchange_account!(
                    "MM1",
                    "mmueller",
                    "default_for_sending = true\n",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                ),
                exchange_account!(
                    "JS1",
                    "jschulz",
                    "default_for_sending = true\n",
                    "server = \"Büro\"\nuse_admin_account = true\n"
                )
            ),
        },
        Case {
            rule: "receive-only account is not the default for sending",
            bad: imap_account!(
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n\n[[mail_accounts]]\nshort_code = \"IN2\"\nuser = \"jschulz\"\naccount_name = \"Info\"\nemail = \"info2@agentur.example\"\ndefault_for_sending = true #!\nusage = \"receive\"\nserver_kind = \"imap_smtp\"\nimap = { host = \"imap.provider.example\", port = 993, tls = \"implicit\", user = \"u\", password = \"FAKE-pw-2\" }\n"
            ),
            field: "mail_accounts[1].default_for_sending",
            message: "cannot be the default for sending",
            good: imap_account!(
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n"
            ),
        },
        Case {
            rule: "receiving IMAP/SMTP account needs IMAP settings",
            bad: "\n[[mail_accounts]] #!\nshort_code = \"IN\"\nuser = \"u\"\naccount_name = \"Info\"\nemail = \"info@agentur.example\"\nusage = \"receive\"\nserver_kind = \"imap_smtp\"\n",
            field: "mail_accounts[0].imap",
            message: "needs IMAP settings",
            good: imap_account!(
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n"
            ),
        },
        Case {
            rule: "sending IMAP/SMTP account needs SMTP settings",
            bad: "\n[[mail_accounts]] #!\nshort_code = \"OUT\"\nuser = \"u\"\naccount_name = \"Versand\"\nemail = \"v@agentur.example\"\nusage = \"send\"\nserver_kind = \"imap_smtp\"\n",
            field: "mail_accounts[0].smtp",
            message: "needs SMTP settings",
            good: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nauth = \"none\"\n"
            ),
        },
        Case {
            rule: "IMAP needs a password or an OAuth app",
            bad: imap_account!(
                " #!",
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\n"
            ),
            field: "mail_accounts[0].imap.password",
            message: "needs a password or an OAuth app",
            good: imap_account!(
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\noauth = { tenant_id = \"t\", client_id = \"c\", client_secret = \"FAKE-secret-2\" }\n"
            ),
        },
        Case {
            rule: "IMAP takes a password or an OAuth app, not both",
            bad: imap_account!(
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\noauth = { tenant_id = \"t\", client_id = \"c\", client_secret = \"FAKE-secret-2\" } #!\n"
            ),
            field: "mail_accounts[0].imap.oauth",
            message: "not both",
            good: imap_account!(
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n"
            ),
        },
        Case {
            rule: "no TLS only for loopback hosts",
            bad: imap_account!(
                "host = \"imap.provider.example\"\nport = 143\ntls = \"none\" #!\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n"
            ),
            field: "mail_accounts[0].imap.tls",
            message: "only allowed for loopback hosts",
            good: imap_account!(
                "host = \"127.0.0.1\"\nport = 1143\ntls = \"none\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n"
            ),
        },
        Case {
            rule: "SMTP login needs a password",
            bad: smtp_account!(
                " #!",
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nauth = \"login\"\nuser = \"u\"\n"
            ),
            field: "mail_accounts[0].smtp.password",
            message: "needs a password",
            good: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nauth = \"login\"\nuser = \"u\"\npassword = \"FAKE-pw-3\"\n"
            ),
        },
        Case {
            rule: "SMTP xoauth2 needs an OAuth app",
            bad: smtp_account!(
                " #!",
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nauth = \"xoauth2\"\nuser = \"u\"\n"
            ),
            field: "mail_accounts[0].smtp.oauth",
            message: "needs an OAuth app",
            good: smtp_account!(
                "host = \"smtp.provider.example\"\nport = 587\ntls = \"starttls\"\nauth = \"xoauth2\"\nuser = \"u\"\noauth = { tenant_id = \"t\", client_id = \"c\", client_secret = \"FAKE-secret-3\" }\n"
            ),
        },
        Case {
            rule: "e-mail address syntax",
            bad: "\n[[mail_accounts]]\nshort_code = \"IN\"\nuser = \"u\"\naccount_name = \"Info\"\nemail = \"info-at-agentur.example\" #!\nusage = \"receive\"\nserver_kind = \"imap_smtp\"\n",
            field: "mail_accounts[0].email",
            message: "invalid e-mail address",
            good: imap_account!(
                "host = \"imap.provider.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\npassword = \"FAKE-pw-2\"\n"
            ),
        },
    ]
}

/// The 1-based line carrying the `#!` marker.
fn marked_line(text: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("#!"))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "exactly one marker expected in:\n{text}");
    lines[0]
}

#[test]
fn every_rule_has_a_failing_and_a_passing_case() {
    let mut failures = Vec::new();
    for case in cases() {
        // failing case
        match Configuration::from_toml_str(case.bad, FILE) {
            Ok(_) => failures.push(format!("{}: bad text was accepted", case.rule)),
            Err(err) => {
                let text = err.to_string();
                let line = marked_line(case.bad);
                // The error line that names the field must start with file:line and carry the message.
                let hit = text
                    .lines()
                    .find(|l| l.contains(&format!(": {}", case.field)) && l.contains(case.message));
                match hit {
                    None => failures.push(format!(
                        "{}: no error naming {} with {:?}; got:\n{text}",
                        case.rule, case.field, case.message
                    )),
                    Some(l) if !l.starts_with(&format!("{FILE}:{line}:")) => {
                        failures.push(format!("{}: expected {FILE}:{line}, got: {l}", case.rule))
                    }
                    Some(_) => {}
                }
                // No secret of the text may appear in the error.
                for secret in [
                    "FAKE-pw-1",
                    "FAKE-pw-2",
                    "FAKE-pw-3",
                    "FAKE-pw-4",
                    "FAKE-pw-9",
                    "FAKE-secret",
                ] {
                    if text.contains(secret) {
                        failures.push(format!("{}: error shows a secret: {text}", case.rule));
                    }
                }
            }
        }
        // passing case
        if let Err(err) = Configuration::from_toml_str(case.good, FILE) {
            failures.push(format!("{}: good text was rejected:\n{err}", case.rule));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = concat!(
        "\n[[servers]]\nname = \"Online\"\nurl = \"https://outlook.office365.com/EWS/Exchange.asmx\"\nkind = \"exchange_online\"\n",
        rule_head!("Kontakte"),
        "validity = \"user\"\nsync_folders = [{ path = \"/Contacts\" }]\nto_exchange = { overwrite_completely = true }\nto_conaktiv = { overwrite_completely = true }\n"
    );
    let err = Configuration::from_toml_str(text, FILE).unwrap_err();
    let fields: Vec<String> = err
        .validation_errors()
        .iter()
        .map(|e| e.error.path.to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "servers[0].admin_mailbox",
            "servers[0].oauth",
            "rules[0].validity_name",
            "rules[0].to_conaktiv.overwrite_completely"
        ]
    );
    assert!(matches!(err, ConfigError::Invalid { .. }));
    assert_eq!(err.field().as_deref(), Some("servers[0].admin_mailbox"));
    assert_eq!(err.line(), Some(2));
}
