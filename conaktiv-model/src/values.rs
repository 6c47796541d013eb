//! Values that must satisfy a rule, validated when built: [`Port`], [`IntervalMinutes`],
//! [`Percent`], [`EmailAddress`], [`HttpsUrl`], [`FolderPath`], [`CertificateFingerprint`]. Their `Deserialize` runs the
//! same validation, so a configuration file cannot smuggle in an invalid value.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

/// Why a value was rejected when it was built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A TCP port outside 1 to 65535.
    #[error("port must be 1 to 65535, got {0}")]
    Port(i64),
    /// An interval below one minute.
    #[error("interval must be at least 1 minute, got {0}")]
    Interval(i64),
    /// A percentage outside 0 to 100.
    #[error("percentage must be 0 to 100, got {0}")]
    Percent(i64),
    /// A malformed e-mail address.
    #[error("invalid e-mail address {value:?}: {reason}")]
    Email {
        /// The rejected text.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A URL that does not parse.
    #[error("invalid URL: {0}")]
    Url(String),
    /// A URL that is not https (plain http is allowed only for loopback addresses).
    #[error("URL must use https (http only for loopback addresses), got {0:?}")]
    InsecureUrl(String),
    /// A URL with a user name or password in it (credentials belong in their own fields).
    #[error("URL must not contain a user name or password; use the credential fields")]
    UrlWithCredentials,
    /// A certificate fingerprint that is not 64 hex digits.
    #[error("a SHA-256 certificate fingerprint is 64 hex digits (colons allowed), got {0:?}")]
    Fingerprint(String),
    /// A malformed Exchange folder path.
    #[error("invalid folder path {value:?}: {reason}")]
    FolderPath {
        /// The rejected text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A TCP port, 1 to 65535.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u16")]
pub struct Port(u16);

impl Port {
    /// Builds a port; 0 is rejected.
    pub fn new(port: u16) -> Result<Self, ValueError> {
        if port == 0 {
            Err(ValueError::Port(0))
        } else {
            Ok(Self(port))
        }
    }

    /// The port number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<i64> for Port {
    type Error = ValueError;
    fn try_from(value: i64) -> Result<Self, ValueError> {
        u16::try_from(value)
            .map_err(|_| ValueError::Port(value))
            .and_then(Self::new)
    }
}

impl From<Port> for u16 {
    fn from(port: Port) -> u16 {
        port.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An interval in whole minutes, at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct IntervalMinutes(u32);

impl IntervalMinutes {
    /// Builds an interval; 0 is rejected.
    pub fn new(minutes: u32) -> Result<Self, ValueError> {
        if minutes == 0 {
            Err(ValueError::Interval(0))
        } else {
            Ok(Self(minutes))
        }
    }

    /// The number of minutes.
    pub fn minutes(self) -> u32 {
        self.0
    }

    /// The interval as a [`Duration`].
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0) * 60)
    }
}

impl TryFrom<i64> for IntervalMinutes {
    type Error = ValueError;
    fn try_from(value: i64) -> Result<Self, ValueError> {
        u32::try_from(value)
            .map_err(|_| ValueError::Interval(value))
            .and_then(Self::new)
    }
}

impl From<IntervalMinutes> for u32 {
    fn from(value: IntervalMinutes) -> u32 {
        value.0
    }
}

impl fmt::Display for IntervalMinutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} min", self.0)
    }
}

/// A percentage, 0 to 100 (a task's "percent complete").
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "u8")]
pub struct Percent(u8);

impl Percent {
    /// Nothing done.
    pub const ZERO: Percent = Percent(0);
    /// All done.
    pub const HUNDRED: Percent = Percent(100);

    /// Builds a percentage; values above 100 are rejected.
    pub fn new(value: u8) -> Result<Self, ValueError> {
        if value > 100 {
            Err(ValueError::Percent(i64::from(value)))
        } else {
            Ok(Self(value))
        }
    }

