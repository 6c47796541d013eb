//! Overall bounds of paging and sync streams.
//!
//! A server that keeps answering "more available" (`IncludesLastItemInRange=false`, an
//! `@odata.nextLink`) would make a paging loop run for ever: each call is bounded by its
//! deadline, the stream is not. A [`StreamGuard`] is fed every page and stops the stream with
//! a [`StreamBoundError`] when it passes [`StreamLimits`] (pages, items, total time) or when
//! the server sends a cursor it sent before (the same sync state, offset or next link: the
//! stream would loop) or the same page content twice in a row. Format-free, for any client.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

/// Overall bounds of one paging or sync stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLimits {
    /// The most pages (requests) one stream makes (default 100 000: 100 million items at
    /// 1000 per page, or 51 million changes at 512 per sync batch).
    pub max_pages: u64,
    /// The most items one stream yields (default 50 million).
    pub max_items: u64,
    /// The longest one stream may run, from its creation (default 12 h); checked after
    /// every page.
    pub max_duration: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_pages: 100_000,
            max_items: 50_000_000,
            max_duration: Duration::from_secs(12 * 3600),
        }
    }
}

impl StreamLimits {
    /// Sets the page limit.
    pub fn with_max_pages(mut self, max_pages: u64) -> Self {
        self.max_pages = max_pages;
        self
    }

    /// Sets the item limit.
    pub fn with_max_items(mut self, max_items: u64) -> Self {
        self.max_items = max_items;
        self
    }

    /// Sets the time limit.
    pub fn with_max_duration(mut self, max_duration: Duration) -> Self {
        self.max_duration = max_duration;
        self
    }
}

/// Why a [`StreamGuard`] stopped a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamBoundError {
    /// The stream needed more pages than [`StreamLimits::max_pages`].
    #[error("the server kept announcing more results: stopped after {limit} pages")]
    TooManyPages {
        /// The limit.
        limit: u64,
    },
    /// The stream yielded more items than [`StreamLimits::max_items`].
    #[error("the server kept sending results: stopped after {limit} items")]
    TooManyItems {
        /// The limit.
        limit: u64,
    },
    /// The stream ran longer than [`StreamLimits::max_duration`].
    #[error("the stream ran longer than {limit:?} ({pages} pages): stopped")]
    TooLong {
        /// The limit.
        limit: Duration,
        /// Pages read so far.
        pages: u64,
    },
    /// The server sent a cursor (sync state, offset, next link) it had sent before, the same
    /// page twice in a row, or announced more results without a way to get them.
    #[error("the server repeated {what} after {pages} pages: the stream would not end")]
    Repeated {
        /// What was repeated (`sync state`, `page`, ...).
        what: &'static str,
        /// Pages read so far.
        pages: u64,
    },
}

/// Checks one stream against its [`StreamLimits`]; create it before the first request and
/// call [`page`](Self::page) after every page.
///
/// ```
/// use ews_client::transport::{StreamGuard, StreamLimits, StreamBoundError};
/// let mut guard = StreamGuard::new(StreamLimits::default());
/// guard.page(10, Some(b"state-1"), StreamGuard::fingerprint(["a", "b"])).unwrap();
/// guard.page(10, Some(b"state-2"), StreamGuard::fingerprint(["c", "d"])).unwrap();
/// let err = guard.page(10, Some(b"state-1"), StreamGuard::fingerprint(["e"])).unwrap_err();
/// assert!(matches!(err, StreamBoundError::Repeated { .. }));
/// ```
#[derive(Debug)]
pub struct StreamGuard {
    limits: StreamLimits,
    started: Instant,
    pages: u64,
    items: u64,
    cursors: HashSet<u64>,
    last_content: Option<u64>,
}

impl StreamGuard {
    /// A guard whose clock starts now.
    pub fn new(limits: StreamLimits) -> Self {
        Self {
            limits,
            started: Instant::now(),
            pages: 0,
            items: 0,
            cursors: HashSet::new(),
            last_content: None,
        }
    }

