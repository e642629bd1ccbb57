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

SEC("xdp")
int swd_xdp_parse_probe(struct xdp_md *ctx)
{
	struct swd_flow_key k;
	struct swd_hdrs w;
	int rc = 0;

	probe_len = ctx->data_end - ctx->data;
	probe_malformed = swd_parse(ctx, probe_in_port, &k, &w);
	probe_key = k;
	probe_l3 = w.l3;
	probe_l4 = w.l4;
	probe_l3_end = w.l3_end;
	probe_ipv4 = w.ipv4;
	probe_ipv6 = w.ipv6;
	switch (probe_rw) {
	case SWD_ACT_SET_ETH_SRC:
		rc = swd_rw_eth_src(ctx, probe_mac, &k);
		break;
	case SWD_ACT_SET_ETH_DST:
		rc = swd_rw_eth_dst(ctx, probe_mac, &k);
		break;
	case SWD_ACT_SET_IPV4_SRC:
		rc = swd_rw_ipv4_src(ctx, &w, probe_addr, &k);
		break;
	case SWD_ACT_SET_IPV4_DST:
		rc = swd_rw_ipv4_dst(ctx, &w, probe_addr, &k);
		break;
	case SWD_ACT_SET_TP_SRC:
		rc = swd_rw_tp_src(ctx, &w, probe_port, &k);
		break;
	case SWD_ACT_SET_TP_DST:
		rc = swd_rw_tp_dst(ctx, &w, probe_port, &k);
		break;
	case SWD_ACT_DEC_TTL:
		rc = swd_rw_dec_ttl(ctx, &w, &k);
		break;
	default:
		break;
	}
	probe_rw_result = rc;
	probe_rw_key = k;
	return XDP_TX;
}

SEC("tc")
int swd_tc_parse_probe(struct __sk_buff *skb)
{
	struct swd_flow_key k;
	struct swd_hdrs w;
	int rc = 0, pulled = 0;

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
	probe_key = k;
	probe_l3 = w.l3;
	probe_l4 = w.l4;
	probe_l3_end = w.l3_end;
	probe_ipv4 = w.ipv4;
	probe_ipv6 = w.ipv6;
	switch (probe_rw) {
	case SWD_ACT_SET_ETH_SRC:
		rc = swd_tc_rw_eth_src(skb, probe_mac, &k);
		break;
	case SWD_ACT_SET_ETH_DST:
		rc = swd_tc_rw_eth_dst(skb, probe_mac, &k);
		break;
	case SWD_ACT_SET_IPV4_SRC:
		rc = swd_tc_rw_ipv4_src(skb, &w, probe_addr, &k);
		break;
	case SWD_ACT_SET_IPV4_DST:
		rc = swd_tc_rw_ipv4_dst(skb, &w, probe_addr, &k);
		break;
	case SWD_ACT_SET_TP_SRC:
		rc = swd_tc_rw_tp_src(skb, &w, probe_port, &k);
		break;
	case SWD_ACT_SET_TP_DST:
		rc = swd_tc_rw_tp_dst(skb, &w, probe_port, &k);
		break;
	case SWD_ACT_DEC_TTL:
		rc = swd_tc_rw_dec_ttl(skb, &w, &k);
		break;
	default:
		break;
	}
	probe_rw_result = rc;
	probe_rw_key = k;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
