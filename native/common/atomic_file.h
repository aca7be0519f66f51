// Writes a file atomically: everything goes to "<path>.tmp-<pid>", which commit() renames
// over <path>. Destroyed without commit (an error on the way), the temp file is removed,
// so no half-written file is ever left under the final name.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace tang {

class AtomicFile {
  public:
    explicit AtomicFile(const std::string & path);
    ~AtomicFile();
    AtomicFile(const AtomicFile &) = delete;
    AtomicFile & operator=(const AtomicFile &) = delete;

    FILE * get() const { return f_; }
    void write(const void * data, size_t size);  // throws tang::Error on a short write
    void pad_to(uint64_t offset);                // zero bytes up to the absolute offset
    void commit();                               // flush, close, rename into place

  private:
    std::string path_;
    std::string tmp_;
    FILE * f_ = nullptr;
};

}  // namespace tang
