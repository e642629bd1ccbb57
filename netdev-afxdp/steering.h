// Queue steering: a rule's queue=N (or set_queue:N in table 0) asks for its flows on receive
// queue N, the study's Takeaway 6: pass-through flows on queues of their own, which the XDP
// dispatcher hands to user space by the queue index alone.
//
// For each request of the pipeline (dp::steering_request), on each port the rule's flows can
// arrive on (its in_port, else every port but the local one):
//  - ntuple: where the port has a filter table and the match fits a filter (ntuple.h), an ntuple
//    filter sends the flows to queue N, and queue N is marked "user" in the port's queue map while
//    a filter points at it. The queue must be one swd serves (an AF_XDP socket), not a
//    kernel-queue.
//  - xdp: otherwise (veth has no filters; a full table; a match a filter cannot hold) the XDP
//    search steers: a steered rule runs in user space (flows/placement.h), so the dispatcher
//    sends its flows to the AF_XDP socket of whatever queue they arrive on. The reason is logged
//    once per port and shown by dump-flows.
// Either way every steered packet is classified by the whole table in user space, so steering
// changes where a flow is processed, never what happens to it; overlapping filters whose NIC
// order differs from the rules' priorities cost speed, not correctness.
//
// Filters go when their rule goes or its request changes, and when this object is destroyed
// (swd stops). Control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "datapath/classifier.h"
#include "ntuple.h"

namespace swd::afxdp {

struct steering_port {
    std::string name;
    uint16_t ofport = 0;
    std::vector<uint32_t> served;                           // receive queues with an AF_XDP socket
    std::vector<std::pair<uint32_t, uint32_t>> queue_modes; // as configured (enum swd_queue_mode)
    // Writes the dispatcher's queue map of the port.
    std::function<result<void>(uint32_t queue, uint32_t mode)> set_queue_mode;
};

class steering {
public:
    // Opens the filter table of each port (none for a port whose ioctl fails). channel must
    // outlive this object.
    steering(ethtool_channel& channel, std::vector<steering_port> ports);
    steering(const steering&) = delete;
    steering& operator=(const steering&) = delete;

    // Makes the installed filters those of requests (sorted by rule id): new and changed
    // requests get theirs, filters of requests that are gone are deleted.
    void apply(const std::vector<dp::steering_request>& requests);

    // How rule_id's request is in force, port by port: "ntuple:eth0/q2,xdp:eth1/q2"; "" when it
    // has none. detail() adds the filter and location or the reason for the fallback.
    std::string summary(uint32_t rule_id) const;
    std::string detail(uint32_t rule_id) const;
    // The port's filters, for show: "ntuple filters: 2 of 1024 (swd's)" or why it has none.
    std::string port_status(uint16_t ofport) const;
    size_t n_filters() const noexcept { return n_filters_; }

private:
    struct port_state {
        steering_port cfg;
        std::unique_ptr<ntuple_table> table; // null: no filters
        std::string no_table;                // why, when table is null
        bool told = false;                   // the fallback was logged
        std::map<uint32_t, uint32_t> marked; // queue -> filters pointing at it
        size_t filters = 0;
    };
    struct on_port {
        size_t port;
        std::unique_ptr<ntuple_filter> filter; // null: the XDP search steers
        std::string how;                       // filter description, or the fallback's reason
    };
    struct entry {
        dp::steering_request request;
        std::vector<on_port> ports;
    };

    entry install(const dp::steering_request& r);
    void uninstall(entry& e);
    // Why the port cannot take a filter to queue q ("" when it can).
    std::string refuse(const port_state& p, uint32_t q) const;
    uint32_t configured_mode(const port_state& p, uint32_t q) const;

    std::vector<port_state> ports_;
    std::unordered_map<uint32_t, entry> entries_; // by rule id; destroyed first: filters go
    size_t n_filters_ = 0;
};

} // namespace swd::afxdp
