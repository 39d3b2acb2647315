// The document's spectrogram as WebGL textures: tiles of kTileFrames frames (WebGL limits a
// texture's size; a 20-minute file is ~52k frames), colour-mapped on upload, re-uploaded only
// where frames changed.
#pragma once

#include <cstdint>
#include <vector>

#include "document.hpp"

struct ImDrawList;

namespace qsweb {

struct View;

class SpectrogramTextures {
 public:
  static constexpr std::size_t kTileFrames = 1024;
  ~SpectrogramTextures();
  // Uploads tiles changed since the last call (all of them after a new document).
  void update(Document& doc, int doc_id);
  // Draws the visible tiles into [x0, x1] x [y0, y1] for the view's time and key range.
  void draw(ImDrawList* dl, const Document& doc, const View& view, float x0, float y0, float x1, float y1) const;

 private:
  void clear();
  std::vector<unsigned> textures_;
  int doc_id_ = -1;
  int bins_ = 0;
  std::vector<std::uint8_t> rgba_;
};

}  // namespace qsweb
