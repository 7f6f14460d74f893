//! What `awsx sync` writes: one profile per account and role the portal lists, named by the
//! template, normalised to lowercase-with-dashes, collisions resolved deterministically, and
//! rendered as the text of the managed block; and the plan of a sync ([`plan`]): what
//! happens to each profile (keep, add, remove, update) and which sessions' listings came
//! back empty. Pure functions on plain data: the command fetches the listings, shows the
//! plan and applies it.
//!
//! Naming rules (documented in the README):
//! - the template's placeholders are filled in, then the whole name is normalised: words
//!   split at case changes (`ReadOnlyAccess` → `read-only-access`, `AWSAdmin` → `aws-admin`),
//!   lower-cased, every run of other characters becomes one `-`, no `-` at either end;
//! - names that two or more roles share, or that a profile outside the block (or `default`)
//!   already has, get the account id appended (`dev-admin-123456789012`);
//! - if that still collides (two role names that normalise alike in one account), `-2`,
//!   `-3`, … follow in order of (session, account id, role name).
use std::collections::{BTreeMap, HashMap, HashSet};

use awsx_config::document::{Document, Flavor};
use awsx_core::types::{AccountId, ProfileName, Region, RoleName, SsoSessionName};

use crate::portal::AccountRoles;

/// One profile in the managed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedProfile {
    pub name: ProfileName,
    pub session: SsoSessionName,
    pub account_id: AccountId,
    pub account_name: String,
    pub role: RoleName,
    pub region: Option<Region>,
}

/// One session's listing, with the region its profiles get.
#[derive(Debug, Clone)]
pub struct SessionListing<'a> {
    pub session: &'a SsoSessionName,
    pub region: &'a Region,
    pub accounts: &'a [AccountRoles],
}

