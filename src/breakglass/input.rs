//! Checking what a person types for break-glass (the MFA code). Reading it (from the
//! terminal without echo, or one line from stdin) is the command layer's: `cmd::input`.
use super::BreakglassError;

/// A TOTP code: six digits, spaces allowed between them (authenticator apps show `123 456`).
pub fn parse_totp(text: &str) -> Result<String, BreakglassError> {
    let code: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(BreakglassError::Input(
            "the MFA code is 6 digits from the break-glass user's authenticator app; try again with the current code".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_codes_are_six_digits_spaces_allowed() {
        assert_eq!(parse_totp("123456").unwrap(), "123456");
        assert_eq!(parse_totp(" 123 456 \n").unwrap(), "123456");
        assert!(parse_totp("12345").is_err());
        assert!(parse_totp("12345a").is_err());
        assert!(parse_totp("").is_err());
    }
}
