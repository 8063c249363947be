#include "paramscope/error.hpp"

namespace paramscope {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
#define X(name, description) \
  case ErrorCode::name:      \
    return #name;
#include "paramscope/error_codes.def"
#undef X
  }
  return "INTERNAL";
}

}  // namespace paramscope
