"""Writes the hand-made DNS packets of this corpus (dns/<name>.<expected rcode|none>.bin).

Run from this directory: python3 make_dns_corpus.py. The proptest fuzzers add their own
failures to proptest-regressions.txt; this file keeps the interesting cases readable.
"""

import struct

ZONE = "auth.example.test"


def name(text):
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid=0x1234, flags=0x0000, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def question(qname, qtype=16, qclass=1):
    return name(qname) + struct.pack(">HH", qtype, qclass)


def opt(version=0, payload=1232):
    # root owner, type OPT, class = payload, ttl = ext-rcode|version|flags, rdlen 0
    return b"\0" + struct.pack(">HHBBHH", 41, payload, 0, version, 0, 0)


OPCODE = lambda op: op << 11
ACCOUNT = "00000000-0000-4000-8000-000000000000." + ZONE

packets = {
    "short-header.none": header()[:5],
    "empty.none": b"",
    "response-flag.none": header(flags=0x8000) + question(ZONE, 6),
    "zero-questions.formerr": header(qd=0),
    "two-questions.formerr": header(qd=2) + question(ZONE, 6) + question(ZONE, 2),
    "question-missing.formerr": header(qd=1),
    "truncated-question.formerr": header() + name(ZONE)[:7],
    "compression-loop.formerr": header() + b"\xc0\x0c" + struct.pack(">HH", 16, 1),
    "label-past-end.formerr": header() + b"\x3fabc",
    "update-opcode.notimp": header(flags=OPCODE(5)) + question(ZONE, 6),
    "notify-opcode.notimp": header(flags=OPCODE(4)) + question(ZONE, 6),
    "status-opcode.notimp": header(flags=OPCODE(2)) + question(ZONE, 6),
    "edns-version-1.badvers": header(ar=1) + question(ZONE, 6) + opt(version=1),
    "edns-tiny-payload.noerror": header(ar=1) + question(ZONE, 6) + opt(payload=1),
    "chaos-version-bind.refused": header() + question("version.bind", 16, 3),
    "class-none.refused": header() + question(ZONE, 6, 254),
    "out-of-zone.refused": header() + question("example.org", 16),
    "root.refused": header() + question(".", 2),
    "zone-suffix-lookalike.refused": header() + question("xauth.example.test", 16),
    "apex-soa-0x20.noerror": header() + question("AuTh.ExAmPlE.tEsT", 6),
    "apex-any.noerror": header() + question(ZONE, 255),
    "apex-qtype-0.noerror": header() + question(ZONE, 0),
    "account-without-values.nxdomain": header() + question(ACCOUNT.upper(), 16),
    "deep-unknown.nxdomain": header() + question("a.b.c.d.e.f." + ZONE, 16),
    "trailing-bytes.noerror": header() + question(ZONE, 6) + b"\xde\xad\xbe\xef",
    "answer-section-garbage.formerr": header(an=1) + question(ZONE, 6) + b"\xff\xff",
}

for stem, packet in packets.items():
    with open("dns/%s.bin" % stem, "wb") as fh:
        fh.write(packet)
print("wrote %d packets" % len(packets))
