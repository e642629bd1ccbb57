// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * parse_probe: a test-only XDP program that exposes parse.h and rewrite.h to
 * tests/unit/bpf_parse_test.cc, which runs it with BPF_PROG_TEST_RUN and
 * compares everything it reports with the user-space datapath's code.
 *
 * Per frame: swd_parse() into a stack key (as the dispatcher does), then the
 * rewrite that probe_rw names (an enum swd_action_type value, 0 for none)
 * with the argument of its kind. The key, header offsets and malformed code
 * of the parse, and the result and key of the rewrite go to the globals
 * below; the program returns XDP_TX so that the test run hands the frame
 * back. Never attached to a device.
 *
 * swd_tc_parse_probe does the same on an skb (TC): swd_parse_skb() and the
 * skb-helper rewrites of tc_rewrite.h, returning TC_ACT_OK; probe_pulled says
 * whether the parse had to pull headers into the linear part.
 * probe_eth_type, when set, is written over the Ethernet type first (see
 * there).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"
#include "parse.h"
#include "rewrite.h"
#include "tc_rewrite.h"

/* Inputs, written by the test before each run (.bss is mmapped). */
__u16 probe_in_port;
__u32 probe_rw; /* enum swd_action_type: a set-field or SWD_ACT_DEC_TTL */
__u8 probe_mac[6];
__be32 probe_addr;
__be16 probe_port;
__be16
    probe_eth_type; /* TC: written at offset 12 before the parse, when not 0 */

/* Outputs. */
__u32 probe_len;	       /* the frame as the program saw it */
struct swd_flow_key probe_key; /* after swd_parse */
__u32 probe_l3;		       /* struct swd_hdrs, field by field */
__u32 probe_l4;
__u32 probe_l3_end;
__u8 probe_ipv4;
__u8 probe_ipv6;
__s32 probe_malformed;
struct swd_flow_key probe_rw_key; /* after the rewrite */
__s32 probe_rw_result;		  /* 1 done, 0 skipped; enum swd_ttl_result */
__s32 probe_pulled;		  /* TC: swd_parse_skb pulled the headers in */

/* The parse's results, to the output globals. */
static __always_inline void probe_record_parse(const struct swd_flow_key *k,
					       const struct swd_hdrs *w)
{
	probe_key = *k;
	probe_l3 = w->l3;
	probe_l4 = w->l4;
	probe_l3_end = w->l3_end;
	probe_ipv4 = w->ipv4;
	probe_ipv6 = w->ipv6;
}

/*
 * Defines static int name(ctx_type *ctx, struct swd_hdrs *w,
 * struct swd_flow_key *k): the rewrite that probe_rw names, done by the
 * helpers prefix##_eth_src, prefix##_ipv4_dst, ...: 0 when it names none.
 */
#define SWD_PROBE_REWRITE(name, ctx_type, prefix)                              \
	static __always_inline int name(ctx_type *ctx, struct swd_hdrs *w,     \
					struct swd_flow_key *k)                \
	{                                                                      \
		switch (probe_rw) {                                            \
		case SWD_ACT_SET_ETH_SRC:                                      \
			return prefix##_eth_src(ctx, probe_mac, k);            \
		case SWD_ACT_SET_ETH_DST:                                      \
			return prefix##_eth_dst(ctx, probe_mac, k);            \
		case SWD_ACT_SET_IPV4_SRC:                                     \
			return prefix##_ipv4_src(ctx, w, probe_addr, k);       \
		case SWD_ACT_SET_IPV4_DST:                                     \
			return prefix##_ipv4_dst(ctx, w, probe_addr, k);       \
		case SWD_ACT_SET_TP_SRC:                                       \
			return prefix##_tp_src(ctx, w, probe_port, k);         \
		case SWD_ACT_SET_TP_DST:                                       \
			return prefix##_tp_dst(ctx, w, probe_port, k);         \
		case SWD_ACT_DEC_TTL:                                          \
			return prefix##_dec_ttl(ctx, w, k);                    \
		default:                                                       \
			return 0;                                              \
		}                                                              \
	}

SWD_PROBE_REWRITE(probe_xdp_rewrite, struct xdp_md, swd_rw)
SWD_PROBE_REWRITE(probe_tc_rewrite, struct __sk_buff, swd_tc_rw)

SEC("xdp")
int swd_xdp_parse_probe(struct xdp_md *ctx)
{
	struct swd_flow_key k;
	struct swd_hdrs w;

	probe_len = ctx->data_end - ctx->data;
	probe_malformed = swd_parse(ctx, probe_in_port, &k, &w);
	probe_record_parse(&k, &w);
	probe_rw_result = probe_xdp_rewrite(ctx, &w, &k);
	probe_rw_key = k;
	return XDP_TX;
}

SEC("tc")
int swd_tc_parse_probe(struct __sk_buff *skb)
{
	struct swd_flow_key k;
	struct swd_hdrs w;
	int pulled = 0;

	probe_len = skb->len;
	/* BPF_PROG_TEST_RUN refuses an IPv4/IPv6 frame cut inside its IP
	 * header: the test sends it with another type and this restores it. */
	if (probe_eth_type) {
		__be16 t = probe_eth_type;

		if (bpf_skb_store_bytes(skb, 12, &t, 2, 0) != 0)
			return TC_ACT_SHOT;
	}
	probe_malformed = swd_parse_skb(skb, probe_in_port, &k, &w, &pulled);
	probe_pulled = pulled;
	probe_record_parse(&k, &w);
	probe_rw_result = probe_tc_rewrite(skb, &w, &k);
	probe_rw_key = k;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
