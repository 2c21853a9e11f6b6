//! Reading the TOML config file, with every error pointing at the key and line it is about.
//!
//! serde does the reading; the `toml` crate gives each error the byte span of the offending key
//! or value. That span is turned into a line and column, and the key is named by looking the span
//! up in the document's own table of spanned keys, so the operator reads
//! `ferret.toml:12:14: key forward-zones[0].servers[1]: bad server address ...`.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hickory_proto::rr::RecordType;
use thiserror::Error;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Config;
use crate::records::cname_target;
use clap::CommandFactory;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    /// The file does not parse, has an unknown key, a value of the wrong type or a bad value.
    #[error("{}", describe(path, *line, *column, key.as_ref(), message))]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        key: Option<KeyPath>,
        message: String,
    },
    /// The settings parse, but do not make sense together (after flags were applied, if any).
    #[error("invalid setting {key}: {message}")]
    Inconsistent { key: KeyPath, message: String },
    #[error("{0}")]
    CommandLine(#[from] clap::Error),
}

impl ConfigError {
    /// The line (from 1) the error is about, when it is about a place in a file.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The key the error is about, when known.
    pub fn key(&self) -> Option<&KeyPath> {
        match self {
            ConfigError::Invalid { key, .. } => key.as_ref(),
            ConfigError::Inconsistent { key, .. } => Some(key),
            _ => None,
        }
    }
}

fn describe(
    path: &Path,
    line: usize,
    column: usize,
    key: Option<&KeyPath>,
    message: &str,
) -> String {
    match key {
        Some(key) => format!("{}:{line}:{column}: key {key}: {message}", path.display()),
        None => format!("{}:{line}:{column}: {message}", path.display()),
    }
}

/// Where a setting sits in the file: `cache-size`, `limits.max-referrals`,
/// `forward-zones[0].servers[1]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Segment::Key(key.to_owned()));
        self
    }

    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Segment::Index(index));
        self
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl Config {
    /// Reads and checks the config file at `path`.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// Parses and checks config-file text; `path` is only used in error messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        // An error at `span`, naming `key` when the caller knows it better than the text there.
        let located = |span: Option<Range<usize>>, key: Option<KeyPath>, message: String| {
            let span = span.unwrap_or(0..0);
            let (line, column) = line_and_column(text, span.start);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                key: key.or_else(|| key_at(text, span.start)),
                message: one_line(&message),
            }
        };
        let config: Config =
            toml::from_str(text).map_err(|e| located(e.span(), None, e.message().to_owned()))?;
        if let Some((span, key, message)) = check_like_flags(text) {
            return Err(located(Some(span), Some(key), message));
        }
        config
            .check()
            .map_err(|(key, message)| located(span_of(text, &key), Some(key), message))?;
        Ok(config)
    }

    /// Checks what the types alone cannot: settings that contradict each other. Run on the file
    /// and again once command-line flags are applied.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check()
            .map_err(|(key, message)| ConfigError::Inconsistent { key, message })
    }

    fn check(&self) -> Result<(), (KeyPath, String)> {
        let at = |key: &str| KeyPath::default().key(key);
        if self.listen.is_empty() {
            return Err((at("listen"), "at least one address is needed".into()));
        }
        if self.min_ttl > self.max_ttl {
            return Err((at("min-ttl"), "larger than max-ttl".into()));
        }
        if self.cache_size == 0 {
            return Err((at("cache-size"), "must be at least 1".into()));
        }
        if !self.https_path.starts_with('/') || self.https_path.contains(['?', '#']) {
            let message = "a URL path: starts with /, no ? or #";
            return Err((at("https-path"), message.into()));
        }
        let mut delegated = Vec::new();
        for (i, zone) in self.forward_zones.iter().enumerate() {
            if delegated.contains(&&zone.name) {
                let key = at("forward-zones").index(i).key("name");
                return Err((key, format!("{} is configured twice", zone.name)));
            }
            delegated.push(&zone.name);
        }
        for (i, zone) in self.stub_zones.iter().enumerate() {
            if delegated.contains(&&zone.name) {
                let key = at("stub-zones").index(i).key("name");
                return Err((key, format!("{} is configured twice", zone.name)));
            }
            delegated.push(&zone.name);
        }
        for (i, zone) in self.local_zones.iter().enumerate() {
            if self.local_zones[..i].iter().any(|z| z.name == zone.name) {
                let key = at("local-zones").index(i).key("name");
                return Err((key, format!("{} is configured twice", zone.name)));
            }
        }
        self.check_local_data()
    }

    /// A CNAME owner has no other data (RFC 1034 §3.6.2, RFC 2181 §10.1), and one CNAME only.
    fn check_local_data(&self) -> Result<(), (KeyPath, String)> {
        for (i, record) in self.local_data.iter().enumerate() {
            if cname_target(record).is_none() {
                continue;
            }
            let clash = self.local_data.iter().enumerate().find(|(j, other)| {
                *j != i
                    && other.name == record.name
                    && (other.record_type() != RecordType::CNAME || *j < i)
            });
            if let Some((j, other)) = clash {
                let key = KeyPath::default().key("local-data").index(i.max(j));
                let message = format!(
                    "{} has a CNAME and {} data: a CNAME must be alone at its name",
                    record.name,
                    other.record_type()
                );
                return Err((key, message));
            }
        }
        Ok(())
    }
}

