#!/usr/bin/env python3
"""Writes the small seed corpora of the fuzz targets (fuzz/seeds/<target>/).

Hand-encoded DNS messages, so the seeds do not depend on any DNS library: a few valid queries for
the names the query_path harness has in its cache (and a few invalid ones), a few upstream
responses of every kind for the questions of the upstream_response harness, and negative answers
with NSEC and NSEC3 proofs for denial_proof. The first byte of an upstream_response input picks the
question (see UpstreamResponse::new in fuzz/src/lib.rs).

Run from anywhere: python3 fuzz/make_seeds.py
"""

import base64
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "NULL": 10, "HINFO": 13, "MX": 15, "TXT": 16,
         "AAAA": 28, "SRV": 33, "NAPTR": 35, "CERT": 37, "DNAME": 39, "OPT": 41, "DS": 43,
         "SSHFP": 44, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "NSEC3": 50, "TLSA": 52, "OPENPGPKEY": 61, "CSYNC": 62, "SVCB": 64,
         "HTTPS": 65, "CAA": 257, "PRIVATE": 65280, "AXFR": 252, "ANY": 255}


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(ident, flags, qd, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", ident, flags, qd, an, ns, ar)


def question(qname, qtype, qclass=1):
    return name(qname) + struct.pack("!HH", TYPES[qtype], qclass)


def opt(payload=1232, dnssec_ok=False, version=0, options=b""):
    flags = 0x8000 if dnssec_ok else 0
    return b"\0" + struct.pack("!HHBBHH", 41, payload, 0, version, flags, len(options)) + options


def query(ident, qname, qtype, edns=None, flags=0x0100, qclass=1):
    body = question(qname, qtype, qclass)
    if edns is None:
        return header(ident, flags, 1) + body
    return header(ident, flags, 1, ar=1) + body + edns


def rr(owner, rtype, rdata, ttl=300):
    return name(owner) + struct.pack("!HHIH", TYPES[rtype], 1, ttl, len(rdata)) + rdata


def a(owner, last):
    return rr(owner, "A", bytes([192, 0, 2, last]))


def soa(zone):
    data = name("ns1." + zone) + name("hostmaster." + zone) + struct.pack("!IIIII", 1, 3600, 600, 86400, 60)
    return rr(zone, "SOA", data)


def rrsig(owner, covered, labels=2):
    data = struct.pack("!HBBIIIH", TYPES[covered], 8, labels, 300, 2, 1, 1) + name("example.test.") + b"\xaa" * 32
    return rr(owner, "RRSIG", data)


def response(ident, qname, qtype, answers=(), authorities=(), additionals=(), aa=True, rcode=0):
    flags = 0x8000 | (0x0400 if aa else 0) | rcode
    return (header(ident, flags, 1, len(answers), len(authorities), len(additionals))
            + question(qname, qtype) + b"".join(answers) + b"".join(authorities)
            + b"".join(additionals))


def query_seeds():
    cookie = struct.pack("!HH", 10, 8) + b"\x01\x02\x03\x04\x05\x06\x07\x08"
    seeds = {
        "www_a": query(1, "www.example.test.", "A"),
        "www_a_edns_do": query(2, "www.example.test.", "A", opt(dnssec_ok=True)),
        "www_aaaa_edns": query(3, "WWW.Example.TEST.", "AAAA", opt(4096)),
        "alias_a": query(4, "alias.example.test.", "A"),
        "loop": query(5, "loop1.example.test.", "A"),
        "long_chain": query(6, "c0.example.test.", "A", opt()),
        "dname": query(7, "x.d.example.test.", "A"),
        "big_txt": query(8, "big.example.test.", "TXT", opt(65535)),
        "big_chain": query(9, "bigchain.example.test.", "TXT", opt(65535)),
        "nxdomain": query(10, "nx.example.test.", "A"),
        "nodata": query(11, "nodata.example.test.", "AAAA", opt()),
        "mx": query(12, "mx.example.test.", "MX"),
        "ns": query(13, "example.test.", "NS"),
        "miss": query(14, "unknown.example.test.", "A"),
        "localhost": query(15, "localhost.", "A"),
        "cookie": query(16, "www.example.test.", "A", opt(options=cookie)),
        "edns_version_1": query(17, "www.example.test.", "A", opt(version=1)),
        "opcode_status": query(18, "www.example.test.", "A", flags=0x1100),
        "chaos": query(19, "version.bind.", "TXT", qclass=3),
        "axfr": query(20, "example.test.", "AXFR"),
        "two_questions": header(21, 0x0100, 2) + question("www.example.test.", "A")
        + question("mx.example.test.", "MX"),
        # The question name is a pointer into the header: a loop-free but odd compression.
        "compressed_question": header(22, 0x0100, 1) + b"\xc0\x0c" + struct.pack("!HH", 1, 1),
        "is_response": header(23, 0x8100, 1) + question("www.example.test.", "A"),
        "weird_label": header(24, 0x0100, 1) + b"\x07we\x00i.rd\x07EXAMPLE\x04test\x00"
        + struct.pack("!HH", 1, 1),
    }
    return seeds


def cs(text):
    """A <character-string> (RFC 1035 §3.3)."""
    return bytes([len(text)]) + text


def many_types(owner):
    """One record of each type with structured data that hickory-proto decodes into fields (and
    so re-encodes from them): where a decoder and its encoder disagree, a cached record would not
    survive the trip to the client."""
    svcb = struct.pack("!H", 1) + name("svc.example.test.") + struct.pack("!HH", 1, 6) \
        + b"\x02h2\x02h3" + struct.pack("!HH", 3, 2) + struct.pack("!H", 8443) \
        + struct.pack("!HH", 4, 4) + bytes([192, 0, 2, 9])
    return [
        rr(owner, "CAA", b"\x00\x05issueca.example.net; account=1"),
        rr(owner, "CAA", b"\x80\x05iodefmailto:sec@example.test"),
        rr(owner, "SVCB", svcb),
        rr(owner, "HTTPS", struct.pack("!H", 0) + name("www.example.test.")),
        rr(owner, "NAPTR", struct.pack("!HH", 100, 10) + cs(b"S") + cs(b"SIP+D2U") + cs(b"")
           + name("_sip._udp.example.test.")),
        rr(owner, "SRV", struct.pack("!HHH", 0, 5, 5060) + name("sip.example.test.")),
        rr(owner, "SSHFP", b"\x04\x02" + b"\x11" * 32),
        rr(owner, "TLSA", b"\x03\x01\x01" + b"\x22" * 32),
        rr(owner, "HINFO", cs(b"PDP-11") + cs(b"UNIX")),
        rr(owner, "CERT", struct.pack("!HHB", 1, 12345, 8) + b"\x33" * 16),
        rr(owner, "OPENPGPKEY", b"\x99" * 24),
        rr(owner, "CSYNC", struct.pack("!IH", 66, 3) + b"\x00\x04\x60\x00\x00\x08"),
        rr(owner, "NULL", b"\x00\x01\x02"),
        rr(owner, "PRIVATE", b"opaque"),
    ]


def response_seeds():
    www = "www.example.test."
    ns_referral = [rr("example.test.", "NS", name("ns1.example.test.")),
                   rr("example.test.", "NS", name("ns.elsewhere.invalid."))]
    seeds = {
        "answer_a": b"\0" + response(1, www, "A", [a(www, 1), a(www, 2), rrsig(www, "A")],
                                     additionals=[a("evil.invalid.", 66)]),
        "nodata_aaaa": b"\1" + response(2, www, "AAAA", authorities=[soa("example.test."),
                                                                     rrsig("example.test.", "SOA")]),
        "nxdomain_txt": b"\2" + response(3, www, "TXT", authorities=[soa("example.test.")], rcode=3),
        "cname": b"\3" + response(4, "alias.example.test.", "CNAME",
                                  [rr("alias.example.test.", "CNAME", name(www))]),
        "dname_chain": b"\4" + response(5, "x.d.example.test.", "A", [
            rr("d.example.test.", "DNAME", name("other.example.test.")),
            rr("x.d.example.test.", "CNAME", name("x.other.example.test.")),
            a("x.other.example.test.", 20)]),
        "dname": b"\5" + response(6, "d.example.test.", "DNAME",
                                  [rr("d.example.test.", "DNAME", name("other.example.test."))]),
        "ns_with_glue": b"\6" + response(7, "example.test.", "NS", ns_referral,
                                         additionals=[a("ns1.example.test.", 53)]),
        "any": b"\7" + response(8, www, "ANY", [a(www, 1), rr(www, "TXT", b"\x05hello")]),
        "any_many_types": b"\7" + response(14, www, "ANY", many_types(www)),
        "referral_from_test": b"\x08" + response(9, www, "A", authorities=ns_referral,
                                                 additionals=[a("ns1.example.test.", 53),
                                                              a("ns.elsewhere.invalid.", 66)],
                                                 aa=False),
        "referral_from_root": b"\x09" + response(10, www, "A",
                                                 authorities=[rr("test.", "NS", name("a.nic.test."))],
                                                 additionals=[a("a.nic.test.", 1)], aa=False),
        "ds_nodata": b"\x0a" + response(11, "example.test.", "DS", authorities=[soa("test.")]),
        "cname_out_of_zone": b"\0" + response(12, www, "A", [
            rr(www, "CNAME", name("www.elsewhere.invalid.")), a("www.elsewhere.invalid.", 66)]),
        "compressed_answer": b"\0" + header(13, 0x8400, 1, 1) + question(www, "A")
        + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 7]),
    }
    return seeds


