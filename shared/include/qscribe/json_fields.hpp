// Strict, typed reading of the known fields of one JSON object: the model sidecar, a data set's
// index, a checkpoint's metadata, the model's architecture. Every value is checked for type and
// range before it is converted (a float such as 1e32 must never reach a cast to int), and an
// error names the document and the dotted path of the field:
//   model config: field "features.hop_length": must be a positive integer, got "abc"
// Unknown fields are ignored, so newer files stay readable.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace qs {

class JsonFields {
 public:
  // `path`: the object's own dotted path ("" at the top, "features" inside it); `context`: the
  // document, first in every message ("model config", "data/pre/train/dataset.json").
  JsonFields(const nlohmann::json& obj, std::string path, std::string context);

  const nlohmann::json* find(const std::string& key) const;
  const nlohmann::json& require(const std::string& key) const;
  // A nested object or array; nullptr when absent and not required.
  const nlohmann::json* object(const std::string& key, bool required) const;
  const nlohmann::json* array(const std::string& key, bool required) const;
  // The reader of a nested object, its path extended by `key`.
  JsonFields nested(const nlohmann::json& obj, const std::string& key) const;

  // Each leaves `out` unchanged when the field is absent and not required. `what` completes
  // "must be ..." in the message ("a positive integer").
  template <typename Int>
  void integer(const std::string& key, Int& out, bool required, long long lo, long long hi,
               const char* what = "an integer in range") const {
    long long v = 0;
    if (integer_value(key, required, lo, hi, what, v)) out = static_cast<Int>(v);
  }
  void number(const std::string& key, double& out, bool required, double lo, double hi,
              const char* what = "a number in range") const;
  void number(const std::string& key, float& out, bool required, double lo, double hi,
              const char* what = "a number in range") const;
  void boolean(const std::string& key, bool& out, bool required = false) const;
  void string(const std::string& key, std::string& out, bool required) const;

  [[noreturn]] void fail(const std::string& key, const std::string& why) const;
  [[noreturn]] void fail_got(const std::string& key, const std::string& why, const nlohmann::json& got) const;
  std::string path_of(const std::string& key) const;
  const std::string& path() const { return path_; }
  const std::string& context() const { return context_; }

 private:
  bool integer_value(const std::string& key, bool required, long long lo, long long hi, const char* what,
                     long long& out) const;
  const nlohmann::json& obj_;
  std::string path_, context_;
};

}  // namespace qs