/// Runs every value the file gives for a command-line setting through that flag's own value
/// parser, so that the file takes exactly what the command line takes: a range such as `1..` on a
/// flag, or a parser stricter than the field's type, holds for the key too. Returns the first
/// value refused, with its span and key.
fn check_like_flags(text: &str) -> Option<(Range<usize>, KeyPath, String)> {
    let document = DeTable::parse(text).ok()?;
    let command = Config::command();
    for (key, value) in document.get_ref().iter() {
        let path = KeyPath::default().key(key.get_ref());
        let refused = match (key.get_ref().as_ref(), value.get_ref()) {
            ("limits", DeValue::Table(limits)) => limits.iter().find_map(|(key, value)| {
                let path = path.clone().key(key.get_ref());
                check_flag_value(&command, key.get_ref(), value, path)
            }),
            (key, _) => check_flag_value(&command, key, value, path),
        };
        if refused.is_some() {
            return refused;
        }
    }
    None
}

fn check_flag_value(
    command: &clap::Command,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    path: KeyPath,
) -> Option<(Range<usize>, KeyPath, String)> {
    let id = key.replace('-', "_");
    // Keys that are no flag (file-only settings) have nothing to compare with, and switches
    // (`--allow-loopback-upstream`) take no value: serde has checked that they are booleans.
    let arg = command
        .get_arguments()
        .find(|arg| arg.get_id() == id.as_str())?;
    let long = arg.get_long().filter(|_| arg.get_action().takes_values())?;
    let items: Vec<(&Spanned<DeValue<'_>>, KeyPath)> = match value.get_ref() {
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (item, path.clone().index(i)))
            .collect(),
        _ => vec![(value, path)],
    };
    items.into_iter().find_map(|(item, path)| {
        let text = scalar_text(item.get_ref())?;
        let parsed = command
            .clone()
            .try_get_matches_from(["ferret".to_owned(), format!("--{long}={text}")]);
        let error = parsed.err()?;
        Some((item.span(), path, clap_message(&error)))
    })
}

