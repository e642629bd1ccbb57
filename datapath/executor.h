// The per-packet work of the user-space datapath, on batches: extract the flow key, look it up
// (exact-match cache, then the table's tuple-space classifier), run the winning rule's actions
// (rewrites in place, goto_table, outputs), and count.
//
// The executor knows nothing about AF_XDP: it hands packets to a Sink, a template parameter, so
// that the AF_XDP datapath, the pcap replay harness and the unit tests drive the same code with no
// virtual call per packet. A Sink provides:
//   void output(uint16_t port, uint16_t queue, packet& p, bool take);  // send a copy, or take it
//   void local(packet& p, bool take);                                  // to this host's stack
//   void release(packet& p);                                           // the packet is done
// `take` is true for the packet's last output when nothing can change it afterwards: the sink may
// then send the frame itself instead of a copy (zero copy). After a take the executor does not
// touch the packet again; otherwise it calls release() once it is finished with it.
//
// No allocation, no lock, no syscall (but for the bucket spinlock of a load-balancer session or a
// tracked connection being created); one clock value per batch, given by the caller.
#pragma once

#include <cstdint>
#include <span>

#include "conntrack.h"
#include "counters.h"
#include "emc.h"
#include "extract.h"
#include "lb/balancer.h"
#include "rewrite.h"

namespace swd::dp {

struct packet {
    uint8_t* data = nullptr;
    uint32_t len = 0;
    uint16_t in_port = 0;
    uint16_t queue = 0; // receive queue; set_queue changes the queue of later outputs
    uint64_t frame = 0; // the owner's handle (a UMEM address)
};

inline constexpr size_t max_batch = 64;

// What one datapath thread keeps between batches.
struct thread_state {
    exact_match_cache emc;
    rule_counter_table rules;
    lb::session_store* sessions = nullptr;  // the load balancer's (lb() drops without one)
    lb::session_table* conntrack = nullptr; // connections (conntrack.h; none: not tracked)
    uint32_t reader = 0;                    // this thread's reader slot in both
};

template <class Sink>
class executor {
public:
    executor(thread_state& ts, Sink& sink) : ts_(ts), sink_(sink) {}

    // Processes pkts (at most max_batch) received on one queue, whose counters are rxq.
    void run(const pipeline& p, std::span<packet> pkts, queue_counters& rxq,
             uint64_t now_ns) noexcept {
        flow_key keys[max_batch];
        header_offsets where[max_batch];
        uint64_t bytes = 0;
        for (size_t i = 0; i < pkts.size(); i++) {
            if (i + 1 < pkts.size()) {
                __builtin_prefetch(pkts[i + 1].data);
            }
            if (extract_key(pkts[i].data, pkts[i].len, pkts[i].in_port, keys[i], where[i]) !=
                malformed::none) [[unlikely]] {
                rxq.add(port_counter::malformed);
            }
            bytes += pkts[i].len;
        }
        const bool balancing = ts_.sessions != nullptr && !p.pools.empty();
        if (balancing) {
            ts_.sessions->enter(ts_.reader);
        }
        const bool tracking = ts_.conntrack != nullptr && p.tracks;
        if (tracking) {
            ts_.conntrack->enter(ts_.reader);
        }
        // Table 0's winners: for the whole batch at once, unless a packet's ct_state (and so
        // its lookup) depends on the connections that the packets before it commit.
        const compiled_rule* first[max_batch];
        const subtable* first_owner[max_batch];
        if (!tracking) {
            lookup_table0(p, keys, pkts.size(), first, first_owner);
        }
        for (size_t i = 0; i < pkts.size(); i++) {
            if (tracking) {
                keys[i].f.ct_state =
                    ct_state_of(*ts_.conntrack, ts_.reader, keys[i], where[i], now_ns);
                first[i] = lookup(p, 0, keys[i], &first_owner[i]);
            }
            execute(p, pkts[i], keys[i], where[i], rxq, now_ns, first[i], first_owner[i]);
        }
        if (balancing) {
            ts_.sessions->leave(ts_.reader);
        }
        if (tracking) {
            ts_.conntrack->leave(ts_.reader);
        }
        flush_rule_count(now_ns);
        // Last, so that a reader that reads rx first never finds frames whose rule hits are not
        // written yet.
        rxq.add(port_counter::rx_packets, pkts.size());
        rxq.add(port_counter::rx_bytes, bytes);
    }

private:
    const compiled_rule* lookup(const pipeline& p, unsigned table, const flow_key& k,
                                const subtable** owner) noexcept {
        if (table != 0) {
            const classifier* c = p.table(table);
            return c ? c->lookup(k, owner) : nullptr;
        }
        const uint64_t h = exact_match_cache::hash(k);
        if (const compiled_rule* r = ts_.emc.find(k, h, p.version, owner)) {
            return r;
        }
        const classifier* c = p.table(0);
        const compiled_rule* r = c ? c->lookup(k, owner) : nullptr;
        if (r) {
            ts_.emc.insert(k, h, p.version, r, *owner);
        }
        return r;
    }

