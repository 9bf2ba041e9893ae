/* testutil.c - helpers shared by the cmocka tests. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

float tu_uniform(uint64_t *state, float lo, float hi)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = (double)(*state >> 11) * 0x1.0p-53;
    return (float)(lo + (hi - lo) * u);
}

float *tu_synthetic_image(int width, int height, uint64_t seed)
{
    float *img = malloc((size_t)width * (size_t)height * sizeof(float));
    if (!img)
        return NULL;
    uint64_t st = seed * 2654435761ULL + 12345;
    float gx = tu_uniform(&st, -0.3f, 0.3f), gy = tu_uniform(&st, -0.3f, 0.3f);
    float cx[6], cy[6], rad[6], val[6];
    for (int i = 0; i < 6; i++) {
        cx[i] = tu_uniform(&st, 0, (float)width);
        cy[i] = tu_uniform(&st, 0, (float)height);
        rad[i] = tu_uniform(&st, 0.08f, 0.3f) * (float)(width < height ? width : height);
        val[i] = tu_uniform(&st, -0.35f, 0.35f);
    }
    float freq = tu_uniform(&st, 0.25f, 0.6f);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            float u = (float)x / (float)(width > 1 ? width - 1 : 1);
            float v = (float)y / (float)(height > 1 ? height - 1 : 1);
            float p = 0.45f + gx * (u - 0.5f) + gy * (v - 0.5f);
            for (int i = 0; i < 6; i++) {
                float dx = (float)x - cx[i], dy = (float)y - cy[i];
                if (dx * dx + dy * dy < rad[i] * rad[i])
                    p += val[i];
            }
            if (y > height / 2 && y < height / 2 + height / 6 + 1)
                p += 0.12f * sinf(freq * (float)x + 0.3f * (float)y);
            if (x > width / 3 && x < width / 3 + 3)
                p = 0.9f;
            img[(size_t)y * width + x] = p < 0.f ? 0.f : (p > 1.f ? 1.f : p);
        }
    return img;
}

double tu_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m))
            m = d; /* NaN propagates as a failure */
    }
    return m;
}

double tu_psnr(const float *a, const float *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i] < 0 ? 0 : (a[i] > 1 ? 1 : a[i]);
        double y = b[i] < 0 ? 0 : (b[i] > 1 ? 1 : b[i]);
        se += (x - y) * (x - y);
    }
    double mse = se / (double)n;
    return mse > 0 ? 10.0 * log10(1.0 / mse) : 999.0;
}

void tu_ref_synthesis(int C, int K, int s, int nu, int nv, const float *bank,
                      const double *code, double *img)
{
    int hd = (nu - 1) * s + K, wd = (nv - 1) * s + K;
    for (int i = 0; i < hd * wd; i++)
        img[i] = 0.0;
    for (int c = 0; c < C; c++)
        for (int u = 0; u < nu; u++)
            for (int v = 0; v < nv; v++) {
                double z = code[((size_t)c * nu + u) * nv + v];
                for (int a = 0; a < K; a++)
                    for (int b = 0; b < K; b++)
                        img[(size_t)(u * s + a) * wd + v * s + b] +=
                            z * bank[((size_t)c * K + a) * K + b];
            }
}

void tu_ref_analysis(int C, int K, int s, int nu, int nv, const float *bank,
                     const double *img, double *code)
{
    int wd = (nv - 1) * s + K;
    for (int c = 0; c < C; c++)
        for (int u = 0; u < nu; u++)
            for (int v = 0; v < nv; v++) {
                double acc = 0.0;
                for (int a = 0; a < K; a++)
                    for (int b = 0; b < K; b++)
                        acc += img[(size_t)(u * s + a) * wd + v * s + b] *
                               bank[((size_t)c * K + a) * K + b];
                code[((size_t)c * nu + u) * nv + v] = acc;
            }
}
