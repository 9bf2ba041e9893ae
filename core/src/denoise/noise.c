/* noise.c - additive white Gaussian noise for tests and benchmarks. */
#include "crsae.h"
#include "base/rng.h"

crsae_status crsae_add_noise(float *pixels, size_t stride, int width, int height,
                             int channels, float sigma, uint64_t seed)
{
    if (!pixels || width <= 0 || height <= 0 || channels < 1 || channels > 4 ||
        !(sigma >= 0.0f) || stride < (size_t)width * (size_t)channels)
        return CRSAE_ERR_INVALID_ARGUMENT;
    int colour = (channels == 2 || channels == 4) ? channels - 1 : channels;
    crsae_rng rng;
    crsae__rng_seed(&rng, seed);
    for (int y = 0; y < height; y++) {
        float *row = pixels + (size_t)y * stride;
        for (int x = 0; x < width; x++)
            for (int c = 0; c < colour; c++)
                row[(size_t)x * channels + c] += (float)(sigma * crsae__rng_normal(&rng));
    }
    return CRSAE_OK;
}
