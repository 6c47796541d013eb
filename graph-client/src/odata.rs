//! OData plumbing: collection pages, delta rounds with `@removed`, list options.

use ews_client::transport::{StreamGuard, TransportError};
use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::{Mailbox, WriteOptions};
use crate::error::Error;

/// One page of a collection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    /// The entries.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// Link to the next page.
    #[serde(
        rename = "@odata.nextLink",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_link: Option<String>,
    /// Link for the next delta round (last page of a delta round only).
    #[serde(
        rename = "@odata.deltaLink",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub delta_link: Option<String>,
}

/// Why an entry of a delta round was removed (`@removed.reason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// `deleted` or `changed` (moved out of the folder, out of the window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One entry of a delta round.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    /// Created or changed (the current state).
    Upsert(T),
    /// Deleted, or no longer in the folder or window.
    Removed {
        /// The item's id.
        id: String,
        /// `@removed.reason`.
        reason: Option<String>,
    },
}

impl<T> Change<T> {
    /// The id of the entry.
    pub fn id(&self) -> Option<&str>
    where
        T: HasId,
    {
        match self {
            Self::Upsert(item) => item.id(),
            Self::Removed { id, .. } => Some(id),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Change<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if let Some(removed) = value.get("@removed") {
            let id = value
                .get("id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| serde::de::Error::custom("@removed entry without id"))?;
            let reason = removed
                .get("reason")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            return Ok(Self::Removed {
                id: id.to_owned(),
                reason,
            });
        }
        T::deserialize(value)
            .map(Self::Upsert)
            .map_err(serde::de::Error::custom)
    }
}

impl<T: Serialize> Serialize for Change<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Upsert(item) => item.serialize(serializer),
            Self::Removed { id, reason } => serde_json::json!({
                "id": id,
                "@removed": Removed { reason: reason.clone() },
            })
            .serialize(serializer),
        }
    }
}

/// Types with an `id`.
pub trait HasId {
    /// The id, if the server sent one.
    fn id(&self) -> Option<&str>;
}

/// The result of one delta round: the changes since the previous round (replays coalesced,
/// the last state of an id wins) and the link for the next round.
#[derive(Debug, Clone)]
pub struct DeltaRound<T> {
    /// The changes, in the order their ids first appeared.
    pub changes: Vec<Change<T>>,
    /// `@odata.deltaLink`: store it and pass it to the next round.
    pub delta_link: String,
    /// Pages read.
    pub pages: usize,
}

/// `$select`, `$filter`, `$top`, `$orderby`, `$expand` of a listing, and the page size.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Properties to return (`$select`).
    pub select: Vec<String>,
    /// OData filter (`$filter`).
    pub filter: Option<String>,
    /// Page size (`$top`).
    pub top: Option<u32>,
    /// Sort order (`$orderby`).
    pub order_by: Option<String>,
    /// Related data (`$expand`), e.g. from
    /// [`crate::extended::expand`].
    pub expand: Option<String>,
}

impl ListOptions {
    /// Sets `$select`.
    pub fn select(mut self, fields: &[&str]) -> Self {
        self.select = fields.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    /// Sets `$filter`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Sets `$top`.
    pub fn top(mut self, top: u32) -> Self {
        self.top = Some(top);
        self
    }

    /// Sets `$expand`.
    pub fn expand(mut self, expand: impl Into<String>) -> Self {
        self.expand = Some(expand.into());
        self
    }

    /// Sets `$orderby`.
    pub fn order_by(mut self, order: impl Into<String>) -> Self {
        self.order_by = Some(order.into());
        self
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.select.is_empty() {
            q.push(("$select", self.select.join(",")));
        }
        if let Some(f) = &self.filter {
            q.push(("$filter", f.clone()));
        }
        if let Some(t) = self.top {
            q.push(("$top", t.to_string()));
        }
        if let Some(o) = &self.order_by {
            q.push(("$orderby", o.clone()));
        }
        if let Some(e) = &self.expand {
            q.push(("$expand", e.clone()));
        }
        q
    }
}

/// Where a delta round starts.
#[derive(Debug, Clone)]
pub enum DeltaStart<'a> {
    /// A full initial round.
    Initial,
    /// The `@odata.deltaLink` of the previous round.
    Link(&'a str),
}

impl<'a> From<Option<&'a str>> for DeltaStart<'a> {
    fn from(link: Option<&'a str>) -> Self {
        match link {
            Some(l) => Self::Link(l),
            None => Self::Initial,
        }
    }
}

