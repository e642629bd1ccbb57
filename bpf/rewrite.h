/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * rewrite.h - set-field and dec_ttl actions in XDP: the twins of
 * datapath/rewrite.h, with the same results, frame bytes and key updates.
 *
 * Each function changes the frame in place, keeps the IPv4 header checksum
 * and the TCP/UDP checksum correct by the incremental update of RFC 1624
 * eqn. 3 (bit for bit what datapath/checksum.h computes), and updates the
 * key so that it equals what swd_parse would give for the rewritten frame.
 * w and k must come from swd_parse on this frame (and from earlier rewrites
 * of it); the transport protocol is taken from k->nw_proto.
 *
 * A function that returns 0 (SWD_TTL_NOT_IP for swd_rw_dec_ttl) changed
 * nothing, frame or key: the packet lacks the header it rewrites. Checksum
 * rules, as in user space:
 *  - IPv4 address: the IPv4 header checksum, and the TCP or UDP checksum
 *    (its pseudo-header holds the addresses) when the L4 header is present.
 *  - A UDP checksum of 0 over IPv4 means "none" and stays 0; over IPv6 it is
 *    updated like any other. An update that makes a UDP checksum 0x0000
 *    stores 0xffff instead.
 *  - IPv6 has no header checksum.
 *
 * Verifier: the offsets in w are re-checked against the largest values
 * swd_parse gives and every access against data_end, because w may have
 * been spilled to the stack or a map, where the verifier forgets their
 * bounds. For a w that describes this frame the checks never fail; if one
 * did, the function would change nothing and report a skip.
 */
#ifndef SWD_BPF_REWRITE_H
#define SWD_BPF_REWRITE_H

#include "parse.h"

/* swd_rw_dec_ttl's result, swd::dp::ttl_result's values in order. */
enum swd_ttl_result {
	SWD_TTL_OK = 0,
	SWD_TTL_EXPIRED = 1, /* TTL 0 or 1: left unchanged, the caller drops */
	SWD_TTL_NOT_IP = 2,  /* neither IPv4 nor IPv6: left unchanged */
};

/* Folds a 32-bit sum of 16-bit words with end-around carry. */
static __always_inline __u16 swd_csum_fold(__u32 acc)
{
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (__u16)acc;
}

/* The checksum hc after a 16-bit field changes from old to new (all three
 * as stored in the frame): ~(~hc + ~old + new). */
static __always_inline __u16 swd_csum_replace16(__u16 hc, __u16 old, __u16 new)
{
	__u32 acc = (__u16)~hc + (__u32)(__u16)~old + new;

	return (__u16)~swd_csum_fold(acc);
}

/* The same for a 32-bit field (two 16-bit words), e.g. an IPv4 address. */
static __always_inline __u16 swd_csum_replace32(__u16 hc, __u32 old, __u32 new)
{
	__u32 nold = ~old;
	__u32 acc = (__u16)~hc + (nold & 0xffff) + (nold >> 16) +
		    (new & 0xffff) + (new >> 16);

	return (__u16)~swd_csum_fold(acc);
}

static __always_inline int swd_rw_eth(struct xdp_md *ctx, __u32 field,
				      const __u8 *mac, __u8 *key_field)
{
	__u8 *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if ((void *)(data + SWD_PARSE_ETH_HLEN) > data_end)
		return 0;
	/* byte copies: mac may be anywhere, at any alignment */
	__builtin_memcpy(data + field, mac, 6);
	__builtin_memcpy(key_field, mac, 6);
	return 1;
}

/* Ethernet source/destination address. 0 for a frame shorter than an
 * Ethernet header. */
static __always_inline int swd_rw_eth_src(struct xdp_md *ctx, const __u8 *mac,
					  struct swd_flow_key *k)
{
	return swd_rw_eth(ctx, 6, mac, k->eth_src);
}

static __always_inline int swd_rw_eth_dst(struct xdp_md *ctx, const __u8 *mac,
					  struct swd_flow_key *k)
{
	return swd_rw_eth(ctx, 0, mac, k->eth_dst);
}

/* An IPv4 address at offset field of the header: the header checksum, and
 * the pseudo-header part of the TCP/UDP checksum when there is an L4 header
 * (ICMP, other protocols and later fragments have none). */
