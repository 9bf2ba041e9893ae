/* internal.h - private declarations shared by the files of libcrsae. */
#ifndef CRSAE_INTERNAL_H
#define CRSAE_INTERNAL_H

#include "crsae.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Allocation through the replaceable allocator (alloc.c). */
void *crsae__malloc(size_t size);
void *crsae__calloc(size_t count, size_t size);
void crsae__free(void *ptr);
/* 64-byte aligned allocation for kernels; free with crsae__free_aligned. */
void *crsae__malloc_aligned(size_t size);
void crsae__free_aligned(void *ptr);

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

/* Validates dimensions the way the loader and crsae_model_new do. */
crsae_status crsae__check_dimensions(int filters, int size, int stride, int untied);

/* Deterministic random numbers (rng.c): xoshiro256**, seeded by splitmix64. */
typedef struct crsae_rng { uint64_t s[4]; } crsae_rng;
void crsae__rng_seed(crsae_rng *rng, uint64_t seed);
uint64_t crsae__rng_next(crsae_rng *rng);
double crsae__rng_uniform(crsae_rng *rng);  /* in [0,1) */
double crsae__rng_normal(crsae_rng *rng);   /* standard normal */

#endif