def type_bitmap(types):
    """The Type Bit Maps field of NSEC and NSEC3 (RFC 4034 §4.1.2)."""
    windows = {}
    for rtype in types:
        code = TYPES[rtype]
        bitmap = windows.setdefault(code >> 8, bytearray(32))
        bitmap[(code & 0xff) >> 3] |= 0x80 >> (code & 7)
    out = b""
    for window, bitmap in sorted(windows.items()):
        used = bytes(bitmap).rstrip(b"\0")
        out += bytes([window, len(used)]) + used
    return out


def nsec(owner, next_name, types):
    return rr(owner, "NSEC", name(next_name) + type_bitmap(types + ["RRSIG", "NSEC"]))


def nsec3_hash(owner, salt, iterations):
    """RFC 5155 §5: SHA-1 over the lowercase wire name and the salt, then over the digest and the
    salt, iterations more times."""
    digest = hashlib.sha1(name(owner.lower()) + salt).digest()
    for _ in range(iterations):
        digest = hashlib.sha1(digest + salt).digest()
    return digest


def nsec3_chain(zone, names, salt=b"\xaa\xbb", iterations=1, opt_out=False):
    """Every NSEC3 of a zone holding `names` ({name: types}), by the original name it stands for,
    and a function giving the record that covers an absent name."""
    hashed = sorted((nsec3_hash(owner, salt, iterations), owner) for owner in names)
    records, owners = {}, [digest for digest, _ in hashed]
    for index, (digest, owner) in enumerate(hashed):
        next_digest = owners[(index + 1) % len(owners)]
        types = names[owner] + (["RRSIG"] if names[owner] and names[owner] != ["NS"] else [])
        rdata = (struct.pack("!BBHB", 1, 1 if opt_out else 0, iterations, len(salt)) + salt
                 + bytes([len(next_digest)]) + next_digest + type_bitmap(types))
        label = base64.b32hexencode(digest).decode().rstrip("=").lower()
        records[owner] = rr(label + "." + zone, "NSEC3", rdata)

    def covering(absent):
        digest = nsec3_hash(absent, salt, iterations)
        below = [index for index, owned in enumerate(owners) if owned < digest]
        return records[hashed[below[-1] if below else -1][1]]
    return records, covering


