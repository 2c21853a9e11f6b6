#!/usr/bin/env python3
"""Summarises benches/dnsperf.sh runs: summarize.py RESULTS.tsv LATENCY.txt LATENCY_QPS

RESULTS.tsv has one line per run: phase, server, round, answered, lost, answers/s, server CPU
seconds, average latency (us), p99 latency (us or -). LATENCY.txt has "MODE/fixed-rate SERVER
p99_us=N" lines from the fixed-rate dnsperf -v runs. Prints a Markdown table of medians over the
rounds, ferret first, and the ratio ferret/unbound.
"""

import statistics
import sys
from collections import defaultdict


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.{digits}f}x"


def main():
    results, latency_file, latency_qps = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = defaultdict(list)
    phases = []
    with open(results, encoding="ascii") as f:
        for line in f:
            phase, server, _round, answered, lost, qps, cpu, lat_avg, lat_p99 = line.rstrip("\n").split("\t")
            if phase not in phases:
                phases.append(phase)
            answered, cpu = number(answered), number(cpu)
            runs[(phase, server)].append(
                {
                    "qps": number(qps),
                    "per_cpu": answered / cpu if answered is not None and cpu else None,
                    "lost": number(lost) or 0,
                    "sent": (answered or 0) + (number(lost) or 0),
                    "avg": number(lat_avg),
                    "p99": number(lat_p99),
                    "cpu": cpu,
                }
            )
    fixed_p99 = {}
    with open(latency_file, encoding="ascii") as f:
        for line in f:
            key, server, value = line.split()
            fixed_p99[(key.split("/")[0], server)] = number(value.split("=", 1)[1])

    print()
    print("| test | metric | ferret | unbound | ferret/unbound |")
    print("| --- | --- | ---: | ---: | ---: |")
    for phase in phases:
        f_runs, u_runs = runs[(phase, "ferret")], runs[(phase, "unbound")]

        def row(metric, key, digits=0):
            a = median(r[key] for r in f_runs)
            b = median(r[key] for r in u_runs)
            print(f"| {phase} | {metric} | {fmt(a, digits)} | {fmt(b, digits)} | {ratio(a, b)} |")

        row("answers/s (median)", "qps")
        row("answers per server CPU-second (median)", "per_cpu")
        row("server CPU seconds in one run (median)", "cpu", 2)
        f_lost = sum(r["lost"] for r in f_runs)
        u_lost = sum(r["lost"] for r in u_runs)
        f_sent = sum(r["sent"] for r in f_runs)
        u_sent = sum(r["sent"] for r in u_runs)
        print(
            f"| {phase} | lost, all rounds | {fmt(f_lost)} of {fmt(f_sent)} | "
            f"{fmt(u_lost)} of {fmt(u_sent)} | |"
        )
        row("latency avg, us (median)", "avg")
        mode, generator = phase.split("/")
        if generator == "loadgen":
            row("latency p99, us, full load (median)", "p99")
        else:
            a, b = fixed_p99.get((mode, "ferret")), fixed_p99.get((mode, "unbound"))
            print(
                f"| {phase} | latency p99, us, at {int(latency_qps):,} qps | {fmt(a)} | {fmt(b)} | "
                f"{ratio(a, b)} |"
            )


if __name__ == "__main__":
    main()
