//! EWS operations, dispatched by the operation element of the SOAP body. Requests are read and
//! responses written with `ews-client`'s operation types; the store does the work.

use chrono::{DateTime, Utc};

use axum::http::StatusCode;
use ews_client::envelope::{self, ServerVersionInfo, SoapFault};
use ews_client::operation::Operation;
use ews_client::ops::{
    AttachmentInfo, CreateAttachment, CreateItem, GetAttachment, MessageDisposition, SendItem,
    UpdateItem, UpdateItemResult,
};
use ews_client::ops::{
    ConvertId, ExpandDL, GetServerTimeZones, GetUserAvailability, GetUserConfiguration,
    GetUserOofSettings, GetUserPhoto,
};
use ews_client::ops::{
    CreateFolder, DeleteItem, FindFolder, FindFolderResult, FindItem, FindItemResult, FolderChange,
    FolderInfo, FolderTraversal, GetFolder, GetItem, ItemInfo, ItemView, MoveItem, Resolution,
    ResolutionSet, ResolveNames, SyncFolderHierarchy, SyncFolderHierarchyResult, SyncFolderItems,
    SyncFolderItemsResult, SyncItemChange,
};
use ews_client::ops::{DeleteFolder, DisposalType, FolderChangeDescription, UpdateFolder};
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::folder::{Folder as EwsFolder, FolderKind};
use ews_client::types::response::{
    MessageXml, MessageXmlValue, ResponseCode, ResponseMessage, ResponseMessages,
};
use ews_client::types::shape::{BaseShape, IndexBasePoint, PagingInfo};
use ews_client::types::{BaseFolderId, EmailAddress, FolderId, ItemId, PropertyPath};

use crate::ids::{self, IdKind, SyncKind, SyncPosition};
use crate::info_ops;
use crate::props;
use crate::server::Shared;
use crate::soap::RequestHead;
use crate::store::{ChangeKind, EwsItem, Mailbox, Store, StoreError, StoredItem};

/// The mailbox a request acts on.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// The mailbox owner's configured address.
    pub mailbox: String,
    /// The account that impersonates the owner, if any.
    pub impersonating: Option<String>,
}

/// An answer to an EWS request.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: String,
    /// The response code of the first response message (or of the fault).
    pub code: Option<String>,
}

pub(crate) fn server_version() -> ServerVersionInfo {
    ServerVersionInfo {
        major_version: Some(15),
        minor_version: Some(20),
        major_build_number: Some(0),
        minor_build_number: Some(0),
        version: Some("V2018_01_08".to_string()),
    }
}

fn back_off_xml(back_off_ms: Option<u64>) -> MessageXml {
    MessageXml(
        back_off_ms
            .map(|ms| {
                vec![MessageXmlValue::named(
                    "BackOffMilliseconds",
                    ms.to_string(),
                )]
            })
            .unwrap_or_default(),
    )
}

impl Reply {
    /// A SOAP fault with HTTP 500.
    pub fn fault(code: &str, message: &str, back_off_ms: Option<u64>) -> Reply {
        let mut fault = SoapFault::for_code(ResponseCode::parse(code), message);
        fault.message_xml = back_off_xml(back_off_ms);
        Reply {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: String::from_utf8_lossy(&envelope::write_fault(Some(&server_version()), &fault))
                .into_owned(),
            code: Some(code.to_string()),
        }
    }

    /// HTTP 200 with one error response message for `operation`.
    pub fn error_message(
        operation: &str,
        code: &str,
        message: &str,
        back_off_ms: Option<u64>,
    ) -> Reply {
        let mut msg = ResponseMessage::<()>::error(ResponseCode::parse(code), message);
        msg.status.message_xml = back_off_xml(back_off_ms);
        let body = envelope::write_response(
            Some(&server_version()),
            &format!("{operation}Response"),
            &ResponseMessages::new(vec![msg]),
        );
        Reply {
            status: StatusCode::OK,
            body: String::from_utf8_lossy(&body).into_owned(),
            code: Some(code.to_string()),
        }
    }

    fn ok<O: Operation>(response: &O::Response) -> Reply {
        use ews_client::operation::OperationResponse as _;
        let code = response
            .statuses()
            .first()
            .map(|s| s.code.as_str().to_string());
        let body = envelope::write_operation_response::<O>(Some(&server_version()), response);
        Reply {
            status: StatusCode::OK,
            body: String::from_utf8_lossy(&body).into_owned(),
            code,
        }
    }
}

fn err<T: Default>(e: StoreError) -> ResponseMessage<T> {
    ResponseMessage::error(ResponseCode::parse(e.response_code()), e.to_string())
}

fn run<O: Operation>(
    shared: &Shared,
    target: &Target,
    body: &[u8],
    handler: impl FnOnce(&Shared, &Target, O) -> O::Response,
) -> Reply {
    match envelope::read_request::<O>(body) {
        Ok((_, request)) => Reply::ok::<O>(&handler(shared, target, request)),
        Err(e) => Reply::fault(
            "ErrorSchemaValidation",
            &format!("The request failed schema validation: {e}"),
            None,
        ),
    }
}

/// Runs one operation.
pub(crate) fn dispatch(shared: &Shared, head: &RequestHead, target: &Target, body: &[u8]) -> Reply {
    match head.operation.as_str() {
        "GetFolder" => run::<GetFolder>(shared, target, body, get_folder),
        "FindFolder" => run::<FindFolder>(shared, target, body, find_folder),
        "CreateFolder" => run::<CreateFolder>(shared, target, body, create_folder),
        "UpdateFolder" => run::<UpdateFolder>(shared, target, body, update_folder),
        "DeleteFolder" => run::<DeleteFolder>(shared, target, body, delete_folder),
        "SyncFolderHierarchy" => run::<SyncFolderHierarchy>(shared, target, body, sync_hierarchy),
        "GetItem" => run::<GetItem>(shared, target, body, get_item),
        "FindItem" => run::<FindItem>(shared, target, body, find_item),
        "SyncFolderItems" => run::<SyncFolderItems>(shared, target, body, sync_items),
        "DeleteItem" => run::<DeleteItem>(shared, target, body, delete_item),
        "MoveItem" => run::<MoveItem>(shared, target, body, move_item),
        "ResolveNames" => run::<ResolveNames>(shared, target, body, resolve_names),
        "CreateItem" => run::<CreateItem>(shared, target, body, create_item),
        "UpdateItem" => run::<UpdateItem>(shared, target, body, update_item),
        "SendItem" => run::<SendItem>(shared, target, body, send_item),
        "CreateAttachment" => run::<CreateAttachment>(shared, target, body, create_attachment),
        "GetAttachment" => run::<GetAttachment>(shared, target, body, get_attachment),
        "ConvertId" => run::<ConvertId>(shared, target, body, info_ops::convert_id),
        "GetUserConfiguration" => {
            run::<GetUserConfiguration>(shared, target, body, info_ops::get_user_configuration)
        }
        "ExpandDL" => run::<ExpandDL>(shared, target, body, info_ops::expand_dl),
        "GetServerTimeZones" => {
            run::<GetServerTimeZones>(shared, target, body, info_ops::get_server_time_zones)
        }
        "GetUserOofSettingsRequest" => {
            run::<GetUserOofSettings>(shared, target, body, info_ops::get_user_oof_settings)
        }
        "GetUserPhoto" => run::<GetUserPhoto>(shared, target, body, info_ops::get_user_photo),
        "GetUserAvailabilityRequest" => {
            run::<GetUserAvailability>(shared, target, body, info_ops::get_user_availability)
        }
        "GetUserSettingsRequestMessage" => autodiscover(shared, body),
        other if declared_operation(other) => Reply::fault(
            "ErrorInvalidRequest",
            &format!("The operation {other} is not implemented by ews-mock."),
            None,
        ),
        // what Exchange answers for a body element its schema does not declare
        other => Reply::fault(
            "ErrorSchemaValidation",
            &format!(
                "The request failed schema validation: The 'http://schemas.microsoft.com/exchange/services/2006/messages:{other}' element is not declared."
            ),
            None,
        ),
    }
}

