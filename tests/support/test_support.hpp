// Helpers shared by the test suites (native and wasm).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qs::test {

// Directory holding test fixtures (tests/fixtures).
std::string fixtures_dir();
// Reads a whole binary file; throws std::runtime_error when missing.
std::vector<std::uint8_t> read_bytes(const std::string& path);
// Reads little-endian float32 samples.
std::vector<float> read_f32(const std::string& path);
// A fresh, empty temporary directory for one test (removed by the OS / test run).
std::string temp_dir(const std::string& tag);
// Deterministic pseudo-random bytes (for fuzz-like tests).
std::vector<std::uint8_t> random_bytes(std::uint64_t seed, std::size_t n);

}  // namespace qs::test
