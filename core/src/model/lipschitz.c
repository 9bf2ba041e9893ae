/* lipschitz.c - L, the largest eigenvalue of H^T H, by power iteration on
 * a 32 x 32 grid of atoms (large enough that the boundary barely lowers the
 * estimate), with a 1 % margin so that 1/L is a safe FISTA step. */
#include "encoder/encoder.h"
#include "base/alloc.h"
#include "base/rng.h"
#include "model/model.h"

#include <math.h>
#include <string.h>

crsae_status crsae_model_estimate_lipschitz(const crsae_model *m, float *lipschitz)
{
    if (!m || !lipschitz)
        return CRSAE_ERR_INVALID_ARGUMENT;
    crsae__geom g;
    crsae__geom_init(&g, m->filters, m->size, m->stride, 32, 32);
    size_t code = g.code, img = (size_t)g.hd * g.ldi;
    crsae__pack pk;
    if (crsae__pack_init(&pk, m->dec, m->filters, m->size))
        return CRSAE_ERR_NOMEM;
    float *x = crsae__malloc_aligned(code * sizeof(float));
    float *r = crsae__malloc_aligned(img * sizeof(float));
    float *row = crsae__malloc_aligned(crsae__row_scratch(&g) * sizeof(float));
    crsae_status st = CRSAE_ERR_NOMEM;
    if (!x || !r || !row)
        goto done;
    memset(x, 0, code * sizeof(float));
    crsae_rng rng;
    crsae__rng_seed(&rng, 1);
    for (int c = 0; c < g.C; c++)
        for (int u = 0; u < g.nu; u++)
            for (int v = 0; v < g.nv; v++)
                x[(size_t)c * g.plane + (size_t)u * g.rowp + v] = (float)crsae__rng_normal(&rng);
    double lambda = 0.0;
    for (int it = 0; it < 200; it++) {
        double nx = 0.0;
        for (size_t i = 0; i < code; i++)
            nx += (double)x[i] * x[i];
        if (!(nx > 0.0)) {
            st = CRSAE_ERR_INVALID_ARGUMENT; /* all-zero dictionary */
            goto done;
        }
        float inv = (float)(1.0 / sqrt(nx));
        for (size_t i = 0; i < code; i++)
            x[i] *= inv;
        memset(r, 0, img * sizeof(float));
        for (int u = 0; u < g.nu; u++)
            crsae__synthesis_row(&g, &pk, x, u, 1.0f, r, row);
        for (int u = 0; u < g.nu; u++) {
            const float *G = crsae__analysis_row(&g, &pk, r, u, row);
            for (int c = 0; c < g.C; c++)
                for (int v = 0; v < g.nv; v++)
                    x[(size_t)c * g.plane + (size_t)u * g.rowp + v] = G[(size_t)c * g.ldv + v];
        }
        double nn = 0.0;
        for (size_t i = 0; i < code; i++)
            nn += (double)x[i] * x[i];
        lambda = sqrt(nn);
    }
    *lipschitz = (float)(lambda * 1.01);
    st = isfinite(*lipschitz) ? CRSAE_OK : CRSAE_ERR_NONFINITE;
done:
    crsae__free_aligned(x);
    crsae__free_aligned(r);
    crsae__free_aligned(row);
    crsae__pack_free(&pk);
    return st;
}
