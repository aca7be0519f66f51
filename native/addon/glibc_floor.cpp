// Prebuilt binaries only (CMakeLists.txt, TANG_LORA_PREBUILT): they link libstdc++ statically,
// and GCC 12's std::random_device then calls arc4random, which glibc has from 2.36 on. This
// definition, on getrandom (glibc 2.25), is bound at link time instead, so the package runs on
// glibc 2.34 (Ubuntu 22.04, RHEL 9). Hidden: nothing outside the addon sees it.
#include <sys/random.h>

#include <cstdint>

extern "C" __attribute__((visibility("hidden"))) uint32_t arc4random(void) {
    uint32_t v = 0;
    while (getrandom(&v, sizeof v, 0) != (ssize_t) sizeof v) {
    }
    return v;
}
