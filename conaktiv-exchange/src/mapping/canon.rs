//! Canonical values: the normalisations both sides apply before a value goes into a
//! [`Record`], and the helpers that apply a record value back without needless changes.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use ews_client::types::timezone::{iana_to_windows, windows_to_iana};
use ews_client::types::{Body, BodyType};
use serde_json::Value;
use sync_core::Record;

/// A single-line text: trimmed, runs of whitespace collapsed to one space, characters XML
/// cannot carry dropped (they never reach Exchange); `None` when empty.
pub fn line(s: &str) -> Option<String> {
    let s = ews_client::xml::xml_safe(s);
    let out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

/// A multi-line text: characters XML cannot carry dropped, `\r\n` and `\r` become `\n`, trailing whitespace of each line and
/// surrounding blank lines are removed; `None` when empty.
pub fn multiline(s: &str) -> Option<String> {
    let s = ews_client::xml::xml_safe(s);
    let unified = s.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
    let out = lines.join("\n");
    let out = out.trim_matches('\n').trim_start_matches([' ', '\t']);
    let out = out.trim_end();
    (!out.is_empty()).then(|| out.to_owned())
}

/// The display name of an e-mail address ([`line()`]); the name Exchange generates when it
/// has none (`Anna Schmidt (anna@kunde.example)`) counts as no name, on both sides.
pub fn email_name(name: &str, address: &str) -> Option<String> {
    let n = line(name)?;
    let Some(a) = line(address) else {
        return Some(n);
    };
    let generated = n
        .to_lowercase()
        .ends_with(&format!("({})", a.to_lowercase()));
    (!generated).then_some(n)
}

/// An instant as canonical text: UTC, RFC 3339, whole seconds (`2025-03-10T08:00:00Z`).
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an instant written by [`instant`] (any RFC 3339 text is accepted).
pub fn parse_instant(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// An instant truncated to whole seconds (what Exchange stores).
pub fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// A date as canonical text (`2025-03-10`).
pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses a date written by [`date`].
pub fn parse_date(v: &Value) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v.as_str()?, "%Y-%m-%d").ok()
}

/// A date-only value read from an Exchange `xs:dateTime` (birthdays, task dates). Exchange
/// stores such dates as midnight UTC, midnight local time (e.g. `22:00Z` the day before) or
/// `11:59Z`; the date of the instant plus 12 hours is the intended date for zones from
/// UTC-12 to UTC+12.
pub fn date_from_ews(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(12)).date_naive()
}

/// A date-only value as the `xs:dateTime` written to Exchange: midnight UTC.
pub fn date_to_ews(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// Categories: trimmed, empty ones dropped, duplicates removed, sorted; `None` when empty.
pub fn categories(list: &[String]) -> Option<Value> {
    let mut out: Vec<String> = list.iter().filter_map(|c| line(c)).collect();
    out.sort();
    out.dedup();
    (!out.is_empty()).then(|| Value::from(out))
}

/// The categories of a record field (an array of strings).
pub fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The canonical name of a time zone: the CLDR default IANA zone of its Windows zone
/// (`Europe/Vienna` and `Europe/Berlin` are both `W. Europe Standard Time`, canonically
/// `Europe/Berlin`), `UTC` for the UTC spellings and for an empty name, the trimmed name
/// itself when it has no Windows zone.
pub fn zone(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return "UTC".to_owned();
    }
    match iana_to_windows(name) {
        Some("UTC") => "UTC".to_owned(),
        Some(w) => windows_to_iana(w).unwrap_or(name).to_owned(),
        None => name.to_owned(),
    }
}

/// The canonical zone for a Windows zone id; `None` for ids that are not Windows ids.
pub fn zone_from_windows(id: &str) -> Option<String> {
    if id.trim() == "UTC" {
        return Some("UTC".to_owned());
    }
    windows_to_iana(id).map(str::to_owned)
}

/// The `chrono-tz` zone for an IANA name; UTC for unknown names.
pub fn tz(name: &str) -> Tz {
    name.trim().parse().unwrap_or(Tz::UTC)
}

/// Midnight at the start of `date` in `tz`, as an instant. Where midnight does not exist
/// (a DST change at midnight), the first instant of the day.
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut t = date.and_time(NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
    date_to_ews(date)
}

/// The date of `at` in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Sets `name` to a string value, or removes it for `None`.
pub fn put(rec: &mut Record, name: &str, value: Option<String>) {
    match value {
        Some(v) => {
            rec.fields.insert(name.to_owned(), Value::from(v));
        }
        None => {
            rec.fields.remove(name);
        }
    }
}

