// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * dispatcher: swd's XDP program. One instance per port (its ofport and its
 * XSKMAP are its own); the rule maps are shared by every instance.
 *
 * For each frame, in order:
 *  1. the queue map: the receive queue's mode sends the frame straight to its
 *     AF_XDP socket (user), up the kernel stack (kernel), or on to 2 (xdp);
 *  2. the rule search: table 0 of the compiled pipeline as tuple spaces (see
 *     swd_abi.h), masks in priority order with early exit, the same order and
 *     tie-break as user space. The winner's actions run here when it is placed
 *     in XDP: rewrites, then drop, local (XDP_PASS), output to the receiving
 *     port (XDP_TX) or to another port (XDP_REDIRECT through the devmap);
 *  3. otherwise the frame goes to the queue's AF_XDP socket, or up the stack
 *     when swd has no socket there.
 * No rule at all is OpenFlow's table miss: drop, as user space would.
 *
 * Every outcome has a per-CPU counter (enum swd_xdp_counter); XDP-run rules
 * count packets and bytes in their per-CPU slot.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"
#include "parse.h"
#include "rewrite.h"

/* Set by the loader before load. */
const volatile __u16 swd_in_port = 0; /* this port's ofport */
const volatile __u32 swd_trace =
    0; /* record each verdict in swd_last (tests) */

struct swd_xdp_trace swd_last = {};

/* ---- this port's maps ---- */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SWD_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SWD_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32); /* enum swd_queue_mode */
} queue_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWD_XC_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} xdp_counters SEC(".maps");

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

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&xdp_counters, &c);

	if (v)
		*v += 1;
}

static __always_inline int verdict(int action, __u32 v, __u32 port,
				   __u32 rule_id, int malformed)
{
	if (swd_trace) {
		swd_last.verdict = v;
		swd_last.port = port;
		swd_last.rule_id = rule_id;
		swd_last.malformed = malformed;
	}
	return action;
}

static __always_inline int to_user(struct xdp_md *ctx, __u32 rule_id,
				   int malformed)
{
	__u32 q = ctx->rx_queue_index;

	if (swd_trace) /* test runs have no sockets */
		return verdict(XDP_PASS, SWD_V_TO_USER, 0, rule_id, malformed);
	if (bpf_map_lookup_elem(&xsks_map, &q)) {
		count(SWD_XC_TO_USER);
		return bpf_redirect_map(&xsks_map, q, XDP_PASS);
	}
	count(SWD_XC_NO_SOCKET);
	return XDP_PASS;
}

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

/* Looks mask i up; returns 1 when the search can stop. */
static __always_inline int search_mask(__u32 i, struct search *s)
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
	return search_mask(i + SWD_XDP_INLINE_MASKS, ctx);
}

/* Fills s->best with the best rule of table 0 for s->key, if any. */
static __always_inline void search(struct search *s,
				   const struct swd_xdp_config *cfg)
{
	__u32 n = cfg->n_masks;

	s->base = cfg->active_masks ? SWD_XDP_MAX_MASKS : 0;
	s->found = 0;
	s->rk.pad = 0;
	for (__u32 i = 0; i < SWD_XDP_INLINE_MASKS; i++) {
		if (i >= n || search_mask(i, s))
			return;
	}
	if (n > SWD_XDP_INLINE_MASKS && n <= SWD_XDP_MAX_MASKS)
		bpf_loop(n - SWD_XDP_INLINE_MASKS, search_more, s, 0);
}

/* Runs an XDP-placed rule's actions: rewrites, then the one output (the
 * placement step lets only such rules into XDP). */
static __always_inline int run_actions(struct xdp_md *ctx,
				       const struct swd_xdp_rule_head *r,
				       struct swd_flow_key *k,
				       struct swd_hdrs *w, int malformed)
{
	__u32 id = r->action_id;
	__u32 slot = r->slot;
	__u32 rule_id = r->rule_id;
	struct swd_action_list *al = bpf_map_lookup_elem(&swd_actions, &id);
	struct swd_rule_stats *st = bpf_map_lookup_elem(&swd_rule_stats, &slot);
	__u32 n;

