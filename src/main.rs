//! The `ferret` binary: read the command line and the config file, set up logging, serve until
//! told to stop, reloading the config file on SIGHUP or `ferret ctl reload`; or, as
//! `ferret ctl ...`, talk to a running ferret over its control socket; or, as
//! `ferret check-config PATH`, check a config file.

use std::ffi::OsStr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use ferret::config::{CommandLine, ControlSocketSetting, LogFormat, Subcommand};
use ferret::control::client::{self, CtlArgs};
use ferret::control::{ControlSocket, ReloadRequest};
use ferret::hints::RootHints;
use ferret::metrics::{exposition, http};
use ferret::server::querylog::QUERY_LOG_TARGET;
use ferret::server::{Listeners, RunningServer, ServerHandle};
use ferret::{Clock, Config, systemd};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: resolving a cold name allocates and frees many small
/// objects (names, records, messages) across tokio's threads, and a profile of cold resolution
/// put 8% of ferret's time in glibc malloc/free plus `mprotect` calls growing per-thread arenas.
/// Set in the binary only, so the library leaves the choice to whoever embeds it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<ExitCode> {
    if std::env::args_os().nth(1).as_deref() == Some(OsStr::new("ctl")) {
        return run_ctl();
    }
    let command_line = CommandLine::parse();
    if let Some(Subcommand::CheckConfig { path }) = command_line.command() {
        return check_config(path);
    }
    // An invalid file stops ferret here, before anything is bound: better no resolver than one
    // running with settings the operator did not write.
    let config = command_line
        .config()
        .unwrap_or_else(|error| config_error(&error));
    init_logging(&config)?;
    set_huge_pages(config.transparent_hugepages);
    let activated = systemd::activated_listeners().context("socket activation failed")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(command_line, config, activated))?;
    Ok(ExitCode::SUCCESS)
}

