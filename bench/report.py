#!/usr/bin/env python3
"""bench/report.py DIR

Reads what bench/run.sh wrote in DIR (plan.json, results.csv,
apply_times.csv, fixed_rate.txt, machine.txt, raw/), writes DIR/summary.json,
DIR/summary.md, the gnuplot data files and (bench/plot.gp) the PNG plots, and
prints the tables and the goals.

Every ratio is taken within a round (the configurations of a round run side
by side, minutes apart at most) and reported as median (min-max) over the
rounds. A goal gets PASS only when every round meets it, MISS when no round
does, and UNCLEAR otherwise (with the reason), or with fewer than three
rounds: on a shared machine a single round proves nothing.

Goals are reported, never asserted. What is asserted - counted in
DIR/counts.txt ("passed failed"), which run.sh turns into the last line - is
that the benchmark worked: data from every configuration in every phase, the
checks run.sh recorded (check_* metrics), the plots. Exit 1 if a check failed.
"""
import csv
import glob
import json
import os
import re
import statistics
import subprocess
import sys

out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
plan = json.load(open(os.path.join(out, "plan.json")))
MAIN, SCALE = plan["main"], plan["scale"]
FIXED_KA, FIXED_CL, BPFC = plan["fixed_ka"], plan["fixed_cl"], plan["bpf"]
PHASES, ROUNDS = plan["phases"], plan["rounds"]
MIN_ROUNDS = 3  # for a PASS or a MISS

# vals[(config, metric)] = {round: value}
vals = {}
for r in csv.DictReader(open(os.path.join(out, "results.csv"))):
    vals.setdefault((r["config"], r["metric"]), {})[int(r["round"])] = float(r["value"])
applies = {}  # (what, rules) -> {round: (ms, agent_ms, entries)}
for r in csv.DictReader(open(os.path.join(out, "apply_times.csv"))):
    key = (r["what"], int(r["rules"]))
    agent_ms = float(r["agent_ms"]) if r.get("agent_ms") else None
    entries = int(r["entries"]) if r.get("entries") else None
    applies.setdefault(key, {}).setdefault(int(r["round"]), []).append((float(r["us"]) / 1000, agent_ms, entries))
fixed = open(os.path.join(out, "fixed_rate.txt")).read().split()
fixed_rate, slowest, conn_rate, slowest_c = float(fixed[0]), fixed[1], float(fixed[2]), fixed[3]
baseline = None
bl_file = os.path.join(here, "baseline.json")
if os.path.exists(bl_file):
    baseline = json.load(open(bl_file))


def rounds_of(c, m):
    return vals.get((c, m), {})


def med(c, m):
    v = rounds_of(c, m)
    return statistics.median(v.values()) if v else None


def paired(c1, m1, c2, m2):
    """Per-round ratios c1.m1 / c2.m2 over the rounds that have both."""
    a, b = rounds_of(c1, m1), rounds_of(c2, m2)
    return [a[r] / b[r] for r in sorted(a) if r in b and b[r]]


def spread(v):
    return None if not v else (min(v), statistics.median(v), max(v))


def fnum(v, nd=0):
    return "–" if v is None else f"{v:,.{nd}f}"


def fsp(v, nd=2, unit="×"):
    """median (min–max), or the one value"""
    s = spread(v)
    if s is None:
        return "–"
    lo, m, hi = s
    if len(v) == 1:
        return f"{m:.{nd}f}{unit}"
    return f"{m:.{nd}f}{unit} ({lo:.{nd}f}–{hi:.{nd}f})"


def sp_json(v):
    s = spread(v)
    return None if s is None else {"min": s[0], "median": s[1], "max": s[2], "rounds": len(v)}


def verdict(v, op, target, min_n=MIN_ROUNDS):
    """PASS / MISS / UNCLEAR for per-round values v against op target."""
    if not v:
        return "UNCLEAR", "no data"
    ok = {">=": lambda x: x >= target, "<=": lambda x: x <= target,
          "<": lambda x: x < target}[op]
    if len(v) < min_n:
        return "UNCLEAR", f"{len(v)} value(s); a verdict needs at least {min_n}"
    if all(ok(x) for x in v):
        return "PASS", ""
    if not any(ok(x) for x in v):
        return "MISS", ""
    return "UNCLEAR", f"the rounds fall on both sides of the target ({min(v):.3f}–{max(v):.3f})"


goals = []  # (issue, label, verdict, reason, values, op, target)


def goal(issue, label, v, op, target, min_n=MIN_ROUNDS):
    vd, why = verdict(v, op, target, min_n)
    goals.append({"issue": issue, "goal": label, "verdict": vd, "reason": why,
                  "values": v, "spread": sp_json(v), "target": f"{op} {target}"})


