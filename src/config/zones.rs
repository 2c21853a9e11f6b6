//! Settings that name parts of the DNS tree: forward and stub zones, local zones and local data.
//!
//! Each parses from its text form inside `Deserialize`, so that a bad value in the file is
//! reported at its own line rather than at the top of the table that holds it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use hickory_proto::rr::{DNSClass, Name, Record};
use hickory_proto::serialize::txt::Parser as ZoneFileParser;
use ipnet::IpNet;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use super::{parse_prefix, parse_zone};
use crate::wire::DNS_PORT;

/// Queries for `name` and below are sent, whole, to `servers`, and their answers accepted as
/// they come (scrubbed to `name`), as Unbound's `forward-zone`.
///
/// Forwarders may be on loopback even when `allow-loopback-upstream` is off: the operator named
/// them, and forwarding to a local dnsmasq or a VPN's resolver is normal. The loopback policy
/// guards against *delegations* (data from the Internet) pointing at this host.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ForwardZoneText")]
pub struct ForwardZone {
    pub name: Name,
    /// `ADDR`, `ADDR@PORT` or `ADDR:PORT` (`[V6]:PORT`); port 53 when none is given. With
    /// `tls = true`, `ADDR@PORT#NAME` (port 853 when none is given), as Unbound's
    /// `forward-tls-upstream`.
    pub servers: Vec<SocketAddr>,
    /// Ask with RD=1 (the default): the servers are recursive resolvers. Off for servers that
    /// are authoritative for the zone but should still be trusted for everything in it.
    pub recursion_desired: bool,
    /// With `tls = true`: every server, reached over TLS (RFC 7858) and authenticated by the
    /// name after its `#` (RFC 8310 §8.1). Empty for plain DNS.
    pub tls: Vec<TlsServer>,
}

/// A forwarder reached over DNS over TLS, and the name its certificate must be valid for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsServer {
    pub addr: SocketAddr,
    /// A DNS name (or an IP address) checked against the certificate's subject alternative
    /// names.
    pub auth_name: String,
}

/// A forward zone as the file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ForwardZoneText {
    #[serde(deserialize_with = "zone_name")]
    name: Name,
    #[serde(deserialize_with = "forward_server_list")]
    servers: Vec<ForwardServer>,
    #[serde(default = "yes")]
    recursion_desired: bool,
    #[serde(default)]
    tls: bool,
}

impl TryFrom<ForwardZoneText> for ForwardZone {
    type Error = String;

    fn try_from(text: ForwardZoneText) -> Result<Self, String> {
        let mut tls = Vec::new();
        let mut servers = Vec::new();
        for server in text.servers {
            let addr = match (text.tls, server.port) {
                (_, Some(port)) => SocketAddr::new(server.ip, port),
                (true, None) => SocketAddr::new(server.ip, DOT_PORT),
                (false, None) => SocketAddr::new(server.ip, DNS_PORT),
            };
            match (text.tls, server.auth_name) {
                (true, Some(auth_name)) => tls.push(TlsServer { addr, auth_name }),
                (true, None) => {
                    return Err(format!(
                        "forward zone {}: with tls = true, server {addr} needs the name its \
                         certificate is for, as ADDR@PORT#NAME",
                        text.name
                    ));
                }
                (false, Some(_)) => {
                    return Err(format!(
                        "forward zone {}: a #NAME on server {addr} needs tls = true",
                        text.name
                    ));
                }
                (false, None) => {}
            }
            servers.push(addr);
        }
        Ok(ForwardZone {
            name: text.name,
            servers,
            recursion_desired: text.recursion_desired,
            tls,
        })
    }
}

/// DNS over TLS servers listen on port 853 (RFC 7858 §3.1).
pub const DOT_PORT: u16 = 853;

/// A forwarder as written: an address, maybe a port, maybe the name to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ForwardServer {
    ip: IpAddr,
    port: Option<u16>,
    auth_name: Option<String>,
}

/// `SERVER` as [`parse_server`] takes it, optionally followed by `#NAME`.
fn parse_forward_server(text: &str) -> Result<ForwardServer, String> {
    let (address, auth_name) = match text.trim().split_once('#') {
        Some((address, name)) => {
            let name = name.trim();
            rustls_pki_types::ServerName::try_from(name)
                .map_err(|_| format!("bad server name {name:?} in {text:?}"))?;
            (address, Some(name.to_owned()))
        }
        None => (text, None),
    };
    let addr = parse_server(address)?;
    // parse_server fills in port 53 for a bare address; whether that was written decides
    // whether port 853 applies instead.
    let explicit = address.contains('@') || address.trim().parse::<SocketAddr>().is_ok();
    Ok(ForwardServer {
        ip: addr.ip(),
        port: explicit.then_some(addr.port()),
        auth_name,
    })
}

