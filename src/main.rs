//! The `ferret` binary: read the command line and config file, set up logging, serve until told
//! to stop.

use anyhow::Context;
use ferret::Config;
use ferret::config::{CommandLine, Subcommand};
use ferret::hints::RootHints;
use ferret::server::RunningServer;
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
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    let server = RunningServer::start(&config)
        .await
        .context("ferret cannot start")?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "ferret is serving");
    wait_for_stop_signal().await?;
    tracing::info!("stopping");
    server.shutdown();
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM (systemd, docker stop).
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot watch SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
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
