// The one error type of the core: a message a user can act on ("file.wav: not an audio file").
#pragma once
#include <stdexcept>
#include <string>

namespace qs {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace qs
