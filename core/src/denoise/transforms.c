/* transforms.c - the geometric self-ensemble: the image denoised in each
 * of the 8 flips and transposes (the dihedral group of the square), each
 * result mapped back and averaged.  The learned filters are not symmetric,
 * so the eight estimates differ and their mean has less error.  Eight times
 * the work; the output is written only at the end (cancel leaves it). */
#include "denoise/transforms.h"
#include "base/alloc.h"
#include "base/progress.h"
#include "denoise/tiles.h"

#include <string.h>

/* Index of source pixel (x, y) in the image transformed by t:
 * bit 0 flips x, bit 1 flips y, bit 2 transposes (after the flips). */
static size_t mapped(int t, int x, int y, int W, int H, int ch)
{
    int x1 = (t & 1) ? W - 1 - x : x, y1 = (t & 2) ? H - 1 - y : y;
    return (t & 4) ? ((size_t)x1 * H + y1) * ch : ((size_t)y1 * W + x1) * ch;
}

crsae_status crsae__denoise_ensemble(const crsae_model *model, const crsae_denoise_params *prm,
                                     const float *in, size_t in_stride, float *out,
                                     size_t out_stride, int W, int H, int ch)
{
    size_t n;
    if (!crsae__mul3((size_t)W, (size_t)H, (size_t)ch, &n) || n > SIZE_MAX / sizeof(float))
        return CRSAE_ERR_TOO_LARGE;
    float *src = crsae__malloc(n * sizeof(float));
    float *res = crsae__malloc(n * sizeof(float));
    float *acc = crsae__calloc(n, sizeof(float));
    crsae_status st = CRSAE_ERR_NOMEM;
    if (!src || !res || !acc)
        goto done;
    crsae_denoise_params p = *prm;
    crsae__subrange e = {prm->progress, prm->progress_user, 0, 8};
    p.transforms = 1;
    p.progress = crsae__subrange_progress;
    p.progress_user = &e;
    for (int t = 0; t < 8; t++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                memcpy(src + mapped(t, x, y, W, H, ch), in + (size_t)y * in_stride + (size_t)x * ch,
                       (size_t)ch * sizeof(float));
        int tw = (t & 4) ? H : W, th = (t & 4) ? W : H;
        e.done = t;
        st = crsae__denoise(model, &p, src, (size_t)tw * ch, res, (size_t)tw * ch, tw, th, ch, -1);
        if (st != CRSAE_OK)
            goto done;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const float *r = res + mapped(t, x, y, W, H, ch);
                float *a = acc + ((size_t)y * W + x) * ch;
                for (int k = 0; k < ch; k++)
                    a[k] += 0.125f * r[k];
            }
    }
    for (int y = 0; y < H; y++)
        memcpy(out + (size_t)y * out_stride, acc + (size_t)y * W * ch,
               (size_t)W * ch * sizeof(float));
done:
    crsae__free(src);
    crsae__free(res);
    crsae__free(acc);
    return st;
}
