//! Line-by-line reading of the AWS config and credentials files, exactly as the AWS SDKs
//! read them: their shared profile-parser suite (`test-data/profile-parser-tests.json` in
//! the `aws-runtime` crate, run by tests/it/config.rs) is the grammar.
//!
//! - a comment line starts with `#` or `;` in the first column; a blank line holds only
//!   spaces and tabs;
//! - a header is a line starting with `[`: after cutting a comment (`#` or `;` anywhere) and
//!   trimming, it must end with `]`;
//! - a line starting with a space or tab continues the property above it (and only a
//!   property: not a header, not the top of the file); after a property with an empty value
//!   (`s3 =`), each such line is a sub-property and must be `name = value`;
//! - any other line is `name = value`, inside a section, split at the first `=`; a `#` or
//!   `;` that follows white space starts a comment; names and values are trimmed.
//!
//! A line that breaks these rules makes the SDKs refuse the whole file. The lexer still
//! classifies every line (as `Garbage`), so a document stays lossless; commands refuse such
//! a file (see `config::utf8`). The lexer borrows from the text and allocates nothing, so
//! the full document parser and the `credential-process` hot path share it.

/// A UTF-8 byte-order mark: the SDKs read it as text before the first header.
pub const BOM: &str = "\u{feff}";

/// The white space the SDKs trim: spaces and tabs only.
const WS: [char; 2] = [' ', '\t'];

/// Why the SDKs refuse a line (and with it the whole file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garbage {
    /// A property or continuation before the first `[section]` header.
    OutsideSection,
    /// A property line with no `=`.
    NoDelimiter,
    /// `= value` with nothing before the `=`.
    EmptyKey,
    /// A header line that does not end with `]`.
    UnclosedHeader,
    /// An indented line right after a header: it continues no property.
    ContinuationWithoutProperty,
    /// A sub-property line (indented, after `name =`) with no `=`.
    SubPropertyNoDelimiter,
    /// A sub-property line `= value`.
    SubPropertyEmptyKey,
    /// The file starts with a UTF-8 byte-order mark.
    Bom,
}

impl Garbage {
    /// What is wrong, as the SDKs' own message says it.
    pub fn explain(self) -> &'static str {
        match self {
            Garbage::OutsideSection => "text before the first [section] header",
            Garbage::NoDelimiter => {
                "a line that is neither a [section] header, a comment nor a name = value property (no '=')"
            }
            Garbage::EmptyKey => "a property with no name before the '='",
            Garbage::UnclosedHeader => "a section header that does not end with ']'",
            Garbage::ContinuationWithoutProperty => {
                "an indented line right after a section header: indented lines continue the property above them"
            }
            Garbage::SubPropertyNoDelimiter => {
                "an indented line under a property with an empty value, which must be a sub-property: name = value"
            }
            Garbage::SubPropertyEmptyKey => "a sub-property with no name before the '='",
            Garbage::Bom => "a UTF-8 byte-order mark at the start of the file",
        }
    }

    /// How to repair it.
    pub fn fix(self) -> &'static str {
        match self {
            Garbage::OutsideSection => "move it under a [profile NAME] header, or delete it",
            Garbage::NoDelimiter | Garbage::SubPropertyNoDelimiter => {
                "write it as name = value (only '=' separates), make it a comment with # in the first column, or delete it"
            }
            Garbage::EmptyKey | Garbage::SubPropertyEmptyKey => "add the name, or delete the line",
            Garbage::UnclosedHeader => "close it with ']' (a comment may follow the ']')",
            Garbage::ContinuationWithoutProperty => {
                "remove the indentation, or delete the line (a comment must start in the first column)"
            }
            Garbage::Bom => "save the file as UTF-8 without BOM",
        }
    }
}

/// What one line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    Blank,
    Comment,
    /// `inner` is the text between `[` and `]` (after cutting a comment), untrimmed.
    Header {
        inner: &'a str,
    },
    /// `key` is as written (not yet lower-cased), both trimmed, a trailing comment cut.
    Key {
        key: &'a str,
        value: &'a str,
    },
    /// More of the previous property's value (trimmed; comments are part of it).
    Continuation {
        text: &'a str,
    },
    Garbage(Garbage),
}

/// One line of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based, as editors show it.
    pub number: usize,
    /// Byte offset of the line's first byte in the text given to [`Lexer::new`].
    pub start: usize,
    /// The line without its ending.
    pub content: &'a str,
    /// `"\n"`, `"\r\n"` or `""` (last line without a newline).
    pub eol: &'a str,
    pub kind: Kind<'a>,
}

