//! Validation of EWS documents against the vendored Microsoft schema, with `xmllint`.
//!
//! Every request the client writes and every response the mock server writes should validate
//! against `ews-client/schema/soap-envelope.xsd` (a SOAP 1.1 envelope whose header and body
//! children are validated strictly against `messages.xsd` / `types.xsd`). [`validate`] runs
//! `xmllint` once over a whole batch of documents, which costs about the time of compiling
//! the schema once (0.2 s), and maps every failure back to the document's name.
//!
//! Tests use [`validate_in_test`]: when `xmllint` is missing it prints
//! `skipped: xmllint not installed` and succeeds, unless the environment variable
//! `EWS_SCHEMA_REQUIRED=1` is set (the project's test script sets it), then it fails.
//!
//! ```no_run
//! let doc = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#;
//! ews_client::schema::validate(&[("empty body", doc)]).unwrap();
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The directory of the vendored schema (`ews-client/schema`).
pub const SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema");

/// The SOAP envelope schema that validates whole EWS requests and responses.
pub const ENVELOPE_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/soap-envelope.xsd");

/// The environment variable that turns a missing `xmllint` into a test failure.
pub const REQUIRED_ENV: &str = "EWS_SCHEMA_REQUIRED";

/// The path of [`ENVELOPE_SCHEMA`].
pub fn envelope_schema_path() -> &'static Path {
    Path::new(ENVELOPE_SCHEMA)
}

/// Whether `xmllint` can be run.
pub fn xmllint_available() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether schema validation is required (`EWS_SCHEMA_REQUIRED=1`).
pub fn schema_required() -> bool {
    std::env::var(REQUIRED_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The validation problems of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentErrors {
    /// The name the caller gave the document.
    pub document: String,
    /// The messages of `xmllint` for it (the temporary file name replaced by the document
    /// name).
    pub messages: Vec<String>,
}

/// Why [`validate`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaErrors {
    /// `xmllint` is not installed.
    #[error("xmllint is not installed (Debian package libxml2-utils)")]
    Unavailable,
    /// Running `xmllint` or preparing its input failed.
    #[error("cannot run xmllint: {0}")]
    Tool(String),
    /// Some documents do not validate.
    #[error("{} document(s) do not validate:\n{}", .0.len(), DisplayDocs(.0))]
    Invalid(Vec<DocumentErrors>),
}

struct DisplayDocs<'a>(&'a [DocumentErrors]);

impl fmt::Display for DisplayDocs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for doc in self.0 {
            writeln!(f, "--- {}", doc.document)?;
            for m in &doc.messages {
                writeln!(f, "    {m}")?;
            }
        }
        Ok(())
    }
}

impl SchemaErrors {
    /// The documents that failed, when the failure is [`SchemaErrors::Invalid`].
    pub fn documents(&self) -> &[DocumentErrors] {
        match self {
            SchemaErrors::Invalid(docs) => docs,
            _ => &[],
        }
    }
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "ews-schema-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Validates every document against [`ENVELOPE_SCHEMA`] in one `xmllint` run.
///
/// `docs` are `(name, bytes)` pairs; names only label the errors. Returns
/// [`SchemaErrors::Invalid`] listing each document that is malformed or violates the schema.
pub fn validate(docs: &[(&str, &[u8])]) -> Result<(), SchemaErrors> {
    if docs.is_empty() {
        return Ok(());
    }
    if !xmllint_available() {
        return Err(SchemaErrors::Unavailable);
    }
    let dir = TempDir::new().map_err(|e| SchemaErrors::Tool(e.to_string()))?;
    let mut files = Vec::with_capacity(docs.len());
    for (i, (_, bytes)) in docs.iter().enumerate() {
        let file = format!("doc{i}.xml");
        std::fs::write(dir.0.join(&file), bytes).map_err(|e| SchemaErrors::Tool(e.to_string()))?;
        files.push(file);
    }
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(ENVELOPE_SCHEMA)
        .args(&files)
        .current_dir(&dir.0)
        .output()
        .map_err(|e| SchemaErrors::Tool(e.to_string()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut messages: Vec<Vec<String>> = vec![Vec::new(); docs.len()];
    let mut verdict_ok = vec![false; docs.len()];
    let mut last: Option<usize> = None;
    for line in stderr.lines() {
        let index = line.strip_prefix("doc").and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let after = &rest[digits.len()..];
            if after.starts_with(".xml") {
                digits.parse::<usize>().ok().filter(|i| *i < docs.len())
            } else {
                None
            }
        });
        match index {
            Some(i) => {
                let file = &files[i];
                if line == format!("{file} validates") {
                    verdict_ok[i] = true;
                } else if line != format!("{file} fails to validate") {
                    messages[i].push(shorten(&line.replacen(file.as_str(), docs[i].0, 1)));
                }
                last = Some(i);
            }
            None => {
                // Continuation lines (parser context, caret) belong to the last document.
                if let Some(i) = last {
                    if !line.trim().is_empty() && !line.trim().chars().all(|c| c == '^') {
                        messages[i].push(format!("  {}", line.trim_end()));
                    }
                } else if line.contains("schemas parser error") || line.contains("WXS schema") {
                    return Err(SchemaErrors::Tool(stderr.into_owned()));
                }
            }
        }
    }
    let mut failures = Vec::new();
    for (i, (name, _)) in docs.iter().enumerate() {
        if verdict_ok[i] && messages[i].is_empty() {
            continue;
        }
        let mut msgs = std::mem::take(&mut messages[i]);
        if msgs.is_empty() {
            msgs.push("xmllint gave no verdict".to_owned());
        }
        failures.push(DocumentErrors {
            document: (*name).to_owned(),
            messages: msgs,
        });
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(SchemaErrors::Invalid(failures))
    }
}

/// Cuts very long messages (xmllint lists every enumeration value) to 600 characters.
fn shorten(line: &str) -> String {
    const MAX: usize = 600;
    if line.len() <= MAX {
        return line.to_owned();
    }
    let mut end = MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// [`validate`] for test suites: `Ok(true)` when the documents validate, `Ok(false)` (after
/// printing `skipped: xmllint not installed`) when `xmllint` is missing and
/// [`schema_required`] is off, and the error otherwise.
pub fn validate_in_test(docs: &[(&str, &[u8])]) -> Result<bool, SchemaErrors> {
    match validate(docs) {
        Ok(()) => Ok(true),
        Err(SchemaErrors::Unavailable) if !schema_required() => {
            println!("skipped: xmllint not installed");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_maps_failures_to_document_names() {
        let good: &[u8] =
            br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#;
        let bad: &[u8] = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x/></s:Body></s:Envelope>"#;
        let broken: &[u8] = b"<s:Envelope";
        if !xmllint_available() {
            assert!(!schema_required(), "xmllint required but missing");
            println!("skipped: xmllint not installed");
            return;
        }
        validate(&[("good", good)]).unwrap();
        let err = validate(&[("good", good), ("bad one", bad), ("broken", broken)]).unwrap_err();
        let docs = err.documents();
        assert_eq!(docs.len(), 2, "{err}");
        assert_eq!(docs[0].document, "bad one");
        assert!(docs[0].messages[0].starts_with("bad one:"), "{err}");
        assert_eq!(docs[1].document, "broken");
        assert!(err.to_string().contains("bad one"));
    }
}
