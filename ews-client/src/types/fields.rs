//! One declaration per item type: `item_fields!` declares a struct's fields once, each
//! with its element name, how it is encoded and its property path, and derives from that
//! list the struct, its writer (schema order = declaration order), its reader (one `match`
//! on the element's local name, as hand-written readers do) and the field tables that
//! `UpdateItem` uses to diff, apply and copy fields by `FieldURI`.
//!
//! A field is one line (after its doc comment):
//!
//! ```text
//! /// First name.
//! given_name: Option<String> => "GivenName" value, rw "contacts:GivenName";
//! ```
//!
//! - `=> "GivenName"`: the element name (`t:GivenName`). Elements are written in the
//!   order of the declaration, which must follow the schema's `xs:sequence` (types.xsd).
//! - the encoding: `value` (an [`XmlValue`](crate::xml::XmlValue) in an `Option`),
//!   `element` (an `Option` of a [`WriteXml`](crate::xml::WriteXml) +
//!   [`ReadXml`](crate::xml::ReadXml) type), `strings` (`t:ArrayOfStringsType`),
//!   `list("Entry")` (a wrapper element holding one child per value, written only when the
//!   list is not empty), `each` (the element repeated once per value), `recipient`
//!   (`t:SingleRecipientType`), `recipients` (`t:ArrayOfRecipientsType`), or
//!   `with(write_fn, read_fn)` for anything else (`write_fn(w, element, &value)`,
//!   `read_fn(r, start, &mut value)`).
//! - the property path, if any: `rw "uri"` for a field `UpdateItem` can set and delete
//!   (diffed by `item_changes`), `ro "uri"` for a read-only one (still projected onto
//!   shapes by `copy_field`).
//!
//! `pub struct Contact: ItemCommon { ... }` adds the `common: ItemCommon` field, written
//! and read before the type's own fields; `pub struct ItemCommon { ... }` (no base) gets
//! the public `write_fields`/`read_field` that the item types call.

use crate::ops::ChangeError;

/// How a change treats a field: `SetItemField`, `AppendToItemField` or `DeleteItemField`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Replace the value.
    Set,
    /// Append to a list.
    Append,
    /// Unset the value.
    Delete,
}

/// A field value that can be absent (`None`, an empty list).
pub(crate) trait FieldValue: Sized {
    /// Whether the value is absent.
    fn is_unset(&self) -> bool;
    /// Sets, appends or deletes `self` from `src`'s value; an error for an append to a
    /// non-list or a missing source value.
    fn apply(&mut self, src: Option<&Self>, mode: Mode, uri: &str) -> Result<(), ChangeError>;
}

impl<T: Clone> FieldValue for Option<T> {
    fn is_unset(&self) -> bool {
        self.is_none()
    }
    fn apply(&mut self, src: Option<&Self>, mode: Mode, uri: &str) -> Result<(), ChangeError> {
        match mode {
            Mode::Delete => *self = None,
            Mode::Append => return Err(ChangeError::NotAppendable(uri.to_owned())),
            Mode::Set => match src {
                Some(Some(v)) => *self = Some(v.clone()),
                _ => return Err(ChangeError::MissingValue(uri.to_owned())),
            },
        }
        Ok(())
    }
}

impl<T: Clone> FieldValue for Vec<T> {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
    fn apply(&mut self, src: Option<&Self>, mode: Mode, uri: &str) -> Result<(), ChangeError> {
        match (mode, src) {
            (Mode::Delete, _) => self.clear(),
            (Mode::Set, Some(v)) if !v.is_empty() => *self = v.clone(),
            (Mode::Append, Some(v)) if !v.is_empty() => self.extend(v.iter().cloned()),
            _ => return Err(ChangeError::MissingValue(uri.to_owned())),
        }
        Ok(())
    }
}

