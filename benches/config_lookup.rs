//! `credential-process` resolves one profile on every AWS call. This compares resolving
//! it through a full parse of a 4,000-profile config with the hot path
//! (`config::find_awsx_profile`), with a plain read of the file as the floor.
use std::hint::black_box;

use awsx_config::{AwsxProfile, ConfigFile, Flavor, find_awsx_profile};
use awsx_core::types::ProfileName;
use criterion::{Criterion, criterion_group, criterion_main};

const PROFILES: usize = 4000;

/// A config shaped like `awsx sync`'s output: a few sessions, then thousands of profiles.
fn generate() -> String {
    let mut s = String::from("[default]\nregion = eu-west-1\n\n");
    for i in 0..3 {
        s.push_str(&format!(
            "[sso-session corp{i}]\nsso_start_url = https://corp{i}.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n\n"
        ));
    }
    s.push_str(
        "# BEGIN awsx managed profiles (written by awsx sync; edits inside are overwritten)\n",
    );
    for i in 0..PROFILES {
        s.push_str(&format!(
            "[profile account-{i:04}-ReadOnly]\ncredential_process = awsx credential-process --profile account-{i:04}-ReadOnly\nregion = eu-west-1\nawsx_sso_session = corp{}\nawsx_account_id = {:012}\nawsx_role_name = ReadOnly\n\n",
            i % 3,
            100_000_000_000u64 + i as u64
        ));
    }
    s.push_str("# END awsx managed profiles\n");
    s
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config");
    std::fs::write(&path, generate()).expect("write config");
    // Near the end: the worst case for a scan.
    let name: ProfileName = "account-3999-ReadOnly".parse().expect("name");

    let mut group = c.benchmark_group("resolve one profile in a 4000-profile config");
    group.bench_function("read file only", |b| {
        b.iter(|| black_box(std::fs::read(&path).expect("read")))
    });
    group.bench_function("full parse + resolve", |b| {
        b.iter(|| {
            let file = ConfigFile::load(&path, Flavor::Config).expect("load");
            black_box(AwsxProfile::resolve(file.doc(), &name).expect("resolve"))
        })
    });
    group.bench_function("fast path", |b| {
        b.iter(|| black_box(find_awsx_profile(&path, &name).expect("find")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
