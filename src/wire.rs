//! Facts of the DNS on the wire that every layer shares: the listeners, the caches and the
//! upstream transport all need them, and none of them owns them.

/// DNS servers listen on port 53; referrals carry addresses only.
pub const DNS_PORT: u16 = 53;

/// The EDNS payload ferret advertises upstream and to clients: the DNS flag day 2020 value, which
/// avoids IP fragmentation on every common path.
pub const EDNS_PAYLOAD: u16 = 1232;
