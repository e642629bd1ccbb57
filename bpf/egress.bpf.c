// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * egress: swd's TC egress program, the other half of the dispatcher. It runs
 * on frames that this host's own stack sends out of a swd port (a local
 * application's replies, its own datagrams), which never pass through swd
 * otherwise. Frames that swd itself sends (AF_XDP, XDP_TX, XDP_REDIRECT)
 * do not pass the TC egress hook. One instance per port (its ofport and its
 * counters are its own), attached by a TCX link; the rule maps are the
 * dispatcher's (tables.h).
 *
 * For each frame:
 *  1. no rule of table 0 with in_port=LOCAL is placed in XDP (the config's
 *     egress flag): leave at once (TC_ACT_OK);
 *  2. parse (parse.h, the same key as datapath/extract.cc) with
 *     in_port=LOCAL, the ct_state as the dispatcher gives it (conntrack.h,
 *     the same connections) when it tracks, then the tuple-space search
 *     over the masks whose in_port is exact: only rules that name
 *     in_port=LOCAL apply here, so a catch-all rule never cuts the host
 *     off. Same order and tie-break as the dispatcher and user space;
 *  3. no winner: the frame leaves unchanged. A winner placed in user space:
 *     leaves unchanged too (user space never sees these frames). A winner
 *     placed in XDP runs here: ct(commit) and rewrites (tc_rewrite.h,
 *     checksums right for CHECKSUM_PARTIAL skbs too), then drop
 *     (TC_ACT_SHOT); output to the port it is leaving by, local or in_port:
 *     leave (TC_ACT_OK; local and in_port name the host's stack, where the
 *     frame comes from, so going on out is the only sensible reading);
 *     output to another port: bpf_redirect to
 *     that port's egress, where the frame passes the hook again: a mark in
 *     skb->tc_index (SWD_TC_REDIRECT_MARK) lets it leave there unsearched.
 *
 * Every outcome has a per-CPU counter (enum swd_tc_counter); XDP-run rules
 * count packets and bytes in the same per-CPU slot as in the dispatcher. An
 * skb may be a GSO packet: it counts once, with all its bytes.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"
#include "parse.h"
#include "conntrack.h"
#include "tables.h"
#include "tc_rewrite.h"

/* Set by the loader before load. */
const volatile __u16 swd_out_port = 0; /* this port's ofport */
const volatile __u32 swd_trace = 0;    /* record each verdict in swd_last */

struct swd_xdp_trace swd_last = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWD_TC_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} tc_counters SEC(".maps");

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&tc_counters, &c);

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

static __always_inline int leave(__u32 c, __u32 rule_id, int malformed)
{
	count(c);
	return verdict(TC_ACT_OK,
		       c == SWD_TC_PASS_USER ? SWD_V_TO_USER : SWD_V_PASS,
		       swd_out_port, rule_id, malformed);
}

static __always_inline int shot(__u32 c, __u32 rule_id, int malformed)
{
	count(c);
	return verdict(TC_ACT_SHOT, SWD_V_DROP, 0, rule_id, malformed);
}

/* The empty asm keeps clang from computing &skb->tc_index once for every
 * store and keeping it in a register: the verifier takes stores to the
 * context only at the context pointer plus a constant. */
static __always_inline void set_tc_index(struct __sk_buff *skb, __u32 v)
{
	asm volatile("" : "+r"(skb));
	skb->tc_index = v;
}

