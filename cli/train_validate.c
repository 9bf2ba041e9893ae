/* train_validate.c - see train_validate.h. */
#include "train_validate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CROP 128
#define MAX_CROPS 8

void validation_free(validation *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->clean[i]);
        for (int k = 0; k < v->nsigma; k++)
            free(v->noisy[k] ? v->noisy[k][i] : NULL);
    }
    free(v->clean);
    for (int k = 0; k < VALIDATE_MAX_SIGMAS; k++)
        free(v->noisy[k]);
    free(v->w);
    free(v->h);
    free(v->out);
    memset(v, 0, sizeof *v);
}

int validation_init(validation *v, float *const *images, const int *w, const int *h, int count,
                    double lo, double hi)
{
    memset(v, 0, sizeof *v);
    int n = count < MAX_CROPS ? count : MAX_CROPS;
    v->nsigma = hi > lo ? 3 : 1;
    v->sigma[0] = lo;
    v->sigma[1] = hi > lo ? 0.5 * (lo + hi) : lo;
    v->sigma[2] = hi > lo ? hi : lo;
    v->clean = calloc((size_t)n, sizeof(float *));
    v->w = calloc((size_t)n, sizeof(int));
    v->h = calloc((size_t)n, sizeof(int));
    v->out = malloc(sizeof(float) * CROP * CROP);
    for (int k = 0; k < v->nsigma; k++)
        v->noisy[k] = calloc((size_t)n, sizeof(float *));
    if (!v->clean || !v->w || !v->h || !v->out)
        goto fail;
    for (int k = 0; k < v->nsigma; k++)
        if (!v->noisy[k])
            goto fail;
    for (int i = 0; i < n; i++) {
        int cw = w[i] < CROP ? w[i] : CROP, ch = h[i] < CROP ? h[i] : CROP;
        int x0 = (w[i] - cw) / 2, y0 = (h[i] - ch) / 2;
        float *c = malloc(sizeof(float) * (size_t)cw * ch);
        if (!c)
            goto fail;
        v->clean[v->n] = c;
        v->w[v->n] = cw;
        v->h[v->n] = ch;
        v->n++;
        for (int y = 0; y < ch; y++)
            memcpy(c + (size_t)y * cw, images[i] + (size_t)(y0 + y) * w[i] + x0,
                   sizeof(float) * (size_t)cw);
        for (int k = 0; k < v->nsigma; k++) {
            float *z = malloc(sizeof(float) * (size_t)cw * ch);
            if (!z)
                goto fail;
            memcpy(z, c, sizeof(float) * (size_t)cw * ch);
            v->noisy[k][v->n - 1] = z;
            if (crsae_add_noise(z, (size_t)cw, cw, ch, 1, (float)(v->sigma[k] / 255.0),
                                9001u + 31u * (unsigned)i + (unsigned)k) != CRSAE_OK)
                goto fail;
        }
    }
    return 0;
fail:
    validation_free(v);
    return -1;
}

int validation_run(const validation *v, const crsae_model *m, double *psnr)
{
    for (int k = 0; k < v->nsigma; k++) {
        double sum = 0.0;
        for (int i = 0; i < v->n; i++) {
            crsae_denoise_params p;
            crsae_denoise_params_init(&p);
            p.sigma = (float)(v->sigma[k] / 255.0);
            size_t np = (size_t)v->w[i] * v->h[i];
            if (crsae_denoise_plane(m, &p, v->noisy[k][i], (size_t)v->w[i], v->out,
                                    (size_t)v->w[i], v->w[i], v->h[i]) != CRSAE_OK)
                return -1;
            double se = 0.0;
            for (size_t j = 0; j < np; j++) {
                double o = v->out[j] < 0.0f ? 0.0 : (v->out[j] > 1.0f ? 1.0 : v->out[j]);
                se += (o - v->clean[i][j]) * (o - v->clean[i][j]);
            }
            sum += se > 0.0 ? 10.0 * log10((double)np / se) : 99.0;
        }
        psnr[k] = sum / v->n;
    }
    return 0;
}
