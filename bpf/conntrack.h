/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * conntrack.h - connection tracking in XDP: the twin of
 * datapath/conntrack.h, with the same states and the same tuple.
 *
 * When the configuration says so (swd_xdp_list_config.tracks: the table uses
 * ct_state or ct(commit), and all of table 0 runs in XDP, so that no packet
 * is judged by the other tracker), every frame gets its ct_state before the
 * rule search:
 *   - TCP or UDP over IPv4 or IPv6 with its ports (not a later fragment):
 *     +trk, then +est if its 5-tuple was committed, +est+rpl if the reverse
 *     tuple was, +new otherwise;
 *   - anything else: 0 (-trk).
 * ct(commit) writes the packet's tuple unless it is established already.
 * Entries live in an LRU hash shared by every port's dispatcher (the kernel
 * evicts the least recently used when it is full; created minus present
 * entries is the eviction count); an entry idle longer than the
 * configuration's timeout is not established, and a commit renews it. A
 * lookup refreshes the entry at most once a tick (clock.h).
 */
#ifndef SWD_BPF_CONNTRACK_H
#define SWD_BPF_CONNTRACK_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"
#include "clock.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* sized by the loader */
	__type(key, struct swd_lb_tuple);
	__type(value, struct swd_ct_entry);
} swd_ct SEC(".maps");

/* A tuple: too large for the stack next to the programs' search. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swd_lb_tuple);
} swd_ct_scratch SEC(".maps");

enum swd_ct_commit_result {
	SWD_CT_COMMITTED_NOTHING = 0, /* established already, or not tracked */
	SWD_CT_COMMIT_CREATED,
	SWD_CT_COMMIT_RENEWED,
};

/* Whether t has a live entry (and refreshes it). */
static __always_inline int swd_ct_live(const struct swd_lb_tuple *t, __u64 now,
				       __u64 timeout)
{
	struct swd_ct_entry *e = bpf_map_lookup_elem(&swd_ct, t);

	if (!e || swd_idle_for(now, e->last_used, timeout))
		return 0;
	if (swd_refresh_due(now, e->last_used))
		e->last_used = now;
	return 1;
}

/* The frame's ct_state. */
static __always_inline __u8 swd_ct_state(const struct swd_flow_key *k,
					 const struct swd_hdrs *w,
					 const struct swd_xdp_list_config *cfg)
{
	__u64 now = swd_now();
	__u32 zero = 0;
	struct swd_lb_tuple *t = bpf_map_lookup_elem(&swd_ct_scratch, &zero);
	__be32 a;
	__be16 p;

	if (!t || !swd_tuple_of(k, w, t))
		return 0;
	if (swd_ct_live(t, now, cfg->ct_idle_timeout_ns))
		return SWD_CT_TRK | SWD_CT_EST;
	for (int i = 0; i < 4; i++) {
		a = t->src_ip[i];
		t->src_ip[i] = t->dst_ip[i];
		t->dst_ip[i] = a;
	}
	p = t->src_port;
	t->src_port = t->dst_port;
	t->dst_port = p;
	if (swd_ct_live(t, now, cfg->ct_idle_timeout_ns))
		return SWD_CT_TRK | SWD_CT_EST | SWD_CT_RPL;
	return SWD_CT_TRK | SWD_CT_NEW;
}

/* ct(commit); k->ct_state is the frame's, from swd_ct_state. */
static __always_inline enum swd_ct_commit_result
swd_ct_commit(const struct swd_flow_key *k, const struct swd_hdrs *w)
{
	struct swd_ct_entry e;
	__u32 zero = 0;
	struct swd_lb_tuple *t;

	if (k->ct_state & SWD_CT_EST)
		return SWD_CT_COMMITTED_NOTHING;
	t = bpf_map_lookup_elem(&swd_ct_scratch, &zero);
	if (!t || !swd_tuple_of(k, w, t))
		return SWD_CT_COMMITTED_NOTHING;
	e.last_used = swd_now();
	if (bpf_map_update_elem(&swd_ct, t, &e, BPF_NOEXIST) == 0)
		return SWD_CT_COMMIT_CREATED;
	/* An idle entry of the tuple, or one another CPU wrote just now. */
	bpf_map_update_elem(&swd_ct, t, &e, BPF_ANY);
	return SWD_CT_COMMIT_RENEWED;
}

#endif /* SWD_BPF_CONNTRACK_H */
