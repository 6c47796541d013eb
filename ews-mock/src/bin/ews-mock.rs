//! The `ews-mock` server binary.
fn main() {
    println!("ews-mock");
}
