// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * dispatcher: swd's XDP program. One instance per port (its ofport and its
 * XSKMAP are its own); the rule maps are shared by every instance.
 *
 * For each frame, in order:
 *  1. the queue map: the receive queue's mode sends the frame straight to its
 *     AF_XDP socket (user), up the kernel stack (kernel), or on to 2 (xdp);
 *  2. the rule search: with the frame's ct_state first when the dispatcher
 *     tracks connections (conntrack.h), table 0 of the compiled pipeline as
 *     tuple spaces (see swd_abi.h), masks in priority order with early
 *     exit, the same order and tie-break as user space. The winner's
 *     actions run here when it is placed in XDP: rewrites and ct(commit),
 *     then drop, local (XDP_PASS), output to the receiving port (XDP_TX)
 *     or to another port (XDP_REDIRECT through the devmap);
 *  3. otherwise the frame goes to the queue's AF_XDP socket, or up the stack
 *     when swd has no socket there.
 * No rule at all is OpenFlow's table miss: drop, as user space would.
 *
 * Every outcome has a per-CPU counter (enum swd_xdp_counter: one per frame,
 * no separate count of received frames); XDP-run rules count packets and
 * bytes in their per-CPU slot.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"
#include "parse.h"
#include "conntrack.h"
#include "lb.h"
#include "rewrite.h"
#include "tables.h"

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

	if (swd_trace) { /* test runs have no sockets */
		count(SWD_XC_TO_USER);
		return verdict(XDP_PASS, SWD_V_TO_USER, 0, rule_id, malformed);
	}
	if (bpf_map_lookup_elem(&xsks_map, &q)) {
		count(SWD_XC_TO_USER);
		return bpf_redirect_map(&xsks_map, q, XDP_PASS);
	}
	count(SWD_XC_NO_SOCKET);
	return XDP_PASS;
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
	struct swd_action_list *al;
	struct swd_rule_stats *st = bpf_map_lookup_elem(&swd_rule_stats, &slot);
	__u32 n;

	if (st) {
		st->packets += 1;
		st->bytes += ctx->data_end - ctx->data;
	}
	if (r->only == SWD_XDP_ONLY_DROP) {
		count(SWD_XC_DROP_RULE);
		return verdict(XDP_DROP, SWD_V_DROP, 0, rule_id, malformed);
	}
	if (r->only == SWD_XDP_ONLY_LOCAL) {
		count(SWD_XC_PASS);
		return verdict(XDP_PASS, SWD_V_PASS, 0, rule_id, malformed);
	}
	al = bpf_map_lookup_elem(&swd_actions, &id);
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
		case SWD_ACT_LB: {
			int full = 0;

			switch (swd_lb_run(ctx, a->arg, k, w, &full)) {
			case SWD_LBR_BALANCED:
				break;
			case SWD_LBR_NO_SESSION:
				count(SWD_XC_DROP_LB_NO_SESSION);
				return verdict(XDP_DROP, SWD_V_DROP, 0, rule_id,
					       malformed);
			case SWD_LBR_NO_BACKEND:
				count(SWD_XC_DROP_LB_NO_BACKEND);
				return verdict(XDP_DROP, SWD_V_DROP, 0, rule_id,
					       malformed);
			default:
				count(SWD_XC_DROP_LB_NOT_BALANCED);
				return verdict(XDP_DROP, SWD_V_DROP, 0, rule_id,
					       malformed);
			}
			if (full)
				count(SWD_XC_LB_SESSION_FULL);
			break;
		}
		case SWD_ACT_CT_COMMIT:
			switch (swd_ct_commit(k, w)) {
			case SWD_CT_COMMIT_CREATED:
				count(SWD_XC_CT_CREATED);
				break;
			case SWD_CT_COMMIT_RENEWED:
				count(SWD_XC_CT_RENEWED);
				break;
			default:
				break;
			}
			break;
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

/* The parse as a global function: the verifier checks it once, on its own,
 * and the rest of the program sees the key and the header offsets it wrote
 * as unknown bytes, rather than one shape of them per way through the parse
 * carried on into the search and the actions. That cuts the verifier's work
 * at each load by a third (docs/benchmarks.md: 297K instructions, not 436K;
 * 3.3 s, not 5.6 s) at no cost per frame that xdp_cost can see. */
__noinline int swd_dispatch_parse(struct xdp_md *ctx, struct swd_flow_key *k,
				  struct swd_hdrs *w)
{
	if (!ctx || !k || !w)
		return SWD_MALFORMED_RUNT;
	return swd_parse(ctx, swd_in_port, k, w);
}

SEC("xdp")
int swd_dispatch(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	__u32 *mode;
	const struct swd_xdp_list_config *cfg;
	struct search s;
	struct swd_hdrs w;
	int malformed;

	mode = bpf_map_lookup_elem(&queue_map, &q);
	if (mode && *mode == SWD_QUEUE_KERNEL) {
		count(SWD_XC_QUEUE_KERNEL);
		return verdict(XDP_PASS, SWD_V_PASS, 0, 0, 0);
	}
	cfg = settings();
	if ((mode && *mode == SWD_QUEUE_USER) || !cfg || !cfg->search) {
		count(SWD_XC_QUEUE_USER);
		return to_user(ctx, 0, 0);
	}
	malformed = swd_dispatch_parse(ctx, &s.key, &w);
	if (malformed)
		count(SWD_XC_MALFORMED);
	if (cfg->tracks)
		s.key.ct_state = swd_ct_state(&s.key, &w, cfg);
	search(&s, cfg, 0);
	if (!s.found) {
		count(SWD_XC_DROP_MISS);
		return verdict(XDP_DROP, SWD_V_DROP, 0, 0, malformed);
	}
	if (s.best.run != SWD_XDP_RUN_XDP)
		return to_user(ctx, s.best.rule_id, malformed);
	return run_actions(ctx, &s.best, &s.key, &w, malformed);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