def goal_halved(label, after, before):
    """after (per-round) at most half of before (baseline spread)"""
    if not after:
        vd, why = "UNCLEAR", "no data"
    elif not before:
        vd, why = "UNCLEAR", "no baseline (bench/baseline.json) to compare with"
    elif len(after) < MIN_ROUNDS:
        vd, why = "UNCLEAR", f"{len(after)} round(s); a verdict needs at least {MIN_ROUNDS}"
    elif max(after) <= 0.5 * before["min"]:
        vd, why = "PASS", ""
    elif min(after) > 0.5 * before["max"]:
        vd, why = "MISS", ""
    else:
        vd, why = "UNCLEAR", (f"half the baseline is {0.5 * before['min']:.0f}–{0.5 * before['max']:.0f} ns, "
                              f"the rounds {min(after):.0f}–{max(after):.0f} ns")
    goals.append({"issue": "17", "goal": label, "verdict": vd, "reason": why, "values": after,
                  "spread": sp_json(after), "target": f"<= 0.5 × baseline median {before['median']:.0f} ns"
                  if before else "<= 0.5 × baseline"})


# ---- per-round apply times (the apply phase) ---------------------------------
def apply_rounds(what, n, idx=0):
    d = applies.get((what, n), {})
    return {r: statistics.median(x[idx] for x in v) for r, v in d.items() if v and v[0][idx] is not None}


def apply_paired(w1, w2, n):
    a, b = apply_rounds(w1, n), apply_rounds(w2, n)
    return [a[r] / b[r] for r in sorted(a) if r in b and b[r]]


# ---- BPF per-packet costs ----------------------------------------------------
bpf_progs = sorted({m[len("bpf_ka_"):-len("_ns_per_run")] for (c, m) in vals
                    if m.startswith("bpf_ka_") and m.endswith("_ns_per_run") and m != "bpf_ka_ns_per_run"})


def bpf_cost_per_packet(c, p):
    """Per round: the sum over the programs of ns per run; a packet crosses
    one program of each kind (the sender's tc ingress, the receiver's tc
    egress), so this is the datapath's cost for one packet end to end."""
    per = [rounds_of(c, f"bpf_{p}_{prog}_ns_per_run") for prog in bpf_progs]
    per = [x for x in per if x]
    if not per:
        return []
    rnds = set.intersection(*(set(x) for x in per))
    return [sum(x[r] for x in per) for r in sorted(rnds)]


# ---- summary.json -------------------------------------------------------------
LAT = ["p50", "p90", "p99", "p99.9", "p99.99", "max"]
GROUPS = ["load", "server", "proxy", "haproxy", "agent", "monitor", "ksoftirqd"]
summary = {"fixed_rate": fixed_rate, "fixed_rate_from": slowest, "conn_rate": conn_rate,
           "conn_rate_from": slowest_c, "rounds": ROUNDS, "configs": {}, "bpf": {}, "apply": {}}
for c in dict.fromkeys(MAIN + SCALE + FIXED_KA + FIXED_CL + BPFC):
    d = {"rounds": {m: rounds_of(c, m) for m in ("rps_keepalive", "conn_per_s")}}
    for m in ("rps_keepalive", "conn_per_s"):
        d[m] = med(c, m)
        d[m + "_x_base"] = sp_json(paired(c, m, "base", m))
    for p in ("ka", "cl"):
        if (c, f"{p}_lat_p99") in vals:
            d[f"{p}_latency_us"] = {k: med(c, f"{p}_lat_{k}") for k in LAT}
            d[f"{p}_p99_x_base"] = sp_json(paired(c, f"{p}_lat_p99", "base", f"{p}_lat_p99"))
            d[f"{p}_cpu_s_per_1k"] = sp_json(list(rounds_of(c, f"{p}_cpu_s_per_1k").values()))
            d[f"{p}_cpu_x_base"] = sp_json(paired(c, f"{p}_cpu_s_per_1k", "base", f"{p}_cpu_s_per_1k"))
            d[f"{p}_cpu_split_s_per_1k"] = {g: med(c, f"{p}_cpu_{g}_s_per_1k") for g in GROUPS + ["machine", "other"]}
    summary["configs"][c] = d
