/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * parse.h - flow-key extraction in XDP: the twin of datapath/extract.cc.
 *
 * swd_parse() fills a struct swd_flow_key and a struct swd_hdrs from the frame
 * of an XDP context by the rules of swd::dp::extract_key (datapath/extract.h):
 * for every frame both give the same key bytes, the same header offsets and
 * the same enum swd_malformed code. tests/unit/bpf_parse_test.cc checks that
 * on hand-built frames, every truncation of them, random frames and the
 * real-world captures.
 *
 * How it stays fast and verifiable:
 *  - Direct packet access only, no helper calls. Each length rule of
 *    extract_key is applied as it is there, to scalar offsets; each read is
 *    also preceded by a check of the pointer against data_end that the
 *    verifier can follow. The rules imply those checks (an IP payload ends
 *    inside the frame), so the pointer checks never decide a result.
 *  - Header lengths read from the frame are bounded by construction (IHL is
 *    4 bits, an extension header length 8 bits), so the variable part of
 *    every pointer stays below SWD_PARSE_MAX_L4, far inside the verifier's
 *    64 KiB packet range, for frames of any length.
 *  - Packet words are loaded whole, unaligned (XDP runs where unaligned
 *    loads are cheap; the verifier checks packet alignment only when strict),
 *    in network order, and stored into the key where they are 2- or 4-byte
 *    aligned, so a stack key passes the verifier's stack alignment rule.
 *
 * One core, swd_parse_frame(), works on (data, data_end, len) for both
 * program types: swd_parse() for XDP (data_end ends the frame) and
 * swd_parse_skb() for TC (the frame may go on in the skb's pages; see
 * there). The XDP wrapper compiles to the same code as a parse written for
 * XDP alone. Every function is static __always_inline; nothing here
 * allocates or uses maps.
 */
#ifndef SWD_BPF_PARSE_H
#define SWD_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"

/* Where the headers are, for the rewrites (rewrite.h); the same meaning as
 * swd::dp::header_offsets. Offsets from the start of the frame; 0: absent. */
struct swd_hdrs {
	__u32 l3;     /* IPv4/IPv6/ARP header */
	__u32 l4;     /* TCP/UDP/ICMP header (complete when set) */
	__u32 l3_end; /* end of the IP payload (IP total length) */
	__u8 ipv4;
	__u8 ipv6;
};

/* The largest offsets swd_parse gives: L3 after one VLAN tag; L4 after an
 * IPv6 header and SWD_IPV6_MAX_EXT_HEADERS headers of the longest kind
 * (hop-by-hop, routing, destination options: 256 units of 8 bytes). */
#define SWD_PARSE_ETH_HLEN 14
#define SWD_PARSE_MAX_L3 (SWD_PARSE_ETH_HLEN + 4)
#define SWD_PARSE_MAX_L4                                                       \
	(SWD_PARSE_MAX_L3 + 40 + SWD_IPV6_MAX_EXT_HEADERS * 2048)

/* Words of the frame as they are on the wire. may_alias: packet bytes and
 * key fields are read and written through several types. */
typedef __u16 __attribute__((may_alias)) swd_u16_alias;
typedef __u32 __attribute__((may_alias)) swd_u32_alias;

static __always_inline __u16 swd_pkt16(const void *p)
{
	return *(const swd_u16_alias *)p;
}

static __always_inline __u32 swd_pkt32(const void *p)
{
	return *(const swd_u32_alias *)p;
}

/* The L4 header at h (frame offset off); avail bytes are left before the end
 * of the IP payload. */
static __always_inline int swd_parse_l4(const __u8 *h, const void *data_end,
					__u32 off, __u32 avail, __u8 proto,
					int ipv6, struct swd_flow_key *k,
					struct swd_hdrs *w)
{
	__u32 doff;

