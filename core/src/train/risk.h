/* train/risk.h - SURE on the cells of a checkerboard (risk.c, adapt.c). */
#ifndef CRSAE_TRAIN_RISK_H
#define CRSAE_TRAIN_RISK_H

#include "crsae.h"

/* crsae_estimate_risk on the photo's whole side x side cells (centred
 * grid) of one checkerboard parity (0 or 1), or with parity < 0 on the
 * whole photo (or, beyond max_pixels, on cells of either parity);
 * CRSAE_ERR_INVALID_ARGUMENT when no cell has that parity (risk.c). */
crsae_status crsae__estimate_risk_cells(const crsae_model *model,
                                        const crsae_denoise_params *params, const float *pixels,
                                        size_t stride, int width, int height, int channels,
                                        uint64_t seed, size_t max_pixels, int side, int parity,
                                        double *mse);

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

#endif
