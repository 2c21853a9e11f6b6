//! The connection to Redis, standalone or Cluster, through redis-rs: its `ConnectionManager`
//! (one multiplexed, pipelined connection that reconnects by itself) or its async cluster
//! connection (one per master, keys routed by slot, topology refreshed on MOVED).
//!
//! Nothing here waits for Redis at startup: a standalone connection is made lazily on first use,
//! a cluster connection by a background task that keeps trying with backoff, so ferret serves
//! from the moment it starts whether Redis is up or not.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{RedisResult, Value};
use thiserror::Error;

/// How long one attempt to connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest wait between attempts to reach a cluster that is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Keys asked for per SCAN step of a flush, and the most steps one flush takes per master.
const SCAN_COUNT: usize = 500;
const MAX_SCAN_STEPS: usize = 20_000;

#[derive(Debug, Error)]
pub enum SharedCacheError {
    #[error(
        "shared-cache {0:?}: expected redis://HOST:PORT[/DB] or redis+cluster://HOST:PORT,HOST:PORT,..."
    )]
    BadUrl(String),
    #[error("shared-cache {url:?}: {source}")]
    Client {
        url: String,
        source: redis::RedisError,
    },
    #[error("the shared cache is not connected (yet)")]
    NotConnected,
    #[error("the shared cache did not answer in time")]
    Timeout,
    #[error("the shared cache: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Whether `url` names a shared cache ferret can use (`redis://...` or `redis+cluster://...`),
/// checked as a connection would check it but without connecting: `ferret check-config` asks
/// it, so a typo in the URL is found before a restart rather than at one.
pub fn check_url(url: &str) -> Result<(), SharedCacheError> {
    Target::parse(url).map(|_| ())
}

/// Where the shared cache is, from its URL.
enum Target {
    Single(redis::Client),
    Cluster(Box<redis::cluster::ClusterClient>),
}

impl Target {
    fn parse(url: &str) -> Result<Self, SharedCacheError> {
        let client_error = |source| SharedCacheError::Client {
            url: url.to_string(),
            source,
        };
        if let Some(nodes) = url.strip_prefix("redis+cluster://") {
            let nodes: Vec<String> = nodes
                .trim_end_matches('/')
                .split(',')
                .map(|node| format!("redis://{}", node.trim()))
                .collect();
            if nodes.iter().any(|node| node == "redis://") {
                return Err(SharedCacheError::BadUrl(url.to_string()));
            }
            let client = redis::cluster::ClusterClient::builder(nodes)
                .connection_timeout(CONNECT_TIMEOUT)
                .retries(2)
                .build()
                .map_err(client_error)?;
            return Ok(Target::Cluster(Box::new(client)));
        }
        if !url.starts_with("redis://") {
            return Err(SharedCacheError::BadUrl(url.to_string()));
        }
        redis::Client::open(url)
            .map(Target::Single)
            .map_err(client_error)
    }
}

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> RedisResult<T> {
        match self {
            Connection::Single(connection) => cmd.query_async(connection).await,
            Connection::Cluster(connection) => cmd.query_async(connection).await,
        }
    }
}

/// A handle on Redis; clones of the connection inside are cheap and share it.
pub struct RedisLink {
    target: Target,
    connection: Mutex<Option<Connection>>,
}

impl RedisLink {
    /// A link to `url`; for a cluster, a background task starts connecting (call within a tokio
    /// runtime).
    pub fn open(url: &str) -> Result<Arc<Self>, SharedCacheError> {
        let target = Target::parse(url)?;
        let connection = match &target {
            Target::Single(client) => {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
                    .map_err(|source| SharedCacheError::Client {
                        url: url.to_string(),
                        source,
                    })?;
                Some(Connection::Single(manager))
            }
            Target::Cluster(_) => None,
        };
        let link = Arc::new(RedisLink {
            target,
            connection: Mutex::new(connection),
        });
        if matches!(link.target, Target::Cluster(_)) {
            tokio::spawn(connect_cluster(Arc::downgrade(&link)));
        }
        Ok(link)
    }

    fn connection(&self) -> Result<Connection, SharedCacheError> {
        self.connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(SharedCacheError::NotConnected)
    }

    /// The first `max_len + 1` bytes of the value under `key` (GETRANGE), so that an oversized
    /// value is seen as such without being transferred whole; empty for no key.
    pub async fn get_bounded(
        &self,
        key: &str,
        max_len: usize,
    ) -> Result<Vec<u8>, SharedCacheError> {
        let mut connection = self.connection()?;
        let end = isize::try_from(max_len).unwrap_or(isize::MAX);
        let value: Vec<u8> = connection
            .query(redis::cmd("GETRANGE").arg(key).arg(0).arg(end))
            .await?;
        Ok(value)
    }

