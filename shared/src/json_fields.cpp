#include "qscribe/json_fields.hpp"

#include <cmath>

#include "qscribe/error.hpp"

namespace qs {

using nlohmann::json;

JsonFields::JsonFields(const json& obj, std::string path, std::string context)
    : obj_(obj), path_(std::move(path)), context_(std::move(context)) {}

std::string JsonFields::path_of(const std::string& key) const {
  if (path_.empty()) return key;
  return key.empty() || key[0] == '[' ? path_ + key : path_ + "." + key;
}

void JsonFields::fail(const std::string& key, const std::string& why) const {
  throw Error(context_ + ": field \"" + path_of(key) + "\": " + why);
}

void JsonFields::fail_got(const std::string& key, const std::string& why, const json& got) const {
  fail(key, why + ", got " + got.dump());
}

const json* JsonFields::find(const std::string& key) const {
  if (!obj_.is_object()) return nullptr;
  auto it = obj_.find(key);
  return it == obj_.end() ? nullptr : &*it;
}

const json& JsonFields::require(const std::string& key) const {
  const json* v = find(key);
  if (!v) fail(key, "is required but missing");
  return *v;
}

const json* JsonFields::object(const std::string& key, bool required) const {
  const json* v = required ? &require(key) : find(key);
  if (v && !v->is_object()) fail_got(key, "must be an object", *v);
  return v;
}

const json* JsonFields::array(const std::string& key, bool required) const {
  const json* v = required ? &require(key) : find(key);
  if (v && !v->is_array()) fail_got(key, "must be an array", *v);
  return v;
}

JsonFields JsonFields::nested(const json& obj, const std::string& key) const {
  return JsonFields(obj, path_of(key), context_);
}

bool JsonFields::integer_value(const std::string& key, bool required, long long lo, long long hi, const char* what,
                               long long& out) const {
  const json* v = required ? &require(key) : find(key);
  if (!v) return false;
  const std::string why = std::string("must be ") + what;
  double d = 0.0;
  if (v->is_number_unsigned()) {
    d = static_cast<double>(v->get<std::uint64_t>());
  } else if (v->is_number_integer()) {
    d = static_cast<double>(v->get<std::int64_t>());
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) && std::floor(v->get<double>()) == v->get<double>()) {
    d = v->get<double>();  // 512.0 is an integer too
  } else {
    fail_got(key, why, *v);
  }
  // Compared as doubles first, so nothing out of range is ever converted.
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) fail_got(key, why, *v);
  out = v->is_number_float() ? static_cast<long long>(d)
                             : (v->is_number_unsigned() ? static_cast<long long>(v->get<std::uint64_t>())
                                                        : static_cast<long long>(v->get<std::int64_t>()));
  if (out < lo || out > hi) fail_got(key, why, *v);
  return true;
}

void JsonFields::number(const std::string& key, double& out, bool required, double lo, double hi,
                        const char* what) const {
  const json* v = required ? &require(key) : find(key);
  if (!v) return;
  if (!v->is_number() || !(v->get<double>() >= lo && v->get<double>() <= hi))
    fail_got(key, std::string("must be ") + what, *v);
  out = v->get<double>();
}

void JsonFields::number(const std::string& key, float& out, bool required, double lo, double hi,
                        const char* what) const {
  double d = out;
  number(key, d, required, lo, hi, what);
  out = static_cast<float>(d);
}

void JsonFields::boolean(const std::string& key, bool& out, bool required) const {
  const json* v = required ? &require(key) : find(key);
  if (!v) return;
  if (!v->is_boolean()) fail_got(key, "must be true or false", *v);
  out = v->get<bool>();
}

void JsonFields::string(const std::string& key, std::string& out, bool required) const {
  const json* v = required ? &require(key) : find(key);
  if (!v) return;
  if (!v->is_string()) fail_got(key, "must be a string", *v);
  out = v->get<std::string>();
}

}  // namespace qs
