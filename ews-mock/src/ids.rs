//! Opaque identifiers: item and folder ids, change keys and sync states.
//!
//! Ids are base64 of a tagged binary record (mailbox address and a per-mailbox counter), so they
//! are opaque to clients, stable while an item stays in its folder, and a moved item gets a new
//! counter and so a new id. Sync states carry an HMAC so that a foreign or corrupt state is
//! recognised.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAGIC: &[u8; 3] = b"EM1";

/// What an id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// An item.
    Item,
    /// A folder.
    Folder,
    /// An attachment (of the item with the given counter).
    Attachment,
    /// An occurrence of a recurring series (the master's counter; `sub` is the 1-based index).
    Occurrence,
}

impl IdKind {
    fn tag(self) -> u8 {
        match self {
            IdKind::Item => b'I',
            IdKind::Folder => b'F',
            IdKind::Attachment => b'A',
            IdKind::Occurrence => b'O',
        }
    }
}

/// A decoded id: mailbox address (lower case), counter and, for attachments, the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedId {
    /// What it names.
    pub kind: IdKind,
    /// The mailbox's address, lower case.
    pub mailbox: String,
    /// The item or folder counter.
    pub key: u64,
    /// The attachment number within the item (0 for items and folders).
    pub sub: u64,
}

/// Why an id could not be decoded (maps to `ErrorInvalidIdMalformed`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed id")]
pub struct MalformedId;

/// Encodes an id. Laid out as Exchange lays out its ids: the mailbox first, the item's
/// counter last and big-endian (an EWS id ends in the message's global counter), so ids of
/// items created one after the other share all but their last characters, as Exchange's do.
pub fn encode_id(kind: IdKind, mailbox: &str, key: u64, sub: u64) -> String {
    let mut raw = Vec::with_capacity(20 + mailbox.len());
    raw.extend_from_slice(MAGIC);
    raw.push(kind.tag());
    raw.extend_from_slice(mailbox.as_bytes());
    raw.extend_from_slice(&sub.to_be_bytes());
    raw.extend_from_slice(&key.to_be_bytes());
    STANDARD.encode(raw)
}

/// Decodes an id of the expected kind.
pub fn decode_id(kind: IdKind, id: &str) -> Result<DecodedId, MalformedId> {
    let raw = STANDARD.decode(id.trim()).map_err(|_| MalformedId)?;
    if raw.len() < 20 || &raw[..3] != MAGIC || raw[3] != kind.tag() {
        return Err(MalformedId);
    }
    let (head, counters) = raw.split_at(raw.len() - 16);
    let sub = u64::from_be_bytes(counters[..8].try_into().map_err(|_| MalformedId)?);
    let key = u64::from_be_bytes(counters[8..].try_into().map_err(|_| MalformedId)?);
    let mailbox = String::from_utf8(head[4..].to_vec()).map_err(|_| MalformedId)?;
    if mailbox.is_empty() {
        return Err(MalformedId);
    }
    Ok(DecodedId {
        kind,
        mailbox,
        key,
        sub,
    })
}

/// Encodes a change key for a version of an item or folder.
pub fn encode_change_key(key: u64, version: u64) -> String {
    let mut raw = Vec::with_capacity(18);
    raw.extend_from_slice(b"CK");
    raw.extend_from_slice(&key.to_le_bytes());
    raw.extend_from_slice(&version.to_le_bytes());
    STANDARD.encode(raw)
}

/// What a sync state synchronises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    /// SyncFolderItems of one folder.
    Items,
    /// SyncFolderHierarchy below one folder.
    Hierarchy,
}

/// Why a sync state was rejected (maps to `ErrorInvalidSyncStateData`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid sync state")]
pub struct InvalidSyncState;

type HmacSha256 = Hmac<Sha256>;

fn state_mac(secret: &[u8], payload: &[u8]) -> Result<[u8; 16], InvalidSyncState> {
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| InvalidSyncState)?;
    mac.update(payload);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    Ok(out)
}

