//! # ews-client
//!
//! A typed client for Exchange Web Services (EWS): SOAP envelope, one module per operation,
//! authentication (Basic, NTLM, OAuth 2.0), impersonation and throttling.
//!
//! ## Start here
//!
//! Build a [`ClientConfig`] (endpoint [`Url`], [`Auth`], timeouts, [`RetryPolicy`]), make a
//! [`Client`] (building it contacts no server), take a handle per mailbox with
//! [`Client::for_mailbox`], and call the batch methods ([`Client::create_items`],
//! [`Client::get_items`], [`Client::move_items`], [`Client::delete_items`]), the paging and
//! sync streams ([`Client::find_items_in`], [`Client::sync_folder_items`]) or
//! [`Client::execute`] with any request of [`ops`]. Every type used below is re-exported
//! at the crate root.
//!
//! ```
//! use std::time::Duration;
//! use ews_client::{
//!     Auth, Client, ClientConfig, Contact, DistinguishedFolderName, Error, Item, ItemId,
//!     ItemShape, RetryPolicy, TransportConfig, Url,
//! };
//! use futures::TryStreamExt;
//!
//! let url = Url::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
//! let transport = TransportConfig::new(url, Auth::basic("svc-crm@contoso.com", "secret"))
//!     .with_retry(RetryPolicy::default().with_max_attempts(3));
//! let config = ClientConfig::new(transport)
//!     .with_time_zone("W. Europe Standard Time")
//!     .with_call_timeout(Duration::from_secs(60));
//! let client = Client::new(config)?;
//! // Act on Anna's mailbox: ExchangeImpersonation + X-AnchorMailbox on every call.
//! let anna = client.for_mailbox("anna@contoso.com");
//!
//! // What a call would send, without sending it:
//! let request = ews_client::ops::GetItem::new(ItemShape::id_only(), [ItemId::new("AAMkAD")]);
//! let xml = ews_client::envelope::write_request(&anna.request_headers(), &request);
//! assert!(String::from_utf8_lossy(&xml).contains("<t:PrimarySmtpAddress>anna@contoso.com<"));
//!
//! // The calls themselves need a server (see `ews-mock` for one on localhost):
//! async fn copy_contacts(anna: &Client) -> Result<(), Error> {
//!     let contacts: Vec<Item> = anna
//!         .find_items_in(DistinguishedFolderName::Contacts.into(), ItemShape::id_only())
//!         .try_collect()
//!         .await?;
//!     let ids = contacts.iter().filter_map(|c| c.item_id().cloned());
//!     let full: Vec<_> = anna.get_items(ItemShape::all_properties(), ids).try_collect().await?;
//!     // Per-item results in request order: a partly failed batch reports each item.
//!     let copies = full.iter().flatten().map(ews_client::ops::creatable);
//!     for result in anna.create_items(None, copies).await? {
//!         match result {
//!             Ok(created) => println!("created {:?}", created.as_ref().and_then(Item::item_id)),
//!             Err(e) => println!("failed: {e}"),
//!         }
//!     }
//!     let new = Item::Contact(Contact { display_name: Some("Ben".into()), ..Contact::default() });
//!     anna.create_items(Some(DistinguishedFolderName::Contacts.into()), [new]).await?;
//!     Ok(())
//! }
//! # let _ = copy_contacts;
//! # Ok::<(), Error>(())
//! ```
//!
//! Architecture invariant: this is the only crate (with `ews-mock`, which reuses its types)
//! that knows EWS XML. It knows nothing of ConAktiv or of sync.
//!
//! Start with [`Client`] (see the [`client`] module for an example that impersonates a
//! mailbox): build it from a [`ClientConfig`], call [`Client::for_mailbox`] per mailbox and
//! [`Client::execute`] any request of [`ops`], or use the paging and sync streams. Servers
//! (`ews-mock`) use [`envelope`] and [`ops::AnyRequest`] to read requests and write responses,
//! and [`schema::validate`] to check them against Microsoft's schema.
//!
//! Against broken or hostile servers the client keeps bounds: every answer is limited in
//! size while it streams ([`transport::TransportConfig::max_response_bytes`], 64 MiB; larger
//! for MIME and attachment downloads), every paging and sync stream in pages, items and time
//! ([`ClientConfig::stream_limits`]) and against repeated pages or sync states, every
//! server-requested wait has a floor, jitter and an attempt cap
//! ([`ClientConfig::busy_retry`]), every batch answer must hold one result per request
//! ([`Error::ResultCount`]), and server text in errors is cut and scrubbed of every secret
//! the client holds ([`transport::Scrubber`]). Documents in UTF-16 or a declared 8-bit
//! character set are transcoded ([`xml::to_utf8`]). TLS trust (roots, and pinning a
//! self-signed server certificate) is described in [`transport`].
#![warn(missing_docs)]

pub mod client;
pub mod envelope;
pub mod error;
pub mod operation;
pub mod ops;
pub mod schema;
pub mod transport;
pub mod types;
pub mod xml;

pub use client::{Client, ClientConfig, ResultStream};
pub use envelope::{ExchangeVersion, Impersonation, ServerVersionInfo};
pub use error::Error;
pub use operation::Operation;
pub use transport::{
    Auth, OAuthClientCredentials, RetryPolicy, SecretString, StreamLimits, TokenProvider,
    TransportConfig, TransportError,
};
pub use types::base_item_id::BaseItemId;
pub use types::response::{
    ResponseCode, ResponseError, ResponseMessage, ResponseMessages, ResponseStatus,
};
pub use types::shape::{FolderShape, IndexedPageView, ItemShape};
pub use types::{
    Attachment, AttachmentId, Attendee, BaseFolderId, Body, BodyType, CalendarItem, Contact,
    DistinguishedFolderName, EmailAddress, ExtendedProperty, FileAttachment, FolderId, GenericItem,
    Item, ItemAttachment, ItemCommon, ItemId, Message, PropertyPath, Task, folder::Folder,
};
/// The URL type of [`TransportConfig::url`] (the `url` crate, re-exported).
pub use url::Url;