/// Resolution of `name` and below starts at `servers` instead of at the root, and iterates down
/// from there as usual (RD=0), as Unbound's `stub-zone`: for zones that the public tree does not
/// delegate, such as a private `corp.` served by internal authoritative servers.
///
/// Stub servers are subject to `allow-loopback-upstream` like any delegation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StubZone {
    #[serde(deserialize_with = "zone_name")]
    pub name: Name,
    /// `ADDR`, `ADDR@PORT` or `ADDR:PORT` (`[V6]:PORT`); port 53 when none is given.
    #[serde(deserialize_with = "server_list")]
    pub servers: Vec<SocketAddr>,
}

/// A zone answered from local data, as Unbound's `local-zone`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LocalZone {
    #[serde(deserialize_with = "zone_name")]
    pub name: Name,
    #[serde(rename = "type")]
    pub kind: LocalZoneType,
}

/// How a local zone answers names inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocalZoneType {
    /// Local data is answered; every other name gets NXDOMAIN (or NODATA where a name exists).
    Static,
    /// Local data is answered; every other name gets REFUSED.
    Refuse,
    /// Every name gets NXDOMAIN, local data or not.
    AlwaysNxdomain,
    /// Local data is answered (a name with data but not of the type asked gets NODATA); every
    /// other name is resolved as usual.
    Transparent,
}

/// `ADDR`, `ADDR@PORT` (Unbound's form), `IPV4:PORT` or `[IPV6]:PORT`.
pub fn parse_server(text: &str) -> Result<SocketAddr, String> {
    let bad = |why: &str| format!("bad server address {text:?}: {why}");
    let text = text.trim();
    if let Some((ip, port)) = text.rsplit_once('@') {
        let ip: IpAddr = ip.parse().map_err(|_| bad("not an IP address"))?;
        let port: u16 = port.parse().map_err(|_| bad("not a port number"))?;
        return nonzero_port(SocketAddr::new(ip, port)).map_err(&bad);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return nonzero_port(addr).map_err(&bad);
    }
    let ip: IpAddr = text
        .parse()
        .map_err(|_| bad("expected ADDR, ADDR@PORT or ADDR:PORT"))?;
    Ok(SocketAddr::new(ip, DNS_PORT))
}

fn nonzero_port(addr: SocketAddr) -> Result<SocketAddr, &'static str> {
    if addr.port() == 0 {
        return Err("port 0");
    }
    Ok(addr)
}

/// TTL of a local-data record that gives none (Unbound uses the same).
const LOCAL_DATA_DEFAULT_TTL: u32 = 3_600;

/// One resource record in zone-file syntax (`"host.lan. 3600 IN A 192.0.2.1"`), as Unbound's
/// `local-data`. Names are relative to the root; TTL and class may be left out (3600, IN).
pub fn parse_local_record(text: &str) -> Result<Record, String> {
    let bad = |why: String| format!("bad local-data {text:?}: {why}");
    if text.contains(['\n', '\r']) {
        return Err(bad("one record per string".into()));
    }
    if text.trim_start().starts_with('$') {
        return Err(bad(
            "directives ($ORIGIN, $INCLUDE...) are not allowed".into()
        ));
    }
    // Parsed on its own line after a $TTL, so that a record without TTL gets the default; with
    // no file path, $INCLUDE cannot reach the file system.
    let zone_text = format!("$TTL {LOCAL_DATA_DEFAULT_TTL}\n{text}\n");
    let (_, rrsets) = ZoneFileParser::new(zone_text, None, Some(Name::root()))
        .parse()
        .map_err(|e| bad(e.to_string()))?;
    let mut records = rrsets
        .into_values()
        .flat_map(|rrset| rrset.records_without_rrsigs().cloned().collect::<Vec<_>>());
    let (Some(record), None) = (records.next(), records.next()) else {
        return Err(bad("expected exactly one record".into()));
    };
    if record.dns_class != DNSClass::IN {
        return Err(bad("only class IN is served".into()));
    }
    Ok(record)
}

fn yes() -> bool {
    true
}

/// Deserializes a string through `parse`. The parsing happens inside the visitor, that is while
/// the deserializer still handles this very value, so that toml gives the error the string's
/// own position (an error raised after `String::deserialize` returned would get the position of
/// whatever encloses it, such as a whole multi-line array).
fn parsed<'de, D, T>(deserializer: D, parse: fn(&str) -> Result<T, String>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_str(ParsingVisitor(parse))
}

struct ParsingVisitor<T>(fn(&str) -> Result<T, String>);

impl<T> Visitor<'_> for ParsingVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.0)(text).map_err(E::custom)
    }
}

pub(super) fn zone_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
    parsed(deserializer, parse_zone)
}

pub(super) fn zone_names<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Name>, D::Error> {
    Ok(Vec::<ZoneNameText>::deserialize(deserializer)?
        .into_iter()
        .map(|z| z.0)
        .collect())
}

pub(super) fn local_records<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Record>, D::Error> {
    Ok(Vec::<LocalRecordText>::deserialize(deserializer)?
        .into_iter()
        .map(|r| r.0)
        .collect())
}

pub(super) fn prefixes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    Ok(Vec::<PrefixText>::deserialize(deserializer)?
        .into_iter()
        .map(|p| p.0)
        .collect())
}

