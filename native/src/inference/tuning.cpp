#include "inference/tuning.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include "qscribe/error.hpp"
#include "qscribe/model_config.hpp"

namespace qs {

std::vector<TunePiece> predict_pieces(Transcriber& model, const CheckpointInfo& info, const PieceSource& source,
                                      const InferenceOptions& inference) {
  const auto& di = source.info();
  check_source_fits_model(di, info, "tuning data");
  const bool was_training = model->is_training();
  model->eval();
  const ModelConfig config = info.model_config();
  const auto bins = static_cast<std::size_t>(di.features.n_bins);
  std::vector<TunePiece> out;
  for (std::size_t p = 0; p < source.n_pieces(); ++p) {
    const std::size_t n = di.pieces[p].n_frames;
    if (n == 0) continue;
    std::vector<float> cqt(n * bins);
    source.read(p, 0, n, cqt.data(), nullptr, nullptr);
    TunePiece t;
    t.name = di.pieces[p].name;
    t.act = predict_cqt(model, cqt.data(), n, config, inference);
    t.ref = fold_reference(source.notes(p), info);
    t.duration_s = static_cast<double>(n) / di.features.frame_rate();
    out.push_back(std::move(t));
  }
  if (was_training) model->train();
  return out;
}

TuneGrid TuneGrid::defaults() {
  TuneGrid g;
  for (int i = 4; i <= 16; ++i) g.onset_thresholds.push_back(static_cast<float>(i * 5) / 100.0f);
  for (int i = 2; i <= 12; ++i) g.frame_thresholds.push_back(static_cast<float>(i * 5) / 100.0f);
  g.min_note_ms = {30.0, 46.0, 58.0, 80.0, 116.0};
  g.restrike_thresholds = {0.0f, 0.5f, 0.6f, 0.7f};
  g.rise_thresholds = {0.0f, 0.9f};
  return g;
}

std::vector<double> parse_grid_axis(const std::string& text, const std::string& what) {
  auto fail = [&](const std::string& why) -> std::vector<double> {
    throw Error(what + ": " + why + " (expected LO:HI:STEP or a comma-separated list, got '" + text + "')");
  };
  auto number = [&](const std::string& s) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) fail("'" + s + "' is not a number");
    return v;
  };
  std::vector<double> values;
  if (text.find(':') != std::string::npos) {
    std::vector<std::string> parts;
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, ':');) parts.push_back(part);
    if (parts.size() != 3) return fail("a range needs three parts");
    const double lo = number(parts[0]), hi = number(parts[1]), step = number(parts[2]);
    if (!(step > 0)) return fail("the step must be positive");
    if (hi < lo) return fail("HI is below LO");
    const auto n = static_cast<long>(std::floor((hi - lo) / step + 1e-9));
    if (n > 10000) return fail("too many values");
    for (long k = 0; k <= n; ++k) values.push_back(std::round((lo + static_cast<double>(k) * step) * 1e6) / 1e6);
  } else {
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, ',');) values.push_back(number(part));
  }
  if (values.empty()) return fail("no values");
  return values;
}

