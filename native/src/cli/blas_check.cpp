#include "cli/blas_check.hpp"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace qs {

BlasReport check_blas(bool measure) {
  BlasReport r;
  r.kind = "unknown";
  // Make sure LibTorch (and with it the BLAS) is initialised and mapped.
  (void)torch::ones({1});
  std::ifstream maps("/proc/self/maps");
  std::string line, openblas;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (path.find("libblas.so") != std::string::npos && r.library.empty()) r.library = path;
    if (path.find("libopenblas") != std::string::npos && openblas.empty()) openblas = path;
  }
  if (!r.library.empty()) {
    if (r.library.find("openblas-openmp") != std::string::npos) r.kind = "openblas-openmp";
    else if (r.library.find("openblas-pthread") != std::string::npos) r.kind = "openblas-pthread";
    else if (r.library.find("openblas") != std::string::npos) r.kind = "openblas";
    else if (r.library.find("/blas/") != std::string::npos) r.kind = "reference";
  } else if (!openblas.empty()) {
    r.library = openblas;
    r.kind = "openblas";
  }
  if (measure) {
    const int threads = torch::get_num_threads();
    torch::set_num_threads(1);
    auto a = torch::rand({256, 256}), b = torch::rand({256, 256});
    (void)torch::mm(a, b);
    const int reps = 20;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) (void)torch::mm(a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    torch::set_num_threads(threads);
    r.gflops = s > 0 ? 2.0 * 256 * 256 * 256 * reps / s / 1e9 : 0.0;
  }
  // Reference BLAS runs ~1-3 GFLOP/s on one core; OpenBLAS 30-100.
  r.slow = r.kind == "reference" || (r.gflops > 0 && r.gflops < 6.0);
  if (r.slow) {
    std::ostringstream w;
    const double gflops = static_cast<int>(r.gflops * 10) / 10.0;
    if (r.kind.rfind("openblas", 0) == 0) {
      // OpenBLAS already: a slow sgemm means the core is shared (other jobs, nice), not the library.
      w << "note: OpenBLAS ran " << gflops << " GFLOP/s on one thread (30-100 on an idle core): the CPU is "
        << "busy with other work, so this run will be slower than usual";
    } else {
      w << "warning: LibTorch runs on a slow BLAS (" << (r.library.empty() ? "unknown library" : r.library);
      if (r.gflops > 0) w << ", " << gflops << " GFLOP/s on one thread";
      w << "): install libopenblas0-openmp (update-alternatives --config libblas.so.3-x86_64-linux-gnu) "
           "for ~10x faster training and transcription";
    }
    r.warning = w.str();
  }
  return r;
}

BlasReport warn_if_slow_blas() {
  BlasReport r = check_blas(true);
  if (!r.warning.empty()) std::fprintf(stderr, "qscribe: %s\n", r.warning.c_str());
  return r;
}

void ensure_omp_passive() {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("QSCRIBE_NO_REEXEC")) return;
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string cur;
  for (char c : all) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (args.empty()) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  setenv("QSCRIBE_NO_REEXEC", "1", 1);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  execv("/proc/self/exe", argv.data());
  // execv failed: carry on with the active policy.
}

}  // namespace qs