    /// The percentage.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Percent {
    type Error = ValueError;
    fn try_from(value: i64) -> Result<Self, ValueError> {
        u8::try_from(value)
            .map_err(|_| ValueError::Percent(value))
            .and_then(Self::new)
    }
}

impl From<Percent> for u8 {
    fn from(value: Percent) -> u8 {
        value.0
    }
}

/// An e-mail address in basic `local@domain` syntax (no display name, no domain literal).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Validates and wraps an address; surrounding whitespace is trimmed.
    pub fn new(value: impl Into<String>) -> Result<Self, ValueError> {
        let value = value.into();
        let trimmed = value.trim();
        let options = email_address::Options {
            allow_display_text: false,
            allow_domain_literal: false,
            ..email_address::Options::default()
        };
        match email_address::EmailAddress::parse_with_options(trimmed, options) {
            Ok(_) => Ok(Self(trimmed.to_owned())),
            Err(e) => Err(ValueError::Email {
                value,
                reason: e.to_string(),
            }),
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, ValueError> {
        Self::new(value)
    }
}

impl FromStr for EmailAddress {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> String {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `host` names this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An `https` URL, or an `http` URL whose host is a loopback address (`localhost`,
/// 127.0.0.0/8, `::1`), which tests and the mock server use. URLs with embedded credentials
/// are rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpsUrl(Url);

impl HttpsUrl {
    /// Parses and checks a URL.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let url = Url::parse(value.trim()).map_err(|e| ValueError::Url(e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValueError::UrlWithCredentials);
        }
        let loopback = match url.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(ValueError::Url("URL has no host".to_owned())),
        };
        match url.scheme() {
            "https" => Ok(Self(url)),
            "http" if loopback => Ok(Self(url)),
            _ => Err(ValueError::InsecureUrl(url.to_string())),
        }
    }

    /// The URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the host is a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.0.host_str().is_some_and(is_loopback_host)
    }

    /// A copy with another port (the demo points a loopback URL at the mock server's port).
    pub fn with_port(&self, port: Port) -> Self {
        let mut url = self.0.clone();
        // Setting a port fails only for URLs without a host, which `parse` rejects.
        let _ = url.set_port(Some(port.get()));
        Self(url)
    }
}

impl TryFrom<String> for HttpsUrl {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, ValueError> {
        Self::parse(&value)
    }
}

impl FromStr for HttpsUrl {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::parse(s)
    }
}

impl From<HttpsUrl> for String {
    fn from(value: HttpsUrl) -> String {
        value.0.into()
    }
}

impl fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The SHA-256 fingerprint of a server certificate (an EWS server's pinned certificate):
/// 64 hex digits, optionally separated by colons, as `openssl x509 -noout -fingerprint
/// -sha256` prints it (its `sha256 Fingerprint=` prefix is accepted too). Written back as
/// colon-separated upper-case pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CertificateFingerprint([u8; 32]);

impl CertificateFingerprint {
    /// Parses and checks a fingerprint.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let bad = || {
            let shown: String = value.chars().take(120).collect();
            ValueError::Fingerprint(shown)
        };
        let text = value.trim();
        let text = match text.split_once('=') {
            Some((label, rest)) if label.to_ascii_lowercase().contains("fingerprint") => rest,
            _ => text,
        };
        let hex: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
        if hex.len() != 64 || !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }

    /// The 32 bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl TryFrom<String> for CertificateFingerprint {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, ValueError> {
        Self::parse(&value)
    }
}

impl FromStr for CertificateFingerprint {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::parse(s)
    }
}

impl From<CertificateFingerprint> for String {
    fn from(value: CertificateFingerprint) -> String {
        value.to_string()
    }
}

