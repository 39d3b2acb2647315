#include "spectrogram_texture.hpp"

#include <GLES3/gl3.h>

#include <algorithm>
#include <cmath>

#include "app.hpp"
#include "imgui.h"

namespace qsweb {
namespace {

// A perceptual dark-to-bright colour map (black, deep blue, magenta, orange, pale yellow).
void colour(std::uint8_t level, std::uint8_t* out) {
  static const float stops[5][3] = {{0.02f, 0.02f, 0.05f}, {0.14f, 0.06f, 0.38f}, {0.62f, 0.13f, 0.48f},
                                    {0.98f, 0.47f, 0.18f}, {0.99f, 0.96f, 0.72f}};
  const float x = level / 255.0f * 4.0f;
  const int i = std::min(3, static_cast<int>(x));
  const float f = x - i;
  for (int c = 0; c < 3; ++c) out[c] = static_cast<std::uint8_t>(255.0f * (stops[i][c] * (1 - f) + stops[i + 1][c] * f));
  out[3] = 255;
}

}  // namespace

SpectrogramTextures::~SpectrogramTextures() { clear(); }

void SpectrogramTextures::clear() {
  if (!textures_.empty()) glDeleteTextures(static_cast<GLsizei>(textures_.size()), textures_.data());
  textures_.clear();
}

void SpectrogramTextures::update(Document& doc, int doc_id) {
  if (doc_id != doc_id_ || doc.n_bins != bins_) {
    clear();
    doc_id_ = doc_id;
    bins_ = doc.n_bins;
    doc.spec_dirty_from = 0;
  }
  if (doc.spec_dirty_from >= doc.spec_frames) return;
  const std::size_t n_tiles = (doc.spec_frames + kTileFrames - 1) / kTileFrames;
  while (textures_.size() < n_tiles) {
    GLuint t = 0;
    glGenTextures(1, &t);
    glBindTexture(GL_TEXTURE_2D, t);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, bins_, kTileFrames, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
    textures_.push_back(t);
  }
  // Texture rows are frames, columns are bins: a frame is contiguous in the document too.
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  for (std::size_t tile = doc.spec_dirty_from / kTileFrames; tile < n_tiles; ++tile) {
    const std::size_t f0 = std::max(tile * kTileFrames, doc.spec_dirty_from);
    const std::size_t f1 = std::min((tile + 1) * kTileFrames, doc.spec_frames);
    const std::size_t n = (f1 - f0) * bins_;
    rgba_.resize(n * 4);
    const std::uint8_t* src = doc.spec.data() + f0 * bins_;
    for (std::size_t i = 0; i < n; ++i) colour(src[i], &rgba_[i * 4]);
    glBindTexture(GL_TEXTURE_2D, textures_[tile]);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, static_cast<GLint>(f0 - tile * kTileFrames), bins_,
                    static_cast<GLsizei>(f1 - f0), GL_RGBA, GL_UNSIGNED_BYTE, rgba_.data());
  }
  doc.spec_dirty_from = doc.spec_frames;
}

void SpectrogramTextures::draw(ImDrawList* dl, const Document& doc, const View& v, float x0, float y0, float x1,
                               float y1) const {
  if (textures_.empty() || doc.spec_frames == 0) return;
  const double fr = doc.frame_rate;
  auto x_of = [&](double t) { return static_cast<float>(x0 + (t - v.t0) / v.span * (x1 - x0)); };
  auto y_of = [&](double key) { return static_cast<float>(y1 - (key - v.key_lo) / (v.key_hi - v.key_lo) * (y1 - y0)); };
  // Bin b is centred on MIDI key 69 + 12 log2(f_b / 440) and spans 1/bins_per_semitone of a key.
  const double key0 = 69.0 + 12.0 * std::log2(doc.fmin / 440.0);
  const double half_bin = 0.5 / doc.bins_per_semitone;
  const float y_bottom = y_of(key0 - half_bin), y_top = y_of(key0 + (doc.n_bins - 1) / double(doc.bins_per_semitone) + half_bin);
  const std::size_t first = static_cast<std::size_t>(std::max(0.0, v.t0 * fr - 1)) / kTileFrames;
  for (std::size_t tile = first; tile < textures_.size(); ++tile) {
    const double ta = (tile * kTileFrames - 0.5) / fr;
    if (ta > v.t0 + v.span) break;
    const double tb = ((tile + 1) * kTileFrames - 0.5) / fr;
    const ImTextureID id = reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(textures_[tile]));
    // Screen: left = earlier frames (texture v = 0), top = high bins (texture u = 1).
    dl->AddImageQuad(id, ImVec2(x_of(ta), y_top), ImVec2(x_of(tb), y_top), ImVec2(x_of(tb), y_bottom),
                     ImVec2(x_of(ta), y_bottom), ImVec2(1, 0), ImVec2(1, 1), ImVec2(0, 1), ImVec2(0, 0));
  }
}

}  // namespace qsweb
