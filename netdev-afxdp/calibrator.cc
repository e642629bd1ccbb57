#include "calibrator.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <net/if.h>

extern "C" {
#include "swgen_tx.skel.h"
}
#include <map>
#include <memory>
#include <thread>

#include "datapath/executor.h"
#include "netdev.h"
#include "program_ops.h"
#include "umem.h"
#include "xdp_program.h"
#include "xdp_tables.h"
#include "xsk_socket.h"

namespace swd::afxdp {

namespace {

constexpr uint32_t frames_per_kind = 16;

// The executor's sink for probes: every packet is dropped wherever the rule sends it.
struct discard_sink {
    void output(uint16_t, uint16_t, dp::packet&, bool) noexcept {}
    void local(dp::packet&, bool) noexcept {}
    void release(dp::packet&) noexcept {}
};

// Average ns of one run of the program on frame, over repeat runs (the kernel's own timing).
result<double> timed_test_run(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat) {
    std::vector<uint8_t> out(frame.size() + 512);
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(frame.size()),
                .data_size_out = static_cast<uint32_t>(out.size()),
                .repeat = static_cast<int>(repeat));
    if (bpf_prog_test_run_opts(prog_fd, &o) != 0) {
        return fail(errno_error(errno, "BPF_PROG_TEST_RUN of the probe dispatcher"));
    }
    return static_cast<double>(o.duration);
}

void set_why(dp::cost_measurements& m, const std::string& why) {
    for (auto& k : m.kinds) {
        if (k.why_not.empty()) {
            k.why_not = why;
        }
    }
}

using swgen_skel = std::unique_ptr<swd_swgen_tx, decltype(&swd_swgen_tx__destroy)>;

// ns per frame of prog in live-frames mode, entering on ifindex.
result<double> live_run(int prog_fd, int ifindex, std::vector<uint8_t>& frame, uint32_t repeat) {
    xdp_md ctx{};
    ctx.data_end = static_cast<__u32>(frame.size());
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof ctx, .repeat = static_cast<int>(repeat),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
    if (const int err = bpf_prog_test_run_opts(prog_fd, &o); err != 0) {
        return fail(errno_error(-err, "BPF_PROG_TEST_RUN (live frames)"));
    }
    return static_cast<double>(o.duration);
}

} // namespace

