#include "spectrogram_texture.hpp"

#include <GLES3/gl3.h>
#include <emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "app.hpp"
#include "imgui.h"

namespace qsweb {
namespace {

// A perceptual dark-to-bright colour map (black, deep blue, magenta, orange, pale yellow), x in [0, 1].
void colour(float x, std::uint8_t* out) {
  static const float stops[5][3] = {{0.02f, 0.02f, 0.05f}, {0.14f, 0.06f, 0.38f}, {0.62f, 0.13f, 0.48f},
                                    {0.98f, 0.47f, 0.18f}, {0.99f, 0.96f, 0.72f}};
  x = std::clamp(x, 0.0f, 1.0f) * 4.0f;
  const int i = std::min(3, static_cast<int>(x));
  const float f = x - i;
  for (int c = 0; c < 3; ++c) out[c] = static_cast<std::uint8_t>(255.0f * (stops[i][c] * (1 - f) + stops[i + 1][c] * f));
  out[3] = 255;
}

// Tiles [first, last] the view shows (the same ones draw() draws).
void visible_tiles(const Document& doc, const View& v, std::size_t n_tiles, std::size_t& first, std::size_t& last) {
  const double fr = doc.frame_rate;
  const std::size_t tf = SpectrogramTextures::kTileFrames;
  first = static_cast<std::size_t>(std::max(0.0, v.t0 * fr - 1)) / tf;
  last = std::min(n_tiles == 0 ? 0 : n_tiles - 1, static_cast<std::size_t>(std::max(0.0, (v.t0 + v.span) * fr + 1)) / tf);
}

}  // namespace

SpectrogramTextures::~SpectrogramTextures() { clear(); }

void SpectrogramTextures::clear() {
  for (const Tile& t : tiles_)
    if (t.texture) glDeleteTextures(1, &t.texture);
  tiles_.clear();
}

void SpectrogramTextures::set_range(double bottom_db, double top_db) {
  if (lut_version_ != 0 && bottom_db == bottom_db_ && top_db == top_db_) return;
  bottom_db_ = bottom_db;
  top_db_ = top_db;
  const double span = std::max(1.0, top_db - bottom_db);
  for (int level = 0; level < 256; ++level) {
    const double db = Document::kSpecFloorDb + level * Document::kSpecStepDb;
    colour(static_cast<float>((db - bottom_db) / span), &lut_[static_cast<std::size_t>(level) * 4]);
  }
  ++lut_version_;
}

void SpectrogramTextures::update(Document& doc, int doc_id, const View& view) {
  upload_ms_ = 0;
  upload_texels_ = 0;
  if (doc_id != doc_id_ || doc.n_bins != bins_) {
    clear();
    doc_id_ = doc_id;
    bins_ = doc.n_bins;
    doc.spec_dirty_from = 0;
  }
  const std::size_t n_tiles = (doc.spec_frames + kTileFrames - 1) / kTileFrames;
  if (tiles_.size() < n_tiles) tiles_.resize(n_tiles);
  // Frames changed since the last call (live input rewrites its newest frames) are uploaded again.
  for (std::size_t tile = doc.spec_dirty_from / kTileFrames; tile < tiles_.size(); ++tile) {
    const std::size_t start = tile * kTileFrames;
    if (tiles_[tile].frames + start > doc.spec_dirty_from)
      tiles_[tile].frames = doc.spec_dirty_from > start ? doc.spec_dirty_from - start : 0;
  }
  doc.spec_dirty_from = doc.spec_frames;
  if (n_tiles == 0) return;
  std::size_t first = 0, last = 0;
  visible_tiles(doc, view, n_tiles, first, last);
  const double t0 = emscripten_get_now();
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  for (std::size_t tile = first; tile <= last; ++tile) {
    Tile& t = tiles_[tile];
    if (!t.texture) {
      glGenTextures(1, &t.texture);
      glBindTexture(GL_TEXTURE_2D, t.texture);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
      glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, bins_, kTileFrames, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
      t.frames = 0;
    }
    if (t.colours != lut_version_) t.frames = 0;  // new colours: the whole tile again
    const std::size_t start = tile * kTileFrames;
    const std::size_t avail = std::min(kTileFrames, doc.spec_frames - start);
    if (t.frames >= avail) continue;
    // Texture rows are frames, columns are bins: a frame is contiguous in the document too.
    const std::size_t n = (avail - t.frames) * bins_;
    rgba_.resize(n * 4);
    const std::uint8_t* src = doc.spec.data() + (start + t.frames) * bins_;
    std::uint8_t* dst = rgba_.data();
    for (std::size_t i = 0; i < n; ++i, dst += 4) std::memcpy(dst, &lut_[src[i] * 4u], 4);
    glBindTexture(GL_TEXTURE_2D, t.texture);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, static_cast<GLint>(t.frames), bins_, static_cast<GLsizei>(avail - t.frames),
                    GL_RGBA, GL_UNSIGNED_BYTE, rgba_.data());
    upload_texels_ += n;
    t.frames = avail;
    t.colours = lut_version_;
  }
  upload_ms_ = emscripten_get_now() - t0;
}

void SpectrogramTextures::draw(ImDrawList* dl, const Document& doc, const View& v, float x0, float y0, float x1,
                               float y1) const {
  if (tiles_.empty() || doc.spec_frames == 0) return;
  const double fr = doc.frame_rate;
  auto x_of = [&](double t) { return static_cast<float>(x0 + (t - v.t0) / v.span * (x1 - x0)); };
  auto y_of = [&](double key) { return static_cast<float>(y1 - (key - v.key_lo) / (v.key_hi - v.key_lo) * (y1 - y0)); };
  // Bin b is centred on MIDI key 69 + 12 log2(f_b / 440) and spans 1/bins_per_semitone of a key.
  const double key0 = 69.0 + 12.0 * std::log2(doc.fmin / 440.0);
  const double half_bin = 0.5 / doc.bins_per_semitone;
  const float y_bottom = y_of(key0 - half_bin), y_top = y_of(key0 + (doc.n_bins - 1) / double(doc.bins_per_semitone) + half_bin);
  std::size_t first = 0, last = 0;
  visible_tiles(doc, v, tiles_.size(), first, last);
  for (std::size_t tile = first; tile <= last && tile < tiles_.size(); ++tile) {
    if (!tiles_[tile].texture || tiles_[tile].frames == 0) continue;
    const double ta = (tile * kTileFrames - 0.5) / fr;
    const double tb = ((tile + 1) * kTileFrames - 0.5) / fr;
    const ImTextureID id = reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(tiles_[tile].texture));
    // Screen: left = earlier frames (texture v = 0), top = high bins (texture u = 1).
    dl->AddImageQuad(id, ImVec2(x_of(ta), y_top), ImVec2(x_of(tb), y_top), ImVec2(x_of(tb), y_bottom),
                     ImVec2(x_of(ta), y_bottom), ImVec2(1, 0), ImVec2(1, 1), ImVec2(0, 1), ImVec2(0, 0));
  }
}

}  // namespace qsweb
