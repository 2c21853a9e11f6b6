//! ferret: a recursive caching DNS resolver.
//!
//! Data flows one way: a listener ([`server`]) parses a query and hands the question to the
//! [`resolver`], which answers from [`local_zones`] and the [`cache`] or iterates from the root
//! through [`upstream`] servers; the answer travels back the same road and is encoded for the
//! client by the listener.

pub mod answer;
pub mod bounded_lru;
pub mod cache;
pub mod clock;
pub mod config;
pub mod control;
pub mod cookie;
pub mod hints;
pub mod local_zones;
pub mod metrics;
pub mod published;
pub mod records;
pub mod resolver;
pub mod server;
pub mod systemd;
pub mod upstream;
pub mod validator;
pub mod wire;

pub use answer::Answer;
pub use clock::Clock;
pub use config::Config;
pub use resolver::Resolver;
