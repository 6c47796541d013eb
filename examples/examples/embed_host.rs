//! Embedding the connector in a host with its own in-memory CRM store and user directory.
//!
//! `cargo run -p conaktiv-examples --example embed_host` (runs against an in-process mock).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let result = conaktiv_examples::embed_host().await?;
    for item in &result.first.items {
        match &item.result {
            Ok(r) => println!(
                "{} {}: {} to Exchange, {} to the CRM",
                item.job.mailbox,
                item.job.rule,
                r.report.to_exchange.content_writes(),
                r.report.to_conaktiv.content_writes()
            ),
            Err(e) => println!("{} {}: failed: {e}", item.job.mailbox, item.job.rule),
        }
    }
    println!("CRM contacts now: {:?}", result.crm_contacts);
    println!("Anna's Exchange contacts now: {:?}", result.anna_exchange);
    println!("second run writes: {}", result.second.total_writes());
    Ok(())
}
