//! Single-value extended properties: Graph's property ids (`String {guid} Name X`,
//! `String 0x1000`) as the EWS front's `ExtendedFieldURI`s, `$expand` and `$filter`.

use ews_client::types::paths::{
    DistinguishedPropertySet, ExtendedFieldUri, ExtendedProperty, ExtendedValue, MapiPropertyType,
};
use graph_client::extended::PUBLIC_STRINGS;
use graph_client::types::SingleValueExtendedProperty;

/// The GUIDs of the distinguished property sets Graph spells out.
fn set_guid(set: DistinguishedPropertySet) -> Option<&'static str> {
    Some(match set {
        DistinguishedPropertySet::PublicStrings => PUBLIC_STRINGS,
        DistinguishedPropertySet::Common => "00062008-0000-0000-C000-000000000046",
        DistinguishedPropertySet::Address => "00062004-0000-0000-C000-000000000046",
        DistinguishedPropertySet::Appointment => "00062002-0000-0000-C000-000000000046",
        DistinguishedPropertySet::Meeting => "6ED8DA90-450B-101B-98DA-00AA003F1305",
        DistinguishedPropertySet::Task => "00062003-0000-0000-C000-000000000046",
        DistinguishedPropertySet::InternetHeaders => "00020386-0000-0000-C000-000000000046",
        _ => return None,
    })
}

/// Graph's id of an EWS extended property (array types have no single-value form).
pub(crate) fn graph_id(uri: &ExtendedFieldUri) -> Option<String> {
    if uri.property_type.is_array() {
        return None;
    }
    let ty = uri.property_type.as_str();
    let guid = uri.property_set_id.clone().or_else(|| {
        uri.distinguished_property_set_id
            .and_then(set_guid)
            .map(str::to_owned)
    });
    match (&uri.property_tag, guid, &uri.property_name, uri.property_id) {
        (Some(tag), _, _, _) => {
            let t = tag.trim();
            let n = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => t.parse().ok()?,
            };
            Some(format!("{ty} 0x{n:04x}"))
        }
        (None, Some(guid), Some(name), _) => Some(format!("{ty} {{{guid}}} Name {name}")),
        (None, Some(guid), None, Some(id)) => Some(format!("{ty} {{{guid}}} Id 0x{id:04x}")),
        _ => None,
    }
}

/// The EWS path of a Graph property id; `None` if it is not one.
pub(crate) fn parse_id(id: &str) -> Option<ExtendedFieldUri> {
    let (ty, rest) = id.trim().split_once(' ')?;
    let ty: MapiPropertyType = ty.parse().ok()?;
    if ty.is_array() {
        return None;
    }
    let rest = rest.trim();
    if let Some(hex) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        let n = u32::from_str_radix(hex, 16).ok()?;
        return Some(ExtendedFieldUri::tagged(format!("0x{n:04x}"), ty));
    }
    let rest = rest.strip_prefix('{')?;
    let (guid, rest) = rest.split_once('}')?;
    let rest = rest.trim();
    if let Some(name) = rest.strip_prefix("Name ") {
        return Some(ExtendedFieldUri::named(guid, name, ty));
    }
    let num = rest.strip_prefix("Id ")?.trim();
    let n = match num.strip_prefix("0x").or_else(|| num.strip_prefix("0X")) {
        Some(hex) => i32::from_str_radix(hex, 16).ok()?,
        None => num.parse().ok()?,
    };
    Some(ExtendedFieldUri {
        distinguished_property_set_id: None,
        property_set_id: Some(guid.to_string()),
        property_tag: None,
        property_name: None,
        property_id: Some(n),
        property_type: ty,
    })
}

/// Whether two paths name the same property, a distinguished set equal to its GUID.
pub(crate) fn same(a: &ExtendedFieldUri, b: &ExtendedFieldUri) -> bool {
    match (graph_id(a), graph_id(b)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(&y),
        _ => a.same_property(b),
    }
}

/// The item's properties as Graph returns them, those named by `wanted` only.
pub(crate) fn read(
    props: &[ExtendedProperty],
    wanted: &[ExtendedFieldUri],
) -> Vec<SingleValueExtendedProperty> {
    props
        .iter()
        .filter(|p| wanted.iter().any(|w| same(w, &p.uri)))
        .filter_map(|p| {
            let ExtendedValue::Single(v) = &p.value else {
                return None;
            };
            Some(SingleValueExtendedProperty {
                id: graph_id(&p.uri),
                value: Some(v.clone()),
            })
        })
        .collect()
}

