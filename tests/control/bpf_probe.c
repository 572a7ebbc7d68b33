// SPDX-License-Identifier: Apache-2.0
/*
 * bpf-probe: try to load a BPF program (a tc classifier that returns 0, the
 * kind the datapath attaches) and say whether the kernel took it. Exits 0
 * when it loaded, 1 when it was refused. tests/control/run.sh runs it from
 * inside an endpoint: a confined workload must be refused, a --privileged
 * one must not (the positive control).
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "probe", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0) {
		printf("refused: %s\n", strerror(-fd));
		return 1;
	}
	close(fd);
	printf("loaded\n");
	return 0;
}
