#include "afxdp_datapath.h"

#include <algorithm>
#include <fmt/format.h>
#include <net/if.h>

#include "calibrator.h"
#include "datapath/util/clock.h"
#include "datapath/util/log.h"

namespace swd::afxdp {

namespace {

const char* wait_name(wait_mode w) {
    switch (w) {
    case wait_mode::spin:
        return "spin";
    case wait_mode::poll:
        return "poll";
    case wait_mode::busy:
        return "busy-poll";
    }
    return "?";
}

socket_options socket_opts(const port_config& c, uint32_t ring_size, bool zero_copy) {
    socket_options o;
    o.zero_copy = zero_copy;
    o.need_wakeup = c.need_wakeup;
    o.ring_size = ring_size;
    o.wait = c.wait;
    o.busy_poll_usecs = c.busy_poll_usecs;
    o.busy_poll_budget = c.busy_poll_budget;
    return o;
}

} // namespace

result<void> afxdp_datapath::open_port(port& p, const datapath_config& cfg) {
    const std::string& name = p.cfg.name;
    auto info = query_netdev(name);
    if (!info) {
        return fail(std::move(info).err());
    }
    p.info = *info;
    const auto n_threads = static_cast<uint32_t>(pmds_.size());
    if (p.cfg.queues.empty()) {
        for (uint32_t q = 0; q < p.info.rx_queues; q++) {
            p.cfg.queues.push_back(q);
        }
    }
    for (uint32_t q : p.cfg.queues) {
        if (q >= p.info.rx_queues) {
            return fail(errc::invalid_input,
                        fmt::format("{}: queue {} does not exist ({} has {} receive queues)", name,
                                    q, name, p.info.rx_queues));
        }
    }
    if (p.info.tx_queues < n_threads) {
        return fail(errc::invalid_input,
                    fmt::format("{}: {} transmit queue{} for {} datapath threads (each thread "
                                "sends on a queue of its own: use fewer threads or more queues)",
                                name, p.info.tx_queues, p.info.tx_queues == 1 ? "" : "s",
                                n_threads));
    }
    if (p.cfg.wait == wait_mode::busy) {
        auto d = sysfs_setting::set(name, "napi_defer_hard_irqs",
                                    std::to_string(p.cfg.napi_defer_hard_irqs));
        auto g =
            sysfs_setting::set(name, "gro_flush_timeout", std::to_string(p.cfg.gro_flush_timeout));
        if (!d || !g) {
            return fail(with_context(!d ? std::move(d).err() : std::move(g).err(),
                                     name + ": busy-poll settings"));
        }
        p.defer_irqs = std::move(*d);
        p.gro_flush = std::move(*g);
    }
    auto prog = xdp_program::attach(p.info.ifindex, name, p.cfg.attach, *tables_, p.cfg.ofport);
    if (!prog) {
        return fail(std::move(prog).err());
    }
    p.program = std::move(*prog);
    if (p.cfg.ofport != local_ofport) {
        auto egress = tc_program::attach(p.info.ifindex, name, *tables_, p.cfg.ofport);
        if (!egress) {
            return fail(std::move(egress).err());
        }
        p.egress = std::move(*egress);
    }
    for (auto [q, mode] : p.cfg.queue_modes) {
        if (q >= p.info.rx_queues || q >= SWD_XDP_MAX_QUEUES) {
            return fail(errc::invalid_input,
                        fmt::format("{}: queue {} does not exist ({} has {} receive queues; the "
                                    "dispatcher handles at most {})",
                                    name, q, name, p.info.rx_queues, SWD_XDP_MAX_QUEUES));
        }
        if (auto r = p.program->set_queue_mode(q, mode); !r) {
            return fail(with_context(std::move(r).err(), name));
        }
    }

    // Sockets: thread t receives on the served queues q with q % N == t and sends on queue t.
    bool zero_copy = p.cfg.zc != zc_mode::copy;
    for (uint32_t t = 0; t < n_threads; t++) {
        pmd& thread = *pmds_[t];
        std::vector<uint32_t> rx;
        for (uint32_t q : p.cfg.queues) {
            if (q % n_threads == t) {
                rx.push_back(q);
            }
        }
        if (std::find(rx.begin(), rx.end(), t) == rx.end()) {
            rx.push_back(t); // transmit-only, below
        }
        const uint32_t sockets_per_thread = static_cast<uint32_t>(n_ports_) * 2;
        for (uint32_t q : rx) {
            const bool serves =
                std::find(p.cfg.queues.begin(), p.cfg.queues.end(), q) != p.cfg.queues.end();
            socket_options o = socket_opts(p.cfg, cfg.ring_size, zero_copy);
            o.rx = serves;
            auto s =
                thread.add_socket(p.cfg.ofport, name, q, serves, q == t, o, sockets_per_thread);
            if (!s && zero_copy && p.cfg.zc == zc_mode::best_effort) {
                log::info("{}: zero-copy not available ({}); using copy mode", name,
                          s.err().message());
                zero_copy = false;
                o.zero_copy = false;
                s = thread.add_socket(p.cfg.ofport, name, q, serves, q == t, o, sockets_per_thread);
            }
            if (!s) {
                return fail(std::move(s).err());
            }
            if (serves) {
                if (auto r = p.program->set_socket(q, (*s)->fd()); !r) {
                    return fail(with_context(std::move(r).err(), name));
                }
            }
        }
    }
    p.mode = fmt::format("{}, {}need_wakeup, {}, XDP {}", zero_copy ? "zero-copy" : "copy",
                         p.cfg.need_wakeup ? "" : "no ", wait_name(p.cfg.wait),
                         p.program->native() ? "native" : "generic");
    for (auto [q, m] : p.cfg.queue_modes) {
        p.mode += fmt::format(", queue {} {}", q, m == SWD_QUEUE_USER ? "user" : "kernel");
    }
    std::string queues;
    for (uint32_t q : p.cfg.queues) {
        queues += (queues.empty() ? "" : ",") + std::to_string(q);
    }
    log::info("{} (port {}): queues {}, {}", name, p.cfg.ofport, queues, p.mode);
    return {};
}

result<std::unique_ptr<afxdp_datapath>> afxdp_datapath::open(const datapath_config& cfg) {
    const size_t n_threads = std::max<size_t>(1, cfg.pmd_cpus.size());
    std::unique_ptr<afxdp_datapath> dp(new afxdp_datapath(n_threads));
    auto lb = lb_maps::create(cfg.lb_sessions, cfg.lb_idle_timeout_ns);
    if (!lb) {
        return fail(with_context(std::move(lb).err(), "load-balancer maps"));
    }
    auto ct = ct_map::create(cfg.ct_entries, cfg.ct_idle_timeout_ns);
    if (!ct) {
        return fail(with_context(std::move(ct).err(), "connection tracker's map"));
    }
    auto tables = xdp_tables::create(cfg.xdp_max_rules, xdp_tables::initial_capacity,
                                     std::move(*lb), std::move(*ct));
    if (!tables) {
        return fail(std::move(tables).err());
    }
    dp->tables_ = std::move(*tables);
    auto table = [&]<class Table>(Table*, uint32_t capacity, uint64_t idle_ns,
                                  const char* what) -> result<std::unique_ptr<Table>> {
        dp::lb::session_table_config sc;
        sc.capacity = capacity;
        sc.readers = static_cast<uint32_t>(n_threads);
        sc.idle_timeout = idle_ns;
        auto t = Table::create(sc);
        if (!t) {
            return fail(with_context(std::move(t).err(), what));
        }
        return std::move(*t);
    };
    auto sessions = table(static_cast<dp::lb::session_store*>(nullptr), cfg.lb_sessions,
                          cfg.lb_idle_timeout_ns, "load-balancer sessions");
    auto conntrack = table(static_cast<dp::lb::session_table*>(nullptr), cfg.ct_entries,
                           cfg.ct_idle_timeout_ns, "connection table");
    if (!sessions || !conntrack) {
        return fail(!sessions ? std::move(sessions).err() : std::move(conntrack).err());
    }
    dp->sessions_ = std::move(*sessions);
    dp->conntrack_ = std::move(*conntrack);
    for (size_t t = 0; t < n_threads; t++) {
        int cpu = t < cfg.pmd_cpus.size() ? cfg.pmd_cpus[t] : -1;
        dp->pmds_.push_back(std::make_unique<pmd>(t, cpu, dp->publisher_));
        dp->pmds_.back()->state().sessions = dp->sessions_.get();
        dp->pmds_.back()->state().conntrack = dp->conntrack_.get();
        dp->pmds_.back()->state().reader = static_cast<uint32_t>(t);
    }
    std::vector<port_config> ports = cfg.ports;
    if (!cfg.local_port.empty()) {
        const std::string host = cfg.local_port, inner = cfg.local_port + "-dp";
        auto claim = name_claim::acquire("local-port-" + host);
        if (!claim) {
            return fail(with_context(std::move(claim).err(), "local port " + host));
        }
        dp->local_claim_ = std::move(*claim);
        if (if_nametoindex(inner.c_str()) != 0) { // unclaimed: left behind by a killed swd
            log::warn("local port: removing {}/{}, left behind by a swd that did not stop", host,
                      inner);
            if (auto r = delete_link(inner); !r) {
                return fail(with_context(std::move(r).err(), "local port"));
            }
        }
        auto v = veth_pair::create(host, inner, static_cast<uint32_t>(n_threads));
        if (!v) {
            return fail(with_context(std::move(v).err(), "local port"));
        }
        dp->local_ = std::move(*v);
        port_config lc;
        lc.name = inner;
        lc.ofport = local_ofport;
        lc.zc = zc_mode::copy;
        // A thread sleeps in poll() only when all its sockets are in poll mode: the local port
        // follows the others so that it never keeps a poll-mode thread spinning.
        if (!ports.empty() && std::all_of(ports.begin(), ports.end(), [](const port_config& pc) {
                return pc.wait == wait_mode::poll;
            })) {
            lc.wait = wait_mode::poll;
        }
        ports.push_back(lc);
        auto host_info = query_netdev(host);
        if (!host_info) {
            return fail(std::move(host_info).err());
        }
        for (auto& t : dp->pmds_) {
            t->set_local_mac(host_info->mac);
        }
    }
    dp->n_ports_ = ports.size();
    for (const auto& pc : ports) {
        dp->ports_.push_back(std::make_unique<port>());
        dp->ports_.back()->cfg = pc;
        if (auto r = dp->open_port(*dp->ports_.back(), cfg); !r) {
            return fail(std::move(r).err());
        }
        const port& p = *dp->ports_.back();
        if (auto r = dp->tables_->set_port(p.cfg.ofport, p.info.ifindex); !r) {
            return fail(std::move(r).err());
        }
    }
    auto channel = kernel_ethtool();
    if (!channel) {
        return fail(std::move(channel).err());
    }
    dp->ethtool_ = std::move(*channel);
    std::vector<steering_port> steered;
    for (const auto& p : dp->ports_) {
        if (p->cfg.ofport == local_ofport) {
            continue;
        }
        xdp_program* prog = p->program.get();
        steered.push_back(
            {p->cfg.name, p->cfg.ofport, p->cfg.queues, p->cfg.queue_modes,
             [prog](uint32_t q, uint32_t mode) { return prog->set_queue_mode(q, mode); }});
    }
    dp->steering_ = std::make_unique<steering>(*dp->ethtool_, std::move(steered));
    return dp;
}

afxdp_datapath::~afxdp_datapath() {
    for (auto& t : pmds_) {
        t->stop();
    }
}

void afxdp_datapath::start() {
    for (auto& t : pmds_) {
        t->start();
    }
}

void afxdp_datapath::publish(std::shared_ptr<const dp::pipeline> p,
                             std::span<const uint32_t> born) {
    uint32_t max_id = reserved_ids_;
    for (uint32_t id : born) {
        max_id = std::max(max_id, id + 1);
    }
    for (auto& t : pmds_) {
        if (max_id > reserved_ids_) {
            t->state().rules.reserve(max_id);
        }
        for (uint32_t id : born) {
            t->state().rules.reset(id);
        }
    }
    reserved_ids_ = max_id;
    tables_->forget(born);
    publisher_.publish(p);
    steering_->apply(*p->steering); // the flows it steers meet the table just published
    // User space has the new table; now the dispatcher's maps. They grow when the table has
    // outgrown them (new maps and programs); a failure leaves the dispatcher sending every frame
    // to user space, which is correct, only slower.
    auto grown = [&] {
        const uint32_t want = tables_->wanted_capacity(*p);
        if (want == 0) {
            return false;
        }
        auto r = grow_tables(*p, want);
        if (!r) {
            log::warn("XDP dispatcher: no larger rule maps: {}", r.err().message());
        }
        return bool(r);
    };
    // When tracking moves between XDP and user space, the connections go to the tracker that
    // takes over before the switch, and again after it (those committed meanwhile).
    const bool tracked_in_xdp = tables_->tracks();
    size_t handed =
        xdp_tables::would_track(*p) != tracked_in_xdp ? hand_off_connections(tracked_in_xdp) : 0;
    if (!grown()) {
        auto r = tables_->sync(*p);
        if (!r && tables_->out_of_room() && !grown()) {
            r = tables_->sync(*p); // the failed sync left the maps empty: the table may fit now
        }
        if (!r) {
            log::warn("XDP dispatcher: {}; every packet goes to user space", r.err().message());
        }
    }
    if (tables_->tracks() != tracked_in_xdp) {
        handed = std::max(handed, hand_off_connections(tracked_in_xdp));
        const char* to = tracked_in_xdp ? "user space" : "XDP";
        if (handed == 0) {
            log::info("connection tracking runs in {}", to);
        } else {
            log::info("connection tracking moves to {}: {} live connections handed over", to,
                      handed);
        }
    }
}

size_t afxdp_datapath::hand_off_connections(bool from_xdp) {
    const uint64_t now = monotonic_ns();
    ct_map& ct = *tables_->ct();
    return from_xdp ? ct.store_into(*conntrack_, now) : ct.load_from(*conntrack_, now);
}

result<void> afxdp_datapath::grow_tables(const dp::pipeline& p, uint32_t capacity) {
    auto created = xdp_tables::create(tables_->max_rules(), capacity, tables_->lb(), tables_->ct());
    if (!created) {
        return fail(created.err());
    }
    std::unique_ptr<xdp_tables> next = std::move(*created);
    for (const auto& port : ports_) {
        if (auto r = next->set_port(port->cfg.ofport, port->info.ifindex); !r) {
            return r;
        }
    }
    if (auto r = next->sync(p); !r) {
        return r;
    }
    // Every program moves to the new maps by an atomic replacement; the ones not yet moved
    // search the old maps, which hold the previous table, as a port would until its turn.
    auto rebind_all = [&](const xdp_tables& t, size_t& moved) -> result<void> {
        for (moved = 0; moved < ports_.size(); moved++) {
            port& pt = *ports_[moved];
            if (auto r = pt.program->rebind(t); !r) {
                return r;
            }
            if (pt.egress) {
                if (auto r = pt.egress->rebind(t); !r) {
                    (void)pt.program->rebind(*tables_);
                    return r;
                }
            }
        }
        return {};
    };
    size_t moved = 0;
    if (auto r = rebind_all(*next, moved); !r) {
        for (size_t i = 0; i < moved; i++) { // back to the maps they came from
            (void)ports_[i]->program->rebind(*tables_);
            if (ports_[i]->egress) {
                (void)ports_[i]->egress->rebind(*tables_);
            }
        }
        return r;
    }
    next->carry_counters(*tables_);
    log::info("XDP dispatcher: rule maps grown from {} to {} rules ({} in table 0), programs "
              "replaced on {} ports",
              tables_->capacity(), next->capacity(), next->n_rules(), ports_.size());
    tables_ = std::move(next);
    return {};
}

dp::steering_state afxdp_datapath::steering_of(uint32_t rule_id) const {
    return {steering_->summary(rule_id), steering_->detail(rule_id)};
}

result<dp::cost_measurements> afxdp_datapath::measure_costs(const dp::pipeline& probe,
                                                            double sample_s) {
    dp::cost_measurements m;
    uint16_t default_port = local_ofport;
    std::vector<probe_port> pp;
    std::vector<std::string> names;
    for (const auto& p : ports_) {
        pp.push_back({p->cfg.ofport, p->info.ifindex});
        if (p->cfg.ofport != local_ofport) {
            names.push_back(p->cfg.name);
            default_port = default_port == local_ofport ? p->cfg.ofport : default_port;
        }
    }
    // Live first, while the traffic that made the caller ask is there: the rules' counts by
    // kind around the polling threads' timed sample.
    std::vector<uint32_t> ids;
    std::vector<dp::rule_kind> kinds;
    if (const dp::classifier* t0 = probe.table(0)) {
        for (const auto& st : t0->subtables()) {
            st->for_each([&](const dp::flow_key&, const dp::compiled_rule& r, auto actions) {
                ids.push_back(r.rule_id);
                kinds.push_back(dp::kind_of(actions));
            });
        }
    }
    std::vector<dp::rule_counters> before(ids.size()), after(ids.size());
    read_counters(ids, before);
    sample_threads(pmds_, sample_s, m);
    read_counters(ids, after);
    for (size_t i = 0; i < ids.size(); i++) {
        m.kinds[static_cast<size_t>(kinds[i])].live_packets += after[i].packets - before[i].packets;
    }
    const auto frames = probe_rules(probe, default_port, m);
    if (auto r = probe_static(probe, frames, pp, tables_->max_rules(), 20000, m); !r) {
        return fail(std::move(r).err());
    }
    probe_kernel_side(*ethtool_, names, m);
    return m;
}

dp::rule_location afxdp_datapath::where(uint32_t rule_id) const {
    return tables_->runs_in_xdp(rule_id) ? dp::rule_location::xdp : dp::rule_location::user;
}

std::string afxdp_datapath::xdp_status() const {
    if (!tables_->searching()) {
        return "rule search off: " + tables_->why_not();
    }
    return fmt::format("searching {} rules of table 0 in {} masks (maps for {}, at most {}); "
                       "TC egress {}",
                       tables_->n_rules(), tables_->n_masks(), tables_->capacity(),
                       tables_->max_rules(),
                       tables_->egress() ? "searching (in_port=LOCAL rules in XDP)"
                                         : "idle (no in_port=LOCAL rule in XDP)");
}

void afxdp_datapath::read_counters(std::span<const uint32_t> ids,
                                   std::span<dp::rule_counters> out) const {
    for (size_t i = 0; i < ids.size(); i++) {
        dp::rule_counters sum;
        uint64_t last_ns = 0;
        for (const auto& t : pmds_) {
            if (const dp::rule_slot* s = t->state().rules.find(ids[i])) {
                sum.packets += s->packets.get();
                sum.bytes += s->bytes.get();
                last_ns = std::max(last_ns, s->last_hit_ns.get());
            }
        }
        if (last_ns) {
            sum.last_hit =
                std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_ns));
        }
        out[i] = sum;
    }
    tables_->add_counters(ids, out);
}