def denial_seeds():
    zone = "example.test."
    names = {zone: ["SOA", "NS", "DNSKEY"], "www.example.test.": ["A"],
             "sub.example.test.": ["NS", "DS"], "insecure.example.test.": ["NS"],
             "wild.example.test.": ["A"], "*.wild.example.test.": ["TXT"],
             "x.ent.example.test.": ["A"], "ent.example.test.": []}
    chain, cover = nsec3_chain(zone, names)
    opt_out = {owner: types for owner, types in names.items() if owner != "insecure.example.test."}
    opt_out_chain, opt_out_cover = nsec3_chain(zone, opt_out, opt_out=True)
    costly_chain, costly_cover = nsec3_chain(zone, names, iterations=500)
    apex = soa(zone)
    nx = "nx.example.test."
    seeds = {
        "nsec_nxdomain": response(1, nx, "A", authorities=[
            apex, rrsig(zone, "SOA"), nsec(zone, "www.example.test.", ["SOA", "NS", "DNSKEY"]),
            rrsig(zone, "NSEC")], rcode=3),
        "nsec_nodata": response(2, "www.example.test.", "AAAA", authorities=[
            apex, nsec("www.example.test.", zone, ["A"])]),
        "nsec_empty_non_terminal": response(3, "ent.example.test.", "A", authorities=[
            apex, nsec("dname.example.test.", "x.ent.example.test.", ["DNAME"])]),
        "nsec_wildcard_nodata": response(4, "foo.wild.example.test.", "A", authorities=[
            apex, nsec("*.wild.example.test.", "www.example.test.", ["TXT"])]),
        "nsec_wildcard_answer": response(5, "foo.wild.example.test.", "TXT",
                                         [rr("foo.wild.example.test.", "TXT", b"\x02hi"),
                                          rrsig("foo.wild.example.test.", "TXT", labels=3)],
                                         [nsec("*.wild.example.test.", "www.example.test.", ["TXT"])]),
        "nsec_insecure_delegation": response(6, "insecure.example.test.", "DS", authorities=[
            apex, nsec("insecure.example.test.", "sub.example.test.", ["NS"])]),
        "nsec3_nxdomain": response(7, nx, "A", authorities=[
            apex, chain[zone], cover(nx), cover("*.example.test.")], rcode=3),
        "nsec3_nodata": response(8, "www.example.test.", "AAAA", authorities=[
            apex, chain["www.example.test."]]),
        "nsec3_wildcard_nodata": response(9, "foo.wild.example.test.", "A", authorities=[
            apex, chain["wild.example.test."], cover("foo.wild.example.test."),
            chain["*.wild.example.test."]]),
        "nsec3_opt_out_ds": response(10, "insecure.example.test.", "DS", authorities=[
            apex, opt_out_chain[zone], opt_out_cover("insecure.example.test.")]),
        "nsec3_too_many_iterations": response(11, nx, "A", authorities=[
            apex, costly_chain[zone], costly_cover(nx), costly_cover("*.example.test.")], rcode=3),
        "nsec3_deep_name": response(12, "a.b.c.d.e.f.g.nx.example.test.", "A", authorities=[
            apex, chain[zone], cover(nx), cover("*.example.test.")], rcode=3),
    }
    return seeds


