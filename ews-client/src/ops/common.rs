//! Helpers shared by the operation modules.

use crate::operation::Operation;
use crate::types::folder::Folder;
use crate::types::ids::BaseFolderId;
use crate::types::item::Item;
use crate::types::paths::PropertyPath;
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::types::shape::{IndexedPageView, PagingInfo};
use crate::xml::{Ns, Start, XmlError, XmlReader, XmlWriter};

/// Writes an array of folder ids (`m:FolderIds`, `m:ParentFolderIds`).
pub(crate) fn write_folder_ids(w: &mut XmlWriter, name: &str, ids: &[BaseFolderId]) {
    w.element(Ns::Messages, name, |w| {
        for id in ids {
            id.write(w);
        }
    });
}

/// Reads an array of folder ids, skipping other children.
pub(crate) fn read_folder_ids<'a>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
) -> Result<Vec<BaseFolderId>, XmlError> {
    let mut out = Vec::new();
    while let Some(c) = r.next_child(start)? {
        match BaseFolderId::try_read(r, &c)? {
            Some(id) => out.push(id),
            None => r.skip(&c)?,
        }
    }
    Ok(out)
}

/// The content of `GetFolder`, `CreateFolder` (and other folder-info) response messages:
/// `m:Folders`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FolderInfo {
    /// The folders (one per requested folder).
    pub folders: Vec<Folder>,
}