	switch (proto) {
	case IPPROTO_TCP:
		if (avail < 20 || (const void *)(h + 20) > data_end)
			return SWD_MALFORMED_L4;
		doff = (h[12] >> 4) * 4;
		if (doff < 20 || doff > avail)
			return SWD_MALFORMED_L4;
		/* tp_src and tp_dst: one aligned word of the key */
		*(swd_u32_alias *)&k->tp_src = swd_pkt32(h);
		k->tcp_flags =
		    swd_pkt16(h + 12) & bpf_htons(SWD_TCP_FLAGS_MASK);
		break;
	case IPPROTO_UDP:
		if (avail < 8 || (const void *)(h + 8) > data_end)
			return SWD_MALFORMED_L4;
		*(swd_u32_alias *)&k->tp_src = swd_pkt32(h);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* ICMP over IPv6 or ICMPv6 over IPv4: not parsed */
		if ((proto == IPPROTO_ICMPV6) != ipv6)
			return SWD_MALFORMED_NONE;
		if (avail < 4 || (const void *)(h + 4) > data_end)
			return SWD_MALFORMED_L4;
		k->tp_src = bpf_htons(h[0]);
		k->tp_dst = bpf_htons(h[1]);
		break;
	default:
		return SWD_MALFORMED_NONE;
	}
	w->l4 = off;
	return SWD_MALFORMED_NONE;
}

/* IPv4 at ip (frame offset off) in a frame of len bytes. */
static __always_inline int swd_parse_ipv4(const __u8 *ip, const void *data_end,
					  __u32 off, __u32 len,
					  struct swd_flow_key *k,
					  struct swd_hdrs *w)
{
	__u32 ihl, tot;
	__u16 frag_off;
	__u8 frag = 0;

	if ((const void *)(ip + 20) > data_end)
		return SWD_MALFORMED_IPV4_HEADER;
	ihl = (ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20)
		return SWD_MALFORMED_IPV4_HEADER;
	tot = bpf_ntohs(swd_pkt16(ip + 2));
	if (tot < ihl || tot > len - off)
		return SWD_MALFORMED_IPV4_LENGTH;
	k->nw_proto = ip[9];
	k->nw_tos = ip[1];
	k->nw_ttl = ip[8];
	k->nw_src[0] = swd_pkt32(ip + 12);
	k->nw_dst[0] = swd_pkt32(ip + 16);
	frag_off = swd_pkt16(ip + 6);
	if (frag_off & bpf_htons(0x3fff)) { /* MF or a fragment offset */
		frag = SWD_FRAG_ANY;
		if (frag_off & bpf_htons(0x1fff))
			frag |= SWD_FRAG_LATER;
		k->nw_frag = frag;
	}
	w->l3 = off;
	w->l3_end = off + tot;
	w->ipv4 = 1;
	if (frag & SWD_FRAG_LATER)
		return SWD_MALFORMED_NONE;
	return swd_parse_l4(ip + ihl, data_end, off + ihl, tot - ihl, ip[9], 0,
			    k, w);
}

static __always_inline int swd_ipv6_is_ext(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
	       next == IPPROTO_FRAGMENT || next == IPPROTO_AH ||
	       next == IPPROTO_DSTOPTS;
}

/* IPv6 at ip (frame offset off) in a frame of len bytes, with up to
 * SWD_IPV6_MAX_EXT_HEADERS extension headers before the upper layer. */
static __always_inline int swd_parse_ipv6(const __u8 *ip, const void *data_end,
					  __u32 off, __u32 len,
					  struct swd_flow_key *k,
					  struct swd_hdrs *w)
{
	const __u8 *h = ip + 40;
	__u32 payload, end, cur, hlen;
	__u8 next, frag = 0;

	if ((const void *)(ip + 40) > data_end)
		return SWD_MALFORMED_IPV6_HEADER;
	if ((ip[0] >> 4) != 6)
		return SWD_MALFORMED_IPV6_HEADER;
	payload = bpf_ntohs(swd_pkt16(ip + 4));
	if (payload > len - off - 40)
		return SWD_MALFORMED_IPV6_LENGTH;
	k->nw_tos = (ip[0] & 0x0f) << 4 | ip[1] >> 4;
	k->nw_ttl = ip[7];
	for (int i = 0; i < 4; i++) {
		k->nw_src[i] = swd_pkt32(ip + 8 + 4 * i);
		k->nw_dst[i] = swd_pkt32(ip + 24 + 4 * i);
	}
	end = off + 40 + payload;
	w->l3 = off;
	w->l3_end = end;
	w->ipv6 = 1;