/// Where a sync state stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPosition {
    /// After journal position `seq`: the changes since then are reported.
    Journal(u64),
    /// Inside a first synchronisation: the items that existed at journal position `seq`
    /// (counters up to `last_key`) are listed by counter after `after_key`; then the journal
    /// continues from `seq`.
    Initial {
        /// Journal position when the first synchronisation started.
        seq: u64,
        /// The highest counter allocated then.
        last_key: u64,
        /// The last counter already listed.
        after_key: u64,
    },
}

fn state_payload(kind: SyncKind, mailbox: &str, folder: u64, pos: SyncPosition) -> Vec<u8> {
    let mut raw = Vec::with_capacity(40 + mailbox.len());
    raw.extend_from_slice(b"SS1");
    raw.push(match (kind, pos) {
        (SyncKind::Items, SyncPosition::Journal(_)) => b'I',
        (SyncKind::Items, SyncPosition::Initial { .. }) => b'J',
        (SyncKind::Hierarchy, _) => b'H',
    });
    raw.extend_from_slice(&folder.to_le_bytes());
    match pos {
        SyncPosition::Journal(seq) => raw.extend_from_slice(&seq.to_le_bytes()),
        SyncPosition::Initial {
            seq,
            last_key,
            after_key,
        } => {
            raw.extend_from_slice(&seq.to_le_bytes());
            raw.extend_from_slice(&last_key.to_le_bytes());
            raw.extend_from_slice(&after_key.to_le_bytes());
        }
    }
    raw.extend_from_slice(mailbox.as_bytes());
    raw
}

/// Encodes a sync state: the journal position `seq` of `folder` in `mailbox`, signed.
pub fn encode_sync_state(
    secret: &[u8],
    kind: SyncKind,
    mailbox: &str,
    folder: u64,
    seq: u64,
) -> String {
    encode_sync_position(secret, kind, mailbox, folder, SyncPosition::Journal(seq))
}

/// Encodes a sync state at any position, signed.
pub fn encode_sync_position(
    secret: &[u8],
    kind: SyncKind,
    mailbox: &str,
    folder: u64,
    pos: SyncPosition,
) -> String {
    let mut raw = state_payload(kind, mailbox, folder, pos);
    match state_mac(secret, &raw) {
        Ok(mac) => raw.extend_from_slice(&mac),
        Err(InvalidSyncState) => raw.extend_from_slice(&[0u8; 16]),
    }
    STANDARD.encode(raw)
}

/// Decodes and verifies a sync state for `folder` in `mailbox`; returns its journal position
/// (a state inside a first synchronisation is rejected).
pub fn decode_sync_state(
    secret: &[u8],
    kind: SyncKind,
    mailbox: &str,
    folder: u64,
    state: &str,
) -> Result<u64, InvalidSyncState> {
    match decode_sync_position(secret, kind, mailbox, folder, state)? {
        SyncPosition::Journal(seq) => Ok(seq),
        SyncPosition::Initial { .. } => Err(InvalidSyncState),
    }
}

