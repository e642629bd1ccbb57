// afxdp_sender: the fallback when live frames are not available (see sender.h).
//
// Copy mode on a veth transmits synchronously inside sendto(2) (one skb per frame), so this
// mode reaches about 1 Mpps; it exists so swgen works on any device and kernel with AF_XDP.
// Each UMEM frame starts as a copy of the template; when a frame is reused it is rewritten to
// the next flow with set_flow(), so every flow count works with a fixed-size UMEM.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>

extern "C" {
#include <xdp/xsk.h>
}

#include "tools/swgen/sender.h"

namespace swd::swgen {

namespace {

constexpr uint32_t n_frames = 4096;
constexpr uint32_t frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE;
constexpr uint32_t tx_ring_size = 2048;
constexpr uint32_t comp_ring_size = 4096;
constexpr uint32_t fill_ring_size = 64; // required by the UMEM; swgen never receives

// Sole owner of an anonymous mapping.
class mmap_region {
public:
    mmap_region() = default;
    mmap_region(void* p, size_t len) noexcept : p_(p), len_(len) {}
    mmap_region(mmap_region&& o) noexcept
        : p_(std::exchange(o.p_, nullptr)), len_(std::exchange(o.len_, 0)) {}
    mmap_region& operator=(mmap_region&& o) noexcept {
        if (this != &o) {
            reset();
            p_ = std::exchange(o.p_, nullptr);
            len_ = std::exchange(o.len_, 0);
        }
        return *this;
    }
    mmap_region(const mmap_region&) = delete;
    mmap_region& operator=(const mmap_region&) = delete;
    ~mmap_region() { reset(); }

    // mmap(2) of len bytes of private anonymous memory.
    static result<mmap_region> map(size_t len) {
        void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            return fail(errno_error(errno, "mmap UMEM"));
        }
        return mmap_region(p, len);
    }

    uint8_t* data() const noexcept { return static_cast<uint8_t*>(p_); }
    size_t size() const noexcept { return len_; }
    void reset() noexcept {
        if (p_ != nullptr) {
            ::munmap(p_, len_);
        }
        p_ = nullptr;
        len_ = 0;
    }

private:
    void* p_ = nullptr;
    size_t len_ = 0;
};

struct umem_deleter {
    void operator()(xsk_umem* u) const noexcept { xsk_umem__delete(u); }
};
struct xsk_deleter {
    void operator()(xsk_socket* s) const noexcept { xsk_socket__delete(s); }
};
using umem_ptr = std::unique_ptr<xsk_umem, umem_deleter>;
using xsk_ptr = std::unique_ptr<xsk_socket, xsk_deleter>;

class afxdp_sender final : public sender {
public:
    explicit afxdp_sender(const sender_config& cfg) : cfg_(cfg) {}

    result<void> open(const std::vector<uint8_t>& frame) {
        auto area = mmap_region::map(static_cast<size_t>(n_frames) * frame_size);
        if (!area) {
            return fail(std::move(area).err());
        }
        area_ = std::move(*area);
        for (uint32_t i = 0; i < n_frames; i++) {
            std::memcpy(area_.data() + static_cast<size_t>(i) * frame_size, frame.data(),
                        frame.size());
            free_.push_back(static_cast<uint64_t>(i) * frame_size);
        }
        len_ = static_cast<uint32_t>(frame.size());

        xsk_umem_config ucfg{};
        ucfg.fill_size = fill_ring_size;
        ucfg.comp_size = comp_ring_size;
        ucfg.frame_size = frame_size;
        ucfg.frame_headroom = 0;
        xsk_umem* u = nullptr;
        if (int err = xsk_umem__create(&u, area_.data(), area_.size(), &fill_, &comp_, &ucfg);
            err != 0) {
            return fail(errno_error(-err, "register UMEM"));
        }
        umem_.reset(u);

        xsk_socket_config scfg{};
        scfg.rx_size = 0;
        scfg.tx_size = tx_ring_size;
        scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
        scfg.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
        xsk_socket* s = nullptr;
        if (int err =
                xsk_socket__create(&s, cfg_.dev.c_str(), 0, umem_.get(), nullptr, &tx_, &scfg);
            err != 0) {
            return fail(errno_error(-err, "bind AF_XDP socket to " + cfg_.dev + " queue 0"));
        }
        xsk_.reset(s);
        return {};
    }

