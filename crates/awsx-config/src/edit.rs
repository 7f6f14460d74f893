//! Edits. Each one splices the text it owns and re-indexes; every byte outside the lines
//! it changes stays as it was (the corpus tests check this on real-world files). New lines
//! use the file's dominant line ending.
use std::ops::Range;

use super::document::{Document, Flavor};
use super::lex::{Kind, Lexer, SectionName};
use super::session::pick_for_edit as pick;
use super::{Error, Result};
use awsx_core::types::{ProfileName, Region, SsoSessionName, StartUrl};

pub const MANAGED_BEGIN: &str =
    "# BEGIN awsx managed profiles (written by awsx sync; edits inside are overwritten)";
pub const MANAGED_END: &str = "# END awsx managed profiles";

/// Where the managed block is: `outer` spans both marker lines, `inner` what is between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedBlock {
    pub begin_line: usize,
    pub outer: Range<usize>,
    pub inner: Range<usize>,
}

impl Document {
    /// The managed block, if there is one. A BEGIN without END (or the reverse, or two
    /// blocks) is an error that says how to repair it: guessing where the block ends could
    /// make the next sync delete the user's own profiles.
    pub fn managed_block(&self) -> Result<Option<ManagedBlock>> {
        let problem = |line, problem: &str| Error::ManagedBlock {
            path: self.path().to_owned(),
            line,
            problem: problem.to_owned(),
        };
        let mut open: Option<(usize, usize, usize)> = None; // (line, start, inner start)
        let mut found: Option<ManagedBlock> = None;
        for line in Lexer::new(self.render()) {
            if line.kind != Kind::Comment {
                continue;
            }
            match line.content.trim() {
                MANAGED_BEGIN => {
                    if let Some((first, ..)) = open {
                        return Err(problem(
                            line.number,
                            &format!(
                                "a second `{MANAGED_BEGIN}` line before the block opened on line {first} ends; delete one of the two"
                            ),
                        ));
                    }
                    if let Some(b) = &found {
                        return Err(problem(
                            line.number,
                            &format!(
                                "a second awsx managed block (the first starts on line {}); delete one block, then run awsx sync",
                                b.begin_line
                            ),
                        ));
                    }
                    open = Some((line.number, line.start, line.end()));
                }
                MANAGED_END => {
                    let Some((begin_line, start, inner_start)) = open.take() else {
                        return Err(problem(
                            line.number,
                            &format!(
                                "`{MANAGED_END}` without a BEGIN line above it; delete this line"
                            ),
                        ));
                    };
                    found = Some(ManagedBlock {
                        begin_line,
                        outer: start..line.end(),
                        inner: inner_start..line.start,
                    });
                }
                _ => {}
            }
        }
        if let Some((line, ..)) = open {
            return Err(problem(
                line,
                &format!(
                    "the awsx managed block that starts here has no `{MANAGED_END}` line; add that line after the last synced profile (or delete the BEGIN line and the synced profiles below it), then run awsx sync again"
                ),
            ));
        }
        Ok(found)
    }

    /// The text between the markers (what the last sync wrote), if there is a block.
    pub fn read_managed_block(&self) -> Result<Option<&str>> {
        Ok(self.managed_block()?.map(|b| &self.render()[b.inner]))
    }

