// Whole-file transcription in bounded steps: the audio is pushed through the streaming CQT one
// block at a time, the CQT frames are grouped into the model's windows (tiled, the last one
// zero-padded: the same windows as `qscribe transcribe`), and each batch of windows is handed to
// JavaScript as a ModelRequest. Only the pending frames are held as float CQT; the document keeps
// 8-bit display levels and the probabilities, so a 20-minute file stays well under 100 MB.
#pragma once

#include <string>
#include <vector>

#include "document.hpp"
#include "model_request.hpp"
#include "qscribe/cqt.hpp"

namespace qsweb {

class FileJob {
 public:
  // `doc` already holds the audio; it must outlive the job.
  FileJob(const qs::ModelConfig& model, Document& doc, int windows_per_request = 16);
  // Does up to ~budget_ms of CQT work; kNeedModel leaves request() to be answered.
  StepResult step(double budget_ms);
  ModelRequest& request() { return request_; }
  void model_done();  // the request's logits are filled
  double progress() const;  // 0..1

 private:
  void build_request();

  Document& doc_;
  qs::Cqt cqt_;
  qs::StreamingCqt stream_;
  int window_, per_request_, bins_;
  std::size_t total_frames_;
  std::size_t pushed_ = 0;          // samples pushed into the CQT
  bool cqt_done_ = false;
  std::vector<float> pending_;      // CQT frames not yet sent to the model [n x bins]
  std::size_t pending_start_ = 0;   // frame index of pending_[0]
  std::size_t request_frames_ = 0;  // real (not padded) frames in the request
  std::vector<float> block_;
  ModelRequest request_;
  bool decoded_ = false;
};

}  // namespace qsweb
