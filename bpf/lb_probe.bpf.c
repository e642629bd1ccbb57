// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * lb_probe: a test-only XDP program that runs the load balancer's shared
 * choice (swd_abi.h: swd_lb_hash, then the Maglev table) as the XDP datapath
 * will, for tests/unit/lb_bpf_test.cc, which compares it with the C++ side
 * (datapath/lb/maglev.h) by BPF_PROG_TEST_RUN. The frame's first 40 bytes
 * are a struct swd_lb_tuple; the hash and the chosen backend go to the
 * globals below. Never attached to a device.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"

_Static_assert(sizeof(struct swd_lb_tuple) == 40, "swd_abi");
_Static_assert(sizeof(struct swd_lb_session) == 40, "swd_abi");
_Static_assert(sizeof(struct swd_lb_session_entry) == 48, "swd_abi");
_Static_assert(sizeof(struct swd_lb_maglev) == 131084, "swd_abi");

/* One pool's table, key 0: an array map's value is the table as is. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swd_lb_maglev);
} lb_maglev_map SEC(".maps");

/* Outputs. */
__u32 probe_hash;
__u32 probe_backend; /* SWD_LB_NO_BACKEND when the table is empty */

SEC("xdp")
int swd_xdp_lb_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct swd_lb_tuple t;
	struct swd_lb_maglev *m;
	__u32 key = 0, slot;

	if (data + sizeof(t) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&t, data, sizeof(t));
	probe_hash = swd_lb_hash(&t);
	probe_backend = SWD_LB_NO_BACKEND;
	m = bpf_map_lookup_elem(&lb_maglev_map, &key);
	if (!m || m->size == 0)
		return XDP_PASS;
	slot = probe_hash % m->size;
	if (slot >= SWD_LB_MAGLEV_MAX_SIZE)
		return XDP_PASS;
	probe_backend = m->entry[slot];
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
