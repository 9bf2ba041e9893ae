/* risk.c - how well a model denoises one noisy photo, estimated without the
 * clean photo: Stein's unbiased risk estimate of the mean squared error,
 *   SURE = mean_i [(y_i - f_i)^2 - sigma^2 + 2 sigma^2 div_i],
 * its divergence by one Gaussian probe b: div_i ~ b_i (f(y + eps b)_i - f_i)/eps.
 * Two denoisings per crop; a large photo is sampled in evenly spread crops. */
#include "base/alloc.h"
#include "base/progress.h"
#include "base/rng.h"
#include "denoise/colour.h"
#include "train/train.h"
#include "train/risk.h"

#include <math.h>
#include <string.h>

#define CROP 192 /* side of a sampled crop: a few tiles' worth, small borders */

/* Adds the SURE terms of one crop (cw x chh, interleaved, in y) to *sum
 * and its sample count to *count; y is overwritten, b holds the probe. */
static crsae_status crop_risk(const crsae_model *model, const crsae_denoise_params *dp,
                              crsae__subrange *rp, float *y, float *f, float *fb, float *b,
                              int cw, int chh, int channels, crsae_rng *rng, double *sum,
                              double *count)
{
    const int colours = crsae__colours(channels);
    const size_t n = (size_t)cw * chh, row = (size_t)cw * channels;
    const double var = (double)dp->sigma * dp->sigma;
    const float eps = CRSAE__SURE_EPS * dp->sigma;
    crsae_status st = crsae_denoise_image(model, dp, y, row, f, row, cw, chh, channels);
    if (st != CRSAE_OK)
        return st;
    rp->done++;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < colours; k++) {
            const size_t j = i * channels + k;
            const double d = (double)y[j] - f[j];
            acc += d * d - var;
            /* a sample clipped to black or white does not move with its
             * noise: its derivative is zero (see crsae__sure_probe) */
            const float pb = crsae__sure_probe(y[j], (float)crsae__rng_normal(rng));
            b[i * colours + k] = pb;
            y[j] += eps * pb;
        }
    st = crsae_denoise_image(model, dp, y, row, fb, row, cw, chh, channels);
    if (st != CRSAE_OK)
        return st;
    rp->done++;
    const double c = 2.0 * var / eps;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < colours; k++) {
            const size_t j = i * channels + k;
            acc += c * b[i * colours + k] * ((double)fb[j] - f[j]);
        }
    *sum += acc;
    *count += (double)n * colours;
    return CRSAE_OK;
}

crsae_status crsae__estimate_risk_cells(const crsae_model *model,
                                        const crsae_denoise_params *params, const float *pixels,
                                        size_t stride, int width, int height, int channels,
                                        uint64_t seed, size_t max_pixels, int side, int parity,
                                        double *mse)
{
    if (!model || !params || !pixels || !mse || width < 1 || height < 1 || channels < 1 ||
        channels > 4 || stride < (size_t)width * (size_t)channels || !(params->sigma > 0.0f) ||
        side < 1)
        return CRSAE_ERR_INVALID_ARGUMENT;
    size_t area;
    if (!crsae__mul((size_t)width, (size_t)height, &area))
        return CRSAE_ERR_TOO_LARGE;
    /* the cells to use: all of one parity, or (parity < 0) the whole photo
     * when it is within max_pixels or smaller than a cell */
    const long grid = (long)(width / side) * (height / side);
    long ncells = 0;
    for (long k = 0; k < grid && parity >= 0; k++)
        ncells += crsae__cell_parity(width, side, k) == parity;
    int whole = 0;
    if (parity < 0) {
        whole = !max_pixels || area <= max_pixels || grid == 0;
        ncells = whole ? 1 : grid;
    }
    if (ncells == 0)
        return CRSAE_ERR_INVALID_ARGUMENT;
    long use = ncells;
    if (!whole && max_pixels) {
        size_t fit = max_pixels / ((size_t)side * side);
        use = fit < 1 ? 1 : (fit < (size_t)ncells ? (long)fit : ncells);
    }
    const int cw = whole ? width : side, chh = whole ? height : side;
    size_t n, bytes;
    if (!crsae__mul((size_t)cw, (size_t)chh, &n) ||
        !crsae__mul3(n, (size_t)channels, sizeof(float), &bytes))
        return CRSAE_ERR_TOO_LARGE;
    float *y = crsae__malloc(bytes), *f = crsae__malloc(bytes), *fb = crsae__malloc(bytes);
    float *b = crsae__malloc(bytes); /* colours <= channels samples a pixel */
    crsae_status st = y && f && fb && b ? CRSAE_OK : CRSAE_ERR_NOMEM;
    crsae_denoise_params dp = *params;
    crsae__subrange rp = {params->progress, params->progress_user, 0, 2 * (int)use};
    if (params->progress) {
        dp.progress = crsae__subrange_progress;
        dp.progress_user = &rp;
    }
    crsae_rng rng;
    crsae__rng_seed(&rng, seed);
    double sum = 0.0, count = 0.0;
    long seen = 0, next = 0; /* use of the ncells, spread evenly */
    for (long k = 0; k < (whole ? 1 : grid) && st == CRSAE_OK && next < use; k++) {
        if (!whole && parity >= 0 && crsae__cell_parity(width, side, k) != parity)
            continue;
        long idx = seen++;
        if (idx != (long)((double)next * ncells / use))
            continue;
        next++;
        int x0 = 0, y0 = 0;
        if (!whole)
            crsae__cell_origin(width, height, side, k, &x0, &y0);
        for (int r = 0; r < chh; r++)
            memcpy(y + (size_t)r * cw * channels,
                   pixels + (size_t)(y0 + r) * stride + (size_t)x0 * channels,
                   (size_t)cw * channels * sizeof(float));
        st = crop_risk(model, &dp, &rp, y, f, fb, b, cw, chh, channels, &rng, &sum, &count);
    }
    crsae__free(y), crsae__free(f), crsae__free(fb), crsae__free(b);
    if (st == CRSAE_OK)
        *mse = sum / count;
    return st;
}

crsae_status crsae_estimate_risk(const crsae_model *model, const crsae_denoise_params *params,
                                 const float *pixels, size_t stride, int width, int height,
                                 int channels, uint64_t seed, size_t max_pixels, double *mse)
{
    return crsae__estimate_risk_cells(model, params, pixels, stride, width, height, channels,
                                      seed, max_pixels, CROP, -1, mse);
}
