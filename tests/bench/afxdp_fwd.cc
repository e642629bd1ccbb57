// afxdp_fwd: the smallest AF_XDP forwarder this machine can run, as the ceiling that the
// forwarding benchmark (tests/bench/forward.sh, issue 3) compares swd and Open vSwitch with.
//
//   afxdp_fwd IF_A IF_B [--cpu N] [--seconds S] [--rx-only]
//
// One socket per interface on queue 0, copy mode (XDP_COPY) with need_wakeup, both bound to one
// UMEM (XDP_SHARED_UMEM), so a frame received on A is handed to B's tx ring without a copy, and
// the reverse. The loop does nothing else: receive a batch, queue it on the other port, kick the
// kernel to transmit (sendto, as copy mode needs), return completed frames to a free stack,
// refill the fill rings from it. No parsing, no counters per packet, no lookup. The XDP program
// is swd's own dispatcher (netdev-afxdp/xdp_program.h, bpf/dispatcher.bpf.c) with no rule in XDP,
// which sends every frame to the queue's socket, as swd runs it when no rule is placed in XDP.
//
// --rx-only receives and recycles without transmitting, to show what the receive side alone
// delivers. Runs until SIGINT/SIGTERM or for S seconds, then prints the frames forwarded each
// way and the sockets' kernel statistics. Exit status 0 on success, 1 when a socket or the XDP
// program could not be set up, 2 for a bad command line. Root only (XDP, AF_XDP).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <net/if.h>
#include <sched.h>
#include <string>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <vector>

#include "netdev-afxdp/xdp_program.h"

extern "C" {
#include <linux/if_xdp.h>
#include <xdp/xsk.h>
}