impl Line<'_> {
    /// Byte offset just past the line's ending.
    pub fn end(&self) -> usize {
        self.start + self.content.len() + self.eol.len()
    }
}

/// Iterator over the lines of a whole file.
pub struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
    in_section: bool,
    /// The property that indented lines continue: `Some(true)` when its value was empty, so
    /// they are sub-properties.
    property: Option<bool>,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Lexer {
            text,
            pos: 0,
            number: 0,
            in_section: false,
            property: None,
        }
    }

    /// Lex from a header line at byte `start` (line `number`). A header resets all
    /// state, so this classifies every following line exactly as a whole-file pass would.
    pub fn from_header(text: &'a str, start: usize, number: usize) -> Self {
        Lexer {
            text,
            pos: start,
            number: number - 1,
            in_section: false,
            property: None,
        }
    }

    fn classify(&mut self, content: &'a str) -> Kind<'a> {
        if self.number == 1 && content.starts_with(BOM) {
            return Kind::Garbage(Garbage::Bom);
        }
        if content.trim_matches(WS).is_empty() {
            return Kind::Blank;
        }
        if content.starts_with(['#', ';']) {
            return Kind::Comment;
        }
        if content.starts_with('[') {
            self.in_section = true;
            self.property = None;
            return match prepare(content, false)
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
            {
                Some(inner) => Kind::Header { inner },
                None => Kind::Garbage(Garbage::UnclosedHeader),
            };
        }
        if !self.in_section {
            return Kind::Garbage(Garbage::OutsideSection);
        }
        if content.starts_with(WS) {
            return match self.property {
                None => Kind::Garbage(Garbage::ContinuationWithoutProperty),
                Some(true) => match property(content) {
                    Ok(_) => Kind::Continuation {
                        text: content.trim_matches(WS),
                    },
                    Err(Garbage::EmptyKey) => Kind::Garbage(Garbage::SubPropertyEmptyKey),
                    Err(_) => Kind::Garbage(Garbage::SubPropertyNoDelimiter),
                },
                Some(false) => Kind::Continuation {
                    text: content.trim_matches(WS),
                },
            };
        }
        match property(content) {
            Ok((key, value)) => {
                self.property = Some(value.is_empty());
                Kind::Key { key, value }
            }
            Err(why) => Kind::Garbage(why),
        }
    }
}

/// The SDKs' `prepare_line`: trim, cut a comment (`#` or `;`; in a property only after
/// white space), trim again.
fn prepare(line: &str, comments_need_whitespace: bool) -> &str {
    let line = line.trim_matches(WS);
    let mut prev_whitespace = false;
    let mut cut = line.len();
    for (at, c) in line.char_indices() {
        if (c == '#' || c == ';') && (prev_whitespace || !comments_need_whitespace) {
            cut = at;
            break;
        }
        prev_whitespace = c.is_whitespace();
    }
    line[..cut].trim_matches(WS)
}

/// `name = value` as the SDKs split a property line.
fn property(line: &str) -> Result<(&str, &str), Garbage> {
    let line = prepare(line, true);
    let (key, value) = line.split_once('=').ok_or(Garbage::NoDelimiter)?;
    let key = key.trim_matches(WS);
    if key.is_empty() {
        return Err(Garbage::EmptyKey);
    }
    Ok((key, value.trim_matches(WS)))
}

/// The first line the SDKs refuse, if any: (line number, why).
pub fn first_error(text: &str) -> Option<(usize, Garbage)> {
    Lexer::new(text).find_map(|l| match l.kind {
        Kind::Garbage(why) => Some((l.number, why)),
        _ => None,
    })
}

/// A name the SDKs accept for a section or property (others are ignored, not refused).
pub fn is_identifier(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

impl<'a> Lexer<'a> {
    /// The next line without classifying it.
    fn next_raw(&mut self) -> Option<(usize, &'a str, &'a str)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let (line, eol) = match rest.find('\n') {
            Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => (&rest[..i - 1], "\r\n"),
            Some(i) => (&rest[..i], "\n"),
            None => (rest, ""),
        };
        let start = self.pos;
        self.pos += line.len() + eol.len();
        self.number += 1;
        Some((start, line, eol))
    }

    /// The next header line, skipping the rest: what `self.find(is header)` gives, but
    /// cheaper, for the hot path. Only a line starting with `[` can be a header, whatever
    /// came before it, so no other line needs classifying.
    pub fn next_header(&mut self) -> Option<Line<'a>> {
        loop {
            let (start, content, eol) = self.next_raw()?;
            if !content.starts_with('[') {
                continue;
            }
            let kind = self.classify(content);
            if let Kind::Header { .. } = kind {
                return Some(Line {
                    number: self.number,
                    start,
                    content,
                    eol,
                    kind,
                });
            }
        }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        let (start, content, eol) = self.next_raw()?;
        let kind = self.classify(content);
        Some(Line {
            number: self.number,
            start,
            content,
            eol,
            kind,
        })
    }
}

