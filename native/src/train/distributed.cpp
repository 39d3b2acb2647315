#include "train/distributed.hpp"

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "qscribe/error.hpp"

#if __has_include(<gloo/context.h>)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#define QS_HAVE_GLOO 1
#else
#define QS_HAVE_GLOO 0
#endif

namespace qs {

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
#if QS_HAVE_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
  std::uint64_t op = 0;  // collective counter (keys of the store-based collectives)
  const char* backend = "none";
};

DistributedContext::DistributedContext(const DistributedOptions& options) : options_(options), impl_(new Impl) {
  if (options.world_size < 1) throw Error("distributed: --world-size must be at least 1");
  if (options.rank < 0 || options.rank >= options.world_size)
    throw Error("distributed: --rank must be in [0, world size - 1]");
  if (options.world_size == 1) return;
  if (options.master_port < 1 || options.master_port > 65535) throw Error("distributed: --master-port must be 1..65535");
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(options.master_port);
    so.isServer = options.rank == 0;
    so.numWorkers = static_cast<std::size_t>(options.world_size);
    so.waitWorkers = true;
    so.timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s) * 1000);
    impl_->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, so);
    impl_->backend = "tcpstore";
#if QS_HAVE_GLOO
    const char* env = std::getenv("QSCRIBE_DIST_BACKEND");
    if (!env || std::string(env) != "tcpstore") {
      auto go = c10d::ProcessGroupGloo::Options::create();
      go->timeout = so.timeout;
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(options.master_addr));
      auto prefixed = c10::make_intrusive<c10d::PrefixStore>("gloo/", impl_->store);
      impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, options.rank, options.world_size, go);
      impl_->backend = "gloo";
    }
#endif
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw Error("distributed: rendezvous with " + options.master_addr + ":" + std::to_string(options.master_port) +
                " failed (rank " + std::to_string(options.rank) + " of " + std::to_string(options.world_size) +
                "): " + what);
  }
}

DistributedContext::~DistributedContext() {
  // Rank 0 serves the store: it must outlive every other rank's last store operation, or their
  // final collectives end with "Broken pipe". Ranks > 0 check out; rank 0 waits for them (bounded).
  if (!impl_ || !impl_->store) return;
  try {
    if (options_.rank != 0) {
      impl_->store->add("qs/finished", 1);
    } else {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (impl_->store->add("qs/finished", 0) < options_.world_size - 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  } catch (...) {
  }
}

const char* DistributedContext::backend() const { return impl_->backend; }

namespace {

std::vector<std::uint8_t> to_bytes(const float* p, std::size_t n) {
  std::vector<std::uint8_t> b(n * sizeof(float));
  std::memcpy(b.data(), p, b.size());
  return b;
}

}  // namespace

void DistributedContext::all_reduce_mean(std::vector<at::Tensor>& tensors) {
  if (!active() || tensors.empty()) return;
  const double inv = 1.0 / options_.world_size;
#if QS_HAVE_GLOO
  if (impl_->gloo) {
    // One flat buffer: one collective per step instead of one per parameter.
    std::vector<at::Tensor> flat_parts;
    for (auto& t : tensors) flat_parts.push_back(t.reshape({-1}));
    std::vector<at::Tensor> flat{torch::cat(flat_parts).to(torch::kCPU)};
    impl_->gloo->allreduce(flat)->wait();
    flat[0].mul_(inv);
    int64_t off = 0;
    for (auto& t : tensors) {
      const int64_t n = t.numel();
      t.copy_(flat[0].slice(0, off, off + n).view(t.sizes()));
      off += n;
    }
    return;
  }
#endif
  std::vector<at::Tensor> parts;
  for (auto& t : tensors) parts.push_back(t.detach().to(torch::kCPU, torch::kFloat).reshape({-1}));
  at::Tensor mine = torch::cat(parts).contiguous();
  const std::size_t n = static_cast<std::size_t>(mine.numel());
  const std::string base = "ar/" + std::to_string(impl_->op++) + "/";
  impl_->store->set(base + std::to_string(options_.rank), to_bytes(mine.data_ptr<float>(), n));
  // Sum in rank order, in double, so every rank computes bit-identical results.
  std::vector<double> sum(n, 0.0);
  for (int r = 0; r < options_.world_size; ++r) {
    std::vector<std::uint8_t> b = r == options_.rank ? to_bytes(mine.data_ptr<float>(), n)
                                                     : impl_->store->get(base + std::to_string(r));
    if (b.size() != n * sizeof(float)) throw Error("distributed: ranks disagree on the gradient size (different models?)");
    const float* v = reinterpret_cast<const float*>(b.data());
    for (std::size_t i = 0; i < n; ++i) sum[i] += v[i];
  }
  at::Tensor avg = torch::empty({static_cast<int64_t>(n)});
  float* a = avg.data_ptr<float>();
  for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<float>(sum[i] * inv);
  int64_t off = 0;
  for (auto& t : tensors) {
    const int64_t k = t.numel();
    t.copy_(avg.slice(0, off, off + k).view(t.sizes()));
    off += k;
  }
  // The last rank to finish reading removes this collective's keys.
  if (impl_->store->add(base + "done", 1) == options_.world_size) {
    for (int r = 0; r < options_.world_size; ++r) impl_->store->deleteKey(base + std::to_string(r));
    impl_->store->deleteKey(base + "done");
  }
}

void DistributedContext::broadcast(std::vector<at::Tensor>& tensors, int root) {
  if (!active() || tensors.empty()) return;
#if QS_HAVE_GLOO
  if (impl_->gloo) {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t.detach().to(torch::kCPU).contiguous()};
      c10d::BroadcastOptions bo;
      bo.rootRank = root;
      impl_->gloo->broadcast(one, bo)->wait();
      torch::NoGradGuard ng;
      t.copy_(one[0]);
    }
    return;
  }
#endif
  const std::string base = "bc/" + std::to_string(impl_->op++) + "/";
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    auto& t = tensors[i];
    const std::string key = base + std::to_string(i);
    if (options_.rank == root) {
      at::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
      impl_->store->set(key, to_bytes(c.data_ptr<float>(), static_cast<std::size_t>(c.numel())));
    } else {
      std::vector<std::uint8_t> b = impl_->store->get(key);
      if (b.size() != static_cast<std::size_t>(t.numel()) * sizeof(float))
        throw Error("distributed: ranks disagree on the model's shape (same --n-layers, --embed-dim, ... everywhere?)");
      at::Tensor c = torch::empty({t.numel()});
      std::memcpy(c.data_ptr<float>(), b.data(), b.size());
      torch::NoGradGuard ng;
      t.copy_(c.view(t.sizes()));
    }
  }
  barrier();
  if (options_.rank == root)
    for (std::size_t i = 0; i < tensors.size(); ++i) impl_->store->deleteKey(base + std::to_string(i));
}