    result<uint64_t> send(uint64_t n, const std::atomic<bool>& stop) override {
        const uint64_t target = submitted_ + n;
        const uint64_t before = completed_;
        auto last_progress = std::chrono::steady_clock::now();
        while (completed_ < target) {
            const uint64_t done = completed_;
            reclaim();
            if (completed_ != done) {
                last_progress = std::chrono::steady_clock::now();
            } else if (std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(1)) {
                return fail(errc::limit,
                            "AF_XDP transmit on " + cfg_.dev + " stalled: no completion for 1 s");
            }
            if (submitted_ < target && !stop.load(std::memory_order_relaxed)) {
                submit(target - submitted_);
            }
            if (submitted_ == completed_) {
                break; // nothing in flight: done, or stopped
            }
            if (auto r = kick(); !r) {
                return fail(r.err());
            }
            if (stop.load(std::memory_order_relaxed) && !drain_deadline_set_) {
                // Stopped: wait a moment for what is in flight, then give up on it.
                drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
                drain_deadline_set_ = true;
            }
            if (drain_deadline_set_ && std::chrono::steady_clock::now() > drain_deadline_) {
                break;
            }
        }
        return completed_ - before;
    }

    uint64_t total() const noexcept override { return completed_; }
    const char* mode() const noexcept override { return "afxdp"; }

private:
    void reclaim() noexcept {
        __u32 idx = 0;
        const __u32 k = xsk_ring_cons__peek(&comp_, comp_ring_size, &idx);
        for (__u32 i = 0; i < k; i++) {
            free_.push_back(*xsk_ring_cons__comp_addr(&comp_, idx + i));
        }
        if (k > 0) {
            xsk_ring_cons__release(&comp_, k);
        }
        completed_ += k;
    }

    void submit(uint64_t want) noexcept {
        const auto n = static_cast<__u32>(
            std::min<uint64_t>({want, free_.size(), static_cast<uint64_t>(cfg_.batch)}));
        __u32 idx = 0;
        const __u32 got = n == 0 ? 0 : xsk_ring_prod__reserve(&tx_, n, &idx);
        for (__u32 i = 0; i < got; i++) {
            const uint64_t addr = free_.back();
            free_.pop_back();
            if (cfg_.flows.n_flows > 1) {
                set_flow({area_.data() + addr, len_}, cfg_.frame, cfg_.flows, next_flow_);
                next_flow_ = next_flow_ + 1 < cfg_.flows.n_flows ? next_flow_ + 1 : 0;
            }
            xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx + i);
            d->addr = addr;
            d->len = len_;
            d->options = 0;
        }
        if (got > 0) {
            xsk_ring_prod__submit(&tx_, got);
            submitted_ += got;
        }
    }

    // sendto(2) kick; copy mode transmits inside the call.
    result<void> kick() noexcept {
        if (!xsk_ring_prod__needs_wakeup(&tx_)) {
            return {};
        }
        if (::sendto(xsk_socket__fd(xsk_.get()), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0) {
            switch (errno) {
            case EAGAIN:
            case EBUSY:
            case ENOBUFS:
            case EINTR:
                break; // transient: completions free space, try again
            default:
                return fail(errno_error(errno, "sendto AF_XDP " + cfg_.dev));
            }
        }
        return {};
    }

    sender_config cfg_;
    // Destruction runs bottom-up: socket, then UMEM registration, then the mapping.
    mmap_region area_;
    xsk_ring_prod fill_{};
    xsk_ring_cons comp_{};
    xsk_ring_prod tx_{};
    umem_ptr umem_;
    xsk_ptr xsk_;
    std::vector<uint64_t> free_;
    uint32_t len_ = 0;
    uint32_t next_flow_ = 0;
    uint64_t submitted_ = 0;
    uint64_t completed_ = 0;
    bool drain_deadline_set_ = false;
    std::chrono::steady_clock::time_point drain_deadline_{};
};

} // namespace

result<std::unique_ptr<sender>> open_afxdp_sender(const sender_config& cfg,
                                                  std::vector<uint8_t> frame) {
    if (frame.size() > frame_size) {
        return fail(errc::invalid_input, "frame larger than an AF_XDP UMEM frame");
    }
    auto s = std::make_unique<afxdp_sender>(cfg);
    if (auto r = s->open(frame); !r) {
        return fail(with_context(std::move(r).err(), "AF_XDP"));
    }
    return std::unique_ptr<sender>(std::move(s));
}

} // namespace swd::swgen
