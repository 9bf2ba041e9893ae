/* peak.h - measured FMA peak of this machine. */
#ifndef CRSAE_BENCH_PEAK_H
#define CRSAE_BENCH_PEAK_H

/* GFLOP/s of a pure multiply-add loop on `threads` threads (best of 5). */
double peak_gflops(int threads);

#endif
