use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// A scalar that is written as element text or an attribute value.
///
/// Enums of the schema (`ResponseClass`, `BodyType`, ...) implement it too, with their schema
/// spelling.
pub trait XmlValue: Sized {
    /// The value's text in the schema's lexical form.
    fn to_xml_value(&self) -> Cow<'_, str>;
    /// Parses the schema's lexical form; the error says what was expected.
    fn from_xml_value(text: &str) -> Result<Self, String>;
}

impl XmlValue for String {
    fn to_xml_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
    fn from_xml_value(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl XmlValue for bool {
    fn to_xml_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(if *self { "true" } else { "false" })
    }
    fn from_xml_value(text: &str) -> Result<Self, String> {
        match text.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("expected a boolean (true, false, 1, 0)".to_owned()),
        }
    }
}

macro_rules! numeric_value {
    ($($t:ty),*) => {$(
        impl XmlValue for $t {
            fn to_xml_value(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
            fn from_xml_value(text: &str) -> Result<Self, String> {
                text.trim()
                    .parse::<$t>()
                    .map_err(|e| format!("expected a number ({}): {e}", stringify!($t)))
            }
        }
    )*};
}
numeric_value!(u8, u16, u32, u64, i32, i64, usize, f64);

/// `xs:dateTime`. Written in UTC with a `Z`; read with any offset, or without one as UTC.
impl XmlValue for DateTime<Utc> {
    fn to_xml_value(&self) -> Cow<'_, str> {
        Cow::Owned(self.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    }
    fn from_xml_value(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(dt) = DateTime::<FixedOffset>::parse_from_rfc3339(text) {
            return Ok(dt.with_timezone(&Utc));
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|naive| naive.and_utc())
            .map_err(|_| "expected an xs:dateTime such as 2024-05-01T09:30:00Z".to_owned())
    }
}

/// `xs:date`. Written as `YYYY-MM-DD`; read ignoring a time zone suffix (`Z`, `+02:00`).
impl XmlValue for NaiveDate {
    fn to_xml_value(&self) -> Cow<'_, str> {
        Cow::Owned(self.format("%Y-%m-%d").to_string())
    }
    fn from_xml_value(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let date = text.get(..10).unwrap_or(text);
        NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| "expected an xs:date such as 2024-05-01".to_owned())
    }
}
