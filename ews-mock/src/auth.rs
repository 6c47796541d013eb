//! Authentication: Basic, Bearer tokens from the mock's own OAuth 2.0 client-credentials
//! endpoint, and NTLM tied to the connection.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A user (by configured address).
    User(String),
    /// An OAuth application (by client id).
    App(String),
}

impl Principal {
    /// The account name used for limits and logs.
    pub fn account(&self) -> &str {
        match self {
            Principal::User(a) | Principal::App(a) => a,
        }
    }
}

/// Issued access tokens.
#[derive(Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl TokenStore {
    /// Issues a token for `client_id`, valid for `lifetime`.
    pub fn issue(&self, client_id: &str, lifetime: Duration) -> String {
        let mut raw = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut raw);
        let token = URL_SAFE_NO_PAD.encode(raw);
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        tokens.retain(|_, (_, exp)| *exp > now);
        tokens.insert(token.clone(), (client_id.to_string(), now + lifetime));
        token
    }

    /// The client id of a valid token.
    pub fn check(&self, token: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .get(token)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(c, _)| c.clone())
    }

    /// Expires every issued token (to test refresh).
    pub fn expire_all(&self) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// A parsed `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Basic user and password.
    Basic(String, String),
    /// A bearer token.
    Bearer(String),
    /// An NTLM message and the scheme it came in (`NTLM` or `Negotiate`).
    Ntlm(Vec<u8>, &'static str),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic(u, _) => write!(f, "Basic({u}, <redacted>)"),
            Credentials::Bearer(_) => write!(f, "Bearer(<redacted>)"),
            Credentials::Ntlm(m, scheme) => write!(f, "Ntlm({scheme}, {} bytes)", m.len()),
        }
    }
}

/// Parses an `Authorization` header value; `None` if unusable.
pub fn parse_authorization(value: &str) -> Option<Credentials> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("Basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (u, p) = text.split_once(':')?;
        Some(Credentials::Basic(u.to_string(), p.to_string()))
    } else if scheme.eq_ignore_ascii_case("Bearer") {
        Some(Credentials::Bearer(rest.to_string()))
    } else if scheme.eq_ignore_ascii_case("NTLM") || scheme.eq_ignore_ascii_case("Negotiate") {
        let decoded = STANDARD.decode(rest).ok()?;
        let scheme = if scheme.eq_ignore_ascii_case("NTLM") {
            "NTLM"
        } else {
            "Negotiate"
        };
        decoded
            .starts_with(b"NTLMSSP\0")
            .then_some(Credentials::Ntlm(decoded, scheme))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers_parse() {
        assert_eq!(
            parse_authorization("Basic YWxpY2U6cHc6eA=="),
            Some(Credentials::Basic("alice".into(), "pw:x".into()))
        );
        assert_eq!(
            parse_authorization("bearer abc"),
            Some(Credentials::Bearer("abc".into()))
        );
        assert_eq!(parse_authorization("Basic !!!"), None);
        assert_eq!(parse_authorization("NTLM AAAA"), None);
        assert_eq!(parse_authorization("Digest x"), None);
        let dbg = format!("{:?}", Credentials::Basic("u".into(), "secret".into()));
        assert!(!dbg.contains("secret"));
    }

    #[test]
    fn tokens_expire() {
        let store = TokenStore::default();
        let t = store.issue("app", Duration::from_secs(60));
        assert_eq!(store.check(&t).as_deref(), Some("app"));
        let short = store.issue("app", Duration::ZERO);
        assert_eq!(store.check(&short), None);
        store.expire_all();
        assert_eq!(store.check(&t), None);
    }
}
