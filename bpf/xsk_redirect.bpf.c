// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * xsk_redirect: the XDP program an AF_XDP port attaches until the dispatcher
 * (issue 4) replaces it: every frame goes to the AF_XDP socket of its receive
 * queue, or up the kernel stack when swd serves no socket on that queue.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int swd_xdp_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