/// The `$select` query of a delta request (none when `select` is empty).
pub(crate) fn select_query(select: &[&str]) -> Vec<(&'static str, String)> {
    if select.is_empty() {
        Vec::new()
    } else {
        vec![("$select", select.join(","))]
    }
}

/// The path of a collection `root` (`None`: the default folder) or of the collection
/// `child` below the folder `folder` of the collection `parent`.
pub(crate) fn folder_path<'a>(
    folder: Option<&'a str>,
    parent: &'a str,
    child: &'a str,
    root: &'a str,
) -> Vec<&'a str> {
    match folder {
        Some(f) => vec![parent, f, child],
        None => vec![root],
    }
}

/// Counts one page against the stream limits of a listing or a delta round.
fn check_page(
    guard: &mut StreamGuard,
    entries: usize,
    next_link: Option<&str>,
) -> Result<(), Error> {
    guard
        .page(entries, next_link.map(str::as_bytes), None)
        .map_err(|e| Error::Transport(TransportError::Stream(e)))
}

impl Mailbox {
    /// Every entry of the collection at `segments` with `query`.
    pub(crate) async fn list_at<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Vec<T>, Error> {
        let url = self.url(segments, query)?;
        self.list_all(url, what).await
    }

    /// `POST`s `body` to `segments` (a create or an action) and reads the entity answered;
    /// never repeated blindly.
    pub(crate) async fn post_entity<B, T>(
        &self,
        segments: &[&str],
        body: &B,
        what: &str,
    ) -> Result<T, Error>
    where
        B: Serialize + ?Sized + Sync,
        T: DeserializeOwned,
    {
        self.send_json(Method::POST, segments, body, WriteOptions::default(), what)
            .await
    }

    /// Updates the entity at `segments` (`PATCH`); with `etag`, 412 gives
    /// [`Error::Conflict`].
    pub(crate) async fn update_entity<B, T>(
        &self,
        segments: &[&str],
        patch: &B,
        etag: Option<&str>,
        what: &str,
    ) -> Result<T, Error>
    where
        B: Serialize + ?Sized + Sync,
        T: DeserializeOwned,
    {
        self.send_json(
            Method::PATCH,
            segments,
            patch,
            WriteOptions::if_match(etag),
            what,
        )
        .await
    }

    /// Deletes the entity at `segments`; with `etag`, only if unchanged.
    pub(crate) async fn delete_entity(
        &self,
        segments: &[&str],
        etag: Option<&str>,
    ) -> Result<(), Error> {
        self.send_raw::<()>(Method::DELETE, segments, None, WriteOptions::if_match(etag))
            .await
            .map(|_| ())
    }

