//! The `ferret` binary: parse the command line, set up logging, serve until told to stop.

use anyhow::Context;
use clap::Parser;
use ferret::Config;
use ferret::server::RunningServer;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_logging(&config.log_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
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

/// `RUST_LOG` wins over `--log-level`, so an operator can turn on one module's debug logs
/// without touching the unit file.
fn init_logging(level: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .with_context(|| format!("bad --log-level {level:?}"))?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    Ok(())
}
