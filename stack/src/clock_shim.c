/* A machine whose clock is off, for one process: LD_PRELOAD this library and set
 * ARKE_TEST_CLOCK_OFFSET_SECS (seconds, may be negative). Every reading of the wall clock —
 * clock_gettime(CLOCK_REALTIME*), gettimeofday, time — is shifted by that much, as on a machine
 * whose clock is wrong; monotonic clocks are left alone, as they are there. Built by
 * arke_stack::skewed_clock for the tests (glibc, dynamically linked binaries only). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long offset(void) {
    const char *v = getenv("ARKE_TEST_CLOCK_OFFSET_SECS");
    return v ? atol(v) : 0;
}

int clock_gettime(clockid_t clock, struct timespec *t) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(clock, t);
    if (r == 0 && t && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
        t->tv_sec += offset();
    }
    return r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    static int (*real)(struct timeval *restrict, void *restrict);
    if (!real) real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
    int r = real(tv, tz);
    if (r == 0 && tv) tv->tv_sec += offset();
    return r;
}

time_t time(time_t *out) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    if (out) *out = t.tv_sec;
    return t.tv_sec;
}
