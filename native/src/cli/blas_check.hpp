// Start-up checks of the numerical back end LibTorch runs on.
//
// Debian's LibTorch calls the system BLAS (libblas.so.3, chosen with update-alternatives). With
// libopenblas0-openmp it is OpenBLAS; without it, the netlib reference BLAS, about 10x slower.
#pragma once
#include <string>

namespace qs {

struct BlasReport {
  std::string library;      // resolved path of the BLAS mapped into the process ("" if none found)
  std::string kind;         // "openblas-openmp", "openblas-pthread", "openblas", "reference", "unknown"
  double gflops = 0.0;      // measured single-precision matmul throughput (0: not measured)
  bool slow = false;        // reference BLAS, or a measured throughput far below OpenBLAS's
  std::string warning;      // one line for the user when slow ("" otherwise): install OpenBLAS, or,
                            // when it is OpenBLAS already, the CPU is busy
};

// Inspects /proc/self/maps (after LibTorch is loaded) and, with `measure`, times a 256x256 sgemm
// through LibTorch on one thread.
BlasReport check_blas(bool measure = true);

// Prints BlasReport::warning to stderr when there is one. Returns the report.
BlasReport warn_if_slow_blas();

// OpenMP's spin-waiting (OMP_WAIT_POLICY=ACTIVE by default in libgomp) wastes cores on a busy
// machine. libgomp reads the variable when it is loaded, before main, so when it is unset this
// re-executes the process (/proc/self/exe, same arguments) with OMP_WAIT_POLICY=PASSIVE set.
// Returns only when nothing had to be done (or re-executing failed).
void ensure_omp_passive();

}  // namespace qs
