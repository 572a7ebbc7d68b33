#!/usr/bin/env python3
"""bench/report.py DIR QUICK "MAIN CONFIGS" "SCALE CONFIGS"

Reads DIR/results.csv, DIR/apply_times.csv and DIR/raw/loadgen-*.json (written
by bench/run.sh), writes DIR/summary.json, DIR/summary.md, the gnuplot data
files and (bench/plot.gp) the PNG plots, prints the table, the PASS/MISS lines
of the targets (never asserted) and "bench: N passed, N failed" where N counts
configurations and plots that produced data or not."""
import csv
import glob
import json
import os
import statistics
import subprocess
import sys

out, quick = sys.argv[1], sys.argv[2] == "1"
MAIN, SCALE = sys.argv[3].split(), sys.argv[4].split()
here = os.path.dirname(os.path.abspath(__file__))

vals = {}
for r in csv.DictReader(open(os.path.join(out, "results.csv"))):
    vals.setdefault((r["config"], r["metric"]), []).append(float(r["value"]))


def med(c, m):
    v = vals.get((c, m))
    return statistics.median(v) if v else None


applies = {}
for r in csv.DictReader(open(os.path.join(out, "apply_times.csv"))):
    applies.setdefault((r["what"], int(r["rules"])), []).append(float(r["us"]) / 1000)

fixed_rate, slowest = open(os.path.join(out, "fixed_rate.txt")).read().split()
LAT = ["p50", "p90", "p99", "p99.9", "p99.99", "max"]

summary = {"configs": {}, "fixed_rate": float(fixed_rate), "slowest": slowest,
           "apply_ms": {f"{w}/{n}": statistics.median(v) for (w, n), v in applies.items()}}
for c in MAIN + SCALE:
    d = {"rps_keepalive": med(c, "rps_keepalive"), "conn_per_s": med(c, "conn_per_s"),
         "rounds": len(vals.get((c, "rps_keepalive"), []))}
    if c in MAIN:
        d["latency_us"] = {k: med(c, "lat_" + k) for k in LAT}
        d["fixed_rps"] = med(c, "fixed_rps")
        d["cpu_s_per_1k"] = med(c, "cpu_s_per_1k")
    if (c, "monitor_events") in vals:
        d["monitor_events"] = med(c, "monitor_events")
    summary["configs"][c] = d
summary["loadgen_vs_wrk"] = {"config": "base", "loadgen_rps": med("base", "loadgen_rps_max"),
                             "wrk_rps": med("base", "rps_keepalive")}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
S = summary["configs"]


def g(c, k):
    return S.get(c, {}).get(k)


def lat(c, k):
    return (S.get(c, {}).get("latency_us") or {}).get(k)


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, nd=0):
    return "–" if v is None else f"{v:,.{nd}f}"


def fr(v):
    return "–" if v is None else f"{v:.2f}×"


# ---- gnuplot data ------------------------------------------------------------
# (a) latency by percentile: x = 1/(1-p) (log axis), one file per configuration
# with the median curve over rounds (each percentile's median).
curves_ok = []
for c in MAIN:
    files = sorted(glob.glob(os.path.join(out, "raw", f"loadgen-{c}-fixed-r*.json")))
    curves = []
    for f in files:
        try:
            curves.append(json.load(open(f)).get("curve", []))
        except Exception:
            pass
    curves = [cv for cv in curves if cv]
    if not curves:
        continue
    n = min(len(cv) for cv in curves)
    with open(os.path.join(out, f"latency-{c}.dat"), "w") as fh:
        fh.write("# percentile x=1/(1-p) latency_us (median over rounds)\n")
        for i in range(n):
            p = curves[0][i][0]
            if p >= 100:
                continue
            v = statistics.median(cv[i][1] for cv in curves)
            fh.write(f"{p} {1 / (1 - p / 100):.6g} {v}\n")
    curves_ok.append(c)
with open(os.path.join(out, "throughput.dat"), "w") as fh:
    fh.write("# config rps_keepalive conn_per_s\n")
    for c in MAIN:
        fh.write(f"{c} {g(c, 'rps_keepalive') or 0} {g(c, 'conn_per_s') or 0}\n")
with open(os.path.join(out, "scaling.dat"), "w") as fh:
    fh.write("# rules warden_ka iptables_ka nftables_ka warden_cps iptables_cps nftables_cps\n")
    sizes = sorted({int(c.rsplit("-", 1)[1]) for c in SCALE})
    for n in sizes:
        row = [g(f"{s}-rules-{n}", "rps_keepalive") for s in ("warden", "iptables", "nftables")]
        row += [g(f"{s}-rules-{n}", "conn_per_s") for s in ("warden", "iptables", "nftables")]
        fh.write(f"{n} " + " ".join("NaN" if v is None else str(v) for v in row) + "\n")

