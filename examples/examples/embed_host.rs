//! Embedding the connector in a host with its own in-memory CRM store and user directory.
//!
//! `cargo run -p conaktiv-examples --example embed_host` (runs against an in-process mock).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let result = conaktiv_examples::embed_host().await?;
    // One line per mailbox and table, then a summary: the report's `Display`.
    println!("{}", result.first);
    println!("CRM contacts now: {:?}", result.crm_contacts);
    println!("Anna's Exchange contacts now: {:?}", result.anna_exchange);
    println!("second run writes: {}", result.second.total_writes());
    Ok(())
}
