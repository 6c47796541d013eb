//! MIME: building outgoing mail (mail-builder) and parsing received mail (mail-parser).

use chrono::{DateTime, Utc};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as BAddress;
use mail_builder::mime::MimePart;
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::error::MailError;
use crate::settings::TransferEncoding;

/// An e-mail address with an optional display name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    /// Display name.
    pub name: Option<String>,
    /// Address (`user@example.com`).
    pub address: String,
}

impl Mailbox {
    /// An address without display name.
    pub fn new(address: impl Into<String>) -> Self {
        Mailbox {
            name: None,
            address: address.into(),
        }
    }
    /// An address with display name.
    pub fn named(name: impl Into<String>, address: impl Into<String>) -> Self {
        Mailbox {
            name: Some(name.into()),
            address: address.into(),
        }
    }
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name.
    pub file_name: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Content.
    pub data: Vec<u8>,
}

/// A message to send.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMail {
    /// Author.
    pub from: Mailbox,
    /// Primary recipients.
    pub to: Vec<Mailbox>,
    /// Copy recipients.
    pub cc: Vec<Mailbox>,
    /// Blind copy recipients (in the envelope only, never in the headers).
    pub bcc: Vec<Mailbox>,
    /// Reply-To.
    pub reply_to: Option<Mailbox>,
    /// Subject.
    pub subject: String,
    /// Plain text body.
    pub text: Option<String>,
    /// HTML body (with `text`: multipart/alternative).
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Message-ID without angle brackets; generated when empty.
    pub message_id: Option<String>,
    /// Message-ID this one replies to.
    pub in_reply_to: Option<String>,
    /// Thread references.
    pub references: Vec<String>,
    /// Date header; now when empty.
    pub date: Option<DateTime<Utc>>,
}

/// A built message: its Message-ID, envelope and RFC 5322 bytes.
#[derive(Debug, Clone)]
pub struct BuiltMail {
    /// Message-ID without angle brackets.
    pub message_id: String,
    /// Envelope sender.
    pub envelope_from: String,
    /// Envelope recipients (to, cc and bcc).
    pub envelope_to: Vec<String>,
    /// The message.
    pub bytes: Vec<u8>,
}

fn baddr(m: &Mailbox) -> BAddress<'static> {
    match &m.name {
        Some(n) => BAddress::new_address(Some(n.clone()), m.address.clone()),
        None => BAddress::new_address(None::<String>, m.address.clone()),
    }
}

fn blist(list: &[Mailbox]) -> BAddress<'static> {
    BAddress::new_list(list.iter().map(baddr).collect())
}

fn domain_of(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .unwrap_or("localhost")
}

fn check_address(a: &str) -> Result<(), MailError> {
    let ok = a
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(MailError::Build(format!("invalid e-mail address {a:?}")))
    }
}

