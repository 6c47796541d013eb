//! Making server-supplied text safe for errors, `Debug` output and logs.
//!
//! A server, proxy or token endpoint may echo the request back: an error page showing the
//! `Authorization` header, a token endpoint repeating the form with the client secret. Text
//! taken from a response (a body excerpt, a SOAP `faultstring`, an OAuth
//! `error_description`) therefore goes through a [`Scrubber`] before it is put into an error:
//!
//! 1. every secret the client holds is replaced by `[REDACTED]`: passwords (as sent, and in
//!    the base64 `user:password` form of Basic), client secrets (also form- and
//!    JSON-encoded), bearer tokens obtained at run time;
//! 2. whatever follows an authorization scheme (`Basic`, `Bearer`, `NTLM`, `Negotiate`) and
//!    the values of secret-looking parameters (`password=`, `client_secret=`,
//!    `"access_token": "..."`) are replaced as well, so credentials the client does not know
//!    (an old token, another user's header) do not leak either;
//! 3. control characters become spaces, and the text is cut to [`MAX_SERVER_TEXT`] bytes.
//!
//! [`sanitize_server_text`] does steps 2 and 3 without known secrets. Both are format-free
//! and usable by any client (EWS, Graph).

use std::fmt;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};

/// The maximum length, in bytes, of server-supplied text kept in an error.
pub const MAX_SERVER_TEXT: usize = 300;

/// The replacement for a removed secret.
pub const REDACTED: &str = "[REDACTED]";

/// How many run-time secrets (bearer tokens) are remembered; older ones are forgotten.
const MAX_DYNAMIC_SECRETS: usize = 16;

/// Authorization schemes whose credentials follow them in a header value.
const SCHEMES: &[&str] = &["basic", "bearer", "ntlm", "negotiate", "digest"];

/// Parameter names whose values are secrets (`name=value`, `"name": "value"`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "client_assertion",
    "assertion",
    "authorization",
];

#[derive(Default)]
struct Secrets {
    fixed: Vec<SecretString>,
    dynamic: Vec<SecretString>,
}

/// Removes the secrets a client holds (and anything that looks like a credential) from
/// server-supplied text. Cheap to clone (shared).
///
/// A server, proxy or token endpoint may echo the request back (an error page showing the
/// `Authorization` header, a token endpoint repeating the form with the client secret), so
/// text taken from a response goes through [`scrub`](Self::scrub) before it is put into an
/// error:
///
/// 1. every secret added here is replaced by `[REDACTED]`: passwords (as sent, and in the
///    base64 `user:password` form of Basic), client secrets (also form- and JSON-encoded),
///    bearer tokens obtained at run time;
/// 2. then [`sanitize_server_text`]: credentials after an authorization scheme and the
///    values of secret-looking parameters are replaced, control characters become spaces,
///    the text is cut to [`MAX_SERVER_TEXT`] bytes.
///
/// ```
/// use ews_client::transport::Scrubber;
/// let scrubber = Scrubber::new();
/// scrubber.add_basic_credentials("svc", "Pa55word!");
/// let text = scrubber.scrub("denied for svc / Pa55word! (Authorization: Basic c3ZjOlBhNTV3b3JkIQ==)\0");
/// assert!(!text.contains("Pa55word!") && !text.contains("c3ZjOlBhNTV3b3JkIQ=="));
/// assert!(!text.contains('\0'));
/// ```
#[derive(Clone, Default)]
pub struct Scrubber {
    secrets: Arc<Mutex<Secrets>>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scrubber([REDACTED])")
    }
}

