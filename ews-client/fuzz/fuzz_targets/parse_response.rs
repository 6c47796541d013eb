//! Fuzz target: every EWS response (and request) parser of `ews-client` on arbitrary bytes.
//! The property is "no panic": malformed input must give a typed error.
#![no_main]

use ews_client::envelope::{read_fault, read_response};
use ews_client::ops::{self, AnyRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_response::<ops::GetItem>(data);
    let _ = read_response::<ops::FindItem>(data);
    let _ = read_response::<ops::SyncFolderItems>(data);
    let _ = read_response::<ops::SyncFolderHierarchy>(data);
    let _ = read_response::<ops::GetFolder>(data);
    let _ = read_response::<ops::FindFolder>(data);
    let _ = read_response::<ops::CreateFolder>(data);
    let _ = read_response::<ops::DeleteItem>(data);
    let _ = read_response::<ops::MoveItem>(data);
    let _ = read_response::<ops::ResolveNames>(data);
    let _ = read_response::<ops::CreateItem>(data);
    let _ = read_response::<ops::UpdateItem>(data);
    let _ = read_response::<ops::SendItem>(data);
    let _ = read_response::<ops::CreateAttachment>(data);
    let _ = read_response::<ops::GetAttachment>(data);
    let _ = read_fault(data);
    let _ = AnyRequest::read_envelope(data);
    let _ = ops::autodiscover::read_response(data);
    let _ = ops::autodiscover::read_request(data);
});
