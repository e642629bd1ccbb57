#include "netdev.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <fstream>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datapath/util/log.h"
#include "datapath/util/unique_fd.h"

namespace swd::afxdp {

namespace {

uint32_t count_queues(const std::string& name, const char* prefix) {
    std::string dir = "/sys/class/net/" + name + "/queues";
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        return 1;
    }
    uint32_t n = 0;
    while (dirent* e = ::readdir(d)) {
        n += std::strncmp(e->d_name, prefix, std::strlen(prefix)) == 0 ? 1 : 0;
    }
    ::closedir(d);
    return n ? n : 1;
}

// A netlink request under construction: header, ifinfomsg and attributes.
class nl_request {
public:
    nl_request(uint16_t type, uint16_t flags) {
        hdr()->nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
        hdr()->nlmsg_type = type;
        hdr()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
        hdr()->nlmsg_seq = 1;
    }
    nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_); }
    ifinfomsg* ifi() { return static_cast<ifinfomsg*>(NLMSG_DATA(hdr())); }

    void put(uint16_t type, const void* data, size_t len) {
        auto* a = reinterpret_cast<rtattr*>(buf_ + NLMSG_ALIGN(hdr()->nlmsg_len));
        a->rta_type = type;
        a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
        if (len != 0) { // a nest's header has no data (and memcpy wants a pointer)
            std::memcpy(RTA_DATA(a), data, len);
        }
        hdr()->nlmsg_len = NLMSG_ALIGN(hdr()->nlmsg_len) + RTA_ALIGN(a->rta_len);
    }
    void put_str(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
    void put_u32(uint16_t type, uint32_t v) { put(type, &v, sizeof v); }
    // Starts a nested attribute; end() closes the innermost one.
    void begin(uint16_t type) {
        nests_[depth_++] = NLMSG_ALIGN(hdr()->nlmsg_len);
        put(type, nullptr, 0);
    }
    void end() {
        auto* a = reinterpret_cast<rtattr*>(buf_ + nests_[--depth_]);
        a->rta_len = static_cast<uint16_t>(hdr()->nlmsg_len - nests_[depth_]);
    }
    // Raw bytes appended as they are (the peer's ifinfomsg inside VETH_INFO_PEER).
    void put_raw(const void* data, size_t len) {
        std::memcpy(buf_ + NLMSG_ALIGN(hdr()->nlmsg_len), data, len);
        hdr()->nlmsg_len = NLMSG_ALIGN(hdr()->nlmsg_len) + static_cast<uint32_t>(NLMSG_ALIGN(len));
    }

    // Sends the request and waits for the kernel's acknowledgement.
    result<void> send(const std::string& what) {
        unique_fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
        if (!fd) {
            return fail(errno_error(errno, what + ": netlink socket"));
        }
        sockaddr_nl sa{};
        sa.nl_family = AF_NETLINK;
        if (::sendto(fd.get(), buf_, hdr()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&sa),
                     sizeof sa) < 0) {
            return fail(errno_error(errno, what));
        }
        alignas(nlmsghdr) char reply[4096];
        ssize_t n = ::recv(fd.get(), reply, sizeof reply, 0);
        if (n < 0) {
            return fail(errno_error(errno, what));
        }
        auto* h = reinterpret_cast<nlmsghdr*>(reply);
        if (h->nlmsg_type == NLMSG_ERROR) {
            auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
            if (e->error != 0) {
                return fail(errno_error(-e->error, what));
            }
        }
        return {};
    }

private:
    alignas(nlmsghdr) char buf_[1024] = {};
    size_t nests_[8] = {};
    int depth_ = 0;
};

result<void> set_up(const std::string& name) {
    unique_fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (!fd || ::ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0) {
        return fail(errno_error(errno, "read flags of " + name));
    }
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(fd.get(), SIOCSIFFLAGS, &ifr) != 0) {
        return fail(errno_error(errno, "bring up " + name));
    }
    return {};
}

} // namespace

