//! Exchange Online's switches over the EWS front: `EWSAllowedAppIDs` (only the listed apps may
//! use EWS) and EWS switched off for the whole organisation (as on 1 April 2027). Exchange
//! Online refuses such a request with HTTP 403 Forbidden before any SOAP processing, so the
//! answer carries no SOAP body.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::server::Shared;

/// The EWS switches of the organisation (`[graph]` `ews_enabled`, `ews_allowed_app_ids`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EwsSwitches {
    /// `EwsEnabled`: `false` switches EWS off for everyone (absent: on).
    #[serde(default)]
    pub ews_enabled: Option<bool>,
    /// `EWSAllowedAppIDs`: when set, only these apps (client ids) may use EWS; a user signing
    /// in with a password (Basic, NTLM) carries no app id and is refused too.
    #[serde(default)]
    pub ews_allowed_app_ids: Option<Vec<String>>,
}

/// Why EWS refuses a caller, if it does.
pub(crate) fn refusal(switches: &EwsSwitches, principal: &Principal) -> Option<&'static str> {
    if switches.ews_enabled == Some(false) {
        return Some("EWS is disabled for this organization.");
    }
    match (&switches.ews_allowed_app_ids, principal) {
        (Some(list), Principal::App(id)) if !list.iter().any(|a| a.eq_ignore_ascii_case(id)) => {
            Some("The application is not allowed to access EWS (EWSAllowedAppIDs).")
        }
        (Some(_), Principal::User(_)) => {
            Some("The application is not allowed to access EWS (EWSAllowedAppIDs).")
        }
        _ => None,
    }
}

/// The hook of the EWS endpoint: `Some(403)` when the switches refuse `principal`.
pub(crate) fn ews_gate(shared: &Shared, principal: &Principal) -> Option<Response> {
    let switches = shared
        .graph
        .ews
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let reason = refusal(&switches, principal)?;
    Some(
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            reason,
        )
            .into_response(),
    )
}

/// `GET/POST /admin/graph/ews`: reads or replaces the switches.
pub(crate) async fn admin_get(State(shared): State<Arc<Shared>>) -> Response {
    let switches = shared
        .graph
        .ews
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    axum::Json(switches).into_response()
}

pub(crate) async fn admin_set(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<EwsSwitches>(&body) {
        Ok(s) => {
            *shared.graph.ews.lock().unwrap_or_else(|p| p.into_inner()) = s;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_refuse_as_configured() {
        let app = Principal::App("crm".into());
        let other = Principal::App("other".into());
        let user = Principal::User("bob@x".into());
        let open = EwsSwitches::default();
        assert!(refusal(&open, &app).is_none() && refusal(&open, &user).is_none());
        let listed = EwsSwitches {
            ews_enabled: None,
            ews_allowed_app_ids: Some(vec!["CRM".into()]),
        };
        assert!(refusal(&listed, &app).is_none());
        assert!(refusal(&listed, &other).is_some());
        assert!(refusal(&listed, &user).is_some());
        let off = EwsSwitches {
            ews_enabled: Some(false),
            ..listed
        };
        assert!(refusal(&off, &app).is_some());
    }
}
