#pragma once
// Learning-rate schedule of the trainer: constant, or constant until an epoch and then a cosine
// decay to a fraction of the base rate at the last epoch. The decay can start late so that a run
// trained at a constant rate can be resumed and annealed (annealing gains accuracy the constant
// phase cannot reach), and the rate is a pure function of the step so resuming reproduces it.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

namespace qs {

struct LrSchedule {
  std::string kind = "constant";  // constant | cosine
  double decay_start_epoch = 0.0;  // cosine: constant before this many epochs
  double final_fraction = 0.02;    // cosine: rate at the end as a fraction of the base rate
};

// Rate for the optimiser step that follows `steps_done` steps, in a run of `epochs` epochs of
// `steps_per_epoch` steps each at base rate `base_lr`.
inline double scheduled_lr(const LrSchedule& s, double base_lr, std::size_t steps_done, std::size_t steps_per_epoch,
                           int epochs) {
  if (s.kind != "cosine" || steps_per_epoch == 0) return base_lr;
  const double epoch_pos = static_cast<double>(steps_done) / static_cast<double>(steps_per_epoch);
  const double span = static_cast<double>(epochs) - s.decay_start_epoch;
  if (epoch_pos <= s.decay_start_epoch) return base_lr;
  if (span <= 0) return base_lr * s.final_fraction;
  const double t = std::clamp((epoch_pos - s.decay_start_epoch) / span, 0.0, 1.0);
  const double pi = std::acos(-1.0);
  return base_lr * (s.final_fraction + (1.0 - s.final_fraction) * 0.5 * (1.0 + std::cos(pi * t)));
}

}  // namespace qs
