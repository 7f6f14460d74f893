//! Where the two awsx binaries are installed: `awsx` (the front, which credential_process
//! lines and shell scripts run) and `awsx-main` (the full CLI) live side by side.
use std::path::PathBuf;

/// The full awsx, installed in the same directory as the front binary.
pub const MAIN_BINARY: &str = if cfg!(windows) {
    "awsx-main.exe"
} else {
    "awsx-main"
};

/// Where `awsx-main` is: next to the running binary (symlinks resolved, so a link to
/// awsx on PATH finds the real installation's awsx-main).
pub fn main_binary() -> std::io::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name(MAIN_BINARY))
}

/// The `awsx` front binary of this installation, which credential_process lines and shell
/// scripts should run: next to the running binary, else the running binary itself.
pub fn front_binary() -> std::io::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let front = me.with_file_name(if cfg!(windows) { "awsx.exe" } else { "awsx" });
    Ok(if front.is_file() { front } else { me })
}
