//! Line-by-line reading of AWS's INI dialect, exactly as botocore reads it (Python's
//! `RawConfigParser` with its defaults, then `configloader.build_profile_map`):
//!
//! - a full-line comment starts with `#` or `;` after optional white space; there are no
//!   inline comments (`region = x # y` has the value `x # y`);
//! - a header is `[` … the last `]` on the line (text after it is ignored);
//! - `key = value` or `key: value`, split at the first `=` or `:`; keys are
//!   case-insensitive, keys and values are trimmed;
//! - a line indented deeper than the key line above it continues that key's value (this is
//!   how nested `s3 =` sub-sections work); blank and comment lines do not end a value;
//! - anything else (text before the first header, a line with no `=`/`:`) makes botocore
//!   reject the whole file. We keep such lines verbatim and report them.
//!
//! The lexer borrows from the text and allocates nothing, so the full document parser
//! and the `credential-process` hot path share it and cannot disagree.

/// A UTF-8 byte-order mark; botocore cannot read a file that starts with one, awsx can.
pub const BOM: &str = "\u{feff}";

/// Why botocore would refuse a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garbage {
    /// A key or other text before the first `[section]` header.
    OutsideSection,
    /// Neither `=` nor `:` on the line.
    NoDelimiter,
    /// `= value` with nothing before the delimiter.
    EmptyKey,
}

impl Garbage {
    pub fn explain(self) -> &'static str {
        match self {
            Garbage::OutsideSection => "text before the first [section] header",
            Garbage::NoDelimiter => "neither a [section] header, a comment nor a key = value line",
            Garbage::EmptyKey => "a value with no key before the '='",
        }
    }
}

/// What one line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    Blank,
    Comment,
    /// `inner` is the text between `[` and the last `]`, untrimmed (botocore's section name).
    Header {
        inner: &'a str,
    },
    /// `key` is as written (not yet lower-cased), both trimmed.
    Key {
        key: &'a str,
        value: &'a str,
    },
    /// More of the previous key's value (trimmed), e.g. a nested `key = value`.
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

