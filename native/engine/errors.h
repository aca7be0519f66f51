// One error type for everything the engine rejects or fails at. Its message is one
// sentence meant for the user; the addon turns it into a JS Error.
#pragma once

#include <stdexcept>
#include <string>

namespace tang {

struct Error : std::runtime_error {
    explicit Error(const std::string & msg) : std::runtime_error(msg) {}
};

// Throws tang::Error(msg) unless cond holds. For validating input, not for internal invariants.
inline void require(bool cond, const std::string & msg) {
    if (!cond) throw Error(msg);
}

}  // namespace tang