def shared_value(pick, validation, fingerprint, expires_ms, message, version=1):
    """A shared-cache value (src/cache/shared/codec.rs) behind the harness's question byte."""
    return (bytes([pick, version, validation]) + struct.pack("!QQ", fingerprint, expires_ms)
            + message)


def shared_seeds():
    """Values as one ferret writes them to Redis for www.example.test. (the SharedValue harness:
    first byte 0 A, 1 AAAA, 2 TXT, 3 CNAME; its clock reads 1.8e12 ms, its fingerprint below)."""
    fp = 0x123456789ABCDEF1
    later = 1_800_000_000_000 + 600_000
    www = "www.example.test."
    cname = rr(www, "CNAME", name("host.example.test."))
    return {
        "positive_a": shared_value(0, 1, fp, later, response(0, www, "A", answers=[a(www, 1)])),
        "cname_chain": shared_value(0, 0, fp, later, response(0, www, "A", answers=[
            cname, a("host.example.test.", 2)])),
        "nxdomain": shared_value(0, 2, fp, later, response(0, www, "A", authorities=[
            soa("example.test.")], rcode=3)),
        "nodata_txt": shared_value(2, 0, fp, later, response(0, www, "TXT", authorities=[
            soa("example.test.")])),
        "other_fingerprint": shared_value(0, 1, 7, later, response(0, www, "A", answers=[
            a(www, 1)])),
        "expired": shared_value(0, 1, fp, 1_000, response(0, www, "A", answers=[a(www, 1)])),
        "off_chain": shared_value(0, 0, fp, later, response(0, www, "A", answers=[
            a(www, 1), a("victim.example.test.", 9)])),
        "wrong_version": shared_value(0, 1, fp, later, response(0, www, "A", answers=[
            a(www, 1)]), version=9),
        "short": bytes([0, 1, 1, 0]),
    }


def write(target, seeds):
    directory = os.path.join(HERE, "seeds", target)
    os.makedirs(directory, exist_ok=True)
    for seed_name, data in seeds.items():
        with open(os.path.join(directory, seed_name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("query_path", query_seeds())
    write("upstream_response", response_seeds())
    write("denial_proof", denial_seeds())
    write("shared_value", shared_seeds())
