//! `awsx-main`, the full awsx CLI (the small `awsx` binary execs it for everything but a
//! credential-process cache hit). Everything lives in the library; this only hands over
//! the exit code.
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    awsx::main()
}