/// What a header names, in the config file's rules (`build_profile_map`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionName {
    /// `[default]`, `[profile NAME]` (so `[profile default]` is `default` too).
    Profile(String),
    /// `[sso-session NAME]`.
    SsoSession(String),
    /// `[services NAME]`.
    Services(String),
    /// Anything botocore does not treat as one of the above (kept, never used).
    Other,
}

impl SectionName {
    /// The config file's rules (the SDKs' `SectionPair`): the header text is trimmed and
    /// split at its first space or tab; without a prefix only `default` is a profile; with
    /// one, the name must be an identifier (`[profile a b]`, `[profile foo!]` are ignored),
    /// and `profile`, `sso-session` and `services` say what the section is.
    /// (`[default]` is ignored when the file also has `[profile default]`: see `Document`.)
    pub fn of_config_header(inner: &str) -> SectionName {
        let text = inner.trim_matches(WS);
        match text.split_once(WS) {
            None if text.trim() == "default" => SectionName::Profile("default".to_owned()),
            None => SectionName::Other,
            Some((prefix, name)) => {
                let name = name.trim();
                if !is_identifier(name) {
                    return SectionName::Other;
                }
                match prefix.trim() {
                    "profile" => SectionName::Profile(name.to_owned()),
                    "sso-session" => SectionName::SsoSession(name.to_owned()),
                    "services" => SectionName::Services(name.to_owned()),
                    _ => SectionName::Other,
                }
            }
        }
    }

    /// `[profile default]` (not `[default]`), which wins over `[default]` in the SDKs.
    pub fn is_prefixed_default(inner: &str) -> bool {
        inner.trim_matches(WS).split_once(WS).is_some()
            && Self::of_config_header(inner) == SectionName::Profile("default".to_owned())
    }

    /// The credentials file's rules: the trimmed header is the profile name, if it is an
    /// identifier; a header with a prefix (`[profile x]`) is ignored.
    pub fn of_credentials_header(inner: &str) -> SectionName {
        let text = inner.trim_matches(WS);
        if text.split_once(WS).is_some() || !is_identifier(text.trim()) {
            return SectionName::Other;
        }
        SectionName::Profile(text.trim().to_owned())
    }

    /// Cheap test the hot path runs before allocating anything: could this config-file
    /// header name the profile `name`? (A false positive is fine, a false negative is not.)
    pub fn could_name_profile(inner: &str, name: &str) -> bool {
        inner.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind<'_>> {
        Lexer::new(text).map(|l| l.kind).collect()
    }

    #[test]
    fn reads_properties_and_cuts_comments_that_follow_white_space() {
        let k = kinds("[default]\nregion=eu-west-1\noutput =  json # x\nurl = a=b:c#d\n");
        assert_eq!(
            k[1],
            Kind::Key {
                key: "region",
                value: "eu-west-1"
            }
        );
        assert_eq!(
            k[2],
            Kind::Key {
                key: "output",
                value: "json"
            }
        );
        assert_eq!(
            k[3],
            Kind::Key {
                key: "url",
                value: "a=b:c#d"
            }
        );
    }

    #[test]
    fn indented_lines_continue_the_property_above_through_blanks() {
        let k = kinds("[default]\ns3 =\n  a = b\n\n  c = d\nregion = x\n  more # kept\n");
        assert_eq!(
            k[1],
            Kind::Key {
                key: "s3",
                value: ""
            }
        );
        assert_eq!(k[2], Kind::Continuation { text: "a = b" });
        assert_eq!(k[3], Kind::Blank);
        assert_eq!(k[4], Kind::Continuation { text: "c = d" });
        assert_eq!(
            k[6],
            Kind::Continuation {
                text: "more # kept"
            }
        );
    }

