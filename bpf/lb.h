/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * lb.h - the lb(POOL) action in XDP: the twin of datapath/lb/balancer.h,
 * with the same session semantics, the same backend choice (swd_lb_hash and
 * the pool's Maglev table, both in shared/swd_abi.h) and the same rewrites.
 *
 *  - a session entry for the packet's tuple: its rewrite (to the backend, or
 *    the vip back as the source of a reply);
 *  - none, and the packet is addressed to the vip: the pool's table picks the
 *    backend for the tuple's hash, both entries are written (the client's
 *    with BPF_NOEXIST: if another CPU wrote it first, its value is used),
 *    and the client's rewrite is applied;
 *  - otherwise a drop reason (enum swd_lb_result).
 * Sessions live in an LRU hash map shared by every port's dispatcher, which
 * evicts the least recently used entries when full; an entry idle longer
 * than the pool's idle_timeout_ns is a miss and is overwritten. The maps are
 * written by netdev-afxdp/lb_maps.cc (layouts and the double-buffering of a
 * pool's table and backends: swd_abi.h).
 */
#ifndef SWD_BPF_LB_H
#define SWD_BPF_LB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "shared/swd_abi.h"
#include "clock.h"
#include "rewrite.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SWD_LB_XDP_MAX_POOLS);
	__type(key, __u32);
	__type(value, struct swd_lb_pool_info);
} swd_lb_pools SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SWD_LB_XDP_MAX_POOLS);
	__type(key, __u32);
	__type(value, struct swd_lb_maglev);
} swd_lb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SWD_LB_XDP_MAX_POOLS * SWD_LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct swd_lb_backend);
} swd_lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* sized by the loader */
	__type(key, struct swd_lb_tuple);
	__type(value, struct swd_lb_session_entry);
} swd_lb_sessions SEC(".maps");

/* The new session's tuples and entries: too large for the stack next to the
 * dispatcher's search. */
struct swd_lb_scratch {
	struct swd_lb_tuple t, rt;
	struct swd_lb_session_entry e, r;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swd_lb_scratch);
} swd_lb_scratch SEC(".maps");

enum swd_lb_result {
	SWD_LBR_BALANCED = 0,
	SWD_LBR_NO_SESSION,
	SWD_LBR_NO_BACKEND,
	SWD_LBR_NOT_BALANCED,
};

static __always_inline void swd_lb_apply(struct xdp_md *ctx,
					 const struct swd_lb_session *s,
					 struct swd_flow_key *k,
					 const struct swd_hdrs *w)
{
	if (s->dir == SWD_LB_TO_BACKEND) {
		if (s->ipv6)
			swd_rw_ipv6_dst(ctx, w, s->addr, k);
		else
			swd_rw_ipv4_dst(ctx, w, s->addr[0], k);
		swd_rw_tp_dst(ctx, w, s->port, k);
	} else {
		if (s->ipv6)
			swd_rw_ipv6_src(ctx, w, s->addr, k);
		else
			swd_rw_ipv4_src(ctx, w, s->addr[0], k);
		swd_rw_tp_src(ctx, w, s->port, k);
	}
	swd_rw_eth_src(ctx, s->eth_src, k);
	swd_rw_eth_dst(ctx, s->eth_dst, k);
}

/* Balances the packet over pool pool_id; *full is set when a session entry
 * could not be written (the packet still goes to the chosen backend). */