fn text_part(ctype: &'static str, body: &str, enc: TransferEncoding) -> MimePart<'static> {
    let ct =
        mail_builder::headers::content_type::ContentType::new(ctype).attribute("charset", "utf-8");
    match enc {
        TransferEncoding::Auto => MimePart::new(ct, body.to_string()),
        TransferEncoding::QuotedPrintable => {
            let encoded =
                quoted_printable::encode_to_str(body.replace("\r\n", "\n").replace('\n', "\r\n"));
            MimePart::new(ct, encoded).transfer_encoding("quoted-printable")
        }
        TransferEncoding::Base64 => {
            MimePart::new(ct, base64_lines(body.as_bytes())).transfer_encoding("base64")
        }
        TransferEncoding::EightBit => {
            let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
            MimePart::new(ct, body).transfer_encoding("8bit")
        }
    }
}

fn base64_lines(data: &[u8]) -> String {
    use base64::Engine;
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(s.len() + s.len() / 76 * 2 + 2);
    for chunk in s.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out
}

impl OutgoingMail {
    /// Builds the message with Message-ID, Date, encoded headers, multipart/alternative for
    /// text+HTML and attachments, using `encoding` for the text bodies.
    pub fn build(&self, encoding: TransferEncoding) -> Result<BuiltMail, MailError> {
        check_address(&self.from.address)?;
        let recipients: Vec<&Mailbox> = self.to.iter().chain(&self.cc).chain(&self.bcc).collect();
        if recipients.is_empty() {
            return Err(MailError::Build("the message has no recipient".into()));
        }
        for r in &recipients {
            check_address(&r.address)?;
        }
        let message_id = match &self.message_id {
            Some(id) if !id.trim().is_empty() => id
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string(),
            _ => format!(
                "{}@{}",
                uuid::Uuid::new_v4().simple(),
                domain_of(&self.from.address)
            ),
        };
        let date = self.date.unwrap_or_else(Utc::now);
        let mut b = MessageBuilder::new()
            .from(baddr(&self.from))
            .subject(self.subject.clone())
            .message_id(message_id.clone())
            .date(date.timestamp());
        if !self.to.is_empty() {
            b = b.to(blist(&self.to));
        }
        if !self.cc.is_empty() {
            b = b.cc(blist(&self.cc));
        }
        if let Some(r) = &self.reply_to {
            b = b.reply_to(baddr(r));
        }
        if let Some(irt) = &self.in_reply_to {
            b = b.in_reply_to(
                irt.trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string(),
            );
        }
        if !self.references.is_empty() {
            let refs: Vec<String> = self
                .references
                .iter()
                .map(|r| r.trim_start_matches('<').trim_end_matches('>').to_string())
                .collect();
            b = b.references(refs);
        }
        let text = self
            .text
            .as_deref()
            .map(|t| text_part("text/plain", t, encoding));
        let html = self
            .html
            .as_deref()
            .map(|h| text_part("text/html", h, encoding));
        let body = match (text, html) {
            (Some(t), Some(h)) => MimePart::new("multipart/alternative", vec![t, h]),
            (Some(t), None) => t,
            (None, Some(h)) => h,
            (None, None) => text_part("text/plain", "", encoding),
        };
        let body = if self.attachments.is_empty() {
            body
        } else {
            let mut parts = vec![body];
            for a in &self.attachments {
                parts.push(
                    MimePart::new(a.content_type.clone(), a.data.clone())
                        .attachment(a.file_name.clone()),
                );
            }
            MimePart::new("multipart/mixed", parts)
        };
        let bytes = b
            .body(body)
            .write_to_vec()
            .map_err(|e| MailError::Build(e.to_string()))?;
        Ok(BuiltMail {
            message_id,
            envelope_from: self.from.address.clone(),
            envelope_to: recipients.iter().map(|r| r.address.clone()).collect(),
            bytes,
        })
    }
}

/// A received attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAttachment {
    /// File name, if given.
    pub file_name: Option<String>,
    /// MIME type.
    pub content_type: String,
    /// Decoded content.
    pub data: Vec<u8>,
}

/// Links to CRM records found by the host's [`crate::LinkHook`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailLinks {
    /// Customer id.
    pub customer: Option<String>,
    /// Contact person id.
    pub contact_person: Option<String>,
    /// Project id.
    pub project: Option<String>,
    /// Offer id.
    pub offer: Option<String>,
    /// Invoice id.
    pub invoice: Option<String>,
}

/// A problem found while parsing a received message; the message was parsed as far as
/// possible.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseProblem {
    /// mail-parser could not read the message at all; only the raw bytes are kept.
    Unparseable,
    /// No Message-ID header: a stable one was derived from the content.
    MissingMessageId,
    /// No usable From header.
    MissingFrom,
    /// The Date header is missing or invalid.
    InvalidDate,
}

/// A message received from the server, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// Message-ID without angle brackets (derived from a content hash when missing).
    pub message_id: String,
    /// Author.
    pub from: Option<Mailbox>,
    /// To.
    pub to: Vec<Mailbox>,
    /// Cc.
    pub cc: Vec<Mailbox>,
    /// Bcc (seen only on sent copies).
    pub bcc: Vec<Mailbox>,
    /// Reply-To.
    pub reply_to: Vec<Mailbox>,
    /// Subject (encoded words decoded).
    pub subject: Option<String>,
    /// Date header.
    pub date: Option<DateTime<Utc>>,
    /// First text/plain body.
    pub text: Option<String>,
    /// First text/html body.
    pub html: Option<String>,
    /// Attachments, including those of nested messages' parts.
    pub attachments: Vec<ReceivedAttachment>,
    /// In-Reply-To.
    pub in_reply_to: Vec<String>,
    /// References.
    pub references: Vec<String>,
    /// All headers, raw (name, value).
    pub headers: Vec<(String, String)>,
    /// The message as received.
    pub raw: Vec<u8>,
    /// Links set by the host's link hook before the message reaches the sink.
    pub links: MailLinks,
    /// Problems met while parsing.
    pub problems: Vec<ParseProblem>,
}