    /// Put `profiles` (INI text: whole `[profile …]` sections) between the markers: in
    /// place when the block exists, else appended at the end after a blank line.
    pub fn replace_managed_block(&mut self, profiles: &str) -> Result<()> {
        let check = Document::parse(profiles, self.flavor(), self.path());
        if let Some(w) = check.warnings().first() {
            return Err(self.invalid(format!(
                "the new managed block's line {} is wrong: {}",
                w.line, w.message
            )));
        }
        if profiles
            .lines()
            .any(|l| [MANAGED_BEGIN, MANAGED_END].contains(&l.trim()))
        {
            return Err(self.invalid("the new managed block contains a marker line".into()));
        }
        let eol = self.eol();
        let body = with_line_endings(profiles, eol);
        let block = self.managed_block()?;
        if let Some(block) = &block {
            self.refuse_foreign_sections(block)?;
        }
        match block {
            Some(block) => {
                // Keep the marker lines' own endings (the END line may end the file without one).
                let text = self.render();
                let begin = &text[block.outer.start..block.inner.start];
                let end = &text[block.inner.end..block.outer.end];
                let new = format!("{begin}{body}{end}");
                self.splice(block.outer, &new);
            }
            None => self.append(&format!("{MANAGED_BEGIN}{eol}{body}{MANAGED_END}{eol}")),
        }
        Ok(())
    }

    /// Whether `replace_managed_block` would refuse the block as it is (checked before a
    /// sync's network calls, so a broken block fails fast).
    pub fn check_managed_block(&self) -> Result<()> {
        match self.managed_block()? {
            Some(block) => self.refuse_foreign_sections(&block),
            None => Ok(()),
        }
    }

    /// A section sync did not write (an `[sso-session]`, `[services]`, …) put inside the
    /// block by hand: replacing the block would delete it, so refuse and say where it goes.
    fn refuse_foreign_sections(&self, block: &ManagedBlock) -> Result<()> {
        let foreign = self
            .sections()
            .iter()
            .find(|s| block.inner.contains(&s.start) && !matches!(s.name, SectionName::Profile(_)));
        match foreign {
            Some(s) => Err(Error::ManagedBlock {
                path: self.path().to_owned(),
                line: s.line,
                problem: format!(
                    "[{}] is inside the awsx managed block (which starts on line {}), where awsx sync would delete it; move it above the block's BEGIN line, then run awsx sync again",
                    s.header, block.begin_line
                ),
            }),
            None => Ok(()),
        }
    }

    /// Create `[sso-session NAME]` at the end, or update just these keys where they are
    /// (comments and other keys stay). Empty `scopes` leave `sso_registration_scopes` alone.
    pub fn upsert_sso_session(
        &mut self,
        name: &SsoSessionName,
        start_url: &StartUrl,
        region: &Region,
        scopes: &[String],
    ) -> Result<()> {
        let scopes = scopes.join(",");
        let mut pairs = vec![
            ("sso_start_url", start_url.as_str()),
            ("sso_region", region.as_str()),
        ];
        if !scopes.is_empty() {
            pairs.push(("sso_registration_scopes", &scopes));
        }
        let block = self.managed_block()?;
        let existing = pick(
            self.sso_session_sections(name.as_str()),
            &format!("[sso-session {name}]"),
            self.path(),
        )?;
        match existing {
            Some(s) if block.as_ref().is_some_and(|b| b.outer.contains(&s.start)) => {
                Err(Error::InsideManagedBlock {
                    section: format!("[sso-session {name}]"),
                    path: self.path().to_owned(),
                    line: s.line,
                    fix: "move it above the block's BEGIN line, then run the command again",
                })
            }
            Some(s) => {
                let start = s.start;
                self.set_keys_in_section(start, &pairs)
            }
            None => {
                let header = format!(
                    "[sso-session {}]",
                    self.quoted(
                        name.as_str(),
                        |n| SectionName::SsoSession(n.to_owned()),
                        "sso-session "
                    )?
                );
                self.append_section(&header, &pairs)
            }
        }
    }

    /// Set keys of profile `name` outside the managed block (break-glass profiles):
    /// in place when the profile exists, else as a new section at the end.
    pub fn set_profile_keys(&mut self, name: &ProfileName, pairs: &[(&str, &str)]) -> Result<()> {
        let block = self.managed_block()?;
        let section = pick(
            self.profile_sections(name.as_str()),
            &format!("profile {name}"),
            self.path(),
        )?;
        match section {
            Some(s) if block.as_ref().is_some_and(|b| b.outer.contains(&s.start)) => {
                Err(Error::InsideManagedBlock {
                    section: format!("profile {name}"),
                    path: self.path().to_owned(),
                    line: s.line,
                    fix: "choose another name or remove it from awsx sync",
                })
            }
            Some(s) => {
                let start = s.start;
                self.set_keys_in_section(start, pairs)
            }
            None => {
                let header = self.profile_header(name)?;
                self.append_section(&header, pairs)
            }
        }
    }

