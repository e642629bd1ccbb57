/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * swd_abi.h - everything that crosses the kernel/user boundary.
 *
 * The compiled rule table is one form executed by two engines: the XDP
 * dispatcher (bpf/) and the user-space datapath (datapath/). Both extract a
 * struct swd_flow_key from a frame, AND it with the mask of each tuple space,
 * look the masked key up, and run the struct swd_action list of the winning
 * rule. This header defines those structures once, in plain C, for both
 * sides. Change both sides in one commit; each side pins the layout with
 * static asserts.
 *
 * Byte order: header fields are kept in network byte order exactly as they
 * appear on the wire (so extraction is a copy); swd's own numbers (in_port,
 * rule ids, priorities, action arguments) are in host order.
 */
#ifndef SWD_ABI_H
#define SWD_ABI_H

#include <linux/types.h>

/* ---- flow key ---------------------------------------------------------- */

/* vlan_tci holds the 802.1Q TCI with this bit forced on when a tag is
 * present (the bit is the CFI/DEI bit on the wire, which swd does not match,
 * as in Open vSwitch). An untagged frame has vlan_tci == 0. */
#define SWD_VLAN_PRESENT 0x1000
#define SWD_VLAN_VID_MASK 0x0fff
#define SWD_VLAN_PCP_SHIFT 13

/* nw_frag bits */
#define SWD_FRAG_ANY 0x01   /* the packet is an IP fragment */
#define SWD_FRAG_LATER 0x02 /* ... and not the first one: no L4 header */

#define SWD_TCP_FLAGS_MASK 0x0fff

/*
 * One flow key, 64 bytes = 8 words of 64 bits. Matching is
 * (key & mask) == value for every word, so rules of the same mask share one
 * hash table (a tuple space). Fields that a packet does not have are zero.
 *
 * ICMP and ICMPv6 type and code live in tp_src and tp_dst (low byte, network
 * order: the first byte is zero), as in Open vSwitch. ARP keeps its opcode in
 * nw_proto (low byte) and SPA/TPA in nw_src[0]/nw_dst[0].
 */
struct swd_flow_key {
	__u16 in_port;	 /* swd port number (OpenFlow port), host order */
	__be16 vlan_tci; /* see SWD_VLAN_PRESENT */
	__u8 eth_dst[6];
	__u8 eth_src[6];
	__be16 eth_type;  /* after any VLAN tag */
	__u8 nw_proto;	  /* IP protocol / IPv6 upper layer; ARP opcode */
	__u8 nw_tos;	  /* DSCP << 2 | ECN (IPv4 ToS, IPv6 traffic class) */
	__u8 nw_ttl;	  /* IPv4 TTL, IPv6 hop limit */
	__u8 nw_frag;	  /* SWD_FRAG_* */
	__be16 tcp_flags; /* low 12 bits of the TCP flags */
	__be16 tp_src;	  /* TCP/UDP source port; ICMP type */
	__be16 tp_dst;	  /* TCP/UDP destination port; ICMP code */
	__be32 nw_src[4]; /* IPv4 (in [0]) or IPv6 source; ARP SPA */
	__be32 nw_dst[4]; /* IPv4 (in [0]) or IPv6 destination; ARP TPA */
	__u8 pad[4];	  /* always zero */
};

#define SWD_FLOW_KEY_WORDS 8

/* ---- compiled rules ---------------------------------------------------- */

/* Value of a tuple-space entry: the rule that owns this masked key. Among
 * rules whose masked keys match a packet, the highest priority wins and ties
 * go to the lowest rule_id (both engines apply the same order). */
struct swd_rule_ref {
	__u32 rule_id;
	__u16 priority;
	__u16 table;
};

enum swd_action_type {
	SWD_ACT_OUTPUT = 1,   /* arg = output port */
	SWD_ACT_IN_PORT,      /* send back out of the receiving port */
	SWD_ACT_LOCAL,	      /* hand to this host's kernel stack */
	SWD_ACT_SET_QUEUE,    /* arg = queue for the following outputs */
	SWD_ACT_SET_ETH_SRC,  /* val.mac */
	SWD_ACT_SET_ETH_DST,  /* val.mac */
	SWD_ACT_SET_IPV4_SRC, /* val.ipv4 */
	SWD_ACT_SET_IPV4_DST, /* val.ipv4 */
	SWD_ACT_SET_TP_SRC,   /* val.port */
	SWD_ACT_SET_TP_DST,   /* val.port */
	SWD_ACT_DEC_TTL,      /* drop (counted) when the TTL reaches zero */
	SWD_ACT_GOTO_TABLE,   /* arg = table; always the last action */
	SWD_ACT_LB,	      /* arg = pool id */
};

struct swd_action {
	__u16 type; /* enum swd_action_type */
	__u16 arg;  /* port, queue, table or pool, by type */
	union {
		__u8 mac[6];
		__be32 ipv4;
		__be16 port;
		__u32 raw[4];
	} val;
};

/* Longest action list a rule may have; the parser enforces it. */
#define SWD_MAX_ACTIONS 16

/* A rule's action list as the XDP program reads it, indexed by rule_id.
 * n == 0 means drop. */
struct swd_action_list {
	__u16 n;
	__u16 flags;
	struct swd_action a[SWD_MAX_ACTIONS];
};

/* OpenFlow limits that swd keeps. */
#define SWD_MAX_TABLE 254
#define SWD_MAX_OFPORT 0xff00
#define SWD_DEFAULT_PRIORITY 32768

#endif /* SWD_ABI_H */
