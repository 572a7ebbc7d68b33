#!/usr/bin/env python3
"""Large policies for the scale test and the apply benchmark.

  scale_policy.py ports N
      one CiliumNetworkPolicy "many" on app=big with N ingress rules, each
      from app=peer on one TCP port: 10000, 10001, ... for the first N-1
      rules and 80 for the last (traffic to port 80 matches the last rule)
  scale_policy.py cidrs N [LAST]
      one CiliumNetworkPolicy "many-cidrs": app=peer's egress to N /32s,
      172.16.0.0 upwards (never contacted), and LAST as the N-th address
      when given

Written to stdout.
"""
import sys


def ports(n):
    out = ["apiVersion: cilium.io/v2", "kind: CiliumNetworkPolicy", "metadata:",
           "  name: many", "spec:", "  endpointSelector:", "    matchLabels: {app: big}",
           "  ingress:"]
    for i in range(n):
        port = 10000 + i if i < n - 1 else 80
        out += ["  - fromEndpoints: [{matchLabels: {app: peer}}]",
                "    toPorts:",
                '    - ports: [{port: "%d", protocol: TCP}]' % port]
    return out


def cidrs(n, last=None):
    out = ["apiVersion: cilium.io/v2", "kind: CiliumNetworkPolicy", "metadata:",
           "  name: many-cidrs", "spec:", "  endpointSelector:",
           "    matchLabels: {app: peer}", "  egress:", "  - toCIDR:"]
    for i in range(n):
        if last and i == n - 1:
            out.append("    - %s/32" % last)
        else:
            out.append("    - 172.%d.%d.%d/32" % (16 + i // 65536 % 16, i // 256 % 256, i % 256))
    return out


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "ports":
        lines = ports(int(sys.argv[2]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "cidrs":
        lines = cidrs(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        sys.exit(__doc__)
    print("\n".join(lines))
