//! `awsx doctor`: run the checks of `crate::doctor` and render them, a checklist on stdout
//! (or the `--json` document, schema in docs/doctor.md). Exit 1 when any check failed.
use super::Context;
use crate::cli::DoctorArgs;
use crate::doctor::{Check, DoctorError, Status, chain, clock, setup};
use crate::error::Result;
use awsx_config::settings::Settings;

pub fn run(ctx: &Context, args: DoctorArgs) -> Result<()> {
    let env = &ctx.env;
    let profile_name = super::common::given_profile_name(ctx, args.profile.as_deref())?;
    let mut checks: Vec<Check> = Vec::new();
    let files = setup::files(env, &mut checks);
    let config = files.config.as_ref().map(|f| f.doc());
    let credentials = files.credentials.as_ref().map(|f| f.doc());
    if let Some(doc) = config {
        setup::profiles(env, doc, &mut checks);
    }
    let settings = match Settings::load(env) {
        Ok(s) => {
            let path = Settings::path(env);
            let summary = if path.exists() {
                format!("settings read from {}", path.display())
            } else {
                format!("default settings ({} does not exist)", path.display())
            };
            checks.push(match s.margin_warning() {
                Some(warning) => Check::warn("settings", summary, warning),
                None => Check::ok("settings", summary),
            });
            Some(s)
        }
        Err(e) => {
            checks.push(Check::fail(
                "settings",
                format!("awsx's settings cannot be read: {e}"),
                e.to_string(),
            ));
            None
        }
    };
    if let Some(settings) = &settings {
        let opened = setup::keychain(settings, &mut checks);
        if let Some(doc) = config {
            setup::sessions(env, settings, doc, opened.as_ref(), &mut checks);
            crate::doctor::console::checks(env, settings, doc, &mut checks);
        }
    }
    setup::environment(env, config, credentials, &mut checks);
    setup::long_lived_keys(credentials, &mut checks);
    setup::shell(env, &mut checks);
    let profile = match (&profile_name, config) {
        (Some(name), Some(doc)) => awsx_config::Profile::find(doc, name).ok().flatten(),
        _ => None,
    };
    checks.push(clock::check(env, &chain::region_for(env, profile.as_ref())));
    if let Some(name) = &profile_name {
        chain::run(
            env,
            name,
            crate::explain::assume_role::chain_fix,
            &mut checks,
        );
    }

    if args.json {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            version: u32,
            checks: &'a [Check],
        }
        let doc = Report {
            version: 1,
            checks: &checks,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?
        );
    } else {
        for check in &checks {
            let mark = match check.status {
                Status::Ok => "✔",
                Status::Warn => "!",
                Status::Fail => "✖",
            };
            println!("{mark} {}", check.summary);
            if check.status != Status::Ok
                && let Some(fix) = &check.fix
            {
                println!("    fix: {fix}");
            }
        }
    }
    match checks.iter().filter(|c| c.status == Status::Fail).count() {
        0 => Ok(()),
        count => Err(DoctorError::Failed { count }.into()),
    }
}