/// A TOML scalar as it would be typed on the command line.
fn scalar_text(value: &DeValue<'_>) -> Option<String> {
    match value {
        DeValue::String(text) => Some(text.to_string()),
        DeValue::Boolean(flag) => Some(flag.to_string()),
        DeValue::Integer(number) => i128::from_str_radix(number.as_str(), number.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Float(number) => Some(number.as_str().to_owned()),
        _ => None,
    }
}

/// The one line of a clap error that says what is wrong, without clap's "error: " and usage hints.
fn clap_message(error: &clap::Error) -> String {
    let rendered = error.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// Line and column (both from 1) of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// toml's messages may run over several lines; an error message should be one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The key whose name or value covers byte `offset`, the innermost one. `None` when the text
/// does not parse as TOML at all (a syntax error is not about any one key).
fn key_at(text: &str, offset: usize) -> Option<KeyPath> {
    let document = DeTable::parse(text).ok()?;
    let mut found = None;
    search_table(document.get_ref(), offset, KeyPath::default(), &mut found);
    found
}

fn search_table(table: &DeTable<'_>, offset: usize, path: KeyPath, found: &mut Option<KeyPath>) {
    for (key, value) in table.iter() {
        let here = path.clone().key(key.get_ref());
        if key.span().contains(&offset) {
            *found = Some(here.clone());
        }
        search_value(value, offset, here, found);
    }
}

fn search_value(
    value: &Spanned<DeValue<'_>>,
    offset: usize,
    path: KeyPath,
    found: &mut Option<KeyPath>,
) {
    if value.span().contains(&offset) {
        *found = Some(path.clone());
    }
    // Tables from `[header]` sections span only their header, so every table is searched, not
    // just those whose span covers the offset; nothing else overlaps, so the last hit is the
    // innermost one.
    match value.get_ref() {
        DeValue::Table(table) => search_table(table, offset, path, found),
        DeValue::Array(array) => {
            for (i, item) in array.iter().enumerate() {
                search_value(item, offset, path.clone().index(i), found);
            }
        }
        _ => {}
    }
}

/// The span of the value at `key` in `text`, if the file sets it (a setting that comes from a
/// default has no place in the file).
fn span_of(text: &str, key: &KeyPath) -> Option<Range<usize>> {
    let document = DeTable::parse(text).ok()?;
    let mut segments = key.0.iter();
    let Some(Segment::Key(first)) = segments.next() else {
        return None;
    };
    let mut value = document.get_ref().get(first.as_str())?;
    for segment in segments {
        value = match (segment, value.get_ref()) {
            (Segment::Key(key), DeValue::Table(table)) => table.get(key.as_str())?,
            (Segment::Index(i), DeValue::Array(array)) => array.get(*i)?,
            _ => return None,
        };
    }
    Some(value.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(text: &str) -> ConfigError {
        Config::from_toml(text, Path::new("ferret.toml")).expect_err("should not parse")
    }

    #[test]
    fn positions_count_from_one() {
        assert_eq!(line_and_column("a\nbc\n", 0), (1, 1));
        assert_eq!(line_and_column("a\nbc\n", 3), (2, 2));
        assert_eq!(line_and_column("a\nbc\n", 99), (3, 1));
    }

    #[test]
    fn keys_are_named_through_tables_and_arrays() {
        let text = "cache-size = 5\n[limits]\nmax-referrals = 3\n\
                    [[forward-zones]]\nname = \"a.\"\nservers = [\"192.0.2.1\", \"x\"]\n";
        let offset = |needle: &str| text.find(needle).unwrap();
        assert_eq!(key_at(text, offset("5")).unwrap().to_string(), "cache-size");
        assert_eq!(
            key_at(text, offset("3")).unwrap().to_string(),
            "limits.max-referrals"
        );
        assert_eq!(
            key_at(text, offset("\"x\"")).unwrap().to_string(),
            "forward-zones[0].servers[1]"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let error = parse_error("cache-size = 5\n\ncache-sise = 6\n");
        assert_eq!(error.line(), Some(3));
        assert_eq!(error.key().unwrap().to_string(), "cache-sise");
        assert!(error.to_string().contains("unknown field"), "{error}");
    }

    #[test]
    fn inconsistent_settings_point_at_the_key() {
        let error = parse_error("max-ttl = 10\nmin-ttl = 20\n");
        assert_eq!(error.line(), Some(2));
        assert_eq!(error.key().unwrap().to_string(), "min-ttl");
        let error =
            parse_error("local-data = [\"a.lan. A 192.0.2.1\",\n \"a.lan. CNAME b.lan.\"]\n");
        assert_eq!(error.line(), Some(2));
        assert_eq!(error.key().unwrap().to_string(), "local-data[1]");
    }

    #[test]
    fn syntax_errors_have_a_line_too() {
        let error = parse_error("cache-size = 5\nlisten = [\"127.0.0.1:53\"\n");
        assert!(error.line().is_some(), "{error}");
        assert!(error.to_string().starts_with("ferret.toml:"), "{error}");
    }
}
