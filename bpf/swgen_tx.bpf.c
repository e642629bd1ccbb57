// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * swgen_tx: the XDP programs of the traffic generator (tools/swgen).
 *
 * swd_xdp_tx is not attached anywhere: swgen runs it with BPF_PROG_TEST_RUN
 * in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES), where the kernel hands it
 * a copy of the template frame per repetition and turns XDP_TX into a
 * transmission out of the ingress_ifindex device. For frame number i it
 * writes flow (i mod cfg_n_flows) into the fields selected by cfg_vary_*:
 * each varied field becomes base + flow (addresses in host order, ports
 * modulo 2^16), so flow 0 is the template itself; the other address and port
 * fields are written back to their base, in case a receiver rewrote them in
 * a recycled page (MAC addresses are left as they are). The checksums are
 * updated incrementally from the values the frame holds (RFC 1624), never from
 * the template's, because a recycled page-pool frame may still carry the fields
 * an earlier repetition wrote. A UDP checksum of 0 (none) stays 0.
 *
 * swd_xdp_sink and swd_xdp_sink_drop are the receiving side of lab tests and
 * benchmarks: attached to the peer veth (a veth drops XDP_TX frames unless
 * its peer carries an XDP program), they count frames and bytes and each
 * distinct IPv4 UDP/TCP 5-tuple, then pass or drop the frame.
 *
 * swd_xdp_count_drop and swd_xdp_count_pass are the smallest programs that
 * still count (one per-CPU counter, nothing parsed), swd_xdp_count_drop_read
 * the same reading the headers: the baselines of the dispatcher benchmark
 * (tests/bench/dispatcher.sh).
 *
 * Maps (all written only by these programs; swgen and the tests read them):
 *   tx_frames_map    u64: frames swd_xdp_tx returned XDP_TX for
 *   flow_cursor_map  u32: next flow number
 *   pace_map         u64: earliest time of the next frame (cfg_gap_ns)
 *   sink_stats_map   per-CPU struct swgen_sink_stats
 *   sink_flows_map   5-tuple -> frames received with it
 *   count_map        per-CPU u64: frames seen by swd_xdp_count_*
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Set by swgen before load. Bases are host order. */
const volatile __u32 cfg_n_flows = 1;
const volatile __u32 cfg_src_ip = 0;
const volatile __u32 cfg_dst_ip = 0;
const volatile __u16 cfg_src_port = 0;
const volatile __u16 cfg_dst_port = 0;
const volatile __u8 cfg_vary_src_ip = 0;
const volatile __u8 cfg_vary_dst_ip = 0;
const volatile __u8 cfg_vary_src_port = 0;
const volatile __u8 cfg_vary_dst_port = 0;
/* Smooth pacing (swgen --smooth): at most one frame per cfg_gap_ns, 0 = off. */
const volatile __u64 cfg_gap_ns = 0;

/* Plain arrays, no atomics: swd_xdp_tx runs only inside the BPF_PROG_TEST_RUN
 * calls of one single-threaded swgen, so there is one writer at a time, and
 * the flow sequence carries on when that thread moves to another CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tx_frames_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_cursor_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pace_map SEC(".maps");

/* A sender this many gaps late (descheduled, between two test runs) goes on
 * at the rate from now instead of catching up: a catch-up is a burst. */
#define PACE_MAX_LAG_GAPS 16

/* Smooth pacing: 1 when this repetition may send, 0 when it comes before the
 * next frame's time (the kernel then drops it, unsent and uncounted). The
 * frames of one batch leave together, so bursts are at most the frames
 * paced into one batch's run time. */
static __always_inline int pace(void)
{
	__u32 zero = 0;
	__u64 *next = bpf_map_lookup_elem(&pace_map, &zero);
	__u64 now;

	if (!cfg_gap_ns || !next)
		return 1;
	now = bpf_ktime_get_ns();
	if (now < *next)
		return 0;
	if (now - *next > PACE_MAX_LAG_GAPS * cfg_gap_ns)
		*next = now + cfg_gap_ns;
	else
		*next += cfg_gap_ns;
	return 1;
}

/* One's-complement arithmetic on 16-bit words as loaded from the frame.
 * The sum is independent of byte order as long as every word, including the
 * checksum field, is loaded the same way. */
static __always_inline __u32 csum_word_delta(__u16 old, __u16 new)
{
	return (__u16)~old + (__u32) new;
}

