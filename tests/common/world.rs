//! The standard fake DNS hierarchy most resolver tests run against, on `127.{block}.x.y`.
//!
//! ```text
//! .                 127.B.0.1 (a.root-servers.test), 127.B.0.2 (b.root-servers.test)
//! ├── test.         127.B.1.1, 127.B.1.2
//! │   ├── example.test.      127.B.3.1 (live), 127.B.3.2 (dead: nothing listens)
//! │   │   └── sub.example.test.   127.B.4.1            (multi-level delegation)
//! │   ├── glueless.test.     ns.hosting.example. only  (glueless, cross-TLD)
//! │   ├── dead.test.         127.B.7.1 (nothing listens), 127.B.7.2 (swallows queries)
//! ├── example.      127.B.2.1 via ns.example-registry.test. (glueless from the root)
//! │   ├── other.example.     127.B.8.1
//! │   └── hosting.example.   127.B.5.1; its ns.hosting.example. = 127.B.6.1 serves glueless.test.
//! └── in-addr.arpa. 127.B.9.1 via ns.reverse.test. (glueless)
//! ```
//!
//! Answer data uses documentation addresses (192.0.2.0/24, 2001:db8::/32) that are never
//! contacted: they are only data.

use hickory_proto::rr::RecordType;

use super::authority::{Behaviour, Zone};
use super::hierarchy::{Hierarchy, net};

/// Number of TXT strings in `big.example.test.`: far over 1232 bytes, so UDP answers truncate.
pub const BIG_TXT_STRINGS: usize = 40;

/// The addresses of the world's servers, for tests that look at one server's query log.
pub struct Addresses {
    pub root_a: String,
    pub root_b: String,
    pub tld_test_1: String,
    pub tld_test_2: String,
    pub tld_example: String,
    pub example_test: String,
    pub example_test_dead: String,
    pub sub_example_test: String,
    pub hosting_example: String,
    pub glueless_test: String,
    pub dead_test_1: String,
    pub dead_test_2: String,
    pub other_example: String,
    pub reverse: String,
}

impl Addresses {
    pub fn new(block: u8) -> Self {
        Addresses {
            root_a: net(block, 0, 1),
            root_b: net(block, 0, 2),
            tld_test_1: net(block, 1, 1),
            tld_test_2: net(block, 1, 2),
            tld_example: net(block, 2, 1),
            example_test: net(block, 3, 1),
            example_test_dead: net(block, 3, 2),
            sub_example_test: net(block, 4, 1),
            hosting_example: net(block, 5, 1),
            glueless_test: net(block, 6, 1),
            dead_test_1: net(block, 7, 1),
            dead_test_2: net(block, 7, 2),
            other_example: net(block, 8, 1),
            reverse: net(block, 9, 1),
        }
    }
}

/// Starts every live server of the world on block `block` and writes its root hints.
pub async fn start(block: u8) -> Hierarchy {
    let a = Addresses::new(block);
    let root = root_zone(&a);
    let tld_test = tld_test_zone(&a);
    Hierarchy::builder()
        .server(&a.root_a, vec![root.clone()])
        .server(&a.root_b, vec![root])
        .server(&a.tld_test_1, vec![tld_test.clone()])
        .server(&a.tld_test_2, vec![tld_test])
        .server(&a.tld_example, vec![tld_example_zone(&a)])
        .server(&a.example_test, vec![example_test_zone(&a)])
        .server(&a.sub_example_test, vec![sub_example_test_zone()])
        .server(&a.hosting_example, vec![hosting_example_zone(&a)])
        .server(&a.glueless_test, vec![glueless_test_zone()])
        .server(&a.other_example, vec![other_example_zone()])
        .server(&a.reverse, vec![reverse_zone()])
        // dead.test: 127.B.7.1 is simply not served; 127.B.7.2 takes queries and never answers.
        .server(&a.dead_test_2, vec![dead_test_zone(&a)])
        .behaviour(&a.dead_test_2, Behaviour::Drop)
        .start()
        .await
}

fn root_zone(a: &Addresses) -> Zone {
    Zone::parse(
        ".",
        &format!(
            "$TTL 86400
.                      SOA a.root-servers.test. hostmaster.root-servers.test. 1 1800 900 604800 86400
.                      NS  a.root-servers.test.
.                      NS  b.root-servers.test.
test.           172800 NS  ns1.nic.test.
test.           172800 NS  ns2.nic.test.
ns1.nic.test.   172800 A   {tld1}
ns2.nic.test.   172800 A   {tld2}
a.root-servers.test. 172800 A {root_a}
b.root-servers.test. 172800 A {root_b}
example.        172800 NS  ns.example-registry.test.
in-addr.arpa.   172800 NS  ns.reverse.test.
",
            tld1 = a.tld_test_1,
            tld2 = a.tld_test_2,
            root_a = a.root_a,
            root_b = a.root_b,
        ),
    )
}