namespace {

// score.py's clip of estimates to the audio's duration (as evaluate_piece).
void clip_to(NoteList& notes, double dur) {
  std::size_t w = 0;
  for (Note n : notes) {
    if (!(n.onset < dur && n.offset > 0.0)) continue;
    n.onset = std::max(n.onset, 0.0);
    n.offset = std::min(n.offset, dur);
    if (n.offset > n.onset) notes[w++] = n;
  }
  notes.resize(w);
}

bool same(float a, float b) { return std::fabs(a - b) < 1e-6f; }
bool same(double a, double b) { return std::fabs(a - b) < 1e-9; }

bool same_params(const DecoderParams& a, const DecoderParams& b) {
  return same(a.onset_threshold, b.onset_threshold) && same(a.frame_threshold, b.frame_threshold) &&
         same(a.min_note_length_s, b.min_note_length_s) && same(a.restrike_threshold, b.restrike_threshold) &&
         same(a.rise_threshold, b.rise_threshold);
}

void check_grid_values(const TuneGrid& grid) {
  for (float v : grid.onset_thresholds)
    if (!(v >= 0.0f && v <= 1.0f)) throw Error("tuning: onset thresholds must be between 0 and 1");
  for (float v : grid.frame_thresholds)
    if (!(v >= 0.0f && v <= 1.0f)) throw Error("tuning: frame thresholds must be between 0 and 1");
  for (double v : grid.min_note_ms)
    if (!(v >= 0.0 && v <= 60000.0)) throw Error("tuning: shortest-note lengths must be between 0 and 60000 ms");
  for (float v : grid.restrike_thresholds)
    if (!(v >= 0.0f && v <= 1.0f)) throw Error("tuning: re-strike thresholds must be between 0 and 1");
  for (float v : grid.rise_thresholds)
    if (!(v >= 0.0f && v <= 1.0f)) throw Error("tuning: rise thresholds must be between 0 and 1");
}

// One decoder run: an (onset, frame, re-strike, rise) setting, scored at each shortest-note length.
// Its candidates are cands[first_index + m], m indexing min_s.
struct TuneItem {
  float onset, frame, restrike, rise;
  std::vector<double> min_s;
  std::size_t first_index;
};

// The (onset, frame, re-strike, rise) settings of the grid, then `base` alone when it is not on it.
std::vector<TuneItem> tune_items(const TuneGrid& grid, const DecoderParams& base) {
  const std::size_t nF = grid.frame_thresholds.size(), nM = grid.min_note_ms.size();
  const std::vector<float> restrikes =
      grid.restrike_thresholds.empty() ? std::vector<float>{base.restrike_threshold} : grid.restrike_thresholds;
  const std::vector<float> rises =
      grid.rise_thresholds.empty() ? std::vector<float>{base.rise_threshold} : grid.rise_thresholds;
  const std::size_t nR = restrikes.size(), nU = rises.size();
  std::vector<double> grid_min_s;
  for (double ms : grid.min_note_ms) grid_min_s.push_back(ms / 1000.0);
  std::vector<TuneItem> items;
  for (std::size_t i = 0; i < grid.onset_thresholds.size(); ++i)
    for (std::size_t j = 0; j < nF; ++j)
      for (std::size_t r = 0; r < nR; ++r)
        for (std::size_t u = 0; u < nU; ++u)
          items.push_back({grid.onset_thresholds[i], grid.frame_thresholds[j], restrikes[r], rises[u], grid_min_s,
                           (((i * nF + j) * nR + r) * nU + u) * nM});
  bool base_on_grid = false;
  for (const TuneItem& it : items)
    for (double m : it.min_s)
      base_on_grid = base_on_grid || (same(it.onset, base.onset_threshold) && same(it.frame, base.frame_threshold) &&
                                       same(it.restrike, base.restrike_threshold) &&
                                       same(it.rise, base.rise_threshold) && same(m, base.min_note_length_s));
  if (!base_on_grid)
    items.push_back({base.onset_threshold, base.frame_threshold, base.restrike_threshold, base.rise_threshold,
                     {base.min_note_length_s}, grid.size()});
  return items;
}

// Decodes every piece once with the item's thresholds and fills its candidates with the pooled
// onset-only counts at each shortest-note length. `decoded` and `kept` are the worker's buffers.
void score_item(const TuneItem& it, const std::vector<TunePiece>& pieces, const CheckpointInfo& info,
                const DecoderParams& base, std::vector<TuneCandidate>& cands, NoteList& decoded, NoteList& kept) {
  const double frame_rate = info.features.frame_rate();
  DecoderParams d = base;
  d.onset_threshold = it.onset;
  d.frame_threshold = it.frame;
  d.restrike_threshold = it.restrike;
  d.rise_threshold = it.rise;
  d.min_note_length_s = 0.0;  // the length filter is applied below, once per min_s
  std::vector<NoteCounts> counts(it.min_s.size());
  for (const TunePiece& p : pieces) {
    if (p.act.n_frames == 0) {
      for (auto& c : counts) c += note_counts(p.ref, {}, NoteMatchParams::onset_only());
      continue;
    }
    decode_notes(p.act.view(info.lowest_pitch, info.features.frame_rate()), d, decoded);
    for (std::size_t m = 0; m < it.min_s.size(); ++m) {
      // The decoder's own test: a note of L frames is dropped when L < min_frames.
      const double min_frames = it.min_s[m] * frame_rate - 1e-9;
      kept.clear();
      for (const Note& n : decoded)
        if (static_cast<double>(std::lround((n.offset - n.onset) * frame_rate)) >= min_frames) kept.push_back(n);
      clip_to(kept, p.duration_s);
      counts[m] += note_counts(p.ref, kept, NoteMatchParams::onset_only());
    }
  }
  for (std::size_t m = 0; m < it.min_s.size(); ++m) {
    TuneCandidate& c = cands[it.first_index + m];
    c.params = base;
    c.params.onset_threshold = it.onset;
    c.params.frame_threshold = it.frame;
    c.params.restrike_threshold = it.restrike;
    c.params.rise_threshold = it.rise;
    c.params.min_note_length_s = it.min_s[m];
    c.note = counts[m];
    c.grid_index = it.first_index + m;
  }
}

// Scores the items on `threads` workers (0: all cores); the first error stops them and is rethrown.
void score_items(const std::vector<TuneItem>& items, const std::vector<TunePiece>& pieces, const CheckpointInfo& info,
                 const DecoderParams& base, std::vector<TuneCandidate>& cands, int threads) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    NoteList decoded, kept;
    try {
      for (std::size_t k = next++; k < items.size(); k = next++) score_item(items[k], pieces, info, base, cands, decoded, kept);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = items.size();
    }
  };
  const std::size_t n_threads = std::min<std::size_t>(
      items.size(), threads > 0 ? static_cast<std::size_t>(threads) : std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < n_threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// Best first: higher F1, then nearer to `base`, then grid order (see TuneResult).
TuneResult rank_candidates(std::vector<TuneCandidate> cands, const DecoderParams& base) {
  auto distance = [&](const DecoderParams& p) {
    return std::make_tuple(std::fabs(p.onset_threshold - base.onset_threshold),
                           std::fabs(p.frame_threshold - base.frame_threshold),
                           std::fabs(p.min_note_length_s - base.min_note_length_s),
                           std::fabs(p.restrike_threshold - base.restrike_threshold),
                           std::fabs(p.rise_threshold - base.rise_threshold));
  };
  TuneResult r;
  r.ranked = std::move(cands);
  std::sort(r.ranked.begin(), r.ranked.end(), [&](const TuneCandidate& a, const TuneCandidate& b) {
    const double fa = a.f1(), fb = b.f1();
    if (fa != fb) return fa > fb;
    const auto da = distance(a.params), db = distance(b.params);
    if (da != db) return da < db;
    return a.grid_index < b.grid_index;
  });
  for (std::size_t i = 0; i < r.ranked.size(); ++i) {
    if (same_params(r.ranked[i].params, base)) {
      r.base_rank = i;
      break;
    }
  }
  return r;
}

}  // namespace

TuneResult tune_decoder(const std::vector<TunePiece>& pieces, const CheckpointInfo& info, const TuneGrid& grid,
                        const DecoderParams& base, int threads) {
  if (grid.size() == 0) throw Error("tuning: the threshold grid is empty");
  base.validate();
  check_grid_values(grid);
  const std::vector<TuneItem> items = tune_items(grid, base);
  const bool base_on_grid = items.back().first_index < grid.size();
  std::vector<TuneCandidate> cands(grid.size() + (base_on_grid ? 0 : 1));
  score_items(items, pieces, info, base, cands, threads);
  return rank_candidates(std::move(cands), base);
}

PieceCounts evaluate_decoding(const std::vector<TunePiece>& pieces, const CheckpointInfo& info,
                              const DecoderParams& params) {
  std::vector<PieceNotes> notes;
  notes.reserve(pieces.size());
  for (const TunePiece& p : pieces) {
    PieceNotes pn;
    pn.ref = p.ref;
    if (p.act.n_frames) pn.est = decode_notes(p.act.view(info.lowest_pitch, info.features.frame_rate()), params);
    pn.duration_s = p.duration_s;
    notes.push_back(std::move(pn));
  }
  return evaluate_pooled(notes);
}

}  // namespace qs