for c in BPFC:
    summary["bpf"][c] = {}
    for p in ("ka", "cl"):
        summary["bpf"][c][p] = {
            "ns_per_packet": sp_json(bpf_cost_per_packet(c, p)),
            "programs": {prog: sp_json(list(rounds_of(c, f"bpf_{p}_{prog}_ns_per_run").values())) for prog in bpf_progs},
            "runs_per_request": med(c, f"bpf_{p}_runs_per_req"),
            "ns_per_request": sp_json(list(rounds_of(c, f"bpf_{p}_ns_per_req").values())),
        }
for (w, n), d in applies.items():
    summary["apply"][f"{w}/{n}"] = {"ms": sp_json([statistics.median(x[0] for x in v) for v in d.values()]),
                                    "agent_ms": sp_json(list(apply_rounds(w, n, 1).values())),
                                    "entries": next((x[2] for v in d.values() for x in v if x[2] is not None), None)}
summary["loadgen_vs_wrk"] = {"config": "base", "loadgen_rps": med("base", "loadgen_rps_max"),
                             "wrk_rps": med("base", "rps_keepalive")}

# ---- gnuplot data ------------------------------------------------------------
# (a) latency by percentile at the fixed request rate: x = 1/(1-p) (log
# axis), one file per main configuration, the median curve over rounds.
curves_ok = []
for c in MAIN:
    curves = []
    for f in sorted(glob.glob(os.path.join(out, "raw", f"loadgen-{c}-ka-fixed-r*.json"))):
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
            fh.write(f"{p} {1 / (1 - p / 100):.6g} {statistics.median(cv[i][1] for cv in curves)}\n")
    curves_ok.append(c)
with open(os.path.join(out, "throughput.dat"), "w") as fh:
    fh.write("# config rps_keepalive conn_per_s\n")
    for c in MAIN:
        fh.write(f"{c} {med(c, 'rps_keepalive') or 0} {med(c, 'conn_per_s') or 0}\n")
sizes = sorted({int(c.rsplit("-", 1)[1]) for c in SCALE})
with open(os.path.join(out, "scaling.dat"), "w") as fh:
    fh.write("# rules warden_ka iptables_ka nftables_ka warden_cps iptables_cps nftables_cps\n")
    for n in sizes:
        row = [med(f"{s}-rules-{n}", "rps_keepalive") for s in ("warden", "iptables", "nftables")]
        row += [med(f"{s}-rules-{n}", "conn_per_s") for s in ("warden", "iptables", "nftables")]
        fh.write(f"{n} " + " ".join("NaN" if v is None else str(v) for v in row) + "\n")
PLOTS = []
if "fixed" in PHASES and curves_ok:
    PLOTS.append("latency.png")
if "throughput" in PHASES and MAIN:
    PLOTS.append("throughput.png")
if "throughput" in PHASES and SCALE:
    PLOTS.append("scaling.png")
gp = subprocess.run(["gnuplot", "-e", f"dir='{out}'; configs='{' '.join(curves_ok)}'; "
                     f"plots='{' '.join(p[:-4] for p in PLOTS)}'",
                     os.path.join(here, "plot.gp")], capture_output=True, text=True)
if gp.returncode:
    print("gnuplot failed:", gp.stderr.strip())


# ---- perf profiles -------------------------------------------------------------
def perf_top(c, m, limit=25):
    """[(comm, dso, symbol, samples, µs per request)] from perf report's
    comm,dso,sym listing; the machine's idle loop and processes that are
    not the benchmark's are left out (shared machine)."""
    f = os.path.join(out, "raw", f"perf-{c}-{m}.sym.txt")
    reqs = med(c, f"profile_{'ka' if m == 'ka' else 'cl'}_requests")
    if not os.path.exists(f) or not reqs:
        return None
    ours = re.compile(r"^(wrk|loadgen|nginx|haproxy|warden|wardend|warden-proxy|ksoftirqd/\d+|wproxy.*)$")
    rows = []
    for line in open(f):
        mm = re.match(r"\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.*\S)", line)
        if not mm:
            continue
        pct, n, comm, dso, kind, sym = mm.groups()
        if not ours.match(comm):
            continue
        rows.append((comm, dso, sym, int(n), int(n) / 999 * 1e6 / reqs))
    return rows[:limit]


def syscalls(c, m):
    """{comm: (calls per request, [(syscall, calls per request)])} from
    `perf trace -s` on the server, the proxies and the agent."""
    f = os.path.join(out, "raw", f"syscalls-{c}-{m}.txt")
    reqs = med(c, f"syscalls_{'ka' if m == 'ka' else 'cl'}_requests")
    if not os.path.exists(f) or not reqs:
        return None
    per = {}
    comm = None
    for line in open(f):
        h = re.match(r"\s*(\S.*?) \((\d+)\), (\d+) events", line)
        if h:
            comm = h.group(1)
            continue
        r = re.match(r"\s+([a-z_0-9]+)\s+(\d+)\s+(\d+)\s+[\d.]+", line)
        if r and comm:
            d = per.setdefault(comm, {})
            d[r.group(1)] = d.get(r.group(1), 0) + int(r.group(2))
    return {k: (sum(v.values()) / reqs, sorted(((n, x / reqs) for n, x in v.items()), key=lambda t: -t[1]))
            for k, v in per.items()}