impl fmt::Display for CertificateFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// A well-known Exchange folder that the first segment of a [`FolderPath`] may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DistinguishedFolder {
    /// Inbox (Posteingang).
    Inbox,
    /// Contacts (Kontakte).
    Contacts,
    /// Calendar (Kalender).
    Calendar,
    /// Tasks (Aufgaben).
    Tasks,
    /// Sent Items (Gesendete Elemente).
    SentItems,
    /// Deleted Items (Gelöschte Elemente).
    DeletedItems,
    /// Drafts (Entwürfe).
    Drafts,
    /// Outbox (Postausgang).
    Outbox,
    /// Notes (Notizen).
    Notes,
    /// Junk Email (Junk-E-Mail).
    JunkEmail,
}

impl DistinguishedFolder {
    /// Every distinguished folder this crate knows.
    pub const ALL: [DistinguishedFolder; 10] = [
        Self::Inbox,
        Self::Contacts,
        Self::Calendar,
        Self::Tasks,
        Self::SentItems,
        Self::DeletedItems,
        Self::Drafts,
        Self::Outbox,
        Self::Notes,
        Self::JunkEmail,
    ];

    /// The EWS `DistinguishedFolderId` value (`inbox`, `sentitems`, ...).
    pub fn ews_id(self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::Contacts => "contacts",
            Self::Calendar => "calendar",
            Self::Tasks => "tasks",
            Self::SentItems => "sentitems",
            Self::DeletedItems => "deleteditems",
            Self::Drafts => "drafts",
            Self::Outbox => "outbox",
            Self::Notes => "notes",
            Self::JunkEmail => "junkemail",
        }
    }

    /// The English display name (`Inbox`, `Sent Items`, ...).
    pub fn english_name(self) -> &'static str {
        match self {
            Self::Inbox => "Inbox",
            Self::Contacts => "Contacts",
            Self::Calendar => "Calendar",
            Self::Tasks => "Tasks",
            Self::SentItems => "Sent Items",
            Self::DeletedItems => "Deleted Items",
            Self::Drafts => "Drafts",
            Self::Outbox => "Outbox",
            Self::Notes => "Notes",
            Self::JunkEmail => "Junk Email",
        }
    }

    /// The German display name (`Posteingang`, `Gesendete Elemente`, ...).
    pub fn german_name(self) -> &'static str {
        match self {
            Self::Inbox => "Posteingang",
            Self::Contacts => "Kontakte",
            Self::Calendar => "Kalender",
            Self::Tasks => "Aufgaben",
            Self::SentItems => "Gesendete Elemente",
            Self::DeletedItems => "Gelöschte Elemente",
            Self::Drafts => "Entwürfe",
            Self::Outbox => "Postausgang",
            Self::Notes => "Notizen",
            Self::JunkEmail => "Junk-E-Mail",
        }
    }

    /// Recognises a folder name (English or German display name, or EWS id), ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| {
            name.eq_ignore_ascii_case(f.english_name())
                || name.to_lowercase() == f.german_name().to_lowercase()
                || name.eq_ignore_ascii_case(f.ews_id())
        })
    }
}

/// An Exchange folder path such as `/Inbox/Projects`: a leading `/`, one or more non-empty
/// segments, no trailing `/`. The first segment may name a [`DistinguishedFolder`]; otherwise
/// the path starts below the mailbox root. Segments compare case-insensitively, as Exchange
/// folder names do.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FolderPath(String);

impl FolderPath {
    /// Validates and wraps a path.
    pub fn new(value: impl Into<String>) -> Result<Self, ValueError> {
        let value = value.into();
        let fail = |reason| ValueError::FolderPath {
            value: value.clone(),
            reason,
        };
        let Some(rest) = value.strip_prefix('/') else {
            return Err(fail("must start with '/'"));
        };
        if rest.is_empty() {
            return Err(fail("must name at least one folder"));
        }
        if rest.ends_with('/') {
            return Err(fail("must not end with '/'"));
        }
        for segment in rest.split('/') {
            if segment.trim().is_empty() {
                return Err(fail("folder names must not be empty"));
            }
            if segment.trim() != segment {
                return Err(fail("folder names must not start or end with spaces"));
            }
            if segment.chars().any(char::is_control) {
                return Err(fail("folder names must not contain control characters"));
            }
        }
        Ok(Self(value))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The folder names, top first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0[1..].split('/')
    }

