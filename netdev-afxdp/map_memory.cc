#include "map_memory.h"

#include <cerrno>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>

namespace swd::afxdp {

result<map_memory> map_memory::map(int fd, size_t bytes, const char* what) {
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    map_memory m;
    m.length_ = (bytes + page - 1) / page * page;
    void* p = ::mmap(nullptr, m.length_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        return fail(errno_error(errno, fmt::format("map {} into memory", what)));
    }
    m.base_ = p;
    return m;
}

map_memory::map_memory(map_memory&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), length_(std::exchange(o.length_, 0)) {}

map_memory& map_memory::operator=(map_memory&& o) noexcept {
    if (this != &o) {
        if (base_ != nullptr) {
            ::munmap(base_, length_);
        }
        base_ = std::exchange(o.base_, nullptr);
        length_ = std::exchange(o.length_, 0);
    }
    return *this;
}

map_memory::~map_memory() {
    if (base_ != nullptr) {
        ::munmap(base_, length_);
    }
}

} // namespace swd::afxdp
