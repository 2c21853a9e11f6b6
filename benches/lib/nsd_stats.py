"""Upstream queries by server level and type, from the NSD statistics a cold benchmark saved.

benches/cold_dnssec.sh and benches/cold_wide.sh each save `nsd-control stats` of their root,
parent and leaf NSDs after every round as stats-{server}-{rep}-{level}.txt in their temporary
directory; this prints the median over the rounds of each count (num.type.*, all queries, over
TCP) as one Markdown table, so the resolvers' queries can be compared type by type.
"""

import os
import statistics

LEVELS = ("root", "tld", "leaves")


def read_stats(path):
    """The non-zero num.type.* counts of one stats file, plus num.queries and num.tcp."""
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key.startswith("num.type.") and value.isdigit() and int(value):
                out[key[len("num.type."):]] = int(value)
            elif key in ("num.queries", "num.tcp"):
                out[key] = int(value)
    return out


def print_upstream_table(tmp, servers, reps, caption):
    table = {}
    for server in servers:
        for level in LEVELS:
            per_rep = [read_stats(os.path.join(tmp, f"stats-{server}-{rep}-{level}.txt"))
                       for rep in range(1, reps + 1)]
            for key in set().union(*per_rep):
                table[(level, key, server)] = statistics.median(p.get(key, 0) for p in per_rep)
    print(f"\nupstream queries by server and type (median over the rounds; {caption}):\n")
    print("| server | type | ferret | unbound |")
    print("| --- | --- | ---: | ---: |")
    order = lambda key: (key != "num.queries", key.startswith("num."), key)
    for level in LEVELS:
        keys = sorted({key for (l, key, _) in table if l == level}, key=order)
        for key in keys:
            label = "all" if key == "num.queries" else ("over TCP" if key.startswith("num.") else key)
            f, u = table.get((level, key, "ferret"), 0), table.get((level, key, "unbound"), 0)
            print(f"| {level} | {label} | {f:,.0f} | {u:,.0f} |")