/// Turns transparent huge pages off for the whole process unless `wanted`
/// (`transparent-hugepages`). mimalloc marks its arenas MADV_HUGEPAGE, so with the common `madvise` THP policy the kernel
/// hands ferret a fresh 2 MiB page, zeroed, wherever the heap grows. On a virtual machine the
/// first touch of such a page stalled for about 27 ms, 15% of a cold pass's CPU (perf record
/// of benches/cold_wide.sh: `clear_page_erms` under `do_huge_pmd_anonymous_page`). The flag
/// (prctl PR_SET_THP_DISABLE, Linux 3.15) covers mappings that already exist, so setting it
/// after the allocator started is enough; Redis does the same (`disable-thp`).
fn set_huge_pages(wanted: bool) {
    #[cfg(target_os = "linux")]
    if !wanted {
        // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and touches no memory of ours.
        let result = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
        if result != 0 {
            let error = std::io::Error::last_os_error();
            tracing::warn!(%error, "cannot turn transparent huge pages off");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = wanted;
}

/// `ferret check-config PATH`: "PATH: ok" and status 0, or the first error and status 1.
fn check_config(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = Config::from_file(path).unwrap_or_else(|error| config_error(&error));
    if let Err(error) = RootHints::load(config.root_hints.as_deref()) {
        config_error(&error);
    }
    if let Some(url) = &config.shared_cache
        && let Err(error) = ferret::cache::shared::check_url(url)
    {
        config_error(&error);
    }
    println!("{}: ok", path.display());
    Ok(ExitCode::SUCCESS)
}

/// Reports a configuration error as it is (it names file, line and key) and exits with status 1.
fn config_error(error: &dyn std::fmt::Display) -> ! {
    eprintln!("ferret: {error}");
    std::process::exit(1)
}

/// `ferret ctl COMMAND`: prints ferret's answer; exits 1 when ferret reports an error.
fn run_ctl() -> anyhow::Result<ExitCode> {
    // Parsed from "ctl" onwards, so that clap's usage line reads `ferret ctl ...`.
    let args = CtlArgs::parse_from(std::env::args_os().skip(1));
    match client::run(&args) {
        Ok(reply) => {
            print!("{}", reply.text);
            Ok(if reply.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Err(error) => {
            eprintln!("ferret ctl: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn serve(
    command_line: CommandLine,
    config: Config,
    activated: Option<Listeners>,
) -> anyhow::Result<()> {
    // Signal handlers go in before READY=1: a SIGTERM right after start must drain, not kill,
    // and a SIGHUP reload rather than kill (its default action).
    let mut signals = Signals::new()?;
    let mut server = match activated {
        Some(listeners) => {
            tracing::info!("socket-activated: serving on the sockets from systemd, not --listen");
            RunningServer::start_with_listeners(&config, Clock::system(), listeners).await
        }
        None => RunningServer::start(&config).await,
    }
    .context("ferret cannot start")?;
    let handle = server.handle();
    start_metrics(&config, &handle).await?;
    let (reload_sender, mut reload_requests) = mpsc::channel(4);
    start_control(&config, &handle, reload_sender)?;
    if let Some(interval) = systemd::watchdog_interval() {
        tokio::spawn(systemd::run_watchdog(interval));
    }
    systemd::notify_ready("serving");
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config_file = ?command_line.config_file(),
        "ferret is serving"
    );

    loop {
        tokio::select! {
            _ = signals.terminate.recv() => break,
            _ = signals.interrupt.recv() => break,
            _ = signals.hangup.recv() => {
                tracing::info!("SIGHUP");
                log_reload(&reload(&command_line, &mut server));
            }
            Some(request) = reload_requests.recv() => {
                let outcome = reload(&command_line, &mut server);
                log_reload(&outcome);
                let _ = request.reply.send(outcome);
            }
        }
    }

    // Stop taking queries first, so that nothing arriving after STOPPING=1 is taken on.
    server.stop_accepting();
    systemd::notify_stopping();
    // No resolution outlives its timeout, so this grace lets every query already received be
    // answered; systemd's TimeoutStopSec in the unit is longer still.
    let grace = config.resolution_timeout() + Duration::from_secs(1);
    tracing::info!(?grace, "stopping: answering the queries in flight");
    if server.drain(grace).await {
        tracing::info!("every query answered; exiting");
    } else {
        tracing::warn!("queries still unanswered after {grace:?}; exiting anyway");
    }
    Ok(())
}

/// The reload path, shared by SIGHUP and `ferret ctl reload`: reads the config file again, puts
/// the same command-line flags on top, and applies the result. A file that does not check out,
/// or settings that cannot be applied, change nothing: ferret keeps serving as it was.
fn reload(command_line: &CommandLine, server: &mut RunningServer) -> Result<String, String> {
    let config = command_line
        .config()
        .map_err(|error| format!("configuration not reloaded, the running one is kept: {error}"))?;
    server
        .reload(&config)
        .map_err(|error| format!("configuration not applied, the running one is kept: {error}"))
}

fn log_reload(outcome: &Result<String, String>) {
    match outcome {
        Ok(message) => tracing::info!(%message, "reload"),
        Err(error) => tracing::warn!(%error, "reload failed"),
    }
}

/// The signals ferret acts on: SIGTERM (systemd, docker stop) and SIGINT (Ctrl-C) stop it,
/// SIGHUP reloads.
struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        let watch = |kind, name| signal(kind).with_context(|| format!("cannot watch {name}"));
        Ok(Signals {
            terminate: watch(SignalKind::terminate(), "SIGTERM")?,
            interrupt: watch(SignalKind::interrupt(), "SIGINT")?,
            hangup: watch(SignalKind::hangup(), "SIGHUP")?,
        })
    }
}

async fn start_metrics(config: &Config, server: &ServerHandle) -> anyhow::Result<()> {
    let Some(addr) = config.metrics_listen else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot serve metrics on {addr}"))?;
    let server = server.clone();
    let render: http::Render = std::sync::Arc::new(move || exposition::encode(server.snapshot()));
    tokio::spawn(http::serve(listener, render, exposition::CONTENT_TYPE));
    tracing::info!(%addr, "serving metrics at /metrics");
    Ok(())
}

fn start_control(
    config: &Config,
    server: &ServerHandle,
    reloads: mpsc::Sender<ReloadRequest>,
) -> anyhow::Result<()> {
    let socket = match config.control_socket_setting() {
        ControlSocketSetting::None => return Ok(()),
        ControlSocketSetting::Explicit(path) => {
            ControlSocket::bind(&path).context("cannot open the control socket")?
        }
        ControlSocketSetting::Default(path) => match ControlSocket::bind(&path) {
            Ok(socket) => socket,
            Err(error) => {
                tracing::warn!(%error, "no control socket (set --control-socket PATH)");
                return Ok(());
            }
        },
    };
    tracing::info!(path = %socket.path().display(), "control socket open");
    tokio::spawn(socket.serve(server.clone(), reloads));
    Ok(())
}

/// `RUST_LOG` wins over `--log-level`, so an operator can turn on one module's debug logs
/// without touching the unit file. The query log has its own switch, so its target is let
/// through at INFO whatever the level, unless the filter names it.
fn init_logging(config: &Config) -> anyhow::Result<()> {
    let directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|text| !text.trim().is_empty())
        .unwrap_or_else(|| config.log_level.clone());
    let mut filter = EnvFilter::try_new(&directives)
        .with_context(|| format!("bad log filter {directives:?}"))?;
    if !directives.contains(QUERY_LOG_TARGET) {
        filter = filter.add_directive(format!("{QUERY_LOG_TARGET}=info").parse()?);
    }
    let installed = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .try_init(),
    };
    installed.map_err(|error| anyhow::anyhow!("cannot set up logging: {error}"))
}
