#include "tools/swgen/netdev_info.h"

#include <cerrno>
#include <cstring>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "datapath/util/unique_fd.h"

namespace swd::swgen {

result<netdev_info> query_netdev(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) {
        return fail(errc::invalid_input,
                    "invalid device name '" + name + "': expected 1-15 characters");
    }
    netdev_info info;
    info.ifindex = if_nametoindex(name.c_str());
    if (info.ifindex == 0) {
        return fail(errc::not_found, "no device '" + name + "' in this network namespace");
    }
    unique_fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) {
        return fail(errno_error(errno, "socket(AF_INET)"));
    }
    ifreq req{};
    std::memcpy(req.ifr_name, name.c_str(), name.size());
    if (::ioctl(sock.get(), SIOCGIFHWADDR, &req) != 0) {
        return fail(errno_error(errno, "SIOCGIFHWADDR " + name));
    }
    std::memcpy(info.mac.data(), req.ifr_hwaddr.sa_data, info.mac.size());
    if (::ioctl(sock.get(), SIOCGIFMTU, &req) != 0) {
        return fail(errno_error(errno, "SIOCGIFMTU " + name));
    }
    info.mtu = static_cast<unsigned>(req.ifr_mtu);
    ethtool_drvinfo drv{};
    drv.cmd = ETHTOOL_GDRVINFO;
    req.ifr_data = reinterpret_cast<char*>(&drv);
    if (::ioctl(sock.get(), SIOCETHTOOL, &req) == 0) {
        info.driver.assign(drv.driver, strnlen(drv.driver, sizeof(drv.driver)));
    }
    return info;
}

result<netdev_stats> read_netdev_stats(const std::string& name) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return fail(errno_error(errno, "getifaddrs"));
    }
    result<netdev_stats> out = fail(errc::not_found, "no link statistics for " + name);
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr != nullptr && a->ifa_addr->sa_family == AF_PACKET &&
            a->ifa_data != nullptr && name == a->ifa_name) {
            const auto* s = static_cast<const rtnl_link_stats*>(a->ifa_data);
            out = netdev_stats{s->tx_packets, s->tx_dropped};
            break;
        }
    }
    ::freeifaddrs(list);
    return out;
}

} // namespace swd::swgen