/// Decodes and verifies a sync state for `folder` in `mailbox`; returns its position.
pub fn decode_sync_position(
    secret: &[u8],
    kind: SyncKind,
    mailbox: &str,
    folder: u64,
    state: &str,
) -> Result<SyncPosition, InvalidSyncState> {
    let raw = STANDARD
        .decode(state.trim())
        .map_err(|_| InvalidSyncState)?;
    if raw.len() < 36 {
        return Err(InvalidSyncState);
    }
    let (payload, mac) = raw.split_at(raw.len() - 16);
    let mut verifier = HmacSha256::new_from_slice(secret).map_err(|_| InvalidSyncState)?;
    verifier.update(payload);
    let full = verifier.finalize().into_bytes();
    // constant-time comparison is not needed for a mock, but cheap
    if full[..16]
        .iter()
        .zip(mac)
        .fold(0u8, |a, (x, y)| a | (x ^ y))
        != 0
    {
        return Err(InvalidSyncState);
    }
    let word = |at: usize| -> Result<u64, InvalidSyncState> {
        let bytes = payload.get(at..at + 8).ok_or(InvalidSyncState)?;
        Ok(u64::from_le_bytes(
            bytes.try_into().map_err(|_| InvalidSyncState)?,
        ))
    };
    let pos = if payload.get(3) == Some(&b'J') {
        SyncPosition::Initial {
            seq: word(12)?,
            last_key: word(20)?,
            after_key: word(28)?,
        }
    } else {
        SyncPosition::Journal(word(12)?)
    };
    if payload != state_payload(kind, mailbox, folder, pos).as_slice() {
        return Err(InvalidSyncState);
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_kinds() {
        let id = encode_id(IdKind::Item, "alice@contoso.test", 42, 0);
        let d = decode_id(IdKind::Item, &id).unwrap();
        assert_eq!((d.mailbox.as_str(), d.key), ("alice@contoso.test", 42));
        assert_eq!(decode_id(IdKind::Folder, &id), Err(MalformedId));
        assert_eq!(decode_id(IdKind::Item, "not base64!"), Err(MalformedId));
        assert_eq!(decode_id(IdKind::Item, "AAAA"), Err(MalformedId));
        assert_ne!(id, encode_id(IdKind::Item, "alice@contoso.test", 43, 0));
        let a = encode_id(IdKind::Attachment, "alice@contoso.test", 42, 3);
        let d = decode_id(IdKind::Attachment, &a).unwrap();
        assert_eq!(
            (d.mailbox.as_str(), d.key, d.sub),
            ("alice@contoso.test", 42, 3)
        );
    }

    #[test]
    fn ids_of_items_created_one_after_the_other_differ_only_at_their_end() {
        // as Exchange's: mailbox first, the counter last
        for key in [1_u64, 255, 256, 70_000] {
            let a = encode_id(IdKind::Item, "alice@contoso.test", key, 0);
            let b = encode_id(IdKind::Item, "alice@contoso.test", key + 1, 0);
            let shared = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            assert!(shared + 12 >= a.len(), "{a} / {b}");
        }
    }

    #[test]
    fn sync_states_are_tamper_evident_and_bound_to_their_folder() {
        let s = encode_sync_state(b"secret", SyncKind::Items, "a@x", 7, 99);
        assert_eq!(
            decode_sync_state(b"secret", SyncKind::Items, "a@x", 7, &s),
            Ok(99)
        );
        assert!(decode_sync_state(b"other", SyncKind::Items, "a@x", 7, &s).is_err());
        assert!(decode_sync_state(b"secret", SyncKind::Items, "a@x", 8, &s).is_err());
        assert!(decode_sync_state(b"secret", SyncKind::Items, "b@x", 7, &s).is_err());
        assert!(decode_sync_state(b"secret", SyncKind::Hierarchy, "a@x", 7, &s).is_err());
        let mut raw = STANDARD.decode(&s).unwrap();
        raw[14] ^= 1;
        let tampered = STANDARD.encode(raw);
        assert!(decode_sync_state(b"secret", SyncKind::Items, "a@x", 7, &tampered).is_err());
        assert!(decode_sync_state(b"secret", SyncKind::Items, "a@x", 7, "garbage").is_err());
        let initial = SyncPosition::Initial {
            seq: 5,
            last_key: 9,
            after_key: 3,
        };
        let s = encode_sync_position(b"secret", SyncKind::Items, "a@x", 7, initial);
        assert_eq!(
            decode_sync_position(b"secret", SyncKind::Items, "a@x", 7, &s),
            Ok(initial)
        );
        assert!(decode_sync_position(b"secret", SyncKind::Hierarchy, "a@x", 7, &s).is_err());
        assert!(decode_sync_position(b"secret", SyncKind::Items, "a@x", 8, &s).is_err());
    }
}
