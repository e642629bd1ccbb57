// The values of a BPF array map created with BPF_F_MMAPABLE, mapped into this process: user
// space writes them with plain and atomic stores while programs read them, without a syscall.
#pragma once

#include <cstddef>

#include "datapath/util/result.h"

namespace swd::afxdp {

class map_memory {
public:
    // Maps the first bytes of the values of the map fd; what says which map, for the error.
    static result<map_memory> map(int fd, size_t bytes, const char* what);
    map_memory() = default;
    map_memory(map_memory&& o) noexcept;
    map_memory& operator=(map_memory&& o) noexcept;
    map_memory(const map_memory&) = delete;
    map_memory& operator=(const map_memory&) = delete;
    ~map_memory();

    template <class T>
    T* as() const {
        return static_cast<T*>(base_);
    }

private:
    void* base_ = nullptr;
    size_t length_ = 0;
};

} // namespace swd::afxdp