result<veth_costs> probe_veth(uint32_t frames) {
    const std::string name = "swdcal0", peer = "swdcal1";
    auto claim = name_claim::acquire("calibrate-" + name);
    if (!claim) {
        return fail(with_context(std::move(claim).err(), "veth probe"));
    }
    if (if_nametoindex(name.c_str()) != 0) { // left by a swd that did not stop
        (void)delete_link(name);
    }
    auto pair = veth_pair::create(name, peer, 1);
    if (!pair) {
        return fail(with_context(std::move(pair).err(), "veth probe"));
    }
    swgen_skel skel(swd_swgen_tx__open(), &swd_swgen_tx__destroy);
    if (!skel) {
        return fail(errno_error(errno, "veth probe: open swgen_tx"));
    }
    std::vector<uint8_t> frame = dp::frame_for(dp::flow_key());
    skel->rodata->cfg_n_flows = 1; // frame_for's addresses and ports are 0: nothing rewritten
    if (const int err = swd_swgen_tx__load(skel.get()); err != 0) {
        return fail(errno_error(-err, "veth probe: load swgen_tx"));
    }
    const int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    const int peer_index = static_cast<int>(if_nametoindex(peer.c_str()));
    const int tx_prog = bpf_program__fd(skel->progs.swd_xdp_tx);
    // veth delivers XDP_TX frames only to a peer with an XDP program; the pair's deletion
    // detaches it.
    if (bpf_xdp_attach(peer_index, bpf_program__fd(skel->progs.swd_xdp_count_drop),
                       XDP_FLAGS_DRV_MODE, nullptr) != 0) {
        return fail(errno_error(errno, "veth probe: attach the drop program to " + peer));
    }
    auto tx = live_run(tx_prog, ifindex, frame, frames);
    auto drop = live_run(bpf_program__fd(skel->progs.swd_xdp_count_drop), ifindex, frame, frames);
    if (!tx || !drop) {
        return fail(with_context(!tx ? std::move(tx).err() : std::move(drop).err(), "veth probe"));
    }
    veth_costs c;
    c.xdp_tx_ns = std::max(0.0, *tx - *drop);

    // The same frames into an AF_XDP socket in copy mode on the peer, by a dispatcher with its
    // search off, in chunks that its fill ring holds (drained between chunks, untimed).
    auto why = [&](const std::string& w) {
        c.xsk_why_not = w;
        return c;
    };
    if (bpf_xdp_detach(peer_index, XDP_FLAGS_DRV_MODE, nullptr) != 0) {
        return why(fmt::format("detach the drop program: {}", std::strerror(errno)));
    }
    auto tables = xdp_tables::create(1024, 1024);
    if (!tables || !(*tables)->sync(dp::pipeline{})) {
        return why("probe maps");
    }
    auto prog = xdp_program::attach(peer_index, peer, attach_mode::native, **tables, 1);
    if (!prog) {
        return why(prog.err().message());
    }
    constexpr uint32_t ring = 4096, chunk = ring / 2;
    auto u = umem::create(
        {.frames = 2 * ring, .frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE, .ring_size = ring});
    if (!u) {
        return why(u.err().message());
    }
    socket_options so;
    so.ring_size = ring;
    auto sock = xsk_socket::create(**u, peer, 0, so);
    if (!sock) {
        return why(sock.err().message());
    }
    if (auto r = (*prog)->set_socket(0, (*sock)->fd()); !r) {
        return why(r.err().message());
    }
    (*sock)->refill();
    double total = 0;
    uint64_t sent = 0, received = 0;
    for (uint32_t done = 0; done < frames; done += chunk) {
        auto t = live_run(tx_prog, ifindex, frame, chunk);
        if (!t) {
            return why(t.err().message());
        }
        total += *t * chunk;
        sent += chunk;
        uint32_t idx = 0;
        for (uint32_t n; (n = (*sock)->rx_peek(ring, idx)) != 0;) {
            for (uint32_t k = 0; k < n; k++) {
                (*u)->release((*sock)->rx_desc(idx + k)->addr);
            }
            (*sock)->rx_release(n);
            received += n;
        }
        (*sock)->refill();
    }
    if (received < sent * 9 / 10) {
        return why(fmt::format("the socket received {} of {} frames", received, sent));
    }
    c.xsk_rx_ns = std::max(0.0, total / static_cast<double>(sent) - *drop);
    return c;
}

void probe_kernel_side(ethtool_channel& channel, std::span<const std::string> ports,
                       dp::cost_measurements& m) {
    for (const std::string& name : ports) {
        auto d = driver_name(channel, name);
        if (!d || *d != "veth") {
            m.xdp_tx_why_not = m.xsk_rx_why_not =
                fmt::format("port {} ({}) is not a veth: only probed on a veth pair of swd's own",
                            name, d ? *d : d.err().message());
            return;
        }
    }
    if (auto t = probe_veth(200000)) {
        m.xdp_tx_ns = t->xdp_tx_ns;
        m.xsk_rx_ns = t->xsk_rx_ns;
        m.xsk_rx_why_not = t->xsk_why_not;
    } else {
        m.xdp_tx_why_not = m.xsk_rx_why_not = t.err().message();
    }
}

