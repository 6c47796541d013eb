//! EWS operations, one module each: a typed request implementing
//! [`Operation`](crate::operation::Operation) and its response content.
//!
//! Every request and response type is both written and read, so `ews-mock` parses requests
//! and writes responses with the same definitions ([`AnyRequest`] dispatches on the
//! operation name).
//!
//! Each module links Microsoft's reference page of its operation; the list of all EWS
//! operations: [EWS operations in Exchange](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/ews-operations-in-exchange).

mod any;
mod common;

pub mod autodiscover;
pub mod convert_id;
pub mod create_attachment;
pub mod create_folder;
pub mod create_item;
pub mod delete_folder;
pub mod delete_item;
pub mod expand_dl;
pub mod find_folder;
pub mod find_item;
pub mod get_attachment;
pub mod get_folder;
pub mod get_item;
pub mod get_server_time_zones;
pub mod get_user_availability;
pub mod get_user_configuration;
pub mod get_user_oof_settings;
pub mod get_user_photo;
pub mod move_item;
pub mod resolve_names;
pub mod send_item;
pub mod sync_folder_hierarchy;
pub mod sync_folder_items;
pub mod update_folder;
pub mod update_item;

pub use any::AnyRequest;
pub(crate) use common::Paged;
pub use common::{FolderInfo, ItemInfo};
pub use convert_id::{AlternateId, ConvertId, ConvertIdResult, IdFormat};
pub use create_attachment::{AttachmentInfo, CreateAttachment};
pub use create_folder::CreateFolder;
pub use create_item::{
    CreateItem, MessageDisposition, SavedCopy, SendMeetingInvitations, creatable,
};
pub use delete_folder::DeleteFolder;
pub use delete_item::{
    AffectedTaskOccurrences, DeleteItem, DisposalType, SendMeetingCancellations,
};
pub use expand_dl::{DLExpansion, ExpandDL};
pub use find_folder::{FindFolder, FindFolderResult, FolderTraversal};
pub use find_item::{FindItem, FindItemResult, ItemTraversal, ItemView};
pub use get_attachment::{AttachmentShape, GetAttachment};
pub use get_folder::GetFolder;
pub use get_item::GetItem;
pub use get_server_time_zones::{GetServerTimeZones, TimeZoneDefinitions};
pub use get_user_availability::{
    CalendarEvent, FreeBusyResponse, FreeBusyView, FreeBusyViewOptions, GetUserAvailability,
    GetUserAvailabilityResponse, MailboxData, SerializableTimeZone, TimeZoneTransition,
};
pub use get_user_configuration::{
    GetUserConfiguration, UserConfiguration, UserConfigurationName, UserConfigurationObject,
};
pub use get_user_oof_settings::{
    ExternalAudience, GetUserOofSettings, GetUserOofSettingsResponse, OofState, UserOofSettings,
};
pub use get_user_photo::{GetUserPhoto, GetUserPhotoResponse, UserPhoto};
pub use move_item::MoveItem;
pub use resolve_names::{Resolution, ResolutionSet, ResolveNames, ResolveNamesSearchScope};
pub use send_item::SendItem;
pub use sync_folder_hierarchy::{FolderChange, SyncFolderHierarchy, SyncFolderHierarchyResult};
pub use sync_folder_items::{SyncFolderItems, SyncFolderItemsResult, SyncItemChange, SyncScope};
pub use update_folder::{FolderChangeDescription, UpdateFolder};
pub use update_item::{
    ChangeError, ConflictResolution, ItemChange, ItemChangeDescription,
    SendMeetingInvitationsOrCancellations, UpdateItem, UpdateItemResult, apply_changes, copy_field,
    field_change, item_changes, project, set_all_fields,
};
