// A test fixture for tests that need root (BPF program loads, BPF_PROG_TEST_RUN): not root,
// SetUp() skips the test, unless SWD_REQUIRE_ROOT_TESTS=1 (CI runs as root) makes that a
// failure. A fixture deriving from it calls root_test::SetUp() first and returns when
// IsSkipped() or HasFatalFailure().
#pragma once

#include <cstdlib>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

namespace swd::test {

class root_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            if (const char* r = std::getenv("SWD_REQUIRE_ROOT_TESTS"); r && std::string(r) == "1") {
                FAIL() << "needs root (BPF program load, BPF_PROG_TEST_RUN) and "
                          "SWD_REQUIRE_ROOT_TESTS=1";
            }
            GTEST_SKIP() << "needs root (BPF program load, BPF_PROG_TEST_RUN)";
        }
    }
};

} // namespace swd::test
