//! Users: `/users/{id | address}` (graph-client's `User`).

use axum::http::{Method, StatusCode};
use graph_client::users::User;

use super::{Reply, Request};
use crate::server::Shared;

/// The user's object id: a GUID derived from the address.
pub(crate) fn user_id(address: &str) -> String {
    super::guid_of(address.to_ascii_lowercase().as_bytes())
}

/// The mailbox address of `/users/{user}`: an address (any case) or an object id.
pub(crate) fn resolve(shared: &Shared, user: &str) -> Option<String> {
    let store = shared.read();
    if let Some(m) = store.mailbox(user) {
        return Some(m.address.to_ascii_lowercase());
    }
    store
        .mailboxes
        .values()
        .find(|m| user_id(&m.address).eq_ignore_ascii_case(user))
        .map(|m| m.address.to_ascii_lowercase())
}

/// `GET /users/{id}`.
pub(crate) fn get(req: &Request<'_>) -> Reply {
    if req.method != Method::GET {
        return Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "The method is not allowed on a user.",
        );
    }
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("user");
    };
    let display_name = store
        .user(&mb.address)
        .map(|u| u.display_name.clone())
        .filter(|n| !n.is_empty());
    let user = User {
        id: Some(user_id(&mb.address)),
        display_name,
        mail: Some(mb.address.clone()),
        user_principal_name: Some(mb.address.clone()),
        proxy_addresses: Some(vec![format!("SMTP:{}", mb.address)]),
    };
    Reply::json(StatusCode::OK, &user)
}
