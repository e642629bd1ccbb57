#include "pmd.h"

#include <algorithm>
#include <cstring>
#include <poll.h>
#include <pthread.h>
#include <sched.h>

#include "datapath/util/clock.h"
#include "datapath/util/log.h"

namespace swd::afxdp {

pmd::pmd(size_t index, int cpu, dp::pipeline_publisher& publisher)
    : index_(index), cpu_(cpu), publisher_(publisher), out_index_(0x10000, -1),
      ts_(std::make_unique<dp::thread_state>()) {}

pmd::~pmd() {
    stop();
    sockets_.clear(); // before the UMEMs they are bound to
    umems_.clear();
}

result<xsk_socket*> pmd::add_socket(uint16_t ofport, const std::string& ifname, uint32_t queue,
                                    bool rx, bool tx, const socket_options& o,
                                    uint32_t sockets_in_mode) {
    // Share a UMEM with the sockets of the same bind mode: the kernel gives shared sockets the
    // mode of the first one.
    umem* u = nullptr;
    for (size_t i = 0; i < sockets_.size(); i++) {
        const socket_options& so = sockets_[i]->options();
        if (so.zero_copy == o.zero_copy && so.need_wakeup == o.need_wakeup) {
            u = &sockets_[i]->frames();
            break;
        }
    }
    if (!u) {
        umem::config cfg;
        cfg.ring_size = o.ring_size;
        // Each socket keeps up to a ring of frames in its fill ring and one in its rx ring;
        // transmitted frames are received ones handed over, or copies while the tx ring drains.
        cfg.frames = 2 * o.ring_size * std::max<uint32_t>(1, sockets_in_mode) + o.ring_size;
        auto created = umem::create(cfg);
        if (!created) {
            return fail(std::move(created).err());
        }
        umems_.push_back(std::move(*created));
        u = umems_.back().get();
    }
    auto s = xsk_socket::create(*u, ifname, queue, o);
    if (!s) {
        if (!umems_.empty() && u == umems_.back().get() &&
            std::none_of(sockets_.begin(), sockets_.end(),
                         [u](const auto& x) { return &x->frames() == u; })) {
            umems_.pop_back(); // created for this socket only
        }
        return fail(std::move(s).err());
    }
    xsk_socket* raw = s->get();
    sockets_.push_back(std::move(*s));
    socket_ports_.push_back(ofport);
    if (rx) {
        rx_.push_back(raw);
        rx_ports_.push_back(ofport);
        block_when_idle_ &= o.wait == wait_mode::poll;
    }
    if (tx) {
        if (out_index_[ofport] < 0) {
            out_index_[ofport] = static_cast<int32_t>(out_.size());
            out_.emplace_back();
        }
        out_[out_index_[ofport]].tx = raw;
    }
    return raw;
}

void pmd::start() {
    thread_ = std::thread([this] { run(); });
    if (cpu_ >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu_, &set);
        if (pthread_setaffinity_np(thread_.native_handle(), sizeof set, &set) != 0) {
            log::warn("pmd {}: could not pin to cpu {}", index_, cpu_);
        }
    }
    std::string name = "swd-pmd" + std::to_string(index_);
    pthread_setname_np(thread_.native_handle(), name.c_str());
}

void pmd::stop() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) {
        thread_.join();
    }
}

void pmd::sink::send(out_port& out, dp::packet& pkt, bool take, const uint8_t* dst_mac) noexcept {
    xsk_socket& tx = *out.tx;
    umem& to = tx.frames();
    uint64_t addr = 0;
    uint8_t* data = nullptr;
    if (take && &to == &rx->frames()) {
        addr = pkt.frame; // same UMEM: hand the received frame over
        data = pkt.data;
    } else {
        if (!to.alloc(addr)) [[unlikely]] {
            tx.counters().add(port_counter::drop_no_frame);
            if (take) {
                release(pkt);
            }
            return;
        }
        data = to.data(addr);
        std::memcpy(data, pkt.data, pkt.len);
        if (take) {
            release(pkt);
        }
    }
    if (dst_mac) {
        std::memcpy(data, dst_mac, 6);
    }
    if (!tx.tx_enqueue(addr, pkt.len)) [[unlikely]] {
        to.release(addr);
        tx.counters().add(port_counter::drop_tx_full);
        return;
    }
    out.queued++;
    out.queued_bytes += pkt.len;
}

void pmd::sink::output(uint16_t port, uint16_t, dp::packet& pkt, bool take) noexcept {
    const int32_t i = p_.out_index_[port];
    if (i < 0) [[unlikely]] { // a port this datapath does not have (not opened)
        rx->counters().add(port_counter::drop_unsupported);
        if (take) {
            release(pkt);
        }
        return;
    }
    send(p_.out_[i], pkt, take, nullptr);
}

