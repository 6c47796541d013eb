//! EWS operations, one module each: a typed request implementing
//! [`Operation`](crate::operation::Operation) and its response content.
//!
//! Every request and response type is both written and read, so `ews-mock` parses requests
//! and writes responses with the same definitions ([`AnyRequest`] dispatches on the
//! operation name).

mod common;

pub mod create_folder;
pub mod find_folder;
pub mod get_folder;
pub mod sync_folder_hierarchy;

pub use common::FolderInfo;
pub use create_folder::CreateFolder;
pub use find_folder::{FindFolder, FindFolderResult, FolderTraversal};
pub use get_folder::GetFolder;
pub use sync_folder_hierarchy::{FolderChange, SyncFolderHierarchy, SyncFolderHierarchyResult};
