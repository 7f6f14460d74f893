//! The lossless document: the file's text kept as is, plus an index of its sections and
//! keys. Rendering is the text itself, so `render(parse(x)) == x` holds for every input;
//! edits splice the text and re-index (see `edit.rs`).
use std::path::{Path, PathBuf};

use super::lex::{Kind, Lexer, SectionName, is_identifier};

/// Which of the two AWS files this is: their headers differ (`[profile x]` vs `[x]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Config,
    Credentials,
}

/// One `key = value` with its continuation lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased, as botocore compares keys.
    pub key: String,
    /// The value; continuation lines are joined with `\n` (so a nested sub-section's value
    /// starts with `\n`, as in botocore).
    pub value: String,
    pub line: usize,
    /// Bytes of the key line and its continuation lines, endings included.
    pub start: usize,
    pub end: usize,
}

impl Entry {
    /// The `key = value` pairs of a nested sub-section (`s3 =` then indented lines), or
    /// `None` when this is a plain value or a line has no `=` (botocore rejects that).
    pub fn nested(&self) -> Option<Vec<(&str, &str)>> {
        let body = self.value.strip_prefix('\n')?;
        body.lines()
            .map(|l| l.split_once('=').map(|(k, v)| (k.trim(), v.trim())))
            .collect()
    }
}

/// A `[header]` and what follows it up to the next header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: SectionName,
    /// The text between the brackets, as written.
    pub header: String,
    pub line: usize,
    /// Bytes from the header line to the next header (or the end of the file).
    pub start: usize,
    pub end: usize,
    /// End of the last key, continuation or unparseable line: where a new key goes, and
    /// where a removed section stops (comments and blank lines after it stay).
    pub content_end: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    /// Every property the SDKs see: names that are identifiers (others are ignored, as the
    /// SDKs ignore them), lower-cased, the last of a repeated name winning.
    pub fn properties(&self) -> std::collections::BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|e| is_identifier(&e.key))
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }

    /// The last entry with this key (the SDKs let a repeated key's last value win).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key.eq_ignore_ascii_case(key))
    }
}

/// Something botocore would object to, or that awsx had to choose about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Document {
    path: PathBuf,
    flavor: Flavor,
    text: String,
    sections: Vec<Section>,
    warnings: Vec<Warning>,
}

impl Document {
    /// Index `text`; never fails and never drops a byte. `path` is only for messages.
    pub fn parse(text: impl Into<String>, flavor: Flavor, path: impl Into<PathBuf>) -> Self {
        let mut doc = Document {
            path: path.into(),
            flavor,
            text: text.into(),
            sections: Vec::new(),
            warnings: Vec::new(),
        };
        doc.reindex();
        doc
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The file's bytes: exactly what was parsed, plus any edits.
    pub fn render(&self) -> &str {
        &self.text
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// Lines botocore would reject or that need a decision, in file order.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The line ending new lines get: the one most lines already use (LF on a tie).
    pub fn eol(&self) -> &'static str {
        let crlf = self.text.matches("\r\n").count();
        let lf = self.text.matches('\n').count() - crlf;
        if crlf > lf { "\r\n" } else { "\n" }
    }

    /// What a header means in this file.
    pub fn section_name(&self, inner: &str) -> SectionName {
        match self.flavor {
            Flavor::Config => SectionName::of_config_header(inner),
            Flavor::Credentials => SectionName::of_credentials_header(inner),
        }
    }

    /// Every section that names profile `name`, in file order (the last one counts).
    pub fn profile_sections<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Section> + 's {
        self.sections
            .iter()
            .filter(move |s| matches!(&s.name, SectionName::Profile(n) if n == name))
    }