static __always_inline __u32 csum_word32_delta(__u32 old, __u32 new)
{
	return csum_word_delta(old >> 16, new >> 16) +
	       csum_word_delta(old & 0xffff, new & 0xffff);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + sum(~m + m')). */
static __always_inline __u16 csum_apply(__u16 check, __u32 delta)
{
	__u32 s = (__u16)~check + delta;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __always_inline void set_flow(void *data, void *data_end, __u32 flow)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__be16 *ports;
	__be16 *l4_check;
	__u32 ip_delta = 0;
	__u32 port_delta = 0;
	__be32 addr;
	__be16 port;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl != 5)
		return;
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(ip + 1);

		if ((void *)(udp + 1) > data_end)
			return;
		ports = &udp->source;
		l4_check = &udp->check;
	} else if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(ip + 1);

		if ((void *)(tcp + 1) > data_end)
			return;
		ports = &tcp->source;
		l4_check = &tcp->check;
	} else {
		return;
	}

	/* Every field, varied or not: the receiver may have rewritten any of
	 * them in this page (a load balancer, a NAT), and the page comes back.
	 */
	addr = bpf_htonl(cfg_src_ip + (cfg_vary_src_ip ? flow : 0));
	if (ip->saddr != addr) {
		ip_delta += csum_word32_delta(ip->saddr, addr);
		ip->saddr = addr;
	}
	addr = bpf_htonl(cfg_dst_ip + (cfg_vary_dst_ip ? flow : 0));
	if (ip->daddr != addr) {
		ip_delta += csum_word32_delta(ip->daddr, addr);
		ip->daddr = addr;
	}
	port =
	    bpf_htons((__u16)(cfg_src_port + (cfg_vary_src_port ? flow : 0)));
	if (ports[0] != port) {
		port_delta += csum_word_delta(ports[0], port);
		ports[0] = port;
	}
	port =
	    bpf_htons((__u16)(cfg_dst_port + (cfg_vary_dst_port ? flow : 0)));
	if (ports[1] != port) {
		port_delta += csum_word_delta(ports[1], port);
		ports[1] = port;
	}
	if (!ip_delta && !port_delta)
		return;
	if (ip_delta)
		ip->check = csum_apply(ip->check, ip_delta);
	/* The L4 checksum covers the addresses through the pseudo-header. */
	if (ip->protocol == IPPROTO_UDP && *l4_check == 0)
		return;
	*l4_check = csum_apply(*l4_check, ip_delta + port_delta);
	if (ip->protocol == IPPROTO_UDP && *l4_check == 0)
		*l4_check = 0xffff;
}

SEC("xdp")
int swd_xdp_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	__u64 *frames;
	__u32 *cursor;
	__u32 flow;

	frames = bpf_map_lookup_elem(&tx_frames_map, &zero);
	cursor = bpf_map_lookup_elem(&flow_cursor_map, &zero);
	if (!frames || !cursor)
		return XDP_ABORTED;
	if (!pace())
		return XDP_DROP;
	flow = *cursor;
	if (flow >= cfg_n_flows)
		flow = 0;
	*cursor = flow + 1 < cfg_n_flows ? flow + 1 : 0;
	set_flow(data, data_end, flow);
	*frames += 1;
	return XDP_TX;
}

/* ---- sink ---------------------------------------------------------------- */

struct swgen_tuple {
	__be32 src_ip;
	__be32 dst_ip;
	__be16 src_port;
	__be16 dst_port;
	__u8 proto;
	__u8 pad[3]; /* always zero */
};
_Static_assert(sizeof(struct swgen_tuple) == 16, "swgen_tuple");

struct swgen_sink_stats {
	__u64 frames;
	__u64 bytes;
	__u64 not_ipv4_l4;     /* counted, but not an IPv4 UDP/TCP frame */
	__u64 flow_table_full; /* a new 5-tuple found sink_flows_map full */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swgen_sink_stats);
} sink_stats_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct swgen_tuple);
	__type(value, __u64);
} sink_flows_map SEC(".maps");

static __always_inline int sink(struct xdp_md *ctx, int verdict)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct swgen_tuple key = {};
	struct swgen_sink_stats *st;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 zero = 0;
	__u64 one = 1;
	__u64 *n;

	st = bpf_map_lookup_elem(&sink_stats_map, &zero);
	if (!st)
		return verdict;
	st->frames++;
	st->bytes += data_end - data;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		goto other;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl != 5 ||
	    (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP))
		goto other;
	/* UDP and TCP both start with the two ports. */
	if ((void *)(ip + 1) + 4 > data_end)
		goto other;
	key.src_ip = ip->saddr;
	key.dst_ip = ip->daddr;
	key.src_port = ((__be16 *)(ip + 1))[0];
	key.dst_port = ((__be16 *)(ip + 1))[1];
	key.proto = ip->protocol;

	n = bpf_map_lookup_elem(&sink_flows_map, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return verdict;
	}
	if (bpf_map_update_elem(&sink_flows_map, &key, &one, BPF_NOEXIST)) {
		/* Lost a race with another CPU, or the table is full. */
		n = bpf_map_lookup_elem(&sink_flows_map, &key);
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			st->flow_table_full++;
	}
	return verdict;
other:
	st->not_ipv4_l4++;
	return verdict;
}

SEC("xdp")
int swd_xdp_sink(struct xdp_md *ctx)
{
	return sink(ctx, XDP_PASS);
}

SEC("xdp")
int swd_xdp_sink_drop(struct xdp_md *ctx)
{
	return sink(ctx, XDP_DROP);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} count_map SEC(".maps");

static __always_inline int count_frame(int verdict)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&count_map, &zero);

	if (n)
		*n += 1;
	return verdict;
}

SEC("xdp")
int swd_xdp_count_drop(struct xdp_md *ctx)
{
	return count_frame(XDP_DROP);
}

SEC("xdp")
int swd_xdp_count_pass(struct xdp_md *ctx)
{
	return count_frame(XDP_PASS);
}

/* swd_xdp_count_drop, but it reads the Ethernet and IPv4 headers first (as any
 * program that classifies must): the baseline that pays the packet's cache
 * misses too. */
SEC("xdp")
int swd_xdp_count_drop_read(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&count_map, &zero);
	const __u64 *w = data;

	if (!n)
		return XDP_DROP;
	if ((void *)(w + 5) <=
	    data_end) /* 40 bytes: Ethernet, IPv4 up to the addresses */
		*n += 1 + ((w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4]) == 1);
	else
		*n += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
