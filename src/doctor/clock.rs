//! `clock`: this machine's time against the `Date` header of an STS reply. SigV4 refuses
//! requests more than 5 minutes off. The probe is a GetCallerIdentity signed with a dummy
//! key that AWS rejects; the rejection still carries `Date`. It goes wherever the SDK's
//! STS endpoint is (AWS_ENDPOINT_URL_STS honoured), through awsx's usual HTTP client.
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::Check;
use awsx_core::env::Env;
use awsx_core::types::Region;

const FAIL_AFTER: time::Duration = time::Duration::minutes(5);
const WARN_AFTER: time::Duration = time::Duration::minutes(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

pub fn check(env: &Env, region: &Region) -> Check {
    match server_offset(env, region) {
        Err(why) => Check::warn(
            "clock",
            format!("cannot compare the clock with STS: {why}"),
            "check the network (HTTPS_PROXY, AWS_ENDPOINT_URL_STS) and run awsx doctor again",
        ),
        Ok(offset) => {
            let secs = offset.whole_seconds();
            let words = if secs >= 0 {
                format!("{secs} s behind STS")
            } else {
                format!("{} s ahead of STS", -secs)
            };
            let fix = "synchronise the clock: timedatectl set-ntp true (Linux), or enable automatic time in the system settings";
            if offset.abs() > FAIL_AFTER {
                Check::fail(
                    "clock",
                    format!(
                        "this machine's clock is {words}; AWS rejects signatures more than 5 minutes off"
                    ),
                    fix,
                )
            } else if offset.abs() > WARN_AFTER {
                Check::warn("clock", format!("this machine's clock is {words}"), fix)
            } else {
                Check::ok(
                    "clock",
                    format!("clock within {} s of STS", secs.abs().max(1)),
                )
            }
        }
    }
}

/// Server time minus local time (at the middle of the round trip).
fn server_offset(env: &Env, region: &Region) -> Result<time::Duration, String> {
    let rt = awsx_aws::runtime().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let dummy = Credentials::new(
            "AKIAAWSXDOCTORPROBE0",
            "awsx-doctor-clock-probe-not-a-real-secret",
            None,
            None,
            "awsx-doctor",
        );
        let config = awsx_aws::sdk_config(env, region, Some(dummy))
            .await
            .map_err(|e| e.to_string())?;
        // One attempt, 5 s at most: the probe is one question among many checks, and the
        // SDK's usual retries would hold the whole checklist for 16 s when STS is silent.
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&config)
                .retry_config(RetryConfig::disabled())
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(awsx_aws::CONNECT_TIMEOUT)
                        .operation_timeout(PROBE_TIMEOUT)
                        .build(),
                )
                .build(),
        );
        let before = OffsetDateTime::now_utc();
        let result = sts.get_caller_identity().send().await;
        let after = OffsetDateTime::now_utc();
        let local = before + (after - before) / 2;
        let date = match &result {
            // Only an AWS error carries STS's clock: a proxy, captive portal or wrong
            // endpoint answering with its own page (and its own Date) is not STS.
            Err(SdkError::ServiceError(e)) if e.err().code().is_none() => {
                return Err(format!(
                    "the reply (HTTP {}) did not come from STS; a proxy or captive portal may be answering",
                    e.raw().status().as_u16()
                ));
            }
            Err(SdkError::ServiceError(e)) => e.raw().headers().get("date").map(str::to_owned),
            Err(e) => {
                return Err(crate::breakglass::remote::aws_error("STS", e).to_string());
            }
            Ok(_) => None,
        };
        let date = date.ok_or("the reply had no Date header")?;
        let server = parse_http_date(&date).ok_or(format!("unreadable Date header {date:?}"))?;
        Ok(server - local)
    })
}

/// `Tue, 15 Nov 1994 08:12:31 GMT` (RFC 9110's IMF-fixdate).
fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    let fmt = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    PrimitiveDateTime::parse(s.trim(), fmt)
        .ok()
        .map(|t| t.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_http_dates() {
        let t = parse_http_date("Tue, 15 Nov 1994 08:12:31 GMT").unwrap();
        assert_eq!(t.unix_timestamp(), 784_887_151);
        assert!(parse_http_date("yesterday").is_none());
    }
}
