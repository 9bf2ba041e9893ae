/* test_estimate.c - the noise level estimator on synthetic images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crsae.h"
#include "testutil.h"

static double estimate(const float *clean, int w, int h, int ch, double sigma255, uint64_t seed)
{
    size_t n = (size_t)w * h * ch;
    float *img = malloc(n * sizeof(float));
    memcpy(img, clean, n * sizeof(float));
    assert_int_equal(crsae_add_noise(img, (size_t)w * ch, w, h, ch, (float)(sigma255 / 255.0), seed),
                     CRSAE_OK);
    float s;
    assert_int_equal(crsae_estimate_sigma(img, (size_t)w * ch, w, h, ch, &s), CRSAE_OK);
    free(img);
    return s * 255.0;
}

static void test_grey_within_15_percent(void **state)
{
    (void)state;
    const double sigmas[] = {5, 10, 15, 25, 35, 50};
    for (uint64_t img = 1; img <= 3; img++) {
        int w = 256, h = 200;
        float *clean = tu_synthetic_image(w, h, img);
        for (size_t i = 0; i < sizeof sigmas / sizeof sigmas[0]; i++) {
            double e = estimate(clean, w, h, 1, sigmas[i], 10 * img + i);
            print_message("image %d sigma %4.1f -> %5.2f\n", (int)img, sigmas[i], e);
            assert_true(fabs(e / sigmas[i] - 1.0) <= 0.15);
        }
        free(clean);
    }
}

static void test_colour_and_alpha(void **state)
{
    (void)state;
    int w = 160, h = 120;
    float *g = tu_synthetic_image(w, h, 8);
    for (int ch = 2; ch <= 4; ch++) {
        float *img = malloc((size_t)w * h * ch * sizeof(float));
        for (size_t i = 0; i < (size_t)w * h; i++)
            for (int c = 0; c < ch; c++)
                img[i * ch + c] = g[i] * (0.5f + 0.2f * c);
        double e = estimate(img, w, h, ch, 20, 5);
        assert_true(fabs(e / 20.0 - 1.0) <= 0.15);
        free(img);
    }
    free(g);
}

static void test_flat_and_clean(void **state)
{
    (void)state;
    int w = 128, h = 128;
    float *flat = malloc((size_t)w * h * sizeof(float));
    for (int i = 0; i < w * h; i++)
        flat[i] = 0.5f;
    assert_true(fabs(estimate(flat, w, h, 1, 12, 1) / 12.0 - 1.0) < 0.05);
    float s;
    assert_int_equal(crsae_estimate_sigma(flat, (size_t)w, w, h, 1, &s), CRSAE_OK);
    assert_true(s * 255.0f < 0.01f); /* no noise, nothing found */
    float *clean = tu_synthetic_image(w, h, 4);
    assert_int_equal(crsae_estimate_sigma(clean, (size_t)w, w, h, 1, &s), CRSAE_OK);
    assert_true(s * 255.0f < 2.0f);
    free(flat), free(clean);
}

/* Half the image saturated white and the rest noisy, clipped and rounded
 * to 8 bits as a PNG holds it: the flat white half has almost no noise left
 * and must not be taken for a clean area. */
static void test_clipped_regions_ignored(void **state)
{
    (void)state;
    const int w = 200, h = 160;
    float *img = tu_synthetic_image(w, h, 17);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w / 2; x++)
            img[(size_t)y * w + x] = 1.0f;
    assert_int_equal(crsae_add_noise(img, (size_t)w, w, h, 1, 0.1f, 3), CRSAE_OK);
    for (int i = 0; i < w * h; i++) {
        float v = img[i] < 0.0f ? 0.0f : (img[i] > 1.0f ? 1.0f : img[i]);
        img[i] = (float)((int)(v * 255.0f + 0.5f)) / 255.0f;
    }
    float sigma;
    assert_int_equal(crsae_estimate_sigma(img, (size_t)w, w, h, 1, &sigma), CRSAE_OK);
    print_message("half saturated, sigma 0.1: estimated %.4f\n", sigma);
    assert_true(sigma > 0.085f && sigma < 0.115f);
    free(img);
}

/* Noise added in float, then rounded and clipped to 8 bits: what a user's
 * file holds. */
