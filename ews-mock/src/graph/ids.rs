//! Graph ids (immutable-id style, distinct from EWS ids; `translateExchangeIds` converts),
//! change keys and etags (the same change key as the EWS front), delta tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) use crate::ids::SyncKind;
use crate::ids::{IdKind, decode_sync_state, encode_sync_state};

const MAGIC: &[u8; 3] = b"GM1";

fn tag(kind: IdKind) -> u8 {
    match kind {
        IdKind::Item => b'I',
        IdKind::Folder => b'F',
        IdKind::Attachment => b'A',
        IdKind::Occurrence => b'O',
    }
}

/// The Graph id (`restImmutableEntryId`) of an item or folder: URL-safe base64, so it is one
/// path segment as it is.
pub(crate) fn encode(kind: IdKind, mailbox: &str, key: u64) -> String {
    let mut raw = Vec::with_capacity(12 + mailbox.len());
    raw.extend_from_slice(MAGIC);
    raw.push(tag(kind));
    raw.extend_from_slice(&key.to_le_bytes());
    raw.extend_from_slice(mailbox.to_ascii_lowercase().as_bytes());
    URL_SAFE_NO_PAD.encode(raw)
}

/// The key of a Graph id of `kind` in `mailbox`; `None` if malformed or of another mailbox.
pub(crate) fn decode(kind: IdKind, mailbox: &str, id: &str) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(id.trim()).ok()?;
    if raw.len() < 12 || &raw[..3] != MAGIC || raw[3] != tag(kind) {
        return None;
    }
    let key = u64::from_le_bytes(raw[4..12].try_into().ok()?);
    let owner = std::str::from_utf8(&raw[12..]).ok()?;
    owner.eq_ignore_ascii_case(mailbox).then_some(key)
}

/// `@odata.etag` of a change key.
pub(crate) fn etag(change_key: &str) -> String {
    format!("W/\"{change_key}\"")
}

/// A delta token: the epoch (delta tokens of an older epoch are expired) and a signed sync
/// state of the folder's journal.
pub(crate) fn delta_token(
    secret: &[u8],
    kind: SyncKind,
    epoch: u64,
    mailbox: &str,
    folder: u64,
    seq: u64,
) -> String {
    let state = encode_sync_state(secret, kind, mailbox, folder, seq);
    format!("{epoch}.{}", state.replace('+', "-").replace('/', "_"))
}

/// Why a delta token was refused.
pub(crate) enum DeltaTokenError {
    /// Of an older epoch: 410 `syncStateNotFound`.
    Expired,
    /// Foreign or corrupt.
    Invalid,
}

/// The journal position of a delta token.
pub(crate) fn decode_delta_token(
    secret: &[u8],
    kind: SyncKind,
    epoch: u64,
    mailbox: &str,
    folder: u64,
    token: &str,
) -> Result<u64, DeltaTokenError> {
    let (e, state) = token.split_once('.').ok_or(DeltaTokenError::Invalid)?;
    let e: u64 = e.parse().map_err(|_| DeltaTokenError::Invalid)?;
    let state = state.replace('-', "+").replace('_', "/");
    let seq = decode_sync_state(secret, kind, mailbox, folder, &state)
        .map_err(|_| DeltaTokenError::Invalid)?;
    if e != epoch {
        return Err(DeltaTokenError::Expired);
    }
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_per_mailbox_and_kind() {
        let id = encode(IdKind::Item, "Alice@Contoso.test", 7);
        assert_eq!(decode(IdKind::Item, "alice@contoso.test", &id), Some(7));
        assert_eq!(decode(IdKind::Folder, "alice@contoso.test", &id), None);
        assert_eq!(decode(IdKind::Item, "bob@contoso.test", &id), None);
        assert!(!id.contains('/') && !id.contains('+'));
    }

    #[test]
    fn delta_tokens_expire_with_their_epoch() {
        let t = delta_token(b"s", SyncKind::Items, 1, "a@x", 3, 42);
        assert!(matches!(
            decode_delta_token(b"s", SyncKind::Items, 1, "a@x", 3, &t),
            Ok(42)
        ));
        assert!(matches!(
            decode_delta_token(b"s", SyncKind::Items, 2, "a@x", 3, &t),
            Err(DeltaTokenError::Expired)
        ));
        assert!(matches!(
            decode_delta_token(b"s", SyncKind::Items, 1, "a@x", 4, &t),
            Err(DeltaTokenError::Invalid)
        ));
        assert!(matches!(
            decode_delta_token(b"s", SyncKind::Hierarchy, 1, "a@x", 3, &t),
            Err(DeltaTokenError::Invalid)
        ));
    }
}
