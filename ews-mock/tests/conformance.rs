//! The mock's conformance suite: for every operation it serves, a table of requests and the
//! responses expected from Exchange for the seeded organisation, in
//! `tests/data/conformance/<Operation>.toml`. Each file runs against a fresh mock seeded with
//! the tests' organisation (`tests/common`), case by case in order.
//!
//! A case is `name`, the SOAP body's operation element as `request` (ids written as the
//! tokens earlier answers introduced), optionally `user`/`password` (default bob),
//! `impersonate`, `path` (default the EWS URL) and `status` (default 200), and the expected
//! `response`: the SOAP body's content with the mock's opaque values normalised: ids
//! `{id:N}`, change keys `{ck:N}`, sync states `{state:N}` (numbered by first appearance in
//! the file), times `{time}` and the mock's base URL `{base}`; whitespace between elements does not count. Every
//! response is also validated against the EWS schema.
//!
//! `EWS_MOCK_CONFORMANCE_BLESS=1` rewrites the expected responses from the mock's answers
//! (review the diff before committing it).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize)]
struct Table {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    about: String,
    case: Vec<Case>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Case {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    impersonate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default = "ok_status")]
    status: u16,
    request: String,
    #[serde(default)]
    response: String,
}

fn ok_status() -> u16 {
    200
}

/// Opaque values seen so far and their tokens, both ways.
#[derive(Default)]
struct Tokens {
    by_value: HashMap<String, String>,
    by_token: HashMap<String, String>,
    counts: HashMap<&'static str, usize>,
}

/// Prefixes of the mock's opaque values (base64 of `EM1`, `CK`, `SS1`; hex of `EM1`).
const OPAQUE: &[(&str, &str)] = &[
    ("RU0x", "id"),
    ("454D31", "id"),
    ("Q0s", "ck"),
    ("U1Mx", "state"),
];

impl Tokens {
    fn token(&mut self, kind: &'static str, value: &str) -> String {
        if let Some(t) = self.by_value.get(value) {
            return t.clone();
        }
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        let token = format!("{{{kind}:{n}}}");
        self.by_value.insert(value.to_string(), token.clone());
        self.by_token.insert(token.clone(), value.to_string());
        token
    }

    /// Replaces the tokens in a request by their values.
    fn expand(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (token, value) in &self.by_token {
            out = out.replace(token, value);
        }
        out
    }

    /// Replaces opaque values by tokens and times by `{time}`.
    fn normalise(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while let Some(c) = rest.chars().next() {
            if c == '"' || c == '>' {
                out.push(c);
                rest = &rest[1..];
                for (prefix, kind) in OPAQUE {
                    if rest.starts_with(prefix) {
                        let end = rest.find(['"', '<']).unwrap_or(rest.len());
                        let token = self.token(kind, &rest[..end]);
                        out.push_str(&token);
                        rest = &rest[end..];
                        continue 'scan;
                    }
                }
                continue;
            }
            if let Some(len) = time_at(rest) {
                out.push_str("{time}");
                rest = &rest[len..];
                continue;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }
}

/// The length of an `xs:dateTime` in UTC (`2024-01-31T09:00:00Z`, optionally with a
/// fraction) at the start of `s`.
fn time_at(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let shape = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b'T')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    if !shape {
        return None;
    }
    let mut end = 19;
    if b.get(end) == Some(&b'.') {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    (b.get(end) == Some(&b'Z')).then_some(end + 1)
}

/// Drops whitespace between elements.
fn compact(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut ws = String::new();
    for c in xml.trim().chars() {
        if c.is_whitespace() {
            ws.push(c);
            continue;
        }
        if !ws.is_empty() {
            let between_tags = c == '<' && (out.is_empty() || out.ends_with('>'));
            if !between_tags {
                out.push_str(&ws);
            }
            ws.clear();
        }
        out.push(c);
    }
    out
}

/// Indents a compact document one element per line, for the table files.
fn pretty(xml: &str) -> String {
    let mut out = String::new();
    let mut depth: usize = 0;
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        let end = match rest[start..].find('>') {
            Some(e) => start + e + 1,
            None => break,
        };
        let tag = &rest[start..end];
        if !text.is_empty() {
            out.push_str(text);
        }
        if tag.starts_with("</") {
            depth = depth.saturating_sub(1);
            if text.is_empty() && out.ends_with('>') {
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
            }
            out.push_str(tag);
        } else {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&"  ".repeat(depth));
            out.push_str(tag);
            if !tag.ends_with("/>") && !tag.starts_with("<?") {
                depth += 1;
            }
        }
        rest = &rest[end..];
    }
    out.push('\n');
    out
}

