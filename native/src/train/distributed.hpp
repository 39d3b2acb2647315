// Data-parallel training across processes through LibTorch's c10d.
//
// Every rank builds the same model, rank 0's initial weights are broadcast, each rank computes
// gradients on its own shard of every global step's batches, the gradients are averaged with an
// all-reduce after backward, and every rank applies the same optimizer step, so all ranks hold
// identical weights throughout. Rendezvous: a c10d::TCPStore served by rank 0 at
// master_addr:master_port.
//
// Collectives: c10d::ProcessGroupGloo when the Gloo headers are available at build time
// (Debian package libgloo-dev; LibTorch itself is linked against libgloo0), NCCL is not built
// into Debian's CPU-only LibTorch. Without the Gloo headers the collectives run over the TCPStore
// itself (each rank publishes its tensors, every rank sums them in rank order, so the result is
// bit-identical everywhere): correct, but meant for few ranks and small models.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace qs {

struct DistributedOptions {
  int world_size = 1;
  int rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int timeout_s = 300;
};

class DistributedContext {
 public:
  // world_size 1: every collective is a no-op. Throws qs::Error when the rendezvous fails.
  explicit DistributedContext(const DistributedOptions& options);
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  int world_size() const { return options_.world_size; }
  int rank() const { return options_.rank; }
  bool active() const { return options_.world_size > 1; }
  const char* backend() const;  // "none", "gloo" or "tcpstore"

  // In place: every tensor becomes the mean over ranks (float32 tensors, any device).
  void all_reduce_mean(std::vector<at::Tensor>& tensors);
  // In place: the tensors of `root` everywhere.
  void broadcast(std::vector<at::Tensor>& tensors, int root = 0);
  // Sums a few scalars over ranks (loss sums, stop flags).
  std::vector<double> all_reduce_sum(const std::vector<double>& values);
  void barrier();

 private:
  struct Impl;
  DistributedOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs
