// The lb(POOL) action on one packet in user space: the session table's rewrite, or a new
// session chosen by the pool's Maglev table. Per-packet path: no allocation, lock or syscall
// (the session table's insert takes a bucket spinlock on a miss only).
//
// For a TCP or UDP packet of the pool's family whose tuple is t:
//  - t has a session entry (session_table.h): its rewrite is applied. The client's tuple
//    (client -> vip) gets the backend as destination, the backend's tuple (backend -> client)
//    gets the vip back as source; both get the entry's MAC addresses.
//  - no entry, and t is addressed to the vip: the pool's table picks the backend for t's hash
//    (swd_lb_hash, the same as the XDP program's), both entries are inserted
//    (make_session_pair), and the client's rewrite is applied. If the table is full the packet
//    still goes to the chosen backend (the session table counts the refusal).
//  - otherwise the packet cannot be balanced: no_session (a reply with no session, or traffic to
//    another address), no_backend (the pool has no backend taking new sessions), or
//    not_balanced (not TCP/UDP, the pool's other family, or a later fragment with no ports).
// The caller drops those with a counter of that name.
//
// Thread-safety: between sessions.enter(reader) and leave(reader); one thread per reader slot.
#pragma once

#include <cstring>

#include "datapath/extract.h"
#include "datapath/rewrite.h"
#include "pool.h"
#include "session_store.h"

namespace swd::dp::lb {

enum class outcome : uint8_t {
    to_backend,
    to_client,
    new_session,
    no_session,
    no_backend,
    not_balanced
};

inline bool balanced(outcome o) noexcept {
    return o == outcome::to_backend || o == outcome::to_client || o == outcome::new_session;
}

// The session table's key for the packet of `key`; false when it has none (see above).
inline bool tuple_of(const flow_key& key, const header_offsets& where, bool ipv6,
                     swd_lb_tuple& t) noexcept {
    constexpr uint8_t tcp = 6, udp = 17;
    if (where.l4 == 0 || (key.f.nw_proto != tcp && key.f.nw_proto != udp) ||
        (ipv6 ? !where.ipv6 : !where.ipv4)) {
        return false;
    }
    std::memset(&t, 0, sizeof t);
    std::memcpy(t.src_ip, key.f.nw_src, sizeof t.src_ip);
    std::memcpy(t.dst_ip, key.f.nw_dst, sizeof t.dst_ip);
    t.src_port = key.f.tp_src;
    t.dst_port = key.f.tp_dst;
    t.proto = key.f.nw_proto;
    t.ipv6 = ipv6 ? 1 : 0;
    return true;
}

// Applies a session's rewrite to the frame and its key. The frame is TCP/UDP of the session's
// family (tuple_of said so), so every rewrite applies.
inline void apply(const swd_lb_session& s, uint8_t* frame, uint32_t len,
                  const header_offsets& where, flow_key& key) noexcept {
    if (s.dir == SWD_LB_TO_BACKEND) {
        if (s.ipv6) {
            rewrite_ipv6_dst(frame, where, s.addr, key);
        } else {
            rewrite_ipv4_dst(frame, where, s.addr[0], key);
        }
        rewrite_tp_dst(frame, where, s.port, key);
    } else {
        if (s.ipv6) {
            rewrite_ipv6_src(frame, where, s.addr, key);
        } else {
            rewrite_ipv4_src(frame, where, s.addr[0], key);
        }
        rewrite_tp_src(frame, where, s.port, key);
    }
    rewrite_eth_src(frame, len, s.eth_src, key);
    rewrite_eth_dst(frame, len, s.eth_dst, key);
}

inline outcome balance(const compiled_pool& pool, session_store& sessions, uint32_t reader,
                       uint8_t* frame, uint32_t len, const header_offsets& where, flow_key& key,
                       uint64_t now_ns) noexcept {
    swd_lb_tuple t;
    if (!tuple_of(key, where, pool.ipv6, t)) {
        return outcome::not_balanced;
    }
    const uint32_t h = session_store::hash(t);
    swd_lb_session s;
    if (sessions.lookup(reader, t, h, now_ns, &s)) {
        apply(s, frame, len, where, key);
        return s.dir == SWD_LB_TO_BACKEND ? outcome::to_backend : outcome::to_client;
    }
    if (!pool.is_vip(t)) {
        return outcome::no_session;
    }
    const uint16_t b = pool.table.pick(h);
    if (b >= pool.backends.size()) {
        return outcome::no_backend;
    }
    const session_pair pair =
        make_session_pair(t, key.f.eth_src, key.f.eth_dst, pool.backends[b], pool.id);
    swd_lb_session existing;
    if (sessions.insert(t, h, pair.to_backend, now_ns, &existing) ==
        session_store::insert_status::exists) {
        // Another thread opened it first: follow its choice (the same, unless the pool changed).
        apply(existing, frame, len, where, key);
        return outcome::to_backend;
    }
    sessions.insert(pair.to_client_key, session_store::hash(pair.to_client_key), pair.to_client,
                    now_ns);
    apply(pair.to_backend, frame, len, where, key);
    return outcome::new_session;
}

} // namespace swd::dp::lb
