/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * tc_rewrite.h - set-field and dec_ttl actions on an skb (TC): the same
 * results, frame bytes and key updates as rewrite.h (XDP) and
 * datapath/rewrite.h, made with the kernel's skb helpers.
 *
 * Why helpers rather than rewrite.h's direct writes: a frame the host's
 * stack sends is often CHECKSUM_PARTIAL (the device or the stack fills the
 * TCP/UDP checksum in later from csum_start, and the checksum field holds
 * only the pseudo-header sum). An incremental update of the whole checksum
 * would be wrong there. bpf_l4_csum_replace() knows the skb's state: with
 * BPF_F_PSEUDO_HDR it updates a partial checksum for the address (which is
 * in the pseudo-header) and a full one for both; without it (ports, which
 * the final computation covers anyway) it leaves a partial checksum alone.
 * For a full checksum every update is RFC 1624 eqn. 3, bit for bit what
 * rewrite.h and datapath/checksum.h compute (tests/unit/bpf_parse_test.cc
 * compares them).
 *
 * Checksum rules, as in rewrite.h: the IPv4 header checksum for every IPv4
 * change (bpf_l3_csum_replace); a UDP checksum of 0 means none and stays 0,
 * over IPv4 and IPv6, and an update that gives 0 stores 0xffff
 * (BPF_F_MARK_MANGLED_0 does both); IPv6 has no header checksum.
 *
 * Results: 1 done, 0 skipped (the packet lacks the header; nothing changed),
 * SWD_TC_RW_FAILED when a helper failed (the skb could not be made
 * writable): the frame may be half rewritten and the caller drops it. For
 * swd_tc_rw_dec_ttl, enum swd_ttl_result or SWD_TC_RW_FAILED. w and k must
 * come from swd_parse_skb on this frame (and earlier rewrites of it). No
 * packet pointer is used: the helpers invalidate them.
 */
#ifndef SWD_BPF_TC_REWRITE_H
#define SWD_BPF_TC_REWRITE_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"
#include "rewrite.h" /* enum swd_ttl_result */

#define SWD_TC_RW_FAILED (-1)

static __always_inline int swd_tc_rw_eth(struct __sk_buff *skb, __u32 field,
					 const __u8 *mac, __u8 *key_field)
{
	__u8 v[6];

	if (skb->len < SWD_PARSE_ETH_HLEN)
		return 0;
	__builtin_memcpy(v, mac, 6); /* mac may be in a map value */
	if (bpf_skb_store_bytes(skb, field, v, 6, 0) != 0)
		return SWD_TC_RW_FAILED;
	__builtin_memcpy(key_field, v, 6);
	return 1;
}

static __always_inline int swd_tc_rw_eth_src(struct __sk_buff *skb,
					     const __u8 *mac,
					     struct swd_flow_key *k)
{
	return swd_tc_rw_eth(skb, 6, mac, k->eth_src);
}

static __always_inline int swd_tc_rw_eth_dst(struct __sk_buff *skb,
					     const __u8 *mac,
					     struct swd_flow_key *k)
{
	return swd_tc_rw_eth(skb, 0, mac, k->eth_dst);
}

/* Where the TCP or UDP checksum is (0: neither, or no complete L4 header),
 * and the flags its updates take. */
static __always_inline __u32 swd_tc_l4_csum(const struct swd_hdrs *w,
					    __u8 proto, __u64 *flags)
{
	if (w->l4 == 0)
		return 0;
	if (proto == IPPROTO_TCP) {
		*flags = 0;
		return w->l4 + 16;
	}
	if (proto == IPPROTO_UDP) {
		*flags = BPF_F_MARK_MANGLED_0;
		return w->l4 + 6;
	}
	return 0;
}

/* An IPv4 address at offset field of the header. */
static __always_inline int swd_tc_rw_ipv4(struct __sk_buff *skb,
					  const struct swd_hdrs *w, __u32 field,
					  __be32 addr, struct swd_flow_key *k,
					  __be32 *key_field)
{
	__u32 l3 = w->l3, csum_at;
	__u64 flags = 0;
	__be32 old;

	if (!w->ipv4)
		return 0;
	if (bpf_skb_load_bytes(skb, l3 + field, &old, 4) != 0)
		return 0;
	csum_at = swd_tc_l4_csum(w, k->nw_proto, &flags);
	if (csum_at != 0 &&
	    bpf_l4_csum_replace(skb, csum_at, old, addr,
				flags | BPF_F_PSEUDO_HDR | 4) != 0)
		return SWD_TC_RW_FAILED;
	if (bpf_l3_csum_replace(skb, l3 + 10, old, addr, 4) != 0)
		return SWD_TC_RW_FAILED;
	if (bpf_skb_store_bytes(skb, l3 + field, &addr, 4, 0) != 0)
		return SWD_TC_RW_FAILED;
	*key_field = addr;
	return 1;
}

