//! The label values metrics are split by, each a small closed set so that the number of time
//! series stays bounded whatever clients send: a query for type 65280 counts as `other`, not as a
//! new series.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// How the client reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Udp,
    Tcp,
    /// DNS over TLS (RFC 7858).
    Dot,
    /// DNS over HTTPS (RFC 8484).
    Doh,
    /// DNS over QUIC (RFC 9250).
    Doq,
}

impl Protocol {
    pub const ALL: [Protocol; 5] = [
        Protocol::Udp,
        Protocol::Tcp,
        Protocol::Dot,
        Protocol::Doh,
        Protocol::Doq,
    ];

    /// The encrypted transports, which count failed TLS handshakes.
    pub const ENCRYPTED: [Protocol; 3] = [Protocol::Dot, Protocol::Doh, Protocol::Doq];

    pub fn label(self) -> &'static str {
        match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            Protocol::Dot => "dot",
            Protocol::Doh => "doh",
            Protocol::Doq => "doq",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Query types with a series of their own; everything else is `other`.
pub const QUERY_TYPES: [RecordType; 16] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::MX,
    RecordType::NS,
    RecordType::PTR,
    RecordType::SOA,
    RecordType::SRV,
    RecordType::TXT,
    RecordType::HTTPS,
    RecordType::SVCB,
    RecordType::DS,
    RecordType::DNSKEY,
    RecordType::CAA,
    RecordType::NAPTR,
    RecordType::ANY,
];

/// Number of query type labels: the listed types and `other`.
pub const QUERY_TYPE_LABELS: usize = QUERY_TYPES.len() + 1;

pub fn query_type_index(rtype: RecordType) -> usize {
    QUERY_TYPES
        .iter()
        .position(|t| *t == rtype)
        .unwrap_or(QUERY_TYPES.len())
}

pub fn query_type_label(index: usize) -> String {
    QUERY_TYPES
        .get(index)
        .map_or_else(|| "other".to_string(), |t| t.to_string())
}

/// Response codes with a series of their own (RFC 1035 §4.1.1, RFC 6891 §9 for BADVERS).
const RCODES: [(u16, &str); 7] = [
    (0, "NOERROR"),
    (1, "FORMERR"),
    (2, "SERVFAIL"),
    (3, "NXDOMAIN"),
    (4, "NOTIMP"),
    (5, "REFUSED"),
    (16, "BADVERS"),
];

/// Number of rcode labels: the listed codes and `other`.
pub const RCODE_LABELS: usize = RCODES.len() + 1;

pub fn rcode_index(rcode: ResponseCode) -> usize {
    let value = u16::from(rcode);
    RCODES
        .iter()
        .position(|(code, _)| *code == value)
        .unwrap_or(RCODES.len())
}

pub fn rcode_label(index: usize) -> &'static str {
    RCODES.get(index).map_or("other", |(_, name)| name)
}

/// The rcode's mnemonic where it has a label of its own, else its number (for logs, where the
/// set need not be closed).
pub fn rcode_name(rcode: ResponseCode) -> String {
    let index = rcode_index(rcode);
    match RCODES.get(index) {
        Some((_, name)) => (*name).to_string(),
        None => u16::from(rcode).to_string(),
    }
}

/// The limits whose tripping is counted: most turn a client question into SERVFAIL; the TCP
/// connection cap closes a connection, the rate limit sends silence or an empty TC=1, and the
/// per-server cap makes iteration skip a busy server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    ResolutionTimeout,
    UpstreamQueries,
    Referrals,
    CnameChain,
    GluelessDepth,
    NsLookupsPerReferral,
    TcpConnections,
    /// The response rate limit (`--ratelimit`): responses dropped or slipped as TC=1.
    RateLimit,
    /// `--max-inflight-resolutions`: a new question answered SERVFAIL at once.
    InflightResolutions,
    /// `--max-queries-per-server`: a busy server skipped for another.
    QueriesPerServer,
    /// `--max-signature-validations`: a question's DNSSEC validation stopped (KeyTrap).
    SignatureValidations,
    /// `--max-nsec3-hash-computations`: a question's NSEC3 proof stopped (CVE-2023-50868).
    Nsec3Hashes,
    /// `--max-dnskeys-per-tag`: more keys of one tag than are tried.
    DnskeysPerTag,
    /// `--max-rrsigs-per-rrset`: more RRSIGs over one RRset than are tried.
    RrsigsPerRrset,
    /// `--max-ds-per-zone`: more DS records for one zone than are considered.
    DsPerZone,
}

impl Limit {
    pub const ALL: [Limit; 15] = [
        Limit::ResolutionTimeout,
        Limit::UpstreamQueries,
        Limit::Referrals,
        Limit::CnameChain,
        Limit::GluelessDepth,
        Limit::NsLookupsPerReferral,
        Limit::TcpConnections,
        Limit::RateLimit,
        Limit::InflightResolutions,
        Limit::QueriesPerServer,
        Limit::SignatureValidations,
        Limit::Nsec3Hashes,
        Limit::DnskeysPerTag,
        Limit::RrsigsPerRrset,
        Limit::DsPerZone,
    ];

    /// The label value: the name of the option that sets the limit.
    pub fn label(self) -> &'static str {
        match self {
            Limit::ResolutionTimeout => "resolution_timeout",
            Limit::UpstreamQueries => "max_upstream_queries",
            Limit::Referrals => "max_referrals",
            Limit::CnameChain => "max_cname_chain",
            Limit::GluelessDepth => "max_glueless_depth",
            Limit::NsLookupsPerReferral => "max_ns_lookups_per_referral",
            Limit::TcpConnections => "max_tcp_connections",
            Limit::RateLimit => "ratelimit",
            Limit::InflightResolutions => "max_inflight_resolutions",
            Limit::QueriesPerServer => "max_queries_per_server",
            Limit::SignatureValidations => "max_signature_validations",
            Limit::Nsec3Hashes => "max_nsec3_hash_computations",
            Limit::DnskeysPerTag => "max_dnskeys_per_tag",
            Limit::RrsigsPerRrset => "max_rrsigs_per_rrset",
            Limit::DsPerZone => "max_ds_per_zone",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlisted_types_and_codes_share_the_other_label() {
        assert_eq!(query_type_label(query_type_index(RecordType::A)), "A");
        assert_eq!(
            query_type_label(query_type_index(RecordType::Unknown(65280))),
            "other"
        );
        assert_eq!(rcode_label(rcode_index(ResponseCode::NXDomain)), "NXDOMAIN");
        assert_eq!(rcode_label(rcode_index(ResponseCode::BADVERS)), "BADVERS");
        assert_eq!(rcode_label(rcode_index(ResponseCode::NotZone)), "other");
    }

    #[test]
    fn limits_index_their_own_slot() {
        for (i, limit) in Limit::ALL.iter().enumerate() {
            assert_eq!(limit.index(), i);
        }
    }
}
