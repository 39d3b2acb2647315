// `qscribe average MODEL... -o OUT.pt`: the weight average (a "model soup") of models of one architecture.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "qscribe/error.hpp"
#include "model/weight_average.hpp"

namespace {

struct AverageArgs {
  std::vector<std::string> models;
  std::vector<double> weights;
  std::string out;
};

QS_COMMAND("average", "Average the weights of models of one architecture (a model soup)", 55, [](CLI::App& sub) {
  auto a = std::make_shared<AverageArgs>();
  sub.footer(
      "Writes a weights-only checkpoint (like best.pt) whose every parameter is the (weighted) mean of\n"
      "the models' parameters. This suits fine-tunes of one starting point (e.g. runs with other\n"
      "seeds or data): their average often scores better than each. Models of unrelated training\n"
      "runs do not average into a working model. The decoding thresholds are the first model's: tune\n"
      "the result with `qscribe evaluate --tune` and set them with `qscribe export`.");
  sub.add_option("models", a->models, "Checkpoints (.pt) or exported models (.onnx + .json), two or more")
      ->required()
      ->expected(2, -1)
      ->check(CLI::ExistingFile);
  sub.add_option("-o,--out", a->out, "Output checkpoint (.pt)")->required();
  sub.add_option("--weights", a->weights, "One positive weight per model, normalised to sum 1 (default: equal)")
      ->delimiter(',');
  sub.callback([a] {
    namespace fs = std::filesystem;
    if (fs::path(a->out).extension() != ".pt") throw qs::Error("--out: the average is written as a checkpoint: name it NAME.pt");
    qs::LoadedCheckpoint avg = qs::average_checkpoints(a->models, a->weights);
    if (fs::path(a->out).has_parent_path()) fs::create_directories(fs::path(a->out).parent_path());
    qs::save_checkpoint(a->out, avg.model, avg.info);
    std::fprintf(stderr, "average: %zu models -> %s\n", a->models.size(), a->out.c_str());
  });
});

}  // namespace
