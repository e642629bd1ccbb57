// A real swd process driven by real swctl processes: command lines, exit codes, output, the
// control socket's life cycle and signals.
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct run_result {
    int status = -1; // exit code
    std::string out, err;
};

std::string bin(const char* var) {
    const char* p = std::getenv(var);
    return p ? p : "";
}

// Runs argv to completion with stdin from `input`, capturing stdout and stderr.
run_result run(std::vector<std::string> argv, const std::string& input = "") {
    std::string dir = fs::temp_directory_path() / ("swd-run-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string in = dir + "/in", out = dir + "/out", err = dir + "/err";
    std::ofstream(in) << input;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    pid_t pid = 0;
    run_result r;
    if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) == 0) {
        int st = 0;
        waitpid(pid, &st, 0);
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    posix_spawn_file_actions_destroy(&fa);
    std::ifstream o(out), e(err);
    r.out.assign(std::istreambuf_iterator<char>(o), {});
    r.err.assign(std::istreambuf_iterator<char>(e), {});
    fs::remove_all(dir);
    return r;
}

class Daemon : public ::testing::Test {
protected:
    void SetUp() override {
        swd_ = bin("SWD_BIN");
        swctl_ = bin("SWCTL_BIN");
        ASSERT_FALSE(swd_.empty()) << "SWD_BIN is not set (run through meson test)";
        char tmpl[] = "/tmp/swd-daemon-test.XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        sock_ = dir_ + "/ctl/swd.sock";
        config_ = dir_ + "/flows.txt";
        write(config_,
              "# test switch\n"
              "port=p0, ofport=1\n"
              "port=p1, ofport=2\n"
              "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01\n"
              "priority=400, tcp, nw_dst=10.0.0.1, tp_dst=11211, actions=local\n"
              "priority=300, ip, nw_src=198.51.100.0/24, actions=drop\n"
              "priority=200, tcp, nw_dst=10.0.0.10, tp_dst=80, actions=lb(web),in_port\n"
              "priority=0, actions=output:p1\n");
    }
    void TearDown() override {
        stop();
        fs::remove_all(dir_);
    }
    static void write(const std::string& path, const std::string& text) {
        std::ofstream(path) << text;
    }
    void start(std::vector<std::string> extra = {}) {
        // The ports of this configuration are not interfaces: control plane only.
        std::vector<std::string> argv = {swd_,  "--config",   config_, "--control",
                                         sock_, "--datapath", "none"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        std::vector<char*> args;
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        log_ = dir_ + "/swd.log";
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_EQ(posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        for (int i = 0; i < 100; i++) {
            if (ctl({"ping"}).status == 0) {
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
        FAIL() << "swd did not answer; log:\n" << log();
    }
    // Sends sig and waits; returns the exit status.
    int stop(int sig = SIGTERM) {
        if (pid_ <= 0) {
            return -1;
        }
        ::kill(pid_, sig);
        int st = 0;
        waitpid(pid_, &st, 0);
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    run_result ctl(std::vector<std::string> args, const std::string& input = "") {
        std::vector<std::string> argv = {swctl_, "--control", sock_};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, input);
    }
    std::string log() const {
        std::ifstream f(log_);
        return std::string(std::istreambuf_iterator<char>(f), {});
    }
    std::string dump() { return ctl({"dump-flows", "--no-stats"}).out; }
    // A plain socket to swd, for speaking the protocol without swctl; -1 on failure.
    int connect_raw() const {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, sock_.c_str(), sizeof a.sun_path - 1);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }

    std::string swd_, swctl_, dir_, sock_, config_, log_;
    pid_t pid_ = -1;
};

TEST_F(Daemon, HelpAndBadCommandLines) {
    auto h = run({swd_, "--help"});
    EXPECT_EQ(h.status, 0);
    for (const char* opt : {"--config", "--port", "--control", "--check", "--log-level"}) {
        EXPECT_NE(h.out.find(opt), std::string::npos) << opt << " missing from --help";
    }
    auto bad = run({swd_, "--bogus"});
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("unrecognised option '--bogus'"), std::string::npos) << bad.err;
    EXPECT_EQ(run({swd_, "--log-level", "loud"}).status, 2);
    EXPECT_EQ(run({swd_, "--port", "1234"}).status, 2);
    EXPECT_EQ(run({swd_, "--check"}).status, 2);
    EXPECT_EQ(run({swd_, "--profile", "fastest"}).status, 2);
    auto shares = run({swd_, "--profile", "adaptive", "--adaptive-return-share", "0.8"});
    EXPECT_EQ(shares.status, 2);
    EXPECT_NE(shares.err.find("--adaptive-return-share < --adaptive-offload-share"),
              std::string::npos)
        << shares.err;
    EXPECT_EQ(run({swd_, "--adaptive-budget", "0"}).status, 2);
    EXPECT_EQ(run({swctl_}).status, 2);
    EXPECT_EQ(run({swctl_, "frob"}).status, 2);
    EXPECT_EQ(run({swctl_, "--format", "yaml", "show"}).status, 2);
}

TEST_F(Daemon, CheckValidatesWithoutStarting) {
    auto ok = run({swd_, "--check", "--config", config_});
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(ok.out.substr(0, ok.out.find('\n')), config_ + ": OK: 4 rules, 1 pool, 2 ports");
    EXPECT_FALSE(fs::exists(sock_));
    write(dir_ + "/bad.txt", "priority=1,actions=drop\nip,nw_src=10.0.0.300,actions=drop\n");
    auto bad = run({swd_, "--check", "--config", dir_ + "/bad.txt"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find(dir_ + "/bad.txt:2:11: error: invalid nw_src value '10.0.0.300'"),
              std::string::npos)
        << bad.err;
    EXPECT_NE(bad.err.find("    2 | ip,nw_src=10.0.0.300,actions=drop\n"
                           "      |           ^~~~~~~~~~"),
              std::string::npos)
        << bad.err;
    auto missing = run({swd_, "--check", "--config", dir_ + "/nope.txt"});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("nope.txt"), std::string::npos);
    // A bad configuration never starts the daemon.
    auto start_bad =
        run({swd_, "--config", dir_ + "/bad.txt", "--control", sock_, "--datapath", "none"});
    EXPECT_EQ(start_bad.status, 1);
    EXPECT_FALSE(fs::exists(sock_));
}

TEST_F(Daemon, ServesSwctlAndStopsCleanly) {
    start({"--port", "p2"});
    struct stat st {};
    ASSERT_EQ(::stat(sock_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, ::getuid());

    auto show = ctl({"show"});
    EXPECT_EQ(show.status, 0);
    EXPECT_NE(show.out.find("  3 p2\n"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("rules: 4"), std::string::npos) << show.out;

    EXPECT_EQ(ctl({"add-flow", "priority=5,udp,tp_dst=53,actions=output:p2"}).status, 0);
    // A rule with spaces may come as several arguments.
    EXPECT_EQ(ctl({"add-flow", "priority=6,", "icmp", "actions=drop"}).status, 0);
    auto rejected = ctl({"add-flow", "priority=7,tcp,tp_dst=70000,actions=drop"});
    EXPECT_EQ(rejected.status, 1);
    EXPECT_NE(rejected.err.find("<add-flow>:1:23: error: invalid tp_dst value '70000'"),
              std::string::npos)
        << rejected.err;
    EXPECT_NE(rejected.err.find("swctl: <add-flow>: 1 error; nothing was changed"),
              std::string::npos);
    EXPECT_EQ(dump(), "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01\n"
                      "priority=400,tcp,nw_dst=10.0.0.1,tp_dst=11211 actions=local\n"
                      "priority=300,ip,nw_src=198.51.100.0/24 actions=drop\n"
                      "priority=200,tcp,nw_dst=10.0.0.10,tp_dst=80 actions=lb(web),in_port\n"
                      "priority=6,icmp actions=drop\n"
                      "priority=5,udp,tp_dst=53 actions=output:p2\n"
                      "priority=0 actions=output:p1\n");

    auto stats = ctl({"dump-flows", "tcp"});
    EXPECT_EQ(stats.status, 0);
    EXPECT_NE(stats.out.find("n_packets=0, n_bytes=0,"), std::string::npos) << stats.out;
    EXPECT_EQ(std::count(stats.out.begin(), stats.out.end(), '\n'), 2);

    auto js = ctl({"--format", "json", "dump-flows"});
    auto parsed = nlohmann::json::parse(js.out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << js.out;
    EXPECT_EQ(parsed["flows"].size(), 6u);

    EXPECT_EQ(ctl({"mod-flows", "udp,actions=drop"}).status, 0);
    EXPECT_EQ(ctl({"--strict", "del-flows", "priority=6,icmp"}).status, 0);
    EXPECT_EQ(ctl({"del-flows", "--strict", "priority=0"}).status, 0);
    EXPECT_EQ(ctl({"add-flows", "-"}, "add priority=9,arp,actions=local\n"
                                      "delete_strict priority=5,udp,tp_dst=53\n")
                  .status,
              0);
    EXPECT_EQ(dump(), "lb_pool=web, vip=10.0.0.10:80/tcp, backend=10.1.0.1:8080/02:00:00:00:01:01\n"
                      "priority=400,tcp,nw_dst=10.0.0.1,tp_dst=11211 actions=local\n"
                      "priority=300,ip,nw_src=198.51.100.0/24 actions=drop\n"
                      "priority=200,tcp,nw_dst=10.0.0.10,tp_dst=80 actions=lb(web),in_port\n"
                      "priority=9,arp actions=local\n");

    EXPECT_EQ(stop(), 0);
    EXPECT_FALSE(fs::exists(sock_)) << "the socket file must be removed on SIGTERM";
    EXPECT_NE(log().find("swd stopped"), std::string::npos);
    auto gone = ctl({"show"});
    EXPECT_EQ(gone.status, 1);
    EXPECT_NE(gone.err.find("cannot reach swd"), std::string::npos);
}

TEST_F(Daemon, SwctlChangesPoolsAtRunTime) {
    start();
    const std::string web = "lb_pool=web, vip=10.0.0.10:80/tcp, "
                            "backend=10.1.0.1:8080/02:00:00:00:01:01";
    auto add = ctl({"add-backend", "web", "10.1.0.2:8080/02:00:00:00:01:02/weight=2"});
    EXPECT_EQ(add.status, 0) << add.err;
    EXPECT_EQ(add.out, "pool web: added backend 10.1.0.2:8080 (2 backends, table version 4)\n" +
                           web + ", backend=10.1.0.2:8080/02:00:00:00:01:02/weight=2\n");
    auto set = ctl({"set-backend", "web", "10.1.0.1:8080", "state=drain"});
    EXPECT_EQ(set.status, 0) << set.err;
    EXPECT_EQ(set.out, "pool web: backend 10.1.0.1:8080 now weight=1, state=drain (table version "
                       "5)\nlb_pool=web, vip=10.0.0.10:80/tcp, "
                       "backend=10.1.0.1:8080/02:00:00:00:01:01/state=drain, "
                       "backend=10.1.0.2:8080/02:00:00:00:01:02/weight=2\n");
    auto same = ctl({"set-backend", "web", "10.1.0.1:8080", "state=drain"});
    EXPECT_EQ(same.status, 0) << same.err;
    EXPECT_EQ(same.out.substr(0, same.out.find('\n')),
              "pool web: backend 10.1.0.1:8080 already weight=1, state=drain (table version 5)");
    auto del = ctl({"del-backend", "web", "10.1.0.1:8080"});
    EXPECT_EQ(del.status, 0) << del.err;
    EXPECT_EQ(del.out, "pool web: deleted backend 10.1.0.1:8080, its sessions continue (1 "
                       "backend, table version 6)\nlb_pool=web, vip=10.0.0.10:80/tcp, "
                       "backend=10.1.0.2:8080/02:00:00:00:01:02/weight=2\n");
    // The table shows the new pool; the rules are as they were.
    const std::string now = "lb_pool=web, vip=10.0.0.10:80/tcp, "
                            "backend=10.1.0.2:8080/02:00:00:00:01:02/weight=2\n";
    EXPECT_EQ(dump().substr(0, now.size()), now);
    EXPECT_EQ(ctl({"dump-pools"}).out, now);
    EXPECT_EQ(ctl({"dump-pools", "web"}).out, now);
    EXPECT_NE(ctl({"show"}).out.find("table version 6"), std::string::npos);

    // Errors: exit 1, the message on stderr, nothing on stdout, nothing changed.
    auto bad = ctl({"add-backend", "web", "10.1.0.3:8080/02:00:00:00:01:0g"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(bad.out, "");
    EXPECT_NE(bad.err.find("<add-backend>:1:15: error: invalid backend MAC '02:00:00:00:01:0g'"),
              std::string::npos)
        << bad.err;
    EXPECT_NE(bad.err.find("    1 | 10.1.0.3:8080/02:00:00:00:01:0g\n"
                           "      |               ^~~~~~~~~~~~~~~~~\n"
                           "swctl: <add-backend>: 1 error; nothing was changed\n"),
              std::string::npos)
        << bad.err;
    auto unknown = ctl({"del-backend", "api", "10.1.0.2:8080"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_EQ(
        unknown.err,
        "swctl: <del-backend>: unknown pool 'api'; expected one of the switch's pools: web\n");
    auto absent = ctl({"set-backend", "web", "10.1.0.1:8080", "weight=3"});
    EXPECT_EQ(absent.status, 1);
    EXPECT_EQ(absent.err, "swctl: <set-backend>: backend not in pool 'web': 10.1.0.1:8080; "
                          "expected one of its 1 backend\n");
    EXPECT_EQ(ctl({"dump-pools", "api"}).status, 1);
    EXPECT_EQ(ctl({"add-backend", "web"}).status, 2);
    EXPECT_EQ(ctl({"dump-pools", "a", "b"}).status, 2);
    EXPECT_EQ(dump().substr(0, now.size()), now);
    EXPECT_NE(ctl({"show"}).out.find("table version 6"), std::string::npos);
    // --format json gives the whole answer.
    auto js = ctl({"--format", "json", "set-backend", "web", "10.1.0.2:8080", "weight=1"});
    auto parsed = nlohmann::json::parse(js.out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << js.out;
    EXPECT_EQ(parsed["version"], 7);
    EXPECT_EQ(parsed["pool"]["text"], "lb_pool=web, vip=10.0.0.10:80/tcp, "
                                      "backend=10.1.0.2:8080/02:00:00:00:01:02");
    auto help = run({swctl_, "--help"});
    for (const char* verb : {"add-backend", "del-backend", "set-backend", "dump-pools"}) {
        EXPECT_NE(help.out.find(verb), std::string::npos) << verb << " missing from --help";
    }
}

TEST_F(Daemon, DumpOutputFeedsBackAndDiffs) {
    start();
    // Round trip through the switch: dump, replace with the dump, nothing changes.
    std::string text = dump();
    write(dir_ + "/dump.txt", text);
    auto rep = ctl({"-v", "replace-flows", dir_ + "/dump.txt"});
    EXPECT_EQ(rep.status, 0) << rep.err;
    EXPECT_NE(rep.out.find("added 0, modified 0, deleted 0, unchanged 4"), std::string::npos)
        << rep.out;
    EXPECT_EQ(dump(), text);
    // The statistics form parses back too.
    write(dir_ + "/stats.txt", ctl({"dump-flows"}).out);
    EXPECT_EQ(ctl({"add-flows", dir_ + "/stats.txt"}).status, 0);
    EXPECT_EQ(dump(), text);

    auto same = ctl({"diff-flows", config_, "swd"});
    EXPECT_EQ(same.status, 0) << same.out << same.err;
    EXPECT_EQ(same.out, "");
    EXPECT_EQ(ctl({"add-flow", "priority=1,udp,actions=drop"}).status, 0);
    EXPECT_EQ(ctl({"mod-flows", "ip,nw_src=198.51.100.0/24,actions=local"}).status, 0);
    auto diff = ctl({"diff-flows", config_, "unix:" + sock_});
    EXPECT_EQ(diff.status, 2);
    EXPECT_EQ(diff.out, "-priority=300,ip,nw_src=198.51.100.0/24 actions=drop\n"
                        "+priority=300,ip,nw_src=198.51.100.0/24 actions=local\n"
                        "+priority=1,udp actions=drop\n");
    auto err = ctl({"diff-flows", config_, dir_ + "/missing.txt"});
    EXPECT_EQ(err.status, 1);
}

TEST_F(Daemon, ReplaceFlowsIsAtomic) {
    start();
    const std::string before = dump();
    write(dir_ + "/new.txt", "priority=1,actions=drop\npriority=2,tcp,tp_dst=99999,actions=drop\n");
    auto r = ctl({"replace-flows", dir_ + "/new.txt"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("/new.txt:2:"), std::string::npos) << r.err;
    EXPECT_EQ(dump(), before);
    write(dir_ + "/new.txt", "priority=1,actions=drop\n");
    EXPECT_EQ(ctl({"replace-flows", dir_ + "/new.txt"}).status, 0);
    EXPECT_EQ(dump(), "priority=1 actions=drop\n");
}

TEST_F(Daemon, OneSwitchPerSocketAndStaleSocketsAreReplaced) {
    start();
    auto second = run({swd_, "--config", config_, "--control", sock_, "--datapath", "none"});
    EXPECT_EQ(second.status, 1);
    EXPECT_NE(second.err.find("another swd is answering on " + sock_), std::string::npos)
        << second.err;
    EXPECT_EQ(ctl({"ping"}).status, 0) << "the first swd must keep running";
    // SIGKILL leaves the socket file behind; the next swd must take its place.
    EXPECT_EQ(stop(SIGKILL), 128 + SIGKILL);
    EXPECT_TRUE(fs::exists(sock_));
    start();
    EXPECT_EQ(ctl({"ping"}).status, 0);
}

TEST_F(Daemon, SighupReloadsTheConfiguration) {
    start();
    write(config_, "port=p0, ofport=1\nport=p1, ofport=2\npriority=7,udp,actions=output:p0\n");
    ::kill(pid_, SIGHUP);
    for (int i = 0; i < 50 && dump() != "priority=7,udp actions=output:p0\n"; i++) {
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(dump(), "priority=7,udp actions=output:p0\n") << log();
    // An invalid file on reload changes nothing and is logged.
    write(config_, "priority=7,udp,tp_dst=x,actions=drop\n");
    ::kill(pid_, SIGHUP);
    for (int i = 0; i < 50 && log().find("reload failed") == std::string::npos; i++) {
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_NE(log().find("reload failed"), std::string::npos) << log();
    EXPECT_EQ(dump(), "priority=7,udp actions=output:p0\n");
}

TEST_F(Daemon, HardTimeoutExpires) {
    start();
    EXPECT_EQ(ctl({"add-flow", "hard_timeout=1,priority=3,udp,actions=drop"}).status, 0);
    EXPECT_NE(dump().find("hard_timeout=1"), std::string::npos);
    for (int i = 0; i < 60 && dump().find("hard_timeout=1") != std::string::npos; i++) {
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(dump().find("hard_timeout=1"), std::string::npos) << "rule did not expire";
}

// Flow text as raw bytes after the JSON line, arriving in pieces, followed by another request on
// the same connection.
TEST_F(Daemon, AttachmentsMayArriveInPieces) {
    start();
    int fd = connect_raw();
    ASSERT_GE(fd, 0);
    const std::string text = "priority=11,udp,tp_dst=11,actions=drop\n"
                             "priority=12,udp,tp_dst=12,actions=drop\n";
    std::string head = "{\"id\":1,\"cmd\":\"add-flows\",\"source\":\"raw\",\"attachment\":" +
                       std::to_string(text.size()) + "}\n" + text.substr(0, 10);
    ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    std::this_thread::sleep_for(100ms);
    std::string rest = text.substr(10) + "{\"id\":2,\"cmd\":\"ping\"}\n";
    ASSERT_EQ(::send(fd, rest.data(), rest.size(), 0), static_cast<ssize_t>(rest.size()));
    std::string got;
    char buf[4096];
    while (std::count(got.begin(), got.end(), '\n') < 2) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        ASSERT_GT(n, 0);
        got.append(buf, static_cast<size_t>(n));
    }
    std::istringstream lines(got);
    std::string l1, l2;
    std::getline(lines, l1);
    std::getline(lines, l2);
    auto r1 = nlohmann::json::parse(l1);
    EXPECT_TRUE(r1["ok"].get<bool>()) << l1;
    EXPECT_EQ(r1["result"]["added"], 2);
    EXPECT_EQ(nlohmann::json::parse(l2)["id"], 2);
    // A bad attachment size cannot be skipped over: error, then the connection closes.
    std::string bad = "{\"id\":3,\"cmd\":\"add-flows\",\"attachment\":\"lots\"}\n";
    ASSERT_EQ(::send(fd, bad.data(), bad.size(), 0), static_cast<ssize_t>(bad.size()));
    got.clear();
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
        got.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(nlohmann::json::parse(got)["error"]["message"],
              "attachment must be a byte count up to 1 GiB");
    ::close(fd);
    EXPECT_NE(dump().find("priority=12,udp,tp_dst=12 actions=drop"), std::string::npos);
}

TEST_F(Daemon, MalformedSocketInputGetsAnErrorAndServiceContinues) {
    start();
    int fd = connect_raw();
    ASSERT_GE(fd, 0);
    std::string junk = "{not json\n[1,2]\n{\"cmd\":\"ping\",\"id\":5}\n";
    ASSERT_EQ(::send(fd, junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
    std::string got;
    char buf[4096];
    while (std::count(got.begin(), got.end(), '\n') < 3) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        ASSERT_GT(n, 0);
        got.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    std::istringstream lines(got);
    std::string l1, l2, l3;
    std::getline(lines, l1);
    std::getline(lines, l2);
    std::getline(lines, l3);
    EXPECT_EQ(nlohmann::json::parse(l1)["error"]["message"], "the request is not valid JSON");
    EXPECT_EQ(nlohmann::json::parse(l2)["error"]["code"], "protocol");
    auto ping = nlohmann::json::parse(l3);
    EXPECT_EQ(ping["id"], 5);
    EXPECT_TRUE(ping["ok"].get<bool>());
    EXPECT_EQ(ctl({"ping"}).status, 0);
}

} // namespace