/* Runs an XDP-placed rule's actions: rewrites, then the one output. */
static __always_inline int run_actions(struct __sk_buff *skb,
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
		st->bytes += skb->len;
	}
	if (!al) /* cannot happen: written first */
		return leave(SWD_TC_PASS_USER, rule_id, malformed);
	n = al->n;
	for (__u32 i = 0; i < SWD_MAX_ACTIONS; i++) {
		struct swd_action *a;
		int done = 1;

		if (i >= n)
			break;
		a = &al->a[i];
		switch (a->type) {
		case SWD_ACT_SET_ETH_SRC:
			done = swd_tc_rw_eth_src(skb, a->val.mac, k);
			break;
		case SWD_ACT_SET_ETH_DST:
			done = swd_tc_rw_eth_dst(skb, a->val.mac, k);
			break;
		case SWD_ACT_SET_IPV4_SRC:
			done = swd_tc_rw_ipv4_src(skb, w, a->val.ipv4, k);
			break;
		case SWD_ACT_SET_IPV4_DST:
			done = swd_tc_rw_ipv4_dst(skb, w, a->val.ipv4, k);
			break;
		case SWD_ACT_SET_TP_SRC:
			done = swd_tc_rw_tp_src(skb, w, a->val.port, k);
			break;
		case SWD_ACT_SET_TP_DST:
			done = swd_tc_rw_tp_dst(skb, w, a->val.port, k);
			break;
		case SWD_ACT_DEC_TTL: {
			int t = swd_tc_rw_dec_ttl(skb, w, k);

			if (t == SWD_TTL_EXPIRED)
				return shot(SWD_TC_DROP_TTL, rule_id,
					    malformed);
			done = t == SWD_TTL_OK	       ? 1
			       : t == SWD_TC_RW_FAILED ? SWD_TC_RW_FAILED
						       : 0;
			break;
		}
		case SWD_ACT_CT_COMMIT:
			switch (swd_ct_commit(k, w)) {
			case SWD_CT_COMMIT_CREATED:
				count(SWD_TC_CT_CREATED);
				break;
			case SWD_CT_COMMIT_RENEWED:
				count(SWD_TC_CT_RENEWED);
				break;
			default:
				break;
			}
			break;
		case SWD_ACT_IN_PORT:
		case SWD_ACT_LOCAL:
			return leave(SWD_TC_PASS_RULE, rule_id, malformed);
		case SWD_ACT_OUTPUT: {
			__u32 port = a->arg;
			struct bpf_devmap_val *d;

			if (port == swd_out_port || port == SWD_OFPORT_LOCAL)
				return leave(SWD_TC_PASS_RULE, rule_id,
					     malformed);
			d = bpf_map_lookup_elem(&swd_ports, &port);
			if (!d)
				return shot(SWD_TC_DROP_NO_PORT, rule_id,
					    malformed);
			count(SWD_TC_REDIRECT);
			verdict(0, SWD_V_REDIRECT, port, rule_id, malformed);
			/* The target port's egress hook runs on the frame
			 * too: it must leave there as output:PORT sent it. */
			set_tc_index(skb, SWD_TC_REDIRECT_MARK);
			return bpf_redirect(d->ifindex, 0);
		}
		default: /* never placed in XDP */
			return leave(SWD_TC_PASS_USER, rule_id, malformed);
		}
		if (done == SWD_TC_RW_FAILED)
			return shot(SWD_TC_DROP_REWRITE, rule_id, malformed);
		if (!done)
			count(SWD_TC_REWRITE_SKIPPED);
	}
	return shot(SWD_TC_DROP_RULE, rule_id, malformed);
}

/* The parse as a global BPF function, as the dispatcher's (see there): the
 * verifier checks it once and carries no shape of the key past it. */
__noinline int swd_egress_parse(struct __sk_buff *skb, struct swd_flow_key *k,
				struct swd_hdrs *w, int *pulled)
{
	if (!skb || !k || !w || !pulled)
		return SWD_MALFORMED_RUNT;
	return swd_parse_skb(skb, SWD_OFPORT_LOCAL, k, w, pulled);
}

SEC("tc")
int swd_tc_egress(struct __sk_buff *skb)
{
	const struct swd_xdp_list_config *cfg = settings();
	struct search s;
	struct swd_hdrs w;
	int malformed, pulled;

	if (skb->tc_index == SWD_TC_REDIRECT_MARK) {
		set_tc_index(skb, 0);
		count(SWD_TC_PASS_REDIRECTED);
		return verdict(TC_ACT_OK, SWD_V_PASS, swd_out_port, 0, 0);
	}
	if (!cfg || !cfg->egress || !cfg->search) {
		count(SWD_TC_IDLE);
		return verdict(TC_ACT_OK, SWD_V_PASS, swd_out_port, 0, 0);
	}
	count(SWD_TC_RX);
	malformed = swd_egress_parse(skb, &s.key, &w, &pulled);
	if (pulled)
		count(SWD_TC_PULLED);
	if (malformed)
		count(SWD_TC_MALFORMED);
	if (cfg->tracks)
		s.key.ct_state = swd_ct_state(&s.key, &w, cfg);
	search(&s, cfg, 1);
	if (!s.found)
		return leave(SWD_TC_PASS_MISS, 0, malformed);
	if (s.best.run != SWD_XDP_RUN_XDP)
		return leave(SWD_TC_PASS_USER, s.best.rule_id, malformed);
	return run_actions(skb, &s.best, &s.key, &w, malformed);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