# ---- summary.md ----------------------------------------------------------------
machine = open(os.path.join(out, "machine.txt")).read().strip().splitlines()
md = ["# Warden benchmark\n",
      f"{ROUNDS} round(s). Ratios are taken within each round and shown as **median (min–max) over the "
      "rounds**; absolute numbers are medians. Goals: PASS only if every round meets the target, MISS "
      "if none does, UNCLEAR otherwise (reason given) or with fewer than 3 rounds.\n"]
if "throughput" in PHASES:
    md.append("## Max throughput (wrk, closed loop)\n")
    md.append("| config | req/s keep-alive | × base | new conn/s | × base |")
    md.append("|---|---:|---:|---:|---:|")
    for c in MAIN:
        md.append(f"| {c} | {fnum(med(c, 'rps_keepalive'))} | {fsp(paired(c, 'rps_keepalive', 'base', 'rps_keepalive'))} "
                  f"| {fnum(med(c, 'conn_per_s'))} | {fsp(paired(c, 'conn_per_s', 'base', 'conn_per_s'))} |")
if "fixed" in PHASES:
    md.append(f"\n## At a fixed rate: {fixed_rate:,.0f} requests/s keep-alive, {conn_rate:,.0f} new connections/s\n")
    md.append(f"Open loop (build/loadgen), latency from each request's intended send time; the rates are 50% "
              f"of the slowest main configuration's max (`{slowest}`, `{slowest_c}`). CPU = CPU seconds per "
              "1,000 requests (or connections), warm-up included; counted: "
              f"{next((l.split(': ', 1)[1] for l in machine if l.startswith('cpu accounting')), '?')}.\n")
    md.append("| config | p50 µs | p99 µs | p99.9 µs | p99 × base | CPU s / 1k req | CPU × base "
              "| conn: p50 µs | conn: p99 µs | CPU s / 1k conn | CPU × base |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in dict.fromkeys(FIXED_KA + FIXED_CL):
        md.append(f"| {c} | {fnum(med(c, 'ka_lat_p50'))} | {fnum(med(c, 'ka_lat_p99'))} | {fnum(med(c, 'ka_lat_p99.9'))} "
                  f"| {fsp(paired(c, 'ka_lat_p99', 'base', 'ka_lat_p99'))} "
                  f"| {fsp(list(rounds_of(c, 'ka_cpu_s_per_1k').values()), 4, '')} "
                  f"| {fsp(paired(c, 'ka_cpu_s_per_1k', 'base', 'ka_cpu_s_per_1k'))} "
                  f"| {fnum(med(c, 'cl_lat_p50'))} | {fnum(med(c, 'cl_lat_p99'))} "
                  f"| {fsp(list(rounds_of(c, 'cl_cpu_s_per_1k').values()), 4, '')} "
                  f"| {fsp(paired(c, 'cl_cpu_s_per_1k', 'base', 'cl_cpu_s_per_1k'))} |")
    have_split = any((c, "ka_cpu_server_s_per_1k") in vals for c in FIXED_KA)
    if have_split:
        for p, what, cs in (("ka", "request (keep-alive)", FIXED_KA), ("cl", "connection", FIXED_CL)):
            md.append(f"\n### Where the CPU goes, per 1,000 at the fixed {what} rate (ms, medians)\n")
            md.append("`other` = the rest of the machine (not the benchmark: on a shared machine, "
                      "other people's work), for scale only.\n")
            md.append("| config | " + " | ".join(GROUPS) + " | total | other |")
            md.append("|---|" + "---:|" * (len(GROUPS) + 2))
            for c in cs:
                cells = [med(c, f"{p}_cpu_{g}_s_per_1k") for g in GROUPS + ["s", "other"]]
                cells[-2] = med(c, f"{p}_cpu_s_per_1k")
                md.append(f"| {c} | " + " | ".join("–" if v is None else f"{v * 1000:.1f}" for v in cells) + " |")
if "bpf" in PHASES and BPFC:
    md.append("\n## The datapath programs per packet (kernel.bpf_stats_enabled, its own pass)\n")
    md.append("run_time_ns / run_cnt per program, during a fixed-rate run: keep-alive = established "
              "packets, connection rate = new flows (SYN, SYN-ACK, the request, FINs: every packet of a "
              "short connection). A packet crosses one program of each kind (the sender's veth ingress, the "
              "receiver's veth egress), so `per packet` is their sum.\n")
    md.append("| config | traffic | " + " | ".join(f"`{p}` ns/run" for p in bpf_progs)
              + " | per packet ns | program runs / request | ns / request |")
    md.append("|---|---|" + "---:|" * (len(bpf_progs) + 3))
    for c in BPFC:
        for p, what in (("ka", "established"), ("cl", "new flows")):
            md.append(f"| {c} | {what} | "
                      + " | ".join(fsp(list(rounds_of(c, f'bpf_{p}_{prog}_ns_per_run').values()), 0, '')
                                   for prog in bpf_progs)
                      + f" | {fsp(bpf_cost_per_packet(c, p), 0, '')} | {fnum(med(c, f'bpf_{p}_runs_per_req'), 2)} "
                      f"| {fsp(list(rounds_of(c, f'bpf_{p}_ns_per_req').values()), 0, '')} |")
    if baseline:
        md.append(f"\nBaseline (bench/baseline.json, {baseline.get('measured', '?')}): "
                  + "; ".join(f"{c} {p}: {v['ns_per_packet']['median']:.0f} ns per packet"
                              for c, d in baseline.get("bpf", {}).items() for p, v in d.items()
                              if v.get("ns_per_packet")) + ".\n")
if "throughput" in PHASES and SCALE:
    md.append("\n## Rule scaling (the traffic matches the last rule)\n")
    md.append("| rules | Warden req/s | iptables req/s | nftables req/s | Warden conn/s | iptables conn/s | "
              "nftables conn/s | Warden / iptables conn/s | Warden / nftables conn/s |")
    md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        w, i, f = (f"{s}-rules-{n}" for s in ("warden", "iptables", "nftables"))
        md.append(f"| {n:,} | {fnum(med(w, 'rps_keepalive'))} | {fnum(med(i, 'rps_keepalive'))} | {fnum(med(f, 'rps_keepalive'))} "
                  f"| {fnum(med(w, 'conn_per_s'))} | {fnum(med(i, 'conn_per_s'))} | {fnum(med(f, 'conn_per_s'))} "
                  f"| {fsp(paired(w, 'conn_per_s', i, 'conn_per_s'))} | {fsp(paired(w, 'conn_per_s', f, 'conn_per_s'))} |")
    md.append("\nTime to apply N rules when the configuration is set up (wall clock of the command, median):\n")
    md.append("| rules | `warden policy import` | `iptables-restore --noflush` | `nft -f` (set) |")
    md.append("|---:|---:|---:|---:|")
    for n in sizes:
        cells = []
        for w in ("warden-policy-import", "iptables-restore", "nft-f"):
            v = [x[0] for d in applies.get((w, n), {}).values() for x in d]
            cells.append("–" if not v else f"{statistics.median(v):,.1f} ms")
        md.append(f"| {n:,} | " + " | ".join(cells) + " |")
if "apply" in PHASES:
    md.append("\n## Applying rules (the apply phase, wall clock of the command)\n")
    md.append("10,000 rules into an empty node, then one more rule into those 10,000 (Warden: a second policy "
              "with one rule; iptables: `iptables -I` into the 10,000-rule chain; nftables: `nft add element` "
              "to the 10,000-element set). `agent` = the agent's own compile + apply time from the reply.\n")
    md.append("| what | rules | ms | agent ms | map entries |")
    md.append("|---|---:|---:|---:|---:|")
    for (w, n) in sorted(k for k in applies if k[0].startswith("apply-")):
        d = applies[(w, n)]
        ms = [statistics.median(x[0] for x in v) for v in d.values()]
        ag = list(apply_rounds(w, n, 1).values())
        ent = summary["apply"][f"{w}/{n}"]["entries"]
        md.append(f"| {w[len('apply-'):]} | {n:,} | {fsp(ms, 1, '')} | {fsp(ag, 1, '') if ag else '–'} "
                  f"| {fnum(ent)} |")
# The round-by-round view of the proxies (issue 17: an L7 decay across rounds).
if "throughput" in PHASES and ROUNDS > 1:
    md.append("\n## Round by round (keep-alive req/s, and × base of the same round)\n")
    show = [c for c in ("base", "warden-l4", "haproxy", "warden-l7-1", "warden-l7-40") if c in MAIN]
    md.append("| config | " + " | ".join(f"round {r}" for r in range(1, ROUNDS + 1)) + " |")
    md.append("|---|" + "---:|" * ROUNDS)
    for c in show:
        v, b = rounds_of(c, "rps_keepalive"), rounds_of("base", "rps_keepalive")
        md.append(f"| {c} | " + " | ".join(
            "–" if r not in v else f"{v[r]:,.0f}" + (f" ({v[r] / b[r]:.2f}×)" if r in b and c != "base" else "")
            for r in range(1, ROUNDS + 1)) + " |")
    md.append("\nCPU µs per request during those keep-alive runs (max throughput), by role "
              "(load / server / proxy or haproxy / agent):\n")
    md.append("| config | " + " | ".join(f"round {r}" for r in range(1, ROUNDS + 1)) + " |")
    md.append("|---|" + "---:|" * ROUNDS)
    for c in show:
        cells = []
        for r in range(1, ROUNDS + 1):
            g = [rounds_of(c, f"ka_max_cpu_{x}_s_per_1k").get(r) for x in ("load", "server", "proxy", "haproxy", "agent")]
            if g[0] is None:
                cells.append("–")
                continue
            px = g[3] if c == "haproxy" else g[2]
            cells.append(f"{g[0] * 1000:.1f} / {g[1] * 1000:.1f} / {px * 1000:.1f} / {g[4] * 1000:.1f}")
        md.append(f"| {c} | " + " | ".join(cells) + " |")
lw, lb = summary["loadgen_vs_wrk"]["loadgen_rps"], summary["loadgen_vs_wrk"]["wrk_rps"]
if lw and lb:
    md.append(f"\nLoad generator cross-check (`base`, closed loop, same connections and CPU): "
              f"build/loadgen {fnum(lw)} req/s, wrk {fnum(lb)} req/s (loadgen / wrk = {lw / lb:.2f}).\n")
for p in ("throughput", "fixed"):
    ev = med("warden-l4-monitor", f"monitor_events_{p}")
    if ev is not None:
        md.append(f"`warden monitor -o json` attached during `warden-l4-monitor` received {fnum(ev)} events "
                  f"per {p} measurement pair (median).\n")

# ---- goals ---------------------------------------------------------------------
L4, L7 = "warden-l4", "warden-l7-1"
# issue 17
goal("17", "Warden L4 new conn/s / nftables", paired(L4, "conn_per_s", "nftables", "conn_per_s"), ">=", 1.0)
goal("17", "Warden L4 new conn/s / base", paired(L4, "conn_per_s", "base", "conn_per_s"), ">=", 0.9)
goal("17", "Warden L4 keep-alive req/s / base", paired(L4, "rps_keepalive", "base", "rps_keepalive"), ">=", 0.97)
goal("17", "Warden L4 p99 at the fixed request rate / base", paired(L4, "ka_lat_p99", "base", "ka_lat_p99"), "<=", 1.1)
bl = (baseline or {}).get("bpf", {})
for p, what in (("ka", "established"), ("cl", "new-flow")):
    goal_halved(f"BPF cost per {what} packet, Warden L4 (both programs), at most half the baseline",
                bpf_cost_per_packet(L4, p), ((bl.get(L4) or {}).get(p) or {}).get("ns_per_packet"))
goal("17", "apply 10,000 rules: warden import / iptables-restore time (< 1)",
     apply_paired("apply-warden-import", "apply-iptables-restore", 10000), "<", 1.0)
goal("17", "import one rule into a node holding 10,000: ms (wall clock)",
     list(apply_rounds("apply-warden-import-one-into-10000", 1).values()), "<", 10.0)
goal("17", "Warden L7 req/s / HAProxy", paired(L7, "rps_keepalive", "haproxy", "rps_keepalive"), ">=", 1.0)
goal("17", "Warden L7 CPU per 1k requests / HAProxy (fixed rate)",
     paired(L7, "ka_cpu_s_per_1k", "haproxy", "ka_cpu_s_per_1k"), "<", 1.0)
goal("17", "Warden L7 p99 / HAProxy p99 (fixed rate)", paired(L7, "ka_lat_p99", "haproxy", "ka_lat_p99"), "<=", 1.0)
goal("17", "Warden L7 / L4 req/s", paired(L7, "rps_keepalive", L4, "rps_keepalive"), ">=", 0.5)
l7b = paired(L7, "rps_keepalive", "base", "rps_keepalive")
goal("17", "Warden L7 no decay: each later round's L7/base / round 1's", [x / l7b[0] for x in l7b[1:]],
     ">=", 0.85, MIN_ROUNDS - 1)
# issue 5 (the benchmark's first targets)
for lvl in ("l3", "l4"):
    c = f"warden-{lvl}"
    goal("5", f"L{lvl[1]} policy / base req/s", paired(c, "rps_keepalive", "base", "rps_keepalive"), ">=", 0.97)
    goal("5", f"L{lvl[1]} policy / base p99 at the fixed rate", paired(c, "ka_lat_p99", "base", "ka_lat_p99"), "<=", 1.05)
big = max(sizes) if sizes else 0
if big:
    goal("5", f"Warden {big:,} rules / 1 rule req/s (keep-alive)",
         paired(f"warden-rules-{big}", "rps_keepalive", "warden-rules-1", "rps_keepalive"), ">=", 0.95)
    goal("5", f"Warden {big:,} rules / 1 rule new conn/s",
         paired(f"warden-rules-{big}", "conn_per_s", "warden-rules-1", "conn_per_s"), ">=", 0.95)
    goal("5", f"Warden / linear iptables at {big:,} rules, new conn/s",
         paired(f"warden-rules-{big}", "conn_per_s", f"iptables-rules-{big}", "conn_per_s"), ">=", 3.0)
goal("5", "L7 1 rule / L4 req/s", paired(L7, "rps_keepalive", L4, "rps_keepalive"), ">=", 0.7)
goal("5", "L7 1 rule / base p99 at the fixed rate", paired(L7, "ka_lat_p99", "base", "ka_lat_p99"), "<=", 1.5)
goal("5", "L7 40 rules / L7 1 rule req/s", paired("warden-l7-40", "rps_keepalive", L7, "rps_keepalive"), ">=", 0.95)
goal("5", "L4 with `warden monitor` / L4 req/s", paired("warden-l4-monitor", "rps_keepalive", L4, "rps_keepalive"), ">=", 0.95)
goal("5", "L4 with `warden monitor` / L4 new conn/s", paired("warden-l4-monitor", "conn_per_s", L4, "conn_per_s"), ">=", 0.95)
goal("5", "apply 10,000 rules: warden import seconds",
     [x / 1000 for x in apply_rounds("apply-warden-import", 10000).values()], "<=", 1.0)
# Information without a target: what an endpoint without policy costs.
info = []
for m, what in (("rps_keepalive", "keep-alive req/s"), ("conn_per_s", "new conn/s"),
                ("ka_cpu_s_per_1k", "CPU per 1k requests"), ("cl_cpu_s_per_1k", "CPU per 1k connections")):
    v = paired("warden-nopolicy", m, "base", m)
    if v:
        info.append(f"warden-nopolicy / base, {what}: {fsp(v)}")
summary["goals"] = goals
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)


