//! Root hints: where iteration starts before the root NS set has been primed (RFC 8109).

use std::net::IpAddr;
use std::path::Path;

use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::txt::Parser;
use thiserror::Error;

/// IANA's `named.root`, built into the binary so that ferret needs no files to start.
pub const EMBEDDED_ROOT_HINTS: &str = include_str!("../root.hints");

#[derive(Debug, Error)]
pub enum HintsError {
    #[error("cannot read root hints {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("root hints do not parse: {0}")]
    Parse(String),
    #[error("root hints name no root server with an address")]
    Empty,
}

/// One root server from the hints: its name and its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootServer {
    pub name: Name,
    pub addresses: Vec<IpAddr>,
}

/// The root servers named by a hints file.
#[derive(Debug, Clone)]
pub struct RootHints {
    pub servers: Vec<RootServer>,
    /// TTL of the hints' NS RRset, used for the primed root NS set if priming fails.
    pub ttl: u32,
}

impl RootHints {
    /// The hints built into the binary.
    pub fn embedded() -> Result<Self, HintsError> {
        Self::parse(EMBEDDED_ROOT_HINTS)
    }

    /// Reads hints from `path`, or the embedded copy when there is none.
    pub fn load(path: Option<&Path>) -> Result<Self, HintsError> {
        match path {
            None => Self::embedded(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| HintsError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                Self::parse(&text)
            }
        }
    }

    /// Parses zone-file text: the NS records of `.` and the A/AAAA records of the names they name.
    pub fn parse(text: &str) -> Result<Self, HintsError> {
        let (_, rrsets) = Parser::new(text, None, Some(Name::root()))
            .parse()
            .map_err(|e| HintsError::Parse(e.to_string()))?;
        let mut ttl = 3_600_000;
        let mut names = Vec::new();
        for rrset in rrsets.values() {
            if rrset.record_type() == RecordType::NS && rrset.name().is_root() {
                ttl = rrset.ttl();
                for record in rrset.records_without_rrsigs() {
                    if let RData::NS(ns) = &record.data {
                        names.push(ns.0.clone());
                    }
                }
            }
        }
        let servers: Vec<RootServer> = names
            .into_iter()
            .map(|name| {
                let addresses = rrsets
                    .values()
                    .filter(|rrset| rrset.name() == &name)
                    .flat_map(|rrset| rrset.records_without_rrsigs())
                    .filter_map(|record| match &record.data {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                        _ => None,
                    })
                    .collect();
                RootServer { name, addresses }
            })
            .filter(|server| !server.addresses.is_empty())
            .collect();
        if servers.is_empty() {
            return Err(HintsError::Empty);
        }
        Ok(RootHints { servers, ttl })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_hints_name_thirteen_root_servers() {
        let hints = RootHints::embedded().expect("embedded hints parse");
        assert_eq!(hints.servers.len(), 13);
        assert!(hints.servers.iter().all(|s| s.addresses.len() == 2));
    }

    #[test]
    fn parses_a_small_hints_file() {
        let text = ".  3600000 NS a.root.test.\n\
                    a.root.test. 3600000 A 127.0.0.1\n";
        let hints = RootHints::parse(text).expect("parses");
        assert_eq!(hints.servers.len(), 1);
        assert_eq!(
            hints.servers[0].addresses,
            vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn hints_without_addresses_are_an_error() {
        let text = ".  3600000 NS a.root.test.\n";
        assert!(matches!(RootHints::parse(text), Err(HintsError::Empty)));
    }
}
