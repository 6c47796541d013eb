//! How our serde types describe themselves in terms of Graph's CSDL metadata.
//!
//! Every resource type is declared with the `graph_struct!` macro and every enum with
//! `graph_enum!`: they generate the serde derive (field names exactly as in the CSDL, `None`
//! skipped when serializing) together with a [`Described`] / [`DescribedEnum`] implementation
//! listing each JSON property with its Edm type. The test `tests/csdl.rs` checks those lists
//! against Microsoft's published v1.0 metadata, so a misspelt property or enum value fails CI.

/// The Edm type of a Rust type as the CSDL spells it (`Edm.String`,
/// `Collection(microsoft.graph.recipient)`, ...).
pub trait Edm {
    /// The qualified type name.
    fn edm() -> String;
}

macro_rules! edm_primitive {
    ($($ty:ty => $name:literal),* $(,)?) => {
        $(impl Edm for $ty { fn edm() -> String { $name.to_owned() } })*
    };
}

edm_primitive! {
    String => "Edm.String",
    bool => "Edm.Boolean",
    i32 => "Edm.Int32",
    i64 => "Edm.Int64",
    f64 => "Edm.Double",
    chrono::DateTime<chrono::Utc> => "Edm.DateTimeOffset",
    chrono::NaiveDate => "Edm.Date",
    crate::Base64 => "Edm.Binary",
}

impl<T: Edm> Edm for Vec<T> {
    fn edm() -> String {
        format!("Collection({})", T::edm())
    }
}

/// A struct that maps one CSDL entity or complex type.
pub trait Described {
    /// The type's name in the CSDL (without namespace), e.g. `message`.
    const CSDL_NAME: &'static str;
    /// Every JSON property the type can serialize (annotations such as `@odata.etag`
    /// excluded) with its Edm type.
    fn properties() -> Vec<(&'static str, String)>;
}

/// An enum that maps one CSDL enum type.
pub trait DescribedEnum {
    /// The enum's name in the CSDL.
    const CSDL_NAME: &'static str;
    /// Every member value the enum can serialize.
    const VALUES: &'static [&'static str];
}

/// Declares a Graph struct: every field optional, renamed to its JSON name, skipped when
/// `None`; fields whose JSON name starts with `@` are OData annotations.
macro_rules! graph_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $csdl:literal {
            $( $(#[$fmeta:meta])* $json:literal => $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[doc = concat!("Graph property `", $json, "`.")]
                #[serde(rename = $json, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl $crate::schema::Described for $name {
            const CSDL_NAME: &'static str = $csdl;
            fn properties() -> Vec<(&'static str, String)> {
                let mut out = Vec::new();
                $(
                    if !$json.starts_with('@') {
                        out.push(($json, <$ty as $crate::schema::Edm>::edm()));
                    }
                )*
                out
            }
        }

        impl $crate::schema::Edm for $name {
            fn edm() -> String {
                concat!("microsoft.graph.", $csdl).to_owned()
            }
        }
    };
}

/// Declares a Graph enum. Values the server adds later deserialize as `UnknownValue`, which is
/// never serialized.
macro_rules! graph_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident = $csdl:literal {
            $( $variant:ident = $json:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(
                #[doc = concat!("`", $json, "`")]
                #[serde(rename = $json)]
                $variant,
            )*
            /// A value this client does not know (never serialized).
            #[serde(other, skip_serializing)]
            UnknownValue,
        }

        impl $crate::schema::DescribedEnum for $name {
            const CSDL_NAME: &'static str = $csdl;
            const VALUES: &'static [&'static str] = &[$($json),*];
        }

        impl $crate::schema::Edm for $name {
            fn edm() -> String {
                concat!("microsoft.graph.", $csdl).to_owned()
            }
        }
    };
}

pub(crate) use {graph_enum, graph_struct};