void pmd::sink::local(dp::packet& pkt, bool take) noexcept {
    const int32_t i = p_.out_index_[local_ofport];
    if (i < 0) [[unlikely]] {
        rx->counters().add(port_counter::drop_unsupported);
        if (take) {
            release(pkt);
        }
        return;
    }
    if (take) {
        std::memcpy(pkt.data, p_.local_mac_.data(), 6);
        send(p_.out_[i], pkt, true, nullptr);
    } else {
        send(p_.out_[i], pkt, false, p_.local_mac_.data());
    }
}

void pmd::flush() noexcept {
    for (auto& o : out_) {
        if (o.queued != 0) {
            o.tx->counters().add(port_counter::tx_packets, o.queued);
            o.tx->counters().add(port_counter::tx_bytes, o.queued_bytes);
            o.tx->tx_flush();
            o.queued = 0;
            o.queued_bytes = 0;
        } else if (o.tx->tx_backlog()) {
            o.tx->tx_flush();
        }
    }
    for (auto& s : sockets_) {
        s->complete();
    }
}

void pmd::wait_for_frames() noexcept {
    if (!block_when_idle_) {
        for (xsk_socket* s : rx_) {
            if (s->options().wait == wait_mode::busy) {
                s->busy_poll();
            }
        }
        return;
    }
    pollfd fds[64];
    size_t n = std::min<size_t>(rx_.size(), 64);
    for (size_t i = 0; i < n; i++) {
        fds[i] = {rx_[i]->fd(), POLLIN, 0};
        rx_[i]->counters().add(port_counter::rx_wakeups);
    }
    ::poll(fds, n, 100); // wakes at least every 100 ms to notice stop()
}

void pmd::run() noexcept {
    sink out(*this);
    dp::executor<sink> exec(*ts_, out);
    dp::packet pkts[dp::max_batch];
    uint64_t waited_ns = 0; // the busy-poll call of the last idle round, when timed
    while (!stop_.load(std::memory_order_relaxed)) {
        bool any = false;
        uint64_t now_ns = 0; // read once per round, when the first batch arrives
        const bool timed = timing_.load(std::memory_order_relaxed);
        const uint64_t round_start = timed ? monotonic_ns() : 0;
        uint64_t exec_ns = 0, received = 0;
        for (size_t r = 0; r < rx_.size(); r++) {
            xsk_socket& s = *rx_[r];
            uint32_t idx = 0;
            const uint32_t n = s.rx_peek(dp::max_batch, idx);
            if (n == 0) {
                s.counters().add(port_counter::idle_polls);
                continue;
            }
            umem& u = s.frames();
            const uint16_t in_port = rx_ports_[r];
            for (uint32_t i = 0; i < n; i++) {
                const xdp_desc* d = s.rx_desc(idx + i);
                pkts[i].frame = d->addr;
                pkts[i].data = u.data(d->addr);
                // The kernel wrote the frame on another CPU: start every header's cache miss
                // now, so that they overlap instead of stalling the parser one by one.
                __builtin_prefetch(pkts[i].data);
                pkts[i].len = d->len;
                pkts[i].in_port = in_port;
                pkts[i].queue = static_cast<uint16_t>(s.queue());
            }
            s.rx_release(n);
            if (now_ns == 0) {
                now_ns = coarse_monotonic_ns();
            }
            out.rx = &s;
            const uint64_t exec_start = timed ? monotonic_ns() : 0;
            const dp::pipeline* p = publisher_.enter(index_);
            exec.run(*p, std::span<dp::packet>(pkts, n), s.counters(), now_ns);
            publisher_.leave(index_);
            if (timed) {
                exec_ns += monotonic_ns() - exec_start;
                received += n;
            }
            any = true;
        }
        const bool timed_round = timed && any;
        uint64_t sent = 0;
        if (timed_round) {
            for (const auto& o : out_) {
                sent += o.queued;
            }
        }
        const uint64_t flush_start = timed_round ? monotonic_ns() : 0;
        flush();
        const uint64_t flush_end = timed_round ? monotonic_ns() : 0;
        for (xsk_socket* s : rx_) {
            s->refill();
        }
        if (timed_round) {
            busy_.round_ns.add(monotonic_ns() - round_start + waited_ns);
            busy_.exec_ns.add(exec_ns);
            busy_.flush_ns.add(flush_end - flush_start);
            busy_.rx_packets.add(received);
            busy_.tx_packets.add(sent);
            waited_ns = 0;
        }
        if (!any) {
            const uint64_t wait_start = timed && !block_when_idle_ ? monotonic_ns() : 0;
            wait_for_frames();
            waited_ns = wait_start ? monotonic_ns() - wait_start : 0;
        }
    }
}

} // namespace swd::afxdp