gp = subprocess.run(["gnuplot", "-e", f"dir='{out}'; configs='{' '.join(curves_ok)}'",
                     os.path.join(here, "plot.gp")], capture_output=True, text=True)
if gp.returncode:
    print("gnuplot failed:", gp.stderr.strip())
PLOTS = ["latency.png", "throughput.png", "scaling.png"]

# ---- summary.md --------------------------------------------------------------
machine = open(os.path.join(out, "machine.txt")).read().strip().splitlines()
md = []
md.append("## Configurations (median of rounds)\n")
md.append(f"Latency at a fixed {float(fixed_rate):,.0f} requests/s (50% of the slowest "
          f"configuration's max, `{slowest}`), open loop, from each request's intended send time. "
          "CPU = whole-machine busy CPU seconds (/proc/stat: user+nice+system+irq+softirq+steal) "
          "per 1,000 requests during the fixed-rate run, load generator included.\n")
md.append("| config | req/s keep-alive | × base | new conn/s | × base | p50 µs | p90 µs | p99 µs | "
          "p99.9 µs | p99.99 µs | max µs | p99 × base | CPU s / 1k req |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in MAIN:
    md.append(f"| {c} | {fmt(g(c, 'rps_keepalive'))} | {fr(ratio(g(c, 'rps_keepalive'), g('base', 'rps_keepalive')))} "
              f"| {fmt(g(c, 'conn_per_s'))} | {fr(ratio(g(c, 'conn_per_s'), g('base', 'conn_per_s')))} | "
              + " | ".join(fmt(lat(c, k)) for k in LAT)
              + f" | {fr(ratio(lat(c, 'p99'), lat('base', 'p99')))} | {fmt(g(c, 'cpu_s_per_1k'), 4)} |")
md.append("\n## Rule scaling (the traffic matches the last rule)\n")
md.append("| rules | Warden req/s | iptables req/s | nftables req/s | Warden conn/s | iptables conn/s | "
          "nftables conn/s | Warden / iptables conn/s |")
md.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
sizes = sorted({int(c.rsplit("-", 1)[1]) for c in SCALE})
for n in sizes:
    w, i, f = (f"{s}-rules-{n}" for s in ("warden", "iptables", "nftables"))
    md.append(f"| {n:,} | {fmt(g(w, 'rps_keepalive'))} | {fmt(g(i, 'rps_keepalive'))} | {fmt(g(f, 'rps_keepalive'))} "
              f"| {fmt(g(w, 'conn_per_s'))} | {fmt(g(i, 'conn_per_s'))} | {fmt(g(f, 'conn_per_s'))} "
              f"| {fr(ratio(g(w, 'conn_per_s'), g(i, 'conn_per_s')))} |")
md.append("\n## Time to apply the rules (median of rounds, wall clock of the command)\n")
md.append("| rules | `warden policy import` | `iptables-restore --noflush` | `nft -f` (set) |")
md.append("|---:|---:|---:|---:|")
for n in sizes:
    cells = []
    for w in ("warden-policy-import", "iptables-restore", "nft-f"):
        v = applies.get((w, n))
        cells.append("–" if not v else f"{statistics.median(v):,.1f} ms")
    md.append(f"| {n:,} | " + " | ".join(cells) + " |")
lw, lb = summary["loadgen_vs_wrk"]["loadgen_rps"], summary["loadgen_vs_wrk"]["wrk_rps"]
md.append(f"\nLoad generator cross-check (`base`, closed loop, same connections and CPU): "
          f"build/loadgen {fmt(lw)} req/s, wrk {fmt(lb)} req/s "
          f"(loadgen / wrk = {fr(ratio(lw, lb))}).\n")

# ---- targets -----------------------------------------------------------------
checks = []


def target(label, value, op, limit):
    if value is None:
        checks.append(f"MISS {label}: no data (target {op} {limit})")
        return
    ok = value >= limit if op == ">=" else value <= limit
    checks.append(f"{'PASS' if ok else 'MISS'} {label}: {value:.3f} (target {op} {limit})")


for lvl in ("l3", "l4"):
    c = f"warden-{lvl}"
    target(f"L{lvl[1]} policy / base req/s", ratio(g(c, "rps_keepalive"), g("base", "rps_keepalive")), ">=", 0.97)
    target(f"L{lvl[1]} policy / base p99 at the fixed rate", ratio(lat(c, "p99"), lat("base", "p99")), "<=", 1.05)
big = max(sizes) if sizes else 0
target(f"Warden {big:,} rules / 1 rule req/s (keep-alive)",
       ratio(g(f"warden-rules-{big}", "rps_keepalive"), g("warden-rules-1", "rps_keepalive")), ">=", 0.95)
target(f"Warden {big:,} rules / 1 rule new conn/s",
       ratio(g(f"warden-rules-{big}", "conn_per_s"), g("warden-rules-1", "conn_per_s")), ">=", 0.95)
target(f"Warden / linear iptables at {big:,} rules, new conn/s",
       ratio(g(f"warden-rules-{big}", "conn_per_s"), g(f"iptables-rules-{big}", "conn_per_s")), ">=", 3.0)
target("L7 1 rule / L4 req/s", ratio(g("warden-l7-1", "rps_keepalive"), g("warden-l4", "rps_keepalive")), ">=", 0.7)
target("L7 1 rule / HAProxy req/s", ratio(g("warden-l7-1", "rps_keepalive"), g("haproxy", "rps_keepalive")), ">=", 1.0)
target("L7 1 rule / base p99 at the fixed rate", ratio(lat("warden-l7-1", "p99"), lat("base", "p99")), "<=", 1.5)
target("L7 40 rules / L7 1 rule req/s", ratio(g("warden-l7-40", "rps_keepalive"), g("warden-l7-1", "rps_keepalive")), ">=", 0.95)
if g("warden-l4-monitor", "monitor_events") is not None:
    md.append(f"`warden monitor -o json` stayed attached during `warden-l4-monitor` and received "
              f"{fmt(g('warden-l4-monitor', 'monitor_events'))} events per round (median).\n")
target("L4 with `warden monitor` attached / L4 req/s (keep-alive)",
       ratio(g("warden-l4-monitor", "rps_keepalive"), g("warden-l4", "rps_keepalive")), ">=", 0.95)
target("L4 with `warden monitor` attached / L4 new conn/s (one event per connection)",
       ratio(g("warden-l4-monitor", "conn_per_s"), g("warden-l4", "conn_per_s")), ">=", 0.95)
wi = applies.get(("warden-policy-import", big))
ii = applies.get(("iptables-restore", big))
wi = statistics.median(wi) if wi else None
ii = statistics.median(ii) if ii else None
target(f"apply {big:,} rules: warden import / iptables-restore time", ratio(wi, ii), "<=", 1.0)
target(f"apply {big:,} rules: warden import seconds", None if wi is None else wi / 1000, "<=", 1.0)
md.append("## Targets (reported, never asserted)\n")
md.append("```\n" + "\n".join(checks) + "\n```\n")
md.append("## Plots\n")
md.append("![latency by percentile](latency.png)\n\n![max throughput](throughput.png)\n\n"
          "![requests/s vs rules](scaling.png)\n")
md.append("## Machine and run\n")
md.append("```\n" + "\n".join(machine) + "\n```\n")
open(os.path.join(out, "summary.md"), "w").write("# Warden benchmark\n\n" + "\n".join(md))

print(f"\nfixed rate {float(fixed_rate):,.0f} req/s (50% of {slowest})")
print(f"{'config':22} {'req/s':>9} {'×base':>6} {'conn/s':>8} {'×base':>6} {'p50':>7} {'p99':>7} {'p99.9':>7} {'CPUs/1k':>8}")
for c in MAIN + SCALE:
    print(f"{c:22} {fmt(g(c, 'rps_keepalive')):>9} {fr(ratio(g(c, 'rps_keepalive'), g('base', 'rps_keepalive'))):>6} "
          f"{fmt(g(c, 'conn_per_s')):>8} {fr(ratio(g(c, 'conn_per_s'), g('base', 'conn_per_s'))):>6} "
          f"{fmt(lat(c, 'p50')):>7} {fmt(lat(c, 'p99')):>7} {fmt(lat(c, 'p99.9')):>7} {fmt(g(c, 'cpu_s_per_1k'), 4):>8}")
print(f"loadgen vs wrk (base, closed loop): loadgen {fmt(lw)} req/s, wrk {fmt(lb)} req/s")
for (w, n), v in sorted(applies.items()):
    print(f"apply {n:>6} rules: {w:22} {statistics.median(v):9.1f} ms")
print()
print("\n".join(checks))

# ---- the smoke count: every configuration and plot produced data -------------
passed = failed = 0
for c in MAIN + SCALE:
    ok = g(c, "rps_keepalive") is not None and g(c, "conn_per_s") is not None
    if c in MAIN:
        ok = ok and lat(c, "p99") is not None and g(c, "cpu_s_per_1k") is not None
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"no data: {c}")
for p in PLOTS:
    f = os.path.join(out, p)
    if os.path.exists(f) and os.path.getsize(f) > 1000:
        passed += 1
    else:
        failed += 1
        print(f"no plot: {p}")
if lw is None:
    failed += 1
    print("no data: loadgen closed-loop cross-check")
else:
    passed += 1
print(f"results: {out}")
print(f"bench: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