    /// A profile written twice is refused (as botocore refuses the file): which of the two
    /// the user means is theirs to say, and an edit of both could remove what they keep.
    fn refuse_duplicate_profile(&self, name: &str) -> Result<()> {
        pick(
            self.key_holder_sections(name),
            &format!("profile {name}"),
            self.path(),
        )
        .map(drop)
    }

    /// Remove `keys` from every section of profile `name` (the credentials file's static
    /// keys, once they are in the keychain). Returns how many key lines went.
    pub fn remove_profile_keys(&mut self, name: &str, keys: &[&str]) -> Result<usize> {
        self.refuse_duplicate_profile(name)?;
        let ranges: Vec<Range<usize>> = self
            .key_holder_sections(name)
            .flat_map(|s| &s.entries)
            .filter(|e| keys.iter().any(|k| k.eq_ignore_ascii_case(&e.key)))
            .map(|e| e.start..e.end)
            .collect();
        let n = ranges.len();
        self.remove_ranges(ranges);
        Ok(n)
    }

    /// Remove every section of profile `name`: header, keys, and the lines in between.
    /// Comments and blank lines after its last key stay (they may introduce the next
    /// section). Returns how many sections went.
    pub fn remove_section(&mut self, name: &str) -> Result<usize> {
        self.refuse_duplicate_profile(name)?;
        let text = self.render();
        let ranges: Vec<Range<usize>> = self
            .key_holder_sections(name)
            .map(|s| {
                let mut end = s.content_end;
                // Do not leave two blank lines where the section was.
                let blank_before = s.start == 0
                    || text[..s.start].ends_with("\n\n")
                    || text[..s.start].ends_with("\n\r\n");
                let next_blank = text[end..]
                    .split_inclusive('\n')
                    .next()
                    .filter(|l| l.trim().is_empty());
                if let (true, Some(l)) = (blank_before, next_blank) {
                    end += l.len();
                }
                s.start..end
            })
            .collect();
        let n = ranges.len();
        self.remove_ranges(ranges);
        Ok(n)
    }

    fn remove_ranges(&mut self, mut ranges: Vec<Range<usize>>) {
        if ranges.is_empty() {
            return;
        }
        ranges.sort_by_key(|r| std::cmp::Reverse(r.start));
        let mut text = self.render().to_owned();
        for r in ranges {
            text.replace_range(r, "");
        }
        self.replace_text(text);
    }

    /// `[profile NAME]` (or `[default]`) in the config file, `[NAME]` in credentials.
    fn profile_header(&self, name: &ProfileName) -> Result<String> {
        Ok(match self.flavor() {
            Flavor::Credentials => format!("[{name}]"),
            Flavor::Config if name.as_str() == "default" => "[default]".to_owned(),
            Flavor::Config => {
                format!(
                    "[profile {}]",
                    self.quoted(
                        name.as_str(),
                        |n| SectionName::Profile(n.to_owned()),
                        "profile "
                    )?
                )
            }
        })
    }

    /// `name` as botocore's shell-style split will read it back, quoted if it must be.
    fn quoted(&self, name: &str, expect: fn(&str) -> SectionName, prefix: &str) -> Result<String> {
        let plain = !name
            .chars()
            .any(|c| c.is_whitespace() || "\"'\\#;".contains(c));
        let quoted = if plain {
            name.to_owned()
        } else {
            format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
        };
        if SectionName::of_config_header(&format!("{prefix}{quoted}")) != expect(name) {
            return Err(self.invalid(format!("{name:?} cannot be written as a section name")));
        }
        Ok(quoted)
    }