/// `text` in lowercase-with-dashes, words split at case changes.
pub fn normalise(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut dash = false;
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            dash = !out.is_empty();
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                dash = !out.is_empty();
            }
        }
        if dash {
            out.push('-');
            dash = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The template filled in for one role, normalised.
pub fn base_name(
    template: &str,
    session: &SsoSessionName,
    account_name: &str,
    account_id: &AccountId,
    role: &RoleName,
) -> String {
    let filled = template
        .replace("{account_name}", account_name)
        .replace("{account_id}", account_id.as_str())
        .replace("{role_name}", role.as_str())
        .replace("{sso_session}", session.as_str());
    normalise(&filled)
}

/// Every role of every listing as a profile, named per the module's rules and sorted by
/// name. `reserved` are names that may not be used (profiles outside the block, other
/// sessions' synced profiles); `default` always is.
pub fn name_profiles(
    template: &str,
    listings: &[SessionListing<'_>],
    reserved: &HashSet<String>,
) -> Vec<SyncedProfile> {
    struct Item<'a> {
        base: String,
        session: &'a SsoSessionName,
        region: &'a Region,
        account: &'a AccountRoles,
        role: &'a RoleName,
    }
    let mut items: Vec<Item<'_>> = listings
        .iter()
        .flat_map(|l| {
            l.accounts.iter().flat_map(move |a| {
                a.roles.iter().map(move |role| Item {
                    base: base_name(template, l.session, &a.account_name, &a.account_id, role),
                    session: l.session,
                    region: l.region,
                    account: a,
                    role,
                })
            })
        })
        .collect();
    items.sort_by(|a, b| {
        (a.session, &a.account.account_id, a.role).cmp(&(b.session, &b.account.account_id, b.role))
    });
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for item in &items {
        *counts.entry(item.base.as_str()).or_default() += 1;
    }
    let taken = |name: &str| reserved.contains(name) || name == "default";
    let wanted: Vec<String> = items
        .iter()
        .map(|item| {
            let unique = counts.get(item.base.as_str()) == Some(&1);
            if unique && !item.base.is_empty() && !taken(&item.base) {
                item.base.clone()
            } else if item.base.is_empty() {
                item.account.account_id.to_string()
            } else {
                format!("{}-{}", item.base, item.account.account_id)
            }
        })
        .collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (item, wanted) in items.iter().zip(wanted) {
        let mut name = wanted.clone();
        let mut n = 2;
        while taken(&name) || used.contains(&name) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        used.insert(name.clone());
        // Normalised names never contain what a profile name may not.
        let Ok(profile) = name.parse::<ProfileName>() else {
            continue;
        };
        out.push(SyncedProfile {
            name: profile,
            session: item.session.clone(),
            account_id: item.account.account_id.clone(),
            account_name: item.account.account_name.clone(),
            role: item.role.clone(),
            region: Some(item.region.clone()),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The block's text: the profiles, a blank line between them. `program` is what
/// `credential_process` runs (`awsx`, or the binary's absolute path).
pub fn render(profiles: &[SyncedProfile], program: &str) -> String {
    let mut out = String::new();
    for (i, p) in profiles.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render_one(p, program));
    }
    out
}

fn render_one(p: &SyncedProfile, program: &str) -> String {
    let mut s = format!(
        "[profile {name}]\ncredential_process = {program} credential-process --profile {name}\nawsx_sso_session = {}\nawsx_account_id = {}\nawsx_account_name = {}\nawsx_role_name = {}\n",
        p.session,
        p.account_id,
        one_line(&p.account_name),
        p.role,
        name = p.name,
    );
    if let Some(region) = &p.region {
        s.push_str(&format!("region = {region}\n"));
    }
    s
}

/// A value that fits on one line of an INI file without surrounding space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The profiles a previous sync wrote into the block, by name (for keeping other sessions'
/// profiles and for the added/removed/changed summary). Sections that are not whole synced
/// profiles are skipped.
pub fn parse_block(text: &str) -> BTreeMap<String, (Option<SyncedProfile>, String)> {
    let doc = Document::parse(text, Flavor::Config, "managed block");
    let mut out = BTreeMap::new();
    for section in doc.sections() {
        let awsx_config::lex::SectionName::Profile(name) = &section.name else {
            continue;
        };
        let get = |k: &str| section.get(k).map(|e| e.value.clone());
        let parsed = (|| {
            Some(SyncedProfile {
                name: name.parse().ok()?,
                session: get("awsx_sso_session")?.parse().ok()?,
                account_id: get("awsx_account_id")?.parse().ok()?,
                account_name: get("awsx_account_name").unwrap_or_default(),
                role: get("awsx_role_name")?.parse().ok()?,
                region: get("region").and_then(|r| r.parse().ok()),
            })
        })();
        // The block is written with the file's line endings; compare the text, not them.
        let body = text[section.start..section.content_end].replace("\r\n", "\n");
        out.insert(name.clone(), (parsed, body));
    }
    out
}

/// What a sync does to one profile of the managed block, by comparing its text before and
/// after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// In both blocks, the same text.
    Keep,
    /// Only in the new block.
    Add,
    /// Only in the old block.
    Remove,
    /// In both blocks, with different text (another region, account name, program…).
    Update,
}

/// A synced session whose portal listed no role at all, while the block holds `doomed`
/// profiles synced from it: applying the plan would delete every one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emptied {
    pub session: SsoSessionName,
    pub doomed: usize,
}

/// What a sync would write, worked out from plain data.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    /// The new block's profiles, sorted by name: the listed ones and the kept profiles of
    /// sessions not synced now.
    pub profiles: Vec<SyncedProfile>,
    /// The new block's text (without line-ending conversion; the editor applies the file's).
    pub block: String,
    /// Every profile name of either block, with what happens to it.
    pub changes: BTreeMap<String, Change>,
    /// Synced sessions that listed no role while the block holds their profiles.
    pub emptied: Vec<Emptied>,
}

impl SyncPlan {
    /// How many profiles get `change`.
    pub fn count(&self, change: Change) -> usize {
        self.changes.values().filter(|c| **c == change).count()
    }
}

/// What the plan is made from.
#[derive(Debug, Clone)]
pub struct SyncInput<'a> {
    /// The profile-name template (`profile_name_template` in config.toml).
    pub template: &'a str,
    /// What `credential_process` runs (`awsx`, or the binary's path, quoted).
    pub program: &'a str,
    /// The current managed block's text, `""` when there is none.
    pub old_block: &'a str,
    /// Profile names outside the block, which no synced profile may take.
    pub outside: &'a HashSet<String>,
    /// The listing of every session synced now; other sessions' profiles are kept.
    pub listings: &'a [SessionListing<'a>],
}