/// The forms in which `secret` may come back: as is, form-urlencoded, JSON-escaped.
fn variants(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    for v in [form, json] {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

impl Scrubber {
    /// A scrubber that knows no secrets yet (it still removes credential-looking text).
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Secrets> {
        self.secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a secret held for the client's lifetime (password, client secret).
    pub fn add_secret(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut secrets = self.lock();
        for v in variants(secret) {
            if !secrets.fixed.iter().any(|s| s.expose_secret() == v) {
                secrets.fixed.push(SecretString::from(v));
            }
        }
    }

    /// Adds the password and the base64 `user:password` of HTTP Basic.
    pub fn add_basic_credentials(&self, username: &str, password: &str) {
        use base64::Engine as _;
        self.add_secret(password);
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        self.add_secret(&token);
        self.add_secret(token.trim_end_matches('='));
    }

    /// Adds a secret obtained at run time (a bearer token). Only the most recent few are
    /// remembered.
    pub fn add_token(&self, token: &str) {
        if token.is_empty() {
            return;
        }
        let mut secrets = self.lock();
        if secrets.dynamic.iter().any(|s| s.expose_secret() == token) {
            return;
        }
        if secrets.dynamic.len() >= MAX_DYNAMIC_SECRETS {
            secrets.dynamic.remove(0);
        }
        secrets.dynamic.push(SecretString::from(token.to_owned()));
    }

    /// `text` with every known secret replaced, credential-looking values removed, control
    /// characters replaced and cut to [`MAX_SERVER_TEXT`] bytes.
    pub fn scrub(&self, text: &str) -> String {
        self.scrub_to(text, MAX_SERVER_TEXT)
    }

    /// Like [`scrub`](Self::scrub) with another length limit (in bytes).
    pub fn scrub_to(&self, text: &str, max_bytes: usize) -> String {
        let rough = cut(text, rough_limit(max_bytes));
        let mut out = rough.to_owned();
        {
            let secrets = self.lock();
            let mut all: Vec<&str> = secrets
                .fixed
                .iter()
                .chain(secrets.dynamic.iter())
                .map(ExposeSecret::expose_secret)
                .collect();
            // longest first, so that a secret containing another is removed whole
            all.sort_by_key(|s| std::cmp::Reverse(s.len()));
            for secret in all {
                if out.contains(secret) {
                    out = out.replace(secret, REDACTED);
                }
            }
        }
        sanitize(&out, max_bytes, rough.len() < text.len())
    }
}

/// Text beyond this is never looked at: a 20 MB faultstring costs little. The margin keeps a
/// secret straddling the final limit whole for the redaction passes.
fn rough_limit(max_bytes: usize) -> usize {
    max_bytes.saturating_mul(4).saturating_add(256)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/=".contains(c)
}

/// Replaces credentials after authorization schemes (`Bearer eyJ...`) and the values of
/// secret parameters (`client_secret=...`, `"access_token":"..."`).
fn redact_patterns(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    // (start, end) byte ranges to replace
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let word_start = |i: usize| i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
    for scheme in SCHEMES {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(scheme) {
            let start = from + pos;
            from = start + scheme.len();
            if !word_start(start) {
                continue;
            }
            let rest = &text[from..];
            let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            if spaces == 0 {
                continue;
            }
            let token_start = from + spaces;
            let token_len: usize = text[token_start..]
                .chars()
                .take_while(|c| is_token_char(*c))
                .map(char::len_utf8)
                .sum();
            // a credential, not an English word after "basic"
            if token_len >= 8 {
                ranges.push((token_start, token_start + token_len));
            }
        }
    }
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(key) {
            let start = from + pos;
            from = start + key.len();
            // no word-start check: `userPassword=`, `ErrorPassword=` are secrets too
            // name=value | "name": "value" | name: value
            let rest = &text[from..];
            let after_quote = rest.strip_prefix('"').unwrap_or(rest);
            let trimmed = after_quote.trim_start();
            let Some(after_sep) = trimmed
                .strip_prefix('=')
                .or_else(|| trimmed.strip_prefix(':'))
            else {
                continue;
            };
            let value = after_sep.trim_start();
            let quoted = value.starts_with('"');
            let value = value.strip_prefix('"').unwrap_or(value);
            let value_start = text.len() - value.len();
            let value_len: usize = value
                .chars()
                .take_while(|c| {
                    if quoted {
                        *c != '"'
                    } else {
                        !c.is_whitespace() && !"&,;<\"'".contains(*c)
                    }
                })
                .map(char::len_utf8)
                .sum();
            if value_len > 0 {
                ranges.push((value_start, value_start + value_len));
            }
        }
    }
    if ranges.is_empty() {
        return text.to_owned();
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in ranges {
        if end <= at {
            continue;
        }
        let start = start.max(at);
        out.push_str(&text[at..start]);
        out.push_str(REDACTED);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// Makes server-supplied text fit for an error message without knowing any secret:
/// whatever follows an authorization scheme (`Basic`, `Bearer`, `NTLM`, `Negotiate`,
/// `Digest`) and the values of secret-looking parameters (`password=`, `client_secret=`,
/// `"access_token": "..."`) are replaced by `[REDACTED]`, control characters (NUL, escape
/// sequences, line breaks) become spaces, runs of whitespace are collapsed and the text is
/// cut to `max_bytes` bytes on a character boundary (with `…`).
pub fn sanitize_server_text(text: &str, max_bytes: usize) -> String {
    let rough = cut(text, rough_limit(max_bytes));
    sanitize(rough, max_bytes, rough.len() < text.len())
}

fn sanitize(text: &str, max_bytes: usize, truncated: bool) -> String {
    let redacted = redact_patterns(text);
    let mut clean = String::with_capacity(redacted.len().min(max_bytes + 4));
    let mut last_space = true;
    for c in redacted.chars() {
        let c = if c.is_control() || c == '\u{FEFF}' {
            ' '
        } else {
            c
        };
        if c.is_whitespace() {
            if !last_space {
                clean.push(' ');
            }
            last_space = true;
        } else {
            clean.push(c);
            last_space = false;
        }
    }
    let trimmed = clean.trim_end();
    if trimmed.len() <= max_bytes && !truncated {
        return trimmed.to_owned();
    }
    format!("{}…", cut(trimmed, max_bytes))
}

/// The longest prefix of `text` of at most `max` bytes ending on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_in_every_form_are_removed() {
        let s = Scrubber::new();
        s.add_basic_credentials("svc", "p&ss w\"rd");
        s.add_secret("cl1ent+secret/");
        s.add_token("eyJ0eXAi.token.sig");
        let text = "pw p&ss w\"rd form cl1ent%2Bsecret%2F json p&ss w\\\"rd tok eyJ0eXAi.token.sig";
        let out = s.scrub(text);
        for leak in ["p&ss", "cl1ent", "eyJ0eXAi", "w\\\"rd"] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        assert_eq!(out.matches(REDACTED).count(), 4, "{out}");
    }

    #[test]
    fn credential_patterns_are_removed_without_knowing_them() {
        let cases = [
            ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpw"),
            ("authorization: NTLM TlRMTVNTUAADAAAAGAAYAEAAAA", "TlRMTVNT"),
            ("Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig rejected", "eyJhbGci"),
            (
                "grant_type=client_credentials&client_secret=abc%2Bdef&scope=x",
                "abc%2Bdef",
            ),
            ("{\"access_token\": \"opaque-123\", \"x\":1}", "opaque-123"),
            ("password: hunter2 was wrong", "hunter2"),
            ("ErrorPassword=hunter3", "hunter3"),
        ];
        for (text, secret) in cases {
            let out = sanitize_server_text(text, MAX_SERVER_TEXT);
            assert!(!out.contains(secret), "{text} -> {out}");
            assert!(out.contains(REDACTED), "{out}");
        }
        // ordinary words survive
        assert_eq!(
            sanitize_server_text("basic auth is disabled", 100),
            "basic auth is disabled"
        );
    }

    #[test]
    fn control_characters_and_length() {
        let out = sanitize_server_text("a\0b\r\n\x1b[31mc\u{7f}", 100);
        assert_eq!(out, "a b [31mc");
        let long = "é".repeat(10_000_000);
        let out = sanitize_server_text(&long, MAX_SERVER_TEXT);
        assert!(
            out.len() <= MAX_SERVER_TEXT + '…'.len_utf8(),
            "{}",
            out.len()
        );
        assert!(out.ends_with('…'));
    }
}