    /// A fingerprint of a page's content (e.g. its item ids), for [`page`](Self::page).
    pub fn fingerprint<I, T>(parts: I) -> Option<u64>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut hasher = DefaultHasher::new();
        let mut any = false;
        for part in parts {
            part.as_ref().hash(&mut hasher);
            any = true;
        }
        any.then(|| hasher.finish())
    }

    /// Records a page of `items` results after which the stream continues with
    /// `next_cursor` (`None`: this was the last page). `content` is the page's
    /// [fingerprint](Self::fingerprint) (`None` for an empty page). Fails when a limit is
    /// passed, the cursor was seen before or the content equals the previous page's.
    pub fn page(
        &mut self,
        items: usize,
        next_cursor: Option<&[u8]>,
        content: Option<u64>,
    ) -> Result<(), StreamBoundError> {
        self.pages += 1;
        self.items = self.items.saturating_add(items as u64);
        if self.items > self.limits.max_items {
            return Err(StreamBoundError::TooManyItems {
                limit: self.limits.max_items,
            });
        }
        if content.is_some() && content == self.last_content {
            return Err(StreamBoundError::Repeated {
                what: "the same page",
                pages: self.pages,
            });
        }
        self.last_content = content;
        let Some(cursor) = next_cursor else {
            return Ok(());
        };
        if self.pages >= self.limits.max_pages {
            return Err(StreamBoundError::TooManyPages {
                limit: self.limits.max_pages,
            });
        }
        if self.started.elapsed() > self.limits.max_duration {
            return Err(StreamBoundError::TooLong {
                limit: self.limits.max_duration,
                pages: self.pages,
            });
        }
        let mut hasher = DefaultHasher::new();
        cursor.hash(&mut hasher);
        if !self.cursors.insert(hasher.finish()) {
            return Err(StreamBoundError::Repeated {
                what: "a cursor (sync state, offset or next link)",
                pages: self.pages,
            });
        }
        Ok(())
    }

    /// Registers a cursor the stream started from (e.g. the stored sync state), so that a
    /// server sending it back is caught as a repeat.
    pub fn seen(&mut self, cursor: &[u8]) {
        let mut hasher = DefaultHasher::new();
        cursor.hash(&mut hasher);
        self.cursors.insert(hasher.finish());
    }

    /// Pages recorded so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_repeats() {
        let mut g = StreamGuard::new(StreamLimits::default().with_max_pages(3));
        assert!(
            g.page(1, Some(b"1"), StreamGuard::fingerprint(["a"]))
                .is_ok()
        );
        assert!(
            g.page(1, Some(b"2"), StreamGuard::fingerprint(["b"]))
                .is_ok()
        );
        assert_eq!(
            g.page(1, Some(b"3"), StreamGuard::fingerprint(["c"])),
            Err(StreamBoundError::TooManyPages { limit: 3 })
        );
        // the last page may be the limit-th
        let mut g = StreamGuard::new(StreamLimits::default().with_max_pages(2));
        assert!(g.page(1, Some(b"1"), None).is_ok());
        assert!(g.page(1, None, None).is_ok());

        let mut g = StreamGuard::new(StreamLimits::default().with_max_items(5));
        assert!(g.page(5, Some(b"1"), None).is_ok());
        assert!(matches!(
            g.page(1, None, None),
            Err(StreamBoundError::TooManyItems { limit: 5 })
        ));

        let mut g = StreamGuard::new(StreamLimits::default());
        let same = StreamGuard::fingerprint(["x", "y"]);
        assert!(g.page(2, Some(b"1"), same).is_ok());
        assert!(matches!(
            g.page(2, Some(b"2"), same),
            Err(StreamBoundError::Repeated { pages: 2, .. })
        ));
        // empty pages never count as repeats
        let mut g = StreamGuard::new(StreamLimits::default());
        assert!(g.page(0, Some(b"1"), None).is_ok());
        assert!(g.page(0, Some(b"2"), None).is_ok());

        let mut g = StreamGuard::new(StreamLimits::default().with_max_duration(Duration::ZERO));
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(
            g.page(0, Some(b"1"), None),
            Err(StreamBoundError::TooLong { .. })
        ));
    }
}
