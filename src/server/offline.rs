//! The request pipeline with no sockets and no upstream: for fuzzing and tests that push bytes
//! through every step a listener runs (fast path, access control, parse, cookies, rate limit,
//! cache answer, encoding) without a network.

use std::net::SocketAddr;
use std::sync::Arc;

use super::pipeline::{self, Admission, Exchange, Transport};
use super::{ServerError, Service};
use crate::answer::Answer;
use crate::clock::Clock;
use crate::config::Config;
use crate::resolver::Resolver;

/// A server's pipeline that answers only from local zones and the cache. A question that would
/// need an upstream query is answered SERVFAIL, as when every upstream server is unreachable.
///
/// Needs no tokio runtime as long as `config.prefetch` is off (a prefetch spawns a task).
pub struct OfflinePipeline {
    service: Service,
}

impl OfflinePipeline {
    pub fn new(config: &Config, clock: Clock) -> Result<Self, ServerError> {
        Ok(OfflinePipeline {
            service: Service::new(config, clock)?,
        })
    }

    /// The resolver whose cache answers (fill it through [`Resolver::cache`]).
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.service.resolver
    }

    /// Bytes in, bytes out, as a listener would answer `bytes` from `client` over `transport`
    /// (`None`: send nothing).
    pub fn answer_from_cache_only(
        &self,
        bytes: &[u8],
        client: SocketAddr,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let service = &self.service;
        let exchange = Exchange::new(client, transport);
        let mut fast = Vec::new();
        if pipeline::answer_fast(service, &exchange, bytes, &mut fast) {
            return Some(fast);
        }
        match pipeline::accept(service, &exchange, bytes) {
            Admission::Nothing => None,
            Admission::Reply(reply) => Some(reply),
            Admission::Answer(query) => Some(
                pipeline::answer_inline(service, &exchange, &query).unwrap_or_else(|| {
                    pipeline::respond(service, &exchange, &query, &Answer::servfail(), false)
                }),
            ),
        }
    }
}
