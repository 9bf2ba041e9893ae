/* test_denoise.c - the whole denoiser: tiles, threads, cancel, colour,
 * alpha, tiny images, bad input, and a real PSNR gain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crsae.h"
#include "denoise/tiles.h"

#include "kernels/kernels.h"
#include "testutil.h"

/* A small random model: fast, and enough to test the plumbing. */
static crsae_model *small_model(int untied, int stride)
{
    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, 12, 5, stride, untied), CRSAE_OK);
    uint64_t st = 11 + (uint64_t)untied;
    float bank[12 * 25], lam[12];
    for (int b = 0; b < (untied ? 3 : 1); b++) {
        for (int c = 0; c < 12; c++) {
            double n = 0;
            for (int k = 0; k < 25; k++) {
                bank[c * 25 + k] = tu_uniform(&st, -1, 1) + (k == 12 ? 2.0f : 0.0f);
                n += bank[c * 25 + k] * bank[c * 25 + k];
            }
            for (int k = 0; k < 25; k++)
                bank[c * 25 + k] /= (float)sqrt(n);
        }
        assert_int_equal(crsae_model_set_bank(m, (crsae_bank)b, bank), CRSAE_OK);
    }
    for (int c = 0; c < 12; c++)
        lam[c] = 2.0f + 0.1f * (float)c;
    assert_int_equal(crsae_model_set_lambda(m, lam), CRSAE_OK);
    float L;
    assert_int_equal(crsae_model_estimate_lipschitz(m, &L), CRSAE_OK);
    assert_int_equal(crsae_model_set_params(m, 12, L, 0.1f, 1.0f), CRSAE_OK);
    return m;
}

static float *noisy_image(int w, int h, int ch, float sigma, uint64_t seed)
{
    float *g = tu_synthetic_image(w, h, seed);
    float *img = malloc((size_t)w * h * ch * sizeof(float));
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int c = 0; c < ch; c++)
            img[i * ch + c] = (c == 3 || (ch == 2 && c == 1)) ? 0.25f + 0.5f * g[i]
                                                              : g[i] * (0.6f + 0.2f * c);
    crsae_add_noise(img, (size_t)w * ch, w, h, ch, sigma, seed + 1);
    free(g);
    return img;
}

static float *run_as(const crsae_model *m, const float *in, int w, int h, int ch, int threads,
                     int tile, int halo, int precise)
{
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    p.sigma = 0.1f;
    p.precise = precise;
    p.threads = threads;
    p.tile_size = tile;
    float *out = malloc((size_t)w * h * ch * sizeof(float));
    assert_int_equal(crsae__denoise(m, &p, in, (size_t)w * ch, out, (size_t)w * ch, w, h, ch, halo),
                     CRSAE_OK);
    return out;
}

static float *run(const crsae_model *m, const float *in, int w, int h, int ch, int threads,
                  int tile, int halo)
{
    return run_as(m, in, w, h, ch, threads, tile, halo, 0);
}

/* Tiles give the whole image's result up to rounding: float rounding with
 * float products (1e-4: the halo's truncation), and where the CPU
 * multiplies in bfloat16, that rounding of operands which differ in their
 * last float bits near a tile's edge (3e-4 measured with 17-pixel tiles,
 * 0.08 of an 8-bit level; the random untied model here amplifies it ten
 * times, so it runs with float products only). */
static void test_tiles_equal_whole(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        const int untied = k == 1, precise = k < 2;
        crsae_model *m = small_model(untied, 3);
        int w = 131, h = 97;
        float *in = noisy_image(w, h, 1, 0.1f, 5);
        float *whole = run_as(m, in, w, h, 1, 2, 4096, -1, precise);
        const int tiles[] = {17, 40, 64, 100};
        for (size_t i = 0; i < 4; i++) {
            float *t = run_as(m, in, w, h, 1, 2, tiles[i], -1, precise);
            assert_true(tu_max_abs_diff(whole, t, (size_t)w * h) < (precise ? 1e-4 : 1e-3));
            free(t);
        }
        /* the halo matters: without it tiles differ visibly (the test can fail) */
        float *nohalo = run(m, in, w, h, 1, 2, 40, 0);
        assert_true(tu_max_abs_diff(whole, nohalo, (size_t)w * h) > 1e-3);
        free(nohalo), free(whole), free(in);
        crsae_model_free(m);
    }
}

/* The built-in model with bfloat16 products against float products: the
 * same picture (measured on BSD68 images: at most 1.8e-3 apart, PSNR
 * within 0.002 dB); where the CPU has AVX512-BF16 they must differ, which
 * shows that path ran. */