    // lookup() of table 0 for a batch: the exact-match cache's slots are prefetched for every
    // packet, then read; the misses go to the classifier together (classifier::lookup_batch), and
    // the counters of the rules it finds are prefetched for count_rule() (many misses: many
    // rules, whose counters are not in the cache either).
    void lookup_table0(const pipeline& p, const flow_key* keys, size_t n,
                       const compiled_rule** rules, const subtable** owners) noexcept {
        static_assert(max_batch <= classifier::max_lookup_batch);
        uint64_t hashes[max_batch];
        for (size_t i = 0; i < n; i++) {
            hashes[i] = exact_match_cache::hash(keys[i]);
            ts_.emc.prefetch(hashes[i]);
        }
        const flow_key* missed[max_batch];
        uint8_t missed_at[max_batch];
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            owners[i] = nullptr;
            rules[i] = ts_.emc.find(keys[i], hashes[i], p.version, &owners[i]);
            if (!rules[i]) {
                missed[m] = &keys[i];
                missed_at[m++] = static_cast<uint8_t>(i);
            }
        }
        const classifier* c = p.table(0);
        if (m != 0 && c != nullptr) {
            const compiled_rule* found[max_batch];
            const subtable* found_owner[max_batch];
            c->lookup_batch(missed, m, found, found_owner);
            for (size_t j = 0; j < m; j++) {
                const size_t i = missed_at[j];
                rules[i] = found[j];
                owners[i] = found_owner[j];
                if (found[j]) {
                    ts_.emc.insert(keys[i], hashes[i], p.version, found[j], found_owner[j]);
                    __builtin_prefetch(&ts_.rules.at(found[j]->rule_id), 1);
                }
            }
        }
    }

    // Rule counts are summed over runs of packets that hit the same rule (in a batch of one
    // flow, or of many flows of one rule, that is one counter update per batch, not per packet)
    // and written when the rule changes and at the end of the batch.
    void count_rule(uint32_t id, uint32_t len, uint64_t now_ns) noexcept {
        if (id != run_rule_) {
            flush_rule_count(now_ns);
            run_rule_ = id;
        }
        run_packets_++;
        run_bytes_ += len;
    }

    void flush_rule_count(uint64_t now_ns) noexcept {
        if (run_packets_ != 0) {
            rule_slot& s = ts_.rules.at(run_rule_);
            s.packets.add(run_packets_);
            s.bytes.add(run_bytes_);
            s.last_hit_ns.v.store(now_ns, std::memory_order_relaxed);
            run_packets_ = 0;
            run_bytes_ = 0;
        }
    }