    /// The name a section goes by when cleaning up static keys: its profile name or, in the
    /// credentials file, the header of a section the SDKs ignore (`[profile x]`, `[a b]`):
    /// the keys in it are still keys on disk.
    pub fn key_holder_name<'s>(&self, s: &'s Section) -> Option<&'s str> {
        match &s.name {
            SectionName::Profile(n) => Some(n),
            SectionName::Other if self.flavor == Flavor::Credentials => {
                Some(s.header.trim_matches([' ', '\t']))
            }
            _ => None,
        }
    }

    /// The sections [`Document::key_holder_name`] calls `name`, in file order.
    pub fn key_holder_sections<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Section> + 's {
        self.sections
            .iter()
            .filter(move |s| self.key_holder_name(s) == Some(name))
    }

    /// Every section that names sso-session `name`, in file order.
    pub fn sso_session_sections<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Section> + 's {
        self.sections
            .iter()
            .filter(move |s| matches!(&s.name, SectionName::SsoSession(n) if n == name))
    }

    pub(super) fn replace_text(&mut self, text: String) {
        self.text = text;
        self.reindex();
    }

    fn reindex(&mut self) {
        let (mut sections, mut warnings) = index(&self.text, self.flavor);
        // The SDKs ignore `[default]` in a config file that has `[profile default]`.
        if self.flavor == Flavor::Config
            && sections
                .iter()
                .any(|s| SectionName::is_prefixed_default(&s.header))
        {
            for s in &mut sections {
                if s.name == SectionName::Profile("default".into())
                    && !SectionName::is_prefixed_default(&s.header)
                {
                    s.name = SectionName::Other;
                    warnings.push(Warning {
                        line: s.line,
                        message: "[default] is ignored by the SDKs because the file also has [profile default] (the AWS CLI v1 uses whichever comes last): merge the two".into(),
                    });
                }
            }
        }
        self.sections = sections;
        self.check_duplicates(&mut warnings);
        warnings.sort_by_key(|w| w.line);
        self.warnings = warnings;
    }

    /// botocore rejects a file with a repeated header or key, and lets the later of two
    /// differently written headers for one profile win (`[default]` then `[profile default]`,
    /// or `[profile a]` then `[profile  a]`). We warn about all three; resolution refuses the
    /// first two for the affected profile only, and follows botocore on the third.
    fn check_duplicates(&self, warnings: &mut Vec<Warning>) {
        let mut seen: std::collections::HashMap<&str, usize> = Default::default();
        let mut names: std::collections::HashMap<&SectionName, (usize, &str)> = Default::default();
        for s in &self.sections {
            if let Some(first) = seen.insert(&s.header, s.line) {
                warnings.push(Warning {
                    line: s.line,
                    message: format!("[{}] repeats the header on line {first}; the SDKs merge the two, but the AWS CLI v1 and boto3 refuse the whole file: merge the two sections", s.header),
                });
            } else if s.name != SectionName::Other
                && let Some((first, header)) = names.insert(&s.name, (s.line, &s.header))
            {
                warnings.push(Warning {
                    line: s.line,
                    message: format!("[{}] names the same section as [{header}] on line {first}; the SDKs merge them, the AWS CLI v1 and boto3 use only the later one: remove one of them", s.header),
                });
            }
            for (i, e) in s.entries.iter().enumerate() {
                if let Some(first) = s.entries[..i].iter().find(|f| f.key == e.key) {
                    warnings.push(Warning {
                        line: e.line,
                        message: format!("{} repeats the key on line {}; the SDKs take the last, but the AWS CLI v1 and boto3 refuse the whole file: keep one", e.key, first.line),
                    });
                }
            }
            if s.header == "DEFAULT" {
                warnings.push(Warning {
                    line: s.line,
                    message: "[DEFAULT] keys apply to every section for the AWS CLI, awsx ignores them: move them into the profiles".into(),
                });
            }
        }
    }
}

fn index(text: &str, flavor: Flavor) -> (Vec<Section>, Vec<Warning>) {
    let mut sections: Vec<Section> = Vec::new();
    let mut warnings = Vec::new();
    for line in Lexer::new(text) {
        match line.kind {
            Kind::Header { inner } => {
                if let Some(prev) = sections.last_mut() {
                    prev.end = line.start;
                }
                let name = match flavor {
                    Flavor::Config => SectionName::of_config_header(inner),
                    Flavor::Credentials => SectionName::of_credentials_header(inner),
                };
                sections.push(Section {
                    name,
                    header: inner.to_owned(),
                    line: line.number,
                    start: line.start,
                    end: text.len(),
                    content_end: line.end(),
                    entries: Vec::new(),
                });
            }
            Kind::Key { key, value } => {
                if let Some(s) = sections.last_mut() {
                    s.content_end = line.end();
                    s.entries.push(Entry {
                        key: key.to_ascii_lowercase(),
                        value: value.to_owned(),
                        line: line.number,
                        start: line.start,
                        end: line.end(),
                    });
                }
            }
            Kind::Continuation { text: more } => {
                if let Some(s) = sections.last_mut() {
                    s.content_end = line.end();
                    if let Some(e) = s.entries.last_mut() {
                        e.value.push('\n');
                        e.value.push_str(more);
                        e.end = line.end();
                    }
                }
            }
            Kind::Garbage(why) => {
                if let Some(s) = sections.last_mut() {
                    s.content_end = line.end();
                }
                warnings.push(Warning {
                    line: line.number,
                    message: format!(
                        "{}, which makes the AWS SDKs and CLI refuse the whole file: {}",
                        why.explain(),
                        why.fix()
                    ),
                });
            }
            Kind::Blank | Kind::Comment => {}
        }
    }
    (sections, warnings)
}

