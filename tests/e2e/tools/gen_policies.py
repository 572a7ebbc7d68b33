#!/usr/bin/env python3
"""Random but reproducible CiliumNetworkPolicy sets for trace-vs-datapath tests.

  gen_policies.py SEED COUNT  > policies.yaml

The policies speak about the labels of the endpoints t_90 creates
(app, tier, team), the world namespace (10.250.0.0/24) and the ports its
servers listen on, mixing allow and deny rules, ingress and egress,
selectors, entities, CIDRs (with except), port ranges, L3-only and L4-only
rules, audit mode and reject responses. Same SEED, same output.
"""
import random
import sys

LABELS = {"app": ["web", "api", "db", "tool"], "tier": ["front", "back"], "team": ["a", "b"]}
PORTS = [("80", "TCP"), ("443", "TCP"), ("8080", "TCP"), ("53", "UDP"), ("80", "ANY"),
         ("8000-8100", "TCP"), ("400-500", "TCP"), ("50-60", "UDP")]


def selector(rng, allow_empty=True):
    roll = rng.random()
    key = rng.choice(sorted(LABELS))
    if roll < 0.15 and allow_empty:
        return "{}"
    if roll < 0.75:
        return "{matchLabels: {%s: %s}}" % (key, rng.choice(LABELS[key]))
    op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist"])
    if op in ("Exists", "DoesNotExist"):
        return "{matchExpressions: [{key: %s, operator: %s}]}" % (key, op)
    values = rng.sample(LABELS[key], rng.randint(1, len(LABELS[key])))
    return "{matchExpressions: [{key: %s, operator: %s, values: [%s]}]}" % (
        key, op, ", ".join(values))


def peer(rng, ingress):
    side = "from" if ingress else "to"
    roll = rng.random()
    if roll < 0.55:
        return ["%sEndpoints: [%s]" % (side, selector(rng))]
    if roll < 0.65:
        return ["%sEntities: [%s]" % (side, rng.choice(["world", "all", "cluster"]))]
    if roll < 0.75:
        return ["%sCIDR: [10.250.0.0/24]" % side]
    if roll < 0.85:
        return ["%sCIDRSet: [{cidr: 10.250.0.0/24, except: [10.250.0.2/32]}]" % side]
    return []  # no peer: every peer (an L4-only rule)


def ports(rng):
    if rng.random() < 0.25:
        return []
    lines = ["toPorts:", "- ports:"]
    for text, proto in rng.sample(PORTS, rng.randint(1, 2)):
        if "-" in text:
            lo, hi = text.split("-")
            lines.append("  - {port: \"%s\", endPort: %s, protocol: %s}" % (lo, hi, proto))
        else:
            lines.append("  - {port: \"%s\", protocol: %s}" % (text, proto))
    return lines


def rule(rng, ingress):
    body = peer(rng, ingress) + ports(rng)
    if not body:
        body = ["%sEntities: [all]" % ("from" if ingress else "to")]
    return ["- " + body[0]] + ["  " + line for line in body[1:]]


def policy(rng, seed, index):
    out = ["apiVersion: cilium.io/v2", "kind: CiliumNetworkPolicy", "metadata:",
           "  name: gen-%d-%d" % (seed, index)]
    annotations = []
    if rng.random() < 0.3:
        annotations.append("    policy.warden.io/audit-mode: \"true\"")
    if rng.random() < 0.4:
        annotations.append("    policy.warden.io/deny-response: %s" % rng.choice(["reject", "drop"]))
    if annotations:
        out += ["  annotations:"] + annotations
    out += ["spec:", "  endpointSelector: %s" % selector(rng, allow_empty=rng.random() < 0.3)]
    sections = [("ingress", True), ("egress", False), ("ingressDeny", True), ("egressDeny", False)]
    chosen = [s for s in sections if rng.random() < (0.6 if "Deny" not in s[0] else 0.3)]
    if not chosen:
        chosen = [sections[0]]
    for name, ingress in chosen:
        out.append("  %s:" % name)
        for _ in range(rng.randint(1, 2)):
            out += ["  " + line for line in rule(rng, ingress)]
    return "\n".join(out)


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    print("\n---\n".join(policy(rng, seed, i) for i in range(count)))


if __name__ == "__main__":
    main()