    // Runs the pipeline on one packet, whose table-0 winner (r, in owner) is already known.
    void execute(const pipeline& p, packet& pkt, flow_key& key, header_offsets& where,
                 queue_counters& rxq, uint64_t now_ns, const compiled_rule* r,
                 const subtable* owner) noexcept {
        unsigned table = 0;
        bool sent = false;
        for (unsigned steps = 0;; steps++) {
            if (steps > SWD_MAX_TABLE) [[unlikely]] { // cannot happen: goto only goes forward
                rxq.add(port_counter::drop_loop);
                break;
            }
            if (steps > 0) {
                r = lookup(p, table, key, &owner);
            }
            if (!r) {
                if (!sent) {
                    rxq.add(port_counter::drop_no_rule);
                }
                break;
            }
            count_rule(r->rule_id, pkt.len, now_ns);
            std::span<const swd_action> acts = owner->actions(*r);
            // The last action that sends the packet somewhere may hand over the frame itself,
            // unless a goto_table (always last) can still change or send it.
            size_t last_send = SIZE_MAX;
            for (size_t i = 0; i < acts.size(); i++) {
                const uint16_t t = acts[i].type;
                if (t == SWD_ACT_OUTPUT || t == SWD_ACT_IN_PORT || t == SWD_ACT_LOCAL) {
                    last_send = i;
                } else if (t == SWD_ACT_GOTO_TABLE) {
                    last_send = SIZE_MAX;
                }
            }
            int next_table = -1;
            for (size_t i = 0; i < acts.size(); i++) {
                const swd_action& a = acts[i];
                const bool take = i == last_send;
                switch (a.type) {
                case SWD_ACT_OUTPUT:
                    sink_.output(a.arg, pkt.queue, pkt, take);
                    sent = true;
                    break;
                case SWD_ACT_IN_PORT:
                    sink_.output(pkt.in_port, pkt.queue, pkt, take);
                    sent = true;
                    break;
                case SWD_ACT_LOCAL:
                    sink_.local(pkt, take);
                    sent = true;
                    break;
                case SWD_ACT_SET_QUEUE:
                    pkt.queue = a.arg;
                    break;
                case SWD_ACT_SET_ETH_SRC:
                    if (!rewrite_eth_src(pkt.data, pkt.len, a.val.mac, key)) {
                        rxq.add(port_counter::rewrite_skipped);
                    }
                    break;
                case SWD_ACT_SET_ETH_DST:
                    if (!rewrite_eth_dst(pkt.data, pkt.len, a.val.mac, key)) {
                        rxq.add(port_counter::rewrite_skipped);
                    }
                    break;
                case SWD_ACT_SET_IPV4_SRC:
                    if (!rewrite_ipv4_src(pkt.data, where, a.val.ipv4, key)) {
                        rxq.add(port_counter::rewrite_skipped);
                    }
                    break;
                case SWD_ACT_SET_IPV4_DST:
                    if (!rewrite_ipv4_dst(pkt.data, where, a.val.ipv4, key)) {
                        rxq.add(port_counter::rewrite_skipped);
                    }
                    break;
                case SWD_ACT_SET_TP_SRC:
                    if (!rewrite_tp_src(pkt.data, where, a.val.port, key)) {
                        rxq.add(port_counter::rewrite_skipped);
                    }
                    break;
                case SWD_ACT_SET_TP_DST:
                    if (!rewrite_tp_dst(pkt.data, where, a.val.port, key)) {
                        rxq.add(port_counter::rewrite_skipped);
                    }
                    break;
                case SWD_ACT_DEC_TTL:
                    switch (decrement_ttl(pkt.data, where, key)) {
                    case ttl_result::ok:
                        break;
                    case ttl_result::expired:
                        rxq.add(port_counter::drop_ttl_expired);
                        sink_.release(pkt);
                        return;
                    case ttl_result::not_ip: // no valid IP header: forwarded as it is
                        rxq.add(port_counter::rewrite_skipped);
                        break;
                    }
                    break;
                case SWD_ACT_GOTO_TABLE:
                    next_table = a.arg;
                    break;
                case SWD_ACT_CT_COMMIT:
                    if (ts_.conntrack != nullptr) {
                        ct_commit(*ts_.conntrack, key, where, now_ns);
                    }
                    break;
                case SWD_ACT_LB: {
                    const lb::compiled_pool* pool = p.pool(a.arg);
                    const lb::outcome o = pool != nullptr && ts_.sessions != nullptr
                                              ? lb::balance(*pool, *ts_.sessions, ts_.reader,
                                                            pkt.data, pkt.len, where, key, now_ns)
                                              : lb::outcome::no_backend;
                    if (!lb::balanced(o)) {
                        rxq.add(o == lb::outcome::no_session ? port_counter::drop_lb_no_session
                                : o == lb::outcome::no_backend
                                    ? port_counter::drop_lb_no_backend
                                    : port_counter::drop_lb_not_balanced);
                        sink_.release(pkt);
                        return;
                    }
                    break;
                }
                default: // anything this datapath cannot run
                    rxq.add(port_counter::drop_unsupported);
                    sink_.release(pkt);
                    return;
                }
                if (take) {
                    return; // the sink owns the frame now
                }
            }
            if (next_table < 0) {
                if (!sent) {
                    rxq.add(port_counter::drop_action);
                }
                break;
            }
            table = static_cast<unsigned>(next_table);
        }
        sink_.release(pkt);
    }

    thread_state& ts_;
    Sink& sink_;
    uint32_t run_rule_ = 0; // the rule the pending counts belong to
    uint64_t run_packets_ = 0, run_bytes_ = 0;
};

} // namespace swd::dp
