/* front.c - the public entry of denoising: the parameters and the image
 * are checked here once, a noise level of 0 is replaced by the estimate
 * (the one place that policy lives), and the work goes to the 8-transform
 * ensemble or straight to the tiles. */
#include "base/alloc.h"
#include "denoise/colour.h"
#include "denoise/tiles.h"
#include "denoise/transforms.h"

#include <math.h>
#include <string.h>

void crsae_denoise_params_init(crsae_denoise_params *prm)
{
    if (!prm)
        return;
    memset(prm, 0, sizeof *prm);
    prm->sigma = 25.0f / 255.0f;
}

crsae_status crsae_estimate_noise_level(const float *in, size_t in_stride, int width,
                                        int height, int channels, float *sigma)
{
    float est;
    crsae_status st = crsae_estimate_sigma(in, in_stride, width, height, channels, &est);
    if (st != CRSAE_OK)
        return st;
    /* a clean image: denoise very lightly rather than not at all */
    *sigma = est > CRSAE_SIGMA_FLOOR ? est : CRSAE_SIGMA_FLOOR;
    return CRSAE_OK;
}

static bool valid_params(const crsae_denoise_params *prm)
{
    return isfinite(prm->sigma) && prm->sigma >= 0.0f && prm->iterations >= 0 &&
           prm->iterations <= CRSAE_MAX_ITERATIONS && prm->shifts >= 0 &&
           prm->chroma_shifts >= 0 && prm->threads >= 0 && prm->tile_size >= 0 &&
           (prm->transforms == 0 || prm->transforms == 1 || prm->transforms == 8);
}

static crsae_status check_samples(const float *in, size_t stride, int W, int H, int ch)
{
    int cols = crsae__colours(ch);
    for (int r = 0; r < H; r++) {
        const float *row = in + (size_t)r * stride;
        int bad = 0;
        for (int c = 0; c < W; c++)
            for (int k = 0; k < cols; k++)
                bad |= !isfinite(row[(size_t)c * ch + k]);
        if (bad)
            return CRSAE_ERR_NONFINITE;
    }
    return CRSAE_OK;
}

crsae_status crsae_denoise_image(const crsae_model *model, const crsae_denoise_params *params,
                                 const float *in, size_t in_stride, float *out,
                                 size_t out_stride, int width, int height, int channels)
{
    if (!model || !params || !in || !out || width <= 0 || height <= 0 || channels < 1 ||
        channels > 4)
        return CRSAE_ERR_INVALID_ARGUMENT;
    if (in_stride < (size_t)width * channels || out_stride < (size_t)width * channels ||
        !valid_params(params))
        return CRSAE_ERR_INVALID_ARGUMENT;
    if (width > CRSAE_MAX_SIDE || height > CRSAE_MAX_SIDE ||
        (uint64_t)width * (uint64_t)height > CRSAE_MAX_PIXELS)
        return CRSAE_ERR_TOO_LARGE;
    crsae_status st = check_samples(in, in_stride, width, height, channels);
    if (st != CRSAE_OK)
        return st;
    crsae_denoise_params p = *params;
    if (p.sigma == 0.0f) {
        st = crsae_estimate_noise_level(in, in_stride, width, height, channels, &p.sigma);
        if (st != CRSAE_OK)
            return st;
    }
    if (p.transforms == 8)
        return crsae__denoise_ensemble(model, &p, in, in_stride, out, out_stride, width, height,
                                       channels);
    return crsae__denoise(model, &p, in, in_stride, out, out_stride, width, height, channels,
                          -1);
}

crsae_status crsae_denoise_plane(const crsae_model *model, const crsae_denoise_params *params,
                                 const float *in, size_t in_stride, float *out,
                                 size_t out_stride, int width, int height)
{
    return crsae_denoise_image(model, params, in, in_stride, out, out_stride, width, height, 1);
}
