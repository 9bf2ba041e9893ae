/* denoise/transforms.h - the 8-transform self-ensemble (transforms.c). */
#ifndef CRSAE_DENOISE_TRANSFORMS_H
#define CRSAE_DENOISE_TRANSFORMS_H

#include "crsae.h"

/* The image denoised by the tiles in each of its 8 flips and transposes,
 * mapped back and averaged; parameters already validated (front.c). */
crsae_status crsae__denoise_ensemble(const crsae_model *model, const crsae_denoise_params *prm,
                                     const float *in, size_t in_stride, float *out,
                                     size_t out_stride, int W, int H, int ch);

#endif
