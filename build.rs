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
// Cargo's build-script interface is the environment; awsx's `Env` does not exist here.
#[allow(clippy::disallowed_methods)]
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && target_env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
