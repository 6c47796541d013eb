//! Server side of NTLM (MS-NLMP): the CHALLENGE message and verification of the NTLMv2
//! response in the AUTHENTICATE message against the user's password.

use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use md5::Md5;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
const REQUEST_TARGET: u32 = 0x0000_0004;
const NEGOTIATE_NTLM: u32 = 0x0000_0200;
const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
const NEGOTIATE_VERSION: u32 = 0x0200_0000;
const NEGOTIATE_128: u32 = 0x2000_0000;
const NEGOTIATE_56: u32 = 0x8000_0000;

/// Why an NTLM message was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NtlmError {
    /// Not an NTLM message, or truncated.
    #[error("malformed NTLM message")]
    Malformed,
    /// Only NTLMv2 responses are accepted.
    #[error("NTLMv1 responses are not accepted")]
    Version1,
    /// The user is unknown or the response does not match the password.
    #[error("NTLM authentication failed")]
    Failed,
}

/// The type of an NTLM message (1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE).
pub fn message_type(msg: &[u8]) -> Result<u32, NtlmError> {
    if msg.len() < 12 || &msg[..8] != SIGNATURE {
        return Err(NtlmError::Malformed);
    }
    Ok(u32::from_le_bytes([msg[8], msg[9], msg[10], msg[11]]))
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Md5> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 16],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// NTOWFv2 of MS-NLMP: HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) + domain)).
pub fn ntowf_v2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let nt_hash = Md4::digest(utf16le(password));
    let identity = utf16le(&format!("{}{}", user.to_uppercase(), domain));
    hmac_md5(&nt_hash, &[&identity])
}

/// Builds a CHALLENGE message for `challenge`, naming the server's domain.
pub fn challenge_message(challenge: [u8; 8], domain: &str, timestamp: u64) -> Vec<u8> {
    let target = utf16le(domain);
    let mut info = Vec::new();
    let mut av = |id: u16, value: &[u8]| {
        info.extend_from_slice(&id.to_le_bytes());
        info.extend_from_slice(&(value.len() as u16).to_le_bytes());
        info.extend_from_slice(value);
    };
    av(2, &utf16le(domain));
    av(1, &utf16le("EWSMOCK"));
    av(4, &utf16le(&format!("{}.mock", domain.to_lowercase())));
    av(
        3,
        &utf16le(&format!("ewsmock.{}.mock", domain.to_lowercase())),
    );
    av(7, &timestamp.to_le_bytes());
    av(0, &[]);
    let flags = NEGOTIATE_UNICODE
        | REQUEST_TARGET
        | NEGOTIATE_NTLM
        | NEGOTIATE_ALWAYS_SIGN
        | TARGET_TYPE_DOMAIN
        | NEGOTIATE_EXTENDED_SESSIONSECURITY
        | NEGOTIATE_TARGET_INFO
        | NEGOTIATE_VERSION
        | NEGOTIATE_128
        | NEGOTIATE_56;
    let header_len = 56u32;
    let mut msg = Vec::with_capacity(56 + target.len() + info.len());
    msg.extend_from_slice(SIGNATURE);
    msg.extend_from_slice(&2u32.to_le_bytes());
    msg.extend_from_slice(&(target.len() as u16).to_le_bytes());
    msg.extend_from_slice(&(target.len() as u16).to_le_bytes());
    msg.extend_from_slice(&header_len.to_le_bytes());
    msg.extend_from_slice(&flags.to_le_bytes());
    msg.extend_from_slice(&challenge);
    msg.extend_from_slice(&[0u8; 8]);
    msg.extend_from_slice(&(info.len() as u16).to_le_bytes());
    msg.extend_from_slice(&(info.len() as u16).to_le_bytes());
    msg.extend_from_slice(&(header_len + target.len() as u32).to_le_bytes());
    // version: 10.0 build 17763, NTLM revision 15
    msg.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 15]);
    msg.extend_from_slice(&target);
    msg.extend_from_slice(&info);
    msg
}

fn field(msg: &[u8], at: usize) -> Result<&[u8], NtlmError> {
    let header = msg.get(at..at + 8).ok_or(NtlmError::Malformed)?;
    let len = u16::from_le_bytes([header[0], header[1]]) as usize;
    let offset = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    msg.get(offset..offset.checked_add(len).ok_or(NtlmError::Malformed)?)
        .ok_or(NtlmError::Malformed)
}

fn decode_string(bytes: &[u8], unicode: bool) -> Result<String, NtlmError> {
    if unicode {
        if !bytes.len().is_multiple_of(2) {
            return Err(NtlmError::Malformed);
        }
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).map_err(|_| NtlmError::Malformed)
    } else {
        Ok(bytes.iter().map(|&b| b as char).collect())
    }
}

/// The user and domain named by an AUTHENTICATE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticate {
    /// User name as sent.
    pub user: String,
    /// Domain as sent.
    pub domain: String,
    nt_response: Vec<u8>,
}

/// Parses an AUTHENTICATE message.
pub fn parse_authenticate(msg: &[u8]) -> Result<Authenticate, NtlmError> {
    if message_type(msg)? != 3 {
        return Err(NtlmError::Malformed);
    }
    let flags_bytes = msg.get(60..64).ok_or(NtlmError::Malformed)?;
    let flags = u32::from_le_bytes([
        flags_bytes[0],
        flags_bytes[1],
        flags_bytes[2],
        flags_bytes[3],
    ]);
    let unicode = flags & NEGOTIATE_UNICODE != 0;
    Ok(Authenticate {
        nt_response: field(msg, 20)?.to_vec(),
        domain: decode_string(field(msg, 28)?, unicode)?,
        user: decode_string(field(msg, 36)?, unicode)?,
    })
}

impl Authenticate {
    /// Checks the NTLMv2 response for `challenge` against `password`.
    pub fn verify(&self, challenge: [u8; 8], password: &str) -> Result<(), NtlmError> {
        if self.nt_response.len() <= 24 {
            return Err(NtlmError::Version1);
        }
        let (proof, blob) = self.nt_response.split_at(16);
        let key = ntowf_v2(password, &self.user, &self.domain);
        let expected = hmac_md5(&key, &[&challenge, blob]);
        if expected
            .iter()
            .zip(proof)
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            == 0
        {
            Ok(())
        } else {
            Err(NtlmError::Failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MS-NLMP 4.2.4 test vectors: NTOWFv2 and the NTProofStr.
    #[test]
    fn ntlmv2_matches_the_specification_vectors() {
        let key = ntowf_v2("Password", "User", "Domain");
        assert_eq!(
            key,
            [
                0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93, 0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0,
                0x2e, 0x3f
            ]
        );
    }

    #[test]
    fn challenge_message_is_well_formed() {
        let msg = challenge_message([1, 2, 3, 4, 5, 6, 7, 8], "MOCK", 0);
        assert_eq!(message_type(&msg), Ok(2));
        assert_eq!(&msg[24..32], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            decode_string(field(&msg, 12).unwrap(), true).unwrap(),
            "MOCK"
        );
        assert!(message_type(b"garbage").is_err());
    }
}
