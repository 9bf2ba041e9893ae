/* adapt.c - learning from one noisy photo: its opponent colour planes (each
 * carries the photo's noise level, the transform being orthonormal) go to
 * the trainer in self-supervised (SURE) mode. */
#include "colour.h"
#include "internal.h"

#include <math.h>

void crsae_train_params_init_noisy_image(crsae_train_params *p)
{
    crsae_train_params_init(p);
    if (!p)
        return;
    p->learning_rate = 6e-4f;
    p->batch = 4;
    p->patch = 48;
    p->steps = 1 << 30;
    p->self_supervised = 1;
}

crsae_status crsae_train_noisy_image(crsae_model *model, const crsae_train_params *params,
                                     const float *pixels, size_t stride, int width, int height,
                                     int channels)
{
    if (!model || !params || !pixels || width < 1 || height < 1 || channels < 1 ||
        channels > 4 || stride < (size_t)width * (size_t)channels)
        return CRSAE_ERR_INVALID_ARGUMENT;
    const int colours = crsae__colours(channels);
    size_t n;
    if (!crsae__mul((size_t)width, (size_t)height, &n) || n > SIZE_MAX / 3 / sizeof(float))
        return CRSAE_ERR_TOO_LARGE;
    float *planes = crsae__malloc(n * (size_t)colours * sizeof(float));
    if (!planes)
        return CRSAE_ERR_NOMEM;
    float m[3][3];
    crsae__colour_matrix(colours, m);
    crsae_status st = CRSAE_OK;
    for (int y = 0; y < height && st == CRSAE_OK; y++) {
        const float *row = pixels + (size_t)y * stride;
        for (int x = 0; x < width; x++) {
            const float *p = row + (size_t)x * channels;
            for (int k = 0; k < colours; k++) {
                float v = 0.0f;
                for (int j = 0; j < colours; j++)
                    v += m[k][j] * p[j];
                if (!isfinite(v)) {
                    st = CRSAE_ERR_NONFINITE;
                    break;
                }
                planes[(size_t)k * n + (size_t)y * width + x] = v;
            }
        }
    }
    if (st == CRSAE_OK) {
        const float *imgs[3];
        int w[3], h[3];
        for (int k = 0; k < colours; k++) {
            imgs[k] = planes + (size_t)k * n;
            w[k] = width;
            h[k] = height;
        }
        crsae_train_params p = *params;
        p.self_supervised = 1;
        /* a photo smaller than a patch gets patches as large as it allows */
        int side = (width < height ? width : height) - (p.ensemble ? model->stride - 1 : 0);
        if (p.patch > side)
            p.patch = side;
        if (p.patch < model->size) {
            crsae__free(planes);
            return CRSAE_ERR_INVALID_ARGUMENT;
        }
        st = crsae_train(model, &p, imgs, w, h, colours);
    }
    crsae__free(planes);
    return st;
}
