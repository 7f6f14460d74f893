//! awsx's integration tests: one binary, one module per area. They run the real `awsx`
//! binary against the emulator and the real keychains (run them with `scripts/test`).
mod breakglass;
mod browser_login;
mod config;
mod console_login;
mod credential_process;
mod doctor;
mod exec;
mod exec_server;
mod explain;
mod harness;
mod login;
mod migrate;
mod packaging;
mod scan;
mod shell;
mod store;
mod sync;
