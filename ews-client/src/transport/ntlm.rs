//! NTLM (NTLMv2) messages, reusable by clients and by mock servers.
//!
//! The message structures and the NTLMv2 crypto come from the [`ntlmclient`] crate
//! (re-exported here). This module adds what a client and a test server need on top:
//!
//! * [`negotiate_message`] / [`authenticate_message`]: the client's Type 1 and Type 3 messages;
//! * [`challenge_message`]: encodes a Type 2 message (server side). `ntlmclient`'s own
//!   `ChallengeMessage::to_bytes` misplaces the 8 reserved bytes, so it must not be used;
//! * [`parse_message`] / [`decode_authorization`] / [`find_challenge`]: bounds-checked parsing
//!   of base64 header tokens (accepting header-only messages that `ntlmclient` rejects);
//! * [`verify_ntlmv2_response`]: server-side check of a Type 3 NTLMv2 response against a
//!   password, for the mock server.
//!
//! ```
//! use ews_client::transport::ntlm::{self, Message, NtlmCredentials};
//! // client -> server: Type 1
//! let type1 = ntlm::negotiate_message("", "WS01").unwrap();
//! assert!(matches!(ntlm::parse_message(&type1), Ok(Message::Negotiate(_))));
//! // server -> client: Type 2
//! let challenge = ntlm::server_challenge([7; 8], "CONTOSO");
//! let type2 = ntlm::challenge_message(&challenge);
//! let Ok(Message::Challenge(parsed)) = ntlm::parse_message(&type2) else { panic!() };
//! // client -> server: Type 3, verified by the server
//! let creds = NtlmCredentials::new("alice", "P@ssw0rd", "CONTOSO");
//! let type3 = ntlm::authenticate_message(&parsed, &creds, "WS01").unwrap();
//! let Ok(Message::Authenticate(auth)) = ntlm::parse_message(&type3) else { panic!() };
//! assert_eq!(auth.user_name, "alice");
//! assert!(ntlm::verify_ntlmv2_response(&auth, [7; 8], "P@ssw0rd"));
//! assert!(!ntlm::verify_ntlmv2_response(&auth, [7; 8], "wrong"));
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use md5::Md5;
use secrecy::{ExposeSecret, SecretString};

pub use ntlmclient::{
    AuthenticateMessage, ChallengeMessage, Flags, Message, NegotiateMessage, OsVersion,
    TargetInfoEntry, TargetInfoType,
};

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// An NTLM message could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NtlmError {
    /// The header value is not `NTLM <base64>` / `Negotiate <base64>`.
    #[error("not an NTLM authorization token")]
    NotNtlm,
    /// The token is not valid base64.
    #[error("NTLM token is not valid base64")]
    Base64,
    /// The message is malformed.
    #[error("malformed NTLM message: {0}")]
    Malformed(String),
    /// The server answered 401 without an NTLM challenge.
    #[error("no NTLM challenge in the 401 response")]
    NoChallenge,
    /// A message could not be encoded.
    #[error("cannot encode NTLM message: {0}")]
    Encode(String),
}

/// NTLM credentials. `Debug` hides the password.
#[derive(Clone)]
pub struct NtlmCredentials {
    /// User name (without domain), or a UPN with an empty domain.
    pub username: String,
    /// Password.
    pub password: SecretString,
    /// NetBIOS domain; may be empty.
    pub domain: String,
}

impl NtlmCredentials {
    /// Credentials from parts.
    pub fn new(username: &str, password: &str, domain: &str) -> Self {
        Self {
            username: username.to_owned(),
            password: SecretString::from(password.to_owned()),
            domain: domain.to_owned(),
        }
    }
}

impl fmt::Debug for NtlmCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmCredentials")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("domain", &self.domain)
            .finish()
    }
}

/// Flags the client offers in its Type 1 message.
pub fn negotiate_flags() -> Flags {
    Flags::NEGOTIATE_UNICODE
        | Flags::NEGOTIATE_OEM
        | Flags::REQUEST_TARGET
        | Flags::NEGOTIATE_NTLM
        | Flags::NEGOTIATE_ALWAYS_SIGN
        | Flags::NEGOTIATE_NTLM2_KEY
        | Flags::NEGOTIATE_128BIT
        | Flags::NEGOTIATE_56BIT
}

