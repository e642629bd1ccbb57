// The TC egress program of one port (bpf/egress.bpf.c): its own counters, and the rule maps
// shared with every XDP dispatcher (xdp_tables.h). It searches table 0 for frames that this
// host's stack sends out of the port, with in_port=LOCAL (docs/architecture.md, "The TC egress
// program").
//
// The attachment is a TCX link (BPF_LINK_CREATE with BPF_TCX_EGRESS, Linux >= 6.6): the program
// stays attached only while swd holds the link's file descriptor, so it is detached when swd
// exits, crashes or is killed, and it leaves no qdisc or filter behind. It runs next to any other
// TCX or tc program on the device.
//
// Thread-safety: control thread only.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"
#include "xdp_tables.h"

struct swd_egress;

namespace swd::afxdp {

class tc_program {
public:
    // Loads the egress program for the port with this ofport, on the shared maps of tables. With
    // trace, the program records each verdict for tests (last()).
    static result<std::unique_ptr<tc_program>> load(const xdp_tables& tables, uint16_t ofport,
                                                    bool trace = false);
    // load() and attach to ifindex's TCX egress hook (bpf(BPF_LINK_CREATE)). Fails with a message
    // that names the kernel's lack of TCX when it has none.
    static result<std::unique_ptr<tc_program>> attach(int ifindex, const std::string& ifname,
                                                      const xdp_tables& tables, uint16_t ofport);
    ~tc_program(); // closing the link detaches the program
    // Replaces the attached program by a new instance on the maps of tables that keeps this
    // port's counters (bpf_link_update, BPF_F_REPLACE); on failure the old one stays.
    result<void> rebind(const xdp_tables& tables);
    tc_program(const tc_program&) = delete;
    tc_program& operator=(const tc_program&) = delete;

    // The per-CPU egress counters (enum swd_tc_counter), summed.
    std::array<uint64_t, SWD_TC_COUNT> counters() const;
    // The last verdict of a traced program.
    swd_xdp_trace last() const;
    // Runs the program once on frame (BPF_PROG_TEST_RUN, at least 14 bytes); out receives the
    // frame as the program left it. Returns the TC action (TC_ACT_*).
    result<uint32_t> test_run(std::span<const uint8_t> frame, std::vector<uint8_t>& out) const;

    int prog_fd() const;
    uint32_t prog_id() const { return prog_id_; }
    uint32_t link_id() const { return link_id_; }

private:
    tc_program() = default;
    static result<std::unique_ptr<tc_program>> load(const xdp_tables& tables, uint16_t ofport,
                                                    bool trace, const tc_program* own);
    swd_egress* skel_ = nullptr;
    uint16_t ofport_ = 0;
    unique_fd link_;
    uint32_t prog_id_ = 0, link_id_ = 0;
};

} // namespace swd::afxdp
