/* rng.c - xoshiro256** seeded through splitmix64; normal draws by the
 * polar Box-Muller method.  Deterministic on every platform. */
#include "crsae.h"
#include "base/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void crsae__rng_seed(crsae_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t crsae__rng_next(crsae_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double crsae__rng_uniform(crsae_rng *rng)
{
    return (double)(crsae__rng_next(rng) >> 11) * 0x1.0p-53;
}

double crsae__rng_normal(crsae_rng *rng)
{
    /* Marsaglia's polar method; the second value is dropped so each draw
     * depends only on the stream position, not on cached state. */
    for (;;) {
        double u = 2.0 * crsae__rng_uniform(rng) - 1.0;
        double v = 2.0 * crsae__rng_uniform(rng) - 1.0;
        double q = u * u + v * v;
        if (q > 0.0 && q < 1.0)
            return u * sqrt(-2.0 * log(q) / q);
    }
}
