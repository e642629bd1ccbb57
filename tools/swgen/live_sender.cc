// live_sender: BPF_PROG_TEST_RUN in live-frames mode (see sender.h).
#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <climits>
#include <linux/bpf.h>

#include "swgen_tx.skel.h"
#include "tools/swgen/sender.h"

namespace swd::swgen {

namespace {

using swgen_skel = std::unique_ptr<swd_swgen_tx, decltype(&swd_swgen_tx__destroy)>;

class live_sender final : public sender {
public:
    live_sender(swgen_skel skel, std::vector<uint8_t> frame, unsigned ifindex, uint32_t batch)
        : skel_(std::move(skel)), frame_(std::move(frame)), batch_(batch) {
        ctx_.data = 0;
        ctx_.data_end = static_cast<__u32>(frame_.size());
        ctx_.ingress_ifindex = ifindex;
        ctx_.rx_queue_index = 0;
    }

    result<uint64_t> send(uint64_t n, const std::atomic<bool>& stop) override {
        (void)stop; // a pending signal ends the test run with EINTR
        LIBBPF_OPTS(bpf_test_run_opts, opts);
        opts.data_in = frame_.data();
        opts.data_size_in = static_cast<__u32>(frame_.size());
        opts.ctx_in = &ctx_;
        opts.ctx_size_in = sizeof(ctx_);
        opts.repeat = static_cast<int>(std::min<uint64_t>(n, INT_MAX));
        opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
        opts.batch_size = batch_;
        const int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.swd_xdp_tx), &opts);
        const uint64_t before = total_;
        if (auto r = read_total(); !r) {
            return r;
        }
        if (err < 0 && err != -EINTR) {
            return fail(errno_error(-err, "BPF_PROG_TEST_RUN (live frames)"));
        }
        return total_ - before;
    }

    uint64_t total() const noexcept override { return total_; }
    const char* mode() const noexcept override { return "live"; }

private:
    // Reads tx_frames_map (bpf(BPF_MAP_LOOKUP_ELEM)).
    result<uint64_t> read_total() {
        const __u32 key = 0;
        uint64_t frames = 0;
        if (bpf_map__lookup_elem(skel_->maps.tx_frames_map, &key, sizeof(key), &frames,
                                 sizeof(frames), 0) != 0) {
            return fail(errno_error(errno, "read tx_frames_map"));
        }
        total_ = frames;
        return frames;
    }

    swgen_skel skel_;
    std::vector<uint8_t> frame_;
    xdp_md ctx_{};
    uint32_t batch_;
    uint64_t total_ = 0;
};

} // namespace

result<std::unique_ptr<sender>> open_live_sender(const sender_config& cfg,
                                                 std::vector<uint8_t> frame) {
    swgen_skel skel(swd_swgen_tx__open(), &swd_swgen_tx__destroy);
    if (!skel) {
        return fail(errno_error(errno, "open swgen_tx"));
    }
    auto* ro = skel->rodata;
    ro->cfg_n_flows = cfg.flows.n_flows;
    ro->cfg_src_ip = cfg.frame.src_ip;
    ro->cfg_dst_ip = cfg.frame.dst_ip;
    ro->cfg_src_port = cfg.frame.src_port;
    ro->cfg_dst_port = cfg.frame.dst_port;
    ro->cfg_vary_src_ip = cfg.flows.vary_src_ip;
    ro->cfg_vary_dst_ip = cfg.flows.vary_dst_ip;
    ro->cfg_vary_src_port = cfg.flows.vary_src_port;
    ro->cfg_vary_dst_port = cfg.flows.vary_dst_port;
    ro->cfg_gap_ns = cfg.gap_ns;
    // The sink programs share the object file; swgen only runs the generator.
    bpf_program__set_autoload(skel->progs.swd_xdp_sink, false);
    bpf_program__set_autoload(skel->progs.swd_xdp_sink_drop, false);
    if (int err = swd_swgen_tx__load(skel.get()); err != 0) {
        return fail(errno_error(-err, "load swgen_tx"));
    }
    return std::unique_ptr<sender>(
        new live_sender(std::move(skel), std::move(frame), cfg.ifindex, cfg.batch));
}

} // namespace swd::swgen