/// Writes Graph properties onto an item's list (replacing the same property).
pub(crate) fn write(
    props: &mut Vec<ExtendedProperty>,
    new: &[SingleValueExtendedProperty],
) -> Result<(), String> {
    for p in new {
        let id = p.id.as_deref().unwrap_or_default();
        let uri = parse_id(id).ok_or_else(|| format!("invalid extended property id '{id}'"))?;
        let value = p.value.clone().unwrap_or_default();
        props.retain(|e| !same(&e.uri, &uri));
        props.push(ExtendedProperty::string(uri, value));
    }
    Ok(())
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// The properties named by `$expand=singleValueExtendedProperties($filter=id eq '...' or
/// ...)`; `Ok(None)` when the expand does not ask for them.
pub(crate) fn parse_expand(expand: Option<&str>) -> Result<Option<Vec<ExtendedFieldUri>>, String> {
    let Some(expand) = expand else {
        return Ok(None);
    };
    let Some(rest) = expand.trim().strip_prefix("singleValueExtendedProperties") else {
        return Err(format!("unsupported $expand '{expand}'"));
    };
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| r.trim().strip_prefix("$filter="))
        .ok_or_else(|| format!("unsupported $expand '{expand}'"))?;
    let mut out = Vec::new();
    for clause in split_outside_quotes(inner, " or ") {
        let value = clause
            .trim()
            .strip_prefix("id eq ")
            .and_then(unquote)
            .ok_or_else(|| format!("unsupported $expand filter '{clause}'"))?;
        out.push(parse_id(&value).ok_or_else(|| format!("invalid property id '{value}'"))?);
    }
    Ok(Some(out))
}

/// `singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')`: the property
/// and the value; `Ok(None)` if the filter is of another form.
pub(crate) fn parse_filter(filter: &str) -> Result<Option<(ExtendedFieldUri, String)>, String> {
    let f = filter.trim();
    let Some(rest) = f
        .strip_prefix("singleValueExtendedProperties/Any(")
        .or_else(|| f.strip_prefix("singleValueExtendedProperties/any("))
    else {
        return Ok(None);
    };
    let body = rest
        .strip_suffix(')')
        .ok_or_else(|| format!("invalid filter '{filter}'"))?;
    let (var, cond) = body
        .split_once(':')
        .ok_or_else(|| format!("invalid filter '{filter}'"))?;
    let var = var.trim();
    let parts = split_outside_quotes(cond, " and ");
    let (mut id, mut value) = (None, None);
    for p in parts {
        let p = p.trim();
        if let Some(v) = p.strip_prefix(&format!("{var}/id eq ")) {
            id = unquote(v);
        } else if let Some(v) = p.strip_prefix(&format!("{var}/value eq ")) {
            value = unquote(v);
        } else {
            return Err(format!("unsupported filter clause '{p}'"));
        }
    }
    let (Some(id), Some(value)) = (id, value) else {
        return Err(format!("invalid filter '{filter}'"));
    };
    let uri = parse_id(&id).ok_or_else(|| format!("invalid property id '{id}'"))?;
    Ok(Some((uri, value)))
}

/// Whether the item's property `uri` equals `value`.
pub(crate) fn matches(props: &[ExtendedProperty], uri: &ExtendedFieldUri, value: &str) -> bool {
    props
        .iter()
        .any(|p| same(&p.uri, uri) && matches!(&p.value, ExtendedValue::Single(v) if v == value))
}

/// Splits at `sep` where it is not inside single quotes.
fn split_outside_quotes<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut in_quote = false;
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_quote = !in_quote;
        } else if !in_quote && s[i..].starts_with(sep) {
            out.push(&s[start..i]);
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_client::extended::{PropertyId, expand, filter_eq};

    #[test]
    fn graph_ids_and_ews_paths_convert_both_ways() {
        let id = PropertyId::public_string("ConAktivRecordId");
        let uri = parse_id(id.as_str()).unwrap();
        assert_eq!(graph_id(&uri).as_deref(), Some(id.as_str()));
        let distinguished = ExtendedFieldUri {
            distinguished_property_set_id: Some(DistinguishedPropertySet::PublicStrings),
            property_set_id: None,
            property_tag: None,
            property_name: Some("ConAktivRecordId".into()),
            property_id: None,
            property_type: MapiPropertyType::String,
        };
        assert!(same(&uri, &distinguished));
        let tagged = parse_id("String 0x1000").unwrap();
        assert_eq!(graph_id(&tagged).as_deref(), Some("String 0x1000"));
        assert!(parse_id("Nonsense").is_none());
    }

    #[test]
    fn expand_and_filter_as_graph_client_writes_them() {
        let id = PropertyId::public_string("Rec");
        let wanted = parse_expand(Some(&expand(&[&id]))).unwrap().unwrap();
        assert_eq!(wanted.len(), 1);
        let (uri, value) = parse_filter(&filter_eq(&id, "O'Neil and co"))
            .unwrap()
            .unwrap();
        assert_eq!(graph_id(&uri).as_deref(), Some(id.as_str()));
        assert_eq!(value, "O'Neil and co");
        assert!(parse_filter("displayName eq 'x'").unwrap().is_none());
    }
}
