//! Complex types shared by several resources.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::schema::{graph_enum, graph_struct};

/// Binary content, base64 in JSON (`Edm.Binary`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Base64(pub Vec<u8>);

impl std::fmt::Debug for Base64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base64({} bytes)", self.0.len())
    }
}

impl Serialize for Base64 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map(Base64)
            .map_err(serde::de::Error::custom)
    }
}

graph_enum! {
    /// `bodyType`.
    pub enum BodyType = "bodyType" {
        Text = "text",
        Html = "html",
    }
}

graph_enum! {
    /// `importance`.
    pub enum Importance = "importance" {
        Low = "low",
        Normal = "normal",
        High = "high",
    }
}

graph_enum! {
    /// `sensitivity`.
    pub enum Sensitivity = "sensitivity" {
        Normal = "normal",
        Personal = "personal",
        Private = "private",
        Confidential = "confidential",
    }
}

graph_struct! {
    /// `itemBody`: the body of a message, event, task.
    pub struct ItemBody = "itemBody" {
        "contentType" => content_type: BodyType,
        "content" => content: String,
    }
}

impl ItemBody {
    /// A plain-text body.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content_type: Some(BodyType::Text),
            content: Some(content.into()),
        }
    }
}

graph_struct! {
    /// `emailAddress`.
    pub struct EmailAddress = "emailAddress" {
        "name" => name: String,
        "address" => address: String,
    }
}

graph_struct! {
    /// `recipient`.
    pub struct Recipient = "recipient" {
        "emailAddress" => email_address: EmailAddress,
    }
}

impl Recipient {
    /// A recipient with an address.
    pub fn address(address: impl Into<String>) -> Self {
        Self {
            email_address: Some(EmailAddress {
                name: None,
                address: Some(address.into()),
            }),
        }
    }
}

graph_struct! {
    /// `dateTimeTimeZone`: a local date and time (`2026-12-04T09:00:00.0000000`) with a
    /// Windows or IANA zone name.
    pub struct DateTimeTimeZone = "dateTimeTimeZone" {
        "dateTime" => date_time: String,
        "timeZone" => time_zone: String,
    }
}

impl DateTimeTimeZone {
    /// A local time in `zone`.
    pub fn new(date_time: impl Into<String>, zone: impl Into<String>) -> Self {
        Self {
            date_time: Some(date_time.into()),
            time_zone: Some(zone.into()),
        }
    }
}

graph_struct! {
    /// `physicalAddress`.
    pub struct PhysicalAddress = "physicalAddress" {
        "street" => street: String,
        "city" => city: String,
        "state" => state: String,
        "countryOrRegion" => country_or_region: String,
        "postalCode" => postal_code: String,
    }
}

graph_struct! {
    /// `singleValueLegacyExtendedProperty`: one MAPI property; `id` names it (see
    /// [`crate::extended::PropertyId`]), `value` is its string form.
    pub struct SingleValueExtendedProperty = "singleValueLegacyExtendedProperty" {
        "id" => id: String,
        "value" => value: String,
    }
}

graph_enum! {
    /// `dayOfWeek`.
    pub enum DayOfWeek = "dayOfWeek" {
        Sunday = "sunday",
        Monday = "monday",
        Tuesday = "tuesday",
        Wednesday = "wednesday",
        Thursday = "thursday",
        Friday = "friday",
        Saturday = "saturday",
    }
}

graph_enum! {
    /// `weekIndex`.
    pub enum WeekIndex = "weekIndex" {
        First = "first",
        Second = "second",
        Third = "third",
        Fourth = "fourth",
        Last = "last",
    }
}

graph_enum! {
    /// `recurrencePatternType`.
    pub enum RecurrencePatternType = "recurrencePatternType" {
        Daily = "daily",
        Weekly = "weekly",
        AbsoluteMonthly = "absoluteMonthly",
        RelativeMonthly = "relativeMonthly",
        AbsoluteYearly = "absoluteYearly",
        RelativeYearly = "relativeYearly",
    }
}

graph_enum! {
    /// `recurrenceRangeType`.
    pub enum RecurrenceRangeType = "recurrenceRangeType" {
        EndDate = "endDate",
        NoEnd = "noEnd",
        Numbered = "numbered",
    }
}

graph_struct! {
    /// `recurrencePattern`.
    pub struct RecurrencePattern = "recurrencePattern" {
        "type" => kind: RecurrencePatternType,
        "interval" => interval: i32,
        "month" => month: i32,
        "dayOfMonth" => day_of_month: i32,
        "daysOfWeek" => days_of_week: Vec<DayOfWeek>,
        "firstDayOfWeek" => first_day_of_week: DayOfWeek,
        "index" => index: WeekIndex,
    }
}

graph_struct! {
    /// `recurrenceRange`.
    pub struct RecurrenceRange = "recurrenceRange" {
        "type" => kind: RecurrenceRangeType,
        "startDate" => start_date: chrono::NaiveDate,
        "endDate" => end_date: chrono::NaiveDate,
        "numberOfOccurrences" => number_of_occurrences: i32,
        "recurrenceTimeZone" => recurrence_time_zone: String,
    }
}

graph_struct! {
    /// `patternedRecurrence` of an event series or a recurring task.
    pub struct PatternedRecurrence = "patternedRecurrence" {
        "pattern" => pattern: RecurrencePattern,
        "range" => range: RecurrenceRange,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_unknown_enum_values() {
        let body = ItemBody::text("hi");
        assert_eq!(
            serde_json::to_string(&body).expect("json"),
            r#"{"contentType":"text","content":"hi"}"#
        );
        let b: Base64 = serde_json::from_str(r#""aGVsbG8=""#).expect("base64");
        assert_eq!(b.0, b"hello");
        assert_eq!(serde_json::to_string(&b).expect("json"), r#""aGVsbG8=""#);
        assert!(serde_json::from_str::<Base64>(r#""not base64!""#).is_err());
        let later: Importance = serde_json::from_str(r#""critical""#).expect("tolerated");
        assert_eq!(later, Importance::UnknownValue);
        assert!(serde_json::to_string(&Importance::UnknownValue).is_err());
        assert_eq!(
            ItemBody::default(),
            serde_json::from_str("{}").expect("empty")
        );
    }
}
