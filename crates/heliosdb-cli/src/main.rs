//! The `heliosdb-lite` command-line shell.

fn main() {
    println!("heliosdb-lite {}", env!("CARGO_PKG_VERSION"));
}
