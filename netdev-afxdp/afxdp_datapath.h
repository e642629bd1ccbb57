// The AF_XDP datapath: ports that are AF_XDP sockets, polled by PMD threads that classify and act
// on batches with the compiled rule table (datapath/executor.h).
//
// open() acquires every kernel resource before any thread starts, in an order whose reverse is
// safe: the local veth pair, per-port sysfs settings (busy-poll mode), XDP programs (BPF links),
// TC egress programs (TCX links; not on the local port, whose egress is swd's own traffic),
// then each thread's UMEMs and sockets (and their XSKMAP entries). Each is owned by an RAII object,
// so a failure half-way, a return from main or an exception releases all of them, and the BPF
// links mean a crash detaches the programs too. The destructor stops the threads first.
//
// Thread-safety: every method runs on the control thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "datapath/datapath.h"
#include "datapath/publisher.h"
#include "netdev.h"
#include "ntuple.h"
#include "pmd.h"
#include "steering.h"
#include "tc_program.h"
#include "xdp_program.h"
#include "xdp_tables.h"

namespace swd::afxdp {

enum class zc_mode { best_effort, zero_copy, copy };

struct port_config {
    std::string name;
    uint16_t ofport = 0;
    attach_mode attach = attach_mode::automatic;
    zc_mode zc = zc_mode::best_effort;
    bool need_wakeup = true;
    wait_mode wait = wait_mode::spin;
    uint32_t busy_poll_usecs = 20;
    uint32_t busy_poll_budget = 64;
    uint32_t napi_defer_hard_irqs = 2;   // written to sysfs in busy mode
    uint32_t gro_flush_timeout = 200000; // ns, written to sysfs in busy mode
    std::vector<uint32_t> queues;        // receive queues to serve; empty: all of them
    // (queue, enum swd_queue_mode) for the dispatcher's queue map; other queues search the rules.
    std::vector<std::pair<uint32_t, uint32_t>> queue_modes;
};

struct datapath_config {
    std::vector<port_config> ports;
    std::vector<int> pmd_cpus = {-1}; // one thread per entry; -1: not pinned
    std::string local_port = "swd0";  // veth to the host stack: NAME (host) and NAME-dp; "": none
    uint32_t ring_size = 2048;
    uint32_t xdp_max_rules = xdp_tables::default_max_rules; // table 0 rules the dispatcher holds
    uint32_t lb_sessions = 1u << 16;               // load-balancer session entries (2 each)
    uint64_t lb_idle_timeout_ns = 300'000'000'000; // a session idle this long ends
    uint32_t ct_entries = 1u << 16;                // tracked connections (ct(commit))
    uint64_t ct_idle_timeout_ns = 120'000'000'000; // a connection idle this long ends
};

class afxdp_datapath final : public dp::datapath {
public:
    static result<std::unique_ptr<afxdp_datapath>> open(const datapath_config& cfg);
    ~afxdp_datapath() override;

    void start();

    const char* kind() const override { return "afxdp"; }
    void publish(std::shared_ptr<const dp::pipeline> p, std::span<const uint32_t> born) override;
    uint64_t retired_version() const override { return publisher_.retired_version(); }
    void read_counters(std::span<const uint32_t> ids,
                       std::span<dp::rule_counters> out) const override;
    dp::rule_location where(uint32_t rule_id) const override;
    dp::steering_state steering_of(uint32_t rule_id) const override;
    result<dp::cost_measurements> measure_costs(const dp::pipeline& probe,
                                                double sample_s) override;
    std::string xdp_status() const override;
    std::vector<dp::port_stats> ports() const override;
    std::vector<dp::thread_info> threads() const override;
    void tick() override;
    table_stats lb_sessions() const override;
    table_stats connections() const override;
    connection_list list_connections(size_t limit) const override;
    size_t flush_connections() override;

private:
    struct port {
        port_config cfg;
        netdev_info info;
        std::string mode; // as resolved, for show
        std::unique_ptr<sysfs_setting> defer_irqs, gro_flush;
        std::unique_ptr<xdp_program> program;
        std::unique_ptr<tc_program> egress; // TCX egress; none on the local port
    };

    afxdp_datapath(size_t threads) : publisher_(threads) {}
    result<void> open_port(port& p, const datapath_config& cfg);
    // Moves the dispatchers to new rule maps with room for capacity rules, filled with table 0
    // of p; the present ones stay in use when that fails.
    result<void> grow_tables(const dp::pipeline& p, uint32_t capacity);
    // Writes the live connections of the tracker that ran (XDP's or user space's) into the
    // other, for a move of tracking (ct_map::load_from, store_into); returns how many.
    size_t hand_off_connections(bool from_xdp);

    dp::pipeline_publisher publisher_;
    std::unique_ptr<dp::lb::session_store> sessions_;  // outlive the threads that use them
    std::unique_ptr<dp::lb::session_table> conntrack_; // datapath/conntrack.h
    std::unique_ptr<xdp_tables> tables_;               // outlives the programs that use its maps
    std::unique_ptr<name_claim> local_claim_;          // released after the local port is gone
    std::unique_ptr<veth_pair> local_;
    std::vector<std::unique_ptr<port>> ports_;
    std::unique_ptr<ethtool_channel> ethtool_;
    std::unique_ptr<steering> steering_;     // its filters go before the ports and programs
    std::vector<std::unique_ptr<pmd>> pmds_; // destroyed first: threads stop, sockets close
    uint32_t reserved_ids_ = 0;
    size_t n_ports_ = 0; // including the local port, to size UMEMs
};

} // namespace swd::afxdp
