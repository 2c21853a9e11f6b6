//! Tests that keep the three descriptions of the settings in step: the clap flags, the serde keys
//! of the config file, and the documentation (`dist/ferret.toml`, README's reference table).
//!
//! The serde keys are read from the derived `Deserialize` itself (the field list it hands to
//! `deserialize_struct`), so a field added to [`Config`] is checked without touching this file.

use std::collections::BTreeSet;
use std::path::Path;

use clap::{Args, CommandFactory};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::{Config, Limits};

const EXAMPLE_FILE: &str = include_str!("../../dist/ferret.toml");
const README: &str = include_str!("../../README.md");

/// Marks a commented line of the example file that shows a value other than the default.
const EXAMPLE_MARK: &str = "# e.g. ";

/// Stops deserialization at the first struct, having noted its field names.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.0.extend_from_slice(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

fn serde_fields<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let mut fields = Vec::new();
    let _ = T::deserialize(FieldNames(&mut fields));
    assert!(!fields.is_empty(), "no fields recorded");
    fields
}

/// Every key the file takes: top-level ones, and `limits.KEY` for the `[limits]` table.
fn file_keys() -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = serde_fields::<Config>()
        .into_iter()
        .filter(|k| *k != "limits")
        .map(str::to_owned)
        .collect();
    keys.extend(
        serde_fields::<Limits>()
            .iter()
            .map(|k| format!("limits.{k}")),
    );
    keys
}

/// The config-file key a command-line argument must have: its id (the field name) in kebab case,
/// under `limits.` for the fields of [`Limits`].
fn key_for_flags() -> Vec<(String, String)> {
    let limits: BTreeSet<String> = Limits::augment_args(clap::Command::new("limits"))
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    Config::command()
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .filter(|id| id != "help" && id != "version")
        .map(|id| {
            let key = id.replace('_', "-");
            let key = if limits.contains(&id) {
                format!("limits.{key}")
            } else {
                key
            };
            (id, key)
        })
        .collect()
}

#[test]
fn every_flag_has_a_config_key() {
    let keys = file_keys();
    let flags = key_for_flags();
    assert!(flags.len() > 10, "too few flags found: {flags:?}");
    for (id, key) in flags {
        assert!(
            keys.contains(&key),
            "the flag of field `{id}` has no config-file key `{key}`: is Config missing \
             #[serde(rename_all = \"kebab-case\")] or did a field get #[serde(skip)]?"
        );
    }
}

/// Lines of the example file as (section, text), `section` being "" or "limits".
fn example_lines() -> Vec<(&'static str, &'static str)> {
    let mut section = "";
    let mut lines = Vec::new();
    for line in EXAMPLE_FILE.lines() {
        if line.trim() == "[limits]" {
            section = "limits";
        }
        lines.push((section, line));
    }
    lines
}

/// `# key = value` lines: a key shown with its default.
fn default_lines() -> Vec<(&'static str, &'static str)> {
    example_lines()
        .into_iter()
        .filter_map(|(section, line)| {
            let setting = line.strip_prefix("# ")?;
            let (key, _) = setting.split_once(" = ")?;
            key.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                .then_some((section, setting))
        })
        .collect()
}

fn qualified(section: &str, setting: &str) -> String {
    let key = setting.split(" = ").next().unwrap_or_default();
    match section {
        "" => key.to_owned(),
        section => format!("{section}.{key}"),
    }
}

#[test]
fn example_file_loads_and_shows_the_real_defaults() {
    let path = Path::new("dist/ferret.toml");
    let as_shipped = Config::from_toml(EXAMPLE_FILE, path).expect("dist/ferret.toml parses");
    assert_eq!(
        format!("{as_shipped:?}"),
        format!("{:?}", Config::default())
    );
    // Uncommenting every `# key = value` line must change nothing: the values shown are the
    // defaults.
    let uncommented: String = example_lines()
        .into_iter()
        .map(|(_, line)| match line.strip_prefix("# ") {
            Some(setting) if default_lines().iter().any(|(_, s)| *s == setting) => setting,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = Config::from_toml(&uncommented, path).expect("uncommented defaults parse");
    assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
}

#[test]
fn example_values_in_the_example_file_parse() {
    let examples: Vec<(&str, &str)> = example_lines()
        .into_iter()
        .filter_map(|(section, line)| Some((section, line.strip_prefix(EXAMPLE_MARK)?)))
        .collect();
    assert!(
        examples.len() >= 4,
        "expected examples marked {EXAMPLE_MARK:?}"
    );
    for (section, setting) in examples {
        let text = match section {
            "" => setting.to_owned(),
            section => format!("[{section}]\n{setting}"),
        };
        if let Err(error) = Config::from_toml(&text, Path::new("example")) {
            panic!("example {setting:?} does not parse: {error}");
        }
    }
}

#[test]
fn example_file_shows_every_key() {
    let mut shown: BTreeSet<String> = default_lines()
        .into_iter()
        .map(|(section, setting)| qualified(section, setting))
        .collect();
    shown.extend(
        example_lines().into_iter().filter_map(|(section, line)| {
            Some(qualified(section, line.strip_prefix(EXAMPLE_MARK)?))
        }),
    );
    let missing: Vec<String> = file_keys().difference(&shown).cloned().collect();
    assert!(missing.is_empty(), "dist/ferret.toml lacks {missing:?}");
    let unknown: Vec<String> = shown.difference(&file_keys()).cloned().collect();
    assert!(
        unknown.is_empty(),
        "dist/ferret.toml shows unknown keys {unknown:?}"
    );
}

#[test]
fn readme_reference_lists_every_key() {
    let missing: Vec<String> = file_keys()
        .into_iter()
        .filter(|key| !README.contains(&format!("| `{key}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's configuration reference lacks rows for {missing:?}"
    );
}
