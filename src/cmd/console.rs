//! `awsx console [PROFILE] [--print] [--destination URL]`: the AWS console, signed in as the
//! profile. The role credentials go to the federation endpoint's getSigninToken (over
//! HTTPS, never on a command line); the sign-in URL it makes possible is the one secret
//! that may go to a child's argv (the browser), per the design: it is short-lived (15 min).
use std::io::Write;

use crate::cli::ConsoleArgs;
use crate::cmd::login_ui::{open_in_browser, should_open_browser};
use crate::cmd::{Context, common, credentials};
use crate::error::{Error, Result};
use awsx_config::AwsxProfile;
use awsx_config::settings::Settings;
use awsx_core::secret::Secret;
use awsx_creds::RoleCredentials;

const DEFAULT_ENDPOINT: &str = "https://signin.aws.amazon.com/federation";
const ISSUER: &str = "awsx";

pub fn run(ctx: &Context, args: ConsoleArgs) -> Result<()> {
    let given = args.name.as_deref().or(args.profile.as_deref());
    let name = common::profile_name(ctx, given)?;
    let (creds, profile) = credentials::for_profile(ctx, &name)?;
    let region = match &profile {
        AwsxProfile::Sso(p) => p.region.as_ref().map(|r| r.to_string()),
        AwsxProfile::BreakGlass(p) => p.region.as_ref().map(|r| r.to_string()),
        AwsxProfile::Console(p) => p.region.as_ref().map(|r| r.to_string()),
    };
    let endpoint = ctx
        .env
        .var("AWSX_SIGNIN_ENDPOINT")
        .unwrap_or(DEFAULT_ENDPOINT);
    let destination = match args.destination {
        Some(d) if d.starts_with("https://") || d.starts_with("http://") => d,
        Some(d) => {
            return Err(Error::Usage(format!(
                "--destination {d:?} is not a URL; give a console URL such as https://console.aws.amazon.com/s3/home"
            )));
        }
        None => default_destination(region.as_deref()),
    };
    let runtime = awsx_aws::runtime()?;
    let token = runtime.block_on(signin_token(ctx, endpoint, &creds))?;
    let url = login_url(endpoint, &destination, &token);
    let settings = Settings::load(&ctx.env)?;
    let note = if args.print {
        None
    } else if !should_open_browser(&ctx.env, &settings, false) {
        Some("no browser to open here")
    } else if open_in_browser(&ctx.env, url.expose()).is_ok() {
        eprintln!("awsx: opened the AWS console for {name} in your browser");
        return Ok(());
    } else {
        // As `login` does with its verification URL: the user still gets in.
        Some("no browser could be started")
    };
    if let Some(note) = note {
        eprintln!("awsx: {note}; open this URL (it signs you in for 15 minutes, keep it private):");
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", url.expose())?;
    out.flush()?;
    Ok(())
}

/// The console home, in the profile's region when it names one.
pub fn default_destination(region: Option<&str>) -> String {
    match region {
        Some(r) => format!(
            "https://console.aws.amazon.com/console/home?region={}",
            form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
        ),
        None => "https://console.aws.amazon.com/console/home".to_owned(),
    }
}

fn with_query(endpoint: &str, query: &str) -> String {
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{sep}{query}")
}

/// getSigninToken: the role credentials, as the federation endpoint's Session JSON, for a
/// sign-in token.
async fn signin_token(
    ctx: &Context,
    endpoint: &str,
    creds: &RoleCredentials,
) -> Result<Secret<String>> {
    let session = Secret::new(
        serde_json::json!({
            "sessionId": creds.access_key_id,
            "sessionKey": creds.secret_access_key.expose(),
            "sessionToken": creds.session_token.expose(),
        })
        .to_string(),
    );
    let query = Secret::new(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "getSigninToken")
            .append_pair("Session", session.expose())
            .finish(),
    );
    let url = Secret::new(with_query(endpoint, query.expose()));
    let failed = |message: String| Error::Remote {
        operation: "console sign-in (getSigninToken)",
        message,
    };
    let (status, body) = awsx_aws::http_get(&ctx.env, url.expose())
        .await
        .map_err(|e| failed(format!("{e}; check the network and AWSX_SIGNIN_ENDPOINT")))?;
    if status != 200 {
        return Err(failed(format!(
            "the federation endpoint answered HTTP {status}; the credentials may have expired: try again, or run awsx login"
        )));
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(rename = "SigninToken")]
        signin_token: String,
    }
    let reply: Reply = serde_json::from_slice(&body)
        .map_err(|_| failed("the federation endpoint's reply has no SigninToken".to_owned()))?;
    Ok(Secret::new(reply.signin_token))
}

/// `?Action=login&Issuer=awsx&Destination=…&SigninToken=…`.
fn login_url(endpoint: &str, destination: &str, token: &Secret<String>) -> Secret<String> {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "login")
        .append_pair("Issuer", ISSUER)
        .append_pair("Destination", destination)
        .append_pair("SigninToken", token.expose())
        .finish();
    Secret::new(with_query(endpoint, &query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_url_encodes_destination_and_token() {
        let url = login_url(
            DEFAULT_ENDPOINT,
            &default_destination(Some("eu-west-1")),
            &Secret::new("tok/+=".into()),
        );
        assert_eq!(
            url.expose(),
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=awsx&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1&SigninToken=tok%2F%2B%3D"
        );
    }
}