def goal_line(g):
    s = g["spread"]
    val = "no data" if not s else (f"{s['median']:.3f}" if s["rounds"] == 1 else
                                   f"{s['median']:.3f} ({s['min']:.3f}–{s['max']:.3f}, {s['rounds']} rounds)")
    return (f"{g['verdict']:7} [{g['issue']:>2}] {g['goal']}: {val}, target {g['target']}"
            + (f" — {g['reason']}" if g["reason"] and g["verdict"] == "UNCLEAR" else ""))


md.append("\n## Goals (reported, never asserted)\n")
md.append("```\n" + "\n".join(goal_line(g) for g in goals) + "\n```\n")
if info:
    md.append("Without a target: " + "; ".join(info) + ".\n")

profiles = [pm.split(":") for pm in plan.get("profile", [])]
if profiles:
    md.append("\n## Profiles (perf record -a -g, 999 Hz, one extra fixed-rate run each)\n")
    md.append("Top symbols of the benchmark's processes (softirq work included where it ran); "
              "µs/req = samples / 999 Hz / requests.\n")
    for c, m in profiles:
        rows = perf_top(c, m)
        md.append(f"\n### {c}, {'keep-alive' if m == 'ka' else 'connection rate'}\n")
        if not rows:
            md.append("no profile\n")
            continue
        md.append("| comm | dso | symbol | samples | µs/req |")
        md.append("|---|---|---|---:|---:|")
        for comm, dso, sym, n, us in rows:
            md.append(f"| {comm} | {dso} | `{sym}` | {n} | {us:.2f} |")
        sc = syscalls(c, m)
        if sc:
            md.append(f"\nSystem calls per {'request' if m == 'ka' else 'connection'} (`perf trace -s`, "
                      "another run): " + "; ".join(
                          f"{k} {tot:.1f} ({', '.join(f'{n} {x:.2f}' for n, x in top[:6])})"
                          for k, (tot, top) in sorted(sc.items(), key=lambda t: -t[1][0]) if tot >= 0.05) + ".\n")
