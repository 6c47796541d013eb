//! Property paths: `t:FieldURI`, `t:IndexedFieldURI` and `t:ExtendedFieldURI`, used in
//! shapes (`AdditionalProperties`), sort orders, restrictions and `UpdateItem` changes; and
//! extended (MAPI) property values (`t:ExtendedProperty`).

use super::ids::string_enum;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use std::borrow::Cow;

string_enum! {
    /// The MAPI type of an extended property (`t:MapiPropertyTypeType`).
    MapiPropertyType {
        /// ApplicationTime.
        ApplicationTime = "ApplicationTime",
        /// ApplicationTimeArray.
        ApplicationTimeArray = "ApplicationTimeArray",
        /// Binary (base64).
        Binary = "Binary",
        /// BinaryArray.
        BinaryArray = "BinaryArray",
        /// Boolean.
        Boolean = "Boolean",
        /// CLSID.
        Clsid = "CLSID",
        /// CLSIDArray.
        ClsidArray = "CLSIDArray",
        /// Currency.
        Currency = "Currency",
        /// CurrencyArray.
        CurrencyArray = "CurrencyArray",
        /// Double.
        Double = "Double",
        /// DoubleArray.
        DoubleArray = "DoubleArray",
        /// Error.
        Error = "Error",
        /// Float.
        Float = "Float",
        /// FloatArray.
        FloatArray = "FloatArray",
        /// Integer (32 bit).
        Integer = "Integer",
        /// IntegerArray.
        IntegerArray = "IntegerArray",
        /// Long (64 bit).
        Long = "Long",
        /// LongArray.
        LongArray = "LongArray",
        /// Null.
        Null = "Null",
        /// Object.
        Object = "Object",
        /// ObjectArray.
        ObjectArray = "ObjectArray",
        /// Short.
        Short = "Short",
        /// ShortArray.
        ShortArray = "ShortArray",
        /// SystemTime.
        SystemTime = "SystemTime",
        /// SystemTimeArray.
        SystemTimeArray = "SystemTimeArray",
        /// String.
        String = "String",
        /// StringArray.
        StringArray = "StringArray",
    }
}

impl MapiPropertyType {
    /// Whether values of this type are lists (`t:Values`) rather than one `t:Value`.
    pub fn is_array(self) -> bool {
        self.as_str().ends_with("Array")
    }
}

string_enum! {
    /// Well-known MAPI property sets (`t:DistinguishedPropertySetType`).
    DistinguishedPropertySet {
        /// Meeting.
        Meeting = "Meeting",
        /// Appointment.
        Appointment = "Appointment",
        /// Common.
        Common = "Common",
        /// PublicStrings: the usual home of an application's named properties.
        PublicStrings = "PublicStrings",
        /// Address.
        Address = "Address",
        /// InternetHeaders.
        InternetHeaders = "InternetHeaders",
        /// CalendarAssistant.
        CalendarAssistant = "CalendarAssistant",
        /// UnifiedMessaging.
        UnifiedMessaging = "UnifiedMessaging",
        /// Task.
        Task = "Task",
        /// Sharing.
        Sharing = "Sharing",
    }
}

/// Which extended property (`t:ExtendedFieldURI`): a named property in a property set, or a
/// property tag; always with its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtendedFieldUri {
    /// A well-known property set.
    pub distinguished_property_set_id: Option<DistinguishedPropertySet>,
    /// A property set GUID.
    pub property_set_id: Option<String>,
    /// A property tag such as `0x1000`.
    pub property_tag: Option<String>,
    /// A property name within the set.
    pub property_name: Option<String>,
    /// A numeric property id within the set.
    pub property_id: Option<i32>,
    /// The MAPI type.
    pub property_type: MapiPropertyType,
}

impl ExtendedFieldUri {
    /// A named property in a property set given by GUID (how an application stores its own
    /// values, e.g. the CRM record id).
    pub fn named(
        property_set_id: impl Into<String>,
        name: impl Into<String>,
        property_type: MapiPropertyType,
    ) -> Self {
        Self {
            distinguished_property_set_id: None,
            property_set_id: Some(property_set_id.into()),
            property_tag: None,
            property_name: Some(name.into()),
            property_id: None,
            property_type,
        }
    }

    /// A property given by its tag (e.g. `0x0E08` for the message size).
    pub fn tagged(tag: impl Into<String>, property_type: MapiPropertyType) -> Self {
        Self {
            distinguished_property_set_id: None,
            property_set_id: None,
            property_tag: Some(tag.into()),
            property_name: None,
            property_id: None,
            property_type,
        }
    }

