// Whole-file transcription in bounded steps: the core's pipeline (qscribe/transcription.hpp) fed
// one block of the document's audio at a time, within a time budget per step; each batch of model
// windows is handed to JavaScript as the pipeline's ModelRequest (the same windows as `qscribe
// transcribe`). The document keeps 8-bit display levels of the CQT and the probabilities, so a
// 20-minute file stays well under 100 MB.
#pragma once

#include "bridge.hpp"
#include "document.hpp"
#include "qscribe/transcription.hpp"

namespace qsweb {

class FileJob {
 public:
  // `doc` already holds the audio; it must outlive the job.
  FileJob(const qs::ModelConfig& model, Document& doc, int windows_per_request = 16);
  // Does up to ~budget_ms of CQT work; kNeedModel leaves request() to be answered.
  StepResult step(double budget_ms);
  qs::ModelRequest& request() { return pipe_.request(); }
  void model_done();  // the request's outputs are filled
  double progress() const;  // 0..1

 private:
  Document& doc_;
  qs::Transcription pipe_;
  std::size_t total_frames_;
  bool decoded_ = false;
};

}  // namespace qsweb
