//! The preview screen for a rule and a user, recomputed for an edited rule.
//!
//! `cargo run -p conaktiv-examples --example preview` (runs against an in-process mock).

fn show(title: &str, p: &conaktiv_exchange::service::Preview) {
    println!("{title}: Exchange {}; ConAktiv {}", p.exchange, p.conaktiv);
    for a in &p.actions {
        println!(
            "  {} {} {}",
            a.action,
            a.on.unwrap_or(""),
            a.title.as_deref().unwrap_or(&a.key)
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let result = conaktiv_examples::preview().await?;
    show("rule as configured", &result.configured);
    show("with 'transfer new to Exchange' off", &result.edited);
    Ok(())
}
