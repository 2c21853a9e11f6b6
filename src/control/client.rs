//! `ferret ctl`: sends one command to a running ferret's control socket and prints the answer.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use thiserror::Error;

use super::{Command, DEFAULT_SOCKET};

/// How long to wait for an answer; a dump of a large cache takes a while to write.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Control a running ferret over its control socket.
#[derive(Debug, Parser)]
#[command(name = "ferret ctl", bin_name = "ferret ctl", version)]
pub struct CtlArgs {
    /// The control socket of the ferret to talk to.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    pub control_socket: PathBuf,

    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CtlCommand {
    /// Print every counter as key=value lines.
    Stats,
    /// Empty the cache, or drop NAME and every name below it.
    Flush {
        /// A domain name; without it the whole cache is flushed.
        name: Option<String>,
        /// Also remove this fleet's keys (those under `shared-cache-prefix`) from the shared
        /// cache in Redis, on every master of a cluster.
        #[arg(long, conflicts_with = "name")]
        shared: bool,
    },
    /// Drop the data and zone keys that failed DNSSEC validation.
    FlushBogus,
    /// Print every cache entry with the TTL it has left.
    Dump,
    /// Reload, as SIGHUP does.
    Reload,
    /// Switch the query log on or off.
    Querylog {
        #[arg(value_enum)]
        state: OnOff,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Error)]
pub enum ClientError {
    #[error(transparent)]
    Command(#[from] super::CommandError),
    #[error("cannot reach ferret at {path}: {source}")]
    Connect { path: PathBuf, source: io::Error },
    #[error("lost the connection to ferret: {0}")]
    Io(#[from] io::Error),
}

/// What ferret answered, and whether it reports success.
#[derive(Debug)]
pub struct Reply {
    pub text: String,
    pub ok: bool,
}

impl CtlCommand {
    /// The protocol line for this command, checked the same way the server checks it.
    pub fn to_command(&self) -> Result<Command, super::CommandError> {
        let line = match self {
            CtlCommand::Stats => "stats".to_string(),
            CtlCommand::Flush { shared: true, .. } => "flush --shared".to_string(),
            CtlCommand::Flush { name: None, .. } => "flush".to_string(),
            CtlCommand::Flush {
                name: Some(name), ..
            } => format!("flush {name}"),
            CtlCommand::FlushBogus => "flush-bogus".to_string(),
            CtlCommand::Dump => "dump".to_string(),
            CtlCommand::Reload => "reload".to_string(),
            CtlCommand::Querylog { state: OnOff::On } => "querylog on".to_string(),
            CtlCommand::Querylog { state: OnOff::Off } => "querylog off".to_string(),
        };
        Command::parse(&line)
    }
}

/// Sends `args.command` and reads the whole answer (the server closes when done).
pub fn run(args: &CtlArgs) -> Result<Reply, ClientError> {
    let command = args.command.to_command()?;
    let path = &args.control_socket;
    let mut stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
        path: path.clone(),
        source,
    })?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    stream.write_all(format!("{command}\n").as_bytes())?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let ok = !text.starts_with("error:") && !text.is_empty();
    Ok(Reply { text, ok })
}