std::vector<dp::port_stats> afxdp_datapath::ports() const {
    std::vector<dp::port_stats> out;
    for (const auto& p : ports_) {
        dp::port_stats ps;
        ps.name = p->cfg.name;
        ps.ofport = p->cfg.ofport;
        ps.mode = p->mode;
        ps.steering = steering_->port_status(p->cfg.ofport);
        const auto xc = p->program->counters();
        std::copy(xc.begin(), xc.end(), ps.xdp.begin());
        if (p->egress) {
            const auto tc = p->egress->counters();
            std::copy(tc.begin(), tc.end(), ps.egress.begin());
            ps.has_egress = true;
        }
        for (const auto& t : pmds_) {
            for (size_t i = 0; i < t->sockets().size(); i++) {
                if (t->socket_ports()[i] != p->cfg.ofport) {
                    continue;
                }
                const xsk_socket& s = *t->sockets()[i];
                dp::queue_stats q;
                q.queue = s.queue();
                q.thread = static_cast<int>(t->index());
                q.rx = s.options().rx;
                for (size_t c = 0; c < q.counters.size(); c++) {
                    q.counters[c] = s.counters().c[c].get();
                }
                const xdp_statistics k = s.stats();
                q.kernel_rx_dropped = k.rx_dropped;
                q.kernel_rx_invalid = k.rx_invalid_descs;
                q.kernel_tx_invalid = k.tx_invalid_descs;
                q.kernel_rx_ring_full = k.rx_ring_full;
                q.kernel_fill_ring_empty = k.rx_fill_ring_empty_descs;
                q.kernel_tx_ring_empty = k.tx_ring_empty_descs;
                ps.queues.push_back(q);
            }
        }
        std::sort(ps.queues.begin(), ps.queues.end(),
                  [](const auto& a, const auto& b) { return a.queue < b.queue; });
        out.push_back(std::move(ps));
    }
    return out;
}

