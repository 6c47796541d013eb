//! The change-feed token of a [`super::GraphSide`]: the delta link of every synced folder, the
//! folder configuration it belongs to, and when it was issued.

use serde::{Deserialize, Serialize};

/// Hours after which a calendar token is not used any more: the calendar view delta covers
/// only its window, so a day-old token is replaced by a full listing that also sees events
/// outside the window.
pub const CALENDAR_TOKEN_HOURS: i64 = 24;

/// The token sync-core stores for the Exchange side of a Graph mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphToken {
    /// Format marker (`"graph1"`): a token of the EWS side or of another format is not used.
    pub format: String,
    /// Fingerprint of the rule's folders and table.
    pub config: String,
    /// Delta link per folder (`""` for the default folder), in folder order.
    pub folders: Vec<(String, String)>,
    /// Unix seconds when the token was made by a full listing.
    pub issued: i64,
}

impl GraphToken {
    /// The format marker.
    pub const FORMAT: &'static str = "graph1";

    /// A new token for a configuration.
    pub fn new(config: String, issued: i64) -> Self {
        Self {
            format: Self::FORMAT.into(),
            config,
            folders: Vec::new(),
            issued,
        }
    }

    /// The token as stored.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored token, or `None` when it is not a Graph token of this format (an EWS token,
    /// a corrupt value).
    pub fn decode(text: &str) -> Option<Self> {
        let t: Self = serde_json::from_str(text).ok()?;
        (t.format == Self::FORMAT).then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_tokens() {
        let mut t = GraphToken::new("contacts|/contacts".into(), 1_700_000_000);
        t.folders
            .push((String::new(), "https://graph/delta?x=1".into()));
        assert_eq!(GraphToken::decode(&t.encode()), Some(t));
        assert_eq!(GraphToken::decode("v1:abc"), None);
        assert_eq!(
            GraphToken::decode(
                "{\"format\":\"other\",\"config\":\"\",\"folders\":[],\"issued\":0}"
            ),
            None
        );
        assert_eq!(GraphToken::decode(""), None);
    }
}
