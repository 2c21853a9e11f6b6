//! The control socket, in the manner of `unbound-control`: a Unix stream socket (mode 0600, so
//! only ferret's own user, and root, may use it) taking one command line per connection and
//! answering with text, then closing. `ferret ctl` ([`client`]) is its client.
//!
//! The protocol: the client sends one line (a [`Command`]), the server writes its answer and
//! closes the connection. An answer starting with `error:` is a failure; anything else succeeded.

pub mod client;
mod command;

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::timeout;

pub use command::{Command, CommandError};

use crate::server::ServerHandle;

/// Where the control socket lives unless `--control-socket` says otherwise (systemd's
/// `RuntimeDirectory=ferret` creates `/run/ferret`).
pub const DEFAULT_SOCKET: &str = "/run/ferret/control.sock";

/// The longest command line read; commands are a word and a domain name.
const MAX_LINE: u64 = 1024;

/// Time a client has to send its command, and to read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Control connections served at once.
const MAX_CONNECTIONS: usize = 4;

/// A request to take the reload path (the one SIGHUP takes), answered with a message to show the
/// operator or an error.
#[derive(Debug)]
pub struct ReloadRequest {
    pub reply: oneshot::Sender<Result<String, String>>,
}

#[derive(Debug, Error)]
pub enum ControlError {
    #[error("another process already answers on the control socket {0}")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; not replacing it")]
    NotASocket(PathBuf),
    #[error("cannot create the control socket {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
}

/// A bound control socket; the socket file is removed when it is dropped.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    /// Creates the socket at `path` with mode 0600. A socket file left by a ferret that died is
    /// replaced; a live one (something accepts connections on it) is not.
    pub fn bind(path: &Path) -> Result<Self, ControlError> {
        let bind_error = |source| ControlError::Bind {
            path: path.to_path_buf(),
            source,
        };
        if let Ok(metadata) = std::fs::symlink_metadata(path) {
            if !metadata.file_type().is_socket() {
                return Err(ControlError::NotASocket(path.to_path_buf()));
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(ControlError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(bind_error)?;
        }
        let listener = UnixListener::bind(path).map_err(bind_error)?;
        // Connecting needs write permission on the socket. Until this chmod the socket has the
        // umask's mode (systemd's unit sets UMask=0077; a usual 0022 already denies others
        // write), so there is no window in which other users may connect.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(bind_error)?;
        Ok(ControlSocket {
            listener,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers commands until the task is dropped.
    pub async fn serve(self, server: ServerHandle, reload: mpsc::Sender<ReloadRequest>) {
        let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let Ok(permit) = Arc::clone(&connections).acquire_owned().await else {
                return;
            };
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "control: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let server = server.clone();
            let reload = reload.clone();
            tokio::spawn(async move {
                if let Err(error) = converse(stream, &server, &reload).await {
                    tracing::debug!(%error, "control: connection failed");
                }
                drop(permit);
            });
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads one command, writes its answer.
async fn converse(
    stream: UnixStream,
    server: &ServerHandle,
    reload: &mpsc::Sender<ReloadRequest>,
) -> io::Result<()> {
    let (reader, writer) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(reader.take(MAX_LINE));
    match timeout(IO_TIMEOUT, reader.read_line(&mut line)).await {
        Ok(result) => result?,
        Err(_) => return Ok(()),
    };
    let mut writer = BufWriter::new(writer);
    let answer = async {
        match Command::parse(line.trim_end_matches(['\r', '\n'])) {
            Ok(command) => {
                tracing::info!(%command, "control command");
                execute(command, server, reload, &mut writer).await
            }
            Err(error) => {
                writer
                    .write_all(format!("error: {error}\n").as_bytes())
                    .await
            }
        }?;
        writer.flush().await?;
        writer.shutdown().await
    };
    timeout(IO_TIMEOUT, answer).await.unwrap_or(Ok(()))
}

async fn execute<W: AsyncWriteExt + Unpin>(
    command: Command,
    server: &ServerHandle,
    reload: &mpsc::Sender<ReloadRequest>,
    out: &mut W,
) -> io::Result<()> {
    match command {
        Command::Stats => {
            for (key, value) in server.snapshot().key_values() {
                out.write_all(format!("{key}={value}\n").as_bytes()).await?;
            }
        }
        Command::Flush(None) => {
            let removed = server.cache().len();
            server.cache().clear();
            out.write_all(format!("ok: flushed the whole cache ({removed} entries)\n").as_bytes())
                .await?;
        }
        Command::Flush(Some(name)) => {
            let removed = server.cache().flush_subtree(&name);
            let text = format!("ok: flushed {name} and below ({removed} entries)\n");
            out.write_all(text.as_bytes()).await?;
        }
        Command::FlushShared => {
            let removed = server.cache().len();
            server.cache().clear();
            let text = match server.shared_cache() {
                None => format!(
                    "error: no shared cache is configured (flushed the local cache, {removed} entries)\n"
                ),
                Some(shared) => match shared.flush().await {
                    Ok(keys) => format!(
                        "ok: flushed the whole cache ({removed} entries) and {keys} shared keys under {:?}\n",
                        shared.settings().prefix
                    ),
                    Err(error) => format!(
                        "error: flushed the local cache ({removed} entries), but not the shared one: {error}\n"
                    ),
                },
            };
            out.write_all(text.as_bytes()).await?;
        }
        Command::FlushBogus => {
            let removed = server.cache().flush_bogus();
            let zones = server.forget_bogus_zones();
            let text = format!("ok: flushed {removed} bogus entries and {zones} bogus zones\n");
            out.write_all(text.as_bytes()).await?;
        }
        Command::Dump => {
            let entries = server.cache().dump();
            for entry in &entries {
                out.write_all(format!("{entry}\n").as_bytes()).await?;
            }
            out.write_all(format!("; {} entries\n", entries.len()).as_bytes())
                .await?;
        }
        Command::Reload => {
            let text = match request_reload(reload).await {
                Ok(message) => format!("ok: {message}\n"),
                Err(message) => format!("error: {message}\n"),
            };
            out.write_all(text.as_bytes()).await?;
        }
        Command::QueryLog(enabled) => {
            server.set_query_log(enabled);
            let state = if enabled { "on" } else { "off" };
            out.write_all(format!("ok: query log {state}\n").as_bytes())
                .await?;
        }
    }
    Ok(())
}

/// Hands the reload to whoever owns the process (the binary's main loop) and waits for its word.
async fn request_reload(reload: &mpsc::Sender<ReloadRequest>) -> Result<String, String> {
    let (reply, answer) = oneshot::channel();
    reload
        .send(ReloadRequest { reply })
        .await
        .map_err(|_| "nothing handles reloads in this process".to_string())?;
    answer
        .await
        .map_err(|_| "the reload was dropped unanswered".to_string())?
}