/// Iterator over the lines of a whole file (a leading BOM is skipped, not reported).
pub struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
    in_section: bool,
    /// The indentation of the key whose value can still be continued.
    open_key_indent: Option<usize>,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        let pos = if text.starts_with(BOM) { BOM.len() } else { 0 };
        Lexer {
            text,
            pos,
            number: 0,
            in_section: false,
            open_key_indent: None,
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
            open_key_indent: None,
        }
    }

    fn classify(&mut self, content: &'a str) -> Kind<'a> {
        let stripped = content.trim();
        if stripped.is_empty() {
            return Kind::Blank;
        }
        if stripped.starts_with('#') || stripped.starts_with(';') {
            return Kind::Comment;
        }
        let indent = content.len() - content.trim_start().len();
        if self
            .open_key_indent
            .is_some_and(|key_indent| indent > key_indent)
        {
            return Kind::Continuation { text: stripped };
        }
        if let Some(inner) = header_inner(stripped) {
            self.in_section = true;
            self.open_key_indent = None;
            return Kind::Header { inner };
        }
        if !self.in_section {
            return Kind::Garbage(Garbage::OutsideSection);
        }
        // configparser moves its indentation mark even on a line it rejects.
        self.open_key_indent = self.open_key_indent.map(|_| indent);
        let Some(at) = stripped.find(['=', ':']) else {
            return Kind::Garbage(Garbage::NoDelimiter);
        };
        let key = stripped[..at].trim_end();
        if key.is_empty() {
            return Kind::Garbage(Garbage::EmptyKey);
        }
        self.open_key_indent = Some(indent);
        Kind::Key {
            key,
            value: stripped[at + 1..].trim(),
        }
    }
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
    /// cheaper, for the hot path. Most lines of a big config are unindented `key = value`
    /// lines; for those only the first byte and the delimiter are looked at, and the
    /// lexer state is updated exactly as `classify` would. Every other line (indented,
    /// blank, non-ASCII start, `[`) goes through `classify` itself.
    pub fn next_header(&mut self) -> Option<Line<'a>> {
        loop {
            let (start, content, eol) = self.next_raw()?;
            match content.as_bytes().first() {
                Some(b'#' | b';') => continue,
                Some(&b) if b.is_ascii() && b != b'[' && !char::from(b).is_whitespace() => {
                    // Column 0, not a comment or header: a key (or a line botocore
                    // rejects). Neither is a continuation, since nothing is indented less.
                    if self.in_section {
                        // A key needs a delimiter with something before it (`= v` is rejected).
                        let is_key = b != b'=' && b != b':' && content.contains(['=', ':']);
                        self.open_key_indent =
                            (is_key || self.open_key_indent.is_some()).then_some(0);
                    }
                }
                _ => {
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

/// configparser's `\[(?P<header>.+)\]` matched at the start of the stripped line.
fn header_inner(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
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
    /// The config file's rules: `default` is a profile as is; `profile …`, `sso-session …`
    /// and `services …` are split like a shell would (`shlex.split`) and count only when
    /// that gives exactly two words. botocore tests the prefix with `startswith`, so
    /// `[profilex y]` is profile `y`; we copy that rather than disagree with the SDK.
    pub fn of_config_header(inner: &str) -> SectionName {
        if inner == "default" {
            return SectionName::Profile("default".to_owned());
        }
        let make: fn(String) -> SectionName = if inner.starts_with("profile") {
            SectionName::Profile
        } else if inner.starts_with("sso-session") {
            SectionName::SsoSession
        } else if inner.starts_with("services") {
            SectionName::Services
        } else {
            return SectionName::Other;
        };
        match shell_words(inner) {
            Some(mut words) if words.len() == 2 => words.pop().map_or(SectionName::Other, make),
            _ => SectionName::Other,
        }
    }

    /// The credentials file's rules: the whole header text is the profile name.
    pub fn of_credentials_header(inner: &str) -> SectionName {
        SectionName::Profile(inner.to_owned())
    }

    /// Cheap test the hot path runs before allocating anything: could this config-file
    /// header name the profile `name`? (A false positive is fine, a false negative is not.)
    pub fn could_name_profile(inner: &str, name: &str) -> bool {
        inner == "default" || (inner.starts_with("profile") && inner.contains(name))
    }
}

/// A subset of Python's `shlex.split` (POSIX mode): white space separates words, quotes
/// group, a backslash escapes outside single quotes. `None` for an unclosed quote, as
/// shlex raises (and botocore then ignores the section).
pub fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind<'_>> {
        Lexer::new(text).map(|l| l.kind).collect()
    }

    #[test]
    fn reads_keys_with_any_spacing_and_either_delimiter() {
        let k = kinds("[default]\nregion=eu-west-1\noutput :  json  \nurl = a=b:c\n");
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
                value: "a=b:c"
            }
        );
    }

    #[test]
    fn indented_lines_continue_the_key_above_through_blanks_and_comments() {
        let k = kinds("[default]\ns3 =\n  a = b\n\n  # c\n  c = d\nregion = x\n");
        assert_eq!(
            k[1],
            Kind::Key {
                key: "s3",
                value: ""
            }
        );
        assert_eq!(k[2], Kind::Continuation { text: "a = b" });
        assert_eq!(k[3], Kind::Blank);
        assert_eq!(k[4], Kind::Comment);
        assert_eq!(k[5], Kind::Continuation { text: "c = d" });
        assert_eq!(
            k[6],
            Kind::Key {
                key: "region",
                value: "x"
            }
        );
    }

    #[test]
    fn an_indented_header_after_a_key_is_a_continuation_as_in_configparser() {
        let k = kinds("[a]\nk = v\n  [b]\n[c]\n  [d]\n");
        assert_eq!(k[2], Kind::Continuation { text: "[b]" });
        assert_eq!(k[3], Kind::Header { inner: "c" });
        assert_eq!(k[4], Kind::Header { inner: "d" });
    }

    #[test]
    fn headers_take_text_up_to_the_last_bracket() {
        let k = kinds("[profile   foo ] ; note\n[]\n");
        assert_eq!(
            k[0],
            Kind::Header {
                inner: "profile   foo "
            }
        );
        assert_eq!(k[1], Kind::Garbage(Garbage::NoDelimiter));
    }

    #[test]
    fn garbage_is_reported_not_dropped() {
        let k = kinds("orphan = 1\n[a]\nnonsense\n= x\n");
        assert_eq!(k[0], Kind::Garbage(Garbage::OutsideSection));
        assert_eq!(k[2], Kind::Garbage(Garbage::NoDelimiter));
        assert_eq!(k[3], Kind::Garbage(Garbage::EmptyKey));
    }

    #[test]
    fn next_header_finds_exactly_the_headers_the_full_lexer_finds() {
        let pieces = [
            "[a]",
            "  [b]",
            "[c] x",
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
        let text = "\u{feff}[a]\r\nk=v\nlast";
        let lines: Vec<_> = Lexer::new(text).collect();
        assert_eq!(lines[0].eol, "\r\n");
        assert_eq!(lines[0].start, 3);
        assert_eq!(lines[1].eol, "\n");
        assert_eq!(lines[2].eol, "");
        assert_eq!(lines[2].end(), text.len());
    }

    #[test]
    fn config_headers_follow_build_profile_map() {
        use SectionName as S;
        let p = |s: &str| S::Profile(s.to_owned());
        assert_eq!(S::of_config_header("default"), p("default"));
        assert_eq!(S::of_config_header("profile default"), p("default"));
        assert_eq!(S::of_config_header("profile   foo "), p("foo"));
        assert_eq!(S::of_config_header("profile \"a b\""), p("a b"));
        assert_eq!(S::of_config_header("profilex y"), p("y"));
        assert_eq!(S::of_config_header(" profile c"), S::Other);
        assert_eq!(S::of_config_header("profile a b"), S::Other);
        assert_eq!(S::of_config_header("profile 'open"), S::Other);
        assert_eq!(S::of_config_header("default "), S::Other);
        assert_eq!(
            S::of_config_header("sso-session corp"),
            S::SsoSession("corp".into())
        );
        assert_eq!(S::of_config_header("services s"), S::Services("s".into()));
        assert_eq!(S::of_credentials_header(" prod "), p(" prod "));
    }
}
