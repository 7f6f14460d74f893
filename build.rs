//! Link the awsx binary as a position-dependent executable on Linux (glibc).
//!
//! `credential-process` runs before every AWS call, and most of a cache hit's time is the
//! process start. A PIE awsx makes the dynamic loader apply ~26,000 relative relocations
//! at every start, copying ~110 pages of `.data.rel.ro` on write. Linked without PIE there
//! are none: measured with bench/credential-process.sh, a hit takes ~0.6 ms (about 20 %)
//! less and the binary is ~0.65 MB smaller. The cost is that the executable's own image is
//! not randomised (shared libraries, heap and stack still are), as with the Go-built tools
//! in this space; awsx is memory-safe Rust and parses only local files and TLS replies.
//!
//! The code is still compiled position-independent; only the final link changes, so this
//! needs nothing from the toolchain beyond the C compiler driver's `-no-pie`.
//!
//! Where the linker is rustc's own lld (x86_64 Linux since Rust 1.90, below the
//! `rust-version`), identical code folding merges functions whose machine code is the same:
//! the generic instances that each crate of the workspace compiles for itself (about 150 KB
//! of awsx-main). A linker the user chose (`RUSTC_LINKER`, `-C linker` in the flags) may be
//! GNU ld, which does not know the flag: then nothing is added.
//!
//! Both binaries link with these rules: crates/awsx-front's manifest names this file as its
//! build script.
// Cargo's build-script interface is the environment; awsx's `Env` does not exist here.
#[allow(clippy::disallowed_methods)]
fn main() {
    // In the front's package this file is `../../build.rs`: there cargo's default (rerun
    // when the package changes) applies.
    if std::path::Path::new("build.rs").exists() {
        println!("cargo::rerun-if-changed=build.rs");
    }
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
    let chosen_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || var("CARGO_ENCODED_RUSTFLAGS").contains("linker");
    if var("TARGET") == "x86_64-unknown-linux-gnu" && !chosen_linker {
        println!("cargo::rustc-link-arg-bins=-Wl,--icf=all");
    }
}