static void test_bf16_close_to_float(void **state)
{
    (void)state;
    crsae_model *m;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    const int w = 120, h = 90;
    float *clean = tu_synthetic_image(w, h, 21);
    float *in = malloc((size_t)w * h * sizeof(float));
    assert_non_null(in);
    memcpy(in, clean, (size_t)w * h * sizeof(float));
    crsae_add_noise(in, (size_t)w, w, h, 1, 0.1f, 22);
    float *f = run_as(m, in, w, h, 1, 2, 0, -1, 1), *b = run_as(m, in, w, h, 1, 2, 0, -1, 0);
    const double d = tu_max_abs_diff(f, b, (size_t)w * h);
    assert_true(d < 5e-3);
    assert_true(fabs(tu_psnr(clean, f, (size_t)w * h) - tu_psnr(clean, b, (size_t)w * h)) < 0.02);
    crsae__pack pk;
    const float bank[9] = {0};
    assert_int_equal(crsae__pack_init(&pk, bank, 1, 3), 0);
    if (crsae__pack_bf16(&pk) == 1)
        assert_true(d > 0.0);
    crsae__pack_free(&pk);
    free(f), free(b), free(in), free(clean);
    crsae_model_free(m);
}

static void test_threads_bitwise_equal(void **state)
{
    (void)state;
    crsae_model *m = small_model(0, 2);
    int w = 90, h = 70;
    float *in = noisy_image(w, h, 3, 0.1f, 9);
    float *one = run(m, in, w, h, 3, 1, 32, -1);
    for (int t = 2; t <= 5; t++) {
        float *n = run(m, in, w, h, 3, t, 32, -1);
        assert_memory_equal(one, n, (size_t)w * h * 3 * sizeof(float));
        free(n);
    }
    free(one), free(in);
    crsae_model_free(m);
}

static int cancel_at(double f, void *user)
{
    int *calls = user;
    (void)f;
    return ++*calls >= 1;
}

static int record(double f, void *user)
{
    double *last = user;
    assert_true(f >= *last);
    assert_true(f >= 0.0 && f <= 1.0);
    *last = f;
    return 0;
}

static void test_cancel_leaves_output(void **state)
{
    (void)state;
    crsae_model *m = small_model(1, 1); /* stride 1: one long shift per tile */
    int w = 300, h = 200;
    float *in = noisy_image(w, h, 1, 0.1f, 2);
    float *out = malloc((size_t)w * h * sizeof(float));
    for (size_t i = 0; i < (size_t)w * h; i++)
        out[i] = -7.0f;
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    p.iterations = 1000;
    p.threads = 2;
    int calls = 0;
    p.progress = cancel_at;
    p.progress_user = &calls;
    assert_int_equal(crsae_denoise_plane(m, &p, in, (size_t)w, out, (size_t)w, w, h),
                     CRSAE_ERR_CANCELLED);
    assert_true(calls >= 1);
    for (size_t i = 0; i < (size_t)w * h; i++)
        assert_true(out[i] == -7.0f);

    double last = 0.0;
    p.iterations = 3;
    p.progress = record;
    p.progress_user = &last;
    assert_int_equal(crsae_denoise_plane(m, &p, in, (size_t)w, out, (size_t)w, w, h), CRSAE_OK);
    assert_true(last == 1.0);
    free(in), free(out);
    crsae_model_free(m);
}

typedef struct cancel_point {
    double at;       /* cancel at the first report of at least this fraction */
    double seen;     /* the fraction that cancelled */
    int calls;
} cancel_point;

static int cancel_at_fraction(double f, void *user)
{
    cancel_point *c = user;
    c->calls++;
    if (f >= c->at) {
        c->seen = f;
        return 1;
    }
    return 0;
}

/* Cancel at random points of an RGBA run in place, with tiles and 1..4
 * threads: the buffer - input and output at once - is exactly as it was,
 * whether the cancel came mid-way or at the last report (1.0). */
