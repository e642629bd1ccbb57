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
	__u8 ct_state;	  /* SWD_CT_*: set by the connection tracker, 0 from the
			     parsers */
	__u8 pad[3];	  /* always zero */
};

/* swd_flow_key.ct_state, Open vSwitch's bit values. The tracker (user space:
 * datapath/conntrack.h; XDP: bpf/conntrack.h) sets TRK on every TCP/UDP packet
 * over IPv4 or IPv6 when the table uses connection tracking, then EST (and RPL
 * in the reply direction) when ct(commit) has committed its connection, NEW
 * otherwise. */
#define SWD_CT_NEW 0x01
#define SWD_CT_EST 0x02
#define SWD_CT_RPL 0x08
#define SWD_CT_TRK 0x20

#define SWD_FLOW_KEY_WORDS 8

/* ---- extraction -------------------------------------------------------- */

/* Both parsers (bpf/parse.h and datapath/extract.cc) follow at most this many
 * IPv6 extension headers; a frame with more is SWD_MALFORMED_IPV6_EXT. */
#define SWD_IPV6_MAX_EXT_HEADERS 8

/* Why a parse stopped early; SWD_MALFORMED_NONE for a frame whose headers are
 * all complete. The key then holds the fields of the headers before the bad
 * one (datapath/extract.h has the rules). */
enum swd_malformed {
	SWD_MALFORMED_NONE = 0,
	SWD_MALFORMED_RUNT,	   /* shorter than an Ethernet header */
	SWD_MALFORMED_VLAN,	   /* a VLAN tag cut short */
	SWD_MALFORMED_IPV4_HEADER, /* truncated, version != 4, IHL < 5 */
	SWD_MALFORMED_IPV4_LENGTH, /* total length < IHL, or > the frame */
	SWD_MALFORMED_IPV6_HEADER, /* truncated, or version != 6 */
	SWD_MALFORMED_IPV6_LENGTH, /* payload length more than the frame */
	SWD_MALFORMED_IPV6_EXT,	   /* extension header cut short, too many */
	SWD_MALFORMED_ARP,	   /* truncated, or not Ethernet/IPv4 ARP */
	SWD_MALFORMED_L4,	   /* TCP/UDP/ICMP cut short, TCP offset < 5 */
	SWD_MALFORMED_COUNT,
};

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
	SWD_ACT_CT_COMMIT,    /* commit the packet's connection (ct(commit)) */
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

/* ---- the XDP dispatcher's maps (bpf/dispatcher.bpf.c) -------------------
 *
 * Table 0 of the compiled pipeline, as the dispatcher searches it: every
 * rule of table 0 is in the rule map, whatever its placement, so that XDP
 * finds the same winner as user space. A winner placed in XDP runs its
 * actions there; a winner placed in user space (or one XDP cannot run) sends
 * the packet to the queue's AF_XDP socket, where user space classifies it
 * again from table 0. No winner is OpenFlow's table miss: drop.
 *
 * The tuple spaces: one record per rule (struct swd_xdp_rule: the rule's mask
 * id, masked key and what the search needs of it) in an array, found through
 * one open-addressed hash index shared by every mask (struct
 * swd_xdp_bucket): a key's hash (swd_rule_hash, of its mask id and masked
 * key, computed the same way by both sides) picks its home bucket, and its
 * slot is in the first SWD_XDP_PROBE_BUCKETS buckets from there. So each
 * mask's entries form their own key space, and a lookup is a few array
 * reads without the kernel's hash-map code. The mask list is an array of
 * SWD_XDP_MAX_MASKS entries in the order user space searches them (highest
 * priority first); SWD_XDP_MASK_LISTS lists exist, each with its settings in
 * the config (struct swd_xdp_list_config), and the config names the active
 * one, so a new list is written while the others serve and takes effect with
 * one 4-byte store. User space rewrites a list that was active only once
 * every program run that could still read it has ended (a grace period: with
 * eight lists, one wait per seven changes at most). A mask with one rule
 * carries that rule in its list entry (single): the search compares the
 * packet with it there, without the hash and the index (a table of few
 * rules, each with a mask of its own, is the common firewall); its entry in
 * the index stays, for the next list.
 */
#define SWD_XDP_MAX_MASKS 1024
#define SWD_XDP_MASK_LISTS 8 /* a power of two */
#define SWD_XDP_MAX_QUEUES 64
#define SWD_XDP_MAX_ACTION_LISTS 16384

