#!/usr/bin/env python3
"""bench/bpfstats.py DEV... -> JSON: the BPF programs attached to the tc hooks
(ingress and egress) of the given devices, each with its cumulative
run_time_ns and run_cnt (counted only while kernel.bpf_stats_enabled is on).

bench/run.sh takes one sample before and one after a measurement; the
difference divided by run_cnt is the program's cost per run (per packet).
Whatever programs are attached at that moment are measured, so a datapath
that attaches other or more programs (a fast path for endpoints without
policy, say) is measured as it is. A program's tail calls run inside its
own run and count in its run_time_ns."""
import json
import subprocess
import sys


def attached(devs):
    ids = {}
    for dev in devs:
        for hook in ("ingress", "egress"):
            out = subprocess.run(["tc", "-j", "filter", "show", "dev", dev, hook],
                                 capture_output=True, text=True).stdout
            try:
                filters = json.loads(out) if out.strip() else []
            except ValueError:
                filters = []
            for f in filters:
                prog = (f.get("options") or {}).get("prog") or {}
                if "id" in prog:
                    ids.setdefault(prog["id"], set()).add(f"{dev}/{hook}")
    return ids


def main():
    ids = attached(sys.argv[1:])
    progs = json.loads(subprocess.run(["bpftool", "prog", "show", "--json"],
                                      capture_output=True, text=True, check=True).stdout)
    out = {}
    for p in progs:
        if p["id"] in ids:
            out[str(p["id"])] = {"name": p.get("name", "?"), "hooks": sorted(ids[p["id"]]),
                                 "run_time_ns": p.get("run_time_ns", 0), "run_cnt": p.get("run_cnt", 0)}
    json.dump(out, sys.stdout)
    print()


main()