std::vector<dp::thread_info> afxdp_datapath::threads() const {
    std::vector<dp::thread_info> out;
    for (const auto& t : pmds_) {
        dp::thread_info ti;
        ti.index = static_cast<int>(t->index());
        ti.cpu = t->cpu();
        for (size_t i = 0; i < t->sockets().size(); i++) {
            const xsk_socket& s = *t->sockets()[i];
            for (const auto& p : ports_) {
                if (p->cfg.ofport == t->socket_ports()[i]) {
                    ti.queues.push_back(fmt::format("{}/q{}{}", p->cfg.name, s.queue(),
                                                    s.options().rx ? "" : " (tx)"));
                }
            }
        }
        out.push_back(std::move(ti));
    }
    return out;
}

void afxdp_datapath::tick() {
    const uint64_t now = monotonic_ns();
    // A sweep of the whole table every ~64 ticks: an idle entry ends within about a minute of
    // its timeout, and a tick stays short (1024 buckets or entries at the default size).
    sessions_->expire(now, std::max<size_t>(256, sessions_->capacity() / 64));
    conntrack_->expire(now, std::max<size_t>(256, conntrack_->buckets() / 64));
}

namespace {

template <class Table>
dp::datapath::table_stats stats_of(const Table& t) {
    const dp::lb::session_counters c = t.counters();
    return {{"live", t.size()},         {"capacity", t.capacity()},
            {"hits", c.hits},           {"misses", c.misses},
            {"inserts", c.inserts},     {"expirations", c.expirations},
            {"evictions", c.evictions}, {"refused_full", c.full_no_victim + c.wait_grace}};
}

} // namespace