    /// Whether two paths name the same property. GUIDs compare case-insensitively and tags
    /// numerically (`0x1000` equals `4096`), as Exchange may echo them differently.
    pub fn same_property(&self, other: &ExtendedFieldUri) -> bool {
        fn tag_value(tag: &str) -> Option<u32> {
            let t = tag.trim();
            match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => t.parse().ok(),
            }
        }
        let eq_ci = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        };
        let tags_equal = match (&self.property_tag, &other.property_tag) {
            (Some(a), Some(b)) => tag_value(a).is_some() && tag_value(a) == tag_value(b),
            (None, None) => true,
            _ => false,
        };
        self.distinguished_property_set_id == other.distinguished_property_set_id
            && eq_ci(&self.property_set_id, &other.property_set_id)
            && tags_equal
            && self.property_name == other.property_name
            && self.property_id == other.property_id
            && self.property_type == other.property_type
    }

    fn write_attrs(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_opt(
                "DistinguishedPropertySetId",
                self.distinguished_property_set_id.as_ref(),
            )
            .attr_opt("PropertySetId", self.property_set_id.as_ref())
            .attr_opt("PropertyTag", self.property_tag.as_ref())
            .attr_opt("PropertyName", self.property_name.as_ref())
            .attr_opt("PropertyId", self.property_id.as_ref())
            .attr_value("PropertyType", &self.property_type)
            .empty();
    }
}

impl WriteXml for ExtendedFieldUri {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        self.write_attrs(w, ns, name);
    }
}

impl ReadXml for ExtendedFieldUri {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let uri = Self {
            distinguished_property_set_id: start.attr_value(r, "DistinguishedPropertySetId")?,
            property_set_id: start.attr("PropertySetId")?.map(Cow::into_owned),
            property_tag: start.attr("PropertyTag")?.map(Cow::into_owned),
            property_name: start.attr("PropertyName")?.map(Cow::into_owned),
            property_id: start.attr_value(r, "PropertyId")?,
            property_type: start.required_attr_value(r, "PropertyType")?,
        };
        r.skip(start)?;
        Ok(uri)
    }
}

/// A path to a property (`t:Path` choice): a field URI such as `item:Subject`, an indexed
/// field such as `contacts:EmailAddress` / `EmailAddress1`, or an extended property.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PropertyPath {
    /// `t:FieldURI FieldURI="item:Subject"`.
    Field(String),
    /// `t:IndexedFieldURI FieldURI="contacts:PhoneNumber" FieldIndex="MobilePhone"`.
    Indexed {
        /// The field URI.
        field_uri: String,
        /// The index (entry key).
        field_index: String,
    },
    /// `t:ExtendedFieldURI`.
    Extended(ExtendedFieldUri),
}

impl PropertyPath {
    /// A field URI path.
    pub fn field(uri: impl Into<String>) -> Self {
        PropertyPath::Field(uri.into())
    }

    /// An indexed field path.
    pub fn indexed(uri: impl Into<String>, index: impl Into<String>) -> Self {
        PropertyPath::Indexed {
            field_uri: uri.into(),
            field_index: index.into(),
        }
    }

    /// Writes the path as its own element (`t:FieldURI`, `t:IndexedFieldURI` or
    /// `t:ExtendedFieldURI`).
    pub fn write(&self, w: &mut XmlWriter) {
        match self {
            PropertyPath::Field(uri) => {
                w.start(Ns::Types, "FieldURI").attr("FieldURI", uri).empty()
            }
            PropertyPath::Indexed {
                field_uri,
                field_index,
            } => w
                .start(Ns::Types, "IndexedFieldURI")
                .attr("FieldURI", field_uri)
                .attr("FieldIndex", field_index)
                .empty(),
            PropertyPath::Extended(ext) => ext.write_attrs(w, Ns::Types, "ExtendedFieldURI"),
        }
    }

    /// Reads a path element; `None` (element left unread) if `start` is not one.
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Self>, XmlError> {
        if start.is(Ns::Types, "FieldURI") {
            let uri = start.required_attr(r, "FieldURI")?.into_owned();
            r.skip(start)?;
            Ok(Some(PropertyPath::Field(uri)))
        } else if start.is(Ns::Types, "IndexedFieldURI") {
            let field_uri = start.required_attr(r, "FieldURI")?.into_owned();
            let field_index = start.required_attr(r, "FieldIndex")?.into_owned();
            r.skip(start)?;
            Ok(Some(PropertyPath::Indexed {
                field_uri,
                field_index,
            }))
        } else if start.is(Ns::Types, "ExtendedFieldURI") {
            Ok(Some(PropertyPath::Extended(ExtendedFieldUri::read_xml(
                r, start,
            )?)))
        } else {
            Ok(None)
        }
    }

    /// Reads the list of paths that are children of `start` (e.g. `t:AdditionalProperties`),
    /// skipping other elements.
    pub fn read_list<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Vec<Self>, XmlError> {
        let mut out = Vec::new();
        while let Some(child) = r.next_child(start)? {
            match Self::try_read(r, &child)? {
                Some(path) => out.push(path),
                None => r.skip(&child)?,
            }
        }
        Ok(out)
    }
}

/// An extended property's value (`t:ExtendedProperty`): single (`t:Value`) or multi-valued
/// (`t:Values`), as text in the MAPI type's lexical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedProperty {
    /// Which property.
    pub uri: ExtendedFieldUri,
    /// The value.
    pub value: ExtendedValue,
}

/// The value of an extended property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendedValue {
    /// One value (`t:Value`).
    Single(String),
    /// Several values (`t:Values/t:Value`), for array types.
    Multi(Vec<String>),
}

impl ExtendedProperty {
    /// A single string value for a named property.
    pub fn string(uri: ExtendedFieldUri, value: impl Into<String>) -> Self {
        Self {
            uri,
            value: ExtendedValue::Single(value.into()),
        }
    }

    /// The single value, if this is one.
    pub fn as_single(&self) -> Option<&str> {
        match &self.value {
            ExtendedValue::Single(v) => Some(v),
            ExtendedValue::Multi(_) => None,
        }
    }
}

impl WriteXml for ExtendedProperty {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name).children(|w| {
            self.uri.write_attrs(w, Ns::Types, "ExtendedFieldURI");
            match &self.value {
                ExtendedValue::Single(v) => w.text_element(Ns::Types, "Value", v),
                ExtendedValue::Multi(values) => w.element(Ns::Types, "Values", |w| {
                    for v in values {
                        w.text_element(Ns::Types, "Value", v);
                    }
                }),
            }
        });
    }
}

impl ReadXml for ExtendedProperty {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut uri = None;
        let mut value = None;
        while let Some(child) = r.next_child(start)? {
            if child.is(Ns::Types, "ExtendedFieldURI") {
                uri = Some(ExtendedFieldUri::read_xml(r, &child)?);
            } else if child.is(Ns::Types, "Value") {
                value = Some(ExtendedValue::Single(r.text(&child)?.into_owned()));
            } else if child.is(Ns::Types, "Values") {
                let mut values = Vec::new();
                while let Some(v) = r.next_child(&child)? {
                    if v.is(Ns::Types, "Value") {
                        values.push(r.text(&v)?.into_owned());
                    } else {
                        r.skip(&v)?;
                    }
                }
                value = Some(ExtendedValue::Multi(values));
            } else {
                r.skip(&child)?;
            }
        }
        Ok(Self {
            uri: r.required(start, uri, "ExtendedFieldURI")?,
            value: r.required(start, value, "Value")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_property_round_trip_and_path_choice() {
        let uri = ExtendedFieldUri::named(
            "c11ff724-aa03-4555-9952-8fa248a11c3e",
            "ConAktivId",
            MapiPropertyType::String,
        );
        let prop = ExtendedProperty::string(uri.clone(), "contact:42");
        let mut w = XmlWriter::new();
        w.start_root(Ns::Types, "Root").open();
        prop.write_xml(&mut w, Ns::Types, "ExtendedProperty");
        PropertyPath::Extended(uri.clone()).write(&mut w);
        PropertyPath::indexed("contacts:PhoneNumber", "MobilePhone").write(&mut w);
        PropertyPath::field("item:Subject").write(&mut w);
        w.end(Ns::Types, "Root");
        let bytes = w.into_bytes();

        let mut r = XmlReader::new(&bytes);
        let root = r.root().unwrap();
        let first = r.next_child(&root).unwrap().unwrap();
        assert_eq!(ExtendedProperty::read_xml(&mut r, &first).unwrap(), prop);
        let paths = PropertyPath::read_list(&mut r, &root).unwrap();
        assert_eq!(
            paths,
            vec![
                PropertyPath::Extended(uri),
                PropertyPath::indexed("contacts:PhoneNumber", "MobilePhone"),
                PropertyPath::field("item:Subject"),
            ]
        );
    }

    #[test]
    fn same_property_tolerates_echo_differences() {
        let a = ExtendedFieldUri::named("ABC-def", "X", MapiPropertyType::String);
        let b = ExtendedFieldUri::named("abc-DEF", "X", MapiPropertyType::String);
        assert!(a.same_property(&b));
        let t1 = ExtendedFieldUri::tagged("0x1000", MapiPropertyType::String);
        let t2 = ExtendedFieldUri::tagged("4096", MapiPropertyType::String);
        assert!(t1.same_property(&t2));
        assert!(!t1.same_property(&a));
    }
}