    /// The distinguished folder the path starts in, if its first segment names one.
    pub fn distinguished_root(&self) -> Option<DistinguishedFolder> {
        self.segments()
            .next()
            .and_then(DistinguishedFolder::from_name)
    }

    /// The parent path, or `None` for a top-level folder.
    pub fn parent(&self) -> Option<FolderPath> {
        let (parent, _) = self.0.rsplit_once('/')?;
        if parent.is_empty() {
            None
        } else {
            Some(Self(parent.to_owned()))
        }
    }

    /// Whether `self` equals `other` (ignoring case).
    pub fn same_folder(&self, other: &FolderPath) -> bool {
        self.0.to_lowercase() == other.0.to_lowercase()
    }

    /// Whether `self` lies strictly below `ancestor` (ignoring case).
    pub fn is_below(&self, ancestor: &FolderPath) -> bool {
        let mine: Vec<String> = self.segments().map(str::to_lowercase).collect();
        let theirs: Vec<String> = ancestor.segments().map(str::to_lowercase).collect();
        mine.len() > theirs.len() && mine[..theirs.len()] == theirs[..]
    }

    /// Whether `self` is covered by a sync folder `root`: the same folder, or below it when
    /// subfolders are [`Subfolders::Included`].
    pub fn is_within(&self, root: &FolderPath, subfolders: Subfolders) -> bool {
        self.same_folder(root) || (subfolders == Subfolders::Included && self.is_below(root))
    }
}

/// Whether a sync folder covers the folders below it too (a rule's "with subfolders").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Subfolders {
    /// Only the folder itself.
    #[default]
    Excluded,
    /// The folder and every folder below it.
    Included,
}

impl Subfolders {
    /// [`Subfolders::Included`] for a set flag (a configuration's `include_subfolders`).
    pub fn included_if(flag: bool) -> Self {
        if flag { Self::Included } else { Self::Excluded }
    }
}

impl TryFrom<String> for FolderPath {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, ValueError> {
        Self::new(value)
    }
}

