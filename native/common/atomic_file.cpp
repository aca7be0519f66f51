#include "atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "errors.h"

namespace tang {

AtomicFile::AtomicFile(const std::string & path) : path_(path), tmp_(path + ".tmp-" + std::to_string(getpid())) {
    f_ = std::fopen(tmp_.c_str(), "wb");
    require(f_ != nullptr, "cannot write '" + path + "': " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
    if (f_) {
        std::fclose(f_);
        std::remove(tmp_.c_str());
    }
}

void AtomicFile::write(const void * data, size_t size) {
    require(std::fwrite(data, 1, size, f_) == size, "short write to '" + path_ + "': " + std::strerror(errno));
}

void AtomicFile::pad_to(uint64_t offset) {
    const long pos = std::ftell(f_);
    require(pos >= 0 && (uint64_t) pos <= offset, "internal: bad padding offset writing '" + path_ + "'");
    std::vector<char> zeros(offset - (uint64_t) pos, 0);
    if (!zeros.empty()) write(zeros.data(), zeros.size());
}

void AtomicFile::commit() {
    const bool ok = std::fflush(f_) == 0 && fsync(fileno(f_)) == 0;
    std::fclose(f_);
    f_ = nullptr;
    if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp_.c_str());
        throw Error("cannot write '" + path_ + "': " + why);
    }
}

}  // namespace tang