/// The client's Type 1 (Negotiate) message. Domain and workstation are optional hints
/// (pass `""` to omit).
pub fn negotiate_message(domain: &str, workstation: &str) -> Result<Vec<u8>, NtlmError> {
    let mut flags = negotiate_flags();
    if !domain.is_empty() {
        flags |= Flags::NEGOTIATE_DOMAIN_SUPPLIED;
    }
    if !workstation.is_empty() {
        flags |= Flags::NEGOTIATE_WORKSTATION_SUPPLIED;
    }
    Message::Negotiate(NegotiateMessage {
        flags,
        supplied_domain: domain.to_owned(),
        supplied_workstation: workstation.to_owned(),
        os_version: OsVersion::default(),
    })
    .to_bytes()
    .map_err(|e| NtlmError::Encode(e.to_string()))
}

/// A server challenge as a test server would send it: Unicode, NTLMv2 target info with the
/// NetBIOS/DNS names of `domain` and a timestamp.
pub fn server_challenge(challenge: [u8; 8], domain: &str) -> ChallengeMessage {
    let timestamp = ntlmclient::get_ntlm_time().to_le_bytes().to_vec();
    ChallengeMessage {
        target_name: domain.to_owned(),
        flags: Flags::NEGOTIATE_UNICODE
            | Flags::REQUEST_TARGET
            | Flags::NEGOTIATE_NTLM
            | Flags::NEGOTIATE_ALWAYS_SIGN
            | Flags::TARGET_TYPE_DOMAIN
            | Flags::NEGOTIATE_NTLM2_KEY
            | Flags::NEGOTIATE_TARGET_INFO
            | Flags::NEGOTIATE_128BIT
            | Flags::NEGOTIATE_56BIT,
        challenge,
        context: (0, 0),
        target_information: vec![
            TargetInfoEntry::from_string(TargetInfoType::NtDomain, domain),
            TargetInfoEntry::from_string(TargetInfoType::NtServer, "EWS"),
            TargetInfoEntry::from_string(TargetInfoType::DnsDomain, domain),
            TargetInfoEntry {
                entry_type: TargetInfoType::Timestamp,
                data: timestamp,
            },
            TargetInfoEntry {
                entry_type: TargetInfoType::Terminator,
                data: Vec::new(),
            },
        ],
        os_version: OsVersion::default(),
    }
}

/// Encodes a Type 2 (Challenge) message (MS-NLMP 2.2.1.2 layout, 56-byte header).
/// A missing `MsvAvEOL` terminator is appended to the target info.
pub fn challenge_message(challenge: &ChallengeMessage) -> Vec<u8> {
    let name: Vec<u8> = if challenge.flags.contains(Flags::NEGOTIATE_UNICODE) {
        challenge
            .target_name
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect()
    } else {
        challenge.target_name.as_bytes().to_vec()
    };
    let mut info: Vec<u8> = challenge
        .target_information
        .iter()
        .flat_map(TargetInfoEntry::to_bytes)
        .collect();
    if !challenge.target_information.is_empty()
        && challenge
            .target_information
            .last()
            .is_some_and(|e| e.entry_type != TargetInfoType::Terminator)
    {
        info.extend_from_slice(&[0, 0, 0, 0]);
    }
    const HEADER: usize = 56;
    let mut out = Vec::with_capacity(HEADER + name.len() + info.len());
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&2u32.to_le_bytes());
    push_security_buffer(&mut out, name.len(), HEADER);
    out.extend_from_slice(&challenge.flags.bits().to_le_bytes());
    out.extend_from_slice(&challenge.challenge);
    out.extend_from_slice(&challenge.context.0.to_le_bytes());
    out.extend_from_slice(&challenge.context.1.to_le_bytes());
    push_security_buffer(&mut out, info.len(), HEADER + name.len());
    out.extend_from_slice(&challenge.os_version.to_bytes());
    out.extend_from_slice(&name);
    out.extend_from_slice(&info);
    out
}

fn push_security_buffer(out: &mut Vec<u8>, len: usize, offset: usize) {
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    let offset = u32::try_from(offset).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
}