namespace {

constexpr uint32_t batch = 64; // swd's dp::max_batch
constexpr uint32_t ring_size = 2048;
constexpr uint32_t frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE;
constexpr uint32_t n_frames = 4 * ring_size; // two fill rings full, two tx rings full

volatile sig_atomic_t stop = 0;
void on_signal(int) {
    stop = 1;
}

struct port {
    std::string name;
    xsk_socket* xsk = nullptr;
    xsk_ring_cons rx{};
    xsk_ring_prod tx{};
    xsk_ring_prod fill{};
    xsk_ring_cons comp{};
    uint32_t in_flight = 0; // on the tx ring or sent, not yet completed
    uint64_t forwarded = 0; // received here and queued on the other port
    uint64_t dropped = 0;   // received here, the other port's tx ring was full
};

// The shared frame pool: every frame not in a ring.
struct pool {
    std::vector<uint64_t> free;
    uint64_t take() {
        uint64_t a = free.back();
        free.pop_back();
        return a;
    }
    void give(uint64_t a) { free.push_back(a & ~static_cast<uint64_t>(frame_size - 1)); }
};

// Moves a batch from in's rx ring to out's tx ring.
void forward(port& in, port& out, pool& frames) {
    uint32_t rx_idx = 0;
    const uint32_t n = xsk_ring_cons__peek(&in.rx, batch, &rx_idx);
    if (n == 0) {
        return;
    }
    uint32_t tx_idx = 0;
    const uint32_t m = xsk_ring_prod__reserve(&out.tx, n, &tx_idx);
    for (uint32_t i = 0; i < m; i++) {
        const xdp_desc* r = xsk_ring_cons__rx_desc(&in.rx, rx_idx + i);
        xdp_desc* t = xsk_ring_prod__tx_desc(&out.tx, tx_idx + i);
        t->addr = r->addr;
        t->len = r->len;
    }
    for (uint32_t i = m; i < n; i++) { // tx ring full: drop
        frames.give(xsk_ring_cons__rx_desc(&in.rx, rx_idx + i)->addr);
    }
    xsk_ring_cons__release(&in.rx, n);
    xsk_ring_prod__submit(&out.tx, m);
    out.in_flight += m;
    in.forwarded += m;
    in.dropped += n - m;
}

// Descriptors on the tx ring that the kernel has not taken yet.
uint32_t tx_unsent(const port& p) {
    return *p.tx.producer - __atomic_load_n(p.tx.consumer, __ATOMIC_ACQUIRE);
}

// --rx-only: receives a batch and gives the frames straight back (no transmit), to show what
// the receive side alone delivers.
void drop(port& in, pool& frames) {
    uint32_t idx = 0;
    const uint32_t n = xsk_ring_cons__peek(&in.rx, batch, &idx);
    for (uint32_t i = 0; i < n; i++) {
        frames.give(xsk_ring_cons__rx_desc(&in.rx, idx + i)->addr);
    }
    xsk_ring_cons__release(&in.rx, n);
    in.forwarded += n;
}

// Transmit kick, completions and refill of one port.
void service(port& p, pool& frames) {
    if (p.in_flight > 0) {
        // Copy mode transmits only inside sendto(), at most 32 frames a call (the kernel's
        // TX_BATCH_SIZE): kick until the kernel has taken every queued descriptor, or made no
        // progress (device busy).
        uint32_t unsent = tx_unsent(p);
        for (int k = 0; unsent > 0 && k < 8 && xsk_ring_prod__needs_wakeup(&p.tx); k++) {
            ::sendto(xsk_socket__fd(p.xsk), nullptr, 0, MSG_DONTWAIT, nullptr, 0);
            const uint32_t left = tx_unsent(p);
            if (left == unsent) {
                break;
            }
            unsent = left;
        }
        uint32_t idx = 0;
        const uint32_t n = xsk_ring_cons__peek(&p.comp, ring_size, &idx);
        for (uint32_t i = 0; i < n; i++) {
            frames.give(*xsk_ring_cons__comp_addr(&p.comp, idx + i));
        }
        xsk_ring_cons__release(&p.comp, n);
        p.in_flight -= n;
    }
    uint32_t room = xsk_prod_nb_free(&p.fill, ring_size);
    room = std::min<uint32_t>(room, static_cast<uint32_t>(frames.free.size()));
    if (room >= batch) {
        uint32_t idx = 0;
        const uint32_t n = xsk_ring_prod__reserve(&p.fill, room, &idx);
        for (uint32_t i = 0; i < n; i++) {
            *xsk_ring_prod__fill_addr(&p.fill, idx + i) = frames.take();
        }
        xsk_ring_prod__submit(&p.fill, n);
    }
    if (xsk_ring_prod__needs_wakeup(&p.fill)) {
        ::recvfrom(xsk_socket__fd(p.xsk), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
}

[[noreturn]] void usage(int rc) {
    std::fprintf(rc == 0 ? stdout : stderr,
                 "usage: afxdp_fwd IF_A IF_B [--cpu N] [--seconds S] [--rx-only]\n"
                 "Forwards every frame received on queue 0 of IF_A out of IF_B and back (AF_XDP "
                 "copy mode, shared UMEM), until SIGINT/SIGTERM or for S seconds.\n");
    std::exit(rc);
}

int fail(const std::string& what, int err) {
    std::fprintf(stderr, "afxdp_fwd: %s: %s\n", what.c_str(), std::strerror(err));
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> names;
    int cpu = -1;
    double seconds = 0;
    bool rx_only = false;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        char* end = nullptr;
        if (a == "-h" || a == "--help") {
            usage(0);
        } else if (a == "--cpu" && i + 1 < argc) {
            long v = std::strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 0 || v >= CPU_SETSIZE) {
                usage(2);
            }
            cpu = static_cast<int>(v);
        } else if (a == "--rx-only") {
            rx_only = true;
        } else if (a == "--seconds" && i + 1 < argc) {
            seconds = std::strtod(argv[++i], &end);
            if (*end != '\0' || !(seconds > 0)) {
                usage(2);
            }
        } else if (a.starts_with("-")) {
            usage(2);
        } else {
            names.push_back(a);
        }
    }
    if (names.size() != 2 || names[0] == names[1]) {
        usage(2);
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) {
            return fail("pin to cpu " + std::to_string(cpu), errno);
        }
    }

    const size_t area_len = static_cast<size_t>(n_frames) * frame_size;
    void* area =
        ::mmap(nullptr, area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        return fail("mmap of the UMEM", errno);
    }
    pool frames;
    frames.free.reserve(n_frames);
    for (uint32_t i = n_frames; i-- > 0;) {
        frames.free.push_back(static_cast<uint64_t>(i) * frame_size);
    }

    port ports[2];
    ports[0].name = names[0];
    ports[1].name = names[1];
    xsk_umem_config ucfg{};
    ucfg.fill_size = ring_size;
    ucfg.comp_size = ring_size;
    ucfg.frame_size = frame_size;
    ucfg.frame_headroom = XSK_UMEM__DEFAULT_FRAME_HEADROOM;
    ucfg.flags = XSK_UMEM__DEFAULT_FLAGS;
    xsk_umem* umem = nullptr;
    // The UMEM's own fill and completion rings go to the first socket (libxdp copies them).
    int rc = xsk_umem__create(&umem, area, area_len, &ports[0].fill, &ports[0].comp, &ucfg);
    if (rc != 0) {
        return fail("register the UMEM (XDP_UMEM_REG)", -rc);
    }

