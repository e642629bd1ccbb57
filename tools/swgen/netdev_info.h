// netdev_info: what swgen needs to know about the sending device, read in the caller's
// network namespace (ioctl on an AF_INET socket and getifaddrs(3), never /sys, which may
// belong to another namespace).
//
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <string>

#include "datapath/util/result.h"
#include "tools/swgen/frame.h"

namespace swd::swgen {

struct netdev_info {
    unsigned ifindex = 0;
    mac_addr mac{};
    unsigned mtu = 0;
    std::string driver; // "veth", ...; empty when the device does not say
};

// if_nametoindex(3), ioctl(SIOCGIFHWADDR), ioctl(SIOCGIFMTU), ioctl(SIOCETHTOOL GDRVINFO). Fails
// with errc::not_found when there is no such device in this namespace.
result<netdev_info> query_netdev(const std::string& name);

// Device counters (struct rtnl_link_stats through getifaddrs(3), 32 bits wide: callers take
// differences modulo 2^32, so runs stay below 2^32 frames). A veth counts in tx_packets the
// frames its peer received, XDP frames included; XDP frames the peer refused are counted nowhere.
struct netdev_stats {
    uint32_t tx_packets = 0;
    uint32_t tx_dropped = 0;
};
result<netdev_stats> read_netdev_stats(const std::string& name);

} // namespace swd::swgen
