//! App-only authentication for Graph: OAuth 2.0 client credentials with a client secret or a
//! certificate, through ews-client's [`ClientCredentialsProvider`] (token cache, concurrent
//! callers share one token request, one refresh on 401). A certificate credential signs an
//! RS256 JWT client assertion (RFC 7523) with `x5t` and `x5t#S256` thumbprints, as the
//! Microsoft identity platform expects.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ews_client::transport::{
    ClientAssertion, ClientCredentialsProvider, OAuthClientCredentials, Scrubber, SecretString,
    TokenProvider, TransportError,
};
use sha1::Digest as _;

use crate::client::GRAPH_SCOPE;
use crate::error::Error;

/// Client credentials for `tenant` and `client_id` with Graph's scope
/// (`https://graph.microsoft.com/.default`); set the secret with
/// [`client_secret`] or use [`certificate`]. Override the token endpoint with
/// [`OAuthClientCredentials::with_token_url`] (national clouds, a mock).
pub fn credentials(tenant: &str, client_id: &str) -> OAuthClientCredentials {
    OAuthClientCredentials::new(tenant, client_id, "").with_scope(GRAPH_SCOPE)
}

/// A cached token provider for a client secret.
pub fn client_secret(
    tenant: &str,
    client_id: &str,
    secret: &str,
) -> Result<Arc<dyn TokenProvider>, Error> {
    let mut creds = credentials(tenant, client_id);
    creds.client_secret = SecretString::from(secret.to_owned());
    with_secret(creds)
}

/// A cached token provider for credentials that carry their client secret.
pub fn with_secret(credentials: OAuthClientCredentials) -> Result<Arc<dyn TokenProvider>, Error> {
    Ok(Arc::new(ClientCredentialsProvider::new(credentials)?))
}

/// A cached token provider that authenticates with a certificate (signed client assertion);
/// the credentials' client secret is not used.
pub fn certificate(
    credentials: OAuthClientCredentials,
    certificate: CertificateCredential,
) -> Result<Arc<dyn TokenProvider>, Error> {
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(ews_client::transport::tls_client_config(
            &[],
            ews_client::transport::CertificateCheck::Verify,
        )?)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::InvalidArgument(format!("HTTP client: {e}")))?;
    // The provider and the certificate share one scrubber: every signed assertion and
    // every token is removed from server text (token endpoint and Graph errors).
    let scrubber = certificate.scrubber.clone();
    Ok(Arc::new(
        ClientCredentialsProvider::with_assertion(credentials, http, Arc::new(certificate))?
            .with_scrubber(scrubber),
    ))
}

/// An application certificate: the public certificate (its thumbprints go into the JWT
/// header) and the RSA private key that signs the assertion. `Debug` never shows the key.
#[derive(Clone)]
pub struct CertificateCredential {
    key: jsonwebtoken::EncodingKey,
    x5t: String,
    x5t_s256: String,
    lifetime: Duration,
    /// Learns every signed assertion, so that an echo of it never reaches an error.
    scrubber: Scrubber,
}

impl fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("x5t", &self.x5t)
            .field("key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl CertificateCredential {
    /// From a PEM certificate (the first `CERTIFICATE` block) and a PEM RSA private key
    /// (PKCS#1 or PKCS#8).
    pub fn from_pem(certificate_pem: &[u8], private_key_pem: &[u8]) -> Result<Self, Error> {
        let invalid = |m: String| Error::InvalidArgument(m);
        let der = rustls_pemfile::certs(&mut &certificate_pem[..])
            .next()
            .ok_or_else(|| invalid("no PEM CERTIFICATE block in the certificate".to_owned()))?
            .map_err(|e| invalid(format!("certificate PEM: {e}")))?;
        // The key's own error text could quote key material; keep only its kind.
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem)
            .map_err(|_| invalid("the private key is not a PEM RSA key".to_owned()))?;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        Ok(Self {
            key,
            x5t: b64.encode(sha1::Sha1::digest(der.as_ref())),
            x5t_s256: b64.encode(sha2::Sha256::digest(der.as_ref())),
            lifetime: Duration::from_secs(600),
            scrubber: Scrubber::new(),
        })
    }

    /// The SHA-1 thumbprint (`x5t`, base64url), as the app registration shows it in hex.
    pub fn x5t(&self) -> &str {
        &self.x5t
    }
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

impl ClientAssertion for CertificateCredential {
    fn assertion(
        &self,
        token_endpoint: &url::Url,
        client_id: &str,
    ) -> Result<SecretString, TransportError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.x5t = Some(self.x5t.clone());
        header.x5t_s256 = Some(self.x5t_s256.clone());
        let claims = Claims {
            aud: token_endpoint.as_str(),
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + self.lifetime.as_secs(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(|jwt| {
                self.scrubber.add_token(&jwt);
                SecretString::from(jwt)
            })
            .map_err(|e| {
                TransportError::TokenProvider(format!("signing the client assertion: {e}"))
            })
    }
}
