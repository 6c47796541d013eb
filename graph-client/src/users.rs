//! Users: resolve a mailbox address to its user.

use crate::client::Client;
use crate::error::Error;
use crate::odata::Page;
use crate::schema::graph_struct;

graph_struct! {
    /// `user` (the properties the connector reads).
    pub struct User = "user" {
        "id" => id: String,
        "displayName" => display_name: String,
        "mail" => mail: String,
        "userPrincipalName" => user_principal_name: String,
        "proxyAddresses" => proxy_addresses: Vec<String>,
    }
}

const USER_SELECT: &str = "id,displayName,mail,userPrincipalName,proxyAddresses";

impl Client {
    /// Resolves an SMTP address (or user principal name) to its user: `GET /users/{address}`
    /// first, then `$filter=mail eq '...'`. `Ok(None)` if no user has it.
    pub async fn resolve_user(&self, address: &str) -> Result<Option<User>, Error> {
        let mailbox = self.mailbox(address);
        match mailbox
            .get::<User>(&[], &[("$select", USER_SELECT.to_owned())], "user")
            .await
        {
            Ok(user) => return Ok(Some(user)),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let filter = format!("mail eq '{}'", address.replace('\'', "''"));
        let url = self.url(
            &["users"],
            &[("$filter", filter), ("$select", USER_SELECT.to_owned())],
        )?;
        let mut request = crate::client::Request::new(http::Method::GET, url);
        request.mailbox = Some(address.to_owned());
        let page: Page<User> = self.execute(request).await?.json("users")?;
        Ok(page.value.into_iter().next())
    }
}
