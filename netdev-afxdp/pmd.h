// A polling datapath thread ("PMD", as in Open vSwitch): it owns a set of AF_XDP sockets and the
// UMEMs they share, receives batches from its rx sockets, runs them through the executor, and
// transmits on its own tx socket of each port.
//
// Queue model: with N threads, thread t transmits on queue t of every port and receives on the
// served queues q with q % N == t. So no two threads ever touch one ring, and a frame moves from
// an rx ring to a tx ring of the same thread without a lock. Sockets of one thread share a UMEM
// when their bind modes agree (copy/zero-copy, need_wakeup): forwarding between them hands the
// frame over without a copy; between UMEMs the frame is copied.
//
// Thread-safety: setup (add_*) on the control thread before start(); stop() joins. The counters
// are read by the control thread while the thread runs (relaxed atomics, see counters.h).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "datapath/executor.h"
#include "datapath/publisher.h"
#include "xsk_socket.h"

namespace swd::afxdp {

inline constexpr uint16_t local_ofport = 0xfffe; // OpenFlow's OFPP_LOCAL

class pmd {
public:
    pmd(size_t index, int cpu, dp::pipeline_publisher& publisher);
    ~pmd(); // stops the thread, then closes sockets before their UMEMs
    pmd(const pmd&) = delete;
    pmd& operator=(const pmd&) = delete;

    // Opens a socket of this thread on (ifname, queue). rx: it is also polled for receiving.
    // tx: it is this thread's transmit socket of the port. The UMEM is shared with earlier
    // sockets of the same bind mode.
    // sockets_in_mode: how many sockets of this bind mode the thread will have, to size a UMEM
    // created now.
    result<xsk_socket*> add_socket(uint16_t ofport, const std::string& ifname, uint32_t queue,
                                   bool rx, bool tx, const socket_options& o,
                                   uint32_t sockets_in_mode);
    // Frames sent to the local port get this destination MAC (the host side of the veth), so that
    // the kernel takes them as its own.
    void set_local_mac(const std::array<uint8_t, 6>& mac) { local_mac_ = mac; }

    void start();
    void stop();

    size_t index() const { return index_; }
    int cpu() const { return cpu_; }
    dp::thread_state& state() { return *ts_; }
    const std::vector<std::unique_ptr<xsk_socket>>& sockets() const { return sockets_; }
    // ofport of each socket, parallel to sockets().
    const std::vector<uint16_t>& socket_ports() const { return socket_ports_; }

    // The thread's own clock, for swctl calibrate (netdev-afxdp/calibrator.h): while on, each
    // round that received packets adds its time (with the busy-poll call before it: the
    // driver's work for those packets) and the time of its executor runs and transmit flushes.
    // Off by default: two clock reads per batch are not free.
    struct busy_time {
        dp::counter round_ns, exec_ns, flush_ns, rx_packets, tx_packets;
    };
    void set_timing(bool on) { timing_.store(on, std::memory_order_relaxed); }
    const busy_time& timing() const { return busy_; }

private:
    struct out_port {
        xsk_socket* tx = nullptr;
        uint32_t queued = 0;       // frames queued since the last flush (0: nothing to kick)
        uint64_t queued_bytes = 0; // counted as tx_packets/tx_bytes at the flush
    };

    // The executor's sink: outputs into this thread's tx sockets.
    class sink {
    public:
        explicit sink(pmd& p) : p_(p) {}
        void output(uint16_t port, uint16_t queue, dp::packet& pkt, bool take) noexcept;
        void local(dp::packet& pkt, bool take) noexcept;
        void release(dp::packet& pkt) noexcept { rx->frames().release(pkt.frame); }
        xsk_socket* rx = nullptr; // the socket the current batch came from

    private:
        void send(out_port& out, dp::packet& pkt, bool take, const uint8_t* dst_mac) noexcept;
        pmd& p_;
    };

    void run() noexcept;
    void flush() noexcept;
    void wait_for_frames() noexcept;

    size_t index_;
    int cpu_;
    dp::pipeline_publisher& publisher_;
    std::vector<std::unique_ptr<umem>> umems_; // declared before sockets: destroyed after them
    std::vector<std::unique_ptr<xsk_socket>> sockets_;
    std::vector<uint16_t> socket_ports_;
    std::vector<xsk_socket*> rx_;
    std::vector<uint16_t> rx_ports_; // ofport of each rx socket
    std::vector<out_port> out_;      // by index below
    std::vector<int32_t> out_index_; // ofport -> index in out_, -1: none
    std::array<uint8_t, 6> local_mac_{};
    std::unique_ptr<dp::thread_state> ts_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> timing_{false};
    busy_time busy_;
    bool block_when_idle_ = true; // every rx socket is in poll mode
    std::thread thread_;
};

} // namespace swd::afxdp