fn forward_server_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ForwardServer>, D::Error> {
    let servers: Vec<ForwardServer> = Vec::<ForwardServerText>::deserialize(deserializer)?
        .into_iter()
        .map(|s| s.0)
        .collect();
    if servers.is_empty() {
        return Err(de::Error::custom("at least one server is needed"));
    }
    Ok(servers)
}

fn server_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<SocketAddr>, D::Error> {
    let servers: Vec<SocketAddr> = Vec::<ServerText>::deserialize(deserializer)?
        .into_iter()
        .map(|s| s.0)
        .collect();
    if servers.is_empty() {
        return Err(de::Error::custom("at least one server is needed"));
    }
    Ok(servers)
}

/// The element types of the lists above: each parses its own string, so an error points at it.
macro_rules! text_newtype {
    ($name:ident, $inner:ty, $parse:path) => {
        struct $name($inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                parsed(deserializer, $parse).map($name)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                $parse(text).map($name)
            }
        }
    };
}

text_newtype!(ZoneNameText, Name, parse_zone);
text_newtype!(LocalRecordText, Record, parse_local_record);
text_newtype!(ServerText, SocketAddr, parse_server);
text_newtype!(ForwardServerText, ForwardServer, parse_forward_server);
text_newtype!(PrefixText, IpNet, parse_prefix);

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{RData, RecordType};

    #[test]
    fn server_addresses_take_ports_in_both_notations() {
        let cases = [
            ("192.0.2.1", "192.0.2.1:53"),
            ("192.0.2.1@5300", "192.0.2.1:5300"),
            ("192.0.2.1:5300", "192.0.2.1:5300"),
            ("2001:db8::1", "[2001:db8::1]:53"),
            ("2001:db8::1@5300", "[2001:db8::1]:5300"),
            ("[2001:db8::1]:5300", "[2001:db8::1]:5300"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_server(text), Ok(expected.parse().unwrap()), "{text}");
        }
        for bad in [
            "",
            "host.lan",
            "192.0.2.1@",
            "192.0.2.1@99999",
            "192.0.2.1:0",
            "1.2.3@53",
        ] {
            assert!(parse_server(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn forward_servers_over_tls_name_what_to_authenticate() {
        let zone = |text: &str| toml::from_str::<ForwardZone>(text).map_err(|e| e.to_string());
        let plain = zone("name = \"a.\"\nservers = [\"192.0.2.1\"]").unwrap();
        assert_eq!(plain.servers, ["192.0.2.1:53".parse().unwrap()]);
        assert!(plain.tls.is_empty());
        let tls = zone(
            "name = \"a.\"\ntls = true\nservers = [\"192.0.2.1#dns.example\", \
             \"192.0.2.2@8853#dns.example\", \"[2001:db8::1]:853#2001:db8::1\"]",
        )
        .unwrap();
        let addrs: Vec<String> = tls.servers.iter().map(ToString::to_string).collect();
        assert_eq!(
            addrs,
            ["192.0.2.1:853", "192.0.2.2:8853", "[2001:db8::1]:853"]
        );
        assert_eq!(tls.tls.len(), 3);
        assert_eq!(tls.tls[0].auth_name, "dns.example");
        assert_eq!(tls.tls[1].addr, tls.servers[1]);
        let unnamed = zone("name = \"a.\"\ntls = true\nservers = [\"192.0.2.1\"]");
        assert!(unnamed.unwrap_err().contains("needs the name"));
        let named = zone("name = \"a.\"\nservers = [\"192.0.2.1#dns.example\"]");
        assert!(named.unwrap_err().contains("needs tls = true"));
        let bad = zone("name = \"a.\"\ntls = true\nservers = [\"192.0.2.1#bad name\"]");
        assert!(bad.unwrap_err().contains("bad server name"));
    }

    #[test]
    fn local_data_takes_one_record_with_defaults() {
        let record = parse_local_record("host.lan. A 192.0.2.1").unwrap();
        assert_eq!(record.name, Name::from_ascii("host.lan.").unwrap());
        assert_eq!(record.ttl, LOCAL_DATA_DEFAULT_TTL);
        assert_eq!(record.record_type(), RecordType::A);
        let record = parse_local_record("mail.lan 60 IN MX 10 mx.lan.").unwrap();
        assert_eq!(record.ttl, 60);
        assert!(matches!(record.data, RData::MX(_)));
        let record = parse_local_record(r#"txt.lan. TXT "a=b; c""#).unwrap();
        assert_eq!(record.record_type(), RecordType::TXT);
    }

    #[test]
    fn local_data_refuses_anything_but_one_in_record() {
        for bad in [
            "",
            "host.lan. A",
            "host.lan. A 192.0.2.300",
            "host.lan. A 192.0.2.1\nother.lan. A 192.0.2.2",
            "$INCLUDE /etc/passwd",
            "$ORIGIN lan.",
            "host.lan. 60 CH A 192.0.2.1",
        ] {
            assert!(parse_local_record(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