/// Writes or reads one field with its encoding (see the module docs).
macro_rules! field_codec {
    (write value, $w:ident, $e:literal, $v:expr) => {
        $w.opt_value($crate::xml::Ns::Types, $e, ($v).as_ref())
    };
    (read value, $r:ident, $c:ident, $slot:expr) => {
        $slot = Some($r.value($c)?)
    };
    (write element, $w:ident, $e:literal, $v:expr) => {
        $w.opt_write($crate::xml::Ns::Types, $e, ($v).as_ref())
    };
    (read element, $r:ident, $c:ident, $slot:expr) => {
        $slot = Some($crate::xml::ReadXml::read_xml($r, $c)?)
    };
    (write strings, $w:ident, $e:literal, $v:expr) => {
        $crate::types::item::write_strings($w, $e, $v)
    };
    (read strings, $r:ident, $c:ident, $slot:expr) => {
        $slot = $crate::types::item::read_strings($r, $c)?
    };
    (write list($child:literal), $w:ident, $e:literal, $v:expr) => {
        if !($v).is_empty() {
            $w.element($crate::xml::Ns::Types, $e, |w| {
                w.write_all($crate::xml::Ns::Types, $child, $v)
            });
        }
    };
    (read list($child:literal), $r:ident, $c:ident, $slot:expr) => {
        $slot = $r.read_list($c, $crate::xml::Ns::Types, $child)?
    };
    (write each, $w:ident, $e:literal, $v:expr) => {
        $w.write_all($crate::xml::Ns::Types, $e, $v)
    };
    (read each, $r:ident, $c:ident, $slot:expr) => {
        $slot.push($crate::xml::ReadXml::read_xml($r, $c)?)
    };
    (write recipient, $w:ident, $e:literal, $v:expr) => {
        if let Some(m) = $v {
            $crate::types::mailbox::write_single_recipient($w, $e, m);
        }
    };
    (read recipient, $r:ident, $c:ident, $slot:expr) => {
        $slot = $crate::types::mailbox::read_single_recipient($r, $c)?
    };
    (write recipients, $w:ident, $e:literal, $v:expr) => {
        $crate::types::mailbox::write_recipients($w, $e, $v)
    };
    (read recipients, $r:ident, $c:ident, $slot:expr) => {
        $slot = $crate::types::mailbox::read_recipients($r, $c)?
    };
    (write with($write:path, $read:path), $w:ident, $e:literal, $v:expr) => {
        $write($w, $e, $v)
    };
    (read with($write:path, $read:path), $r:ident, $c:ident, $slot:expr) => {
        $read($r, $c, &mut $slot)?
    };
}
pub(crate) use field_codec;

/// Expands its body only for writable (`rw`) fields.
macro_rules! if_writable {
    (rw $($body:tt)*) => { $($body)* };
    (ro $($body:tt)*) => {};
}
pub(crate) use if_writable;