/// Read one section starting at its header line without indexing the rest of the file
/// (the hot path). Gives the same `Section` as a whole-file parse.
pub(super) fn read_section(
    text: &str,
    start: usize,
    number: usize,
    flavor: Flavor,
) -> Option<Section> {
    let mut lexer = Lexer::from_header(text, start, number);
    let first = lexer.next()?;
    let Kind::Header { inner } = first.kind else {
        return None;
    };
    let end = lexer
        .find(|l| matches!(l.kind, Kind::Header { .. }))
        .map_or(text.len(), |l| l.start);
    // A slice that starts at a header lexes exactly as it does inside the whole file.
    let (mut sections, _) = index(&text[start..end], flavor);
    let mut s = sections.pop()?;
    let shift = |x: &mut usize| *x += start;
    shift(&mut s.start);
    shift(&mut s.end);
    shift(&mut s.content_end);
    s.line = number;
    for e in &mut s.entries {
        shift(&mut e.start);
        shift(&mut e.end);
        e.line += number - 1;
    }
    debug_assert_eq!(s.header, inner);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document::parse(text, Flavor::Config, "/h/.aws/config")
    }

    #[test]
    fn round_trips_any_text_byte_for_byte() {
        for text in [
            "",
            "\n",
            "\u{feff}[default]\r\nregion = x",
            "garbage\n[a\n]\n= =\n\t[profile x]\n  k=v\r\n\r\n;c",
            "[profile a]\nk = v\n  nested = 1\n  [not a header]\n",
        ] {
            assert_eq!(doc(text).render(), text);
        }
    }

    #[test]
    fn indexes_sections_entries_and_nested_values() {
        let d = doc(
            "# top\n[default]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n\n[profile   dev ]\nRegion=us-east-1\n",
        );
        let s = &d.sections()[0];
        assert_eq!(s.name, SectionName::Profile("default".into()));
        assert_eq!(s.get("region").map(|e| e.value.as_str()), Some("eu-west-1"));
        let s3 = s.get("s3").and_then(Entry::nested);
        assert_eq!(s3, Some(vec![("addressing_style", "path")]));
        let dev = d.profile_sections("dev").next().map(|s| s.line);
        assert_eq!(dev, Some(7));
        assert_eq!(d.sections()[1].get("REGION").map(|e| e.line), Some(8));
    }

    #[test]
    fn warns_about_what_the_sdks_reject_or_the_aws_cli_reads_otherwise() {
        let d = doc("\u{feff}x\n[a]\nk=1\nk=2\n[a]\n[default]\n[profile default]\nnonsense\n");
        let lines: Vec<usize> = d.warnings().iter().map(|w| w.line).collect();
        assert_eq!(lines, vec![1, 4, 5, 6, 8]);
    }

    #[test]
    fn picks_the_dominant_line_ending() {
        assert_eq!(doc("[a]\r\nk=v\r\nx=y\n").eol(), "\r\n");
        assert_eq!(doc("[a]\nk=v\r\n").eol(), "\n");
        assert_eq!(doc("").eol(), "\n");
    }

    #[test]
    fn reading_one_section_matches_the_whole_file_parse() {
        let text = "[a]\nk=v\n[profile b]\r\nx = 1\n  y = 2\n# c\n[c]\n";
        let d = doc(text);
        let b = &d.sections()[1];
        assert_eq!(
            read_section(text, b.start, b.line, Flavor::Config).as_ref(),
            Some(b)
        );
    }
}
