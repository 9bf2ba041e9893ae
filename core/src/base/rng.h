/* base/rng.h - deterministic random numbers (rng.c): xoshiro256**,
 * seeded by splitmix64. */
#ifndef CRSAE_BASE_RNG_H
#define CRSAE_BASE_RNG_H

#include <stdint.h>

typedef struct crsae_rng { uint64_t s[4]; } crsae_rng;
void crsae__rng_seed(crsae_rng *rng, uint64_t seed);
uint64_t crsae__rng_next(crsae_rng *rng);
double crsae__rng_uniform(crsae_rng *rng);  /* in [0,1) */
double crsae__rng_normal(crsae_rng *rng);   /* standard normal */

#endif