/// Declares an item type's fields once (see the module docs).
macro_rules! item_fields {
    (
        $(#[$meta:meta])*
        pub struct $ty:ident $(: $base:ident)? {
            $(
                $(#[doc = $doc:literal])*
                $field:ident: $fty:ty => $elem:literal $kind:ident $(($($arg:tt)*))?
                    $(, $access:ident $uri:literal)?;
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $ty {
            $(
                /// The `t:ItemType` fields.
                pub common: $crate::types::item::$base,
            )?
            $( $(#[doc = $doc])* pub $field: $fty, )*
        }

        $crate::types::fields::item_fields!(@fields $ty
            [$( $field => $elem $kind $(($($arg)*))?; )*]);
        $crate::types::fields::item_fields!(@paths $ty [$( $field $(, $access $uri)?; )*]);
        $crate::types::fields::item_fields!(@xml $ty $(: $base)?);
    };

    // An item type: the `t:ItemType` fields, then its own, in one element.
    (@xml $ty:ident: ItemCommon) => {
        impl $crate::xml::WriteXml for $ty {
            fn write_xml(&self, w: &mut $crate::xml::XmlWriter, ns: $crate::xml::Ns, name: &str) {
                w.element(ns, name, |w| {
                    self.common.write_fields(w);
                    self.write_own_fields(w);
                });
            }
        }

        impl $crate::xml::ReadXml for $ty {
            fn read_xml<'a>(
                r: &mut $crate::xml::XmlReader<'a>,
                start: &$crate::xml::Start<'a>,
            ) -> Result<Self, $crate::xml::XmlError> {
                let mut x = Self::default();
                while let Some(c) = r.next_child(start)? {
                    if !x.common.read_field(r, &c)? && !x.read_own_field(r, &c)? {
                        r.skip(&c)?;
                    }
                }
                Ok(x)
            }
        }
    };

    // The base (`ItemCommon`): its fields inside an item element written by the item type.
    (@xml $ty:ident) => {
        impl $ty {
            /// Writes the fields, in schema order (call inside the item element).
            pub fn write_fields(&self, w: &mut $crate::xml::XmlWriter) {
                self.write_own_fields(w);
            }

            /// Reads `c` if it is one of the fields; returns `false` (element left unread) if
            /// not.
            pub fn read_field<'a>(
                &mut self,
                r: &mut $crate::xml::XmlReader<'a>,
                c: &$crate::xml::Start<'a>,
            ) -> Result<bool, $crate::xml::XmlError> {
                self.read_own_field(r, c)
            }
        }
    };

    (@fields $ty:ident [$( $field:ident => $elem:literal $kind:ident $(($($arg:tt)*))?; )*]) => {
        impl $ty {
            /// Writes the type's own fields in declaration (schema) order.
            #[inline]
            fn write_own_fields(&self, w: &mut $crate::xml::XmlWriter) {
                $( $crate::types::fields::field_codec!(
                    write $kind $(($($arg)*))?, w, $elem, &self.$field); )*
            }

            /// Reads `c` if it is one of the type's own fields.
            #[inline]
            fn read_own_field<'a>(
                &mut self,
                r: &mut $crate::xml::XmlReader<'a>,
                c: &$crate::xml::Start<'a>,
            ) -> Result<bool, $crate::xml::XmlError> {
                if c.ns() != $crate::xml::Ns::Types {
                    return Ok(false);
                }
                match c.local() {
                    $( $elem => $crate::types::fields::field_codec!(
                        read $kind $(($($arg)*))?, r, c, self.$field), )*
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }
    };

    (@paths $ty:ident [$( $field:ident $(, $access:ident $uri:literal)?; )*]) => {
        impl $ty {
            /// Copies the field named by `uri` (writable or read-only) from `src`; `false`
            /// for URIs of no field of this type.
            pub(crate) fn copy_field(uri: &str, dst: &mut Self, src: &Self) -> bool {
                match uri {
                    $( $( $uri => dst.$field = src.$field.clone(), )? )*
                    _ => return false,
                }
                true
            }

            /// Pushes a Set (holding only that field, wrapped into an item by `wrap`) or a
            /// Delete for every writable field that differs between `old` and `new`, in
            /// schema order.
            pub(crate) fn diff_fields(
                old: &Self,
                new: &Self,
                wrap: &dyn Fn(Self) -> $crate::types::item::Item,
                out: &mut Vec<$crate::ops::ItemChangeDescription>,
            ) {
                $( $( $crate::types::fields::if_writable!($access
                    if old.$field != new.$field {
                        let path = $crate::types::paths::PropertyPath::field($uri);
                        if $crate::types::fields::FieldValue::is_unset(&new.$field) {
                            out.push($crate::ops::ItemChangeDescription::Delete { path });
                        } else {
                            let mut only = Self::default();
                            only.$field = new.$field.clone();
                            out.push($crate::ops::ItemChangeDescription::Set {
                                path,
                                item: wrap(only),
                            });
                        }
                    }
                ); )? )*
            }

            /// Sets, appends or deletes the writable field named by `uri`; `Ok(false)` for
            /// URIs of no writable field of this type.
            pub(crate) fn apply_field(
                uri: &str,
                dst: &mut Self,
                src: Option<&Self>,
                mode: $crate::types::fields::Mode,
            ) -> Result<bool, $crate::ops::ChangeError> {
                $( $( $crate::types::fields::if_writable!($access
                    if uri == $uri {
                        $crate::types::fields::FieldValue::apply(
                            &mut dst.$field,
                            src.map(|s| &s.$field),
                            mode,
                            uri,
                        )?;
                        return Ok(true);
                    }
                ); )? )*
                Ok(false)
            }
        }
    };
}
pub(crate) use item_fields;
