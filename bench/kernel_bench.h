/* kernel_bench.h - the benchmark of the core's convolution kernels by
 * themselves (crsae-bench --kernels). */
#ifndef CRSAE_BENCH_KERNEL_BENCH_H
#define CRSAE_BENCH_KERNEL_BENCH_H

#include "crsae.h"

/* Times H, H^T, a whole FISTA tile and a training step's forward and
 * backward passes on model m's shape; prints GFLOP/s next to peak1, the
 * one-thread FMA peak. */
void bench_kernels(const crsae_model *m, double peak1);

#endif
