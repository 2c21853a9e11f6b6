//! The current [`Service`], and how a reload replaces it under the listeners.
//!
//! Every listener task keeps a [`ServiceView`]: its own `Arc` of the current service and the
//! generation it was taken at. Per datagram the view costs one atomic load of a counter that only
//! a reload writes, so the hot path of many threads shares nothing that bounces between cores;
//! after a reload, the next query through each view picks up the new configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ipnet::IpNet;

use super::Service;
use crate::config::Config;

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

#[derive(Debug)]
struct Shared {
    /// Bumped after every replacement.
    generation: AtomicU64,
    service: RwLock<Arc<Service>>,
}

/// The current [`Service`], shared by the server, its handles and every listener.
#[derive(Debug, Clone)]
pub(crate) struct CurrentService(Arc<Shared>);

impl CurrentService {
    pub fn new(service: Service) -> Self {
        CurrentService(Arc::new(Shared {
            generation: AtomicU64::new(0),
            service: RwLock::new(Arc::new(service)),
        }))
    }

    pub fn get(&self) -> Arc<Service> {
        Arc::clone(&self.0.service.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn replace(&self, service: Service) {
        *self.0.service.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(service);
        // Release: a view that sees the new generation also sees the new service.
        self.0.generation.fetch_add(1, Ordering::Release);
    }

    /// A view for one listener task or connection.
    pub fn view(&self) -> ServiceView {
        let generation = self.0.generation.load(Ordering::Acquire);
        ServiceView {
            current: self.clone(),
            generation,
            service: self.get(),
        }
    }
}

/// One task's handle on the current service.
#[derive(Debug)]
pub(crate) struct ServiceView {
    current: CurrentService,
    generation: u64,
    service: Arc<Service>,
}

impl ServiceView {
    /// What the view follows, for a task that needs its own view (or takes the service at
    /// each use).
    pub fn current(&self) -> &CurrentService {
        &self.current
    }

    /// The service for the next query: the one held, unless a reload came since.
    pub fn get(&mut self) -> &Arc<Service> {
        let generation = self.current.0.generation.load(Ordering::Acquire);
        if generation != self.generation {
            self.service = self.current.get();
            self.generation = generation;
        }
        &self.service
    }
}
