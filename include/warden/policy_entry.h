/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One entry of the policy map as user space holds it: what the compiler
 * (warden/policy_compile.h) produces and the datapath (warden/datapath.h)
 * writes. It has a header of its own so that the datapath depends on the
 * map ABI only, not on the compiler and the policy model behind it.
 */
#ifndef WARDEN_POLICY_ENTRY_H
#define WARDEN_POLICY_ENTRY_H

#include "warden/abi/maps.h"

struct policy_entry {
	struct warden_policy_key key;
	struct warden_policy_value value;
};

#endif /* WARDEN_POLICY_ENTRY_H */