void sample_threads(std::span<const std::unique_ptr<pmd>> threads, double seconds,
                    dp::cost_measurements& m) {
    auto read = [&] {
        std::array<uint64_t, 5> v{};
        for (const auto& t : threads) {
            const pmd::busy_time& b = t->timing();
            v[0] += b.round_ns.get();
            v[1] += b.exec_ns.get();
            v[2] += b.flush_ns.get();
            v[3] += b.rx_packets.get();
            v[4] += b.tx_packets.get();
        }
        return v;
    };
    const auto b0 = read();
    for (const auto& t : threads) {
        t->set_timing(true);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    for (const auto& t : threads) {
        t->set_timing(false);
    }
    const auto b1 = read();
    m.sample_s = seconds;
    m.live_rx = b1[3] - b0[3];
    m.live_tx = b1[4] - b0[4];
    constexpr uint64_t enough = 1000;
    if (m.live_rx < enough) {
        m.user_why_not = fmt::format("{} packets reached user space in the {:.1f} s live sample "
                                     "({} needed)",
                                     m.live_rx, seconds, enough);
        return;
    }
    const auto round = static_cast<double>(b1[0] - b0[0]);
    const auto exec = static_cast<double>(b1[1] - b0[1]);
    const auto flush = static_cast<double>(b1[2] - b0[2]);
    m.user_rx_ns = std::max(0.0, round - exec - flush) / static_cast<double>(m.live_rx);
    if (m.live_tx >= enough) {
        m.user_tx_ns = flush / static_cast<double>(m.live_tx);
    }
}

std::vector<probe_frame> probe_rules(const dp::pipeline& p, uint16_t default_in_port,
                                     dp::cost_measurements& m) {
    std::vector<probe_frame> out;
    const dp::classifier* t0 = p.table(0);
    if (!t0 || t0->n_rules() == 0) {
        set_why(m, "no rule in table 0");
        return out;
    }
    m.table0_rules = t0->n_rules();
    m.table0_masks = t0->subtables().size();
    for (const auto& st : t0->subtables()) {
        st->for_each([&](const dp::flow_key&, const dp::compiled_rule& r, auto actions) {
            if (r.xdp) {
                m.kinds[static_cast<size_t>(dp::kind_of(actions))].rules++;
            }
        });
    }
    std::array<uint64_t, dp::n_rule_kinds> seen{};
    for (const auto& st : t0->subtables()) {
        const bool has_in_port = st->mask().f.in_port != 0;
        st->for_each([&](const dp::flow_key& key, const dp::compiled_rule& r, auto actions) {
            if (!r.xdp) {
                return;
            }
            const dp::rule_kind kind = dp::kind_of(actions);
            const size_t k = static_cast<size_t>(kind);
            dp::kind_costs& kc = m.kinds[k];
            const uint64_t stride = std::max<uint64_t>(1, kc.rules / frames_per_kind);
            if (seen[k]++ % stride != 0 || kc.probed_rules >= frames_per_kind) {
                return;
            }
            const uint16_t in_port = has_in_port ? key.f.in_port : default_in_port;
            std::vector<uint8_t> frame = dp::frame_for(key);
            dp::flow_key got;
            dp::header_offsets where;
            dp::extract_key(frame.data(), static_cast<uint32_t>(frame.size()), in_port, got, where);
            const dp::subtable* owner = nullptr;
            const dp::compiled_rule* winner = t0->lookup(got, &owner);
            if (!winner || !winner->xdp || dp::kind_of(owner->actions(*winner)) != kind) {
                return; // a rule of another kind outranks it on this frame
            }
            kc.probed_rules++;
            out.push_back({kind, in_port, std::move(frame)});
        });
    }
    for (auto& kc : m.kinds) {
        if (kc.rules == 0) {
            kc.why_not = "no rule of this kind that XDP can run";
        } else if (kc.probed_rules == 0) {
            kc.why_not = "no frame built from these rules reached one (rules of other kinds "
                         "outrank them)";
        }
    }
    return out;
}

result<void> probe_static(const dp::pipeline& p, std::span<const probe_frame> frames,
                          std::span<const probe_port> ports, uint32_t max_rules,
                          uint32_t iterations, dp::cost_measurements& m) {
    if (frames.empty()) {
        return {};
    }
    // The dispatcher, on maps of its own.
    const auto rules = static_cast<uint32_t>(std::min<size_t>(m.table0_rules, max_rules));
    const uint32_t capacity =
        std::min(max_rules, std::max(xdp_tables::initial_capacity, std::bit_ceil(2 * rules + 16)));
    auto tables = xdp_tables::create(max_rules, capacity);
    if (!tables) {
        return fail(with_context(std::move(tables).err(), "probe maps"));
    }
    for (const auto& pt : ports) {
        if (auto r = (*tables)->set_port(pt.ofport, pt.ifindex); !r) {
            return fail(with_context(std::move(r).err(), "probe maps"));
        }
    }
    auto synced = (*tables)->sync(p);
    std::array<double, dp::n_rule_kinds> sum{};
    std::array<uint32_t, dp::n_rule_kinds> count{};
    if (!synced || !(*tables)->searching()) {
        const std::string why = "XDP cannot search this table: " +
                                (synced ? (*tables)->why_not() : synced.err().message());
        for (auto& kc : m.kinds) {
            kc.why_not = kc.why_not.empty() ? why : kc.why_not;
        }
    } else {
        std::map<uint16_t, std::unique_ptr<xdp_program>> programs; // by in_port
        for (const probe_frame& f : frames) {
            auto& prog = programs[f.in_port];
            if (!prog) {
                auto loaded = xdp_program::load(**tables, f.in_port);
                if (!loaded) {
                    return fail(with_context(std::move(loaded).err(), "probe dispatcher"));
                }
                prog = std::move(*loaded);
            }
            auto ns = timed_test_run(prog->prog_fd(), f.frame, iterations);
            if (!ns) {
                return fail(std::move(ns).err());
            }
            sum[static_cast<size_t>(f.kind)] += *ns;
            count[static_cast<size_t>(f.kind)]++;
        }
        for (size_t k = 0; k < dp::n_rule_kinds; k++) {
            if (count[k]) {
                m.kinds[k].xdp_ns = sum[k] / count[k];
            }
        }
    }
    // The dispatcher with the search off: an empty table.
    auto empty = xdp_tables::create(1024, 1024);
    if (!empty) {
        return fail(with_context(std::move(empty).err(), "probe maps"));
    }
    if (auto r = (*empty)->sync(dp::pipeline{}); !r) {
        return fail(with_context(std::move(r).err(), "probe maps"));
    }
    auto bare = xdp_program::load(**empty, frames.front().in_port);
    if (!bare) {
        return fail(with_context(std::move(bare).err(), "probe dispatcher"));
    }
    double to_user = 0;
    for (const probe_frame& f : frames) {
        auto ns = timed_test_run((*bare)->prog_fd(), f.frame, iterations);
        if (!ns) {
            return fail(std::move(ns).err());
        }
        to_user += *ns;
    }
    m.xdp_to_user_ns = to_user / static_cast<double>(frames.size());

    // The user-space executor on private state: batches of copies of each frame, restored
    // before every run (rewrites change them).
    uint32_t max_id = 0;
    for (const auto& t : p.tables) {
        for (const auto& st : t.subtables()) {
            st->for_each([&](const dp::flow_key&, const dp::compiled_rule& r, auto) {
                max_id = std::max(max_id, r.rule_id);
            });
        }
    }
    auto sessions = dp::lb::session_store::create({.capacity = 4096});
    if (!sessions) {
        return fail(with_context(std::move(sessions).err(), "probe sessions"));
    }
    dp::thread_state ts;
    ts.rules.reserve(max_id + 1);
    ts.sessions = sessions->get();
    discard_sink sink;
    dp::executor<discard_sink> exec(ts, sink);
    dp::queue_counters rxq;
    constexpr size_t batch = 32;
    sum = {};
    count = {};
    for (const probe_frame& f : frames) {
        std::vector<uint8_t> buf(batch * f.frame.size());
        dp::packet pkts[batch];
        const uint32_t runs = std::max<uint32_t>(1, iterations / batch);
        const auto start = std::chrono::steady_clock::now();
        for (uint32_t i = 0; i < runs; i++) {
            for (size_t j = 0; j < batch; j++) {
                uint8_t* d = buf.data() + j * f.frame.size();
                std::memcpy(d, f.frame.data(), f.frame.size());
                pkts[j] = {d, static_cast<uint32_t>(f.frame.size()), f.in_port, 0, 0};
            }
            exec.run(p, std::span<dp::packet>(pkts, batch), rxq, 1);
        }
        const double ns =
            std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
                .count();
        sum[static_cast<size_t>(f.kind)] += ns / (static_cast<double>(runs) * batch);
        count[static_cast<size_t>(f.kind)]++;
    }
    for (size_t k = 0; k < dp::n_rule_kinds; k++) {
        if (count[k]) {
            m.kinds[k].user_exec_ns = sum[k] / count[k];
        }
    }
    return {};
}

} // namespace swd::afxdp
