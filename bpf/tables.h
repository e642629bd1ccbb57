/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * tables.h - table 0 as BPF maps, and its tuple-space search: shared by the
 * XDP dispatcher (dispatcher.bpf.c) and the TC egress program
 * (egress.bpf.c).
 *
 * The maps are declared here for each program's object; the loader
 * (netdev-afxdp/xdp_program.cc, tc_program.cc) points every instance at the
 * one set created by netdev-afxdp/xdp_tables.cc (bpf_map__reuse_fd), so the
 * declarations must stay as they are there. Layouts: shared/swd_abi.h.
 */
#ifndef SWD_BPF_TABLES_H
#define SWD_BPF_TABLES_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"

/* ---- shared by every port (the loader reuses one set of map fds) ---- */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swd_xdp_config);
} swd_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SWD_XDP_MAX_MASKS);
	__type(key, __u32);
	__type(value, struct swd_xdp_mask);
} swd_masks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* sized by the loader */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct swd_xdp_rule_key);
	__type(value, struct swd_xdp_rule);
} swd_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SWD_XDP_MAX_ACTION_LISTS);
	__type(key, __u32);
	__type(value, struct swd_action_list);
} swd_actions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1); /* sized by the loader */
	__type(key, __u32);
	__type(value, struct swd_rule_stats);
} swd_rule_stats SEC(".maps");

/* ofport -> interface, for output to another port. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} swd_ports SEC(".maps");

/* The tuple-space search of table 0. The first SWD_XDP_INLINE_MASKS masks
 * are searched by an unrolled loop (no call per mask); a table with more
 * masks goes on with bpf_loop(), whose callback the verifier checks once, so
 * the mask count is limited by the mask array, not by the verifier. */
#define SWD_XDP_INLINE_MASKS 16

struct search {
	struct swd_flow_key key; /* the packet's */
	struct swd_flow_key masked;
	struct swd_xdp_rule_key rk;
	struct swd_xdp_rule_head best; /* valid when found */
	__u32 base;		       /* first entry of the active mask list */
	__u32 found;
};

/* Looks mask i up; returns 1 when the search can stop. The egress search
 * (egress, a constant at each call) skips masks whose in_port is not exact:
 * only rules that name in_port=LOCAL apply to frames the host sends. */
static __always_inline int search_mask(__u32 i, struct search *s, int egress)
{
	__u32 idx = s->base + i;
	const __u64 *kw = (const __u64 *)&s->key;
	__u64 *mw = (__u64 *)&s->masked;
	struct swd_xdp_mask *m = bpf_map_lookup_elem(&swd_masks, &idx);
	const struct swd_xdp_rule *r;
	const __u64 *maskw, *rw;
	__u64 diff = 0;

	if (!m)
		return 1;
	if (s->found && s->best.priority > m->max_priority)
		return 1; /* no rule of the remaining masks can win */
	if (egress && m->mask.in_port != 0xffff)
		return 0;
	maskw = (const __u64 *)&m->mask;
	for (int w = 0; w < SWD_FLOW_KEY_WORDS; w++)
		mw[w] = kw[w] & maskw[w];
	s->rk.mask_id = m->id;
	s->rk.hash = swd_key_hash(mw);
	r = bpf_map_lookup_elem(&swd_rules, &s->rk);
	if (!r)
		return 0;
	rw = (const __u64 *)&r->masked;
	for (int w = 0; w < SWD_FLOW_KEY_WORDS; w++)
		diff |= rw[w] ^ mw[w];
	if (diff == 0 && (!s->found || r->h.priority > s->best.priority ||
			  (r->h.priority == s->best.priority &&
			   r->h.rule_id < s->best.rule_id))) {
		s->best = r->h;
		s->found = 1;
	}
	return 0;
}

static long search_more(__u32 i, void *ctx)
{
	return search_mask(i + SWD_XDP_INLINE_MASKS, ctx, 0);
}

static long search_more_egress(__u32 i, void *ctx)
{
	return search_mask(i + SWD_XDP_INLINE_MASKS, ctx, 1);
}

/* Fills s->best with the best rule of table 0 for s->key, if any; egress:
 * of the rules that name in_port exactly (see search_mask). */
static __always_inline void search(struct search *s,
				   const struct swd_xdp_config *cfg, int egress)
{
	__u32 n = cfg->n_masks;

	s->base = cfg->active_masks ? SWD_XDP_MAX_MASKS : 0;
	s->found = 0;
	s->rk.pad = 0;
	for (__u32 i = 0; i < SWD_XDP_INLINE_MASKS; i++) {
		if (i >= n || search_mask(i, s, egress))
			return;
	}
	if (n > SWD_XDP_INLINE_MASKS && n <= SWD_XDP_MAX_MASKS)
		bpf_loop(n - SWD_XDP_INLINE_MASKS,
			 egress ? search_more_egress : search_more, s, 0);
}

#endif /* SWD_BPF_TABLES_H */