/// Parsing failed partly; `partial` holds what could be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("message parsed with problems: {problems:?}")]
pub struct ParseError {
    /// What went wrong.
    pub problems: Vec<ParseProblem>,
    /// What could be parsed.
    pub partial: Box<ReceivedMail>,
}

fn mailboxes(a: Option<&Address<'_>>) -> Vec<Mailbox> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .filter_map(|addr| {
            addr.address().map(|ad| Mailbox {
                name: addr.name().map(str::to_string),
                address: ad.to_string(),
            })
        })
        .collect()
}

fn id_list(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|s| s.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// A stable Message-ID for a message that has none: a hash of its bytes.
pub fn synthetic_message_id(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{hex}@mail-transport.invalid")
}

impl ReceivedMail {
    /// Parses a message as far as possible; never fails and never panics. Problems are
    /// listed in `problems`.
    pub fn parse(raw: Vec<u8>) -> ReceivedMail {
        let parsed = MessageParser::default().parse(&raw[..]);
        let Some(msg) = parsed else {
            return ReceivedMail {
                message_id: synthetic_message_id(&raw),
                from: None,
                to: Vec::new(),
                cc: Vec::new(),
                bcc: Vec::new(),
                reply_to: Vec::new(),
                subject: None,
                date: None,
                text: None,
                html: None,
                attachments: Vec::new(),
                in_reply_to: Vec::new(),
                references: Vec::new(),
                headers: Vec::new(),
                links: MailLinks::default(),
                problems: vec![ParseProblem::Unparseable],
                raw,
            };
        };
        let mut problems = Vec::new();
        let message_id = match msg.message_id() {
            Some(id) if !id.trim().is_empty() => id.trim().to_string(),
            _ => {
                problems.push(ParseProblem::MissingMessageId);
                synthetic_message_id(&raw)
            }
        };
        let from = mailboxes(msg.from()).into_iter().next();
        if from.is_none() {
            problems.push(ParseProblem::MissingFrom);
        }
        let date = msg
            .date()
            .filter(|d| d.is_valid())
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0));
        if date.is_none() {
            problems.push(ParseProblem::InvalidDate);
        }
        let attachments = msg
            .attachments()
            .map(|p| ReceivedAttachment {
                file_name: p.attachment_name().map(str::to_string),
                content_type: p
                    .content_type()
                    .map(|c| match c.subtype() {
                        Some(s) => format!("{}/{}", c.ctype(), s),
                        None => c.ctype().to_string(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".into()),
                data: p.contents().to_vec(),
            })
            .collect();
        let mail = ReceivedMail {
            message_id,
            from,
            to: mailboxes(msg.to()),
            cc: mailboxes(msg.cc()),
            bcc: mailboxes(msg.bcc()),
            reply_to: mailboxes(msg.reply_to()),
            subject: msg.subject().map(str::to_string),
            date,
            text: msg.body_text(0).map(|c| c.into_owned()),
            html: if msg.html_body_count() > 0 && msg.html_part(0).is_some_and(|p| p.is_text_html())
            {
                msg.body_html(0).map(|c| c.into_owned())
            } else {
                None
            },
            attachments,
            in_reply_to: id_list(msg.in_reply_to()),
            references: id_list(msg.references()),
            headers: msg
                .headers_raw()
                .map(|(n, v)| (n.to_string(), v.trim().to_string()))
                .collect(),
            links: MailLinks::default(),
            problems,
            raw: Vec::new(),
        };
        ReceivedMail { raw, ..mail }
    }

    /// Parses a message and fails with the partial result if anything was missing or broken.
    pub fn parse_strict(raw: Vec<u8>) -> Result<ReceivedMail, ParseError> {
        let mail = ReceivedMail::parse(raw);
        if mail.problems.is_empty() {
            Ok(mail)
        } else {
            Err(ParseError {
                problems: mail.problems.clone(),
                partial: Box::new(mail),
            })
        }
    }

    /// First value of a header (case-insensitive), raw.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
