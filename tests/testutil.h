/* testutil.h - helpers shared by the cmocka tests. */
#ifndef CRSAE_TESTUTIL_H
#define CRSAE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A synthetic "natural-like" grey image in [0,1]: smooth shading, a few
 * disks and bars with sharp edges, and a band of fine texture.
 * Deterministic for a seed.  Caller frees with free(). */
float *tu_synthetic_image(int width, int height, uint64_t seed);

/* Largest |a - b| over n floats. */
double tu_max_abs_diff(const float *a, const float *b, size_t n);

/* PSNR in dB on the [0,1] scale, after clipping a and b to [0,1]. */
double tu_psnr(const float *a, const float *b, size_t n);

/* Uniform float in [lo, hi) from a simple deterministic generator. */
float tu_uniform(uint64_t *state, float lo, float hi);

#endif

/* Naive double-precision reference of the strided dictionary operators on
 * a domain of nu x nv atoms (image (nu-1)s+K by (nv-1)s+K, dense pitch;
 * code C x nu x nv, dense).  bank is C x K x K. */
void tu_ref_synthesis(int C, int K, int s, int nu, int nv, const float *bank,
                      const double *code, double *img);
void tu_ref_analysis(int C, int K, int s, int nu, int nv, const float *bank,
                     const double *img, double *code);