result<netdev_info> query_netdev(const std::string& name) {
    netdev_info info;
    info.ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (info.ifindex == 0) {
        return fail(errno_error(errno, "interface " + name));
    }
    info.rx_queues = count_queues(name, "rx-");
    info.tx_queues = count_queues(name, "tx-");
    unique_fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (fd && ::ioctl(fd.get(), SIOCGIFHWADDR, &ifr) == 0) {
        std::memcpy(info.mac.data(), ifr.ifr_hwaddr.sa_data, 6);
    }
    return info;
}

result<std::unique_ptr<sysfs_setting>>
sysfs_setting::set(const std::string& ifname, const std::string& file, const std::string& value) {
    std::unique_ptr<sysfs_setting> s(new sysfs_setting());
    s->path_ = "/sys/class/net/" + ifname + "/" + file;
    {
        std::ifstream in(s->path_);
        if (!in || !std::getline(in, s->old_)) {
            return fail(errno_error(errno ? errno : ENOENT, "read " + s->path_));
        }
    }
    std::ofstream out(s->path_);
    if (!(out << value) || !out.flush()) {
        s->path_.clear(); // nothing to restore
        return fail(
            errno_error(errno ? errno : EIO, "write " + value + " to " + file + " of " + ifname));
    }
    return s;
}

sysfs_setting::~sysfs_setting() {
    if (!path_.empty()) {
        std::ofstream out(path_);
        out << old_;
    }
}

result<std::unique_ptr<veth_pair>> veth_pair::create(const std::string& name,
                                                     const std::string& peer, uint32_t queues) {
    nl_request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    req.put_str(IFLA_IFNAME, name);
    req.put_u32(IFLA_NUM_TX_QUEUES, queues);
    req.put_u32(IFLA_NUM_RX_QUEUES, queues);
    req.begin(IFLA_LINKINFO);
    req.put_str(IFLA_INFO_KIND, "veth");
    req.begin(IFLA_INFO_DATA);
    req.begin(VETH_INFO_PEER);
    ifinfomsg peer_ifi{};
    req.put_raw(&peer_ifi, sizeof peer_ifi);
    req.put_str(IFLA_IFNAME, peer);
    req.put_u32(IFLA_NUM_TX_QUEUES, queues);
    req.put_u32(IFLA_NUM_RX_QUEUES, queues);
    req.end();
    req.end();
    req.end();
    if (auto r = req.send("create veth pair " + name + "/" + peer); !r) {
        return fail(std::move(r).err());
    }
    std::unique_ptr<veth_pair> v(new veth_pair());
    v->name_ = name;
    v->peer_ = peer;
    for (const auto* n : {&name, &peer}) {
        if (auto r = set_up(*n); !r) {
            return fail(std::move(r).err());
        }
    }
    return v;
}

veth_pair::~veth_pair() {
    if (auto r = delete_link(name_); !r) {
        log::warn("{}", r.err().message());
    }
}

result<void> delete_link(const std::string& name) {
    nl_request req(RTM_DELLINK, 0);
    req.put_str(IFLA_IFNAME, name);
    return req.send("delete " + name);
}

result<std::unique_ptr<name_claim>> name_claim::acquire(const std::string& name) {
    struct stat netns {};
    if (::stat("/proc/self/ns/net", &netns) != 0) {
        return fail(errno_error(errno, "claim " + name + ": /proc/self/ns/net"));
    }
    ::mkdir("/run/swd", 0700);
    const std::string path = fmt::format("/run/swd/{}-netns{}.lock", name, netns.st_ino);
    std::unique_ptr<name_claim> c(new name_claim());
    c->fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!c->fd_) {
        return fail(errno_error(errno, "claim " + name + ": " + path));
    }
    if (::flock(c->fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            return fail(errc::exists, name + " is in use by another swd in this network namespace");
        }
        return fail(errno_error(errno, "claim " + name + ": lock " + path));
    }
    return c;
}

} // namespace swd::afxdp
