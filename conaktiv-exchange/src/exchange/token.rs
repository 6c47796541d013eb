//! The change-feed token of an Exchange side: the per-folder `SyncFolderItems` states (and
//! the `SyncFolderHierarchy` states of the folders whose subfolders are included) encoded
//! into sync-core's one opaque token per side.
//!
//! The token is JSON: `{"v":1,"config":"…","folders":{"<folder id>":"<sync state>"},"trees":{"<root
//! folder id>":"<hierarchy sync state>"}}`. A token that does not parse, has another
//! version or names another set of folders than the side now resolves is treated as
//! expired (the engine then lists in full).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The version written into tokens.
pub const TOKEN_VERSION: u32 = 1;

/// The decoded change-feed token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedToken {
    /// The format version ([`TOKEN_VERSION`]).
    pub v: u32,
    /// A fingerprint of the side's configuration (table and folder paths): a token of
    /// another configuration is not used.
    #[serde(default)]
    pub config: String,
    /// Folder id to its `SyncFolderItems` state.
    pub folders: BTreeMap<String, String>,
    /// Root folder id (of a sync folder with subfolders) to its `SyncFolderHierarchy` state.
    #[serde(default)]
    pub trees: BTreeMap<String, String>,
}

impl FeedToken {
    /// An empty token of the current version.
    pub fn new() -> Self {
        Self {
            v: TOKEN_VERSION,
            ..Self::default()
        }
    }

    /// The token as text.
    pub fn encode(&self) -> String {
        // Serializing string maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a token; `None` if it is not one of ours (corrupt, older format).
    pub fn decode(text: &str) -> Option<Self> {
        let token: FeedToken = serde_json::from_str(text).ok()?;
        (token.v == TOKEN_VERSION).then_some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let mut t = FeedToken::new();
        t.folders.insert("F1".into(), "S1".into());
        t.trees.insert("F1".into(), "H1".into());
        assert_eq!(FeedToken::decode(&t.encode()), Some(t));
        for bad in ["", "garbage", "{\"v\":2,\"folders\":{}}", "[1,2]"] {
            assert_eq!(FeedToken::decode(bad), None, "{bad:?}");
        }
    }
}