fn body_of(envelope: &str) -> &str {
    let start = envelope
        .find("<s:Body>")
        .map_or(0, |i| i + "<s:Body>".len());
    let end = envelope.rfind("</s:Body>").unwrap_or(envelope.len());
    &envelope[start..end.max(start)]
}

fn request_envelope(body: &str, impersonate: Option<&str>) -> String {
    let header = impersonate.map_or(String::new(), |who| {
        format!(
            "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{who}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
        )
    });
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
 xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
 xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover"
 xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><t:RequestServerVersion Version="Exchange2016"/>{header}</soap:Header>
<soap:Body>{body}</soap:Body>
</soap:Envelope>"#
    )
}

fn table_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_its_table_says() {
    let bless = std::env::var("EWS_MOCK_CONFORMANCE_BLESS").is_ok_and(|v| v == "1");
    let files = table_files();
    assert!(files.len() >= 20, "{} tables", files.len());
    let mut failures = String::new();
    let mut validated: Vec<(String, Vec<u8>)> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut table: Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mock = common::start().await;
        let mut tokens = Tokens::default();
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (i, case) in table.case.iter_mut().enumerate() {
            let body = request_envelope(&tokens.expand(&case.request), case.impersonate.as_deref());
            let url = match &case.path {
                Some(p) => format!("{}{p}", mock.base_url()),
                None => mock.url(),
            };
            let resp = common::client()
                .post(url)
                .basic_auth(
                    case.user.as_deref().unwrap_or("bob@contoso.test"),
                    Some(case.password.as_deref().unwrap_or("bob-pw")),
                )
                .header("Content-Type", "text/xml; charset=utf-8")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.unwrap().to_vec();
            let answer = String::from_utf8_lossy(&bytes).replace(mock.base_url(), "{base}");
            let got = compact(&tokens.normalise(body_of(&answer)));
            if case.path.is_none() && status == 200 {
                validated.push((format!("{file_name} #{i} {}", case.name), bytes));
            }
            if bless {
                case.status = status;
                case.response = pretty(&got);
                continue;
            }
            let want = compact(&case.response);
            if status != case.status || got != want {
                let _ = write!(
                    failures,
                    "\n{file_name} case {i} ({}): status {status} (want {})\n got: {got}\nwant: {want}\n",
                    case.name, case.status
                );
            }
        }
        mock.shutdown().await.unwrap();
        if bless {
            let mut out = String::new();
            for line in text.lines().take_while(|l| l.starts_with('#')) {
                out.push_str(line);
                out.push('\n');
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&toml::to_string_pretty(&table).unwrap());
            std::fs::write(file, out).unwrap();
        }
    }
    assert!(failures.is_empty(), "conformance failures:{failures}");
    let refs: Vec<(&str, &[u8])> = validated
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    if let Err(e) = ews_client::schema::validate_in_test(&refs) {
        panic!("{e}");
    }
}

#[test]
fn normalisation_tokens_ids_and_times() {
    let mut t = Tokens::default();
    let a = t.normalise(
        r#"<t:ItemId Id="RU0xSQ4AAA" ChangeKey="Q0sOAA"/><m:SyncState>U1MxSQ</m:SyncState><t:DateTimeCreated>2026-12-04T14:29:15Z</t:DateTimeCreated><t:X Id="inbox"/>"#,
    );
    assert_eq!(
        a,
        r#"<t:ItemId Id="{id:1}" ChangeKey="{ck:1}"/><m:SyncState>{state:1}</m:SyncState><t:DateTimeCreated>{time}</t:DateTimeCreated><t:X Id="inbox"/>"#
    );
    assert_eq!(
        t.expand("<t:ItemId Id=\"{id:1}\"/>"),
        "<t:ItemId Id=\"RU0xSQ4AAA\"/>"
    );
    assert_eq!(
        compact("<a>\n  <b> x y </b>\n</a>\n"),
        "<a><b> x y </b></a>"
    );
    assert_eq!(
        compact(&pretty("<a><b>x</b><c/></a>")),
        "<a><b>x</b><c/></a>"
    );
}