static void test_cancel_at_random_points(void **state)
{
    (void)state;
    crsae_model *m = small_model(0, 2);
    const int w = 150, h = 110, ch = 4;
    const size_t n = (size_t)w * h * ch;
    float *orig = noisy_image(w, h, ch, 0.1f, 4), *buf = malloc(n * sizeof(float));
    assert_non_null(buf);
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    p.sigma = 0.1f;
    p.tile_size = 48;
    p.iterations = 40; /* 12 tiles of 48: a report after each finished one */
    cancel_point c;
    p.progress = cancel_at_fraction;
    p.progress_user = &c;
    uint64_t r = 12345;
    int midway = 0, calls = 0;
    for (int trial = 0; trial < 12; trial++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        c.at = (double)((r >> 11) & 0xffff) / 65536.0 + 1e-6;
        c.seen = -1.0;
        c.calls = 0;
        p.threads = 1 + trial % 4;
        memcpy(buf, orig, n * sizeof(float));
        assert_int_equal(
            crsae_denoise_image(m, &p, buf, (size_t)w * ch, buf, (size_t)w * ch, w, h, ch),
            CRSAE_ERR_CANCELLED);
        assert_memory_equal(buf, orig, n * sizeof(float));
        midway += c.seen < 1.0;
        calls += c.calls;
    }
    print_message("12 random cancels, %d of them mid-way; %d progress reports\n", midway, calls);
    assert_true(midway >= 6); /* a report per finished tile (of 12), whatever the speed */
    free(orig), free(buf);
    crsae_model_free(m);
}

/* The 8-transform ensemble commutes with the transforms: denoising the
 * transposed, flipped image gives the transposed, flipped result (to float
 * rounding), and it differs from the single pass. */
static void test_transform_ensemble_is_equivariant(void **state)
{
    (void)state;
    crsae_model *m = small_model(0, 2);
    const int w = 37, h = 29, ch = 3;
    const size_t n = (size_t)w * h * ch;
    float *a = noisy_image(w, h, ch, 0.1f, 8), *b = malloc(n * sizeof(float));
    float *da = malloc(n * sizeof(float)), *db = malloc(n * sizeof(float));
    float *one = malloc(n * sizeof(float));
    assert_non_null(b), assert_non_null(da), assert_non_null(db), assert_non_null(one);
    /* b = a transposed and flipped left-right: b(x', y') with x' = h-1-y, y' = x */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(b + ((size_t)x * h + (h - 1 - y)) * ch, a + ((size_t)y * w + x) * ch,
                   ch * sizeof(float));
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    p.sigma = 0.1f;
    p.transforms = 8;
    assert_int_equal(crsae_denoise_image(m, &p, a, (size_t)w * ch, da, (size_t)w * ch, w, h, ch),
                     CRSAE_OK);
    assert_int_equal(crsae_denoise_image(m, &p, b, (size_t)h * ch, db, (size_t)h * ch, h, w, ch),
                     CRSAE_OK);
    double worst = 0.0, moved = 0.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < ch; k++) {
                double d = fabs(da[((size_t)y * w + x) * ch + k] -
                                db[((size_t)x * h + (h - 1 - y)) * ch + k]);
                worst = d > worst ? d : worst;
            }
    p.transforms = 1;
    assert_int_equal(crsae_denoise_image(m, &p, a, (size_t)w * ch, one, (size_t)w * ch, w, h, ch),
                     CRSAE_OK);
    for (size_t i = 0; i < n; i++)
        moved = fmax(moved, fabs(one[i] - da[i]));
    print_message("8 transforms: equivariance error %.2g; differs from one pass by up to %.3f\n",
                  worst, moved);
    assert_true(worst < 1e-5);
    assert_true(moved > 1e-3);
    p.transforms = 3;
    assert_int_equal(crsae_denoise_image(m, &p, a, (size_t)w * ch, da, (size_t)w * ch, w, h, ch),
                     CRSAE_ERR_INVALID_ARGUMENT);
    free(a), free(b), free(da), free(db), free(one);
    crsae_model_free(m);
}

static void test_grey_stays_grey_alpha_untouched(void **state)
{
    (void)state;
    crsae_model *m = small_model(0, 3);
    int w = 50, h = 41;
    float *g = noisy_image(w, h, 1, 0.1f, 4);
    float *rgba = malloc((size_t)w * h * 4 * sizeof(float));
    for (size_t i = 0; i < (size_t)w * h; i++) {
        rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = g[i];
        rgba[i * 4 + 3] = (float)(i % 7) / 7.0f;
    }
    float *out = run(m, rgba, w, h, 4, 2, 0, -1);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        assert_true(out[i * 4] == out[i * 4 + 1]);
        assert_true(out[i * 4] == out[i * 4 + 2]);
        assert_true(out[i * 4 + 3] == rgba[i * 4 + 3]);
    }
    /* something happened to the colour channels */
    double d = 0;
    for (size_t i = 0; i < (size_t)w * h; i++)
        d += fabs(out[i * 4] - rgba[i * 4]);
    assert_true(d / (w * h) > 1e-3);
    /* grey + alpha: alpha copied bit for bit */
    float *ga = noisy_image(w, h, 2, 0.1f, 6);
    float *o2 = run(m, ga, w, h, 2, 2, 0, -1);
    for (size_t i = 0; i < (size_t)w * h; i++)
        assert_true(o2[i * 2 + 1] == ga[i * 2 + 1]);
    free(g), free(rgba), free(out), free(ga), free(o2);
    crsae_model_free(m);
}

