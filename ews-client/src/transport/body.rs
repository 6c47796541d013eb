//! Reading a response body with a size limit, while it streams in.
//!
//! [`collect_limited`] is independent of HTTP client and format: it takes any stream of
//! byte chunks (reqwest's `Response::bytes_stream()`, hyper's body through
//! `http_body_util::BodyDataStream`) and stops reading as soon as the limit would be passed,
//! so a hostile or broken server cannot make the client buffer more than the limit. A
//! declared `Content-Length` above the limit is refused before a byte of the body is read.

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};

/// Default maximum size of one response body: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// Default maximum size of a response that carries MIME content or attachments: 256 MiB
/// (Exchange's largest message, 150 MB, base64-encoded, plus envelope).
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// Never reserve more than this up front, whatever `Content-Length` claims.
const MAX_PREALLOCATION: u64 = 8 * 1024 * 1024;

/// Why [`collect_limited`] returned no body.
#[derive(Debug)]
pub enum BodyError<E> {
    /// The body is larger than the limit (declared by `Content-Length`, or counted while
    /// reading). Nothing more was read; drop the connection.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The declared `Content-Length`, if it was above the limit.
        declared: Option<u64>,
    },
    /// Reading a chunk failed.
    Read(E),
}

/// Reads a whole body of at most `limit` bytes from a stream of chunks.
///
/// `declared` is the `Content-Length`, if any: a value above `limit` fails at once. Without
/// it (chunked encoding, or a server that lies), the chunks are counted as they arrive and
/// reading stops with [`BodyError::TooLarge`] at the first chunk that would pass the limit.
///
/// ```
/// # futures::executor::block_on(async {
/// use ews_client::transport::{BodyError, collect_limited};
/// let chunks = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("0123456789"))]);
/// let err = collect_limited(chunks, None, 4).await.unwrap_err();
/// assert!(matches!(err, BodyError::TooLarge { limit: 4, declared: None }));
/// # });
/// ```
pub async fn collect_limited<S, E>(
    stream: S,
    declared: Option<u64>,
    limit: u64,
) -> Result<Bytes, BodyError<E>>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    if let Some(length) = declared
        && length > limit
    {
        return Err(BodyError::TooLarge {
            limit,
            declared: Some(length),
        });
    }
    let capacity = declared.unwrap_or(0).min(limit).min(MAX_PREALLOCATION);
    let mut buffer = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Read)?;
        if buffer.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge {
                limit,
                declared: None,
            });
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static str]) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures::stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p.as_bytes()))))
    }

    #[tokio::test]
    async fn limits_are_exact() {
        let body = collect_limited(chunks(&["abc", "def"]), None, 6).await;
        assert_eq!(body.ok().as_deref(), Some(&b"abcdef"[..]));
        let err = collect_limited(chunks(&["abc", "defg"]), None, 6).await;
        assert!(matches!(
            err,
            Err(BodyError::TooLarge {
                limit: 6,
                declared: None
            })
        ));
        let err = collect_limited(chunks(&[]), Some(7), 6).await;
        assert!(matches!(
            err,
            Err(BodyError::TooLarge {
                declared: Some(7),
                ..
            })
        ));
        // a Content-Length that lies low does not help
        let err = collect_limited(chunks(&["abcdefgh"]), Some(2), 6).await;
        assert!(matches!(
            err,
            Err(BodyError::TooLarge { declared: None, .. })
        ));
    }
}
