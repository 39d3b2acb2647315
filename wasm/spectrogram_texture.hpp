// The document's spectrogram as WebGL textures: tiles of kTileFrames frames (WebGL limits a
// texture's size; a 20-minute file is ~52k frames), colour-mapped on upload through a lookup
// table for the current level range. Only tiles in view are uploaded: new frames as they come,
// a whole tile when the range changed since its last upload, so a contrast change costs the
// visible tiles whatever the file's length.
#pragma once

#include <array>
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
  // Levels at or below `bottom_db` are drawn black, at or above `top_db` the brightest colour.
  void set_range(double bottom_db, double top_db);
  // Uploads what the tiles in view lack (all of them after a new document or a range change).
  void update(Document& doc, int doc_id, const View& view);
  // Draws the visible tiles into [x0, x1] x [y0, y1] for the view's time and key range.
  void draw(ImDrawList* dl, const Document& doc, const View& view, float x0, float y0, float x1, float y1) const;
  double last_upload_ms() const { return upload_ms_; }  // time the last update() spent uploading
  std::size_t last_upload_texels() const { return upload_texels_; }

 private:
  struct Tile {
    unsigned texture = 0;
    std::size_t frames = 0;      // rows uploaded with the current colours
    std::uint64_t colours = 0;   // lookup-table version of those rows
  };
  void clear();
  std::vector<Tile> tiles_;
  int doc_id_ = -1;
  int bins_ = 0;
  std::array<std::uint8_t, 256 * 4> lut_{};
  std::uint64_t lut_version_ = 0;
  double bottom_db_ = 0, top_db_ = 0;
  std::vector<std::uint8_t> rgba_;
  double upload_ms_ = 0;
  std::size_t upload_texels_ = 0;
};

}  // namespace qsweb
