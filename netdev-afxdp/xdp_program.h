// The XDP program attached to a port: it redirects each frame to the AF_XDP socket of its
// receive queue (bpf/xsk_redirect.bpf.c) until the dispatcher replaces it.
//
// The attachment is a BPF link: the program stays attached only while swd holds the link's file
// descriptor, so it is detached when swd exits, crashes or is killed, and a later program can
// replace it atomically (bpf_link_update) without the interface ever running without one.
//
// Thread-safety: control thread only.
#pragma once

#include <memory>
#include <string>

#include "datapath/util/result.h"
#include "datapath/util/unique_fd.h"

struct swd_xsk_redirect;

namespace swd::afxdp {

enum class attach_mode { automatic, native, generic };

class xdp_program {
public:
    // Loads the program and attaches it to ifindex: native when asked or, for automatic, when
    // the driver has it, else generic. Fails when the interface already has an XDP program.
    static result<std::unique_ptr<xdp_program>> attach(int ifindex, const std::string& ifname,
                                                       attach_mode mode);
    ~xdp_program(); // closing the link detaches the program

    // Points queue's entry of the XSKMAP at an AF_XDP socket (bpf(BPF_MAP_UPDATE_ELEM)).
    result<void> set_socket(uint32_t queue, int xsk_fd);
    bool native() const { return native_; }
    int link_fd() const { return link_.get(); }

private:
    xdp_program() = default;
    swd_xsk_redirect* skel_ = nullptr;
    unique_fd link_;
    bool native_ = false;
};

} // namespace swd::afxdp