impl ResponseContent for FolderInfo {
    fn write_content(&self, w: &mut XmlWriter) {
        Folder::write_list(w, Ns::Messages, "Folders", &self.folders);
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if child.is(Ns::Messages, "Folders") {
            self.folders = Folder::read_list(r, child)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

/// The content of `GetItem`, `MoveItem`, `CreateItem` (and other item-info) response
/// messages: `m:Items`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemInfo {
    /// The items (one per requested item).
    pub items: Vec<Item>,
}

impl ResponseContent for ItemInfo {
    fn write_content(&self, w: &mut XmlWriter) {
        write_items(w, Ns::Messages, "Items", &self.items);
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if child.is(Ns::Messages, "Items") {
            self.items = Item::read_list(r, child)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

/// Writes an items array element (`m:Items`, `t:Items`).
pub(crate) fn write_items(w: &mut XmlWriter, ns: Ns, name: &str, items: &[Item]) {
    w.element(ns, name, |w| {
        for item in items {
            item.write(w);
        }
    });
}

/// Writes the content shared by the Sync* response messages: `m:SyncState`, the "includes
/// last" flag named `last_name` (`IncludesLastItemInRange`, `IncludesLastFolderInRange`) and
/// `m:Changes`, one element per change written by `write`.
pub(crate) fn write_sync_content<C>(
    w: &mut XmlWriter,
    sync_state: Option<&String>,
    last_name: &str,
    includes_last: Option<&bool>,
    changes: &[C],
    write: impl Fn(&mut XmlWriter, &C),
) {
    w.opt_value(Ns::Messages, "SyncState", sync_state);
    w.opt_value(Ns::Messages, last_name, includes_last);
    w.element(Ns::Messages, "Changes", |w| {
        for change in changes {
            write(w, change);
        }
    });
}

/// Reads a child of a Sync* response message written by [`write_sync_content`]: the sync
/// state, the "includes last" flag named `last_name`, or `m:Changes`, whose `t:` children
/// `read` turns into changes (`None`: the element is skipped). `Ok(false)` for other
/// elements.
pub(crate) fn read_sync_child<'a, C>(
    r: &mut XmlReader<'a>,
    child: &Start<'a>,
    last_name: &str,
    sync_state: &mut Option<String>,
    includes_last: &mut Option<bool>,
    changes: &mut Vec<C>,
    mut read: impl FnMut(&mut XmlReader<'a>, &Start<'a>) -> Result<Option<C>, XmlError>,
) -> Result<bool, XmlError> {
    if child.ns() != Ns::Messages {
        return Ok(false);
    }
    match child.local() {
        "SyncState" => *sync_state = Some(r.text(child)?.trim().to_owned()),
        name if name == last_name => *includes_last = Some(r.value(child)?),
        "Changes" => {
            while let Some(c) = r.next_child(child)? {
                let change = if c.ns() == Ns::Types {
                    read(r, &c)?
                } else {
                    None
                };
                match change {
                    Some(change) => changes.push(change),
                    None => r.skip(&c)?,
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Reads the content of a `t:Create` or `t:Update`: the (last) child that `try_read`
/// accepts, other children skipped.
pub(crate) fn read_changed<'a, T>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
    try_read: fn(&mut XmlReader<'a>, &Start<'a>) -> Result<Option<T>, XmlError>,
) -> Result<Option<T>, XmlError> {
    let mut found = None;
    while let Some(c) = r.next_child(start)? {
        match try_read(r, &c)? {
            Some(x) => found = Some(x),
            None => r.skip(&c)?,
        }
    }
    Ok(found)
}

/// An operation whose results come in pages, all followed by one paging loop (the client's
/// `pages`): `FindItem` and `FindFolder` (offsets of an indexed view), `SyncFolderItems`
/// and `SyncFolderHierarchy` (sync states). Each page is checked by a
/// [`StreamGuard`](crate::transport::StreamGuard): a cursor or a page seen twice, or too many
/// pages, items or time, end the stream.
pub(crate) trait Paged:
    Operation<Response = ResponseMessages<Self::Page>> + Clone + Send + Sync + 'static
{
    /// The content of one response message.
    type Page: ResponseContent + Send + 'static;

    /// A cursor the first request already carries (a sync state), remembered so that a
    /// server answering with it again is caught.
    fn first_cursor(&self) -> Option<&[u8]> {
        None
    }

    /// The request for the page after `page`, with its cursor (bytes that must not repeat);
    /// `Ok(None)` after the last page; `Err(what)` when the server announces more without a
    /// way to get it (a paging offset that does not advance, no sync state).
    fn next_page(&self, page: &Self::Page) -> Result<Option<(Self, Vec<u8>)>, &'static str>;

    /// How many entries (items, folders, changes) `page` holds.
    fn entries(page: &Self::Page) -> usize;

    /// A fingerprint of the page's entries, to catch a page sent twice; `None` without ids.
    fn fingerprint(_page: &Self::Page) -> Option<u64> {
        None
    }
}

/// The offset of the page after the indexed page `view` that held `count` entries: the
/// server's `IndexedPagingOffset`, else `view.offset + count`. `Ok(None)` after the last
/// page or an empty page; an error when the offset does not advance.
pub(crate) fn next_offset(
    view: &IndexedPageView,
    paging: &PagingInfo,
    count: usize,
) -> Result<Option<u32>, &'static str> {
    if paging.includes_last_item_in_range != Some(false) || count == 0 {
        return Ok(None);
    }
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let offset = paging
        .indexed_paging_offset
        .unwrap_or(view.offset.saturating_add(count));
    if offset <= view.offset {
        return Err("the paging offset");
    }
    Ok(Some(offset))
}

/// The next request of a sync (`SyncFolderItems`, `SyncFolderHierarchy`) after a batch:
/// `None` once the batch includes the last change (`includes_last` not `Some(false)`),
/// else `op` with the batch's sync state, which is also the cursor; an error when the
/// server announces more changes without a sync state.
pub(crate) fn next_sync<O: Clone>(
    op: &O,
    includes_last: Option<bool>,
    sync_state: Option<&String>,
    set_state: fn(&mut O, String),
) -> Result<Option<(O, Vec<u8>)>, &'static str> {
    if includes_last != Some(false) {
        return Ok(None);
    }
    let state = sync_state.ok_or("\"more changes\" without a sync state")?;
    let mut next = op.clone();
    set_state(&mut next, state.clone());
    Ok(Some((next, state.as_bytes().to_vec())))
}

/// The shared parts of a sync operation `$op` (with its `sync_state`) and its batch `$batch`
/// (`sync_state`, `changes` and the "includes last" flag `$last`, element `$last_name`):
/// the batch's [`ResponseContent`] (each change written by `$write`, read by `$read`) and
/// [`Paged`] (batches follow the sync state until the last change is included).
macro_rules! sync_operation {
    ($op:ty, $batch:ty, $last:ident = $last_name:literal, $write:path, $read:path) => {
        impl $crate::types::response::ResponseContent for $batch {
            fn write_content(&self, w: &mut $crate::xml::XmlWriter) {
                $crate::ops::common::write_sync_content(
                    w,
                    self.sync_state.as_ref(),
                    $last_name,
                    self.$last.as_ref(),
                    &self.changes,
                    $write,
                );
            }

            fn read_child<'a>(
                &mut self,
                r: &mut $crate::xml::XmlReader<'a>,
                child: &$crate::xml::Start<'a>,
            ) -> Result<bool, $crate::xml::XmlError> {
                $crate::ops::common::read_sync_child(
                    r,
                    child,
                    $last_name,
                    &mut self.sync_state,
                    &mut self.$last,
                    &mut self.changes,
                    $read,
                )
            }
        }

        impl $crate::ops::common::Paged for $op {
            type Page = $batch;

            fn first_cursor(&self) -> Option<&[u8]> {
                self.sync_state.as_deref().map(str::as_bytes)
            }

            fn next_page(&self, page: &$batch) -> Result<Option<(Self, Vec<u8>)>, &'static str> {
                $crate::ops::common::next_sync(
                    self,
                    page.$last,
                    page.sync_state.as_ref(),
                    |op, state| op.sync_state = Some(state),
                )
            }

            fn entries(page: &$batch) -> usize {
                page.changes.len()
            }
        }
    };
}
pub(crate) use sync_operation;

/// Writes the `m:RootFolder` of a `FindItem`/`FindFolder` response: the paging attributes,
/// then `list`.
pub(crate) fn write_root_folder(
    w: &mut XmlWriter,
    paging: &PagingInfo,
    list: impl FnOnce(&mut XmlWriter),
) {
    paging
        .write_attrs(w.start(Ns::Messages, "RootFolder"))
        .children(list);
}

/// Reads the `m:RootFolder` of a `FindItem`/`FindFolder` response: its paging attributes and
/// the `t:{list}` element read by `read` (empty when missing; other children skipped).
/// `Ok(None)` (element left unread) if `child` is not `m:RootFolder`.
pub(crate) fn read_root_folder<'a, T>(
    r: &mut XmlReader<'a>,
    child: &Start<'a>,
    list: &str,
    read: fn(&mut XmlReader<'a>, &Start<'a>) -> Result<Vec<T>, XmlError>,
) -> Result<Option<(PagingInfo, Vec<T>)>, XmlError> {
    if !child.is(Ns::Messages, "RootFolder") {
        return Ok(None);
    }
    let paging = PagingInfo::read_attrs(r, child)?;
    let mut entries = Vec::new();
    while let Some(c) = r.next_child(child)? {
        if c.is(Ns::Types, list) {
            entries = read(r, &c)?;
        } else {
            r.skip(&c)?;
        }
    }
    Ok(Some((paging, entries)))
}

/// One change of one property, whatever holds the value (an item, a folder): the shape
/// shared by `t:SetItemField`/`t:AppendToItemField`/`t:DeleteItemField` and their folder
/// counterparts.
pub(crate) enum FieldChange<V> {
    /// Set the property to the value held by `V`.
    Set(PropertyPath, V),
    /// Append the value held by `V`.
    Append(PropertyPath, V),
    /// Delete the property.
    Delete(PropertyPath),
}

/// The element names of the property changes of one kind of object.
pub(crate) struct FieldChangeNames {
    /// `SetItemField`, `SetFolderField`.
    pub set: &'static str,
    /// `AppendToItemField`, `AppendToFolderField`.
    pub append: &'static str,
    /// `DeleteItemField`, `DeleteFolderField`.
    pub delete: &'static str,
    /// What a set or append must hold, as named in a missing-element error.
    pub value: &'static str,
}

impl FieldChangeNames {
    /// Writes one change: the element (`set`, `append` or `delete` as `value` is set and
    /// `append` says) holding the path and, for set and append, the value.
    pub(crate) fn write<V>(
        &self,
        w: &mut XmlWriter,
        path: &PropertyPath,
        value: Option<&V>,
        append: bool,
        write_value: fn(&V, &mut XmlWriter),
    ) {
        let element = match (value, append) {
            (None, _) => self.delete,
            (Some(_), false) => self.set,
            (Some(_), true) => self.append,
        };
        w.element(Ns::Types, element, |w| {
            path.write(w);
            if let Some(v) = value {
                write_value(v, w);
            }
        });
    }

    /// Reads one change; `None` (element left unread) if `start` is none of the three
    /// elements. Set and append require a value that `try_value` accepts.
    pub(crate) fn try_read<'a, V>(
        &self,
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
        try_value: fn(&mut XmlReader<'a>, &Start<'a>) -> Result<Option<V>, XmlError>,
    ) -> Result<Option<FieldChange<V>>, XmlError> {
        if start.ns() != Ns::Types {
            return Ok(None);
        }
        let local = start.local();
        let (set, append) = (local == self.set, local == self.append);
        if !set && !append && local != self.delete {
            return Ok(None);
        }
        let mut path = None;
        let mut value = None;
        while let Some(c) = r.next_child(start)? {
            if let Some(p) = PropertyPath::try_read(r, &c)? {
                path = Some(p);
            } else if let Some(v) = try_value(r, &c)? {
                value = Some(v);
            } else {
                r.skip(&c)?;
            }
        }
        let path = r.required(start, path, "FieldURI")?;
        Ok(Some(if set {
            FieldChange::Set(path, r.required(start, value, self.value)?)
        } else if append {
            FieldChange::Append(path, r.required(start, value, self.value)?)
        } else {
            FieldChange::Delete(path)
        }))
    }
}

/// Writes a `t:ItemChange` or `t:FolderChange`: the id, then `t:Updates`.
pub(crate) fn write_object_change<D>(
    w: &mut XmlWriter,
    ns: Ns,
    name: &str,
    write_id: impl FnOnce(&mut XmlWriter),
    updates: &[D],
    write_update: fn(&D, &mut XmlWriter),
) {
    w.element(ns, name, |w| {
        write_id(w);
        w.element(Ns::Types, "Updates", |w| {
            for u in updates {
                write_update(u, w);
            }
        });
    });
}

/// Reads a `t:ItemChange` or `t:FolderChange`: the id `try_id` accepts (named `id_name` when
/// missing) and the `t:Updates` that `try_update` accepts.
pub(crate) fn read_object_change<'a, I, D>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
    id_name: &str,
    try_id: fn(&mut XmlReader<'a>, &Start<'a>) -> Result<Option<I>, XmlError>,
    try_update: fn(&mut XmlReader<'a>, &Start<'a>) -> Result<Option<D>, XmlError>,
) -> Result<(I, Vec<D>), XmlError> {
    let mut id = None;
    let mut updates = None;
    while let Some(c) = r.next_child(start)? {
        if let Some(found) = try_id(r, &c)? {
            id = Some(found);
        } else if c.is(Ns::Types, "Updates") {
            let mut list = Vec::new();
            while let Some(u) = r.next_child(&c)? {
                match try_update(r, &u)? {
                    Some(d) => list.push(d),
                    None => r.skip(&u)?,
                }
            }
            updates = Some(list);
        } else {
            r.skip(&c)?;
        }
    }
    Ok((
        r.required(start, id, id_name)?,
        r.required(start, updates, "Updates")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paging(offset: Option<u32>, last: Option<bool>) -> PagingInfo {
        PagingInfo {
            indexed_paging_offset: offset,
            includes_last_item_in_range: last,
            total_items_in_view: None,
        }
    }

    #[test]
    fn next_offset_follows_the_server_and_refuses_to_stand_still() {
        let view = IndexedPageView::new(10, 20);
        // (server offset, includes last, entries in the page) -> next offset
        type Case = (
            Option<u32>,
            Option<bool>,
            usize,
            Result<Option<u32>, &'static str>,
        );
        let cases: [Case; 7] = [
            (Some(30), Some(false), 10, Ok(Some(30))),
            (None, Some(false), 10, Ok(Some(30))),
            (Some(25), Some(false), 10, Ok(Some(25))),
            (Some(30), Some(true), 10, Ok(None)),
            (Some(30), None, 10, Ok(None)),
            (Some(30), Some(false), 0, Ok(None)),
            (Some(20), Some(false), 10, Err("the paging offset")),
        ];
        for (offset, last, count, expected) in cases {
            assert_eq!(
                next_offset(&view, &paging(offset, last), count),
                expected,
                "offset {offset:?}, last {last:?}, {count} entries"
            );
        }
        let end = IndexedPageView::new(10, u32::MAX);
        assert_eq!(
            next_offset(&end, &paging(None, Some(false)), 10),
            Err("the paging offset")
        );
    }

    #[test]
    fn next_sync_follows_the_sync_state() {
        #[derive(Clone, Debug, PartialEq)]
        struct Op(Option<String>);
        let set = |op: &mut Op, state: String| op.0 = Some(state);
        let op = Op(Some("s1".into()));
        let s2 = "s2".to_owned();
        assert_eq!(
            next_sync(&op, Some(false), Some(&s2), set),
            Ok(Some((Op(Some("s2".into())), b"s2".to_vec())))
        );
        assert_eq!(next_sync(&op, Some(true), Some(&s2), set), Ok(None));
        assert_eq!(next_sync(&op, None, Some(&s2), set), Ok(None));
        assert_eq!(
            next_sync(&op, Some(false), None, set),
            Err("\"more changes\" without a sync state")
        );
    }
}
