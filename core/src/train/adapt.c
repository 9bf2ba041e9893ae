/* adapt.c - learning from one noisy photo.  The photo is cut into a
 * checkerboard of cells: the trainer, in self-supervised (SURE) mode,
 * sees the opponent colour planes (each carries the photo's noise level,
 * the transform being orthonormal) of the cells of one colour; the risk
 * estimate on the cells of the other colour, whose noise the adapted
 * model has not fitted, judges the start and the adapted model, and the
 * better one is the result.  (SURE on the cells it trained on flatters
 * the adapted model: its filters have followed that noise.) */
#include "denoise/colour.h"
#include "base/alloc.h"
#include "base/cpu.h"
#include "model/model.h"
#include "train/train.h"
#include "train/risk.h"

#include <math.h>

#define CELL 96 /* side of a checkerboard cell; smaller for a small photo */
#define MIN_CELL 32
#define RISK_PIXELS ((size_t)1 << 18) /* most pixels the risk estimate denoises */

void crsae_train_params_init_noisy_image(crsae_train_params *p)
{
    crsae_train_params_init(p);
    if (!p)
        return;
    p->learning_rate = 1e-4f;
    p->batch = 4;
    p->patch = 48;
    p->steps = 1 << 30;
    p->self_supervised = 1;
    p->ensemble = -1; /* as the model is: untied models learn through the ensemble */
    p->sigma = 0.0f;  /* estimated on the photo */
}

double crsae_learn_seconds(int width, int height)
{
    const double per_mp = CRSAE_LEARN_SECONDS_PER_MP;
    double mp = (double)(width > 0 ? width : 0) * (double)(height > 0 ? height : 0) / 1e6;
    return per_mp * (mp > 1.0 ? mp : 1.0);
}

/* The photo's risk with the model, on the held-out cells (parity 1) or,
 * for a photo too small to split (parity -1), on all of it. */
static crsae_status photo_risk(const crsae_model *model, const crsae_train_params *tp,
                               const float *pixels, size_t stride, int width, int height,
                               int channels, int cell, int parity, double *mse)
{
    crsae_denoise_params dp;
    crsae_denoise_params_init(&dp);
    crsae_denoise_params_set_quality(&dp, CRSAE_QUALITY_FAST);
    dp.sigma = tp->sigma;
    dp.threads = tp->threads;
    return crsae__estimate_risk_cells(model, &dp, pixels, stride, width, height, channels,
                                      tp->seed, RISK_PIXELS, cell, parity, mse);
}

/* The training set: per colour plane, the cells of parity 0 (or the whole
 * photo when parity is -1), with SURE's probe masks - 0 where an RGB
 * sample of the pixel is clipped. */
typedef struct cells {
    int count;
    float *data; /* count images */
    const float **img, **mask;
    int *w, *h;
} cells;

static void cells_free(cells *c)
{
    crsae__free(c->data);
    crsae__free(c->img);
    crsae__free(c->mask);
    crsae__free(c->w);
    crsae__free(c->h);
}

static crsae_status cells_make(cells *c, const float *pixels, size_t stride, int width,
                               int height, int channels, int cell, int parity)
{
    const int colours = crsae__colours(channels);
    const int gx = width / cell, gy = height / cell;
    int ncell = 0;
    for (int k = 0; k < gx * gy && parity >= 0; k++)
        ncell += crsae__cell_parity(width, cell, k) == parity;
    const int cw = parity >= 0 ? cell : width, chh = parity >= 0 ? cell : height;
    if (parity < 0)
        ncell = 1;
    size_t n, all;
    if (!crsae__mul((size_t)cw, (size_t)chh, &n) ||
        !crsae__mul3(n, (size_t)ncell * (colours + 1), sizeof(float), &all))
        return CRSAE_ERR_TOO_LARGE;
    c->count = ncell * colours;
    c->data = crsae__malloc(all);
    c->img = crsae__malloc((size_t)c->count * sizeof(*c->img));
    c->mask = crsae__malloc((size_t)c->count * sizeof(*c->mask));
    c->w = crsae__malloc((size_t)c->count * sizeof(int));
    c->h = crsae__malloc((size_t)c->count * sizeof(int));
    if (!c->data || !c->img || !c->mask || !c->w || !c->h)
        return CRSAE_ERR_NOMEM;
    float m[3][3];
    crsae__colour_matrix(colours, m);
    int i = 0;
    for (int k = 0; k < (parity >= 0 ? gx * gy : 1); k++) {
        if (parity >= 0 && crsae__cell_parity(width, cell, k) != parity)
            continue;
        int x0 = 0, y0 = 0;
        if (parity >= 0)
            crsae__cell_origin(width, height, cell, k, &x0, &y0);
        float *planes = c->data + (size_t)i * (colours + 1) * n, *mask = planes + colours * n;
        for (int y = 0; y < chh; y++)
            for (int x = 0; x < cw; x++) {
                const float *p = pixels + (size_t)(y0 + y) * stride + (size_t)(x0 + x) * channels;
                float keep = 1.0f;
                for (int k2 = 0; k2 < colours; k2++) {
                    float v = 0.0f;
                    for (int j = 0; j < colours; j++)
                        v += m[k2][j] * p[j];
                    if (!isfinite(v))
                        return CRSAE_ERR_NONFINITE;
                    planes[(size_t)k2 * n + (size_t)y * cw + x] = v;
                    keep = crsae__sure_probe(p[k2], keep);
                }
                mask[(size_t)y * cw + x] = keep;
            }
        for (int k2 = 0; k2 < colours; k2++) {
            c->img[i * colours + k2] = planes + (size_t)k2 * n;
            c->mask[i * colours + k2] = mask;
            c->w[i * colours + k2] = cw;
            c->h[i * colours + k2] = chh;
        }
        i++;
    }
    return CRSAE_OK;
}

