//! The control protocol's commands: one line of text each, as `ferret ctl` sends them.

use std::fmt;

use hickory_proto::rr::Name;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Every counter, as `key=value` lines.
    Stats,
    /// Drop the whole cache (`None`) or one name and everything below it.
    Flush(Option<Name>),
    /// Drop the whole local cache and this fleet's keys in the shared cache (Redis): every key
    /// under `shared-cache-prefix`.
    FlushShared,
    /// Drop the data and zone keys that failed DNSSEC validation (Unbound's flush_bogus), so a
    /// zone that was fixed is validated again at once rather than after the BAD-cache time.
    FlushBogus,
    /// Every live cache entry with the TTL it has left.
    Dump,
    /// Take the SIGHUP path.
    Reload,
    /// Switch the query log on or off.
    QueryLog(bool),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("empty command")]
    Empty,
    #[error(
        "unknown command {0:?} (try stats, flush [NAME|--shared], flush-bogus, dump, reload, querylog on|off)"
    )]
    Unknown(String),
    #[error("{0}")]
    Usage(&'static str),
    #[error("bad name {name:?}: {reason}")]
    BadName { name: String, reason: String },
}

impl Command {
    /// Parses one line (without its newline); words are separated by whitespace.
    pub fn parse(line: &str) -> Result<Self, CommandError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => Err(CommandError::Empty),
            ["stats"] => Ok(Command::Stats),
            ["flush"] => Ok(Command::Flush(None)),
            ["flush-bogus"] => Ok(Command::FlushBogus),
            ["flush", "--shared"] => Ok(Command::FlushShared),
            ["flush", name] => parse_name(name).map(|name| Command::Flush(Some(name))),
            ["dump"] => Ok(Command::Dump),
            ["reload"] => Ok(Command::Reload),
            ["querylog", "on"] => Ok(Command::QueryLog(true)),
            ["querylog", "off"] => Ok(Command::QueryLog(false)),
            ["querylog", ..] => Err(CommandError::Usage("usage: querylog on|off")),
            ["flush", ..] => Err(CommandError::Usage("usage: flush [NAME | --shared]")),
            ["stats" | "dump" | "reload" | "flush-bogus", ..] => {
                Err(CommandError::Usage("this command takes no arguments"))
            }
            [other, ..] => Err(CommandError::Unknown((*other).to_string())),
        }
    }
}

/// The line `parse` reads back.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Stats => write!(f, "stats"),
            Command::Flush(None) => write!(f, "flush"),
            Command::Flush(Some(name)) => write!(f, "flush {name}"),
            Command::FlushShared => write!(f, "flush --shared"),
            Command::FlushBogus => write!(f, "flush-bogus"),
            Command::Dump => write!(f, "dump"),
            Command::Reload => write!(f, "reload"),
            Command::QueryLog(on) => write!(f, "querylog {}", if *on { "on" } else { "off" }),
        }
    }
}

/// A domain name, taken as absolute: `example.com` and `example.com.` flush the same subtree.
fn parse_name(text: &str) -> Result<Name, CommandError> {
    let mut name = Name::from_ascii(text).map_err(|error| CommandError::BadName {
        name: text.to_string(),
        reason: error.to_string(),
    })?;
    name.set_fqdn(true);
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_reads_back_what_it_writes() {
        for command in [
            Command::Stats,
            Command::Flush(None),
            Command::Flush(Some(Name::from_ascii("example.test.").unwrap())),
            Command::FlushShared,
            Command::FlushBogus,
            Command::Dump,
            Command::Reload,
            Command::QueryLog(true),
            Command::QueryLog(false),
        ] {
            assert_eq!(Command::parse(&command.to_string()), Ok(command));
        }
    }

    #[test]
    fn names_are_made_absolute_and_case_does_not_matter() {
        assert_eq!(
            Command::parse("  flush   Example.TEST "),
            Ok(Command::Flush(Some(
                Name::from_ascii("example.test.").unwrap()
            )))
        );
    }

    #[test]
    fn mistakes_are_explained() {
        assert_eq!(Command::parse(""), Err(CommandError::Empty));
        assert!(matches!(
            Command::parse("shutdown"),
            Err(CommandError::Unknown(_))
        ));
        assert!(matches!(
            Command::parse("querylog maybe"),
            Err(CommandError::Usage(_))
        ));
        assert!(matches!(
            Command::parse("flush a b"),
            Err(CommandError::Usage(_))
        ));
        assert!(matches!(
            Command::parse("stats now"),
            Err(CommandError::Usage(_))
        ));
        assert!(matches!(
            Command::parse("flush a..b"),
            Err(CommandError::BadName { .. })
        ));
    }
}