/// The client's Type 3 (Authenticate) message answering `challenge` with an NTLMv2 response.
/// Uses the server's `MsvAvTimestamp` when present (and then an all-zero LM response, as
/// MS-NLMP recommends). No session key is sent (key exchange is not negotiated).
pub fn authenticate_message(
    challenge: &ChallengeMessage,
    credentials: &NtlmCredentials,
    workstation: &str,
) -> Result<Vec<u8>, NtlmError> {
    let target_info: Vec<u8> = challenge
        .target_information
        .iter()
        .flat_map(TargetInfoEntry::to_bytes)
        .collect();
    let server_time = challenge
        .target_information
        .iter()
        .find(|e| e.entry_type == TargetInfoType::Timestamp)
        .and_then(|e| <[u8; 8]>::try_from(e.data.as_slice()).ok())
        .map(i64::from_le_bytes);
    let creds = ntlmclient::Credentials {
        username: credentials.username.clone(),
        password: credentials.password.expose_secret().to_owned(),
        domain: credentials.domain.clone(),
    };
    let response = ntlmclient::respond_challenge_ntlm_v2(
        challenge.challenge,
        &target_info,
        server_time.unwrap_or_else(ntlmclient::get_ntlm_time),
        &creds,
    );
    let mut flags = Flags::NEGOTIATE_NTLM | Flags::REQUEST_TARGET;
    flags |= if challenge.flags.contains(Flags::NEGOTIATE_UNICODE)
        || !challenge.flags.contains(Flags::NEGOTIATE_OEM)
    {
        Flags::NEGOTIATE_UNICODE
    } else {
        Flags::NEGOTIATE_OEM
    };
    flags |= challenge.flags
        & (Flags::NEGOTIATE_ALWAYS_SIGN
            | Flags::NEGOTIATE_NTLM2_KEY
            | Flags::NEGOTIATE_TARGET_INFO
            | Flags::NEGOTIATE_128BIT
            | Flags::NEGOTIATE_56BIT);
    let lm_response = if server_time.is_some() {
        vec![0; 24]
    } else {
        response.lm_response
    };
    Message::Authenticate(AuthenticateMessage {
        lm_response,
        ntlm_response: response.ntlm_response,
        domain_name: credentials.domain.clone(),
        user_name: credentials.username.clone(),
        workstation_name: workstation.to_owned(),
        session_key: Vec::new(),
        flags,
        os_version: OsVersion::default(),
    })
    .to_bytes()
    .map_err(|e| NtlmError::Encode(e.to_string()))
}

/// Parses a raw NTLM message, checking the signature, the fixed header length and that every
/// security buffer lies within the message.
pub fn parse_message(bytes: &[u8]) -> Result<Message, NtlmError> {
    if bytes.len() < 12 || &bytes[..8] != SIGNATURE {
        return Err(NtlmError::Malformed("missing NTLMSSP signature".to_owned()));
    }
    let kind = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    // (minimum header without version, length ntlmclient requires, security buffer positions)
    let (min_len, full_len, buffers): (usize, usize, &[usize]) = match kind {
        // (ntlmclient wants 4 bytes more than the 40-byte Type 1 header)
        1 => (32, 44, &[16, 24]),
        2 => (48, 56, &[12, 40]),
        3 => (64, 72, &[12, 20, 28, 36, 44, 52]),
        other => {
            return Err(NtlmError::Malformed(format!(
                "unknown message type {other}"
            )));
        }
    };
    if bytes.len() < min_len {
        return Err(NtlmError::Malformed(format!(
            "type {kind} message too short ({} bytes)",
            bytes.len()
        )));
    }
    for &pos in buffers {
        let len = usize::from(u16::from_le_bytes([bytes[pos], bytes[pos + 1]]));
        let offset = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        let end = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .saturating_add(len);
        if len > 0 && end > bytes.len() {
            return Err(NtlmError::Malformed(format!(
                "security buffer at {pos} points beyond the message"
            )));
        }
    }
    // ntlmclient insists on the optional version field being present; pad with zeros (all
    // buffers were checked against the real length above).
    let mut padded = bytes.to_vec();
    if padded.len() < full_len {
        padded.resize(full_len, 0);
    }
    Message::try_from(padded.as_slice()).map_err(|e| NtlmError::Malformed(e.to_string()))
}

/// `NTLM <base64>` for an `Authorization` header.
pub fn encode_authorization(message: &[u8]) -> String {
    format!("NTLM {}", BASE64.encode(message))
}

