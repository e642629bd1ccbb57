// NIC flow steering through the ethtool ioctl: "ntuple" (Flow Director, n-tuple) filters, each
// sending the frames of one flow to one receive queue (ETHTOOL_SRXCLSRLINS / SRXCLSRLDEL).
//
// ethtool_channel is the ioctl behind an interface, so that tests can stand in for a NIC: veth
// and most virtual devices have no filters (the ioctl says EOPNOTSUPP). A filter is an RAII
// object: its destructor deletes it from the NIC. A filter outlives a crash of swd, like any
// ethtool setting (`ethtool -n DEV` lists them, `ethtool -N DEV delete LOC` removes one).
// Control plane only.
#pragma once

#include <cstdint>
#include <linux/ethtool.h>
#include <memory>
#include <string>

#include "datapath/flow_key.h"
#include "datapath/util/result.h"

namespace swd::afxdp {

class ethtool_channel {
public:
    virtual ~ethtool_channel() = default;
    // SIOCETHTOOL on the interface; cmd points at an ethtool command structure (its first word
    // is the command). Returns 0 or an errno.
    virtual int call(const std::string& ifname, void* cmd) = 0;
};

// The kernel's: an AF_INET datagram socket for the ioctl.
result<std::unique_ptr<ethtool_channel>> kernel_ethtool();

// The interface's driver ("veth", "ice", ...: ETHTOOL_GDRVINFO).
result<std::string> driver_name(ethtool_channel& channel, const std::string& ifname);

// The filter that matches what m matches on IPv4 or IPv6 (addresses and prefixes, ports and
// port masks, protocol, ToS / traffic class) and sends it to queue; location is left for
// ntuple_table::insert. An error says which part of the match a filter cannot hold (VLAN, MAC
// addresses, TTL, fragments, TCP flags, ICMP type/code, non-IP). in_port is not part of a filter:
// a filter goes on the port(s) the rule's flows arrive on.
result<ethtool_rx_flow_spec> ntuple_spec_of(const dp::flow_match& m, uint32_t queue);

// "udp4 dst 10.0.0.20/32 dst-port 53 -> queue 2", for logs and show.
std::string describe(const ethtool_rx_flow_spec& fs);

// The filter table of one port.
class ntuple_table {
public:
    // Asks for the table (ETHTOOL_GRXCLSRLCNT); an error means the port has no filters.
    static result<std::unique_ptr<ntuple_table>> open(ethtool_channel& channel,
                                                      const std::string& ifname);

    // Installs fs at a free location (the driver's choice where it offers one, else the highest
    // free index, as ethtool does) and returns the location.
    result<uint32_t> insert(ethtool_rx_flow_spec fs);
    // Deletes the filter at location; a failure is logged (nothing else can be done).
    void remove(uint32_t location) noexcept;

    const std::string& ifname() const noexcept { return ifname_; }
    uint32_t capacity() const noexcept { return capacity_; }

private:
    ntuple_table(ethtool_channel& c, std::string ifname)
        : channel_(&c), ifname_(std::move(ifname)) {}
    result<uint32_t> free_location();

    ethtool_channel* channel_;
    std::string ifname_;
    uint32_t capacity_ = 0;
    bool driver_chooses_ = false; // RX_CLS_LOC_SPECIAL: the driver picks for RX_CLS_LOC_ANY
};

// One installed filter; deleted from the NIC when destroyed. The table must outlive it.
class ntuple_filter {
public:
    static result<std::unique_ptr<ntuple_filter>> install(ntuple_table& table,
                                                          const ethtool_rx_flow_spec& fs);
    ~ntuple_filter() { table_->remove(location_); }
    ntuple_filter(const ntuple_filter&) = delete;
    ntuple_filter& operator=(const ntuple_filter&) = delete;

    uint32_t location() const noexcept { return location_; }

private:
    ntuple_filter(ntuple_table& t, uint32_t loc) : table_(&t), location_(loc) {}
    ntuple_table* table_;
    uint32_t location_;
};

} // namespace swd::afxdp
