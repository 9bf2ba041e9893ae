/* base/cpu.h - what the machine offers: its vector extensions (asked once)
 * and its number of online CPUs, and a monotonic clock (cpu.c). */
#ifndef CRSAE_BASE_CPU_H
#define CRSAE_BASE_CPU_H

#define CRSAE_CPU_AVX2 1   /* AVX2 */
#define CRSAE_CPU_AVX512 2 /* AVX-512 F, VL, BW, DQ */
#define CRSAE_CPU_BF16 4   /* and AVX512-BF16 */

/* CRSAE_CPU_* bits; 0 on other architectures and compilers. */
int crsae__cpu_features(void);

/* Online CPUs, 1 to CRSAE__MAX_THREADS. */
#define CRSAE__MAX_THREADS 256
int crsae__online_cpus(void);

/* The worker count for a requested one (0: one per online CPU), at most
 * limit (>= 1). */
int crsae__thread_count(int requested, int limit);

/* Seconds on a monotonic clock (the origin is arbitrary). */
double crsae__now(void);

#endif
