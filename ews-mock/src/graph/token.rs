//! The token endpoint's Graph side: a request for the Graph scope
//! (`https://graph.microsoft.com/.default`) gets a token of the Graph audience (not accepted by
//! the EWS front, and EWS tokens are not accepted here); a client may authenticate with its
//! secret or with a certificate client assertion (RFC 7523, RS256, `x5t`), whose signature is
//! verified against the certificate configured for the app (`[[graph.apps]] certificate`).

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha1::Digest as _;

use crate::auth::{Credentials, parse_authorization};
use crate::server::Shared;

/// The assertion type of a certificate credential.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Handles a token request for the Graph scope or with a client assertion; `None` leaves a
/// secret-based request for another scope to the EWS token endpoint.
pub(crate) fn intercept(
    shared: &Shared,
    tenant: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let scope = form.get("scope").map(String::as_str).unwrap_or_default();
    let graph = scope.split(' ').any(|s| {
        s.to_ascii_lowercase()
            .starts_with("https://graph.microsoft.com/")
    });
    let assertion = form.get("client_assertion");
    if !graph && assertion.is_none() {
        return None;
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Some(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: only client_credentials is supported",
        ));
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization)
        .and_then(|c| match c {
            Credentials::Basic(u, p) => Some((u, p)),
            _ => None,
        });
    let client_id = form
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|(u, _)| u.clone()));
    let Some(client_id) = client_id else {
        return Some(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain the 'client_id' parameter.",
        ));
    };
    let store = shared.read();
    let Some(app) = store.apps.get(&client_id) else {
        return Some(oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application not found in the directory.",
        ));
    };
    if let (Some(t), Some(want)) = (tenant, &app.tenant)
        && !(t.eq_ignore_ascii_case(want) || t == "common" || t == "organizations")
    {
        return Some(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS90002: Tenant not found.",
        ));
    }
    let verified = match assertion {
        Some(jwt) => {
            if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
                Err("AADSTS50027: unsupported client_assertion_type.".to_string())
            } else {
                verify_assertion(shared, &client_id, tenant, jwt)
            }
        }
        None => {
            let secret = form
                .get("client_secret")
                .cloned()
                .or_else(|| basic.map(|(_, p)| p));
            if secret.as_deref() == Some(app.client_secret.as_str()) {
                Ok(())
            } else {
                Err("AADSTS7000215: Invalid client secret provided.".to_string())
            }
        }
    };
    if let Err(description) = verified {
        return Some(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            &description,
        ));
    }
    let lifetime = store.settings.token_lifetime_secs;
    drop(store);
    let token = if graph {
        shared
            .graph
            .tokens
            .issue(&client_id, Duration::from_secs(lifetime))
    } else {
        shared
            .tokens
            .issue(&client_id, Duration::from_secs(lifetime))
    };
    Some(
        axum::Json(serde_json::json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }))
        .into_response(),
    )
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
}

/// Verifies a client assertion: signed (RS256) by the key of the app's configured certificate,
/// which the `x5t` thumbprint names; issued by and for the client; for this token endpoint.
fn verify_assertion(
    shared: &Shared,
    client_id: &str,
    tenant: Option<&str>,
    jwt: &str,
) -> Result<(), String> {
    let pem = shared
        .graph
        .apps
        .get(&client_id.to_ascii_lowercase())
        .and_then(|a| a.certificate.clone())
        .ok_or_else(|| {
            "AADSTS700027: No certificate is registered for the application.".to_string()
        })?;
    let der = rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| "AADSTS700027: the registered certificate is unreadable.".to_string())?;
    let header = jsonwebtoken::decode_header(jwt)
        .map_err(|_| "AADSTS700027: Client assertion failed signature validation.".to_string())?;
    let thumbprint = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(der.as_ref()));
    if header.x5t.as_deref() != Some(thumbprint.as_str()) {
        return Err(
            "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application."
                .to_string(),
        );
    }
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|_| "AADSTS700027: the registered certificate is unreadable.".to_string())?;
    let public_key = cert.public_key().subject_public_key.data.to_vec();
    let key = jsonwebtoken::DecodingKey::from_rsa_der(&public_key);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(jwt, &key, &validation)
        .map_err(|_| "AADSTS700027: Client assertion failed signature validation.".to_string())?;
    let claims = data.claims;
    if claims.iss != client_id || claims.sub != client_id {
        return Err("AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.".to_string());
    }
    let mut audiences = vec![
        format!("{}/oauth2/v2.0/token", shared.base_url),
        format!("{}/oauth2/token", shared.base_url),
    ];
    if let Some(t) = tenant {
        audiences.push(format!("{}/{t}/oauth2/v2.0/token", shared.base_url));
        audiences.push(format!("{}/{t}/oauth2/token", shared.base_url));
    }
    if !audiences.iter().any(|a| a == &claims.aud) {
        return Err(
            "AADSTS50013: Assertion audience does not match the token endpoint.".to_string(),
        );
    }
    Ok(())
}
