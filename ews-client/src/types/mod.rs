//! EWS data types (the `types` namespace): ids, property paths, folders, items, shapes.
//!
//! One definition per schema element; each implements [`crate::xml::WriteXml`] and
//! [`crate::xml::ReadXml`] so that requests and responses can be both written and read.

pub mod base_item_id;
pub mod folder;
pub mod ids;
pub mod paths;
pub mod response;
pub mod shape;

pub use ids::{BaseFolderId, DistinguishedFolderId, DistinguishedFolderName, FolderId, ItemId};
pub use paths::{
    DistinguishedPropertySet, ExtendedFieldUri, ExtendedProperty, ExtendedValue, MapiPropertyType,
    PropertyPath,
};
