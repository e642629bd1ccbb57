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
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct swd_xdp_config);
} swd_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SWD_XDP_MASK_LISTS *SWD_XDP_MAX_MASKS);
	__type(key, __u32);
	__type(value, struct swd_xdp_mask);
} swd_masks SEC(".maps");

/* The rule records and their index (swd_abi.h); user space writes both
 * through mmap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized by the loader */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct swd_xdp_rule);
} swd_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized by the loader */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct swd_xdp_bucket);
} swd_rule_index SEC(".maps");

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

/* The record of the rule of mask mask_id whose masked key is *masked, or -1.
 * Reads probe buckets from the key's home; a slot with the key's tag names a
 * record, whose mask id and key are compared whole. A function of its own:
 * verified once, not at each mask of the search. */
__noinline int swd_find_rule(const struct swd_flow_key *masked, __u32 mask_id,
			     __u32 probe, __u32 index_mask)
{
	const __u64 *mw = (const __u64 *)masked;
	__u64 h;
	__u32 tag;

	if (!masked)
		return -1;
	h = swd_rule_hash(mask_id, mw);
	tag = h >> 32;
	for (__u32 p = 0; p < SWD_XDP_PROBE_BUCKETS; p++) {
		__u32 b = ((__u32)h + p) & index_mask;
		const struct swd_xdp_bucket *bk;

		if (p >= probe)
			break;
		bk = bpf_map_lookup_elem(&swd_rule_index, &b);
		if (!bk)
			break;
		for (int i = 0; i < SWD_XDP_BUCKET_SLOTS; i++) {
			/* One load: the slot may change under us. */
			__u64 v = *(volatile const __u64 *)&bk->slot[i];
			__u32 rec = (__u32)v;
			const struct swd_xdp_rule *r;
			const __u64 *rw;
			__u64 diff = 0;

			if (rec == 0 || (__u32)(v >> 32) != tag)
				continue;
			rec -= 1;
			r = bpf_map_lookup_elem(&swd_rules, &rec);
			if (!r || r->mask_id != mask_id)
				continue;
			rw = (const __u64 *)&r->masked;
			for (int w = 0; w < SWD_FLOW_KEY_WORDS; w++)
				diff |= rw[w] ^ mw[w];
			if (diff == 0)
				return (int)rec;
		}
	}
	return -1;
}

/* The tuple-space search of table 0. The first SWD_XDP_INLINE_MASKS masks
 * are searched by an unrolled loop (no call per mask); a table with more
 * masks goes on with bpf_loop(), whose callback the verifier checks once, so
 * the mask count is limited by the mask array, not by the verifier. */
#define SWD_XDP_INLINE_MASKS 16

struct search {
	struct swd_flow_key key; /* the packet's */
	struct swd_flow_key masked;
	struct swd_xdp_rule_head best; /* valid when found */
	__u32 base;		       /* first entry of the active mask list */
	__u32 found;
	__u32 probe;	  /* the config's */
	__u32 index_mask; /* the config's */
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
	const struct swd_xdp_rule_head *h;
	const struct swd_xdp_rule *r;
	const __u64 *maskw;
	__u32 rec;
	int found;

	if (!m)
		return 1;
	if (s->found && s->best.priority > m->max_priority)
		return 1; /* no rule of the remaining masks can win */
	if (egress && m->mask.in_port != 0xffff)
		return 0;
	maskw = (const __u64 *)&m->mask;
	if (m->single) { /* the mask's one rule is in its entry */
		const __u64 *sk = (const __u64 *)&m->single_key;
		__u64 diff = 0;

		for (int w = 0; w < SWD_FLOW_KEY_WORDS; w++)
			diff |= (kw[w] & maskw[w]) ^ sk[w];
		if (diff)
			return 0;
		h = &m->single_head;
	} else {
		for (int w = 0; w < SWD_FLOW_KEY_WORDS; w++)
			mw[w] = kw[w] & maskw[w];
		found =
		    swd_find_rule(&s->masked, m->id, s->probe, s->index_mask);
		if (found < 0)
			return 0;
		rec = (__u32)found;
		r = bpf_map_lookup_elem(&swd_rules, &rec);
		if (!r)
			return 0;
		h = &r->h;
	}
	if (!s->found || h->priority > s->best.priority ||
	    (h->priority == s->best.priority && h->rule_id < s->best.rule_id)) {
		s->best = *h;
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

/* The active mask list's settings (NULL only if the map is missing). */
static __always_inline const struct swd_xdp_list_config *settings(void)
{
	__u32 zero = 0;
	const struct swd_xdp_config *c =
	    bpf_map_lookup_elem(&swd_config, &zero);

	if (!c)
		return 0;
	return &c->list[*(volatile const __u32 *)&c->active &
			(SWD_XDP_MASK_LISTS - 1)];
}

/* Fills s->best with the best rule of table 0 for s->key, if any; egress:
 * of the rules that name in_port exactly (see search_mask). */
static __always_inline void
search(struct search *s, const struct swd_xdp_list_config *cfg, int egress)
{
	__u32 n = cfg->n_masks;

	s->base = cfg->first_mask;
	s->found = 0;
	s->probe = cfg->probe;
	s->index_mask = cfg->index_mask;
	for (__u32 i = 0; i < SWD_XDP_INLINE_MASKS; i++) {
		if (i >= n || search_mask(i, s, egress))
			return;
	}
	if (n > SWD_XDP_INLINE_MASKS && n <= SWD_XDP_MAX_MASKS)
		bpf_loop(n - SWD_XDP_INLINE_MASKS,
			 egress ? search_more_egress : search_more, s, 0);
}

#endif /* SWD_BPF_TABLES_H */