static void test_tiny_images_and_in_place(void **state)
{
    (void)state;
    crsae_model *m = small_model(1, 3);
    const int sizes[][2] = {{1, 1}, {1, 9}, {9, 1}, {2, 2}, {3, 40}, {40, 3}, {5, 5}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        float *in = noisy_image(w, h, 3, 0.05f, 1 + i);
        float *out = run(m, in, w, h, 3, 2, 0, -1);
        for (size_t k = 0; k < (size_t)w * h * 3; k++)
            assert_true(isfinite(out[k]));
        /* in place gives the same result */
        crsae_denoise_params p;
        crsae_denoise_params_init(&p);
        p.sigma = 0.1f;
        p.threads = 2;
        assert_int_equal(crsae_denoise_image(m, &p, in, (size_t)w * 3, in, (size_t)w * 3, w, h, 3),
                         CRSAE_OK);
        assert_memory_equal(in, out, (size_t)w * h * 3 * sizeof(float));
        free(in), free(out);
    }
    crsae_model_free(m);
}

/* A noise level of 0 is the estimate with the library's one floor: the same
 * pixels as passing that estimate, and a clean image gets the floor. */
static void test_sigma_zero_estimates(void **state)
{
    (void)state;
    crsae_model *m = NULL;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    const int w = 64, h = 48;
    float *clean = malloc(sizeof(float) * w * h), *noisy = malloc(sizeof(float) * w * h);
    float *a = malloc(sizeof(float) * w * h), *b = malloc(sizeof(float) * w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            clean[y * w + x] = 0.3f + 0.4f * (float)x / w;
    memcpy(noisy, clean, sizeof(float) * w * h);
    assert_int_equal(crsae_add_noise(noisy, (size_t)w, w, h, 1, 20.0f / 255.0f, 3), CRSAE_OK);
    float est;
    assert_int_equal(crsae_estimate_noise_level(noisy, (size_t)w, w, h, 1, &est), CRSAE_OK);
    assert_true(est > 10.0f / 255.0f && est < 30.0f / 255.0f);
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    p.sigma = 0.0f;
    assert_int_equal(crsae_denoise_plane(m, &p, noisy, (size_t)w, a, (size_t)w, w, h), CRSAE_OK);
    p.sigma = est;
    assert_int_equal(crsae_denoise_plane(m, &p, noisy, (size_t)w, b, (size_t)w, w, h), CRSAE_OK);
    assert_memory_equal(a, b, sizeof(float) * w * h);
    assert_int_equal(crsae_estimate_noise_level(clean, (size_t)w, w, h, 1, &est), CRSAE_OK);
    assert_true(est == CRSAE_SIGMA_FLOOR);
    free(clean);
    free(noisy);
    free(a);
    free(b);
    crsae_model_free(m);
}

static void test_bad_input(void **state)
{
    (void)state;
    crsae_model *m = small_model(0, 2);
    float img[64] = {0};
    float out[64];
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    assert_int_equal(crsae_denoise_plane(NULL, &p, img, 8, out, 8, 8, 8), CRSAE_ERR_INVALID_ARGUMENT);
    assert_int_equal(crsae_denoise_plane(m, &p, img, 8, out, 8, 0, 8), CRSAE_ERR_INVALID_ARGUMENT);
    assert_int_equal(crsae_denoise_plane(m, &p, img, 7, out, 8, 8, 8), CRSAE_ERR_INVALID_ARGUMENT);
    assert_int_equal(crsae_denoise_image(m, &p, img, 8, out, 8, 8, 8, 5), CRSAE_ERR_INVALID_ARGUMENT);
    assert_int_equal(crsae_denoise_plane(m, &p, img, 2000000, out, 2000000, 2000000, 1),
                     CRSAE_ERR_TOO_LARGE);
    p.sigma = -0.1f;
    assert_int_equal(crsae_denoise_plane(m, &p, img, 8, out, 8, 8, 8), CRSAE_ERR_INVALID_ARGUMENT);
    /* 0 = estimate: an image too small to estimate on says so */
    p.sigma = 0.0f;
    assert_int_equal(crsae_denoise_plane(m, &p, img, 4, out, 4, 4, 4), CRSAE_ERR_INVALID_ARGUMENT);
    p.sigma = NAN;
    assert_int_equal(crsae_denoise_plane(m, &p, img, 8, out, 8, 8, 8), CRSAE_ERR_INVALID_ARGUMENT);
    p.sigma = 0.1f;
    p.iterations = CRSAE_MAX_ITERATIONS + 1;
    assert_int_equal(crsae_denoise_plane(m, &p, img, 8, out, 8, 8, 8), CRSAE_ERR_INVALID_ARGUMENT);
    p.iterations = 0;
    for (int i = 0; i < 64; i++)
        out[i] = 3.0f;
    img[17] = NAN;
    assert_int_equal(crsae_denoise_plane(m, &p, img, 8, out, 8, 8, 8), CRSAE_ERR_NONFINITE);
    img[17] = INFINITY;
    assert_int_equal(crsae_denoise_plane(m, &p, img, 8, out, 8, 8, 8), CRSAE_ERR_NONFINITE);
    for (int i = 0; i < 64; i++)
        assert_true(out[i] == 3.0f);
    /* NaN in alpha is the caller's business, not an error */
    float ga[2 * 64] = {0};
    ga[1] = NAN;
    assert_int_equal(crsae_denoise_image(m, &p, ga, 16, ga, 16, 8, 8, 2), CRSAE_OK);
    crsae_model_free(m);
}

/* The built-in model improves a synthetic image at every noise level it is
 * meant for (5 to 50), at each quality setting. */
static void test_default_model_gains_psnr(void **state)
{
    (void)state;
    crsae_model *m;
    crsae_status st = crsae_model_default(&m);
    if (st != CRSAE_OK) {
        print_message("default model not available: %s\n", crsae_strerror(st));
        fail();
    }
    int w = 160, h = 120;
    float *clean = tu_synthetic_image(w, h, 77);
    float *noisy = malloc((size_t)w * h * sizeof(float));
    float *out = malloc((size_t)w * h * sizeof(float));
    const float sigmas[3] = {5.0f, 25.0f, 50.0f};
    for (int k = 0; k < 3; k++)
        for (int q = CRSAE_QUALITY_FAST; q <= CRSAE_QUALITY_BEST; q++) {
            if (q == CRSAE_QUALITY_BEST && k != 1)
                continue; /* 8x the time: once is enough */
            memcpy(noisy, clean, (size_t)w * h * sizeof(float));
            crsae_add_noise(noisy, (size_t)w, w, h, 1, sigmas[k] / 255.0f, 3);
            crsae_denoise_params p;
            crsae_denoise_params_init(&p);
            p.sigma = sigmas[k] / 255.0f;
            assert_int_equal(crsae_denoise_params_set_quality(&p, (crsae_quality)q), CRSAE_OK);
            assert_int_equal(crsae_denoise_plane(m, &p, noisy, (size_t)w, out, (size_t)w, w, h),
                             CRSAE_OK);
            double before = tu_psnr(noisy, clean, (size_t)w * h);
            double after = tu_psnr(out, clean, (size_t)w * h);
            print_message("built-in model, synthetic 160x120, sigma %.0f, %s: %.2f -> %.2f dB\n",
                          sigmas[k], crsae_quality_name((crsae_quality)q), before, after);
            assert_true(after > before + (k == 0 ? 1.0 : 5.0));
        }
    free(clean), free(noisy), free(out);
    crsae_model_free(m);
}

/* The quality presets set the shifts and transforms they promise. */
static void test_quality_presets(void **state)
{
    (void)state;
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    assert_int_equal(crsae_denoise_params_set_quality(&p, CRSAE_QUALITY_FAST), CRSAE_OK);
    assert_int_equal(p.shifts, CRSAE_FAST_SHIFTS);
    assert_int_equal(p.transforms, 1);
    assert_int_equal(crsae_denoise_params_set_quality(&p, CRSAE_QUALITY_BEST), CRSAE_OK);
    assert_int_equal(p.shifts, 0);
    assert_int_equal(p.transforms, 8);
    assert_int_equal(crsae_denoise_params_set_quality(&p, CRSAE_QUALITY_NORMAL), CRSAE_OK);
    assert_int_equal(p.shifts, 0);
    assert_int_equal(p.transforms, 1);
    assert_int_equal(crsae_denoise_params_set_quality(&p, (crsae_quality)3),
                     CRSAE_ERR_INVALID_ARGUMENT);
    assert_int_equal(crsae_denoise_params_set_quality(NULL, CRSAE_QUALITY_FAST),
                     CRSAE_ERR_INVALID_ARGUMENT);
    assert_string_equal(crsae_quality_name(CRSAE_QUALITY_BEST), "best");
    assert_null(crsae_quality_name((crsae_quality)-1));
    assert_int_equal(crsae_quality_from_name("best", 4), CRSAE_QUALITY_BEST);
    assert_int_equal(crsae_quality_from_name("fast,normal", 4), CRSAE_QUALITY_FAST);
    assert_int_equal(crsae_quality_from_name("fas", 3), -1);
    assert_int_equal(crsae_quality_from_name("bogus", 5), -1);
    const crsae_param_info *pi = crsae_param_get(CRSAE_PARAM_QUALITY);
    assert_non_null(pi);
    assert_string_equal(pi->name, "quality");
    assert_true(pi->def == CRSAE_QUALITY_NORMAL);
}

/* chroma_shifts: as many as shifts (or 0) gives the same bits; fewer
 * changes only the chroma - the luminance (R+G+B)/sqrt 3 stays - and
 * nothing at all for a grey image. */
static void test_chroma_shifts(void **state)
{
    (void)state;
    crsae_model *m = small_model(0, 2);
    const int w = 70, h = 50;
    const size_t n = (size_t)w * h * 3;
    float *in = noisy_image(w, h, 3, 0.1f, 6);
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float)),
          *c = malloc(n * sizeof(float));
    assert_true(a && b && c);
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    p.sigma = 0.1f;
    p.shifts = 3;
    assert_int_equal(crsae_denoise_image(m, &p, in, (size_t)w * 3, a, (size_t)w * 3, w, h, 3),
                     CRSAE_OK);
    p.chroma_shifts = 3;
    assert_int_equal(crsae_denoise_image(m, &p, in, (size_t)w * 3, b, (size_t)w * 3, w, h, 3),
                     CRSAE_OK);
    assert_memory_equal(a, b, n * sizeof(float));
    p.chroma_shifts = 1;
    assert_int_equal(crsae_denoise_image(m, &p, in, (size_t)w * 3, c, (size_t)w * 3, w, h, 3),
                     CRSAE_OK);
    double lum = 0.0, chroma = 0.0;
    for (size_t i = 0; i < n; i += 3) {
        double la = (double)a[i] + a[i + 1] + a[i + 2], lc = (double)c[i] + c[i + 1] + c[i + 2];
        lum = fmax(lum, fabs(la - lc));
        chroma = fmax(chroma, fabs((double)a[i] - c[i]));
    }
    print_message("1 chroma shift of 3: luminance moves %.2g, red %.3f\n", lum, chroma);
    assert_true(lum < 1e-5);
    assert_true(chroma > 1e-3);
    p.chroma_shifts = -1;
    assert_int_equal(crsae_denoise_image(m, &p, in, (size_t)w * 3, c, (size_t)w * 3, w, h, 3),
                     CRSAE_ERR_INVALID_ARGUMENT);
    /* grey: the chroma setting does nothing */
    p.chroma_shifts = 0;
    assert_int_equal(crsae_denoise_plane(m, &p, in, (size_t)w, a, (size_t)w, w, h), CRSAE_OK);
    p.chroma_shifts = 1;
    assert_int_equal(crsae_denoise_plane(m, &p, in, (size_t)w, b, (size_t)w, w, h), CRSAE_OK);
    assert_memory_equal(a, b, (size_t)w * h * sizeof(float));
    free(in), free(a), free(b), free(c);
    crsae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiles_equal_whole),
        cmocka_unit_test(test_bf16_close_to_float),
        cmocka_unit_test(test_threads_bitwise_equal),
        cmocka_unit_test(test_cancel_leaves_output),
        cmocka_unit_test(test_cancel_at_random_points),
        cmocka_unit_test(test_transform_ensemble_is_equivariant),
        cmocka_unit_test(test_grey_stays_grey_alpha_untouched),
        cmocka_unit_test(test_tiny_images_and_in_place),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_sigma_zero_estimates),
        cmocka_unit_test(test_default_model_gains_psnr),
        cmocka_unit_test(test_quality_presets),
        cmocka_unit_test(test_chroma_shifts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
