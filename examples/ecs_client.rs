//! A long-running Rust SDK client, for the tests of `awsx exec --server` (not shipped).
//!
//! It takes its credentials from the container credentials endpoint that its environment
//! names (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, `AWS_CONTAINER_AUTHORIZATION_TOKEN`), through
//! aws-config's own `EcsCredentialsProvider`, and calls STS GetCallerIdentity every half
//! second until it has seen `WANTED_KEYS` different access keys (so the endpoint has renewed
//! them) or a minute has passed. It prints `{"calls", "keys", "arn", "account"}`; any failed
//! call ends it with exit code 1.
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

fn main() {
    let wanted: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        // awsx's SDK setup for the HTTP client and the emulator's endpoint (AWS_ENDPOINT_URL_STS).
        let base = awsx_aws::sdk_config(
            &awsx_core::env::Env::from_process(),
            &"us-east-1".parse().expect("a region"),
            None,
        )
        .await
        .expect("an SDK config");
        let provider = SharedCredentialsProvider::new(
            EcsCredentialsProvider::builder()
                .configure(
                    &ProviderConfig::default()
                        .with_http_client(base.http_client().expect("a client")),
                )
                .build(),
        );
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&base)
                .credentials_provider(provider.clone())
                .build(),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut calls, mut keys, mut arn, mut account) = (0, BTreeSet::new(), None, None);
        while keys.len() < wanted && Instant::now() < deadline {
            let identity = match sts.get_caller_identity().send().await {
                Ok(identity) => identity,
                Err(err) => {
                    eprintln!("GetCallerIdentity failed: {}", aws_smithy_types::error::display::DisplayErrorContext(&err));
                    std::process::exit(1);
                }
            };
            calls += 1;
            arn = identity.arn().map(str::to_owned);
            let creds = provider
                .provide_credentials()
                .await
                .expect("credentials from the endpoint");
            account = creds.account_id().map(|a| a.as_str().to_owned());
            keys.insert(creds.access_key_id().to_owned());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!(
            "{}",
            serde_json::json!({ "calls": calls, "keys": keys.len(), "arn": arn, "account": account })
        );
    });
}
