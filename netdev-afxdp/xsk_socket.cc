#include "xsk_socket.h"

#include <cerrno>
#include <unistd.h>

namespace swd::afxdp {

namespace {
// Older headers may lack these (Linux 5.11+, 6.17+).
#ifndef SO_PREFER_BUSY_POLL
constexpr int SO_PREFER_BUSY_POLL = 69;
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
constexpr int XDP_MAX_TX_SKB_BUDGET = 9; // Linux 6.17
#endif
#ifndef SO_BUSY_POLL_BUDGET
constexpr int SO_BUSY_POLL_BUDGET = 70;
#endif
} // namespace

result<std::unique_ptr<xsk_socket>> xsk_socket::create(umem& u, const std::string& ifname,
                                                       uint32_t queue, const socket_options& o) {
    std::unique_ptr<xsk_socket> s(new xsk_socket(u));
    s->opts_ = o;
    s->queue_ = queue;
    xsk_socket_config cfg{};
    cfg.rx_size = o.rx ? o.ring_size : 0;
    cfg.tx_size = o.ring_size;
    cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD; // swd attaches its own program
    cfg.xdp_flags = 0;
    cfg.bind_flags = static_cast<uint16_t>((o.zero_copy ? XDP_ZEROCOPY : XDP_COPY) |
                                           (o.need_wakeup ? XDP_USE_NEED_WAKEUP : 0));
    int rc =
        xsk_socket__create_shared(&s->xsk_, ifname.c_str(), queue, u.handle(),
                                  o.rx ? &s->rx_ : nullptr, &s->tx_, &s->fill_, &s->comp_, &cfg);
    if (rc != 0) {
        s->xsk_ = nullptr;
        return fail(errno_error(-rc, "AF_XDP socket on " + ifname + " queue " +
                                         std::to_string(queue) +
                                         (o.zero_copy ? " (zero-copy)" : " (copy)")));
    }
    if (!o.zero_copy) {
        // Linux 6.17+: let one sendto() transmit the whole ring in copy mode (else 32 a call).
        unsigned budget = o.ring_size;
        (void)setsockopt(s->fd(), SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof budget);
    }
    if (o.wait == wait_mode::busy) {
        int one = 1;
        int usecs = static_cast<int>(o.busy_poll_usecs);
        int budget = static_cast<int>(o.busy_poll_budget);
        if (setsockopt(s->fd(), SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof one) != 0 ||
            setsockopt(s->fd(), SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof usecs) != 0 ||
            setsockopt(s->fd(), SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof budget) != 0) {
            return fail(errno_error(errno, "busy-poll options on " + ifname + " queue " +
                                               std::to_string(queue)));
        }
    }
    if (o.rx) {
        s->refill();
    }
    return s;
}

xsk_socket::~xsk_socket() {
    if (xsk_) {
        xsk_socket__delete(xsk_);
    }
}

void xsk_socket::refill() noexcept {
    uint32_t room = xsk_prod_nb_free(&fill_, opts_.ring_size);
    uint32_t n = static_cast<uint32_t>(std::min<size_t>(room, umem_.n_free()));
    if (n > 0) {
        uint32_t idx = 0;
        n = xsk_ring_prod__reserve(&fill_, n, &idx);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t addr = 0;
            umem_.alloc(addr);
            *xsk_ring_prod__fill_addr(&fill_, idx + i) = addr;
        }
        xsk_ring_prod__submit(&fill_, n);
    }
    if (opts_.need_wakeup && xsk_ring_prod__needs_wakeup(&fill_)) {
        counters_.add(port_counter::rx_wakeups);
        ::recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
}

void xsk_socket::tx_flush() noexcept {
    if (tx_pending_ > 0) {
        xsk_ring_prod__submit(&tx_, tx_pending_);
        tx_in_flight_ += tx_pending_;
        tx_pending_ = 0;
    }
    tx_backlog_ = false;
    if (tx_in_flight_ == 0 || (opts_.need_wakeup && !xsk_ring_prod__needs_wakeup(&tx_))) {
        return;
    }
    // Zero-copy: one kick wakes the driver. Copy mode: the kernel transmits inside sendto(), at
    // most its per-call budget (32 descriptors unless XDP_MAX_TX_SKB_BUDGET raised it; EAGAIN
    // when it stops there with more in the ring), so kick until the ring is drained or a kick
    // takes nothing (the device or the completion ring is full: EAGAIN, EBUSY, ENOBUFS).
    for (unsigned kicks = 0; kicks < max_tx_kicks; kicks++) {
        counters_.add(port_counter::tx_wakeups);
        const uint32_t free_before = xsk_prod_nb_free(&tx_, opts_.ring_size);
        const bool sent = ::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0;
        if (opts_.zero_copy) {
            tx_backlog_ = !sent && errno != EINTR;
            return;
        }
        const uint32_t free_after = xsk_prod_nb_free(&tx_, opts_.ring_size);
        if (free_after == opts_.ring_size) {
            return;
        }
        if (free_after == free_before && (sent || errno != EINTR)) {
            break;
        }
    }
    tx_backlog_ = true;
}

void xsk_socket::complete() noexcept {
    if (tx_in_flight_ == 0) {
        return;
    }
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(&comp_, opts_.ring_size, &idx);
    for (uint32_t i = 0; i < n; i++) {
        umem_.release(*xsk_ring_cons__comp_addr(&comp_, idx + i));
    }
    if (n > 0) {
        xsk_ring_cons__release(&comp_, n);
        tx_in_flight_ -= n;
    }
}

void xsk_socket::busy_poll() noexcept {
    counters_.add(port_counter::busy_polls);
    ::recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
}

xdp_statistics xsk_socket::stats() const noexcept {
    xdp_statistics st{};
    socklen_t len = sizeof st;
    if (getsockopt(xsk_socket__fd(xsk_), SOL_XDP, XDP_STATISTICS, &st, &len) != 0) {
        st = {};
    }
    return st;
}

} // namespace swd::afxdp