static crsae_status adapt(crsae_model *model, const crsae_train_params *params,
                          const float *pixels, size_t stride, int width, int height,
                          int channels, int cell, int parity, const crsae__budget *budget)
{
    crsae_train_params p = *params;
    p.self_supervised = 1;
    /* a photo smaller than a patch gets patches as large as it allows */
    const int cw = parity >= 0 ? cell : width, chh = parity >= 0 ? cell : height;
    const int side = (cw < chh ? cw : chh) - (p.ensemble ? model->stride - 1 : 0);
    if (side < model->size)
        return CRSAE_ERR_INVALID_ARGUMENT;
    /* the trainer rounds a patch up to whole atoms: (n - 1) s + K */
    const int fit = (side - model->size) / model->stride * model->stride + model->size;
    if (p.patch > fit)
        p.patch = fit;
    cells c = {0};
    crsae_status st = cells_make(&c, pixels, stride, width, height, channels, cell, parity);
    if (st == CRSAE_OK)
        st = crsae__train(model, &p, c.img, c.mask, c.w, c.h, c.count, budget);
    cells_free(&c);
    return st;
}

crsae_status crsae_train_noisy_image(crsae_model *model, const crsae_train_params *params,
                                     const float *pixels, size_t stride, int width, int height,
                                     int channels, crsae_adapt_outcome *outcome)
{
    if (!model || !params || !pixels || width < 1 || height < 1 || channels < 1 ||
        channels > 4 || stride < (size_t)width * (size_t)channels ||
        !(params->sigma >= 0.0f) || !isfinite(params->sigma) || !isfinite(params->seconds) ||
        params->seconds < 0.0 || params->ensemble < -1 || params->ensemble > 1)
        return CRSAE_ERR_INVALID_ARGUMENT;
    const double t_call = crsae__now();
    crsae_train_params p = *params;
    if (p.sigma == 0.0f) {
        crsae_status est = crsae_estimate_noise_level(pixels, stride, width, height, channels,
                                                      &p.sigma);
        if (est != CRSAE_OK)
            return est;
    }
    if (p.ensemble < 0)
        p.ensemble = model->untied;
    if (p.seconds == 0.0)
        p.seconds = crsae_learn_seconds(width, height);
    params = &p;
    /* two cells or more: train on one colour, judge on the other */
    const int small = (width < height ? width : height) / 2;
    const int cell = small < CELL ? (small > 0 ? small : 1) : CELL;
    const int split = cell >= MIN_CELL && (width / cell) * (height / cell) >= 2;
    crsae_adapt_outcome out = {0.0, 0.0, 1};
    crsae_model *start = NULL;
    crsae_status st = crsae_model_copy(&start, model);
    if (st == CRSAE_OK)
        st = photo_risk(model, params, pixels, stride, width, height, channels, cell,
                        split ? 1 : -1, &out.mse_before);
    crsae_status trained = st;
    /* the closing risk estimate is given as long as the opening one took */
    const double reserve = crsae__now() - t_call;
    const crsae__budget budget = {t_call + p.seconds - reserve, p.seconds};
    if (st == CRSAE_OK)
        trained = adapt(model, params, pixels, stride, width, height, channels, cell,
                        split ? 0 : -1, &budget);
    /* cancelled (by a time budget or the user): the last finished step is
     * still a model to judge */
    const int judged = st == CRSAE_OK && (trained == CRSAE_OK || trained == CRSAE_ERR_CANCELLED);
    if (judged)
        st = photo_risk(model, params, pixels, stride, width, height, channels, cell,
                        split ? 1 : -1, &out.mse_after);
    if (start && (!judged || st != CRSAE_OK || !(out.mse_after < out.mse_before))) {
        struct crsae_model tmp = *model; /* the start model goes back in place */
        *model = *start;
        *start = tmp;
        out.kept = 0;
    }
    crsae_model_free(start);
    if (st == CRSAE_OK)
        st = trained;
    if (outcome && judged && (st == CRSAE_OK || st == CRSAE_ERR_CANCELLED))
        *outcome = out;
    return st;
}