/// The plan of a sync: the profiles of the sessions synced now are replaced by what their
/// listings hold; the profiles of other sessions are kept (and their names reserved); a
/// name outside the block is never reused.
pub fn plan(input: &SyncInput<'_>) -> SyncPlan {
    let old = parse_block(input.old_block);
    let synced_now: HashSet<&SsoSessionName> = input.listings.iter().map(|l| l.session).collect();
    let kept: Vec<SyncedProfile> = old
        .values()
        .filter_map(|(p, _)| p.clone())
        .filter(|p| !synced_now.contains(&p.session))
        .collect();
    let mut reserved = input.outside.clone();
    reserved.extend(kept.iter().map(|p| p.name.to_string()));
    let mut profiles = name_profiles(input.template, input.listings, &reserved);
    profiles.extend(kept);
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    let block = render(&profiles, input.program);

    let new = parse_block(&block);
    let mut changes = BTreeMap::new();
    for (name, (_, body)) in &new {
        let change = match old.get(name) {
            None => Change::Add,
            Some((_, before)) if before == body => Change::Keep,
            Some(_) => Change::Update,
        };
        changes.insert(name.clone(), change);
    }
    for name in old.keys().filter(|k| !new.contains_key(*k)) {
        changes.insert(name.clone(), Change::Remove);
    }

    let emptied = input
        .listings
        .iter()
        .filter(|l| l.accounts.iter().all(|a| a.roles.is_empty()))
        .filter_map(|l| {
            let doomed = old
                .values()
                .filter_map(|(p, _)| p.as_ref())
                .filter(|p| &p.session == l.session)
                .count();
            (doomed > 0).then(|| Emptied {
                session: l.session.clone(),
                doomed,
            })
        })
        .collect();
    SyncPlan {
        profiles,
        block,
        changes,
        emptied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, name: &str, roles: &[&str]) -> AccountRoles {
        AccountRoles {
            account_id: id.parse().unwrap(),
            account_name: name.into(),
            roles: roles.iter().map(|r| r.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn normalise_splits_words_and_lowercases() {
        assert_eq!(normalise("ReadOnlyAccess"), "read-only-access");
        assert_eq!(
            normalise("AWSAdministratorAccess"),
            "aws-administrator-access"
        );
        assert_eq!(normalise("S3ReadOnly"), "s3-read-only");
        assert_eq!(normalise("Sandbox - EU_West"), "sandbox-eu-west");
        assert_eq!(normalise("account-0001"), "account-0001");
        assert_eq!(normalise("  --Prod!! "), "prod");
        assert_eq!(normalise("PermissionSet01"), "permission-set01");
    }

    #[test]
    fn template_placeholders_are_filled_then_normalised() {
        let s: SsoSessionName = "acme".parse().unwrap();
        let a: AccountId = "123456789012".parse().unwrap();
        let r: RoleName = "PowerUserAccess".parse().unwrap();
        assert_eq!(
            base_name("{account_name}-{role_name}", &s, "Dev Team", &a, &r),
            "dev-team-power-user-access"
        );
        assert_eq!(
            base_name("{sso_session}.{account_id}.{role_name}", &s, "x", &a, &r),
            "acme-123456789012-power-user-access"
        );
    }

    #[test]
    fn collisions_get_the_account_id_then_a_counter_deterministically() {
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        let accounts = vec![
            account("222222222222", "Dev", &["Admin"]),
            account("111111111111", "dev", &["Admin", "ReadOnly", "Read-Only"]),
            account("333333333333", "prod", &["Admin"]),
            account("444444444444", "mine", &["Admin"]),
            account("555555555555", "de", &["Fault"]),
        ];
        let reserved: HashSet<String> = ["mine-admin".to_owned()].into();
        let listing = [SessionListing {
            session: &session,
            region: &region,
            accounts: &accounts,
        }];
        let names: Vec<String> = name_profiles("{account_name}-{role_name}", &listing, &reserved)
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "de-fault",
                "dev-admin-111111111111",
                "dev-admin-222222222222",
                "dev-read-only-111111111111",
                "dev-read-only-111111111111-2",
                "mine-admin-444444444444",
                "prod-admin"
            ]
        );
        // The same input in another order gives the same names.
        let mut shuffled = accounts.clone();
        shuffled.reverse();
        let listing = [SessionListing {
            session: &session,
            region: &region,
            accounts: &shuffled,
        }];
        let again: Vec<String> = name_profiles("{account_name}-{role_name}", &listing, &reserved)
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(names, again);
    }

    #[test]
    fn rendered_block_parses_back() {
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "us-east-1".parse().unwrap();
        let accounts = vec![account(
            "200000000002",
            "Sandbox  Team",
            &["ReadOnlyAccess"],
        )];
        let listing = [SessionListing {
            session: &session,
            region: &region,
            accounts: &accounts,
        }];
        let profiles = name_profiles("{account_name}-{role_name}", &listing, &HashSet::new());
        let text = render(&profiles, "awsx");
        assert_eq!(
            text,
            "[profile sandbox-team-read-only-access]\ncredential_process = awsx credential-process --profile sandbox-team-read-only-access\nawsx_sso_session = acme\nawsx_account_id = 200000000002\nawsx_account_name = Sandbox Team\nawsx_role_name = ReadOnlyAccess\nregion = us-east-1\n"
        );
        let parsed = parse_block(&text);
        let (back, body) = &parsed["sandbox-team-read-only-access"];
        assert_eq!(back.as_ref().unwrap().account_id.as_str(), "200000000002");
        // A CRLF file's block holds the same profile.
        let crlf = parse_block(&text.replace('\n', "\r\n"));
        assert_eq!(&crlf["sandbox-team-read-only-access"].1, body);
    }

    fn listing<'a>(
        session: &'a SsoSessionName,
        region: &'a Region,
        accounts: &'a [AccountRoles],
    ) -> SessionListing<'a> {
        SessionListing {
            session,
            region,
            accounts,
        }
    }

    /// The block an earlier sync of `accounts` from session `acme` (eu-west-1) wrote.
    fn earlier_block(accounts: &[AccountRoles]) -> String {
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        let listings = [listing(&session, &region, accounts)];
        let input = SyncInput {
            template: "{account_name}-{role_name}",
            program: "awsx",
            old_block: "",
            outside: &HashSet::new(),
            listings: &listings,
        };
        plan(&input).block
    }

    fn changes(plan: &SyncPlan) -> Vec<(&str, Change)> {
        plan.changes.iter().map(|(k, c)| (k.as_str(), *c)).collect()
    }

    #[test]
    fn first_sync_adds_every_listed_role() {
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        let accounts = [account("111111111111", "Dev", &["Admin", "ReadOnly"])];
        let listings = [listing(&session, &region, &accounts)];
        let plan = plan(&SyncInput {
            template: "{account_name}-{role_name}",
            program: "awsx",
            old_block: "",
            outside: &HashSet::new(),
            listings: &listings,
        });
        assert_eq!(
            changes(&plan),
            [("dev-admin", Change::Add), ("dev-read-only", Change::Add)]
        );
        assert_eq!(plan.count(Change::Add), 2);
        assert!(plan.emptied.is_empty());
        assert!(plan.block.starts_with("[profile dev-admin]\n"));
    }

    #[test]
    fn a_second_sync_of_the_same_listing_keeps_everything() {
        let accounts = [account("111111111111", "Dev", &["Admin", "ReadOnly"])];
        let old = earlier_block(&accounts);
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        let listings = [listing(&session, &region, &accounts)];
        let plan = plan(&SyncInput {
            template: "{account_name}-{role_name}",
            program: "awsx",
            old_block: &old,
            outside: &HashSet::new(),
            listings: &listings,
        });
        assert_eq!(
            changes(&plan),
            [("dev-admin", Change::Keep), ("dev-read-only", Change::Keep)]
        );
        assert_eq!(plan.block, old);
    }

    #[test]
    fn a_role_gone_from_the_portal_is_removed_and_a_new_one_added() {
        let old = earlier_block(&[account("111111111111", "Dev", &["Admin", "ReadOnly"])]);
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        let accounts = [account("111111111111", "Dev", &["Admin", "Billing"])];
        let listings = [listing(&session, &region, &accounts)];
        let plan = plan(&SyncInput {
            template: "{account_name}-{role_name}",
            program: "awsx",
            old_block: &old,
            outside: &HashSet::new(),
            listings: &listings,
        });
        assert_eq!(
            changes(&plan),
            [
                ("dev-admin", Change::Keep),
                ("dev-billing", Change::Add),
                ("dev-read-only", Change::Remove)
            ]
        );
        assert!(!plan.block.contains("dev-read-only"));
    }

    #[test]
    fn a_profile_whose_region_or_program_changed_is_updated() {
        let accounts = [account("111111111111", "Dev", &["Admin"])];
        let old = earlier_block(&accounts);
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "us-east-1".parse().unwrap();
        let listings = [listing(&session, &region, &accounts)];
        let input = SyncInput {
            template: "{account_name}-{role_name}",
            program: "awsx",
            old_block: &old,
            outside: &HashSet::new(),
            listings: &listings,
        };
        let moved = plan(&input);
        assert_eq!(changes(&moved), [("dev-admin", Change::Update)]);
        assert!(moved.block.contains("region = us-east-1\n"));

        let region: Region = "eu-west-1".parse().unwrap();
        let listings = [listing(&session, &region, &accounts)];
        let reinstalled = plan(&SyncInput {
            program: "/opt/awsx/bin/awsx",
            listings: &listings,
            ..input
        });
        assert_eq!(changes(&reinstalled), [("dev-admin", Change::Update)]);
    }

    #[test]
    fn other_sessions_profiles_are_kept_and_their_names_reserved() {
        let old = earlier_block(&[account("111111111111", "Dev", &["Admin"])]);
        let other: SsoSessionName = "beta".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        let accounts = [account("222222222222", "Dev", &["Admin"])];
        let listings = [listing(&other, &region, &accounts)];
        let outside: HashSet<String> = ["dev-admin-222222222222".to_owned()].into();
        let plan = plan(&SyncInput {
            template: "{account_name}-{role_name}",
            program: "awsx",
            old_block: &old,
            outside: &outside,
            listings: &listings,
        });
        // acme's dev-admin stays; beta's takes neither it nor the name outside the block.
        assert_eq!(
            changes(&plan),
            [
                ("dev-admin", Change::Keep),
                ("dev-admin-222222222222-2", Change::Add)
            ]
        );
        let sessions: Vec<&str> = plan.profiles.iter().map(|p| p.session.as_str()).collect();
        assert_eq!(sessions, ["acme", "beta"]);
    }

    #[test]
    fn an_empty_listing_of_a_session_with_synced_profiles_is_flagged() {
        let old = earlier_block(&[account("111111111111", "Dev", &["Admin", "ReadOnly"])]);
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        // An account listed with no role counts as empty too.
        let accounts = [account("111111111111", "Dev", &[])];
        let listings = [listing(&session, &region, &accounts)];
        let plan = plan(&SyncInput {
            template: "{account_name}-{role_name}",
            program: "awsx",
            old_block: &old,
            outside: &HashSet::new(),
            listings: &listings,
        });
        assert_eq!(
            plan.emptied,
            [Emptied {
                session: session.clone(),
                doomed: 2
            }]
        );
        assert_eq!(plan.count(Change::Remove), 2);
        assert_eq!(plan.block, "");
    }

    #[test]
    fn an_empty_listing_is_not_flagged_when_nothing_would_be_deleted() {
        let old = earlier_block(&[account("111111111111", "Dev", &["Admin"])]);
        let other: SsoSessionName = "beta".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        let listings = [listing(&other, &region, &[])];
        let plan = plan(&SyncInput {
            template: "{account_name}-{role_name}",
            program: "awsx",
            old_block: &old,
            outside: &HashSet::new(),
            listings: &listings,
        });
        assert!(plan.emptied.is_empty());
        assert_eq!(changes(&plan), [("dev-admin", Change::Keep)]);
    }
}
