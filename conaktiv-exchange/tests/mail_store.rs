#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Received mail filed into the embedded CRM, linked by the embedded linker, once.

use conaktiv_exchange::host::{CrmStore, ListQuery};
use conaktiv_exchange::mail_store::{CrmMailSink, LinkerHook};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::contact::{ContactEmail, EmailKind};
use conaktiv_model::{ContactPerson, Mail};
use mail_transport::{LinkContext, LinkHook, MailSink, ReceivedMail, StoreOutcome};

fn raw(message_id: &str, from: &str, in_reply_to: Option<&str>) -> Vec<u8> {
    let mut text = format!(
        "From: {from}\r\nTo: vertrieb@agentur.example\r\nSubject: Angebot\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0100\r\n"
    );
    if let Some(r) = in_reply_to {
        text.push_str(&format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"));
    }
    text.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\nGuten Tag\r\n");
    text.into_bytes()
}

async fn receive(
    sink: &CrmMailSink<conaktiv_exchange::sqlite::SqliteCrm>,
    hook: &LinkerHook<conaktiv_exchange::sqlite::SqliteLinker>,
    bytes: Vec<u8>,
) -> StoreOutcome {
    // What mail-transport's receiver does: link, then store.
    let mut mail = ReceivedMail::parse(bytes);
    mail.links = hook.links(&LinkContext::of(&mail)).await;
    sink.store(mail).await.unwrap()
}

#[tokio::test]
async fn received_mail_is_linked_filed_once_and_threads_follow() {
    let db = SqliteDb::in_memory().unwrap();
    db.crm()
        .create(
            None,
            &ContactPerson {
                customer: Some("K-100".into()),
                emails: vec![ContactEmail {
                    kind: EmailKind::Business,
                    address: "anna@kunde.example".into(),
                    display_name: String::new(),
                }],
                ..ContactPerson::default()
            },
            None,
        )
        .await
        .unwrap();
    let sink = CrmMailSink::new(db.crm(), Some("vertrieb".into()));
    let hook = LinkerHook(db.linker());

    let first = raw("m1@kunde.example", "Anna <anna@kunde.example>", None);
    assert_eq!(
        receive(&sink, &hook, first.clone()).await,
        StoreOutcome::Stored
    );
    assert_eq!(receive(&sink, &hook, first).await, StoreOutcome::Duplicate);

    let mails = CrmStore::<Mail>::list(&db.crm(), &ListQuery::all().owned_by("vertrieb"))
        .await
        .unwrap();
    assert_eq!(mails.len(), 1);
    let stored = CrmStore::<Mail>::get(&db.crm(), &mails[0].id)
        .await
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(stored.message_id, "m1@kunde.example");
    assert_eq!(stored.subject, "Angebot");
    assert_eq!(stored.links.customer.as_ref().unwrap().as_str(), "K-100");

    // A reply from an unknown address inherits the thread's links.
    let reply = raw(
        "m2@other.example",
        "x@other.example",
        Some("m1@kunde.example"),
    );
    assert_eq!(receive(&sink, &hook, reply).await, StoreOutcome::Stored);
    let reply_meta = CrmStore::<Mail>::list(
        &db.crm(),
        &ListQuery::filtered("message_id = 'm2@other.example'").unwrap(),
    )
    .await
    .unwrap();
    let reply = CrmStore::<Mail>::get(&db.crm(), &reply_meta[0].id)
        .await
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(reply.links.customer.as_ref().unwrap().as_str(), "K-100");

    // Unknown sender, no thread: stored unlinked.
    let stranger = raw("m3@z.example", "z@z.example", None);
    assert_eq!(receive(&sink, &hook, stranger).await, StoreOutcome::Stored);

    // Another owner's copy of the same message is not a duplicate.
    let other = CrmMailSink::new(db.crm(), Some("technik".into()));
    let mut m = ReceivedMail::parse(raw("m1@kunde.example", "anna@kunde.example", None));
    m.links = hook.links(&LinkContext::of(&m)).await;
    assert_eq!(other.store(m).await.unwrap(), StoreOutcome::Stored);
}
