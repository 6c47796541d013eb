//! Runnable examples for the ConAktiv Exchange connector; see the `examples/` folder of this
//! crate (`cargo run -p conaktiv-examples --example NAME`).