if PLOTS:
    md.append("\n## Plots\n")
    md.append("\n\n".join(f"![{p}]({p})" for p in PLOTS) + "\n")
md.append("\n## Machine and run\n")
md.append("```\n" + "\n".join(machine) + "\n```\n")
open(os.path.join(out, "summary.md"), "w").write("\n".join(md))

# ---- the console ---------------------------------------------------------------
print(f"\nfixed rates: {fixed_rate:,.0f} req/s (50% of {slowest}), {conn_rate:,.0f} conn/s (50% of {slowest_c})")
print(f"{'config':22} {'req/s':>8} {'×base (min-max)':>18} {'conn/s':>7} {'×base (min-max)':>18} "
      f"{'p99':>7} {'CPUs/1k req':>12} {'CPUs/1k conn':>12}")
for c in dict.fromkeys(MAIN + SCALE):
    print(f"{c:22} {fnum(med(c, 'rps_keepalive')):>8} {fsp(paired(c, 'rps_keepalive', 'base', 'rps_keepalive')):>18} "
          f"{fnum(med(c, 'conn_per_s')):>7} {fsp(paired(c, 'conn_per_s', 'base', 'conn_per_s')):>18} "
          f"{fnum(med(c, 'ka_lat_p99')):>7} {fnum(med(c, 'ka_cpu_s_per_1k'), 4):>12} {fnum(med(c, 'cl_cpu_s_per_1k'), 4):>12}")