/// The EWS messages schema, for the names of the operations it declares.
const MESSAGES_XSD: &str = include_str!("../../ews-client/schema/messages.xsd");

/// Whether the EWS schema declares `name` as a request body element.
fn declared_operation(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && MESSAGES_XSD.contains(&format!("<xs:element name=\"{name}\" type=\"m:"))
}

// ---------------------------------------------------------------------------------------------
// ids and access

fn same_mailbox(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Resolves a folder id to (mailbox, folder key); only the target mailbox is accessible.
pub(crate) fn resolve_folder<'s>(
    store: &'s Store,
    target: &Target,
    id: &BaseFolderId,
) -> Result<(&'s Mailbox, u64), StoreError> {
    let (address, key) = match id {
        BaseFolderId::Distinguished(d) => (
            d.mailbox.clone().unwrap_or_else(|| target.mailbox.clone()),
            FolderRef::Name(d.name.as_str().to_string()),
        ),
        BaseFolderId::Id(FolderId { id, .. }) => {
            let decoded =
                ids::decode_id(IdKind::Folder, id).map_err(|_| StoreError::InvalidIdMalformed)?;
            (decoded.mailbox, FolderRef::Key(decoded.key))
        }
    };
    let mailbox = store
        .mailbox(&address)
        .ok_or(StoreError::NonExistentMailbox)?;
    if !same_mailbox(&mailbox.address, &target.mailbox) {
        return Err(StoreError::AccessDenied);
    }
    let folder = match key {
        FolderRef::Name(name) => mailbox.distinguished(&name),
        FolderRef::Key(k) => mailbox.folders.contains_key(&k).then_some(k),
    }
    .ok_or(StoreError::FolderNotFound)?;
    Ok((mailbox, folder))
}

enum FolderRef {
    Name(String),
    Key(u64),
}

/// A resolved item id: mailbox, item key, the change key given, and the occurrence index
/// when the id names one occurrence of a recurring series.
#[derive(Clone, Debug)]
struct ItemRef {
    address: String,
    key: u64,
    change_key: Option<String>,
    occurrence: Option<u32>,
}

fn resolve_item_ref(
    store: &Store,
    target: &Target,
    id: &BaseItemId,
) -> Result<ItemRef, StoreError> {
    let malformed = |_| StoreError::InvalidIdMalformed;
    let (decoded, change_key, occurrence) = match id {
        BaseItemId::Item(ItemId { id, change_key }) => match ids::decode_id(IdKind::Item, id) {
            Ok(d) => (d, change_key.clone(), None),
            Err(_) => {
                let d = ids::decode_id(IdKind::Occurrence, id).map_err(malformed)?;
                let index = u32::try_from(d.sub).map_err(|_| StoreError::InvalidIdMalformed)?;
                (d, change_key.clone(), Some(index))
            }
        },
        BaseItemId::Occurrence {
            recurring_master_id,
            change_key,
            instance_index,
        } => (
            ids::decode_id(IdKind::Item, recurring_master_id).map_err(malformed)?,
            change_key.clone(),
            Some(*instance_index),
        ),
        BaseItemId::RecurringMaster {
            occurrence_id,
            change_key,
        } => (
            ids::decode_id(IdKind::Occurrence, occurrence_id).map_err(malformed)?,
            change_key.clone(),
            None,
        ),
    };
    let mailbox = store
        .mailbox(&decoded.mailbox)
        .ok_or(StoreError::ItemNotFound)?;
    if !same_mailbox(&mailbox.address, &target.mailbox) {
        return Err(StoreError::AccessDenied);
    }
    let stored = mailbox
        .items
        .get(&decoded.key)
        .ok_or(StoreError::ItemNotFound)?;
    if let Some(index) = occurrence {
        let EwsItem::CalendarItem(master) = &stored.item else {
            return Err(StoreError::ItemNotFound);
        };
        let original = crate::recur::nth_original_start(master, index)
            .ok_or(StoreError::OccurrenceOutOfRange)?;
        if master.deleted_occurrences.contains(&original) {
            return Err(StoreError::OccurrenceDeleted);
        }
    }
    Ok(ItemRef {
        address: mailbox.address.clone(),
        key: decoded.key,
        change_key,
        occurrence,
    })
}

/// Resolves an id of a whole item (not an occurrence) to (mailbox address, item key, change
/// key given).
fn resolve_item(
    store: &Store,
    target: &Target,
    id: &BaseItemId,
) -> Result<(String, u64, Option<String>), StoreError> {
    let r = resolve_item_ref(store, target, id)?;
    if r.occurrence.is_some() {
        return Err(StoreError::ItemNotFound);
    }
    Ok((r.address, r.key, r.change_key))
}

/// One occurrence of a recurring master as a client sees it.
fn occurrence_view(
    mb: &Mailbox,
    stored: &StoredItem,
    index: u32,
    shape: &ews_client::types::shape::ItemShape,
) -> Option<EwsItem> {
    let EwsItem::CalendarItem(master) = &stored.item else {
        return None;
    };
    let original = crate::recur::nth_original_start(master, index)?;
    let duration = master.end? - master.start?;
    let modified = master
        .modified_occurrences
        .iter()
        .find(|m| m.original_start == original);
    let mut full_shape = shape.clone();
    full_shape.base_shape = BaseShape::AllProperties;
    // a modified occurrence has its own fields; the others are the master's
    let mut view = match stored
        .exceptions
        .iter()
        .find(|e| e.original_start == original)
    {
        Some(e) if modified.is_some() => e.item.clone(),
        _ => item_view(mb, stored, &full_shape),
    };
    if let EwsItem::CalendarItem(c) = &mut view {
        c.common.item_id = Some(ItemId {
            id: ids::encode_id(
                IdKind::Occurrence,
                &mb.id_address(),
                stored.key,
                u64::from(index),
            ),
            change_key: Some(ids::encode_change_key(stored.key, stored.version)),
        });
        c.start = Some(modified.map_or(original, |m| m.start));
        c.end = Some(modified.map_or(original + duration, |m| m.end));
        c.original_start = Some(original);
        c.recurrence_id = Some(original);
        c.calendar_item_type = Some(if modified.is_some() {
            ews_client::types::calendar::CalendarItemType::Exception
        } else {
            ews_client::types::calendar::CalendarItemType::Occurrence
        });
        c.is_recurring = Some(true);
        c.recurrence = None;
        c.first_occurrence = None;
        c.last_occurrence = None;
        c.modified_occurrences.clear();
        c.deleted_occurrences.clear();
    }
    if shape.base_shape == BaseShape::IdOnly {
        return Some(ews_client::ops::project(
            &view,
            &shape.additional_properties,
        ));
    }
    Some(view)
}

// ---------------------------------------------------------------------------------------------
// folders

fn folder_kind(class: &str) -> FolderKind {
    match class {
        c if c.starts_with("IPF.Appointment") => FolderKind::CalendarFolder,
        c if c.starts_with("IPF.Contact") => FolderKind::ContactsFolder,
        c if c.starts_with("IPF.Task") => FolderKind::TasksFolder,
        _ => FolderKind::Folder,
    }
}

/// A folder's display name as CreateFolder and UpdateFolder accept it: not empty.
fn folder_name(name: Option<&str>) -> Result<String, ResponseMessage<FolderInfo>> {
    match name {
        Some(n) if !n.trim().is_empty() => Ok(n.to_owned()),
        _ => Err(ResponseMessage::error(
            ResponseCode::parse("ErrorInvalidValueForProperty"),
            "A folder needs a display name.",
        )),
    }
}

