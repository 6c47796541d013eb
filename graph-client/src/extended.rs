//! Single-value extended (MAPI) properties: ids, `$expand`, `$filter` and values to write.
//!
//! The same named property EWS writes as `ExtendedFieldURI PropertySetId=... PropertyName=...
//! PropertyType="String"` is `String {guid} Name {name}` in Graph.

use crate::types::SingleValueExtendedProperty;

/// `PS_PUBLIC_STRINGS`, the property set of most named string properties.
pub const PUBLIC_STRINGS: &str = "00020329-0000-0000-C000-000000000046";

/// The id of a single-value extended property.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PropertyId(String);

impl PropertyId {
    /// A named property: `{type} {guid} Name {name}`, e.g.
    /// `String {00020329-0000-0000-C000-000000000046} Name ConAktivRecordId`.
    pub fn named(mapi_type: &str, property_set: &str, name: &str) -> Self {
        Self(format!("{mapi_type} {{{property_set}}} Name {name}"))
    }

    /// A named string property in [`PUBLIC_STRINGS`].
    pub fn public_string(name: &str) -> Self {
        Self::named("String", PUBLIC_STRINGS, name)
    }

    /// A tagged property: `{type} 0x{tag:04x}`.
    pub fn tagged(mapi_type: &str, tag: u16) -> Self {
        Self(format!("{mapi_type} 0x{tag:04x}"))
    }

    /// The id as Graph spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The property with a value, for a create or update body.
    pub fn value(&self, value: impl Into<String>) -> SingleValueExtendedProperty {
        SingleValueExtendedProperty {
            id: Some(self.0.clone()),
            value: Some(value.into()),
        }
    }

    /// Whether `id` (as the server returned it) names this property. Graph may return the
    /// GUID in another letter case; ids are compared case-insensitively.
    pub fn matches(&self, id: &str) -> bool {
        self.0.eq_ignore_ascii_case(id)
    }
}

fn quote(value: &str) -> String {
    value.replace('\'', "''")
}

/// `$expand` value reading these properties.
pub fn expand(ids: &[&PropertyId]) -> String {
    let clauses: Vec<String> = ids
        .iter()
        .map(|id| format!("id eq '{}'", quote(id.as_str())))
        .collect();
    format!(
        "singleValueExtendedProperties($filter={})",
        clauses.join(" or ")
    )
}

/// `$filter` value matching items whose property equals `value`.
pub fn filter_eq(id: &PropertyId, value: &str) -> String {
    format!(
        "singleValueExtendedProperties/Any(ep: ep/id eq '{}' and ep/value eq '{}')",
        quote(id.as_str()),
        quote(value)
    )
}

/// The value of property `id` in a list the server returned.
pub fn find<'a>(
    properties: Option<&'a [SingleValueExtendedProperty]>,
    id: &PropertyId,
) -> Option<&'a str> {
    properties?
        .iter()
        .find(|p| p.id.as_deref().is_some_and(|pid| id.matches(pid)))
        .and_then(|p| p.value.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_expand_and_filter() {
        let id = PropertyId::public_string("ConAktivRecordId");
        assert_eq!(
            id.as_str(),
            "String {00020329-0000-0000-C000-000000000046} Name ConAktivRecordId"
        );
        assert_eq!(
            expand(&[&id]),
            "singleValueExtendedProperties($filter=id eq 'String {00020329-0000-0000-C000-000000000046} Name ConAktivRecordId')"
        );
        assert_eq!(
            filter_eq(&id, "O'Neil"),
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String {00020329-0000-0000-C000-000000000046} Name ConAktivRecordId' and ep/value eq 'O''Neil')"
        );
        assert_eq!(
            PropertyId::tagged("String", 0x1000).as_str(),
            "String 0x1000"
        );
        let props = vec![SingleValueExtendedProperty {
            id: Some("String {00020329-0000-0000-c000-000000000046} Name ConAktivRecordId".into()),
            value: Some("42".into()),
        }];
        assert_eq!(find(Some(&props), &id), Some("42"));
    }
}
