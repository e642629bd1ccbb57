// The load balancer's choice in XDP against user space: bpf/lb_probe.bpf.c runs swd_lb_hash and
// the Maglev table (an array map holding struct swd_lb_maglev as datapath/lb/maglev.h exports
// it) under BPF_PROG_TEST_RUN, and every random IPv4 and IPv6 5-tuple must get the same hash and
// the same backend as maglev_table::pick(swd_lb_hash()) in C++.
//
// Needs root (BPF). Not root: skipped, unless SWD_REQUIRE_ROOT_TESTS=1 turns that into a failure.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "datapath/lb/maglev.h"
#include "lb_probe.skel.h"
#include "lb_tuples.h"
#include "root_test.h"

namespace swd::dp::lb {
namespace {

using test::random_tuple;

using probe_skel = std::unique_ptr<swd_lb_probe, decltype(&swd_lb_probe__destroy)>;

class LbBpf : public test::root_test {
protected:
    void SetUp() override {
        root_test::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        skel_.reset(swd_lb_probe__open_and_load());
        ASSERT_TRUE(skel_) << "load lb_probe: " << std::strerror(errno);
        fd_ = bpf_program__fd(skel_->progs.swd_xdp_lb_probe);
    }

    void load_table(const maglev_table& t) {
        auto m = std::make_unique<swd_lb_maglev>();
        std::memset(m.get(), 0, sizeof *m);
        t.export_to(*m);
        const uint32_t key = 0;
        ASSERT_EQ(bpf_map__update_elem(skel_->maps.lb_maglev_map, &key, sizeof key, m.get(),
                                       sizeof *m, BPF_ANY),
                  0);
    }

    // Runs the probe on t; returns {hash, backend}.
    std::pair<uint32_t, uint32_t> run(const swd_lb_tuple& t) {
        std::vector<uint8_t> frame(64, 0); // BPF_PROG_TEST_RUN wants an Ethernet header's worth
        std::memcpy(frame.data(), &t, sizeof t);
        LIBBPF_OPTS(bpf_test_run_opts, opts);
        opts.data_in = frame.data();
        opts.data_size_in = uint32_t(frame.size());
        const int err = bpf_prog_test_run_opts(fd_, &opts);
        EXPECT_EQ(err, 0) << std::strerror(-err);
        EXPECT_EQ(opts.retval, uint32_t(XDP_PASS));
        return {skel_->bss->probe_hash, skel_->bss->probe_backend};
    }

    probe_skel skel_{nullptr, &swd_lb_probe__destroy};
    int fd_ = -1;
};

std::vector<maglev_backend> backends(uint32_t n) {
    std::vector<maglev_backend> v(n);
    for (uint32_t i = 0; i < n; i++) {
        v[i].addr[0] = htonl(0x0a010001 + i);
        v[i].port = 8080;
        v[i].weight = uint16_t(1 + i % 3);
    }
    return v;
}

TEST_F(LbBpf, SameHashAndBackendAsUserSpace) {
    std::mt19937_64 rng(11);
    for (uint32_t n : {1u, 7u, 100u}) {
        auto made = maglev_table::build(backends(n));
        ASSERT_TRUE(made) << made.err().message();
        const maglev_table& t = *made;
        load_table(t);
        uint32_t mismatches = 0;
        for (int i = 0; i < 5000; i++) {
            const swd_lb_tuple tp = random_tuple(rng, i & 1);
            const uint32_t h = swd_lb_hash(&tp);
            const auto [bh, bb] = run(tp);
            if (bh != h || bb != t.pick(h)) {
                if (++mismatches <= 5) {
                    ADD_FAILURE() << "tuple " << i << ": XDP hash " << bh << " backend " << bb
                                  << ", user space hash " << h << " backend " << t.pick(h);
                }
            }
        }
        EXPECT_EQ(mismatches, 0u) << n << " backends";
    }
}

TEST_F(LbBpf, SmallTableAndNoBackend) {
    std::mt19937_64 rng(12);
    auto made = maglev_table::build(backends(2), 251);
    ASSERT_TRUE(made);
    load_table(*made);
    for (int i = 0; i < 1000; i++) {
        const swd_lb_tuple tp = random_tuple(rng, i & 1);
        EXPECT_EQ(run(tp).second, made->pick(swd_lb_hash(&tp)));
    }
    auto none = backends(2);
    none[0].state = backend_state::drain;
    none[1].state = backend_state::down;
    auto empty = maglev_table::build(none);
    ASSERT_TRUE(empty);
    load_table(*empty);
    EXPECT_EQ(run(random_tuple(rng, false)).second, uint32_t(SWD_LB_NO_BACKEND));
}

} // namespace
} // namespace swd::dp::lb