/* The index's hash of a masked key of mask mask_id: its low bits pick the
 * home bucket, its high 32 bits are the slot's tag. A sum of products with
 * odd constants (the nine multiplies are independent, so they overlap), then
 * murmur3's finaliser to mix the high bits into the low ones. */
static inline __u64 swd_rule_hash(__u32 mask_id, const __u64 *masked)
{
	__u64 h = (mask_id + 1ULL) * 0x9e3779b97f4a7c15ULL +
		  masked[0] * 0xbf58476d1ce4e5b9ULL +
		  masked[1] * 0x94d049bb133111ebULL +
		  masked[2] * 0xff51afd7ed558ccdULL +
		  masked[3] * 0xc4ceb9fe1a85ec53ULL +
		  masked[4] * 0x243f6a8885a308d3ULL +
		  masked[5] * 0x13198a2e03707345ULL +
		  masked[6] * 0xa4093822299f31d1ULL +
		  masked[7] * 0x082efa98ec4e6c89ULL;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/* swd_xdp_rule.run */
enum swd_xdp_run {
	SWD_XDP_RUN_USER = 0, /* to the queue's AF_XDP socket */
	SWD_XDP_RUN_XDP = 1,  /* run action list action_id in XDP */
};

/* An XDP-run rule whose action list is just a drop or just local. */
enum swd_xdp_only {
	SWD_XDP_ONLY_NONE = 0,
	SWD_XDP_ONLY_DROP = 1,	/* no action */
	SWD_XDP_ONLY_LOCAL = 2, /* one action: local */
};

/* What the search needs of a rule. */
struct swd_xdp_rule_head {
	__u32 rule_id;
	__u16 priority;
	__u8 run;	 /* enum swd_xdp_run */
	__u8 only;	 /* enum swd_xdp_only: the dispatcher runs such a list
			    without reading it (the list is written all the same) */
	__u32 slot;	 /* index of its per-CPU counters (XDP-run rules) */
	__u32 action_id; /* index in the action-list map (XDP-run rules) */
};

struct swd_xdp_mask {
	struct swd_flow_key mask;
	__u32 id;	    /* the mask index in rule keys */
	__u16 max_priority; /* highest priority of its rules (early exit) */
	__u16 single; /* 1: the mask's one rule is single_head/single_key */
	struct swd_xdp_rule_head single_head;
	struct swd_flow_key single_key; /* the rule's masked key */
};

/* A record of the rule array. User space writes a record before a slot
 * names it and never rewrites one that a slot may still name (a changed rule
 * gets a new record, swapped in with one slot store; a record left behind is
 * reused only once every program run that could have read it has ended). */
struct swd_xdp_rule {
	struct swd_xdp_rule_head h;
	struct swd_flow_key masked; /* compared whole with the packet's */
	__u32 mask_id;
	__u32 pad;
};

/* A bucket of the rule index: one cache line of slots. A slot is 0 (free) or
 * tag << 32 | (record + 1), the tag being the high half of the key's
 * swd_rule_hash; user space stores each slot with one 8-byte store (the
 * index is mmapped). A key lives in one of the SWD_XDP_PROBE_BUCKETS buckets
 * from its home; the config's probe says how many of them a lookup reads
 * (the farthest any key of the table lives, plus one). */
#define SWD_XDP_BUCKET_SLOTS 8
#define SWD_XDP_PROBE_BUCKETS 8

struct swd_xdp_bucket {
	__u64 slot[SWD_XDP_BUCKET_SLOTS];
};

/* The settings of one mask list, written with it. */
struct swd_xdp_list_config {
	__u32 first_mask; /* index of the list's entry 0 in swd_masks */
	__u32 n_masks;	  /* entries of the list */
	__u32 search; /* 0: no rule search (every queue in "xdp" mode acts as
			 "user") */
	__u32 egress; /* 1: a rule of table 0 with in_port=LOCAL is placed in
			 XDP: the TC egress program searches (else it passes
			 every frame at once) */
	__u32 tracks; /* 1: the table uses connection tracking and all of
			 table 0 runs in XDP: the dispatcher tracks
			 (bpf/conntrack.h) */
	__u32 probe;  /* buckets a lookup reads (see swd_xdp_bucket) */
	__u32 index_mask; /* buckets of the rule index - 1 */
	__u32 pad;
	__u64 ct_idle_timeout_ns; /* a connection idle longer is forgotten */
};

/* The config map's one value, written by user space through mmap: a program
 * reads active once and then only its list's settings, which stay unchanged
 * while it runs. */
struct swd_xdp_config {
	__u32 active; /* the mask list in use: 0..SWD_XDP_MASK_LISTS - 1 */
	__u32 pad;
	struct swd_xdp_list_config list[SWD_XDP_MASK_LISTS];
};

/* The connection tracker's map in XDP (bpf/conntrack.h): an LRU hash keyed
 * by struct swd_lb_tuple (the committed direction), sized by the loader. */
struct swd_ct_entry {
	__u64 last_used; /* last packet, CLOCK_MONOTONIC ns: bpf/clock.h */
};

/* Per rx queue: what the dispatcher does with its frames. */
enum swd_queue_mode {
	SWD_QUEUE_XDP = 0,    /* search the rules (default) */
	SWD_QUEUE_USER = 1,   /* straight to the AF_XDP socket */
	SWD_QUEUE_KERNEL = 2, /* XDP_PASS */
};

/* No time of the last hit: reading a clock per packet costs more than the
 * rest of a drop rule here; user space notes when the count last moved. */
struct swd_rule_stats {
	__u64 packets;
	__u64 bytes;
};

/* Dispatcher events, per CPU (every drop has a named counter). */
enum swd_xdp_counter {
	SWD_XC_RX = 0,	     /* every frame: SWD_XC_OUTCOMES summed */
	SWD_XC_TO_USER,	     /* redirected to an AF_XDP socket */
	SWD_XC_NO_SOCKET,    /* to user, but no socket on the queue: XDP_PASS */
	SWD_XC_PASS,	     /* local: XDP_PASS */
	SWD_XC_TX,	     /* XDP_TX */
	SWD_XC_REDIRECT,     /* XDP_REDIRECT to another port */
	SWD_XC_DROP_RULE,    /* dropped by a rule */
	SWD_XC_DROP_MISS,    /* no rule matched (table miss) */
	SWD_XC_DROP_TTL,     /* dec_ttl reached zero */
	SWD_XC_DROP_NO_PORT, /* output to a port XDP cannot reach */
	SWD_XC_MALFORMED,    /* matched as far as its headers were valid */
	SWD_XC_REWRITE_SKIPPED,
	SWD_XC_QUEUE_KERNEL,	     /* queue in kernel mode */
	SWD_XC_QUEUE_USER,	     /* queue in user mode */
	SWD_XC_DROP_LB_NO_SESSION,   /* lb(): no session, not to the vip */
	SWD_XC_DROP_LB_NO_BACKEND,   /* lb(): no backend takes new sessions */
	SWD_XC_DROP_LB_NOT_BALANCED, /* lb(): not TCP/UDP of the pool's family
				      */
	SWD_XC_LB_SESSION_FULL, /* lb(): a session entry could not be written */
	SWD_XC_CT_CREATED,	/* ct(commit): a new connection entry */
	SWD_XC_CT_RENEWED, /* ct(commit): an idle entry of the tuple reused */
	SWD_XC_COUNT,
};

/* The outcomes: every frame the dispatcher sees ends in exactly one of them,
 * so SWD_XC_RX is their sum, made by the reader, not one more count per
 * frame. QUEUE_USER, MALFORMED, REWRITE_SKIPPED, LB_SESSION_FULL and CT_*
 * are counted beside an outcome. */
#define SWD_XC_OUTCOMES                                                        \
	((1u << SWD_XC_TO_USER) | (1u << SWD_XC_NO_SOCKET) |                   \
	 (1u << SWD_XC_PASS) | (1u << SWD_XC_TX) | (1u << SWD_XC_REDIRECT) |   \
	 (1u << SWD_XC_DROP_RULE) | (1u << SWD_XC_DROP_MISS) |                 \
	 (1u << SWD_XC_DROP_TTL) | (1u << SWD_XC_DROP_NO_PORT) |               \
	 (1u << SWD_XC_QUEUE_KERNEL) | (1u << SWD_XC_DROP_LB_NO_SESSION) |     \
	 (1u << SWD_XC_DROP_LB_NO_BACKEND) |                                   \
	 (1u << SWD_XC_DROP_LB_NOT_BALANCED))

/* What the dispatcher decided for the last frame, for tests run with
 * BPF_PROG_TEST_RUN (written only when the program is loaded with tracing). */
enum swd_xdp_verdict {
	SWD_V_DROP = 1,
	SWD_V_PASS,
	SWD_V_TX,
	SWD_V_REDIRECT, /* port = output port */
	SWD_V_TO_USER,
};

struct swd_xdp_trace {
	__u32 verdict; /* enum swd_xdp_verdict */
	__u32 port;
	__u32 rule_id; /* 0 when no rule won */
	__u32 malformed;
};

/* ---- the TC egress program (bpf/egress.bpf.c) ----------------------------
 *
 * Frames that this host's stack sends out of a swd port are searched in the
 * same maps with in_port = SWD_OFPORT_LOCAL, over the masks whose in_port is
 * exact only: a rule applies at egress only when it names in_port=LOCAL. A
 * miss, or a winner placed in user space, lets the frame leave unchanged.
 */
#define SWD_OFPORT_LOCAL 0xfffe

/* skb->tc_index of a frame that the egress program of one port redirects to
 * another: the egress program there lets it leave without a second search
 * (and clears the mark). tc_index belonged to the dsmark qdisc and tcindex
 * classifier, which Linux no longer has (6.3). */
#define SWD_TC_REDIRECT_MARK 0x5357

/* Egress events, per CPU and per port. */
enum swd_tc_counter {
	SWD_TC_IDLE = 0,     /* no egress rule in XDP: passed, not searched */
	SWD_TC_RX,	     /* searched */
	SWD_TC_PASS_MISS,    /* no in_port=LOCAL rule matched: passed */
	SWD_TC_PASS_USER,    /* the winner is placed in user space: passed */
	SWD_TC_PASS_RULE,    /* output to this port, local or in_port */
	SWD_TC_REDIRECT,     /* output to another port: bpf_redirect */
	SWD_TC_DROP_RULE,    /* dropped by a rule */
	SWD_TC_DROP_TTL,     /* dec_ttl reached zero */
	SWD_TC_DROP_NO_PORT, /* output to a port swd does not have */
	SWD_TC_DROP_REWRITE, /* an skb helper failed during a rewrite */
	SWD_TC_MALFORMED,    /* matched as far as its headers were valid */
	SWD_TC_REWRITE_SKIPPED,
	SWD_TC_PULLED,		/* headers beyond the linear part: pulled in */
	SWD_TC_PASS_REDIRECTED, /* redirected here by swd's egress program of
				   another port: leaves unsearched */
	SWD_TC_CT_CREATED,	/* ct(commit): a new connection entry */
	SWD_TC_CT_RENEWED, /* ct(commit): an idle entry of the tuple reused */
	SWD_TC_COUNT,
};

/* ---- load balancer (datapath/lb/) ----------------------------------------
 *
 * The pieces that the XDP program and user space share so that both choose
 * the same backend for the same 5-tuple: the flow hash, the Maglev lookup
 * table (datapath/lb/maglev.h builds it; backend = entry[hash % size]) and the
 * session table's key and value (datapath/lb/session_table.h; the BPF side
 * will hold the same layout in a hash or LRU hash map).
 */

/* A 5-tuple as the packet carries it, network byte order. IPv4 addresses are
 * in [0] with [1..3] zero; ipv6 tells the families apart (an IPv4 address and
 * an IPv6 address with the same first word are different keys). Used as the
 * session table's key: pad must be zero, the table compares every byte. */
struct swd_lb_tuple {
	__be32 src_ip[4];
	__be32 dst_ip[4];
	__be16 src_port;
	__be16 dst_port;
	__u8 proto;
	__u8 ipv6; /* 0 or 1 */
	__u8 pad[2];
};

/* One round of the 64-bit MurmurHash3 body and its finalizer (Austin
 * Appleby's public-domain algorithm, written out here for both compilers). */
static inline __u64 swd_lb_hash_round(__u64 h, __u64 w)
{
	w *= 0x87c37b91114253d5ULL;
	w = (w << 31) | (w >> 33);
	w *= 0x4cf5ad432745937fULL;
	h ^= w;
	h = (h << 27) | (h >> 37);
	return h * 5 + 0x52dce729;
}

static inline __u64 swd_lb_hash_fmix(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* The flow hash of the load balancer: the session table's bucket
 * (hash & (buckets - 1)) and the Maglev slot (hash % size). No helpers, a
 * loop of constant bound (unrolled by clang), the same result in BPF and
 * C++ on the same machine: the words are the packet's bytes read in host
 * order, so a big-endian host gets other (equally good) values. */
static inline __u32 swd_lb_hash(const struct swd_lb_tuple *t)
{
	__u64 h = 0x5357646c62686173ULL; /* seed: any constant */

	for (int i = 0; i < 4; i++)
		h = swd_lb_hash_round(h, ((__u64)t->src_ip[i] << 32) |
					     t->dst_ip[i]);
	h = swd_lb_hash_round(h, ((__u64)t->src_port << 48) |
				     ((__u64)t->dst_port << 32) |
				     ((__u64)t->proto << 8) | t->ipv6);
	return (__u32)swd_lb_hash_fmix(h ^ sizeof(*t));
}

/* The Maglev lookup table of one pool: entry[hash % size] is the index of
 * the backend (in the pool's backend list) that a new session of that hash
 * goes to, SWD_LB_NO_BACKEND when no backend takes new sessions. size is a
 * prime above 100 x the pool's backends (so each backend's share is within
 * about 1 % of its weight's share), at most SWD_LB_MAGLEV_MAX_SIZE. The
 * table is an array map's value verbatim (128 KiB at the largest size). */
#define SWD_LB_MAGLEV_SIZE 65537	  /* default size: prime */
#define SWD_LB_MAGLEV_MAX_SIZE 65537	  /* largest size: the entry array */
#define SWD_LB_MAGLEV_MIN_PER_BACKEND 100 /* size > this x backends */
/* per pool: (SWD_LB_MAGLEV_MAX_SIZE - 1) / SWD_LB_MAGLEV_MIN_PER_BACKEND */
#define SWD_LB_MAX_BACKENDS 655
#define SWD_LB_NO_BACKEND 0xffff

typedef __u16 swd_lb_maglev_entry; /* a backend index; SWD_LB_NO_BACKEND */

struct swd_lb_maglev {
	__u32 size; /* prime, <= SWD_LB_MAGLEV_MAX_SIZE; 0: no table */
	__u32 pad;
	swd_lb_maglev_entry entry[SWD_LB_MAGLEV_MAX_SIZE];
};

/* Which way a session entry rewrites. A new session has two entries: the
 * client's tuple (client -> VIP) rewrites the destination to the backend,
 * the backend's tuple (backend -> client) rewrites the source back to the
 * VIP. */
enum swd_lb_dir {
	SWD_LB_TO_BACKEND = 1, /* destination := addr/port, MACs := eth_* */
	SWD_LB_TO_CLIENT = 2, /* source := addr/port (the VIP), MACs := eth_* */
};

/* A session table entry's rewrite data; fixed once inserted. */
struct swd_lb_session {
	__be32 addr[4]; /* backend address, or the VIP (to client) */
	__be16 port;	/* backend port, or the VIP port (to client) */
	__u16 backend;	/* the backend's index in its pool */
	__u16 pool;	/* the pool's id */
	__u8 dir;	/* enum swd_lb_dir */
	__u8 ipv6;
	__u8 eth_src[6]; /* new Ethernet source */
	__u8 eth_dst[6]; /* new Ethernet destination (backend or client hop) */
	__u32 pad;
};

/* A session map's value: the rewrite and the time of the last packet
 * (CLOCK_MONOTONIC ns, a tick's resolution in BPF: bpf/clock.h), which
 * lookups refresh with a plain store and the ager compares with the idle
 * timeout. */
struct swd_lb_session_entry {
	struct swd_lb_session s;
	__u64 last_used;
};

/* ---- load balancer in XDP (bpf/lb.h; written by netdev-afxdp/lb_maps.cc) --
 *
 * Pools with an id below SWD_LB_XDP_MAX_POOLS can run in XDP. A pool's Maglev
 * table and backend list are double-buffered: the loader writes the half
 * that is not active, then switches pool.active with one store, so a packet
 * never meets a table whose backend indexes belong to another list. Slot of
 * a pool's half h: pool id * 2 + h (Maglev map); backends at
 * (pool id * 2 + h) * SWD_LB_MAX_BACKENDS + index. */
#define SWD_LB_XDP_MAX_POOLS 16

struct swd_lb_pool_info {
	__be32 vip[4];
	__be16 vip_port;
	__u8 proto;
	__u8 ipv6;
	__u32 present; /* 0: no pool with this id (lb() then drops) */
	__u32 active;  /* 0 or 1: the half in use */
	__u32 pad;
	__u64 idle_timeout_ns; /* a session idle this long is a miss */
};

struct swd_lb_backend {
	__be32 addr[4];
	__be16 port;
	__u8 mac[6];
};

#endif /* SWD_ABI_H */