    /// Follows `@odata.nextLink` from `first` to the end and returns every entry.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        first: url::Url,
        what: &str,
    ) -> Result<Vec<T>, Error> {
        self.list_all_limited(first, what, None).await
    }

    /// [`list_all`](Self::list_all) with another largest page body (attachments with
    /// content). Bounded by [`ClientConfig::stream_limits`](crate::ClientConfig::stream_limits);
    /// a `nextLink` the server sent before stops the listing.
    pub(crate) async fn list_all_limited<T: DeserializeOwned>(
        &self,
        first: url::Url,
        what: &str,
        max_response_bytes: Option<u64>,
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        let mut guard = StreamGuard::new(self.client.config().stream_limits.clone());
        guard.seen(first.as_str().as_bytes());
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let mut request = self.request(Method::GET, url);
            request.max_response_bytes = max_response_bytes;
            let page: Page<T> = self.client.execute(request).await?.json(what)?;
            check_page(&mut guard, page.value.len(), page.next_link.as_deref())?;
            out.extend(page.value);
            if let Some(link) = page.next_link {
                next = Some(self.client.link(&link)?);
            }
        }
        Ok(out)
    }

    /// Runs one delta round: from `start` (the initial URL or a stored delta link) through
    /// every `@odata.nextLink` to the `@odata.deltaLink`.
    pub(crate) async fn delta_round<T: DeserializeOwned + HasId>(
        &self,
        initial: url::Url,
        start: DeltaStart<'_>,
        page_size: Option<u32>,
        what: &str,
    ) -> Result<DeltaRound<T>, Error> {
        let mut url = match start {
            DeltaStart::Initial => initial,
            DeltaStart::Link(link) => self.client.link(link)?,
        };
        let mut changes: Vec<Change<T>> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        // Bounded by the client's stream limits; the start link (a stored delta link, sent
        // back as a next link or as the new delta link, would loop) counts as seen.
        let mut guard = StreamGuard::new(self.client.config().stream_limits.clone());
        guard.seen(url.as_str().as_bytes());
        loop {
            let mut request = self.request(Method::GET, url);
            if let Some(size) = page_size {
                request
                    .headers
                    .push(("Prefer", format!("odata.maxpagesize={size}")));
            }
            let page: Page<Change<T>> = self.client.execute(request).await?.json(what)?;
            // A next link seen before (also the start link) would loop; the delta link ends
            // the round, so it may equal the start (an empty round of a simple server).
            check_page(&mut guard, page.value.len(), page.next_link.as_deref())?;
            for change in page.value {
                match change.id().map(str::to_owned) {
                    Some(id) => match index.get(&id) {
                        Some(&i) => changes[i] = change,
                        None => {
                            index.insert(id, changes.len());
                            changes.push(change);
                        }
                    },
                    None => changes.push(change),
                }
            }
            match (page.next_link, page.delta_link) {
                (Some(next), _) => url = self.client.link(&next)?,
                (None, Some(delta_link)) => {
                    return Ok(DeltaRound {
                        changes,
                        delta_link,
                        pages: usize::try_from(guard.pages()).unwrap_or(usize::MAX),
                    });
                }
                (None, None) => {
                    return Err(Error::protocol(format!(
                        "delta page of {what} has neither nextLink nor deltaLink"
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::Contact;

    #[test]
    fn delta_pages_round_trip_for_servers() {
        let page = Page {
            value: vec![
                Change::Upsert(Contact {
                    id: Some("c1".into()),
                    given_name: Some("Ada".into()),
                    ..Default::default()
                }),
                Change::Removed {
                    id: "c2".into(),
                    reason: Some("deleted".into()),
                },
            ],
            next_link: None,
            delta_link: Some("https://graph/delta?$deltatoken=1".into()),
        };
        let json = serde_json::to_value(&page).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({
                "value": [
                    {"id": "c1", "givenName": "Ada"},
                    {"id": "c2", "@removed": {"reason": "deleted"}}
                ],
                "@odata.deltaLink": "https://graph/delta?$deltatoken=1"
            })
        );
        let back: Page<Change<Contact>> = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back.value, page.value);
        let bad: Result<Change<Contact>, _> =
            serde_json::from_value(serde_json::json!({"@removed": {}}));
        assert!(bad.is_err(), "a removal without id is refused");
    }

    #[test]
    fn list_options_become_odata_query_options() {
        let q = ListOptions::default()
            .select(&["id", "subject"])
            .filter("isRead eq false")
            .top(50)
            .order_by("receivedDateTime desc")
            .expand("attachments")
            .query();
        assert_eq!(
            q,
            vec![
                ("$select", "id,subject".to_owned()),
                ("$filter", "isRead eq false".to_owned()),
                ("$top", "50".to_owned()),
                ("$orderby", "receivedDateTime desc".to_owned()),
                ("$expand", "attachments".to_owned()),
            ]
        );
    }
}
