//! Mailbox routes: which EWS server record serves whose mailbox.
//!
//! A configuration with one server needs no routes. With several (an on-premises Exchange
//! next to Exchange Online, or two on-premises organisations), each `[[mailbox_routes]]`
//! entry names a server record and the ConAktiv users and/or mail domains it serves; with
//! `autodiscover = true` the server record supplies only the credentials and TLS trust, and
//! the EWS endpoint of each mailbox is found by SOAP Autodiscover.

use serde::{Deserialize, Serialize};

use crate::ids::UserName;
use crate::values::HttpsUrl;

/// One route (`[[mailbox_routes]]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxRoute {
    /// The name of the EWS server record (its credentials, TLS trust and, without
    /// Autodiscover, its URL).
    pub server: String,
    /// ConAktiv users whose mailbox the server serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserName>,
    /// Mail domains (`agentur.example`): every mailbox address in one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mail_domains: Vec<String>,
    /// Find the EWS endpoint of each mailbox by SOAP Autodiscover instead of using the
    /// server record's URL (the answer is cached per mailbox).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autodiscover: bool,
    /// The Autodiscover endpoint to ask; `None` tries the usual ones of the mailbox's domain
    /// (`https://DOMAIN/autodiscover/autodiscover.svc`, then `autodiscover.DOMAIN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autodiscover_url: Option<HttpsUrl>,
}

impl MailboxRoute {
    /// Whether the route names this user (case-insensitive).
    pub fn serves_user(&self, user: &str) -> bool {
        self.users
            .iter()
            .any(|u| u.as_str().eq_ignore_ascii_case(user.trim()))
    }

    /// Whether the route names the domain of this mailbox address (case-insensitive).
    pub fn serves_address(&self, mailbox: &str) -> bool {
        mailbox_domain(mailbox).is_some_and(|d| {
            self.mail_domains
                .iter()
                .any(|m| m.trim().trim_start_matches('@').eq_ignore_ascii_case(d))
        })
    }
}

/// The domain of a mail address (after the last `@`), if any.
pub fn mailbox_domain(mailbox: &str) -> Option<&str> {
    mailbox
        .trim()
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

/// How a mailbox came to its server (see [`Configuration::route_for`](super::Configuration::route_for)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteReason {
    /// A route names the user.
    User,
    /// A route names the mailbox's mail domain.
    MailDomain,
    /// The user's Exchange mail account names the server.
    MailAccount,
    /// The only (or first) server record: no route applies.
    Default,
}

impl std::fmt::Display for RouteReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::User => "a mailbox route names the user",
            Self::MailDomain => "a mailbox route names the mail domain",
            Self::MailAccount => "the user's Exchange mail account names the server",
            Self::Default => "no route applies; the first server record",
        })
    }
}

/// Where a mailbox is served: the server record, whether Autodiscover finds its endpoint,
/// and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedRoute<'a> {
    /// The server record.
    pub server: &'a super::EwsServer,
    /// The route that applies, if any.
    pub route: Option<&'a MailboxRoute>,
    /// Why.
    pub reason: RouteReason,
}

impl ResolvedRoute<'_> {
    /// Whether Autodiscover finds the endpoint (instead of the server record's URL).
    pub fn autodiscover(&self) -> bool {
        self.route.is_some_and(|r| r.autodiscover)
    }
}