/// Sets `name` to a JSON value, or removes it for `None`.
pub fn put_value(rec: &mut Record, name: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            rec.fields.insert(name.to_owned(), v);
        }
        None => {
            rec.fields.remove(name);
        }
    }
}

/// The string value of a field.
pub fn get_str<'a>(rec: &'a Record, name: &str) -> Option<&'a str> {
    rec.get(name).and_then(Value::as_str)
}

/// The string value of a field as an owned `Option<String>` (for EWS fields).
pub fn get_string(rec: &Record, name: &str) -> Option<String> {
    get_str(rec, name).map(str::to_owned)
}

/// Applies a single-line record value onto a CRM text: left alone when it is already
/// canonically equal (keeping the CRM's spelling), else replaced (empty for absent).
pub fn apply_line(target: &mut String, value: Option<&str>) {
    if line(target).as_deref() != value {
        *target = value.unwrap_or_default().to_owned();
    }
}

/// Applies a multi-line record value onto a CRM text (see [`apply_line`]).
pub fn apply_multiline(target: &mut String, value: Option<&str>) {
    if multiline(target).as_deref() != value {
        *target = value.unwrap_or_default().to_owned();
    }
}

/// Applies a categories value onto a CRM list, leaving it alone when canonically equal.
pub fn apply_categories(target: &mut Vec<String>, value: Option<&Value>) {
    if categories(target).as_ref() != value {
        *target = string_list(value);
    }
}

/// Plain text from an HTML body: tags removed, `<br>`, `<p>` and `<div>` ends as line
/// breaks, the common entities decoded, then [`multiline`]. A simple fallback for bodies
/// that arrive as HTML although the adapter asks Exchange for text (`BodyType=Text`).
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[1..gt].trim().to_ascii_lowercase();
        let name = tag.trim_start_matches('/');
        let name = name.split([' ', '/', '\t', '\n']).next().unwrap_or("");
        if matches!(name, "br" | "p" | "div" | "tr" | "li")
            && (tag.starts_with('/') || name == "br")
        {
            out.push('\n');
        }
        if matches!(name, "style" | "script" | "head") && !tag.starts_with('/') {
            let close = format!("</{name}");
            let lower = after.to_ascii_lowercase();
            rest = match lower.find(&close) {
                Some(i) => &after[i..],
                None => "",
            };
            continue;
        }
        rest = &after[gt + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    multiline(&decoded).unwrap_or_default()
}

/// The canonical text of an item body: plain text as [`multiline`], HTML through
/// [`html_to_text`].
pub fn body_text(body: Option<&Body>) -> Option<String> {
    let b = body?;
    if b.body_type == BodyType::Html {
        multiline(&html_to_text(&b.content))
    } else {
        multiline(&b.content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(line("  Anna \t Maria  ").as_deref(), Some("Anna Maria"));
        assert_eq!(line(" \n "), None);
        // characters XML 1.0 forbids never reach Exchange, so they are not content
        assert_eq!(line("Anna\u{b}Maria").as_deref(), Some("AnnaMaria"));
        assert_eq!(multiline("Zeile\u{0} 1").as_deref(), Some("Zeile 1"));
        assert_eq!(email_name("Anna (A@b.example)", "a@b.example"), None);
        assert_eq!(email_name(" Anna ", "a@b.example").as_deref(), Some("Anna"));
        assert_eq!(email_name("", "a@b.example"), None);
        assert_eq!(
            multiline("\r\n  Zeile 1  \r\nZeile 2\r\n\r\n").as_deref(),
            Some("Zeile 1\nZeile 2")
        );
        assert_eq!(
            html_to_text(
                "<html><head><style>p{}</style></head><body><p>Hallo&nbsp;Anna</p><p>A &amp; B<br>C</p></body></html>"
            ),
            "Hallo Anna\nA & B\nC"
        );
    }

    #[test]
    fn zones_and_dates() {
        assert_eq!(zone("Europe/Vienna"), "Europe/Berlin");
        assert_eq!(zone("Etc/UTC"), "UTC");
        assert_eq!(zone(""), "UTC");
        assert_eq!(zone("Mars/Olympus"), "Mars/Olympus");
        assert_eq!(
            zone_from_windows("W. Europe Standard Time").as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(zone_from_windows("Customized Time Zone"), None);
        let d = NaiveDate::from_ymd_opt(1980, 5, 17).unwrap_or_default();
        for h in [
            "1980-05-16T22:00:00Z",
            "1980-05-17T00:00:00Z",
            "1980-05-17T11:59:00Z",
            "1980-05-17T05:00:00Z",
        ] {
            let at = DateTime::parse_from_rfc3339(h)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default();
            assert_eq!(date_from_ews(at), d, "{h}");
        }
        assert_eq!(date_from_ews(date_to_ews(d)), d);
    }
}
