# Warden build. `make` builds everything into build/; `make V=1` shows commands.
# `make SAN=1` builds a separate tree (build-san/) with ASan + UBSan.
#
#   make            agent, CLI, BPF object and skeleton, unit tests
#   make test       every test suite (unit, sanitizers, BPF_PROG_RUN, e2e); root
#   make kvstore    the etcd client and cluster backends against a real etcd
#   make demo       the Star Wars demo (issue 4; until then the L3/L4 story)
#   make deps       install the Debian packages the project needs
#   make format     clang-format every C file (make test checks it)
#   make install    wardend, warden, warden-proxy into $(PREFIX)/bin and the
#                   CNI plugin warden-cni into $(CNI_BIN_DIR) (DESTDIR honoured)
#   make cni-test   the CNI suite (tests/cni/run.sh); root, real podman
#   make bench      the benchmark (bench/README.md); make bench-quick: CI smoke; root
#   make bench-l7-match   the L7 rule-match micro-benchmark (no root)
#   make bench-policy-parse  peak memory of parsing huge or deep policy files
#   make bench-apply      time to apply 100 to 10,000 rules and CIDRs; root

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SANFLAGS :=
endif

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	  -Iinclude -I$(BUILD) -D_GNU_SOURCE $(SANFLAGS)
# --as-needed: a binary records only the libraries it uses (the CLI does not
# load libnftables, which only the agent's redirect set-up needs).
LDFLAGS += $(SANFLAGS) -Wl,--as-needed
LIBS := -lbpf -lelf -lz -lyaml -ljansson -lpcre2-8 -lcurl -lmnl -lnftables

BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -Ibpf -I/usr/include/$(MULTIARCH)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# lib/ is one folder per layer (docs/architecture.md): base, identity, policy,
# l7, host, kvstore.
LIB_SRCS := $(wildcard lib/*/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
AGENT_SRCS := $(wildcard src/agent/*.c)
AGENT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(AGENT_SRCS))
CLI_SRCS := $(wildcard src/cli/*.c)
CLI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRCS))
PROXY_SRCS := $(wildcard src/proxy/*.c)
PROXY_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(PROXY_SRCS))
CNI_SRCS := $(wildcard src/cni/*.c)
CNI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CNI_SRCS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
BPFTEST_SRCS := $(wildcard tests/bpf/test_*.c)
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFTEST_SRCS))
# Tests against a real etcd (tests/kvstore/run.sh starts one).
KVTEST_SRCS := $(wildcard tests/kvstore/test_*.c)
KVTEST_BINS := $(patsubst tests/kvstore/%.c,$(BUILD)/tests/kvstore/%,$(KVTEST_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

BINS := $(BUILD)/wardend $(BUILD)/warden $(BUILD)/warden-proxy $(BUILD)/warden-cni \
	$(BUILD)/deathstar $(BUILD)/loadgen $(BUILD)/bench-l7-match $(BUILD)/bench-policy-parse

# `make install`: PREFIX for the daemons and the CLI; the CNI plugin goes to
# /opt/cni/bin, the directory containerd and kubelet use by default, which
# podman also searches (cni_plugin_dirs in containers.conf; Debian's own
# plugins are in /usr/lib/cni, owned by the package).
PREFIX ?= /usr/local
DESTDIR ?=
CNI_BIN_DIR ?= /opt/cni/bin

.PHONY: all clean test unit bpftest kvstore e2e demo deps fuzz bench bench-quick install \
	cni-test bench-l7-match bench-policy-parse bench-apply format format-check
.SECONDARY: $(BPF_OBJS) $(SKELS)
all: $(BINS) $(UNIT_BINS) $(BPFTEST_BINS) $(KVTEST_BINS) $(BUILD)/tests/cni/cni-timer \
	$(BUILD)/tests/cni/netdev-cni-probe $(BUILD)/tests/host/netdev-probe \
	$(BUILD)/tests/control/bpf-probe

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/lib/*.h) $(wildcard include/warden/abi/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: %.c $(wildcard include/warden/*.h include/warden/abi/*.h lib/*/*.h src/agent/*.h src/cli/*.h) | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# datapath.c embeds the BPF object through the skeleton: rebuild it when the
# programs change (for the other objects the skeleton is order-only).
$(BUILD)/lib/host/datapath.o: $(SKELS)

$(BUILD)/libwarden.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/wardend: $(AGENT_OBJS) $(BUILD)/libwarden.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The CLI drops the capabilities of what `endpoint exec` runs (libcap).
$(BUILD)/warden: $(CLI_OBJS) $(BUILD)/libwarden.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcap

# The L7 proxy: its objects also depend on its private headers.
$(PROXY_OBJS): $(wildcard src/proxy/*.h)

$(BUILD)/warden-proxy: $(PROXY_OBJS) $(BUILD)/libwarden.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lpthread

# The CNI plugin: a client of the control socket (it links the CLI's client,
# src/cli/client.c), of lib/labels.c for label validation, and of
# lib/host/netdev_cni.c to remove a host device when the agent cannot.
$(CNI_OBJS): $(wildcard src/cni/*.h)

$(BUILD)/warden-cni: $(CNI_OBJS) $(BUILD)/src/cli/client.o $(BUILD)/libwarden.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ljansson -lmnl

# tests/cni/: a CNI plugin wrapper that times the plugin it runs.
$(BUILD)/tests/cni/cni-timer: tests/cni/cni_timer.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/tests/cni/netdev-cni-probe: tests/cni/netdev_cni_probe.c $(BUILD)/libwarden.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(LIBS)

# tests/host/: lib/host/netdev.c driven on real namespaces (test_netdev.sh).
$(BUILD)/tests/host/netdev-probe: tests/host/netdev_probe.c $(BUILD)/libwarden.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(LIBS)
# tests/control/: loads a trivial BPF program, to show who may (run.sh).
$(BUILD)/tests/control/bpf-probe: tests/control/bpf_probe.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lbpf

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libwarden.a $(wildcard tests/unit/*.h)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(LIBS) -lcmocka

# The proxy's HTTP session is tested without sockets: the test links the
# session and the proxy modules it calls (access log, policy holder).
SESSION_TEST_OBJS := $(addprefix $(BUILD)/src/proxy/,http_session.o access_log.o policy_holder.o)

$(BUILD)/tests/unit/test_http_session: tests/unit/test_http_session.c $(SESSION_TEST_OBJS) \
		$(BUILD)/libwarden.a
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Isrc/proxy $(LDFLAGS) -o $@ $< $(SESSION_TEST_OBJS) \
		$(BUILD)/libwarden.a $(LIBS) -lcmocka -lpthread

# The per-source connection count of the proxy, on its own.
$(BUILD)/tests/unit/test_source_limit: tests/unit/test_source_limit.c \
		$(BUILD)/src/proxy/source_limit.o
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Isrc/proxy $(LDFLAGS) -o $@ $< $(BUILD)/src/proxy/source_limit.o \
		-lcmocka -lpthread
# The control socket's framing and request parsing, without an agent.
FRAMING_TEST_OBJS := $(addprefix $(BUILD)/src/agent/,linebuf.o outq.o wire_request.o str_list.o)

$(BUILD)/tests/unit/test_control_framing: tests/unit/test_control_framing.c \
		$(FRAMING_TEST_OBJS) $(BUILD)/libwarden.a
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Isrc/agent $(LDFLAGS) -o $@ $< $(FRAMING_TEST_OBJS) \
		$(BUILD)/libwarden.a $(LIBS) -lcmocka

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(BUILD)/libwarden.a $(SKELS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $(LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(LIBS) -lcmocka

$(BUILD)/tests/kvstore/%: tests/kvstore/%.c $(BUILD)/libwarden.a $(wildcard tests/kvstore/*.h)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/kvstore $(LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(LIBS) -lcmocka -lpthread

# libFuzzer targets: tests/fuzz/fuzz_*.c against the pure parts of lib/ (all
# but what needs the kernel or the network: the host plumbing, which needs
# libbpf objects, netlink and nftables, and the etcd client's libcurl side).
FUZZ_LIB_SRCS := $(filter-out lib/host/% lib/kvstore/etcd.c lib/kvstore/etcd_watch.c \
		   lib/identity/etcd.c lib/identity/ipcache_etcd.c,$(LIB_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 20
# The agent modules a target also needs (the control socket's request side,
# which reads no agent state).
FUZZ_AGENT_fuzz_control_request := src/agent/linebuf.c src/agent/wire_request.c \
	src/agent/str_list.c
FUZZ_AGENT_SRCS := $(FUZZ_AGENT_fuzz_control_request)

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(FUZZ_AGENT_SRCS) $(wildcard include/warden/*.h \
		include/warden/abi/*.h lib/*/*.h src/agent/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
		-Ilib -Isrc -Isrc/agent -o $@ $< $(FUZZ_LIB_SRCS) $(FUZZ_AGENT_$*) \
		-lyaml -ljansson -lpcre2-8 -lbpf

fuzz: $(FUZZ_BINS)
	$(Q)tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# The Star Wars demo's API server.
$(BUILD)/deathstar: examples/starwars/deathstar.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The open-loop HTTP load generator of the benchmark (bench/loadgen.c).
$(BUILD)/loadgen: bench/loadgen.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The L7 rule-match micro-benchmark (bench/l7_match.c): prints ns per check,
# asserts no speed, needs neither root nor the agent. Not part of `make test`.
$(BUILD)/bench-l7-match: bench/l7_match.c $(BUILD)/libwarden.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(LIBS)

bench-l7-match: $(BUILD)/bench-l7-match
	$(Q)$(BUILD)/bench-l7-match

# Peak memory and time of parsing oversized, deep and alias-heavy policy
# files (bench/policy_parse_rss.sh makes them). No root, not in `make test`.
$(BUILD)/bench-policy-parse: bench/policy_parse_rss.c $(BUILD)/libwarden.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(LIBS)

bench-policy-parse: $(BUILD)/bench-policy-parse
	$(Q)bench/policy_parse_rss.sh $(BUILD)/bench-policy-parse

# Time to apply 100 to 10,000 rules or CIDRs (bench/apply_scale.sh); root,
# starts wardend. tests/e2e/test_scale.sh checks the same policies.
bench-apply: all
	$(Q)bench/apply_scale.sh

unit: $(UNIT_BINS)
	$(Q)tests/run-unit.sh $(BUILD)

bpftest: $(BPFTEST_BINS)
	$(Q)tests/run-unit.sh $(BUILD) bpf

# Against a real etcd started on loopback (no root, no agent lock needed).
kvstore: $(KVTEST_BINS)
	$(Q)tests/kvstore/run.sh $(BUILD)

test:
	$(Q)tests/run-all.sh

demo:
	$(Q)scripts/demo.sh

# The benchmark (issue 5, bench/README.md); root. Results in bench/results/<timestamp>/.
bench: all
	$(Q)bench/run.sh

bench-quick: all
	$(Q)bench/run.sh --quick

format:
	$(Q)git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	$(Q)tests/format-check.sh

deps:
	$(Q)scripts/install-deps.sh

install: $(BUILD)/wardend $(BUILD)/warden $(BUILD)/warden-proxy $(BUILD)/warden-cni
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(CNI_BIN_DIR))
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(CNI_BIN_DIR)
	$(Q)install -m 0755 $(BUILD)/wardend $(BUILD)/warden $(BUILD)/warden-proxy \
		$(DESTDIR)$(PREFIX)/bin/
	$(Q)install -m 0755 $(BUILD)/warden-cni $(DESTDIR)$(CNI_BIN_DIR)/warden-cni

cni-test: all
	$(Q)tests/cni/run.sh

clean:
	rm -rf build build-san
