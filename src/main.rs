//! The `ferret` binary: read the command line and config file, set up logging, serve until told
//! to stop, and reload the config file on SIGHUP.

use anyhow::Context;
use ferret::Config;
use ferret::config::{CommandLine, Subcommand};
use ferret::hints::RootHints;
use ferret::server::RunningServer;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let command_line = CommandLine::parse();
    if let Some(Subcommand::CheckConfig { path }) = command_line.command() {
        let config = Config::from_file(path).unwrap_or_else(|error| config_error(&error));
        if let Err(error) = RootHints::load(config.root_hints.as_deref()) {
            config_error(&error);
        }
        println!("{}: ok", path.display());
        return Ok(());
    }
    // An invalid file stops ferret here, before anything is bound: better no resolver than one
    // running with settings the operator did not write.
    let config = command_line
        .config()
        .unwrap_or_else(|error| config_error(&error));
    init_logging(&config.log_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(command_line, config))
}

async fn run(command_line: CommandLine, config: Config) -> anyhow::Result<()> {
    // Watched before serving starts: an early SIGHUP must reload, not kill (its default action).
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let mut server = RunningServer::start(&config)
        .await
        .context("ferret cannot start")?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config_file = ?command_line.config_file(),
        "ferret is serving"
    );
    loop {
        // SIGINT (Ctrl-C) or SIGTERM (systemd, docker stop) stop; SIGHUP reloads.
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                result.context("cannot watch SIGINT")?;
                break;
            }
            _ = terminate.recv() => break,
            _ = hangup.recv() => reload(&command_line, &mut server),
        }
    }
    tracing::info!("stopping");
    server.shutdown();
    Ok(())
}

/// Reads the config file again (with the same command-line flags on top) and applies it. A file
/// that does not check out changes nothing: ferret keeps serving with what it has.
fn reload(command_line: &CommandLine, server: &mut RunningServer) {
    let config = match command_line.config() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "SIGHUP: configuration not reloaded; keeping the running one");
            return;
        }
    };
    match server.reload(&config) {
        Ok(()) => tracing::info!("SIGHUP: configuration reloaded"),
        Err(error) => {
            tracing::error!(%error, "SIGHUP: configuration not applied; keeping the running one");
        }
    }
}

/// Reports a configuration error as it is (it names file, line and key) and exits with status 1.
fn config_error(error: &dyn std::fmt::Display) -> ! {
    eprintln!("ferret: {error}");
    std::process::exit(1)
}

/// `RUST_LOG` wins over `--log-level`, so an operator can turn on one module's debug logs
/// without touching the unit file.
fn init_logging(level: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .with_context(|| format!("bad --log-level {level:?}"))?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    Ok(())
}
