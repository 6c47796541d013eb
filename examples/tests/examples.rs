//! Runs each example's logic and checks its result.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

#[tokio::test]
async fn embed_host_syncs_both_ways_and_converges() {
    let r = conaktiv_examples::embed_host().await.unwrap();
    assert_eq!(r.first.failed(), 0, "{:?}", r.first);
    assert_eq!(
        r.crm_contacts,
        ["Clara Kunde", "Erika Muster", "Max Beispiel"]
    );
    assert_eq!(r.anna_exchange, ["Clara Kunde", "Erika Muster"]);
    assert_eq!(r.second.total_writes(), 0);
}

#[tokio::test]
async fn preview_is_recomputed_for_an_edited_rule() {
    let r = conaktiv_examples::preview().await.unwrap();
    assert_eq!(
        (r.configured.exchange.new, r.configured.conaktiv.new),
        (2, 1)
    );
    assert_eq!(r.configured.actions.len(), 3);
    assert_eq!((r.edited.exchange.new, r.edited.conaktiv.new), (0, 1));
}

#[tokio::test]
async fn send_mail_delivers_and_keeps_a_copy() {
    let r = conaktiv_examples::send_mail().await.unwrap();
    assert!(!r.message_id.is_empty());
    assert_eq!(r.recipients, ["kunde@example.org"]);
    assert_eq!(r.sent_items, ["Ihr Angebot"]);
}
