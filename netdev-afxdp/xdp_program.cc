#include "xdp_program.h"

#include <cerrno>
#include <linux/if_link.h>

#include "datapath/util/log.h"

extern "C" {
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xsk_redirect.skel.h"
}

namespace swd::afxdp {

result<std::unique_ptr<xdp_program>> xdp_program::attach(int ifindex, const std::string& ifname,
                                                         attach_mode mode) {
    std::unique_ptr<xdp_program> p(new xdp_program());
    p->skel_ = swd_xsk_redirect__open_and_load();
    if (!p->skel_) {
        return fail(errno_error(errno, "load the XDP program for " + ifname));
    }
    const int prog_fd = bpf_program__fd(p->skel_->progs.swd_xdp_redirect);
    auto try_attach = [&](uint32_t flags) {
        LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
        return bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
    };
    int fd = -1;
    if (mode != attach_mode::generic) {
        fd = try_attach(XDP_FLAGS_DRV_MODE);
        p->native_ = fd >= 0;
        if (fd < 0 && mode == attach_mode::native) {
            return fail(errno_error(-fd, "attach XDP in native mode to " + ifname));
        }
        if (fd == -EBUSY || fd == -EEXIST) {
            return fail(errno_error(-fd, ifname +
                                             " already has an XDP program (remove it with "
                                             "'ip link set dev " +
                                             ifname + " xdp off')"));
        }
    }
    if (fd < 0) {
        fd = try_attach(XDP_FLAGS_SKB_MODE);
        if (fd < 0) {
            return fail(errno_error(-fd, "attach XDP to " + ifname));
        }
    }
    p->link_.reset(fd);
    log::info("{}: XDP program attached in {} mode", ifname, p->native_ ? "native" : "generic");
    return p;
}

xdp_program::~xdp_program() {
    link_.reset(); // detaches
    if (skel_) {
        swd_xsk_redirect__destroy(skel_);
    }
}

result<void> xdp_program::set_socket(uint32_t queue, int xsk_fd) {
    if (bpf_map__update_elem(skel_->maps.xsks_map, &queue, sizeof queue, &xsk_fd, sizeof xsk_fd,
                             BPF_ANY) != 0) {
        return fail(errno_error(errno, "XSKMAP entry for queue " + std::to_string(queue)));
    }
    return {};
}

} // namespace swd::afxdp
