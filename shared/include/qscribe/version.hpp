// The qscribe version, shown by the CLI and the web page.
#pragma once

namespace qs {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace qs