for c in BPFC:
    print(f"bpf {c:18} per packet: established {fsp(bpf_cost_per_packet(c, 'ka'), 0, ' ns')}, "
          f"new flows {fsp(bpf_cost_per_packet(c, 'cl'), 0, ' ns')}")
for (w, n) in sorted(k for k in applies if k[0].startswith("apply-")):
    print(f"{w:40} {n:>6} rules: {fsp([statistics.median(x[0] for x in v) for v in applies[(w, n)].values()], 1, ' ms')}")
print()
print("\n".join(goal_line(g) for g in goals))

# ---- checks: the benchmark worked ------------------------------------------------
passed = failed = 0


def count(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"check failed: {what}")


def all_rounds(c, m):
    return len(rounds_of(c, m)) == ROUNDS


if "throughput" in PHASES:
    for c in MAIN + SCALE:
        count(all_rounds(c, "rps_keepalive") and all_rounds(c, "conn_per_s"), f"throughput data: {c}")
    if "base" in MAIN:
        count(med("base", "loadgen_rps_max") is not None, "loadgen closed-loop cross-check")
if "fixed" in PHASES:
    for c in FIXED_KA:
        count(all_rounds(c, "ka_lat_p99") and all_rounds(c, "ka_cpu_s_per_1k"), f"fixed request rate data: {c}")
    for c in FIXED_CL:
        count(all_rounds(c, "cl_lat_p99") and all_rounds(c, "cl_cpu_s_per_1k"), f"fixed connection rate data: {c}")
