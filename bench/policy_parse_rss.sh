#!/usr/bin/env bash
# Peak memory and time of the policy parser on inputs meant to exhaust it:
#   bench/policy_parse_rss.sh [build/bench-policy-parse] [SIZE_MB]
# (`make bench-policy-parse`). The inputs are made in a temporary directory
# and removed at the end:
#   wide.yaml        one policy, SIZE_MB (default 100) of toCIDR entries
#   docs.yaml        SIZE_MB of small valid policies, one per document
#   near.yaml        one policy just under the node limit (must parse)
#   deep-flow.yaml   a value nested 1,000,000 levels deep: [[[[...]]]]
#   deep-block.yaml  a block mapping nested 3,000 levels deep
#   laughs.yaml      "billion laughs": 9 levels of 10 aliases each
#   anchors.yaml     20,000 anchors and 200,000 aliases to them
#   scale-10k.yaml   the e2e scale test's 10,000-rule policy (must parse)
set -u
tool=${1:-build/bench-policy-parse}
size_mb=${2:-100}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/warden-policy-rss.XXXXXX)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" "$size_mb" <<'PY'
import sys
d, size = sys.argv[1], int(sys.argv[2]) << 20
head = ("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: %s\n"
        "spec:\n  endpointSelector: {matchLabels: {app: a}}\n")
with open(d + "/wide.yaml", "w") as f:
    f.write(head % "wide" + "  egress:\n  - toCIDR:\n")
    n, i = 0, 0
    while n < size:
        line = "    - 10.%d.%d.%d/32\n" % (i >> 16 & 255, i >> 8 & 255, i & 255)
        f.write(line)
        n += len(line)
        i += 1
with open(d + "/docs.yaml", "w") as f:
    n, i = 0, 0
    while n < size:
        doc = "---\n" + head % ("p%d" % i) + "  ingress:\n  - fromEndpoints: [{matchLabels: {app: b}}]\n"
        f.write(doc)
        n += len(doc)
        i += 1
with open(d + "/near.yaml", "w") as f:
    # 60 nodes under PARSE_MAX_NODES (lib/policy/policy_parse_internal.h).
    f.write(head % "near" + "  egress:\n  - toCIDR:\n")
    for i in range(524288 - 60):
        f.write("    - 10.%d.%d.%d/32\n" % (i >> 16 & 255, i >> 8 & 255, i & 255))
with open(d + "/deep-flow.yaml", "w") as f:
    f.write(head % "deep" + "  description: " + "[" * 1000000 + "]" * 1000000 + "\n")
with open(d + "/deep-block.yaml", "w") as f:
    f.write(head % "deep" + "  description:\n")
    for level in range(3000):
        f.write("  " * (level + 2) + "a:\n")
    f.write("  " * 3002 + "b\n")
with open(d + "/laughs.yaml", "w") as f:
    f.write(head % "laughs" + "  x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
    for i in range(1, 10):
        f.write("  x%d: &a%d [%s]\n" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10)))
with open(d + "/anchors.yaml", "w") as f:
    f.write(head % "anchors" + "  x:\n")
    for i in range(20000):
        f.write("  - &n%d v\n" % i)
    f.write("  y: [%s]\n" % ", ".join("*n%d" % (i % 20000) for i in range(200000)))
PY
python3 "$here/../tests/e2e/tools/scale_policy.py" ports 10000 >"$dir/scale-10k.yaml"
"$tool" "$dir"/wide.yaml "$dir"/docs.yaml "$dir"/near.yaml "$dir"/deep-flow.yaml "$dir"/deep-block.yaml \
	"$dir"/laughs.yaml "$dir"/anchors.yaml "$dir"/scale-10k.yaml
