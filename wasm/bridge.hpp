// The integer codes that cross the JS <-> C++ bridge (main.cpp's qs_* functions), defined once,
// here. Each list below makes the C++ enum and the table JavaScript reads: web/app.js asks
// qs_bridge_json() for {Step: {DONE: 0, ...}, Slot: {FILE_JOB: 0, ...}} at boot and names every
// code it compares or passes (Step.NEED_MODEL, Slot.LIVE), never a bare number; an unknown name
// there throws. tests/e2e/bridge_constants.mjs (no browser) checks that every name web/*.js uses is listed
// here and that no qs_* step result or slot is a bare number.
#pragma once

#include <string>

namespace qsweb {

// X(C++ enumerator, JavaScript name, value)
// What qs_job_step / qs_live_step return (and what a job's step() asks of its driver).
#define QS_BRIDGE_STEP(X)                                                                                \
  X(kFailed, FAILED, -1)     /* cancelled or failed: the reason is in qs_error() (bridge only) */     \
  X(kDone, DONE, 0)          /* finished (qs_live_step: no live session) */                           \
  X(kWorking, WORKING, 1)    /* more work: call again (after yielding to the page) */                 \
  X(kNeedModel, NEED_MODEL, 2) /* a model request waits in the slot: run it (qs_request_*) */

// Which pending model request a qs_request_* call means.
#define QS_BRIDGE_SLOT(X)  \
  X(kFileJob, FILE_JOB, 0) /* the file being transcribed (qs_job_step) */ \
  X(kLive, LIVE, 1)        /* live input (qs_live_step) */

#define QS_BRIDGE_ENUMERATOR(cpp, js, value) cpp = value,
enum class StepResult { QS_BRIDGE_STEP(QS_BRIDGE_ENUMERATOR) };
enum class RequestSlot { QS_BRIDGE_SLOT(QS_BRIDGE_ENUMERATOR) };
#undef QS_BRIDGE_ENUMERATOR

// The JSON object qs_bridge_json() hands to JavaScript: {"Step": {...}, "Slot": {...}}.
inline std::string bridge_constants_json() {
  std::string s = "{\"Step\":{";
#define QS_BRIDGE_ENTRY(cpp, js, value) s += "\"" #js "\":" + std::to_string(value) + ",";
  QS_BRIDGE_STEP(QS_BRIDGE_ENTRY)
  s.back() = '}';
  s += ",\"Slot\":{";
  QS_BRIDGE_SLOT(QS_BRIDGE_ENTRY)
#undef QS_BRIDGE_ENTRY
  s.back() = '}';
  return s + "}";
}

}  // namespace qsweb
