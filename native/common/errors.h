// One error type for everything the engine rejects or fails at. Its message is one
// sentence meant for the user; the addon turns it into a JS Error.
#pragma once

#include <stdexcept>
#include <utility>
#include <string>

namespace tang {

struct Error : std::runtime_error {
    explicit Error(const std::string & msg) : std::runtime_error(msg) {}
};

// Throws tang::Error(msg) unless cond holds. For validating input, not for internal invariants.
inline void require(bool cond, const std::string & msg) {
    if (!cond) throw Error(msg);
}

// The same, with the message built only when the check fails: for checks per element of an
// input (a token, a value), where building every message would cost more than the check.
template <typename Message, typename = decltype(std::string(std::declval<Message>()()))>
inline void require(bool cond, Message && message) {
    if (!cond) throw Error(message());
}

}  // namespace tang