	if (st) {
		st->packets += 1;
		st->bytes += ctx->data_end - ctx->data;
	}
	if (!al)
		return to_user(ctx, rule_id,
			       malformed); /* cannot happen: written first */
	n = al->n;
	for (__u32 i = 0; i < SWD_MAX_ACTIONS; i++) {
		struct swd_action *a;
		int done = 1;

		if (i >= n)
			break;
		a = &al->a[i];
		switch (a->type) {
		case SWD_ACT_SET_ETH_SRC:
			done = swd_rw_eth_src(ctx, a->val.mac, k);
			break;
		case SWD_ACT_SET_ETH_DST:
			done = swd_rw_eth_dst(ctx, a->val.mac, k);
			break;
		case SWD_ACT_SET_IPV4_SRC:
			done = swd_rw_ipv4_src(ctx, w, a->val.ipv4, k);
			break;
		case SWD_ACT_SET_IPV4_DST:
			done = swd_rw_ipv4_dst(ctx, w, a->val.ipv4, k);
			break;
		case SWD_ACT_SET_TP_SRC:
			done = swd_rw_tp_src(ctx, w, a->val.port, k);
			break;
		case SWD_ACT_SET_TP_DST:
			done = swd_rw_tp_dst(ctx, w, a->val.port, k);
			break;
		case SWD_ACT_DEC_TTL: {
			int t = swd_rw_dec_ttl(ctx, w, k);

			if (t == SWD_TTL_EXPIRED) {
				count(SWD_XC_DROP_TTL);
				return verdict(XDP_DROP, SWD_V_DROP, 0, rule_id,
					       malformed);
			}
			done = t == SWD_TTL_OK;
			break;
		}
		case SWD_ACT_IN_PORT:
			count(SWD_XC_TX);
			return verdict(XDP_TX, SWD_V_TX, swd_in_port, rule_id,
				       malformed);
		case SWD_ACT_LOCAL:
			count(SWD_XC_PASS);
			return verdict(XDP_PASS, SWD_V_PASS, 0, rule_id,
				       malformed);
		case SWD_ACT_OUTPUT: {
			__u32 port = a->arg;

			if (port == swd_in_port) {
				count(SWD_XC_TX);
				return verdict(XDP_TX, SWD_V_TX, port, rule_id,
					       malformed);
			}
			if (!bpf_map_lookup_elem(&swd_ports, &port)) {
				count(SWD_XC_DROP_NO_PORT);
				return verdict(XDP_DROP, SWD_V_DROP, 0, rule_id,
					       malformed);
			}
			count(SWD_XC_REDIRECT);
			if (swd_trace) /* test runs only report it */
				return verdict(XDP_DROP, SWD_V_REDIRECT, port,
					       rule_id, malformed);
			return bpf_redirect_map(&swd_ports, port, 0);
		}
		default: /* never placed in XDP: let user space run the rule */
			return to_user(ctx, rule_id, malformed);
		}
		if (!done)
			count(SWD_XC_REWRITE_SKIPPED);
	}
	count(SWD_XC_DROP_RULE);
	return verdict(XDP_DROP, SWD_V_DROP, 0, rule_id, malformed);
}

SEC("xdp")
int swd_dispatch(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	__u32 zero = 0;
	__u32 *mode;
	struct swd_xdp_config *cfg;
	struct search s;
	struct swd_hdrs w;
	int malformed;

	count(SWD_XC_RX);
	mode = bpf_map_lookup_elem(&queue_map, &q);
	if (mode && *mode == SWD_QUEUE_KERNEL) {
		count(SWD_XC_QUEUE_KERNEL);
		return verdict(XDP_PASS, SWD_V_PASS, 0, 0, 0);
	}
	cfg = bpf_map_lookup_elem(&swd_config, &zero);
	if ((mode && *mode == SWD_QUEUE_USER) || !cfg || !cfg->search) {
		count(SWD_XC_QUEUE_USER);
		return to_user(ctx, 0, 0);
	}
	malformed = swd_parse(ctx, swd_in_port, &s.key, &w);
	if (malformed)
		count(SWD_XC_MALFORMED);
	search(&s, cfg);
	if (!s.found) {
		count(SWD_XC_DROP_MISS);
		return verdict(XDP_DROP, SWD_V_DROP, 0, 0, malformed);
	}
	if (s.best.run != SWD_XDP_RUN_XDP)
		return to_user(ctx, s.best.rule_id, malformed);
	return run_actions(ctx, &s.best, &s.key, &w, malformed);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
