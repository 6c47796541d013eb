//! The `conaktiv-exchange` command line.
fn main() {
    println!("conaktiv-exchange");
}
