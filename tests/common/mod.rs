//! Shared test support: a fake DNS hierarchy on loopback, real peers (NSD, Unbound), and a DNS client.
//!
//! Each integration test binary includes this module; not every binary uses every helper.
#![allow(dead_code)]

pub mod authority;
pub mod client;
pub mod dnsdist;
pub mod ferret;
pub mod hierarchy;
pub mod nsd;
pub mod process;
pub mod redis;
pub mod signed;
pub mod tls;
pub mod unbound;
pub mod world;
