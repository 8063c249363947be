#pragma once
// One error model for the whole core: every failure is a paramscope::Error carrying a stable code from
// error_codes.def, a message with the values involved, and (when known) the file and tensor names.
#include <stdexcept>
#include <string>

namespace paramscope {

enum class ErrorCode {
#define X(code, description) code,
#include "error_codes.def"
#undef X
};

const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string file = {}, std::string tensor = {})
      : std::runtime_error(message), code_(code), file_(std::move(file)), tensor_(std::move(tensor)) {}

  ErrorCode code() const noexcept { return code_; }
  const std::string& file() const noexcept { return file_; }
  const std::string& tensor() const noexcept { return tensor_; }

 private:
  ErrorCode code_;
  std::string file_;
  std::string tensor_;
};

}  // namespace paramscope