    /// SET `key` `value` PX `ttl_ms`.
    pub async fn set(&self, key: &str, value: &[u8], ttl_ms: u64) -> Result<(), SharedCacheError> {
        let mut connection = self.connection()?;
        let _: Value = connection
            .query(redis::cmd("SET").arg(key).arg(value).arg("PX").arg(ttl_ms))
            .await?;
        Ok(())
    }

    /// Removes every key starting with `prefix` (SCAN MATCH + UNLINK), on every master of a
    /// cluster; returns how many went. Bounded: at most [`MAX_SCAN_STEPS`] SCAN steps a master.
    pub async fn remove_prefixed(&self, prefix: &str) -> Result<u64, SharedCacheError> {
        let pattern = format!("{}*", glob_escape(prefix));
        match &self.target {
            // A single target's connection is always `Single`; both are matched, as
            // `Connection::query` does, rather than asserting it.
            Target::Single(_) => match self.connection()? {
                Connection::Single(mut connection) => {
                    remove_matching(&mut connection, &pattern, Unlink::Together).await
                }
                Connection::Cluster(mut connection) => {
                    remove_matching(&mut connection, &pattern, Unlink::Together).await
                }
            },
            Target::Cluster(_) => {
                let mut removed = 0;
                // SCAN cannot be routed through a cluster connection: each master directly.
                for master in self.masters().await? {
                    let client = redis::Client::open(format!("redis://{master}"))?;
                    let mut node = client.get_multiplexed_async_connection().await?;
                    removed += remove_matching(&mut node, &pattern, Unlink::OneByOne).await?;
                }
                Ok(removed)
            }
        }
    }

    /// The masters' addresses, from CLUSTER SLOTS.
    async fn masters(&self) -> Result<Vec<String>, SharedCacheError> {
        let mut connection = self.connection()?;
        let slots: Value = connection.query(redis::cmd("CLUSTER").arg("SLOTS")).await?;
        let mut masters = Vec::new();
        if let Value::Array(ranges) = slots {
            for range in ranges {
                // [start, end, [ip, port, id, ...] (the master), replicas...]
                if let Value::Array(parts) = range
                    && let Some(Value::Array(master)) = parts.get(2)
                    && let (Some(ip), Some(Value::Int(port))) = (master.first(), master.get(1))
                {
                    let ip = match ip {
                        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        Value::SimpleString(text) => text.clone(),
                        _ => continue,
                    };
                    let address = format!("{ip}:{port}");
                    if !masters.contains(&address) {
                        masters.push(address);
                    }
                }
            }
        }
        Ok(masters)
    }
}

/// How the keys one SCAN step found are removed.
#[derive(Clone, Copy)]
enum Unlink {
    /// One UNLINK for all of them: a single Redis holds every slot.
    Together,
    /// One UNLINK per key: keys on one cluster master may still be in different slots, and a
    /// node refuses a multi-key command across slots.
    OneByOne,
}

/// SCAN MATCH `pattern` + UNLINK on the one server `connection` reaches, at most
/// [`MAX_SCAN_STEPS`] steps; returns how many keys went.
async fn remove_matching<C: ConnectionLike>(
    connection: &mut C,
    pattern: &str,
    unlink: Unlink,
) -> Result<u64, SharedCacheError> {
    let mut cursor: u64 = 0;
    let mut removed = 0u64;
    for _ in 0..MAX_SCAN_STEPS {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(connection)
            .await?;
        match unlink {
            Unlink::Together if !keys.is_empty() => {
                let count: u64 = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(connection)
                    .await?;
                removed += count;
            }
            Unlink::Together => {}
            Unlink::OneByOne => {
                for key in keys {
                    let count: u64 = redis::cmd("UNLINK")
                        .arg(key)
                        .query_async(connection)
                        .await?;
                    removed += count;
                }
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    Ok(removed)
}

/// `text` with Redis glob metacharacters escaped, so a prefix matches only itself.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Connects to the cluster, retrying with backoff until it works or the link is dropped.
async fn connect_cluster(link: Weak<RedisLink>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(strong) = link.upgrade() else {
            return;
        };
        let Target::Cluster(client) = &strong.target else {
            return;
        };
        let attempt =
            tokio::time::timeout(CONNECT_TIMEOUT * 3, client.get_async_connection()).await;
        match attempt {
            Ok(Ok(connection)) => {
                *strong.connection.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(Connection::Cluster(connection));
                tracing::info!("connected to the shared cache cluster");
                return;
            }
            Ok(Err(error)) => tracing::debug!(%error, "shared cache cluster not reachable yet"),
            Err(_) => tracing::debug!("shared cache cluster: connecting timed out"),
        }
        drop(strong);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_server_or_a_cluster() {
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379/0"),
            Ok(Target::Single(_))
        ));
        assert!(matches!(
            Target::parse("redis+cluster://127.0.0.1:7000,127.0.0.2:7000"),
            Ok(Target::Cluster(_))
        ));
        for bad in [
            "http://x",
            "127.0.0.1:6379",
            "redis+cluster://",
            "redis+cluster://a:1,,b:2",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_are_matched_literally() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
