//! The command line: which config file to read, what to do, and which settings it overrides.
//!
//! Only flags actually typed override the file. clap fills every argument that has a default, so
//! after parsing, every argument whose value did not come from the command line (or from an
//! environment variable, for arguments that have one) is removed from the matches; the derived
//! `update_from_arg_matches` then touches exactly the fields that were given. A new setting needs
//! nothing here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

use super::{Config, ConfigError};

/// Read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/ferret/ferret.toml";

/// ferret: a recursive caching DNS resolver.
#[derive(Debug, Parser)]
#[command(
    name = "ferret",
    version,
    about,
    long_about = None,
    after_help = "Control a running ferret with `ferret ctl --help`."
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    /// Config file (TOML). Default: /etc/ferret/ferret.toml when it exists. Flags given on the
    /// command line override its settings; SIGHUP reads it again.
    #[arg(long = "config", value_name = "PATH")]
    config_file: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Subcommand>,

    #[command(flatten)]
    settings: Config,
}

#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Subcommand {
    /// Check a config file and exit: prints "ok" (status 0), or the first error with its line
    /// (status 1). Nothing is started.
    CheckConfig {
        /// The file to check.
        path: PathBuf,
    },
}

/// A parsed command line. Keeps the flags that were given, so that the settings can be built
/// again, over a re-read file, on reload.
#[derive(Debug, Clone)]
pub struct CommandLine {
    config_file: Option<PathBuf>,
    command: Option<Subcommand>,
    /// The matches less every argument that was not given: defaults must not override the file.
    given: ArgMatches,
}

impl CommandLine {
    /// The process's own command line; prints usage and exits on errors, as clap does.
    pub fn parse() -> Self {
        Self::try_parse_from(std::env::args_os()).unwrap_or_else(|error| error.exit())
    }

    pub fn try_parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut matches = Cli::command().try_get_matches_from(args)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let defaulted: Vec<String> = matches
            .ids()
            .filter(|id| {
                !matches!(
                    matches.value_source(id.as_str()),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            })
            .map(|id| id.as_str().to_owned())
            .collect();
        for id in defaulted {
            // Group ids (clap makes one per struct) are not arguments; there is nothing to clear.
            let _ = matches.try_clear_id(&id);
        }
        Ok(CommandLine {
            config_file: cli.config_file,
            command: cli.command,
            given: matches,
        })
    }

    pub fn command(&self) -> Option<&Subcommand> {
        self.command.as_ref()
    }

    /// The config file this run reads: `--config`, or the default path when it exists.
    pub fn config_file(&self) -> Option<PathBuf> {
        match &self.config_file {
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()),
        }
    }

    /// The settings: defaults, overlaid with the config file (read now), overlaid with the flags
    /// given on the command line.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = match self.config_file() {
            Some(path) => Config::from_file(&path)?,
            None => Config::default(),
        };
        self.apply_flags(&mut config)?;
        Ok(config)
    }

    /// `config` with the given flags on top, checked again as a whole.
    pub fn apply_flags(&self, config: &mut Config) -> Result<(), ConfigError> {
        config.update_from_arg_matches(&self.given)?;
        config.validate()
    }
}
