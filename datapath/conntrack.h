// Connection tracking in user space: ct_state for every TCP/UDP packet, and ct(commit). Its twin in
// XDP is bpf/conntrack.h (same states, same tuple); one of them runs per pipeline
// (docs/architecture.md, "Connection tracking").
//
// What it is for: stateful filtering from flow rules, as Open vSwitch writes it. A rule on the
// allowed direction commits the connection (`tcp, in_port=1, actions=ct(commit),output:2`); a
// rule admits what belongs to a committed connection (`ct_state=+trk+est, actions=...`), the
// replies included. Unlike OVS, no ct() action sends the packet to the tracker and back: when the
// pipeline has a rule that matches ct_state or commits (pipeline::tracks), every packet gets its
// ct_state before table 0:
//   - TCP or UDP over IPv4 or IPv6 with its ports (not a later fragment): +trk, and
//     +est if its 5-tuple was committed, +est+rpl if the reverse tuple was (a reply),
//     +new otherwise;
//   - anything else: 0 (-trk).
// ct(commit) stores the packet's 5-tuple unless its connection is established already.
//
// The table is a lb::session_table (the kernel's BPF hash map design, session_table.h) of its
// own, keyed by the 5-tuple; its value is unused. Entries idle for the table's timeout end (a
// lookup in either direction refreshes one), and a full table evicts the least recently used of a
// sample, counted. The TCP state machine is not followed: an entry lives by idle time, not FIN.
//
// Per-packet path: no allocation, lock or syscall (an insert takes a bucket spinlock). Between
// table.enter(reader) and leave(reader).
#pragma once

#include <cstdint>
#include <utility>

#include "lb/balancer.h"
#include "lb/session_table.h"

namespace swd::dp {

// The 5-tuple of the packet, as the table keys it; false when it is not tracked.
inline bool ct_tuple(const flow_key& key, const header_offsets& where, swd_lb_tuple& t) noexcept {
    return lb::tuple_of(key, where, where.ipv6, t);
}

inline swd_lb_tuple ct_reverse(const swd_lb_tuple& t) noexcept {
    swd_lb_tuple r = t;
    std::swap(r.src_ip, r.dst_ip);
    std::swap(r.src_port, r.dst_port);
    return r;
}

inline uint8_t ct_state_of(lb::session_table& table, uint32_t reader, const flow_key& key,
                           const header_offsets& where, uint64_t now) noexcept {
    swd_lb_tuple t;
    if (!ct_tuple(key, where, t)) {
        return 0;
    }
    swd_lb_session unused;
    if (table.lookup(reader, t, lb::session_table::hash(t), now, &unused)) {
        return SWD_CT_TRK | SWD_CT_EST;
    }
    const swd_lb_tuple r = ct_reverse(t);
    if (table.lookup(reader, r, lb::session_table::hash(r), now, &unused)) {
        return SWD_CT_TRK | SWD_CT_EST | SWD_CT_RPL;
    }
    return SWD_CT_TRK | SWD_CT_NEW;
}

// ct(commit): key.f.ct_state is the packet's, from ct_state_of.
inline void ct_commit(lb::session_table& table, const flow_key& key, const header_offsets& where,
                      uint64_t now) noexcept {
    swd_lb_tuple t;
    if ((key.f.ct_state & SWD_CT_EST) != 0 || !ct_tuple(key, where, t)) {
        return;
    }
    table.insert(t, lb::session_table::hash(t), swd_lb_session{}, now);
}

} // namespace swd::dp