static __always_inline int swd_lb_run(struct xdp_md *ctx, __u32 pool_id,
				      struct swd_flow_key *k,
				      const struct swd_hdrs *w, int *full)
{
	struct swd_lb_session_entry *found;
	const struct swd_lb_pool_info *pool;
	const struct swd_lb_maglev *m;
	const struct swd_lb_backend *b;
	struct swd_lb_scratch *sc;
	__u64 now = swd_now();
	__u32 h, half, slot, bi, at, zero = 0;

	pool = bpf_map_lookup_elem(&swd_lb_pools, &pool_id);
	sc = bpf_map_lookup_elem(&swd_lb_scratch, &zero);
	if (!pool || !pool->present || !sc)
		return SWD_LBR_NO_BACKEND;
	if (!swd_tuple_of(k, w, &sc->t) || sc->t.ipv6 != pool->ipv6)
		return SWD_LBR_NOT_BALANCED;

	found = bpf_map_lookup_elem(&swd_lb_sessions, &sc->t);
	if (found &&
	    !swd_idle_for(now, found->last_used, pool->idle_timeout_ns)) {
		if (swd_refresh_due(now, found->last_used))
			found->last_used = now;
		swd_lb_apply(ctx, &found->s, k, w);
		return SWD_LBR_BALANCED;
	}
	if (sc->t.proto != pool->proto || sc->t.dst_port != pool->vip_port ||
	    sc->t.dst_ip[0] != pool->vip[0] ||
	    sc->t.dst_ip[1] != pool->vip[1] ||
	    sc->t.dst_ip[2] != pool->vip[2] || sc->t.dst_ip[3] != pool->vip[3])
		return SWD_LBR_NO_SESSION;

	half = pool_id * 2 + (pool->active & 1);
	m = bpf_map_lookup_elem(&swd_lb_maglev, &half);
	h = swd_lb_hash(&sc->t);
	if (!m || m->size == 0)
		return SWD_LBR_NO_BACKEND;
	slot = h % m->size;
	if (slot >= SWD_LB_MAGLEV_MAX_SIZE)
		return SWD_LBR_NO_BACKEND;
	bi = m->entry[slot];
	if (bi >= SWD_LB_MAX_BACKENDS)
		return SWD_LBR_NO_BACKEND;
	at = half * SWD_LB_MAX_BACKENDS + bi;
	b = bpf_map_lookup_elem(&swd_lb_backends, &at);
	if (!b)
		return SWD_LBR_NO_BACKEND;

	/* The two entries, as datapath/lb/session_table.cc's
	 * make_session_pair builds them. */
	__builtin_memset(&sc->rt, 0, sizeof(sc->rt));
	__builtin_memset(&sc->e, 0, sizeof(sc->e));
	__builtin_memset(&sc->r, 0, sizeof(sc->r));
	__builtin_memcpy(sc->e.s.addr, b->addr, sizeof(sc->e.s.addr));
	sc->e.s.port = b->port;
	sc->e.s.backend = (__u16)bi;
	sc->e.s.pool = (__u16)pool_id;
	sc->e.s.dir = SWD_LB_TO_BACKEND;
	sc->e.s.ipv6 = sc->t.ipv6;
	__builtin_memcpy(sc->e.s.eth_src, k->eth_dst, 6);
	__builtin_memcpy(sc->e.s.eth_dst, b->mac, 6);
	sc->e.last_used = now;

	__builtin_memcpy(sc->rt.src_ip, b->addr, sizeof(sc->rt.src_ip));
	__builtin_memcpy(sc->rt.dst_ip, sc->t.src_ip, sizeof(sc->rt.dst_ip));
	sc->rt.src_port = b->port;
	sc->rt.dst_port = sc->t.src_port;
	sc->rt.proto = sc->t.proto;
	sc->rt.ipv6 = sc->t.ipv6;
	__builtin_memcpy(sc->r.s.addr, sc->t.dst_ip, sizeof(sc->r.s.addr));
	sc->r.s.port = sc->t.dst_port;
	sc->r.s.backend = sc->e.s.backend;
	sc->r.s.pool = sc->e.s.pool;
	sc->r.s.dir = SWD_LB_TO_CLIENT;
	sc->r.s.ipv6 = sc->t.ipv6;
	__builtin_memcpy(sc->r.s.eth_src, k->eth_dst, 6);
	__builtin_memcpy(sc->r.s.eth_dst, k->eth_src, 6);
	sc->r.last_used = now;

	/* An idle entry of the same tuple is replaced (BPF_ANY); a live one
	 * that another CPU wrote since the lookup wins (BPF_NOEXIST fails). */
	if (bpf_map_update_elem(&swd_lb_sessions, &sc->t, &sc->e,
				found ? BPF_ANY : BPF_NOEXIST) != 0) {
		found = bpf_map_lookup_elem(&swd_lb_sessions, &sc->t);
		if (found)
			sc->e.s = found->s;
		else
			*full = 1;
	} else if (bpf_map_update_elem(&swd_lb_sessions, &sc->rt, &sc->r,
				       BPF_ANY) != 0) {
		*full = 1;
	}
	swd_lb_apply(ctx, &sc->e.s, k, w);
	return SWD_LBR_BALANCED;
}

#endif /* SWD_BPF_LB_H */
