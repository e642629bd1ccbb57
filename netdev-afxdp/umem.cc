#include "umem.h"

#include <cerrno>
#include <sys/mman.h>

namespace swd::afxdp {

result<std::unique_ptr<umem>> umem::create(const config& cfg) {
    if (cfg.frames == 0 || (cfg.frame_size & (cfg.frame_size - 1)) != 0 || cfg.frame_size < 2048) {
        return fail(errc::invalid_input, "umem: frames must be > 0 and the frame size a power of "
                                         "two of at least 2048");
    }
    std::unique_ptr<umem> u(new umem());
    u->cfg_ = cfg;
    u->area_len_ = static_cast<size_t>(cfg.frames) * cfg.frame_size;
    void* area = ::mmap(nullptr, u->area_len_, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    u->huge_ = area != MAP_FAILED;
    if (area == MAP_FAILED) {
        area = ::mmap(nullptr, u->area_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    }
    if (area == MAP_FAILED) {
        return fail(errno_error(errno, "umem: mmap of " + std::to_string(u->area_len_) + " bytes"));
    }
    u->area_ = static_cast<uint8_t*>(area);

    xsk_umem_config ucfg{};
    ucfg.fill_size = cfg.ring_size;
    ucfg.comp_size = cfg.ring_size;
    ucfg.frame_size = cfg.frame_size;
    ucfg.frame_headroom = XSK_UMEM__DEFAULT_FRAME_HEADROOM;
    ucfg.flags = XSK_UMEM__DEFAULT_FLAGS;
    int rc = xsk_umem__create(&u->umem_, u->area_, u->area_len_, &u->fill_, &u->comp_, &ucfg);
    if (rc != 0) {
        u->umem_ = nullptr;
        return fail(errno_error(-rc, "umem: register with the kernel (XDP_UMEM_REG)"));
    }
    u->free_.reserve(cfg.frames);
    for (uint32_t i = cfg.frames; i-- > 0;) {
        u->free_.push_back(static_cast<uint64_t>(i) * cfg.frame_size);
    }
    return u;
}

umem::~umem() {
    if (umem_) {
        xsk_umem__delete(umem_);
    }
    if (area_) {
        ::munmap(area_, area_len_);
    }
}

} // namespace swd::afxdp