fn tld_test_zone(a: &Addresses) -> Zone {
    Zone::parse(
        "test.",
        &format!(
            "$TTL 86400
@                  SOA ns1.nic.test. hostmaster.nic.test. 1 1800 900 604800 3600
@                  NS  ns1.nic.test.
@                  NS  ns2.nic.test.
ns1.nic            A   {tld1}
ns2.nic            A   {tld2}
a.root-servers     A   {root_a}
b.root-servers     A   {root_b}
ns.example-registry A  {tld_example}
ns.reverse         A   {reverse}
example     172800 NS  ns1.example.test.
example     172800 NS  ns2.example.test.
ns1.example 172800 A   {example_test}
ns2.example 172800 A   {example_test_dead}
glueless    172800 NS  ns.hosting.example.
dead        172800 NS  ns1.dead.test.
dead        172800 NS  ns2.dead.test.
ns1.dead    172800 A   {dead1}
ns2.dead    172800 A   {dead2}
",
            tld1 = a.tld_test_1,
            tld2 = a.tld_test_2,
            root_a = a.root_a,
            root_b = a.root_b,
            tld_example = a.tld_example,
            reverse = a.reverse,
            example_test = a.example_test,
            example_test_dead = a.example_test_dead,
            dead1 = a.dead_test_1,
            dead2 = a.dead_test_2,
        ),
    )
}

fn tld_example_zone(a: &Addresses) -> Zone {
    Zone::parse(
        "example.",
        &format!(
            "$TTL 86400
@                 SOA ns.example-registry.test. hostmaster.example. 1 1800 900 604800 3600
@                 NS  ns.example-registry.test.
other      172800 NS  ns.other.example.
ns.other   172800 A   {other}
hosting    172800 NS  ns1.hosting.example.
ns1.hosting 172800 A  {hosting}
",
            other = a.other_example,
            hosting = a.hosting_example,
        ),
    )
}

fn example_test_zone(a: &Addresses) -> Zone {
    let big: Vec<String> = (0..BIG_TXT_STRINGS)
        .map(|i| format!("\"{:0>50}\"", i))
        .collect();
    Zone::parse(
        "example.test.",
        &format!(
            "$TTL 3600
@         SOA   ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300
@         NS    ns1.example.test.
@         NS    ns2.example.test.
ns1       A     {live}
ns2       A     {dead}
@         MX    10 mail.example.test.
mail      A     192.0.2.25
www       A     192.0.2.1
www       AAAA  2001:db8::1
txt       TXT   \"hello world\"
_sip._tcp SRV   10 5 5060 sip.example.test.
sip       A     192.0.2.50
short  5  A     192.0.2.5
MiXeD     A     192.0.2.7
signed    A     192.0.2.40
alias     CNAME www
chain1    CNAME chain2
chain2    CNAME chain3
chain3    CNAME www
cross     CNAME www.other.example.
tonx      CNAME nowhere.other.example.
loop1     CNAME loop2
loop2     CNAME loop1
*.wild    A     192.0.2.99
*.wild    TXT   \"wildcard\"
legacy    DNAME other.example.
big       TXT   {big}
sub       NS    ns.sub.example.test.
ns.sub    A     {sub}
",
            live = a.example_test,
            dead = a.example_test_dead,
            sub = a.sub_example_test,
            big = big.join(" "),
        ),
    )
    .with_rrsig("signed.example.test.", RecordType::A)
}

fn sub_example_test_zone() -> Zone {
    Zone::parse(
        "sub.example.test.",
        "$TTL 3600
@      SOA ns.sub.example.test. hostmaster.example.test. 1 3600 900 604800 300
@      NS  ns.sub.example.test.
ns     A   127.0.0.1
deep   A   192.0.2.44
",
    )
}

fn hosting_example_zone(a: &Addresses) -> Zone {
    Zone::parse(
        "hosting.example.",
        &format!(
            "$TTL 3600
@      SOA ns1.hosting.example. hostmaster.hosting.example. 1 3600 900 604800 300
@      NS  ns1.hosting.example.
ns1    A   {hosting}
ns     A   {glueless}
",
            hosting = a.hosting_example,
            glueless = a.glueless_test,
        ),
    )
}

fn glueless_test_zone() -> Zone {
    Zone::parse(
        "glueless.test.",
        "$TTL 3600
@      SOA ns.hosting.example. hostmaster.glueless.test. 1 3600 900 604800 300
@      NS  ns.hosting.example.
www    A   192.0.2.60
",
    )
}

fn dead_test_zone(a: &Addresses) -> Zone {
    Zone::parse(
        "dead.test.",
        &format!(
            "$TTL 3600
@      SOA ns1.dead.test. hostmaster.dead.test. 1 3600 900 604800 300
@      NS  ns1.dead.test.
@      NS  ns2.dead.test.
ns1    A   {dead1}
ns2    A   {dead2}
www    A   192.0.2.70
",
            dead1 = a.dead_test_1,
            dead2 = a.dead_test_2,
        ),
    )
}

fn other_example_zone() -> Zone {
    Zone::parse(
        "other.example.",
        "$TTL 3600
@      SOA ns.other.example. hostmaster.other.example. 1 3600 900 604800 300
@      NS  ns.other.example.
ns     A   127.0.0.1
www    A   192.0.2.80
x      A   192.0.2.81
@      MX  10 www.other.example.
",
    )
}

fn reverse_zone() -> Zone {
    Zone::parse(
        "in-addr.arpa.",
        "$TTL 3600
@                 SOA ns.reverse.test. hostmaster.reverse.test. 1 3600 900 604800 300
@                 NS  ns.reverse.test.
10.20.30          PTR www.example.test.
",
    )
}