static __always_inline int swd_rw_ipv4(struct xdp_md *ctx,
				       const struct swd_hdrs *w, __u32 field,
				       __be32 addr, struct swd_flow_key *k,
				       __be32 *key_field)
{
	__u8 *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 proto = k->nw_proto;
	__u32 l3_off, l4_off;
	__u8 *ip, *l4 = data;
	int l4_csum = 0; /* the TCP or UDP checksum needs the update */
	__u16 csum;
	__u32 old;

	if (!w->ipv4)
		return 0;
	l3_off = w->l3;
	if (l3_off > SWD_PARSE_MAX_L3)
		return 0;
	ip = data + l3_off;
	if ((void *)(ip + 20) > data_end)
		return 0;
	l4_off = w->l4;
	if (l4_off != 0 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
		if (l4_off > SWD_PARSE_MAX_L4)
			return 0;
		l4 = data + l4_off;
		if (proto == IPPROTO_TCP) {
			if ((void *)(l4 + 20) > data_end)
				return 0;
		} else if ((void *)(l4 + 8) > data_end) {
			return 0;
		}
		l4_csum = 1;
	}
	old = swd_pkt32(ip + field);
	*(swd_u16_alias *)(ip + 10) =
	    swd_csum_replace32(swd_pkt16(ip + 10), old, addr);
	if (l4_csum && proto == IPPROTO_TCP) {
		*(swd_u16_alias *)(l4 + 16) =
		    swd_csum_replace32(swd_pkt16(l4 + 16), old, addr);
	} else if (l4_csum) {
		csum = swd_pkt16(l4 + 6);
		if (csum != 0) { /* a zero UDP checksum means none: leave it */
			csum = swd_csum_replace32(csum, old, addr);
			*(swd_u16_alias *)(l4 + 6) = csum ? csum : 0xffff;
		}
	}
	*(swd_u32_alias *)(ip + field) = addr;
	*key_field = addr;
	return 1;
}

/* IPv4 source/destination address (addr in network order). 0 when the
 * packet is not IPv4 (including ARP, whose addresses are not rewritten). */
static __always_inline int swd_rw_ipv4_src(struct xdp_md *ctx,
					   const struct swd_hdrs *w,
					   __be32 addr, struct swd_flow_key *k)
{
	return swd_rw_ipv4(ctx, w, 12, addr, k, &k->nw_src[0]);
}

static __always_inline int swd_rw_ipv4_dst(struct xdp_md *ctx,
					   const struct swd_hdrs *w,
					   __be32 addr, struct swd_flow_key *k)
{
	return swd_rw_ipv4(ctx, w, 16, addr, k, &k->nw_dst[0]);
}

/* An IPv6 address at offset field of the header, as four words: the TCP,
 * UDP or ICMPv6 checksum (all three cover the pseudo-header) when the packet
 * has that header; a zero UDP checksum means none and stays zero. */
static __always_inline int
swd_rw_ipv6(struct xdp_md *ctx, const struct swd_hdrs *w, __u32 field,
	    const __be32 *addr, struct swd_flow_key *k, __be32 *key_field)
{
	__u8 *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 proto = k->nw_proto;
	__u32 l3_off, l4_off = w->l4;
	__u8 *ip, *csum_p = 0;
	__u16 csum = 0;

	if (!w->ipv6)
		return 0;
	l3_off = w->l3;
	if (l3_off > SWD_PARSE_MAX_L3)
		return 0;
	ip = data + l3_off;
	if ((void *)(ip + 40) > data_end)
		return 0;
	if (l4_off != 0 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
			    proto == IPPROTO_ICMPV6)) {
		__u8 *l4;

		if (l4_off > SWD_PARSE_MAX_L4)
			return 0;
		l4 = data + l4_off;
		if ((void *)(l4 + 20) <= data_end && proto == IPPROTO_TCP)
			csum_p = l4 + 16;
		else if ((void *)(l4 + 8) <= data_end && proto == IPPROTO_UDP)
			csum_p = l4 + 6;
		else if ((void *)(l4 + 4) <= data_end &&
			 proto == IPPROTO_ICMPV6)
			csum_p = l4 + 2;
		else
			return 0;
		csum = swd_pkt16(csum_p);
		if (proto == IPPROTO_UDP && csum == 0)
			csum_p = 0; /* none: stays zero */
	}
	for (int i = 0; i < 4; i++) {
		__u32 old = swd_pkt32(ip + field + 4 * i);

		if (csum_p)
			csum = swd_csum_replace32(csum, old, addr[i]);
		*(swd_u32_alias *)(ip + field + 4 * i) = addr[i];
		key_field[i] = addr[i];
	}
	if (csum_p)
		*(swd_u16_alias *)csum_p =
		    proto == IPPROTO_UDP && csum == 0 ? 0xffff : csum;
	return 1;
}

