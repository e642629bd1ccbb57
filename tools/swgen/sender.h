// sender: one way of putting swgen's frames on a device.
//
//   live_sender   BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES running swd_xdp_tx
//                 (bpf/swgen_tx.bpf.c), whose XDP_TX sends each frame out of the device. On a
//                 veth the peer must carry an XDP program, or the peer drops the frames.
//   afxdp_sender  an AF_XDP socket in copy mode, transmit only, kicked with sendto(2).
//
// Both send flow (i mod N) as frame i and count what they sent themselves (the program's
// per-CPU counter; AF_XDP completions). The caller paces: it calls send() in chunks and
// sleeps or stops between them.
//
// Thread-safety: one thread. send() returns early once *stop is set (a signal handler sets it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datapath/util/result.h"
#include "tools/swgen/frame.h"

namespace swd::swgen {

struct sender_config {
    std::string dev;
    unsigned ifindex = 0;
    frame_spec frame;
    flow_spec flows;
    uint32_t batch = 64; // live: kernel batch_size (1-256); afxdp: frames per sendto kick
    uint64_t gap_ns = 0; // live: at least this long between two frames (0: no pacing)
};

class sender {
public:
    virtual ~sender() = default;
    // Sends up to n frames (n >= 1); returns how many went out. An error leaves the frames
    // already sent counted in total().
    virtual result<uint64_t> send(uint64_t n, const std::atomic<bool>& stop) = 0;
    virtual uint64_t total() const noexcept = 0;
    virtual const char* mode() const noexcept = 0;
};

// Loads swd_xdp_tx with the flow settings in its .rodata (bpf(BPF_PROG_LOAD), BPF_MAP_CREATE).
// Does not run it: a kernel without live frames fails in the first send(), with EINVAL.
result<std::unique_ptr<sender>> open_live_sender(const sender_config& cfg,
                                                 std::vector<uint8_t> frame);

// mmap(2)s a UMEM, copies the template into each frame, registers it and binds a transmit-only
// AF_XDP socket (XDP_COPY | XDP_USE_NEED_WAKEUP) to queue 0 of the device, without loading
// any XDP program.
result<std::unique_ptr<sender>> open_afxdp_sender(const sender_config& cfg,
                                                  std::vector<uint8_t> frame);

} // namespace swd::swgen