static double estimate_8bit(const float *clean, int w, int h, int ch, double sigma255,
                            uint64_t seed)
{
    size_t n = (size_t)w * h * ch;
    float *img = malloc(n * sizeof(float));
    assert_non_null(img);
    memcpy(img, clean, n * sizeof(float));
    assert_int_equal(crsae_add_noise(img, (size_t)w * ch, w, h, ch, (float)(sigma255 / 255.0), seed),
                     CRSAE_OK);
    for (size_t i = 0; i < n; i++)
        img[i] = crsae_sample_to_float(crsae_sample_from_float(img[i], 8), 8);
    float s;
    assert_int_equal(crsae_estimate_sigma(img, (size_t)w * ch, w, h, ch, &s), CRSAE_OK);
    free(img);
    return s * 255.0;
}

/* A photo-like plane with much of it at or near the ends of the range:
 * the synthetic gradients, discs and texture, a black and a white block,
 * a dark and a bright gradient band, and fine texture near white. */
static float *clipped_scene(int w, int h, uint64_t seed, float invert)
{
    float *img = tu_synthetic_image(w, h, seed);
    assert_non_null(img);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *p = &img[(size_t)y * w + x];
            float u = (float)x / (float)w, v = (float)y / (float)h;
            if (u < 0.4f && v < 0.45f)
                *p = 0.0f; /* black */
            else if (u > 0.6f && v < 0.4f)
                *p = 1.0f; /* white */
            else if (v > 0.7f)
                *p = 0.03f + 0.1f * u; /* dark band */
            else if (u < 0.2f)
                *p = 0.9f + 0.1f * v; /* bright band */
            else if (u > 0.8f && v > 0.4f)
                *p = 0.93f + 0.05f * sinf(0.9f * (float)x) * sinf(0.7f * (float)y);
            if (invert > 0.0f)
                *p = 1.0f - *p;
        }
    return img;
}

static void test_clipped_8bit_grey(void **state)
{
    (void)state;
    const double sigmas[] = {5, 15, 25, 50};
    const int w = 256, h = 224;
    for (uint64_t img = 1; img <= 2; img++) {
        float *clean = clipped_scene(w, h, img, img == 2 ? 1.0f : 0.0f);
        for (size_t i = 0; i < sizeof sigmas / sizeof sigmas[0]; i++) {
            double e = estimate_8bit(clean, w, h, 1, sigmas[i], 100 * img + i);
            print_message("grey scene %d, 8-bit sigma %4.1f -> %6.2f\n", (int)img, sigmas[i], e);
            assert_true(fabs(e / sigmas[i] - 1.0) <= 0.10);
        }
        free(clean);
    }
}

/* RGB: the three channels are different scenes (their clipped areas are
 * not the same), noise on each channel. */
static void test_clipped_8bit_colour(void **state)
{
    (void)state;
    const double sigmas[] = {5, 15, 25, 50};
    const int w = 240, h = 200;
    float *c[3];
    for (int k = 0; k < 3; k++)
        c[k] = clipped_scene(w, h, 20 + (uint64_t)k, k == 1 ? 1.0f : 0.0f);
    float *rgb = malloc((size_t)w * h * 3 * sizeof(float));
    assert_non_null(rgb);
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int k = 0; k < 3; k++)
            rgb[i * 3 + k] = c[k][i];
    for (size_t i = 0; i < sizeof sigmas / sizeof sigmas[0]; i++) {
        double e = estimate_8bit(rgb, w, h, 3, sigmas[i], 300 + i);
        print_message("colour scene, 8-bit sigma %4.1f -> %6.2f\n", sigmas[i], e);
        assert_true(fabs(e / sigmas[i] - 1.0) <= 0.10);
    }
    for (int k = 0; k < 3; k++)
        free(c[k]);
    free(rgb);
}

static void test_bad_input(void **state)
{
    (void)state;
    float img[64] = {0}, s;
    assert_int_equal(crsae_estimate_sigma(img, 7, 7, 7, 1, &s), CRSAE_ERR_INVALID_ARGUMENT);
    assert_int_equal(crsae_estimate_sigma(img, 8, 8, 8, 5, &s), CRSAE_ERR_INVALID_ARGUMENT);
    assert_int_equal(crsae_estimate_sigma(NULL, 8, 8, 8, 1, &s), CRSAE_ERR_INVALID_ARGUMENT);
    img[9] = NAN;
    assert_int_equal(crsae_estimate_sigma(img, 8, 8, 8, 1, &s), CRSAE_ERR_NONFINITE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grey_within_15_percent),
        cmocka_unit_test(test_colour_and_alpha),
        cmocka_unit_test(test_flat_and_clean),
        cmocka_unit_test(test_clipped_regions_ignored),
        cmocka_unit_test(test_clipped_8bit_grey),
        cmocka_unit_test(test_clipped_8bit_colour),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