/* IPv6 source/destination address (four words in network order). 0 when the
 * packet is not IPv6. */
static __always_inline int swd_rw_ipv6_src(struct xdp_md *ctx,
					   const struct swd_hdrs *w,
					   const __be32 *addr,
					   struct swd_flow_key *k)
{
	return swd_rw_ipv6(ctx, w, 8, addr, k, k->nw_src);
}

static __always_inline int swd_rw_ipv6_dst(struct xdp_md *ctx,
					   const struct swd_hdrs *w,
					   const __be32 *addr,
					   struct swd_flow_key *k)
{
	return swd_rw_ipv6(ctx, w, 24, addr, k, k->nw_dst);
}

/* A TCP/UDP port at offset field of the L4 header. */
static __always_inline int swd_rw_port(struct xdp_md *ctx,
				       const struct swd_hdrs *w, __u32 field,
				       __be16 port, struct swd_flow_key *k,
				       __be16 *key_field)
{
	__u8 *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 proto = k->nw_proto;
	__u32 l4_off = w->l4;
	__u16 old, csum;
	__u8 *l4;

	if (l4_off == 0 || l4_off > SWD_PARSE_MAX_L4)
		return 0;
	l4 = data + l4_off;
	if (proto == IPPROTO_TCP) {
		if ((void *)(l4 + 20) > data_end)
			return 0;
		old = swd_pkt16(l4 + field);
		*(swd_u16_alias *)(l4 + 16) =
		    swd_csum_replace16(swd_pkt16(l4 + 16), old, port);
	} else if (proto == IPPROTO_UDP) {
		if ((void *)(l4 + 8) > data_end)
			return 0;
		old = swd_pkt16(l4 + field);
		csum = swd_pkt16(l4 + 6);
		/* A zero UDP checksum means none and stays zero, over IPv4
		 * and over IPv6 (tunnels, RFC 6935), as in datapath/. */
		if (csum != 0) {
			csum = swd_csum_replace16(csum, old, port);
			*(swd_u16_alias *)(l4 + 6) = csum ? csum : 0xffff;
		}
	} else {
		return 0;
	}
	*(swd_u16_alias *)(l4 + field) = port;
	*key_field = port;
	return 1;
}

/* TCP/UDP source/destination port (port in network order), over IPv4 or
 * IPv6. 0 when the packet has no complete TCP or UDP header (other
 * protocols, later fragments, truncated). */
static __always_inline int swd_rw_tp_src(struct xdp_md *ctx,
					 const struct swd_hdrs *w, __be16 port,
					 struct swd_flow_key *k)
{
	return swd_rw_port(ctx, w, 0, port, k, &k->tp_src);
}

static __always_inline int swd_rw_tp_dst(struct xdp_md *ctx,
					 const struct swd_hdrs *w, __be16 port,
					 struct swd_flow_key *k)
{
	return swd_rw_port(ctx, w, 2, port, k, &k->tp_dst);
}

/* IPv4 TTL or IPv6 hop limit minus one (enum swd_ttl_result). A TTL of 0 or
 * 1 is SWD_TTL_EXPIRED and left unchanged, as Open vSwitch's dec_ttl does. */
static __always_inline int swd_rw_dec_ttl(struct xdp_md *ctx,
					  const struct swd_hdrs *w,
					  struct swd_flow_key *k)
{
	__u8 *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = w->l3;
	__u16 old, new;
	__u8 *ip;
	__u8 ttl;

	if ((!w->ipv4 && !w->ipv6) || l3_off > SWD_PARSE_MAX_L3)
		return SWD_TTL_NOT_IP;
	ip = data + l3_off;
	if (w->ipv4) {
		if ((void *)(ip + 20) > data_end)
			return SWD_TTL_NOT_IP;
		ttl = ip[8];
		if (ttl <= 1)
			return SWD_TTL_EXPIRED;
		/* TTL and protocol: one 16-bit word of the header checksum */
		old = swd_pkt16(ip + 8);
		ip[8] = ttl - 1;
		new = swd_pkt16(ip + 8);
		*(swd_u16_alias *)(ip + 10) =
		    swd_csum_replace16(swd_pkt16(ip + 10), old, new);
	} else {
		if ((void *)(ip + 40) > data_end)
			return SWD_TTL_NOT_IP;
		ttl = ip[7];
		if (ttl <= 1)
			return SWD_TTL_EXPIRED;
		ip[7] = ttl - 1;
	}
	k->nw_ttl = ttl - 1;
	return SWD_TTL_OK;
}

#endif /* SWD_BPF_REWRITE_H */
