// The XDP dispatcher of one port (bpf/dispatcher.bpf.c): its own XSKMAP, queue map and counters,
// and the rule maps shared by every port (xdp_tables.h).
//
// The attachment is a BPF link: the program stays attached only while swd holds the link's file
// descriptor, so it is detached when swd exits, crashes or is killed, and a later program can
// replace it atomically (bpf_link_update) without the interface ever running without one.
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

struct swd_dispatcher;

namespace swd::afxdp {

enum class attach_mode { automatic, native, generic };

class xdp_program {
public:
    // Loads the dispatcher for the port with this ofport, on the shared maps of tables. With
    // trace, the program records each verdict for tests (last()) and performs no redirect.
    static result<std::unique_ptr<xdp_program>> load(const xdp_tables& tables, uint16_t ofport,
                                                     bool trace = false);
    // load() and attach to ifindex: native when asked or, for automatic, when the driver has
    // it, else generic. Fails when the interface already has an XDP program.
    static result<std::unique_ptr<xdp_program>> attach(int ifindex, const std::string& ifname,
                                                       attach_mode mode, const xdp_tables& tables,
                                                       uint16_t ofport);
    ~xdp_program(); // closing the link detaches the program

    // Replaces the attached program by a new instance on the maps of tables (new rule maps, e.g.
    // larger ones) that keeps this port's XSKMAP, queue map and counters: one bpf_link_update
    // (BPF_F_REPLACE), so the interface never runs without a program and no socket is rebound.
    // On failure the old program stays attached and in use.
    result<void> rebind(const xdp_tables& tables);

    // Points queue's entry of the XSKMAP at an AF_XDP socket (bpf(BPF_MAP_UPDATE_ELEM)).
    result<void> set_socket(uint32_t queue, int xsk_fd);
    // What the dispatcher does with the frames of a receive queue (enum swd_queue_mode).
    result<void> set_queue_mode(uint32_t queue, uint32_t mode);
    // The per-CPU event counters (enum swd_xdp_counter), summed.
    std::array<uint64_t, SWD_XC_COUNT> counters() const;
    // The last verdict of a traced program.
    swd_xdp_trace last() const;
    // Runs the program once on frame (BPF_PROG_TEST_RUN); out receives the frame as the
    // program left it. Returns the XDP action.
    result<uint32_t> test_run(std::span<const uint8_t> frame, std::vector<uint8_t>& out) const;

    bool native() const { return native_; }
    int link_fd() const { return link_.get(); }
    int prog_fd() const;

private:
    xdp_program() = default;
    // Opens and loads the program on tables' shared maps; with own, on own's per-port maps too.
    static result<std::unique_ptr<xdp_program>> load(const xdp_tables& tables, uint16_t ofport,
                                                     bool trace, const xdp_program* own);
    swd_dispatcher* skel_ = nullptr;
    uint16_t ofport_ = 0;
    unique_fd link_;
    bool native_ = false;
};

} // namespace swd::afxdp