/// Decodes an `Authorization` or `WWW-Authenticate` value `NTLM <base64>` (or
/// `Negotiate <base64>` carrying NTLM) into a message.
pub fn decode_authorization(value: &str) -> Result<Message, NtlmError> {
    let (scheme, token) = value.trim().split_once(' ').ok_or(NtlmError::NotNtlm)?;
    if !scheme.eq_ignore_ascii_case("NTLM") && !scheme.eq_ignore_ascii_case("Negotiate") {
        return Err(NtlmError::NotNtlm);
    }
    let bytes = BASE64.decode(token.trim()).map_err(|_| NtlmError::Base64)?;
    if !bytes.starts_with(SIGNATURE) {
        return Err(NtlmError::NotNtlm);
    }
    parse_message(&bytes)
}

/// Finds the Type 2 challenge among a 401 response's `WWW-Authenticate` headers.
pub fn find_challenge(headers: &http::HeaderMap) -> Result<ChallengeMessage, NtlmError> {
    let mut last_error = NtlmError::NoChallenge;
    for value in headers.get_all(http::header::WWW_AUTHENTICATE) {
        let Ok(value) = value.to_str() else { continue };
        match decode_authorization(value) {
            Ok(Message::Challenge(c)) => return Ok(c),
            Ok(_) => last_error = NtlmError::Malformed("expected a challenge".to_owned()),
            Err(NtlmError::NotNtlm) => {}
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// Server side: checks the NTLMv2 response of a Type 3 message against `password` for the
/// user and domain named in the message and the `server_challenge` sent in Type 2.
/// Constant-time comparison; `false` for NTLMv1 or malformed responses.
pub fn verify_ntlmv2_response(
    auth: &AuthenticateMessage,
    server_challenge: [u8; 8],
    password: &str,
) -> bool {
    // NTProofStr (16) + blob header (28) at least.
    if auth.ntlm_response.len() < 16 + 28 {
        return false;
    }
    let (proof, blob) = auth.ntlm_response.split_at(16);
    let key = ntlmclient::ntlm_v2_password_func(&ntlmclient::Credentials {
        username: auth.user_name.clone(),
        password: password.to_owned(),
        domain: auth.domain_name.clone(),
    });
    let Ok(mut mac) = <Hmac<Md5> as Mac>::new_from_slice(&key) else {
        return false;
    };
    mac.update(&server_challenge);
    mac.update(blob);
    mac.verify_slice(proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_round_trip() {
        for (domain, ws) in [("", ""), ("CONTOSO", ""), ("", "WS01"), ("CONTOSO", "WS01")] {
            let bytes = negotiate_message(domain, ws).expect("encode");
            assert_eq!(&bytes[..8], SIGNATURE);
            let Ok(Message::Negotiate(m)) = parse_message(&bytes) else {
                panic!("not a negotiate message")
            };
            assert!(m.flags.contains(Flags::NEGOTIATE_NTLM));
            assert_eq!(m.supplied_domain, domain);
            assert_eq!(m.supplied_workstation, ws);
        }
    }

    #[test]
    fn challenge_round_trip_and_layout() {
        let c = server_challenge([1, 2, 3, 4, 5, 6, 7, 8], "CONTOSO");
        let bytes = challenge_message(&c);
        assert_eq!(&bytes[24..32], &[1, 2, 3, 4, 5, 6, 7, 8]);
        // target name starts right after the 56-byte header
        assert_eq!(
            u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]),
            56
        );
        let Ok(Message::Challenge(parsed)) = parse_message(&bytes) else {
            panic!("not a challenge")
        };
        assert_eq!(parsed, c);
    }

    #[test]
    fn authenticate_verifies_only_with_right_password() {
        let challenge = server_challenge([9; 8], "CONTOSO");
        let parsed = match parse_message(&challenge_message(&challenge)) {
            Ok(Message::Challenge(c)) => c,
            other => panic!("{other:?}"),
        };
        let creds = NtlmCredentials::new("Alice", "Pässwörd", "CONTOSO");
        let bytes = authenticate_message(&parsed, &creds, "WS01").expect("type3");
        let Ok(Message::Authenticate(auth)) = parse_message(&bytes) else {
            panic!("not authenticate")
        };
        assert_eq!(auth.user_name, "Alice");
        assert_eq!(auth.domain_name, "CONTOSO");
        assert_eq!(auth.workstation_name, "WS01");
        assert_eq!(auth.lm_response, vec![0; 24]);
        assert!(auth.session_key.is_empty());
        assert!(verify_ntlmv2_response(&auth, [9; 8], "Pässwörd"));
        assert!(!verify_ntlmv2_response(&auth, [9; 8], "pässwörd"));
        assert!(!verify_ntlmv2_response(&auth, [8; 8], "Pässwörd"));
        assert!(!format!("{creds:?}").contains("Pässwörd"));
    }

    /// MS-NLMP 4.2.4 (NTLMv2 authentication) test vectors: user "User", domain "Domain",
    /// password "Password", server challenge 0123456789abcdef, client challenge aa..aa,
    /// time 0, target info NbDomainName "Domain" + NbComputerName "Server".
    #[test]
    fn ntlmv2_specification_vectors() {
        let creds = ntlmclient::Credentials {
            username: "User".to_owned(),
            password: "Password".to_owned(),
            domain: "Domain".to_owned(),
        };
        assert_eq!(
            ntlmclient::ntlm_v2_password_func(&creds),
            [
                0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93, 0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0,
                0x2e, 0x3f
            ]
        );
        let server_challenge = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        let mut blob = vec![1u8, 1, 0, 0, 0, 0, 0, 0];
        blob.extend_from_slice(&[0; 8]); // time
        blob.extend_from_slice(&[0xaa; 8]); // client challenge
        blob.extend_from_slice(&[0; 4]);
        for entry in [
            TargetInfoEntry::from_string(TargetInfoType::NtDomain, "Domain"),
            TargetInfoEntry::from_string(TargetInfoType::NtServer, "Server"),
        ] {
            blob.extend_from_slice(&entry.to_bytes());
        }
        blob.extend_from_slice(&[0; 4]); // MsvAvEOL
        blob.extend_from_slice(&[0; 4]);
        let nt_proof = [
            0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96, 0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef,
            0x6a, 0x1c,
        ];
        let auth = AuthenticateMessage {
            lm_response: vec![0; 24],
            ntlm_response: [nt_proof.as_slice(), &blob].concat(),
            domain_name: "Domain".to_owned(),
            user_name: "User".to_owned(),
            workstation_name: "COMPUTER".to_owned(),
            session_key: Vec::new(),
            flags: Flags::NEGOTIATE_UNICODE,
            os_version: OsVersion::default(),
        };
        assert!(verify_ntlmv2_response(&auth, server_challenge, "Password"));
        assert!(!verify_ntlmv2_response(&auth, server_challenge, "password"));
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let type2 = challenge_message(&server_challenge([1; 8], "D"));
        let type3 = {
            let Ok(Message::Challenge(c)) = parse_message(&type2) else {
                panic!()
            };
            authenticate_message(&c, &NtlmCredentials::new("u", "p", "d"), "w").expect("t3")
        };
        let mut cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"NTLMSSP\0".to_vec(),
            b"NTLMSSQ\0\x01\0\0\0".to_vec(),
            [b"NTLMSSP\0".as_slice(), &9u32.to_le_bytes(), &[0; 40]].concat(),
        ];
        for msg in [&type2, &type3] {
            for cut in [12, 20, 40, 47, 50, 63, msg.len() - 1] {
                if cut < msg.len() {
                    cases.push(msg[..cut].to_vec());
                }
            }
        }
        // a security buffer pointing far beyond the end
        let mut bad = type3.clone();
        bad[16..20].copy_from_slice(&60_000u32.to_le_bytes());
        cases.push(bad);
        for case in cases {
            assert!(parse_message(&case).is_err(), "accepted {case:?}");
        }
        assert_eq!(
            decode_authorization("Basic dXNlcg=="),
            Err(NtlmError::NotNtlm)
        );
        assert_eq!(decode_authorization("NTLM %%%"), Err(NtlmError::Base64));
        assert!(decode_authorization("NTLM").is_err());
    }

    #[test]
    fn finds_challenge_among_headers() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"x\""),
        );
        assert_eq!(find_challenge(&headers), Err(NtlmError::NoChallenge));
        let value = encode_authorization(&challenge_message(&server_challenge([3; 8], "D")));
        headers.append(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_str(&value).expect("header"),
        );
        assert_eq!(
            find_challenge(&headers).expect("challenge").challenge,
            [3; 8]
        );
    }
}
