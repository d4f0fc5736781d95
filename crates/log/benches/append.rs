//! Append throughput (filled in below).
fn main() {}