	next = ip[6];
	cur = off + 40;
#pragma unroll
	for (int i = 0; i < SWD_IPV6_MAX_EXT_HEADERS; i++) {
		if (!swd_ipv6_is_ext(next))
			goto upper;
		/* every extension header is at least 8 bytes */
		if (end - cur < 8 || (const void *)(h + 8) > data_end)
			return SWD_MALFORMED_IPV6_EXT;
		if (next == IPPROTO_FRAGMENT) { /* fixed 8 bytes */
			hlen = 8;
			frag = SWD_FRAG_ANY;
			if (swd_pkt16(h + 2) & bpf_htons(0xfff8))
				frag |= SWD_FRAG_LATER;
			k->nw_frag = frag;
		} else if (next == IPPROTO_AH) { /* 4-byte units, minus 2 */
			hlen = (h[1] + 2) * 4;
		} else { /* 8-byte units, minus 1 */
			hlen = (h[1] + 1) * 8;
		}
		if (hlen > end - cur)
			return SWD_MALFORMED_IPV6_EXT;
		next = h[0];
		cur += hlen;
		h += hlen;
		if (frag & SWD_FRAG_LATER) { /* no upper-layer header here */
			k->nw_proto = next;
			return SWD_MALFORMED_NONE;
		}
	}
	if (swd_ipv6_is_ext(next))
		return SWD_MALFORMED_IPV6_EXT; /* too many */
upper:
	k->nw_proto = next;
	return swd_parse_l4(h, data_end, cur, end - cur, next, 1, k, w);
}

/* ARP at a (frame offset off): Ethernet/IPv4 only. */
static __always_inline int swd_parse_arp(const __u8 *a, const void *data_end,
					 __u32 off, struct swd_flow_key *k,
					 struct swd_hdrs *w)
{
	if ((const void *)(a + 28) > data_end)
		return SWD_MALFORMED_ARP;
	if (swd_pkt16(a) != bpf_htons(1) ||
	    swd_pkt16(a + 2) != bpf_htons(ETH_P_IP) || a[4] != 6 || a[5] != 4)
		return SWD_MALFORMED_ARP;
	if (a[6] == 0) /* opcodes above 255 do not fit nw_proto */
		k->nw_proto = a[7];
	k->nw_src[0] = swd_pkt32(a + 14);
	k->nw_dst[0] = swd_pkt32(a + 24);
	w->l3 = off;
	return SWD_MALFORMED_NONE;
}

/*
 * Fills *k as swd::dp::extract_key does (zeroed first, in_port set) and *w as
 * its header_offsets, for a frame of len bytes whose first bytes, up to
 * data_end, are at data; returns the enum swd_malformed code. The length
 * rules use len, the reads check data_end: when data_end ends the frame (XDP)
 * the result is extract_key's for every frame; when the frame goes on past
 * data_end (an skb's paged part), a header that crosses data_end ends the
 * parse as malformed (swd_parse_skb then pulls it in and parses again).
 * outer_tci is 0, or a VLAN tag that the frame carries outside data (an skb's
 * accelerated tag) with SWD_VLAN_PRESENT set: the frame is parsed as the wire
 * has it, with that tag after the addresses; header offsets stay offsets in
 * data. k and w may be on the stack or in a map value; k must be 4-byte
 * aligned (its type is).
 */
static __always_inline int swd_parse_frame(const void *data,
					   const void *data_end, __u32 len,
					   __u16 in_port, __be16 outer_tci,
					   struct swd_flow_key *k,
					   struct swd_hdrs *w)
{
	const __u8 *p = data;
	__u32 off = SWD_PARSE_ETH_HLEN;
	swd_u32_alias *mac = (swd_u32_alias *)k->eth_dst;
	__u16 type;

	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memset(w, 0, sizeof(*w));
	/* Keep k and w in memory: split into registers (a local key that is
	 * only copied afterwards), they would be carried through every path and
	 * clang duplicates the parse per path, which the verifier then walks.
	 */
	asm volatile("" : : "r"(k), "r"(w) : "memory");
	k->in_port = in_port;
	if ((const void *)(p + SWD_PARSE_ETH_HLEN) > data_end)
		return SWD_MALFORMED_RUNT;
	/* eth_dst and eth_src: 12 bytes at key offset 4 */
	mac[0] = swd_pkt32(p);
	mac[1] = swd_pkt32(p + 4);
	mac[2] = swd_pkt32(p + 8);
	type = swd_pkt16(p + 12);
	if (outer_tci) {
		/* The tag is in the skb, not in data: the frame on the wire
		 * has it after the addresses, and what data has at 12 follows
		 * it (a second tag is not parsed, as below). */
		k->vlan_tci = outer_tci;
	} else if (type == bpf_htons(ETH_P_8021Q) ||
		   type == bpf_htons(ETH_P_8021AD)) {
		/* no tag, no type: the header is incomplete */
		if ((const void *)(p + SWD_PARSE_MAX_L3) > data_end)
			return SWD_MALFORMED_VLAN;
		k->vlan_tci = swd_pkt16(p + 14) | bpf_htons(SWD_VLAN_PRESENT);
		type = swd_pkt16(p + 16);
		off = SWD_PARSE_MAX_L3;
	}
	k->eth_type = type;
	switch (type) {
	case bpf_htons(ETH_P_IP):
		return swd_parse_ipv4(p + off, data_end, off, len, k, w);
	case bpf_htons(ETH_P_IPV6):
		return swd_parse_ipv6(p + off, data_end, off, len, k, w);
	case bpf_htons(ETH_P_ARP):
		return swd_parse_arp(p + off, data_end, off, k, w);
	default:
		return SWD_MALFORMED_NONE;
	}
}

