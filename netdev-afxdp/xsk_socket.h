// One AF_XDP socket bound to (interface, queue): its rx and tx rings, and its own fill and
// completion rings on a UMEM that other sockets of the same datapath thread may share.
//
// The ring operations are inline and batch-oriented; they never allocate and issue a syscall only
// for a wakeup the mode asks for (need_wakeup flags, busy polling). Kernel-side statistics (ring
// full/empty events) are read by the control thread with getsockopt(XDP_STATISTICS).
//
// Thread-safety: the ring operations belong to the socket's datapath thread; stats() and fd() may
// be called from the control thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <sys/socket.h>

#include "datapath/counters.h"
#include "datapath/util/result.h"
#include "umem.h"

extern "C" {
#include <linux/if_xdp.h>
#include <xdp/xsk.h>
}

namespace swd::afxdp {

using dp::port_counter;
using dp::queue_counters;

enum class wait_mode : uint8_t {
    spin, // busy loop on the rings; interrupts drive the driver ("AF_XDP" in the study)
    poll, // sleep in poll(2) until frames arrive ("AF_XDP poll")
    busy, // preferred busy polling: a syscall drives the driver's NAPI ("AF_XDP sysc")
};

struct socket_options {
    bool rx = true;          // false: a transmit-only socket (no rx ring)
    bool zero_copy = false;  // XDP_ZEROCOPY, else XDP_COPY
    bool need_wakeup = true; // XDP_USE_NEED_WAKEUP
    uint32_t ring_size = 2048;
    wait_mode wait = wait_mode::spin;
    uint32_t busy_poll_usecs = 20;
    uint32_t busy_poll_budget = 64;
};

class xsk_socket {
public:
    // Creates and binds the socket (socket, setsockopt of the rings, mmap, bind through libxdp;
    // setsockopt SO_PREFER_BUSY_POLL/SO_BUSY_POLL/SO_BUSY_POLL_BUDGET in busy mode).
    static result<std::unique_ptr<xsk_socket>> create(umem& u, const std::string& ifname,
                                                      uint32_t queue, const socket_options& o);
    ~xsk_socket();
    xsk_socket(const xsk_socket&) = delete;
    xsk_socket& operator=(const xsk_socket&) = delete;

    int fd() const noexcept { return xsk_socket__fd(xsk_); }
    uint32_t queue() const noexcept { return queue_; }
    umem& frames() noexcept { return umem_; }
    const socket_options& options() const noexcept { return opts_; }
    queue_counters& counters() noexcept { return counters_; }
    const queue_counters& counters() const noexcept { return counters_; }

    // --- receive -------------------------------------------------------------------------
    uint32_t rx_peek(uint32_t max, uint32_t& idx) noexcept {
        return xsk_ring_cons__peek(&rx_, max, &idx);
    }
    const xdp_desc* rx_desc(uint32_t idx) const noexcept {
        return xsk_ring_cons__rx_desc(&rx_, idx);
    }
    void rx_release(uint32_t n) noexcept { xsk_ring_cons__release(&rx_, n); }

    // Moves free frames into the fill ring, as many as both have room for. In need_wakeup mode
    // it kicks the kernel (recvfrom) when the fill ring asks for it.
    void refill() noexcept;

    // --- transmit ------------------------------------------------------------------------
    // Queues one frame (an address in this socket's UMEM); false when the tx ring is full.
    bool tx_enqueue(uint64_t addr, uint32_t len) noexcept {
        uint32_t idx;
        if (xsk_ring_prod__reserve(&tx_, 1, &idx) != 1) {
            return false;
        }
        xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx);
        d->addr = addr;
        d->len = len;
        tx_pending_++;
        return true;
    }
    // Publishes queued frames and kicks the kernel when the mode needs it (sendto).
    void tx_flush() noexcept;
    // The last tx_flush() left frames in the tx ring (the device pushed back, or more than its
    // kicks send): flush again even with nothing new queued, or they wait for the next output.
    bool tx_backlog() const noexcept { return tx_backlog_; }
    // Returns completed tx frames to the UMEM's free stack.
    void complete() noexcept;
    uint32_t tx_in_flight() const noexcept { return tx_in_flight_; }

    // Drives the driver's NAPI from user space (busy mode): recvfrom(MSG_DONTWAIT).
    void busy_poll() noexcept;

    // Kernel statistics of the socket (getsockopt XDP_STATISTICS); zeros when unavailable.
    xdp_statistics stats() const noexcept;

private:
    static constexpr unsigned max_tx_kicks = 16; // per flush, in copy mode: 512+ descriptors
    xsk_socket(umem& u) : umem_(u) {}

    umem& umem_;
    socket_options opts_;
    uint32_t queue_ = 0;
    ::xsk_socket* xsk_ = nullptr;
    xsk_ring_cons rx_{};
    xsk_ring_prod tx_{};
    xsk_ring_prod fill_{};
    xsk_ring_cons comp_{};
    uint32_t tx_pending_ = 0;   // reserved, not yet submitted
    uint32_t tx_in_flight_ = 0; // submitted, not yet completed
    bool tx_backlog_ = false;
    queue_counters counters_;
};

} // namespace swd::afxdp
