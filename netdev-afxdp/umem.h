// UMEM: the packet buffer area that AF_XDP sockets receive into and transmit from.
//
// swd gives each datapath thread one UMEM and binds all of that thread's sockets to it
// (XDP_SHARED_UMEM, one fill and one completion ring per socket), so a frame received on one port
// can be transmitted on another without a copy. The UMEM keeps a stack of free frame addresses;
// frames move between that stack, the fill rings (kernel receives into them), the rx rings, the tx
// rings and the completion rings (kernel is done sending them).
//
// Thread-safety: owned by one datapath thread; create() and the destructor run on the control
// thread while the datapath thread is not running.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "datapath/util/result.h"

extern "C" {
#include <xdp/xsk.h>
}

namespace swd::afxdp {

class umem {
public:
    struct config {
        uint32_t frames = 16384;
        uint32_t frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE; // 4096
        uint32_t ring_size = 2048;                          // fill and completion rings
    };

    // mmap(2)s the area (huge pages when available, else normal pages) and registers it with
    // the kernel (setsockopt XDP_UMEM_REG through libxdp).
    static result<std::unique_ptr<umem>> create(const config& cfg);
    ~umem(); // xsk_umem__delete, then munmap
    umem(const umem&) = delete;
    umem& operator=(const umem&) = delete;

    uint8_t* data(uint64_t addr) noexcept { return area_ + addr; }
    uint32_t frame_size() const noexcept { return cfg_.frame_size; }
    uint32_t ring_size() const noexcept { return cfg_.ring_size; }

    // Free-frame stack. alloc() returns false when none is left.
    bool alloc(uint64_t& addr) noexcept {
        if (free_.empty()) {
            return false;
        }
        addr = free_.back();
        free_.pop_back();
        return true;
    }
    void release(uint64_t addr) noexcept {
        free_.push_back(addr & ~static_cast<uint64_t>(cfg_.frame_size - 1));
    }
    size_t n_free() const noexcept { return free_.size(); }
    uint32_t n_frames() const noexcept { return cfg_.frames; }

    xsk_umem* handle() noexcept { return umem_; }
    bool huge_pages() const noexcept { return huge_; }

private:
    umem() = default;
    config cfg_;
    uint8_t* area_ = nullptr;
    size_t area_len_ = 0;
    bool huge_ = false;
    xsk_umem* umem_ = nullptr;
    // The rings given to xsk_umem__create; libxdp hands them to the first socket.
    xsk_ring_prod fill_{};
    xsk_ring_cons comp_{};
    std::vector<uint64_t> free_; // capacity reserved up front: push_back never allocates
};

} // namespace swd::afxdp
