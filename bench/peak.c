/* peak.c - the machine's single-precision FMA peak, measured with a loop
 * of independent fused multiply-adds the compiler vectorises (AVX-512,
 * AVX2+FMA or SSE2 clone, whichever this CPU runs), so the benchmark can
 * print achieved GFLOP/s next to what the cores can do. */
#define _POSIX_C_SOURCE 200809L
#include "peak.h"

#include <pthread.h>
#include <time.h>

#define LANES 128 /* 16 independent chains of 8 floats: hides FMA latency */

#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static float fma_loop(long iterations, float a, float b)
{
    float acc[LANES];
    for (int i = 0; i < LANES; i++)
        acc[i] = (float)i;
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < LANES; i++)
            acc[i] = acc[i] * a + b;
    float s = 0.0f;
    for (int i = 0; i < LANES; i++)
        s += acc[i];
    return s;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *run(void *arg)
{
    volatile float *sink = arg;
    *sink = fma_loop(20000000, 0.999999f, 1e-7f);
    return NULL;
}

/* The best of 5 runs: other programs on a shared machine only ever make a
 * run slower. */
double peak_gflops(int threads)
{
    pthread_t t[64];
    float sink[64];
    if (threads > 64)
        threads = 64;
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, run, &sink[i]);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        double g = 2.0 * LANES * 20000000.0 * threads / (now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    return best;
}