std::vector<double> DistributedContext::all_reduce_sum(const std::vector<double>& values) {
  if (!active() || values.empty()) return values;
  at::Tensor t = torch::tensor(values, torch::kDouble);
#if QS_HAVE_GLOO
  if (impl_->gloo) {
    std::vector<at::Tensor> one{t};
    impl_->gloo->allreduce(one)->wait();
    return std::vector<double>(one[0].data_ptr<double>(), one[0].data_ptr<double>() + one[0].numel());
  }
#endif
  const std::string base = "sum/" + std::to_string(impl_->op++) + "/";
  std::vector<std::uint8_t> mine(values.size() * sizeof(double));
  std::memcpy(mine.data(), values.data(), mine.size());
  impl_->store->set(base + std::to_string(options_.rank), mine);
  std::vector<double> sum(values.size(), 0.0);
  for (int r = 0; r < options_.world_size; ++r) {
    std::vector<std::uint8_t> b = r == options_.rank ? mine : impl_->store->get(base + std::to_string(r));
    const double* v = reinterpret_cast<const double*>(b.data());
    for (std::size_t i = 0; i < values.size(); ++i) sum[i] += v[i];
  }
  if (impl_->store->add(base + "done", 1) == options_.world_size) {
    for (int r = 0; r < options_.world_size; ++r) impl_->store->deleteKey(base + std::to_string(r));
    impl_->store->deleteKey(base + "done");
  }
  return sum;
}

void DistributedContext::barrier() {
  if (!active()) return;
#if QS_HAVE_GLOO
  if (impl_->gloo) {
    impl_->gloo->barrier()->wait();
    return;
  }
#endif
  const std::string key = "barrier/" + std::to_string(impl_->op++);
  // A typed value: newer LibTorch also has set(key, std::string), which {1} would make ambiguous.
  if (impl_->store->add(key, 1) == options_.world_size) impl_->store->set(key + "/go", std::vector<std::uint8_t>{1});
  impl_->store->wait({key + "/go"});
}

}  // namespace qs
