// Network-interface facts and settings that AF_XDP ports need, and the veth pair that carries
// `local` traffic into this host's kernel stack.
//
// Thread-safety: control thread only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"

namespace swd::afxdp {

struct netdev_info {
    int ifindex = 0;
    uint32_t rx_queues = 1; // /sys/class/net/NAME/queues/rx-*
    uint32_t tx_queues = 1;
    std::array<uint8_t, 6> mac{};
};

result<netdev_info> query_netdev(const std::string& name);

// Writes a value under /sys/class/net/NAME/ and puts the old value back on destruction (the
// busy-poll mode's napi_defer_hard_irqs and gro_flush_timeout).
class sysfs_setting {
public:
    static result<std::unique_ptr<sysfs_setting>>
    set(const std::string& ifname, const std::string& file, const std::string& value);
    ~sysfs_setting();
    sysfs_setting(const sysfs_setting&) = delete;
    sysfs_setting& operator=(const sysfs_setting&) = delete;

private:
    sysfs_setting() = default;
    std::string path_, old_;
};

// A veth pair created by swd (rtnetlink RTM_NEWLINK) and deleted when this object goes (deleting
// one end deletes both). Both ends are brought up.
class veth_pair {
public:
    static result<std::unique_ptr<veth_pair>> create(const std::string& name,
                                                     const std::string& peer, uint32_t queues);
    ~veth_pair();
    veth_pair(const veth_pair&) = delete;
    veth_pair& operator=(const veth_pair&) = delete;

    const std::string& name() const { return name_; }
    const std::string& peer() const { return peer_; }

private:
    veth_pair() = default;
    std::string name_, peer_;
};

// An exclusive claim on a name within this network namespace (a flock on a file under /run/swd,
// which the kernel releases when the process ends, even by SIGKILL). It tells a local port left
// behind by a killed swd, which may be removed, from one that a running swd uses.
class name_claim {
public:
    static result<std::unique_ptr<name_claim>> acquire(const std::string& name);
    name_claim(const name_claim&) = delete;
    name_claim& operator=(const name_claim&) = delete;

private:
    name_claim() = default;
    unique_fd fd_;
};

// Deletes a network interface (and, for a veth, its peer).
result<void> delete_link(const std::string& name);

} // namespace swd::afxdp