/// The answer of CreateFolder and UpdateFolder: the folder's id and change key.
fn id_only_folder_info(mb: &Mailbox, key: u64) -> ResponseMessage<FolderInfo> {
    ResponseMessage::success(FolderInfo {
        folders: vec![folder_view(
            mb,
            key,
            &ews_client::types::shape::FolderShape::new(BaseShape::IdOnly),
        )],
    })
}

fn folder_view(mb: &Mailbox, key: u64, shape: &ews_client::types::shape::FolderShape) -> EwsFolder {
    let additional = &shape.additional_properties;
    let shape = shape.base_shape;
    let Some(f) = mb.folders.get(&key) else {
        return EwsFolder::default();
    };
    let id = FolderId {
        id: mb.folder_id(key),
        change_key: Some(ids::encode_change_key(key, f.version)),
    };
    let kind = folder_kind(&f.class);
    let mut out = EwsFolder {
        kind,
        folder_id: Some(id),
        ..EwsFolder::default()
    };
    let full = folder_view_all(mb, key, f, kind, out.clone());
    let wanted = |uri: &str| {
        additional
            .iter()
            .any(|p| matches!(p, PropertyPath::Field(u) if u == uri))
    };
    if shape == BaseShape::IdOnly {
        // IdOnly plus AdditionalProperties: exactly the requested folder properties
        if wanted("folder:DisplayName") {
            out.display_name = full.display_name;
        }
        if wanted("folder:TotalCount") {
            out.total_count = full.total_count;
        }
        if wanted("folder:ChildFolderCount") {
            out.child_folder_count = full.child_folder_count;
        }
        if wanted("folder:UnreadCount") {
            out.unread_count = full.unread_count;
        }
        if wanted("folder:FolderClass") {
            out.folder_class = full.folder_class;
        }
        if wanted("folder:ParentFolderId") {
            out.parent_folder_id = full.parent_folder_id;
        }
        out.extended_properties = folder_extended(mb, key, additional);
        return out;
    }
    let mut out = full;
    if shape == BaseShape::Default {
        if !wanted("folder:FolderClass") {
            out.folder_class = None;
        }
        if !wanted("folder:ParentFolderId") {
            out.parent_folder_id = None;
        }
    }
    out.extended_properties = folder_extended(mb, key, additional);
    out
}