    // The dispatcher with no rules: every frame to the queue's socket.
    auto tables = swd::afxdp::xdp_tables::create(1);
    if (!tables) {
        std::fprintf(stderr, "afxdp_fwd: %s\n", tables.err().message().c_str());
        return 1;
    }
    std::unique_ptr<swd::afxdp::xdp_program> progs[2];
    for (port& p : ports) {
        const unsigned ifindex = if_nametoindex(p.name.c_str());
        if (ifindex == 0) {
            return fail(p.name, errno);
        }
        auto prog = swd::afxdp::xdp_program::attach(static_cast<int>(ifindex), p.name,
                                                    swd::afxdp::attach_mode::native, **tables,
                                                    static_cast<uint16_t>(&p - ports + 1));
        if (!prog) {
            std::fprintf(stderr, "afxdp_fwd: %s\n", prog.err().message().c_str());
            return 1;
        }
        xsk_socket_config cfg{};
        cfg.rx_size = ring_size;
        cfg.tx_size = ring_size;
        cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
        cfg.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
        rc = xsk_socket__create_shared(&p.xsk, p.name.c_str(), 0, umem, &p.rx, &p.tx, &p.fill,
                                       &p.comp, &cfg);
        if (rc != 0) {
            return fail("AF_XDP socket on " + p.name + " queue 0 (copy mode)", -rc);
        }
        auto set = (*prog)->set_socket(0, xsk_socket__fd(p.xsk));
        if (!set) {
            std::fprintf(stderr, "afxdp_fwd: %s\n", set.err().message().c_str());
            return 1;
        }
        progs[&p - ports] = std::move(*prog);
        service(p, frames); // first fill
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    if (seconds > 0) {
        std::signal(SIGALRM, on_signal);
        itimerval t{};
        t.it_value.tv_sec = static_cast<time_t>(seconds);
        t.it_value.tv_usec = static_cast<suseconds_t>((seconds - t.it_value.tv_sec) * 1e6);
        setitimer(ITIMER_REAL, &t, nullptr);
    }

    const auto t0 = std::chrono::steady_clock::now();
    while (!stop) {
        if (rx_only) [[unlikely]] {
            drop(ports[0], frames);
            drop(ports[1], frames);
        } else {
            forward(ports[0], ports[1], frames);
            forward(ports[1], ports[0], frames);
        }
        service(ports[0], frames);
        service(ports[1], frames);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const uint64_t total = ports[0].forwarded + ports[1].forwarded;
    std::printf("afxdp_fwd: %s->%s %llu, %s->%s %llu packets forwarded (%llu + %llu dropped, tx "
                "ring full) in %.3f s: %.3f Mpps\n",
                ports[0].name.c_str(), ports[1].name.c_str(),
                static_cast<unsigned long long>(ports[0].forwarded), ports[1].name.c_str(),
                ports[0].name.c_str(), static_cast<unsigned long long>(ports[1].forwarded),
                static_cast<unsigned long long>(ports[0].dropped),
                static_cast<unsigned long long>(ports[1].dropped), s, total / s / 1e6);

    for (port& p : ports) {
        // Why frames did not make it: the kernel's side of the socket (XDP_STATISTICS).
        xdp_statistics st{};
        socklen_t len = sizeof st;
        if (getsockopt(xsk_socket__fd(p.xsk), SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
            std::printf("afxdp_fwd: %s: rx_dropped %llu, rx_ring_full %llu, fill_ring_empty %llu, "
                        "tx_ring_empty %llu, rx_invalid %llu, tx_invalid %llu\n",
                        p.name.c_str(), static_cast<unsigned long long>(st.rx_dropped),
                        static_cast<unsigned long long>(st.rx_ring_full),
                        static_cast<unsigned long long>(st.rx_fill_ring_empty_descs),
                        static_cast<unsigned long long>(st.tx_ring_empty_descs),
                        static_cast<unsigned long long>(st.rx_invalid_descs),
                        static_cast<unsigned long long>(st.tx_invalid_descs));
        }
    }
    for (port& p : ports) {
        xsk_socket__delete(p.xsk);
    }
    for (auto& p : progs) {
        p.reset(); // closes the link: detaches
    }
    xsk_umem__delete(umem);
    ::munmap(area, area_len);
    return 0;
}
