// Reading JS arguments into C++ values, with a TypeError naming what is wrong.
#pragma once

#include <cstdint>
#include <napi.h>

#include <string>
#include <vector>

#include "adapter_ref.h"

namespace tang_addon {

std::string arg_string(const Napi::CallbackInfo & info, size_t i, const char * what);
std::vector<int32_t> arg_int32_array(const Napi::CallbackInfo & info, size_t i, const char * what);
double arg_number(const Napi::CallbackInfo & info, size_t i, const char * what);
Napi::Object arg_object(const Napi::CallbackInfo & info, size_t i, const char * what);
std::vector<tang::AdapterRef> arg_adapters(const Napi::CallbackInfo & info, size_t i);  // [{ path, scale }]

// Optional fields of an options object; absent/undefined keeps the default.
double opt_number(const Napi::Object & o, const char * key, double fallback);
bool opt_bool(const Napi::Object & o, const char * key, bool fallback);
std::string opt_string(const Napi::Object & o, const char * key, const std::string & fallback);

}  // namespace tang_addon