if "bpf" in PHASES:
    for c in BPFC:
        for p in ("ka", "cl"):
            runs = rounds_of(c, f"bpf_{p}_runs_per_req")
            # every request crosses at least the client's and the server's program
            count(len(runs) == ROUNDS and all(v >= 2 for v in runs.values()) and all_rounds(c, f"bpf_{p}_ns_per_run"),
                  f"bpf per-packet data: {c} {p} (runs per request {sorted(runs.values())})")
if "apply" in PHASES:
    for w, n in (("apply-warden-import", 10000), ("apply-warden-import-one-into-10000", 1),
                 ("apply-iptables-restore", 10000), ("apply-iptables-insert-one-into-10000", 1),
                 ("apply-nft-f", 10000), ("apply-nft-add-one-into-10000", 1)):
        count(len(applies.get((w, n), {})) == ROUNDS, f"apply data: {w}")
for (c, m), v in sorted(vals.items()):
    if m.startswith("check_"):
        for r, ok in sorted(v.items()):
            count(ok == 1, f"{m[len('check_'):]} {c} round {r} (raw/checks.txt)")
for p in PLOTS:
    f = os.path.join(out, p)
    count(os.path.exists(f) and os.path.getsize(f) > 1000, f"plot {p}")
for c, m in profiles:
    count(bool(perf_top(c, m)), f"profile {c} {m}")
open(os.path.join(out, "counts.txt"), "w").write(f"{passed} {failed}\n")
print(f"results: {out}")
sys.exit(1 if failed else 0)