    /// Update or add `pairs` in the section whose header starts at byte `start`.
    fn set_keys_in_section(&mut self, start: usize, pairs: &[(&str, &str)]) -> Result<()> {
        for (key, value) in pairs {
            self.check_pair(key, value)?;
            let Some(section) = self.sections().iter().find(|s| s.start == start) else {
                return Err(self.invalid("the section moved during the edit".into()));
            };
            let eol = self.eol();
            match section.get(key) {
                Some(e) => {
                    let (range, line) = (e.start..e.end, self.rewrite_value(e.start..e.end, value));
                    self.splice(range, &line);
                }
                None => {
                    let at = section.content_end;
                    let lead = if self.render()[..at].ends_with('\n') {
                        ""
                    } else {
                        eol
                    };
                    self.splice(at..at, &format!("{lead}{key} = {value}{eol}"));
                }
            }
        }
        Ok(())
    }

    /// The key line in `range` with its value replaced, keeping the key's own spelling,
    /// spacing and line ending; continuation lines (a nested value) are dropped.
    fn rewrite_value(&self, range: Range<usize>, value: &str) -> String {
        let old = &self.render()[range];
        let (first, rest) = old.split_once('\n').map_or((old, ""), |(f, r)| (f, r));
        let first = first.strip_suffix('\r').unwrap_or(first);
        let eol = if rest.is_empty() {
            &old[first.len()..]
        } else if old.ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let delim = first.find(['=', ':']).map_or(first.len(), |i| i + 1);
        let after = &first[delim..];
        let value_at = delim + (after.len() - after.trim_start().len());
        let old_value = first[value_at..].trim_end();
        let tail = &first[value_at + old_value.len()..];
        let gap = if old_value.is_empty() && !first[..value_at].ends_with(' ') {
            " "
        } else {
            ""
        };
        format!("{}{gap}{value}{tail}{eol}", &first[..value_at])
    }

    fn append_section(&mut self, header: &str, pairs: &[(&str, &str)]) -> Result<()> {
        for (key, value) in pairs {
            self.check_pair(key, value)?;
        }
        let eol = self.eol();
        let mut chunk = format!("{header}{eol}");
        for (key, value) in pairs {
            chunk.push_str(&format!("{key} = {value}{eol}"));
        }
        self.append(&chunk);
        Ok(())
    }

    /// Add `chunk` at the end, after a blank line unless the file is empty or already ends
    /// with one, and after completing a last line that has no line ending.
    fn append(&mut self, chunk: &str) {
        let eol = self.eol();
        let text = self.render();
        let mut new = text.to_owned();
        let body = text.strip_prefix(super::lex::BOM).unwrap_or(text);
        if !body.is_empty() {
            if !text.ends_with('\n') {
                new.push_str(eol);
            }
            let last_line = new
                .trim_end_matches(['\r', '\n'])
                .rsplit('\n')
                .next()
                .unwrap_or("");
            let ends_blank =
                new.ends_with("\n\n") || new.ends_with("\n\r\n") || last_line.trim().is_empty();
            if !ends_blank {
                new.push_str(eol);
            }
        }
        new.push_str(chunk);
        self.replace_text(new);
    }

    fn splice(&mut self, range: Range<usize>, with: &str) {
        let mut text = self.render().to_owned();
        text.replace_range(range, with);
        self.replace_text(text);
    }

    fn check_pair(&self, key: &str, value: &str) -> Result<()> {
        let key_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !key_ok || value.contains(['\n', '\r']) || value.trim() != value {
            return Err(self.invalid(format!("cannot write {key} = {value:?}: keys are letters, digits and _ and values are one line without surrounding spaces")));
        }
        Ok(())
    }

    fn invalid(&self, reason: String) -> Error {
        Error::InvalidEdit {
            path: self.path().to_owned(),
            reason,
        }
    }
}