static __always_inline int swd_tc_rw_ipv4_src(struct __sk_buff *skb,
					      const struct swd_hdrs *w,
					      __be32 addr,
					      struct swd_flow_key *k)
{
	return swd_tc_rw_ipv4(skb, w, 12, addr, k, &k->nw_src[0]);
}

static __always_inline int swd_tc_rw_ipv4_dst(struct __sk_buff *skb,
					      const struct swd_hdrs *w,
					      __be32 addr,
					      struct swd_flow_key *k)
{
	return swd_tc_rw_ipv4(skb, w, 16, addr, k, &k->nw_dst[0]);
}

/* A TCP/UDP port at offset field of the L4 header, over IPv4 or IPv6. */
static __always_inline int swd_tc_rw_port(struct __sk_buff *skb,
					  const struct swd_hdrs *w, __u32 field,
					  __be16 port, struct swd_flow_key *k,
					  __be16 *key_field)
{
	__u64 flags = 0;
	__u32 csum_at = swd_tc_l4_csum(w, k->nw_proto, &flags);
	__be16 old;

	if (csum_at == 0)
		return 0;
	if (bpf_skb_load_bytes(skb, w->l4 + field, &old, 2) != 0)
		return 0;
	if (bpf_l4_csum_replace(skb, csum_at, old, port, flags | 2) != 0)
		return SWD_TC_RW_FAILED;
	if (bpf_skb_store_bytes(skb, w->l4 + field, &port, 2, 0) != 0)
		return SWD_TC_RW_FAILED;
	*key_field = port;
	return 1;
}

static __always_inline int swd_tc_rw_tp_src(struct __sk_buff *skb,
					    const struct swd_hdrs *w,
					    __be16 port, struct swd_flow_key *k)
{
	return swd_tc_rw_port(skb, w, 0, port, k, &k->tp_src);
}

static __always_inline int swd_tc_rw_tp_dst(struct __sk_buff *skb,
					    const struct swd_hdrs *w,
					    __be16 port, struct swd_flow_key *k)
{
	return swd_tc_rw_port(skb, w, 2, port, k, &k->tp_dst);
}

/* IPv4 TTL or IPv6 hop limit minus one; 0 or 1 is SWD_TTL_EXPIRED and left
 * unchanged. The IPv4 checksum covers TTL and protocol as one word. */
static __always_inline int swd_tc_rw_dec_ttl(struct __sk_buff *skb,
					     const struct swd_hdrs *w,
					     struct swd_flow_key *k)
{
	__u32 l3 = w->l3;
	__u8 b[2];
	__u16 old, new;

	if (w->ipv4) {
		if (bpf_skb_load_bytes(skb, l3 + 8, b, 2) != 0)
			return SWD_TTL_NOT_IP;
		if (b[0] <= 1)
			return SWD_TTL_EXPIRED;
		__builtin_memcpy(&old, b, 2);
		b[0]--;
		__builtin_memcpy(&new, b, 2);
		if (bpf_l3_csum_replace(skb, l3 + 10, old, new, 2) != 0)
			return SWD_TC_RW_FAILED;
		if (bpf_skb_store_bytes(skb, l3 + 8, b, 1, 0) != 0)
			return SWD_TC_RW_FAILED;
	} else if (w->ipv6) {
		if (bpf_skb_load_bytes(skb, l3 + 7, b, 1) != 0)
			return SWD_TTL_NOT_IP;
		if (b[0] <= 1)
			return SWD_TTL_EXPIRED;
		b[0]--;
		if (bpf_skb_store_bytes(skb, l3 + 7, b, 1, 0) != 0)
			return SWD_TC_RW_FAILED;
	} else {
		return SWD_TTL_NOT_IP;
	}
	k->nw_ttl = b[0];
	return SWD_TTL_OK;
}

#endif /* SWD_BPF_TC_REWRITE_H */
