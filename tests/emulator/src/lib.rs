//! awsx-emulator (being built).