/// `text` with every line ending made `eol`, ending with one unless empty.
fn with_line_endings(text: &str, eol: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        out.push_str(line);
        out.push_str(eol);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document::parse(text, Flavor::Config, "~/.aws/config")
    }

    fn session() -> (SsoSessionName, StartUrl, Region) {
        (
            "corp".parse().unwrap(),
            "https://corp.awsapps.com/start".parse().unwrap(),
            "eu-west-1".parse().unwrap(),
        )
    }

    #[test]
    fn first_sync_appends_the_block_after_a_blank_line_then_replaces_it_in_place() {
        let mut d = doc("[default]\r\nregion = eu-west-1\r\n");
        d.replace_managed_block("[profile a]\nregion = x\n")
            .unwrap();
        assert_eq!(
            d.render(),
            format!(
                "[default]\r\nregion = eu-west-1\r\n\r\n{MANAGED_BEGIN}\r\n[profile a]\r\nregion = x\r\n{MANAGED_END}\r\n"
            )
        );
        let mut text = d.render().to_owned();
        text.push_str("\r\n# mine\r\n[profile mine]\r\n");
        let mut d = doc(&text);
        d.replace_managed_block("[profile b]\n").unwrap();
        assert_eq!(d.read_managed_block().unwrap(), Some("[profile b]\r\n"));
        assert!(d.render().ends_with(&format!(
            "{MANAGED_END}\r\n\r\n# mine\r\n[profile mine]\r\n"
        )));
    }

    #[test]
    fn a_missing_end_marker_is_an_error_that_says_how_to_fix_it() {
        let mut d = doc(&format!(
            "[a]\nk=v\n{MANAGED_BEGIN}\n[profile x]\n[profile mine]\n"
        ));
        let err = d.replace_managed_block("").unwrap_err().to_string();
        assert!(
            err.contains("(line 3)") && err.contains("add that line"),
            "{err}"
        );
        let d = doc(&format!("{MANAGED_END}\n"));
        assert!(d.read_managed_block().is_err());
    }

    #[test]
    fn a_hand_placed_session_inside_the_block_is_never_deleted_or_edited_there() {
        let text = format!(
            "[default]\n{MANAGED_BEGIN}\n[profile synced]\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n{MANAGED_END}\n"
        );
        let mut d = doc(&text);
        let err = d
            .replace_managed_block("[profile b]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("(line 4)") && err.contains("move it above the block's BEGIN line"),
            "{err}"
        );
        let (n, u, r) = session();
        let err = d.upsert_sso_session(&n, &u, &r, &[]).unwrap_err();
        assert!(
            matches!(err, Error::InsideManagedBlock { line: 4, .. }),
            "{err}"
        );
        assert_eq!(d.render(), text);
    }

    #[test]
    fn the_block_text_must_be_sections() {
        let mut d = doc("");
        assert!(d.replace_managed_block("region = x\n").is_err());
        assert!(
            d.replace_managed_block(&format!("[profile a]\n{MANAGED_END}\n"))
                .is_err()
        );
        d.replace_managed_block("").unwrap();
        assert_eq!(d.render(), format!("{MANAGED_BEGIN}\n{MANAGED_END}\n"));
    }

    #[test]
    fn upsert_sso_session_updates_in_place_keeping_comments_and_spacing() {
        let (n, u, r) = session();
        let mut d = doc(
            "[sso-session corp]\n# portal\nsso_start_url=https://old.awsapps.com/start   \nsso_region= us-east-1\nextra = 1\n\n# next\n[default]\n",
        );
        d.upsert_sso_session(&n, &u, &r, &["sso:account:access".into()])
            .unwrap();
        assert_eq!(
            d.render(),
            "[sso-session corp]\n# portal\nsso_start_url=https://corp.awsapps.com/start   \nsso_region= eu-west-1\nextra = 1\nsso_registration_scopes = sso:account:access\n\n# next\n[default]\n"
        );
    }

    #[test]
    fn upsert_sso_session_appends_a_new_section() {
        let (n, u, r) = session();
        let mut d = doc("[default]\nregion = x");
        d.upsert_sso_session(&n, &u, &r, &[]).unwrap();
        assert_eq!(
            d.render(),
            "[default]\nregion = x\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
        );
    }

    #[test]
    fn set_profile_keys_creates_quotes_and_refuses_the_managed_block() {
        let mut d = doc(&format!(
            "{MANAGED_BEGIN}\n[profile synced]\n{MANAGED_END}\n"
        ));
        // A name the SDKs would ignore (not an identifier) is refused, not written.
        let spaced: ProfileName = "prod bg".parse().unwrap();
        assert!(
            d.set_profile_keys(&spaced, &[("awsx_breakglass_user", "alice")])
                .is_err()
        );
        let bg: ProfileName = "prod-bg".parse().unwrap();
        d.set_profile_keys(&bg, &[("awsx_breakglass_user", "alice")])
            .unwrap();
        assert!(
            d.render()
                .ends_with("\n\n[profile prod-bg]\nawsx_breakglass_user = alice\n"),
            "{}",
            d.render()
        );
        assert_eq!(d.profile_sections("prod-bg").count(), 1);
        d.set_profile_keys(
            &bg,
            &[("awsx_breakglass_user", "bob"), ("region", "us-east-1")],
        )
        .unwrap();
        assert!(
            d.render()
                .ends_with("[profile prod-bg]\nawsx_breakglass_user = bob\nregion = us-east-1\n")
        );
        let synced: ProfileName = "synced".parse().unwrap();
        assert!(matches!(
            d.set_profile_keys(&synced, &[("k", "v")]),
            Err(Error::InsideManagedBlock { line: 2, .. })
        ));
        assert!(d.set_profile_keys(&bg, &[("k", "two\nlines")]).is_err());
    }

    #[test]
    fn set_profile_keys_replaces_a_nested_value_and_fills_an_empty_one() {
        let mut d = doc("[default]\ns3 =\n  a = b\nregion =\nlast = 1");
        let name: ProfileName = "default".parse().unwrap();
        d.set_profile_keys(&name, &[("s3", "x"), ("region", "eu-west-1"), ("new", "y")])
            .unwrap();
        assert_eq!(
            d.render(),
            "[default]\ns3 = x\nregion = eu-west-1\nlast = 1\nnew = y\n"
        );
    }

    #[test]
    fn a_profile_written_twice_is_not_edited() {
        let text = "[dev]\naws_access_key_id = AKIA1\n[dev]\naws_secret_access_key = s1\n";
        let mut d = Document::parse(text, Flavor::Credentials, "credentials");
        for result in [
            d.remove_profile_keys("dev", &["aws_access_key_id"]),
            d.remove_section("dev"),
        ] {
            assert!(
                matches!(
                    result,
                    Err(Error::DuplicateSection {
                        first: 1,
                        second: 3,
                        ..
                    })
                ),
                "{result:?}"
            );
        }
        assert_eq!(d.render(), text);
    }

    #[test]
    fn removes_static_keys_and_sections_from_the_credentials_file() {
        let text = "# keys\n[dev]\naws_access_key_id = AKIA1\naws_secret_access_key = s1\nregion = x\n\n[prod]\naws_access_key_id = AKIA2\naws_secret_access_key = s2\n\n# other\n[other]\nk = v\n";
        let mut d = Document::parse(text, Flavor::Credentials, "~/.aws/credentials");
        assert_eq!(
            d.remove_profile_keys("dev", &["aws_access_key_id", "AWS_SECRET_ACCESS_KEY"])
                .unwrap(),
            2
        );
        assert_eq!(d.remove_section("prod").unwrap(), 1);
        assert_eq!(d.remove_section("absent").unwrap(), 0);
        assert_eq!(
            d.render(),
            "# keys\n[dev]\nregion = x\n\n# other\n[other]\nk = v\n"
        );
    }
}