/// The extended properties (standard and computed tags) a folder shape asks for.
fn folder_extended(
    mb: &Mailbox,
    key: u64,
    additional: &[PropertyPath],
) -> Vec<ews_client::types::paths::ExtendedProperty> {
    let wanted: Vec<&ews_client::types::paths::ExtendedFieldUri> = additional
        .iter()
        .filter_map(|p| match p {
            PropertyPath::Extended(uri) => Some(uri),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    props::folder_extended(mb, key, &wanted)
}

fn folder_view_all(
    mb: &Mailbox,
    key: u64,
    f: &crate::store::Folder,
    kind: FolderKind,
    mut out: EwsFolder,
) -> EwsFolder {
    let unread = f
        .items
        .iter()
        .filter_map(|k| mb.items.get(k))
        .filter(|i| crate::store::is_read(&i.item) == Some(false))
        .count();
    out.display_name = Some(f.name.clone());
    out.total_count = Some(i32::try_from(f.items.len()).unwrap_or(i32::MAX));
    out.child_folder_count = Some(
        i32::try_from(
            mb.folders
                .values()
                .filter(|c| c.parent == Some(key))
                .count(),
        )
        .unwrap_or(i32::MAX),
    );
    if matches!(kind, FolderKind::Folder | FolderKind::TasksFolder) {
        out.unread_count = Some(i32::try_from(unread).unwrap_or(i32::MAX));
    }
    {
        out.folder_class = Some(f.class.clone());
        out.parent_folder_id = f.parent.map(|p| FolderId {
            id: mb.folder_id(p),
            change_key: mb
                .folders
                .get(&p)
                .map(|pf| ids::encode_change_key(p, pf.version)),
        });
    }
    out
}

fn get_folder(shared: &Shared, target: &Target, req: GetFolder) -> ResponseMessages<FolderInfo> {
    let store = shared.read();
    let shape = &req.folder_shape;
    ResponseMessages::new(
        req.folder_ids
            .iter()
            .map(|id| match resolve_folder(&store, target, id) {
                Ok((mb, key)) => ResponseMessage::success(FolderInfo {
                    folders: vec![folder_view(mb, key, shape)],
                }),
                Err(e) => err(e),
            })
            .collect(),
    )
}

fn find_folder(
    shared: &Shared,
    target: &Target,
    req: FindFolder,
) -> ResponseMessages<FindFolderResult> {
    let store = shared.read();
    let shape = &req.folder_shape;
    ResponseMessages::new(
        req.parent_folder_ids
            .iter()
            .map(|id| match resolve_folder(&store, target, id) {
                Ok((mb, parent)) => {
                    let mut found = Vec::new();
                    let mut stack = vec![parent];
                    while let Some(p) = stack.pop() {
                        for f in mb.folders.values().filter(|f| f.parent == Some(p)) {
                            found.push(f.key);
                            if req.traversal == FolderTraversal::Deep {
                                stack.push(f.key);
                            }
                        }
                    }
                    found.sort_unstable();
                    if let Some(r) = &req.restriction {
                        found.retain(|&k| props::matches(r, &|p| props::folder_value(mb, k, p)));
                    }
                    let total = found.len();
                    let (offset, max) = req.page.as_ref().map_or((0, usize::MAX), |p| {
                        (
                            p.offset as usize,
                            p.max_entries_returned.map_or(usize::MAX, |m| m as usize),
                        )
                    });
                    let page: Vec<u64> = found.into_iter().skip(offset).take(max).collect();
                    let end = offset + page.len();
                    ResponseMessage::success(FindFolderResult {
                        paging: PagingInfo {
                            indexed_paging_offset: Some(u32::try_from(end).unwrap_or(u32::MAX)),
                            includes_last_item_in_range: Some(end >= total),
                            total_items_in_view: Some(u32::try_from(total).unwrap_or(u32::MAX)),
                        },
                        folders: page
                            .into_iter()
                            .map(|k| folder_view(mb, k, shape))
                            .collect(),
                    })
                }
                Err(e) => err(e),
            })
            .collect(),
    )
}

fn create_folder(
    shared: &Shared,
    target: &Target,
    req: CreateFolder,
) -> ResponseMessages<FolderInfo> {
    let mut store = shared.write();
    let parent = match resolve_folder(&store, target, &req.parent_folder_id) {
        Ok((mb, key)) => Ok((mb.address.clone(), key)),
        Err(e) => Err(e),
    };
    ResponseMessages::new(
        req.folders
            .iter()
            .map(|f| {
                let (address, parent) = parent.clone().map_err(err::<FolderInfo>)?;
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or_else(|| err(StoreError::NonExistentMailbox))?;
                let name = folder_name(f.display_name.as_deref())?;
                let class = f.folder_class.clone().or_else(|| match f.kind {
                    FolderKind::CalendarFolder => Some("IPF.Appointment".to_string()),
                    FolderKind::ContactsFolder => Some("IPF.Contact".to_string()),
                    FolderKind::TasksFolder => Some("IPF.Task".to_string()),
                    _ => None,
                });
                let key = mb
                    .create_folder(parent, &name, class.as_deref())
                    .map_err(err::<FolderInfo>)?;
                Ok(id_only_folder_info(mb, key))
            })
            .map(|r| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

fn update_folder(
    shared: &Shared,
    target: &Target,
    req: UpdateFolder,
) -> ResponseMessages<FolderInfo> {
    let mut store = shared.write();
    ResponseMessages::new(
        req.folder_changes
            .iter()
            .map(|change| {
                let (address, key) = resolve_folder(&store, target, &change.folder_id)
                    .map(|(mb, key)| (mb.address.clone(), key))
                    .map_err(err::<FolderInfo>)?;
                let mut name = None;
                let mut class = None;
                for update in &change.updates {
                    match (update, update.path()) {
                        (FolderChangeDescription::Set { folder, .. }, PropertyPath::Field(uri))
                            if uri == "folder:DisplayName" =>
                        {
                            name = Some(folder_name(folder.display_name.as_deref())?);
                        }
                        (FolderChangeDescription::Set { folder, .. }, PropertyPath::Field(uri))
                            if uri == "folder:FolderClass" =>
                        {
                            class = folder.folder_class.clone();
                        }
                        _ => {
                            return Err(ResponseMessage::error(
                                ResponseCode::parse("ErrorInvalidPropertyForOperation"),
                                "ews-mock updates only folder:DisplayName and folder:FolderClass.",
                            ));
                        }
                    }
                }
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or_else(|| err(StoreError::NonExistentMailbox))?;
                mb.update_folder(key, name.as_deref(), class.as_deref())
                    .map_err(err::<FolderInfo>)?;
                Ok(id_only_folder_info(mb, key))
            })
            .map(|r| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

fn delete_folder(shared: &Shared, target: &Target, req: DeleteFolder) -> ResponseMessages<()> {
    let mut store = shared.write();
    ResponseMessages::new(
        req.folder_ids
            .iter()
            .map(|id| {
                let (address, key) = resolve_folder(&store, target, id)
                    .map(|(mb, key)| (mb.address.clone(), key))?;
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or(StoreError::NonExistentMailbox)?;
                match req.delete_type {
                    DisposalType::MoveToDeletedItems => {
                        let bin = mb
                            .distinguished("deleteditems")
                            .ok_or(StoreError::FolderNotFound)?;
                        mb.move_folder(key, bin)
                    }
                    _ => mb.delete_folder(key),
                }
            })
            .map(|r| match r {
                Ok(()) => ResponseMessage::success(()),
                Err(e) => err(e),
            })
            .collect(),
    )
}

fn sync_hierarchy(
    shared: &Shared,
    target: &Target,
    req: SyncFolderHierarchy,
) -> ResponseMessages<SyncFolderHierarchyResult> {
    let store = shared.read();
    let root_id = req.sync_folder_id.clone().unwrap_or(BaseFolderId::from(
        ews_client::types::DistinguishedFolderName::MsgFolderRoot,
    ));
    let message = (|| {
        let (mb, root) = resolve_folder(&store, target, &root_id)?;
        let address = mb.id_address();
        let since = match req.sync_state.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(state) => ids::decode_sync_state(
                &store.sync_secret,
                SyncKind::Hierarchy,
                &address,
                root,
                state,
            )
            .map_err(|_| StoreError::InvalidSyncStateData)?,
            None => 0,
        };
        let page = mb.sync_hierarchy(root, since, usize::MAX)?;
        let shape = &req.folder_shape;
        let changes = page
            .changes
            .iter()
            .map(|c| match c.kind {
                ChangeKind::Delete => FolderChange::Delete(FolderId {
                    id: mb.folder_id(c.key),
                    change_key: None,
                }),
                ChangeKind::Create => FolderChange::Create(folder_view(mb, c.key, shape)),
                _ => FolderChange::Update(folder_view(mb, c.key, shape)),
            })
            .collect();
        Ok(SyncFolderHierarchyResult {
            sync_state: Some(ids::encode_sync_state(
                &store.sync_secret,
                SyncKind::Hierarchy,
                &address,
                root,
                page.seq,
            )),
            includes_last_folder_in_range: Some(page.includes_last),
            changes,
        })
    })();
    ResponseMessages::new(vec![match message {
        Ok(m) => ResponseMessage::success(m),
        Err(e) => err(e),
    }])
}

// ---------------------------------------------------------------------------------------------
// items

/// The item as a client sees it, for a shape.
fn item_view(
    mb: &Mailbox,
    stored: &StoredItem,
    shape: &ews_client::types::shape::ItemShape,
) -> EwsItem {
    let id = ItemId {
        id: mb.item_id(stored.key),
        change_key: Some(ids::encode_change_key(stored.key, stored.version)),
    };
    let extended_wanted: Vec<&ews_client::types::paths::ExtendedFieldUri> = shape
        .additional_properties
        .iter()
        .filter_map(|p| match p {
            PropertyPath::Extended(uri) => Some(uri),
            _ => None,
        })
        .collect();
    let mut out = {
        let mut full = stored.item.clone();
        let common = full.common_mut();
        // attachments are listed without content (GetAttachment returns content)
        for a in &mut common.attachments {
            let n = crate::store::attachment_number(a).unwrap_or(0);
            if let ews_client::types::Attachment::File(f) = a {
                f.content = None;
            }
            crate::store::attachment_common_mut(a).attachment_id =
                Some(ews_client::types::AttachmentId {
                    id: ids::encode_id(IdKind::Attachment, &mb.id_address(), stored.key, n),
                    root_item_id: None,
                    root_item_change_key: None,
                });
        }
        common.parent_folder_id = Some(FolderId {
            id: mb.folder_id(stored.folder),
            change_key: None,
        });
        common.date_time_created.get_or_insert(stored.created);
        common.last_modified_time = Some(stored.modified);
        common.has_attachments = Some(!common.attachments.is_empty());
        common.item_id = Some(id.clone());
        if shape
            .additional_properties
            .iter()
            .any(|p| matches!(p, PropertyPath::Field(f) if f == "item:Size"))
        {
            common.size = Some(i32::try_from(props::item_size(stored)).unwrap_or(i32::MAX));
        }
        let stored_mime = common.mime_content.take();
        let wants_mime = shape.include_mime_content == Some(true)
            || shape
                .additional_properties
                .iter()
                .any(|p| matches!(p, PropertyPath::Field(f) if f == "item:MimeContent"));
        // a message stored without MIME answers MIME built from its properties
        let mime = match (&full, wants_mime) {
            (_, false) => None,
            (EwsItem::Message(m), true) => stored_mime.or_else(|| crate::mime::render(m)),
            (_, true) => stored_mime,
        };
        if shape.base_shape == BaseShape::IdOnly {
            // IdOnly plus AdditionalProperties: the id and exactly the requested properties
            let mut view = ews_client::ops::project(&full, &shape.additional_properties);
            if wants_mime {
                view.common_mut().mime_content = mime;
            }
            view.common_mut().extended_properties = if extended_wanted.is_empty() {
                Vec::new()
            } else {
                props::item_extended(mb, stored, &extended_wanted)
            };
            return view;
        }
        // the MIME content only when the shape asks for it (IncludeMimeContent)
        if wants_mime {
            full.common_mut().mime_content = mime;
        }
        full
    };
    let common = out.common_mut();
    common.item_id = Some(id);
    common.extended_properties = if extended_wanted.is_empty() {
        Vec::new()
    } else {
        crate::props::item_extended(mb, stored, &extended_wanted)
    };
    out
}

fn get_item(shared: &Shared, target: &Target, req: GetItem) -> ResponseMessages<ItemInfo> {
    let store = shared.read();
    ResponseMessages::new(
        req.item_ids
            .iter()
            .map(|id| {
                let r = resolve_item_ref(&store, target, id).map_err(err::<ItemInfo>)?;
                let mb = store
                    .mailbox(&r.address)
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                let stored = mb
                    .items
                    .get(&r.key)
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                let item = match r.occurrence {
                    Some(index) => occurrence_view(mb, stored, index, &req.item_shape)
                        .ok_or_else(|| err(StoreError::OccurrenceOutOfRange))?,
                    None => item_view(mb, stored, &req.item_shape),
                };
                Ok(ResponseMessage::success(ItemInfo { items: vec![item] }))
            })
            .map(|r: Result<_, ResponseMessage<ItemInfo>>| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

fn sync_items(
    shared: &Shared,
    target: &Target,
    req: SyncFolderItems,
) -> ResponseMessages<SyncFolderItemsResult> {
    let store = shared.read();
    let message = (|| {
        let (mb, folder) = resolve_folder(&store, target, &req.sync_folder_id)?;
        let address = mb.id_address();
        let position = match req.sync_state.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(state) => ids::decode_sync_position(
                &store.sync_secret,
                SyncKind::Items,
                &address,
                folder,
                state,
            )
            .map_err(|_| StoreError::InvalidSyncStateData)?,
            // a first synchronisation lists the items that exist now, not the history
            None => SyncPosition::Initial {
                seq: mb.head_seq(),
                last_key: mb.last_key(),
                after_key: 0,
            },
        };
        let max = usize::from(req.max_changes_returned.clamp(1, 512));
        let since = match position {
            SyncPosition::Journal(since) => since,
            SyncPosition::Initial {
                seq,
                last_key,
                after_key,
            } => return initial_sync_page(&store, mb, folder, &req, seq, last_key, after_key, max),
        };
        let page = mb.sync_items(folder, since, max)?;
        let ignored: Vec<&str> = req.ignore.iter().map(|i| i.id.as_str()).collect();
        let mut changes = Vec::with_capacity(page.changes.len());
        for c in &page.changes {
            let id = mb.item_id(c.key);
            if ignored.contains(&id.as_str()) {
                continue;
            }
            let stored = mb.items.get(&c.key);
            changes.push(match (c.kind, stored) {
                (ChangeKind::Delete, _) | (_, None) => SyncItemChange::Delete(ItemId {
                    id,
                    change_key: None,
                }),
                (ChangeKind::Create, Some(s)) => {
                    SyncItemChange::Create(item_view(mb, s, &req.item_shape))
                }
                (ChangeKind::Update, Some(s)) => {
                    SyncItemChange::Update(item_view(mb, s, &req.item_shape))
                }
                (ChangeKind::ReadFlagChange, Some(s)) => SyncItemChange::ReadFlagChange {
                    item_id: ItemId {
                        id,
                        change_key: Some(ids::encode_change_key(s.key, s.version)),
                    },
                    is_read: crate::store::is_read(&s.item).unwrap_or(false),
                },
            });
        }
        Ok(SyncFolderItemsResult {
            sync_state: Some(ids::encode_sync_state(
                &store.sync_secret,
                SyncKind::Items,
                &address,
                folder,
                page.seq,
            )),
            includes_last_item_in_range: Some(page.includes_last),
            changes,
        })
    })();
    ResponseMessages::new(vec![match message {
        Ok(m) => ResponseMessage::success(m),
        Err(e) => err(e),
    }])
}

/// A page of a first synchronisation: the folder's items that existed when it started, by
/// counter, as `Create` changes; after the last one the state continues from the journal
/// position of the start (so later changes are reported, and nothing from before).
#[allow(clippy::too_many_arguments)]
fn initial_sync_page(
    store: &Store,
    mb: &Mailbox,
    folder: u64,
    req: &SyncFolderItems,
    seq: u64,
    last_key: u64,
    after_key: u64,
    max: usize,
) -> Result<SyncFolderItemsResult, StoreError> {
    let address = mb.id_address();
    let mut keys = mb.live_items(folder, after_key, last_key, max + 1)?;
    let more = keys.len() > max;
    keys.truncate(max);
    let ignored: Vec<&str> = req.ignore.iter().map(|i| i.id.as_str()).collect();
    let changes = keys
        .iter()
        .filter_map(|k| mb.items.get(k))
        .filter(|s| !ignored.contains(&mb.item_id(s.key).as_str()))
        .map(|s| SyncItemChange::Create(item_view(mb, s, &req.item_shape)))
        .collect();
    let (position, includes_last) = match keys.last() {
        Some(&last) if more => (
            SyncPosition::Initial {
                seq,
                last_key,
                after_key: last,
            },
            false,
        ),
        _ => {
            let journal_done = mb
                .folders
                .get(&folder)
                .and_then(|f| f.journal.last())
                .is_none_or(|e| e.seq <= seq);
            (SyncPosition::Journal(seq), journal_done)
        }
    };
    Ok(SyncFolderItemsResult {
        sync_state: Some(ids::encode_sync_position(
            &store.sync_secret,
            SyncKind::Items,
            &address,
            folder,
            position,
        )),
        includes_last_item_in_range: Some(includes_last),
        changes,
    })
}

fn find_item(shared: &Shared, target: &Target, req: FindItem) -> ResponseMessages<FindItemResult> {
    let store = shared.read();
    ResponseMessages::new(
        req.parent_folder_ids
            .iter()
            .map(|id| {
                let (mb, folder) = match resolve_folder(&store, target, id) {
                    Ok(x) => x,
                    Err(e) => return err(e),
                };
                let Some(f) = mb.folders.get(&folder) else {
                    return err(StoreError::FolderNotFound);
                };
                let mut found: Vec<&StoredItem> = f
                    .items
                    .iter()
                    .filter_map(|k| mb.items.get(k))
                    .filter(|i| {
                        req.restriction
                            .as_ref()
                            .is_none_or(|r| props::matches(r, &|p| props::item_value(mb, i, p)))
                    })
                    .collect();
                if let Some(ItemView::Calendar(view)) = &req.view {
                    // CalendarView: single items and expanded occurrences overlapping the
                    // window, by start time
                    let (start, end) = (view.start_date, view.end_date);
                    let mut entries: Vec<(DateTime<Utc>, EwsItem)> = Vec::new();
                    for stored in &found {
                        let EwsItem::CalendarItem(c) = &stored.item else {
                            continue;
                        };
                        if c.recurrence.is_some() {
                            for occ in crate::recur::occurrences(c, Some(start), end) {
                                if let Some(v) =
                                    occurrence_view(mb, stored, occ.index, &req.item_shape)
                                {
                                    entries.push((occ.start, v));
                                }
                            }
                        } else if c.start.is_some_and(|s| s < end)
                            && c.end.is_some_and(|e| e > start)
                        {
                            entries.push((
                                c.start.unwrap_or(start),
                                item_view(mb, stored, &req.item_shape),
                            ));
                        }
                    }
                    entries.sort_by_key(|(s, _)| *s);
                    let total = entries.len();
                    let max = view.max_entries_returned.map_or(usize::MAX, |m| m as usize);
                    let items: Vec<EwsItem> =
                        entries.into_iter().take(max).map(|(_, v)| v).collect();
                    let n = items.len();
                    return ResponseMessage::success(FindItemResult {
                        paging: PagingInfo {
                            indexed_paging_offset: None,
                            includes_last_item_in_range: Some(n >= total),
                            total_items_in_view: Some(u32::try_from(total).unwrap_or(u32::MAX)),
                        },
                        items,
                    });
                }
                if req.sort_order.is_empty() {
                    // Exchange's default order: newest first
                    found.sort_by(|a, b| b.created.cmp(&a.created).then(b.key.cmp(&a.key)));
                } else {
                    found.sort_by(|a, b| {
                        props::sort_cmp(&req.sort_order, a, b, &|i, p| props::item_value(mb, i, p))
                            .then(a.key.cmp(&b.key))
                    });
                }
                let total = found.len();
                let (offset, max) = match &req.view {
                    Some(ItemView::Indexed(p)) => {
                        let max = p.max_entries_returned.map_or(usize::MAX, |m| m as usize);
                        let offset = p.offset as usize;
                        if p.base_point == IndexBasePoint::End {
                            (total.saturating_sub(offset + max.min(total)), max)
                        } else {
                            (offset, max)
                        }
                    }
                    Some(ItemView::Calendar(v)) => {
                        (0, v.max_entries_returned.map_or(usize::MAX, |m| m as usize))
                    }
                    None => (0, usize::MAX),
                };
                let page: Vec<&StoredItem> = found.into_iter().skip(offset).take(max).collect();
                let end = offset + page.len();
                ResponseMessage::success(FindItemResult {
                    paging: PagingInfo {
                        indexed_paging_offset: Some(u32::try_from(end).unwrap_or(u32::MAX)),
                        includes_last_item_in_range: Some(end >= total),
                        total_items_in_view: Some(u32::try_from(total).unwrap_or(u32::MAX)),
                    },
                    items: page
                        .into_iter()
                        .map(|i| item_view(mb, i, &req.item_shape))
                        .collect(),
                })
            })
            .collect(),
    )
}

fn delete_item(shared: &Shared, target: &Target, req: DeleteItem) -> ResponseMessages<()> {
    use ews_client::ops::DisposalType;
    let mut store = shared.write();
    ResponseMessages::new(
        req.item_ids
            .iter()
            .map(|id| {
                let r = resolve_item_ref(&store, target, id).map_err(err::<()>)?;
                let (address, key) = (r.address, r.key);
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                if let Some(index) = r.occurrence {
                    // deleting one occurrence records it in the master
                    let original = match mb.items.get(&key).map(|s| &s.item) {
                        Some(EwsItem::CalendarItem(c)) => {
                            crate::recur::nth_original_start(c, index)
                        }
                        _ => None,
                    }
                    .ok_or_else(|| err(StoreError::OccurrenceOutOfRange))?;
                    mb.update_item(key, None, |i| {
                        if let EwsItem::CalendarItem(c) = i {
                            c.modified_occurrences
                                .retain(|m| m.original_start != original);
                            c.deleted_occurrences.push(original);
                        }
                    })
                    .map_err(err::<()>)?;
                    if let Some(s) = mb.items.get_mut(&key) {
                        s.exceptions.retain(|e| e.original_start != original);
                    }
                    return Ok(ResponseMessage::success(()));
                }
                let result = match req.delete_type {
                    DisposalType::MoveToDeletedItems => {
                        let dest = mb
                            .distinguished("deleteditems")
                            .ok_or_else(|| err(StoreError::FolderNotFound))?;
                        // the Graph (immutable) id stays the item's across the move
                        mb.move_item(key, dest)
                            .map(|new| shared.graph.record_move(&address, key, new))
                    }
                    _ => mb.delete_item(key).map(|_| ()),
                };
                result.map_err(err::<()>)?;
                Ok(ResponseMessage::success(()))
            })
            .map(|r: Result<_, ResponseMessage<()>>| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

fn move_item(shared: &Shared, target: &Target, req: MoveItem) -> ResponseMessages<ItemInfo> {
    let mut store = shared.write();
    let dest =
        resolve_folder(&store, target, &req.to_folder_id).map(|(mb, k)| (mb.address.clone(), k));
    ResponseMessages::new(
        req.item_ids
            .iter()
            .map(|id| {
                let (_, dest) = dest.clone().map_err(err::<ItemInfo>)?;
                let (address, key, _) =
                    resolve_item(&store, target, id).map_err(err::<ItemInfo>)?;
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                let new_key = mb.move_item(key, dest).map_err(err::<ItemInfo>)?;
                shared.graph.record_move(&address, key, new_key);
                let items = match (req.return_new_item_ids, mb.items.get(&new_key)) {
                    (Some(false), _) | (_, None) => Vec::new(),
                    (_, Some(stored)) => {
                        let mut view = stored.item.empty_like();
                        view.common_mut().item_id = Some(ItemId {
                            id: mb.item_id(new_key),
                            change_key: Some(ids::encode_change_key(new_key, stored.version)),
                        });
                        vec![view]
                    }
                };
                Ok(ResponseMessage::success(ItemInfo { items }))
            })
            .map(|r: Result<_, ResponseMessage<ItemInfo>>| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

fn resolve_names(
    shared: &Shared,
    _target: &Target,
    req: ResolveNames,
) -> ResponseMessages<ResolutionSet> {
    let store = shared.read();
    let needle = req
        .unresolved_entry
        .trim()
        .trim_start_matches("smtp:")
        .trim_start_matches("SMTP:")
        .to_lowercase();
    let mut resolutions: Vec<Resolution> = Vec::new();
    let mut push = |name: &str, address: &str, mailbox_type: &str| {
        resolutions.push(Resolution {
            mailbox: EmailAddress {
                name: Some(name.to_string()),
                email_address: Some(address.to_string()),
                routing_type: Some("SMTP".to_string()),
                mailbox_type: mailbox_type.parse().ok(),
                item_id: None,
                original_display_name: None,
            },
            contact: None,
        });
    };
    for u in store.users.values() {
        let local = u.address.split('@').next().unwrap_or("").to_lowercase();
        if u.address.to_lowercase() == needle
            || u.display_name.to_lowercase().starts_with(&needle)
            || local.starts_with(&needle)
        {
            push(&u.display_name, &u.address, "Mailbox");
        }
    }
    for g in store.groups.values() {
        if g.address.to_lowercase() == needle || g.display_name.to_lowercase().starts_with(&needle)
        {
            push(&g.display_name, &g.address, "PublicDL");
        }
    }
    let n = u32::try_from(resolutions.len()).unwrap_or(u32::MAX);
    let paging = PagingInfo {
        indexed_paging_offset: Some(n),
        includes_last_item_in_range: Some(true),
        total_items_in_view: Some(n),
    };
    let message = match resolutions.len() {
        0 => ResponseMessage::error(
            ResponseCode::parse("ErrorNameResolutionNoResults"),
            "No results were found.",
        ),
        1 => ResponseMessage::success(ResolutionSet {
            paging,
            resolutions,
        }),
        _ => {
            let mut m = ResponseMessage::success(ResolutionSet {
                paging,
                resolutions,
            });
            m.status = ews_client::types::response::ResponseStatus::warning(
                ResponseCode::parse("ErrorNameResolutionMultipleResults"),
                "Multiple results were found.",
            );
            m
        }
    };
    ResponseMessages::new(vec![message])
}

// ---------------------------------------------------------------------------------------------
// creating, changing and sending items

fn id_only_view(mb: &Mailbox, key: u64) -> Option<EwsItem> {
    let stored = mb.items.get(&key)?;
    let mut view = stored.item.empty_like();
    if let (EwsItem::Generic(g), EwsItem::Generic(src)) = (&mut view, &stored.item) {
        g.kind = src.kind;
    }
    view.common_mut().item_id = Some(ItemId {
        id: mb.item_id(key),
        change_key: Some(ids::encode_change_key(key, stored.version)),
    });
    Some(view)
}

fn default_folder(item: &EwsItem) -> ews_client::types::DistinguishedFolderName {
    use ews_client::types::DistinguishedFolderName as D;
    match item {
        EwsItem::Contact(_) => D::Contacts,
        EwsItem::CalendarItem(_) => D::Calendar,
        EwsItem::Task(_) => D::Tasks,
        _ => D::Drafts,
    }
}

fn create_item(shared: &Shared, target: &Target, req: CreateItem) -> ResponseMessages<ItemInfo> {
    let mut store = shared.write();
    let disposition = req
        .message_disposition
        .unwrap_or(MessageDisposition::SaveOnly);
    ResponseMessages::new(
        req.items
            .iter()
            .map(|item| {
                let is_message = matches!(item, EwsItem::Message(_));
                let sending = is_message && disposition != MessageDisposition::SaveOnly;
                let folder_id = match (&req.saved_item_folder_id, sending) {
                    (Some(f), _) => f.clone(),
                    (None, true) => {
                        BaseFolderId::from(ews_client::types::DistinguishedFolderName::SentItems)
                    }
                    (None, false) => BaseFolderId::from(default_folder(item)),
                };
                let mut item = item.clone();
                crate::mime::promote(&mut item);
                if sending {
                    store
                        .deliver(&target.mailbox, &item)
                        .map_err(err::<ItemInfo>)?;
                    if let EwsItem::Message(m) = &mut item {
                        m.is_read = Some(true);
                        m.common.is_draft = Some(false);
                        m.common.date_time_sent = Some(chrono::Utc::now());
                    }
                    if disposition == MessageDisposition::SendOnly {
                        return Ok(ResponseMessage::success(ItemInfo { items: Vec::new() }));
                    }
                } else if let EwsItem::Message(m) = &mut item {
                    m.common.is_draft.get_or_insert(true);
                }
                let (address, folder) = resolve_folder(&store, target, &folder_id)
                    .map(|(mb, k)| (mb.address.clone(), k))
                    .map_err(err::<ItemInfo>)?;
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or_else(|| err(StoreError::NonExistentMailbox))?;
                let key = mb.create_item(folder, item).map_err(err::<ItemInfo>)?;
                Ok(ResponseMessage::success(ItemInfo {
                    items: id_only_view(mb, key).into_iter().collect(),
                }))
            })
            .map(|r: Result<_, ResponseMessage<ItemInfo>>| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

fn update_item(
    shared: &Shared,
    target: &Target,
    req: UpdateItem,
) -> ResponseMessages<UpdateItemResult> {
    use ews_client::ops::ConflictResolution;
    let mut store = shared.write();
    ResponseMessages::new(
        req.item_changes
            .iter()
            .map(|change| {
                let fail = err::<UpdateItemResult>;
                let r = resolve_item_ref(&store, target, &change.item_id).map_err(fail)?;
                let (address, key, change_key) = (r.address, r.key, r.change_key);
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                if let Some(index) = r.occurrence {
                    return update_occurrence(
                        mb,
                        key,
                        index,
                        change,
                        change_key,
                        req.conflict_resolution,
                    );
                }
                let stored = mb
                    .items
                    .get(&key)
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                let current_ck = ids::encode_change_key(key, stored.version);
                let expected = match (&change_key, req.conflict_resolution) {
                    (_, ConflictResolution::AlwaysOverwrite) | (None, _) => None,
                    (Some(ck), _) if *ck == current_ck => Some(stored.version),
                    // a stale change key: the version can never match
                    (Some(_), _) => Some(u64::MAX),
                };
                let mut item = stored.item.clone();
                let updates = base_item_changes(&item, &change.updates);
                ews_client::ops::apply_changes(&mut item, &updates).map_err(|e| {
                    ResponseMessage::error(
                        e.response_code(),
                        format!("The change cannot be applied: {e}"),
                    )
                })?;
                // a new recurrence pattern (or series time) drops the series' exceptions
                let reshaped = match (&stored.item, &mut item) {
                    (EwsItem::CalendarItem(old), EwsItem::CalendarItem(new))
                        if old.recurrence.is_some()
                            && (old.recurrence != new.recurrence
                                || old.start != new.start
                                || old.start_time_zone != new.start_time_zone) =>
                    {
                        new.modified_occurrences.clear();
                        new.deleted_occurrences.clear();
                        true
                    }
                    _ => false,
                };
                mb.update_item(key, expected, |i| *i = item).map_err(fail)?;
                if reshaped && let Some(s) = mb.items.get_mut(&key) {
                    s.exceptions.clear();
                }
                let send = matches!(
                    req.message_disposition,
                    Some(MessageDisposition::SendOnly | MessageDisposition::SendAndSaveCopy)
                );
                let mut items: Vec<EwsItem> = id_only_view(mb, key).into_iter().collect();
                if send {
                    let message = mb
                        .items
                        .get(&key)
                        .map(|s| s.item.clone())
                        .ok_or_else(|| err(StoreError::ItemNotFound))?;
                    store.deliver(&target.mailbox, &message).map_err(fail)?;
                    let mb = store
                        .mailbox_mut(&address)
                        .ok_or_else(|| err(StoreError::ItemNotFound))?;
                    if req.message_disposition == Some(MessageDisposition::SendOnly) {
                        mb.delete_item(key).map_err(fail)?;
                    } else if let Some(sent) = mb.distinguished("sentitems") {
                        let new_key = mb.move_item(key, sent).map_err(fail)?;
                        shared.graph.record_move(&address, key, new_key);
                        mb.update_item(new_key, None, |i| {
                            crate::store::set_read(i, Some(true));
                            i.common_mut().is_draft = Some(false);
                        })
                        .map_err(fail)?;
                    }
                    items.clear();
                }
                Ok(ResponseMessage::success(UpdateItemResult {
                    items,
                    conflict_results: Some(0),
                }))
            })
            .map(|r: Result<_, ResponseMessage<UpdateItemResult>>| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

/// Exchange accepts a `SetItemField` or `AppendToItemField` whose value is wrapped in the
/// base `t:Item` element for a property every item has (`item:*` and extended properties),
/// whatever the item's kind: such a change is applied as if it named the item's own element.
/// A change naming a standard property by its MAPI tag changes the named field.
fn base_item_changes(
    target: &EwsItem,
    changes: &[ews_client::ops::ItemChangeDescription],
) -> Vec<ews_client::ops::ItemChangeDescription> {
    use ews_client::ops::ItemChangeDescription as C;
    use ews_client::types::item::GenericItemKind;
    let rewrap = |path: &PropertyPath, item: &EwsItem| -> Option<EwsItem> {
        let EwsItem::Generic(g) = item else {
            return None;
        };
        let base_property = match path {
            PropertyPath::Field(uri) => uri.starts_with("item:"),
            PropertyPath::Extended(_) => true,
            PropertyPath::Indexed { .. } => false,
        };
        if g.kind != GenericItemKind::Item
            || !base_property
            || item.element_name() == target.element_name()
        {
            return None;
        }
        let mut own = target.empty_like();
        *own.common_mut() = g.common.clone();
        Some(own)
    };
    changes
        .iter()
        .map(|c| {
            if let Some(by_field) = props::tag_change_as_field(target, c) {
                return by_field;
            }
            match c {
                C::Set { path, item } => C::Set {
                    path: path.clone(),
                    item: rewrap(path, item).unwrap_or_else(|| item.clone()),
                },
                C::Append { path, item } => C::Append {
                    path: path.clone(),
                    item: rewrap(path, item).unwrap_or_else(|| item.clone()),
                },
                other => other.clone(),
            }
        })
        .collect()
}

fn send_item(shared: &Shared, target: &Target, req: SendItem) -> ResponseMessages<()> {
    let mut store = shared.write();
    let saved_in = req
        .saved_item_folder_id
        .clone()
        .unwrap_or(BaseFolderId::from(
            ews_client::types::DistinguishedFolderName::SentItems,
        ));
    ResponseMessages::new(
        req.item_ids
            .iter()
            .map(|id| {
                let (address, key, _) = resolve_item(&store, target, id).map_err(err::<()>)?;
                let message = store
                    .mailbox(&address)
                    .and_then(|mb| mb.items.get(&key))
                    .map(|s| s.item.clone())
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                store
                    .deliver(&target.mailbox, &message)
                    .map_err(err::<()>)?;
                let dest = if req.save_item_to_folder {
                    Some(
                        resolve_folder(&store, target, &saved_in)
                            .map(|(_, k)| k)
                            .map_err(err::<()>)?,
                    )
                } else {
                    None
                };
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                match dest {
                    Some(dest) => {
                        let new_key = mb.move_item(key, dest).map_err(err::<()>)?;
                        shared.graph.record_move(&address, key, new_key);
                        mb.update_item(new_key, None, |i| {
                            crate::store::set_read(i, Some(true));
                            i.common_mut().is_draft = Some(false);
                            i.common_mut().date_time_sent = Some(chrono::Utc::now());
                        })
                        .map_err(err::<()>)?;
                    }
                    None => {
                        mb.delete_item(key).map_err(err::<()>)?;
                    }
                }
                Ok(ResponseMessage::success(()))
            })
            .map(|r: Result<_, ResponseMessage<()>>| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

fn attachment_view(
    mb: &Mailbox,
    key: u64,
    attachment: &ews_client::types::Attachment,
    with_content: bool,
) -> ews_client::types::Attachment {
    let mut a = attachment.clone();
    let n = crate::store::attachment_number(attachment).unwrap_or(0);
    let change_key = mb
        .items
        .get(&key)
        .map(|s| ids::encode_change_key(key, s.version));
    crate::store::attachment_common_mut(&mut a).attachment_id =
        Some(ews_client::types::AttachmentId {
            id: ids::encode_id(IdKind::Attachment, &mb.id_address(), key, n),
            root_item_id: Some(mb.item_id(key)),
            root_item_change_key: change_key,
        });
    if !with_content {
        match &mut a {
            ews_client::types::Attachment::File(f) => f.content = None,
            ews_client::types::Attachment::Item(i) => i.item = None,
        }
    }
    a
}

fn create_attachment(
    shared: &Shared,
    target: &Target,
    req: CreateAttachment,
) -> ResponseMessages<AttachmentInfo> {
    let mut store = shared.write();
    let parent = resolve_item(
        &store,
        target,
        &BaseItemId::Item(req.parent_item_id.clone()),
    );
    ResponseMessages::new(
        req.attachments
            .iter()
            .map(|a| {
                let (address, key, _) = parent.clone().map_err(err::<AttachmentInfo>)?;
                let mb = store
                    .mailbox_mut(&address)
                    .ok_or_else(|| err(StoreError::ItemNotFound))?;
                let n = mb
                    .add_attachment(key, a.clone())
                    .map_err(err::<AttachmentInfo>)?;
                let stored = mb
                    .items
                    .get(&key)
                    .and_then(|s| {
                        s.item
                            .common()
                            .attachments
                            .iter()
                            .find(|x| crate::store::attachment_number(x) == Some(n))
                    })
                    .ok_or_else(|| err(StoreError::AttachmentNotFound))?;
                Ok(ResponseMessage::success(AttachmentInfo {
                    attachments: vec![attachment_view(mb, key, stored, false)],
                }))
            })
            .map(|r: Result<_, ResponseMessage<AttachmentInfo>>| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

fn get_attachment(
    shared: &Shared,
    target: &Target,
    req: GetAttachment,
) -> ResponseMessages<AttachmentInfo> {
    let store = shared.read();
    ResponseMessages::new(
        req.attachment_ids
            .iter()
            .map(|id| {
                let decoded = ids::decode_id(IdKind::Attachment, &id.id)
                    .map_err(|_| err::<AttachmentInfo>(StoreError::InvalidIdMalformed))?;
                let mb = store
                    .mailbox(&decoded.mailbox)
                    .ok_or_else(|| err(StoreError::AttachmentNotFound))?;
                if !same_mailbox(&mb.address, &target.mailbox) {
                    return Err(err(StoreError::AccessDenied));
                }
                let a = mb
                    .items
                    .get(&decoded.key)
                    .and_then(|s| {
                        s.item
                            .common()
                            .attachments
                            .iter()
                            .find(|x| crate::store::attachment_number(x) == Some(decoded.sub))
                    })
                    .ok_or_else(|| err(StoreError::AttachmentNotFound))?;
                Ok(ResponseMessage::success(AttachmentInfo {
                    attachments: vec![attachment_view(mb, decoded.key, a, true)],
                }))
            })
            .map(|r: Result<_, ResponseMessage<AttachmentInfo>>| r.unwrap_or_else(|e| e))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// SOAP Autodiscover

fn autodiscover(shared: &Shared, body: &[u8]) -> Reply {
    use ews_client::ops::autodiscover::{
        self as ad, EXTERNAL_EWS_URL, GetUserSettingsResponse, INTERNAL_EWS_URL, UserResponse,
    };
    let req = match ad::read_request(body) {
        Ok(r) => r,
        Err(e) => {
            return Reply::fault(
                "ErrorSchemaValidation",
                &format!("The request failed schema validation: {e}"),
                None,
            );
        }
    };
    let store = shared.read();
    let ews_url = format!("{}/EWS/Exchange.asmx", shared.base_url);
    let users = req
        .mailboxes
        .iter()
        .map(|address| match store.user(address) {
            Some(user) => UserResponse {
                error_code: "NoError".to_string(),
                error_message: Some("No error.".to_string()),
                redirect_target: None,
                settings: req
                    .settings
                    .iter()
                    .filter_map(|name| {
                        let value = match name.as_str() {
                            n if n == EXTERNAL_EWS_URL || n == INTERNAL_EWS_URL => ews_url.clone(),
                            "UserDisplayName" => user.display_name.clone(),
                            "AutoDiscoverSMTPAddress" => user.address.clone(),
                            "CasVersion" | "EwsSupportedSchemas" => "Exchange2016".to_string(),
                            _ => return None,
                        };
                        Some((name.clone(), value))
                    })
                    .collect(),
            },
            None => UserResponse {
                error_code: "InvalidUser".to_string(),
                error_message: Some(format!("Invalid user: '{address}'")),
                redirect_target: None,
                settings: Vec::new(),
            },
        })
        .collect::<Vec<_>>();
    let code = users.first().map(|u| u.error_code.clone());
    let response = GetUserSettingsResponse {
        error_code: "NoError".to_string(),
        error_message: None,
        users,
    };
    Reply {
        status: StatusCode::OK,
        body: String::from_utf8_lossy(&ad::write_response(&response)).into_owned(),
        code,
    }
}

/// Updates one occurrence of a series: the changes are applied to the occurrence as a client
/// sees it, and its (possibly moved) times are recorded as a modified occurrence of the master.
fn update_occurrence(
    mb: &mut Mailbox,
    key: u64,
    index: u32,
    change: &ews_client::ops::ItemChange,
    change_key: Option<String>,
    conflict: ews_client::ops::ConflictResolution,
) -> Result<ResponseMessage<UpdateItemResult>, ResponseMessage<UpdateItemResult>> {
    let fail = err::<UpdateItemResult>;
    let stored = mb
        .items
        .get(&key)
        .ok_or_else(|| fail(StoreError::ItemNotFound))?;
    let current_ck = ids::encode_change_key(key, stored.version);
    let expected = match (&change_key, conflict) {
        (_, ews_client::ops::ConflictResolution::AlwaysOverwrite) | (None, _) => None,
        (Some(ck), _) if *ck == current_ck => Some(stored.version),
        (Some(_), _) => Some(u64::MAX),
    };
    let shape = ews_client::types::shape::ItemShape::all_properties();
    let mut view = occurrence_view(mb, stored, index, &shape)
        .ok_or_else(|| fail(StoreError::OccurrenceOutOfRange))?;
    ews_client::ops::apply_changes(&mut view, &change.updates).map_err(|e| {
        ResponseMessage::error(
            e.response_code(),
            format!("The change cannot be applied: {e}"),
        )
    })?;
    let EwsItem::CalendarItem(occ) = &view else {
        return Err(fail(StoreError::ItemNotFound));
    };
    let (Some(original), Some(start), Some(end)) = (occ.original_start, occ.start, occ.end) else {
        return Err(fail(StoreError::OccurrenceOutOfRange));
    };
    let occ_id = ids::encode_id(IdKind::Occurrence, &mb.id_address(), key, u64::from(index));
    mb.update_item(key, expected, |i| {
        if let EwsItem::CalendarItem(c) = i {
            c.modified_occurrences
                .retain(|m| m.original_start != original);
            c.modified_occurrences
                .push(ews_client::types::calendar::OccurrenceInfo {
                    item_id: ItemId::new(occ_id.clone()),
                    start,
                    end,
                    original_start: original,
                });
        }
    })
    .map_err(fail)?;
    let version = match mb.items.get_mut(&key) {
        Some(s) => {
            s.exceptions.retain(|e| e.original_start != original);
            s.exceptions.push(crate::store::OccurrenceException {
                original_start: original,
                item: view.clone(),
            });
            s.version
        }
        None => 0,
    };
    let mut result = view.empty_like();
    result.common_mut().item_id = Some(ItemId {
        id: occ_id,
        change_key: Some(ids::encode_change_key(key, version)),
    });
    Ok(ResponseMessage::success(UpdateItemResult {
        items: vec![result],
        conflict_results: Some(0),
    }))
}