    #[test]
    fn what_the_sdks_refuse_is_garbage() {
        use Garbage as G;
        let first = |text: &str| first_error(text).map(|(_, g)| g);
        assert_eq!(first("[profile foo"), Some(G::UnclosedHeader));
        assert_eq!(first("[profile foo] x"), Some(G::UnclosedHeader));
        assert_eq!(first("name = value"), Some(G::OutsideSection));
        assert_eq!(first(" -continued"), Some(G::OutsideSection));
        assert_eq!(
            first("[a]\n -continued"),
            Some(G::ContinuationWithoutProperty)
        );
        assert_eq!(first("[a]\nkey : value"), Some(G::NoDelimiter));
        assert_eq!(first("[a]\n= value"), Some(G::EmptyKey));
        assert_eq!(
            first("[a]\ns3 =\n invalid"),
            Some(G::SubPropertyNoDelimiter)
        );
        assert_eq!(first("[a]\ns3 =\n = v"), Some(G::SubPropertyEmptyKey));
        assert_eq!(first("\u{feff}[a]\n"), Some(G::Bom));
        assert_eq!(
            first("[a]\nk = v\n  # an indented comment continues k\n"),
            None
        );
        assert_eq!(first("[a] ; note\n[b]# note\n"), None);
        assert_eq!(first_error("[a]\nk = v\n[b]\n\tx").map(|(l, _)| l), Some(4));
    }

    #[test]
    fn next_header_finds_exactly_the_headers_the_full_lexer_finds() {
        let pieces = [
            "[a]",
            "  [b]",
            "[c] x",
            "[c] # x",
            "k = v",
            "k",
            "= v",
            "  k = v",
            "\tnested = 1",
            "# c",
            "; c",
            "",
            " ",
            "[",
            "[]",
            "\u{a0}[d]",
            "[profile e]",
            "  # c",
            "junk:",
            "\u{feff}",
            "x\r",
            "s3 =",
        ];
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..rng.usize(0..12) {
                text.push_str(pieces[rng.usize(..pieces.len())]);
                text.push_str(["\n", "\r\n", ""][rng.usize(..3)]);
            }
            let full: Vec<Line<'_>> = Lexer::new(&text)
                .filter(|l| matches!(l.kind, Kind::Header { .. }))
                .collect();
            let mut lexer = Lexer::new(&text);
            let fast: Vec<Line<'_>> = std::iter::from_fn(|| lexer.next_header()).collect();
            assert_eq!(fast, full, "{text:?}");
        }
    }

    #[test]
    fn keeps_each_line_ending_and_offsets() {
        let text = "[a]\r\nk=v\nlast";
        let lines: Vec<_> = Lexer::new(text).collect();
        assert_eq!(lines[0].eol, "\r\n");
        assert_eq!(lines[1].start, 5);
        assert_eq!(lines[1].eol, "\n");
        assert_eq!(lines[2].eol, "");
        assert_eq!(lines[2].end(), text.len());
    }

    #[test]
    fn config_headers_follow_the_sdks_section_rules() {
        use SectionName as S;
        let p = |s: &str| S::Profile(s.to_owned());
        assert_eq!(S::of_config_header("default"), p("default"));
        assert_eq!(S::of_config_header(" default "), p("default"));
        assert_eq!(S::of_config_header("profile default"), p("default"));
        assert_eq!(S::of_config_header("profile \tfoo \t"), p("foo"));
        assert_eq!(S::of_config_header("   profile foo    "), p("foo"));
        assert_eq!(S::of_config_header("profile\tfoo"), p("foo"));
        assert_eq!(S::of_config_header("profilefoo"), S::Other);
        assert_eq!(S::of_config_header("profile a b"), S::Other);
        assert_eq!(S::of_config_header("profile foo!bar"), S::Other);
        assert_eq!(S::of_config_header("foo"), S::Other);
        assert_eq!(
            S::of_config_header("sso-session corp"),
            S::SsoSession("corp".into())
        );
        assert_eq!(S::of_config_header("sso-sesion corp"), S::Other);
        assert_eq!(S::of_config_header("services s"), S::Services("s".into()));
        assert!(S::is_prefixed_default("profile default"));
        assert!(!S::is_prefixed_default("default"));
        assert_eq!(S::of_credentials_header(" prod "), p("prod"));
        assert_eq!(S::of_credentials_header("profile x"), S::Other);
        assert_eq!(
            S::of_credentials_header("sso-sessionfoo"),
            p("sso-sessionfoo")
        );
    }
}