/* The frame of an XDP context: one buffer, data_end ends it. */
static __always_inline int swd_parse(struct xdp_md *ctx, __u16 in_port,
				     struct swd_flow_key *k, struct swd_hdrs *w)
{
	const void *data = (const void *)(long)ctx->data;
	const void *data_end = (const void *)(long)ctx->data_end;

	return swd_parse_frame(data, data_end, (__u32)(data_end - data),
			       in_port, 0, k, w);
}

/*
 * The frame of an skb (TC): skb->len bytes from the Ethernet header (and a
 * VLAN tag in the skb's metadata, when it has one), of which
 * the linear part (up to data_end) holds the headers in the common case. When
 * the parse stops early and the frame goes on past the linear part, the
 * headers may only lie beyond it: bpf_skb_pull_data() makes the whole frame
 * linear and the parse runs again, so the result is extract_key's in every
 * case. *pulled is set when that happened. The pull invalidates packet
 * pointers that the caller held.
 */
static __always_inline int swd_parse_skb(struct __sk_buff *skb, __u16 in_port,
					 struct swd_flow_key *k,
					 struct swd_hdrs *w, int *pulled)
{
	const void *data = (const void *)(long)skb->data;
	const void *data_end = (const void *)(long)skb->data_end;
	__u32 len = skb->len;
	__be16 tci = 0;
	int m;

	/* A VLAN device over a port hands the port its tag in the skb
	 * (transmit VLAN offload; veth and most NICs have it). */
	if (skb->vlan_present)
		tci = bpf_htons((__u16)skb->vlan_tci) |
		      bpf_htons(SWD_VLAN_PRESENT);
	m = swd_parse_frame(data, data_end, len, in_port, tci, k, w);

	*pulled = 0;
	if (m == SWD_MALFORMED_NONE || (__u32)(data_end - data) >= len)
		return m;
	if (bpf_skb_pull_data(skb, len) != 0)
		return m;
	*pulled = 1;
	data = (const void *)(long)skb->data;
	data_end = (const void *)(long)skb->data_end;
	return swd_parse_frame(data, data_end, len, in_port, tci, k, w);
}

/* The frame's TCP or UDP 5-tuple over IPv4 or IPv6 (datapath/lb/balancer.h's
 * tuple_of), for the connection tracker and the load balancer; 0 when it has
 * none (another protocol, or an L4 header that is not all there). */
static __always_inline int swd_tuple_of(const struct swd_flow_key *k,
					const struct swd_hdrs *w,
					struct swd_lb_tuple *t)
{
	if (w->l4 == 0 ||
	    (k->nw_proto != IPPROTO_TCP && k->nw_proto != IPPROTO_UDP) ||
	    (!w->ipv4 && !w->ipv6))
		return 0;
	__builtin_memset(t, 0, sizeof(*t));
	__builtin_memcpy(t->src_ip, k->nw_src, sizeof(t->src_ip));
	__builtin_memcpy(t->dst_ip, k->nw_dst, sizeof(t->dst_ip));
	t->src_port = k->tp_src;
	t->dst_port = k->tp_dst;
	t->proto = k->nw_proto;
	t->ipv6 = w->ipv6 ? 1 : 0;
	return 1;
}

#endif /* SWD_BPF_PARSE_H */
