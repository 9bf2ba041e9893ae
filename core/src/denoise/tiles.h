/* denoise/tiles.h - the tiled, threaded denoiser of one image (tiles.c),
 * below the public front (front.c) and the 8-transform ensemble. */
#ifndef CRSAE_DENOISE_TILES_H
#define CRSAE_DENOISE_TILES_H

#include "crsae.h"

/* crsae_denoise_image with an explicit halo (tests measure the halo with
 * it); halo < 0 means the model's crsae_model_halo. */
crsae_status crsae__denoise(const crsae_model *model, const crsae_denoise_params *params,
                            const float *in, size_t in_stride, float *out, size_t out_stride,
                            int width, int height, int channels, int halo);

/* The first n shifts of the ensemble order for stride s: spread out on the
 * s x s torus so that a subset covers the phases evenly. */
void crsae__shift_order(int s, int n, int *rows, int *cols);

#endif
