/* cpu.c - the CPU probe, the CPU count and the clock: the one place the
 * core asks the operating system about the machine. */
#include "base/cpu.h"

#include <stdatomic.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <time.h>
#include <unistd.h>
#endif

int crsae__cpu_features(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    static atomic_int known; /* 0: not yet asked; else the bits + 1 */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (k == 0) {
        __builtin_cpu_init();
        int f = 0;
        if (__builtin_cpu_supports("avx2"))
            f |= CRSAE_CPU_AVX2;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
            f |= CRSAE_CPU_AVX512;
        if ((f & CRSAE_CPU_AVX512) && __builtin_cpu_supports("avx512bf16"))
            f |= CRSAE_CPU_BF16;
        k = f + 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k - 1;
#else
    return 0;
#endif
}

int crsae__online_cpus(void)
{
#ifdef _WIN32
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    long c = (long)n;
#else
    long c = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    return c < 1 ? 1 : (c > CRSAE__MAX_THREADS ? CRSAE__MAX_THREADS : (int)c);
}

int crsae__thread_count(int requested, int limit)
{
    int n = requested > 0 ? requested : crsae__online_cpus();
    if (n > CRSAE__MAX_THREADS)
        n = CRSAE__MAX_THREADS;
    if (limit >= 1 && n > limit)
        n = limit;
    return n < 1 ? 1 : n;
}

double crsae__now(void)
{
#ifdef _WIN32
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart / (double)f.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
}
