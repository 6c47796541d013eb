//! Sending a mail through Exchange with mail-transport's Exchange backend (CreateItem
//! SendAndSaveCopy, the service account impersonating the sender).
//!
//! `cargo run -p conaktiv-examples --example send_mail` (runs against an in-process mock).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let result = conaktiv_examples::send_mail().await?;
    println!("sent {} to {:?}", result.message_id, result.recipients);
    println!("Sent Items: {:?}", result.sent_items);
    Ok(())
}