dp::datapath::table_stats afxdp_datapath::lb_sessions() const {
    return stats_of(*sessions_);
}

dp::datapath::table_stats afxdp_datapath::connections() const {
    dp::datapath::table_stats s = stats_of(*conntrack_);
    // XDP's tracker (bpf/conntrack.h): its map never deletes, so what ct(commit) created and
    // the map no longer holds was evicted.
    uint64_t created = 0, renewed = 0;
    for (const auto& p : ports_) {
        const auto xc = p->program->counters();
        created += xc[SWD_XC_CT_CREATED];
        renewed += xc[SWD_XC_CT_RENEWED];
        if (p->egress) {
            const auto tc = p->egress->counters();
            created += tc[SWD_TC_CT_CREATED];
            renewed += tc[SWD_TC_CT_RENEWED];
        }
    }
    const ct_map& ct = *tables_->ct();
    const uint64_t present = ct.entries();
    s.insert(s.end(), {{"xdp_tracks", tables_->tracks() ? 1 : 0},
                       {"xdp_entries", present},
                       {"xdp_capacity", ct.capacity()},
                       {"xdp_created", created},
                       {"xdp_renewed", renewed},
                       {"xdp_evictions", created > present ? created - present : 0}});
    return s;
}

dp::datapath::connection_list afxdp_datapath::list_connections(size_t limit) const {
    const uint64_t now = monotonic_ns();
    connection_list out;
    out.tracker = tables_->tracks() ? "xdp" : "user";
    const auto live =
        tables_->tracks() ? tables_->ct()->live_entries(now) : conntrack_->live_entries(now);
    out.total = live.size();
    for (size_t i = 0; i < live.size() && i < limit; i++) {
        out.entries.push_back({live[i].key, now > live[i].last_used ? now - live[i].last_used : 0});
    }
    return out;
}

size_t afxdp_datapath::flush_connections() {
    const uint64_t now = monotonic_ns();
    size_t n = tables_->ct()->clear(now);
    for (const auto& e : conntrack_->live_entries(now)) {
        n += conntrack_->erase(e.key, dp::lb::session_table::hash(e.key)) ? 1 : 0;
    }
    return n;
}

} // namespace swd::afxdp
