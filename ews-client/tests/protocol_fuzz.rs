//! Stable-toolchain companion of the cargo-fuzz target (`ews-client/fuzz`): the response and
//! request parsers never panic on mutated Exchange answers (truncations, byte flips,
//! insertions, duplicated slices) or arbitrary bytes; they return typed errors.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::path::Path;

use ews_client::envelope::{read_fault, read_response};
use ews_client::ops::{self, AnyRequest};
use proptest::prelude::*;

fn parse_everything(data: &[u8]) -> usize {
    let mut ok = 0;
    ok += usize::from(read_response::<ops::GetItem>(data).is_ok());
    ok += usize::from(read_response::<ops::FindItem>(data).is_ok());
    ok += usize::from(read_response::<ops::SyncFolderItems>(data).is_ok());
    ok += usize::from(read_response::<ops::SyncFolderHierarchy>(data).is_ok());
    ok += usize::from(read_response::<ops::GetFolder>(data).is_ok());
    ok += usize::from(read_response::<ops::FindFolder>(data).is_ok());
    ok += usize::from(read_response::<ops::CreateFolder>(data).is_ok());
    ok += usize::from(read_response::<ops::DeleteItem>(data).is_ok());
    ok += usize::from(read_response::<ops::MoveItem>(data).is_ok());
    ok += usize::from(read_response::<ops::ResolveNames>(data).is_ok());
    ok += usize::from(read_response::<ops::CreateItem>(data).is_ok());
    ok += usize::from(read_response::<ops::UpdateItem>(data).is_ok());
    ok += usize::from(read_fault(data).is_some());
    ok += usize::from(AnyRequest::read_envelope(data).is_ok());
    ok += usize::from(ops::autodiscover::read_response(data).is_ok());
    ok
}

/// The XML files under `tests/data/{dirs}` (the item samples may hold several documents;
/// they are only used as mutation seeds).
fn samples_in(dirs: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut out = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "xml") {
                out.push(std::fs::read(path).unwrap());
            }
        }
    }
    out
}

fn samples() -> Vec<Vec<u8>> {
    let out = samples_in(&["protocol", "items"]);
    assert!(out.len() >= 10);
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
    Remove(usize, usize),
}

fn apply(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = data.len().max(1);
        match m {
            Mutation::Truncate(at) => data.truncate(at % len),
            Mutation::Flip(at, byte) => {
                if !data.is_empty() {
                    let i = at % data.len();
                    data[i] ^= byte;
                }
            }
            Mutation::Insert(at, bytes) => {
                let i = at % len.min(data.len() + 1);
                data.splice(i..i, bytes.iter().copied());
            }
            Mutation::Duplicate(at, n) => {
                if !data.is_empty() {
                    let i = at % data.len();
                    let end = (i + n % 200).min(data.len());
                    let slice = data[i..end].to_vec();
                    data.splice(end..end, slice);
                }
            }
            Mutation::Remove(at, n) => {
                if !data.is_empty() {
                    let i = at % data.len();
                    let end = (i + n % 200).min(data.len());
                    data.drain(i..end);
                }
            }
        }
    }
    data
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let markup = prop::sample::select(vec![
        b"<".to_vec(),
        b">".to_vec(),
        b"</t:Items>".to_vec(),
        b"<t:Contact>".to_vec(),
        b"&amp;".to_vec(),
        b"&#0;".to_vec(),
        b"&bogus;".to_vec(),
        b"<![CDATA[x".to_vec(),
        b"xmlns:t=\"urn:x\"".to_vec(),
        b"\"".to_vec(),
        "ü".as_bytes().to_vec(),
        vec![0xff, 0xfe],
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(a, b)| Mutation::Flip(a, b)),
        (any::<usize>(), markup).prop_map(|(a, b)| Mutation::Insert(a, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Remove(a, n)),
    ]
}

#[test]
fn unmodified_samples_parse() {
    for s in samples_in(&["protocol"]) {
        assert!(parse_everything(&s) >= 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_samples_never_panic(
        index in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let samples = samples();
        let data = apply(samples[index % samples.len()].clone(), &mutations);
        parse_everything(&data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_everything(&data);
    }
}
