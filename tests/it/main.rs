//! awsx's integration tests: one binary, one module per area. They run the real `awsx`
//! binary against the emulator and the real keychains (run them with `scripts/test`).
mod config;
mod exec;
mod harness;
mod scan;
mod shell;
mod store;
mod sync;
