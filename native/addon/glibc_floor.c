/* Prebuilt binaries only (CMakeLists.txt, TANG_LORA_PREBUILT). They link libstdc++ statically and
 * must run on glibc 2.34 (Ubuntu 22.04, RHEL 9) whatever glibc the build machine has. The
 * definitions here are bound at link time, hidden from everything outside the addon:
 * - arc4random (glibc 2.36): GCC 12's std::random_device calls it; here on getrandom (2.25).
 * - __isoc23_strto* and __isoc23_*scanf (glibc 2.38): where the build machine's glibc is 2.38 or
 *   later, its headers send strtol, sscanf, ... there whenever _GNU_SOURCE is on (always, in g++),
 *   for C23's 0b prefix. Here they are the C99 functions: this file is C and compiled without
 *   _GNU_SOURCE, so the names it calls are the old ones (the #error below checks it). */
#undef _GNU_SOURCE
#undef _ISOC2X_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#if (defined __GLIBC_USE_C2X_STRTOL && __GLIBC_USE_C2X_STRTOL) || (defined __GLIBC_USE_C23_STRTOL && __GLIBC_USE_C23_STRTOL)
#error "glibc_floor.c must see the C99 strtol and scanf names (compile it as gnu17 without _GNU_SOURCE)"
#endif

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN uint32_t arc4random(void) {
    uint32_t v = 0;
    while (getrandom(&v, sizeof v, 0) != (ssize_t) sizeof v) {
    }
    return v;
}

HIDDEN long __isoc23_strtol(const char * s, char ** end, int base) { return strtol(s, end, base); }
HIDDEN unsigned long __isoc23_strtoul(const char * s, char ** end, int base) { return strtoul(s, end, base); }
HIDDEN long long __isoc23_strtoll(const char * s, char ** end, int base) { return strtoll(s, end, base); }
HIDDEN unsigned long long __isoc23_strtoull(const char * s, char ** end, int base) { return strtoull(s, end, base); }

HIDDEN int __isoc23_vsscanf(const char * s, const char * fmt, va_list ap) { return vsscanf(s, fmt, ap); }
HIDDEN int __isoc23_vfscanf(FILE * f, const char * fmt, va_list ap) { return vfscanf(f, fmt, ap); }

HIDDEN int __isoc23_sscanf(const char * s, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsscanf(s, fmt, ap);
    va_end(ap);
    return n;
}

HIDDEN int __isoc23_fscanf(FILE * f, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vfscanf(f, fmt, ap);
    va_end(ap);
    return n;
}