impl FromStr for FolderPath {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

impl From<FolderPath> for String {
    fn from(value: FolderPath) -> String {
        value.0
    }
}

impl fmt::Display for FolderPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        for (input, ok) in [
            (0, false),
            (1, true),
            (443, true),
            (65535, true),
            (65536, false),
            (-1, false),
        ] {
            assert_eq!(Port::try_from(input).is_ok(), ok, "{input}");
        }
    }

    #[test]
    fn intervals_and_percent() {
        assert!(IntervalMinutes::try_from(0).is_err());
        assert_eq!(
            IntervalMinutes::try_from(15).map(|i| i.as_duration().as_secs()),
            Ok(900)
        );
        assert!(Percent::try_from(101).is_err());
        assert!(Percent::try_from(-1).is_err());
        assert_eq!(Percent::try_from(100), Ok(Percent::HUNDRED));
    }

    #[test]
    fn email_addresses() {
        for (input, ok) in [
            ("anna.schmidt@agentur.example", true),
            ("  info@agentur.example ", true),
            ("user@localhost", true),
            ("no-at-sign", false),
            ("@agentur.example", false),
            ("anna@", false),
            ("Anna <anna@agentur.example>", false),
            ("a b@agentur.example", false),
            ("", false),
        ] {
            assert_eq!(EmailAddress::new(input).is_ok(), ok, "{input:?}");
        }
        let a = EmailAddress::new("anna@agentur.example").ok();
        assert_eq!(
            a.as_ref().map(EmailAddress::domain),
            Some("agentur.example")
        );
        assert_eq!(a.as_ref().map(EmailAddress::local_part), Some("anna"));
    }

    #[test]
    fn urls() {
        for (input, ok) in [
            ("https://mail.agentur.example/EWS/Exchange.asmx", true),
            ("https://outlook.office365.com/EWS/Exchange.asmx", true),
            ("http://127.0.0.1:8080/EWS/Exchange.asmx", true),
            ("http://127.1.2.3/EWS/Exchange.asmx", true),
            ("http://localhost:0/EWS/Exchange.asmx", true),
            ("http://[::1]:9000/EWS/Exchange.asmx", true),
            ("http://mail.agentur.example/EWS/Exchange.asmx", false),
            ("http://10.0.0.1/EWS/Exchange.asmx", false),
            ("ftp://mail.agentur.example/", false),
            ("https://admin:geheim@mail.agentur.example/", false),
            ("not a url", false),
        ] {
            assert_eq!(HttpsUrl::parse(input).is_ok(), ok, "{input}");
        }
        let err = HttpsUrl::parse("https://admin:geheim@x.example/")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| !e.contains("geheim")));
    }

    #[test]
    fn with_port_replaces_the_port() {
        let url = HttpsUrl::parse("http://127.0.0.1:0/EWS/Exchange.asmx").ok();
        let port = Port::new(8123).ok();
        let moved = url.zip(port).map(|(u, p)| u.with_port(p).to_string());
        assert_eq!(
            moved.as_deref(),
            Some("http://127.0.0.1:8123/EWS/Exchange.asmx")
        );
    }

    #[test]
    fn folder_paths() {
        for (input, ok) in [
            ("/Inbox", true),
            ("/Inbox/Projekte/2024", true),
            ("/Kontakte", true),
            ("Inbox", false),
            ("/", false),
            ("/Inbox/", false),
            ("/Inbox//Sub", false),
            ("/Inbox/ Sub", false),
            ("/In\tbox", false),
        ] {
            assert_eq!(FolderPath::new(input).is_ok(), ok, "{input:?}");
        }
    }

    #[test]
    fn certificate_fingerprints() {
        let colons = vec!["0a"; 32].join(":");
        let fp = CertificateFingerprint::parse(&colons).unwrap();
        assert_eq!(fp.as_bytes(), &[10u8; 32]);
        assert_eq!(fp.to_string(), colons.to_uppercase());
        assert_eq!(CertificateFingerprint::parse(&"0A".repeat(32)), Ok(fp));
        for bad in ["", "0a:0b", &"0g".repeat(32), &"0a".repeat(33)] {
            assert!(matches!(
                CertificateFingerprint::parse(bad),
                Err(ValueError::Fingerprint(_))
            ));
        }
    }

    #[test]
    fn folder_containment() {
        let p = |s: &str| FolderPath::new(s).unwrap_or_else(|e| panic!("{e}"));
        assert!(p("/Inbox/Projekte").is_within(&p("/Inbox"), Subfolders::Included));
        assert!(!p("/Inbox/Projekte").is_within(&p("/Inbox"), Subfolders::Excluded));
        assert!(p("/inbox").is_within(&p("/Inbox"), Subfolders::Excluded));
        assert!(!p("/Inboxes").is_within(&p("/Inbox"), Subfolders::Included));
        assert!(!p("/Inbox").is_within(&p("/Inbox/Projekte"), Subfolders::Included));
        assert_eq!(p("/Inbox/Projekte").parent(), Some(p("/Inbox")));
        assert_eq!(p("/Inbox").parent(), None);
        assert_eq!(
            p("/Posteingang/X").distinguished_root(),
            Some(DistinguishedFolder::Inbox)
        );
        assert_eq!(
            p("/Sent Items").distinguished_root(),
            Some(DistinguishedFolder::SentItems)
        );
        assert_eq!(p("/Archiv").distinguished_root(), None);
    }
}
