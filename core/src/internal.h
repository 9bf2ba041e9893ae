/* internal.h - private declarations shared by the files of libcrsae. */
#ifndef CRSAE_INTERNAL_H
#define CRSAE_INTERNAL_H

#include "crsae.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The model behind the opaque handle.  For a tied model enc and out point
 * at dec (one allocation); for an untied model they are separate banks. */
struct crsae_model {
    int filters, size, stride, iterations;
    bool untied;
    float lipschitz, sigma_train, bias_exponent;
    float *dec;    /* H:   C*K*K */
    float *enc;    /* W_e: C*K*K (== dec when tied) */
    float *out;    /* W_d: C*K*K (== dec when tied) */
    float *lambda; /* C */
    char *provenance;
};

/* Behind crsae_train_state (checkpoint.c; train.c fills it).  nparam == 0:
 * empty.  adam_m, adam_v: nparam floats; lambda0 (the EM prior's centre)
 * and bias (the thresholds at the training sigma): filters floats. */
struct crsae_train_state {
    int step, nparam, filters;
    float lipschitz; /* the L the last step used */
    crsae_train_params prm; /* the scalar settings only */
    float *adam_m, *adam_v, *lambda0, *bias;
};
/* Gives an empty state its arrays. */
crsae_status crsae__train_state_alloc(crsae_train_state *s, int nparam, int filters);

/* Allocation through the replaceable allocator (alloc.c). */
void *crsae__malloc(size_t size);
void *crsae__calloc(size_t count, size_t size);
void crsae__free(void *ptr);
/* 64-byte aligned allocation for kernels; free with crsae__free_aligned. */
void *crsae__malloc_aligned(size_t size);
void crsae__free_aligned(void *ptr);
/* Ask for huge pages for a large block (a hint; nothing where unsupported). */
void crsae__advise_huge(void *ptr, size_t size);

/* Parts of one block, one after the other, each 64-byte aligned: with base
 * NULL the carver only counts (used: the bytes the block needs; ok turns 0
 * on overflow), then carves the same parts out of a block of that size. */
typedef struct crsae__carver {
    char *base;
    size_t used;
    int ok;
} crsae__carver;
/* n elements of size bytes; NULL when only counting or after an overflow. */
void *crsae__carve(crsae__carver *c, size_t n, size_t size);

/* *r = a * b; false on overflow of size_t. */
static inline bool crsae__mul(size_t a, size_t b, size_t *r)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *r = a * b;
    return true;
}
static inline bool crsae__mul3(size_t a, size_t b, size_t c, size_t *r)
{
    size_t t;
    return crsae__mul(a, b, &t) && crsae__mul(t, c, r);
}

/* Little-endian fields of the file formats. */
static inline uint32_t crsae__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline float crsae__get_f32(const unsigned char *p)
{
    uint32_t u = crsae__get_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline void crsae__put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static inline void crsae__put_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    crsae__put_u32(p, u);
}

/* CRC-32 as in PNG and zlib (model_io.c); start with crc = 0. */
uint32_t crsae__crc32(uint32_t crc, const unsigned char *p, size_t n);
/* Writes a file through a temporary beside it and a rename (model_io.c). */
crsae_status crsae__write_atomic(const char *path, const void *data, size_t size);
/* Reads a whole regular file of at most max bytes; free with crsae__free. */
crsae_status crsae__read_file(const char *path, size_t max, unsigned char **data, size_t *size);

/* Validates dimensions the way the loader and crsae_model_new do. */
crsae_status crsae__check_dimensions(int filters, int size, int stride, int untied);

/* Deterministic random numbers (rng.c): xoshiro256**, seeded by splitmix64. */
typedef struct crsae_rng { uint64_t s[4]; } crsae_rng;
void crsae__rng_seed(crsae_rng *rng, uint64_t seed);
uint64_t crsae__rng_next(crsae_rng *rng);
double crsae__rng_uniform(crsae_rng *rng);  /* in [0,1) */
double crsae__rng_normal(crsae_rng *rng);   /* standard normal */

/* crsae_train with, in self-supervised mode, a 0/1 mask per image (NULL:
 * crsae__sure_probe of the image's own samples) that multiplies SURE's
 * probe: for the opponent planes of a colour photo, whose clipping is
 * decided in RGB (adapt.c). */
crsae_status crsae__train(crsae_model *m, const crsae_train_params *prm, const float *const *images,
                          const float *const *probe_masks, const int *widths, const int *heights,
                          int count);

/* crsae_estimate_risk on the photo's whole side x side cells (centred
 * grid) of one checkerboard parity (0 or 1), or with parity < 0 on the
 * whole photo (or, beyond max_pixels, on cells of either parity);
 * CRSAE_ERR_INVALID_ARGUMENT when no cell has that parity (risk.c). */
crsae_status crsae__estimate_risk_cells(const crsae_model *model,
                                        const crsae_denoise_params *params, const float *pixels,
                                        size_t stride, int width, int height, int channels,
                                        uint64_t seed, size_t max_pixels, int side, int parity,
                                        double *mse);

/* SURE's finite-difference step, in units of the noise's sigma (train.c,
 * risk.c). */
#define CRSAE__SURE_EPS 0.01f

/* The checkerboard of whole side x side cells centred in a W x H photo
 * (risk.c, adapt.c): cell k counts in raster order. */
static inline void crsae__cell_origin(int W, int H, int side, long k, int *x0, int *y0)
{
    const int gx = W / side, gy = H / side;
    *x0 = (int)(k % gx) * side + (W - gx * side) / 2;
    *y0 = (int)(k / gx) * side + (H - gy * side) / 2;
}

static inline int crsae__cell_parity(int W, int side, long k)
{
    return (int)((k % (W / side) + k / (W / side)) & 1);
}

/* SURE's divergence probe for a noisy sample y (train.c, risk.c): a
 * photo's sample clipped to black or white (exactly 0 or 1: an 8- or
 * 16-bit photo's extremes) stays there whatever its noise, so its
 * derivative is zero and it gets no probe; every other sample - also a
 * float photo's values beyond [0,1], which nothing clipped - gets the
 * Gaussian draw g.  This is Stein's identity for f(clip(x + n)); the
 * squared-residual term still counts every sample. */
static inline float crsae__sure_probe(float y, float g)
{
    return y == 0.0f || y == 1.0f ? 0.0f : g;
}

#endif
