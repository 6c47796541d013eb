//! The embedded [`SecretProvider`]: the secrets written in the TOML configuration file.
//!
//! Every string value whose key ends in `password`, `secret` or `token` is a secret. Its name
//! is its path in the file, with the elements of a list (`[[servers]]`, `[[mail_accounts]]`)
//! named by their `name` or `short_code` field (or else their index):
//!
//! ```text
//! servers.<name>.admin_password
//! servers.<name>.oauth.client_secret
//! mail_accounts.<short code>.smtp.password
//! mail_accounts.<short code>.imap.password
//! mail_accounts.<short code>.exchange.password
//! ```
//!
//! Element names compare case-insensitively. Values never appear in Debug output or errors.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::host::{HostError, SecretProvider, SecretValue};

/// The secrets of a configuration file.
#[derive(Clone, Default)]
pub struct ConfigSecrets {
    /// Lower-cased name to value.
    values: BTreeMap<String, SecretValue>,
}

impl std::fmt::Debug for ConfigSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSecrets")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why the configuration text could not be read for secrets.
#[derive(Debug, thiserror::Error)]
#[error("the configuration is not valid TOML: {0}")]
pub struct SecretsError(String);

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("password") || k.ends_with("secret") || k.ends_with("token")
}

fn element_name(v: &toml::Value, index: usize) -> String {
    ["name", "short_code"]
        .iter()
        .find_map(|k| v.get(k).and_then(toml::Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| index.to_string())
}

fn walk(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, SecretValue>) {
    match v {
        toml::Value::Table(t) => {
            for (k, child) in t {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match child {
                    toml::Value::String(s) if is_secret_key(k) => {
                        out.insert(path.to_lowercase(), SecretValue::new(s.clone()));
                    }
                    _ => walk(&path, child, out),
                }
            }
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(&format!("{prefix}.{}", element_name(item, i)), item, out);
            }
        }
        _ => {}
    }
}

impl ConfigSecrets {
    /// The secrets of a configuration text.
    pub fn from_toml_str(text: &str) -> Result<Self, SecretsError> {
        let value: toml::Value = toml::from_str(text).map_err(|e| {
            // The TOML error may quote the offending line, which may hold a secret: keep
            // only the location.
            SecretsError(match e.span() {
                Some(span) => format!("syntax error at byte {}", span.start),
                None => "syntax error".to_owned(),
            })
        })?;
        Ok(Self::from_value(&value))
    }

    /// The secrets of a parsed configuration (for example a `Configuration` serialized with
    /// `toml::Value::try_from`).
    pub fn from_value(value: &toml::Value) -> Self {
        let mut values = BTreeMap::new();
        walk("", value, &mut values);
        Self { values }
    }

    /// The secrets of a loaded configuration.
    pub fn from_configuration(
        config: &conaktiv_model::Configuration,
    ) -> Result<Self, SecretsError> {
        let value = toml::Value::try_from(config)
            .map_err(|_| SecretsError("the configuration cannot be written as TOML".into()))?;
        Ok(Self::from_value(&value))
    }

    /// The names of every secret (lower-cased).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

#[async_trait]
impl SecretProvider for ConfigSecrets {
    async fn secret(&self, name: &str) -> Result<SecretValue, HostError> {
        self.values
            .get(&name.trim().to_lowercase())
            .cloned()
            .ok_or_else(|| HostError::Unknown {
                what: "secret",
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[[servers]]
name = "Exchange Büro"
url = "https://mail.agentur.example/EWS/Exchange.asmx"
admin_user = "AGENTUR\\exchange-admin"
admin_password = "pw-server-1"

[[servers]]
name = "Online"
url = "https://outlook.office365.com/EWS/Exchange.asmx"
[servers.oauth]
tenant_id = "t"
client_id = "c"
client_secret = "cs-online"

[[mail_accounts]]
short_code = "ABC"
[mail_accounts.smtp]
host = "smtp.example"
password = "pw-smtp"
[mail_accounts.imap]
password = "pw-imap"
"#;

    #[tokio::test]
    async fn secrets_are_found_by_path() {
        let s = ConfigSecrets::from_toml_str(CONFIG).unwrap();
        let cases = [
            ("servers.Exchange Büro.admin_password", "pw-server-1"),
            ("servers.exchange büro.admin_password", "pw-server-1"),
            ("servers.Online.oauth.client_secret", "cs-online"),
            ("mail_accounts.abc.smtp.password", "pw-smtp"),
            ("mail_accounts.ABC.imap.password", "pw-imap"),
        ];
        for (name, value) in cases {
            assert_eq!(s.secret(name).await.unwrap().expose(), value, "{name}");
        }
        assert_eq!(s.names().count(), 4);
        let err = s.secret("servers.Online.admin_password").await.unwrap_err();
        assert!(matches!(err, HostError::Unknown { what: "secret", .. }));
    }

    #[tokio::test]
    async fn the_demo_configuration_has_its_secrets() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml");
        let config = conaktiv_model::Configuration::load(path).unwrap();
        let s = ConfigSecrets::from_configuration(&config).unwrap();
        let pw = s
            .secret("servers.Mock Exchange.admin_password")
            .await
            .unwrap();
        assert_eq!(pw.expose(), "demo-admin-password");
        let cs = s
            .secret("servers.mock exchange online.oauth.client_secret")
            .await
            .unwrap();
        assert_eq!(cs.expose(), "demo-client-secret");
    }

    #[test]
    fn values_never_show() {
        let s = ConfigSecrets::from_toml_str(CONFIG).unwrap();
        let debug = format!("{s:?}");
        assert!(debug.contains("mail_accounts.abc.smtp.password"));
        for v in ["pw-server-1", "cs-online", "pw-smtp", "pw-imap"] {
            assert!(!debug.contains(v));
        }
        let err = ConfigSecrets::from_toml_str("admin_password = \"geheim").unwrap_err();
        assert!(!err.to_string().contains("geheim"), "{err}");
    }
}
