//! What the listeners answer with, and how a reload replaces it under them.
//!
//! Every listener task keeps a [`ServingView`]: its own `Arc` of the current [`Serving`] and the
//! generation it was taken at. Per datagram the view costs one atomic load of a counter that only
//! a reload writes, so the hot path of many threads shares nothing that bounces between cores;
//! after a reload, the next query through each view picks up the new configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ipnet::IpNet;

use super::pipeline::ClientPolicy;
use super::tcp::TcpSettings;
use crate::config::Config;
use crate::resolver::Resolver;

/// One configuration of everything a query passes through. Replaced whole, never edited, so a
/// query sees the old configuration or the new one, never a mix.
pub(crate) struct Serving {
    pub resolver: Arc<Resolver>,
    pub policy: Arc<ClientPolicy>,
    pub tcp: TcpSettings,
}

impl Serving {
    pub fn tcp_settings(config: &Config) -> TcpSettings {
        TcpSettings {
            max_connections: config.limits.max_tcp_connections,
            idle_timeout: config.tcp_idle_timeout(),
            read_timeout: config.tcp_read_timeout(),
        }
    }
}

/// The settings the client policy is built from. A reload builds a new policy only when they
/// change: a new one would forget the rate-limit counts and the server cookie secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicySettings {
    allow: Vec<IpNet>,
    refuse_silently: bool,
    ratelimit: u32,
    ratelimit_slip: u32,
}

impl PolicySettings {
    pub fn of(config: &Config) -> Self {
        PolicySettings {
            allow: config.allow.clone(),
            refuse_silently: config.refuse_silently,
            ratelimit: config.ratelimit,
            ratelimit_slip: config.ratelimit_slip,
        }
    }
}

struct Shared {
    /// Bumped after every replacement.
    generation: AtomicU64,
    serving: RwLock<Arc<Serving>>,
}

/// The current [`Serving`], shared by the server and every listener.
#[derive(Clone)]
pub(crate) struct CurrentServing(Arc<Shared>);

impl CurrentServing {
    pub fn new(serving: Serving) -> Self {
        CurrentServing(Arc::new(Shared {
            generation: AtomicU64::new(0),
            serving: RwLock::new(Arc::new(serving)),
        }))
    }

    pub fn get(&self) -> Arc<Serving> {
        Arc::clone(&self.0.serving.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn replace(&self, serving: Serving) {
        *self.0.serving.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(serving);
        // Release: a view that sees the new generation also sees the new configuration.
        self.0.generation.fetch_add(1, Ordering::Release);
    }

    /// A view for one listener task or connection.
    pub fn view(&self) -> ServingView {
        let generation = self.0.generation.load(Ordering::Acquire);
        ServingView {
            current: self.clone(),
            generation,
            serving: self.get(),
        }
    }
}

/// One task's handle on the current configuration.
pub(crate) struct ServingView {
    current: CurrentServing,
    generation: u64,
    serving: Arc<Serving>,
}

impl ServingView {
    /// The configuration to use for the next query: the one held, unless a reload came since.
    pub fn get(&mut self) -> &Arc<Serving> {
        let generation = self.current.0.generation.load(Ordering::Acquire);
        if generation != self.generation {
            self.serving = self.current.get();
            self.generation = generation;
        }
        &self.serving
    }
}
