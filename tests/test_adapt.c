/* test_adapt.c - learning from one noisy photo and the risk estimate that
 * judges it: SURE tracks the true error, is deterministic and does not
 * depend on the thread count; adapting keeps a model only when it
 * estimates better on the held-out cells, otherwise the start model comes
 * back exactly; bad pixels leave the model untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crsae.h"
#include "testutil.h"

static double true_mse(const crsae_model *m, const crsae_denoise_params *dp, const float *noisy,
                       const float *clean, int w, int h)
{
    float *out = malloc(sizeof(float) * (size_t)w * h);
    assert_non_null(out);
    assert_int_equal(crsae_denoise_plane(m, dp, noisy, (size_t)w, out, (size_t)w, w, h), CRSAE_OK);
    double e = 0.0;
    for (int i = 0; i < w * h; i++)
        e += (double)(out[i] - clean[i]) * (out[i] - clean[i]);
    free(out);
    return e / ((double)w * h);
}

static float *noisy_copy(const float *clean, int w, int h, float sigma, uint64_t seed)
{
    float *y = malloc(sizeof(float) * (size_t)w * h);
    assert_non_null(y);
    memcpy(y, clean, sizeof(float) * (size_t)w * h);
    assert_int_equal(crsae_add_noise(y, (size_t)w, w, h, 1, sigma, seed), CRSAE_OK);
    return y;
}

/* Unclipped Gaussian noise: SURE is within 10 % of the true error of the
 * built-in model, the same for 1 and 2 threads, the same again for the
 * same seed; sampled in cells it stays near the whole photo's figure. */
static void test_risk_tracks_the_true_error(void **state)
{
    (void)state;
    const int w = 400, h = 400;
    float *clean = tu_synthetic_image(w, h, 5), *noisy = noisy_copy(clean, w, h, 0.1f, 11);
    crsae_model *m;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    crsae_denoise_params dp;
    crsae_denoise_params_init(&dp);
    assert_int_equal(crsae_denoise_params_set_quality(&dp, CRSAE_QUALITY_FAST), CRSAE_OK);
    dp.sigma = 0.1f;
    dp.threads = 1;
    const double truth = true_mse(m, &dp, noisy, clean, w, h);
    double r1, r2, r1b, part;
    assert_int_equal(crsae_estimate_risk(m, &dp, noisy, (size_t)w, w, h, 1, 7, 0, &r1), CRSAE_OK);
    dp.threads = 2;
    assert_int_equal(crsae_estimate_risk(m, &dp, noisy, (size_t)w, w, h, 1, 7, 0, &r2), CRSAE_OK);
    assert_int_equal(crsae_estimate_risk(m, &dp, noisy, (size_t)w, w, h, 1, 7, 0, &r1b), CRSAE_OK);
    assert_int_equal(crsae_estimate_risk(m, &dp, noisy, (size_t)w, w, h, 1, 7, 2 * 192 * 192, &part),
                     CRSAE_OK);
    print_message("true MSE %.6f, SURE %.6f (2 threads %.6f), on 2 of 4 cells %.6f\n", truth, r1,
                  r2, part);
    assert_true(fabs(r1 - truth) < 0.1 * truth);
    assert_true(r1 == r2 && r1 == r1b);
    assert_true(fabs(part - truth) < 0.25 * truth);
    assert_true(part != r1); /* it did sample */
    crsae_model_free(m);
    free(clean), free(noisy);
}

static void test_risk_bad_input(void **state)
{
    (void)state;
    crsae_model *m;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    crsae_denoise_params dp;
    crsae_denoise_params_init(&dp);
    float px[64 * 64];
    for (int i = 0; i < 64 * 64; i++)
        px[i] = 0.5f;
    double r = -1.0;
    assert_int_equal(crsae_estimate_risk(NULL, &dp, px, 64, 64, 64, 1, 1, 0, &r),
                     CRSAE_ERR_INVALID_ARGUMENT);
    assert_int_equal(crsae_estimate_risk(m, &dp, px, 63, 64, 64, 1, 1, 0, &r),
                     CRSAE_ERR_INVALID_ARGUMENT);
    dp.sigma = 0.0f;
    assert_int_equal(crsae_estimate_risk(m, &dp, px, 64, 64, 64, 1, 1, 0, &r),
                     CRSAE_ERR_INVALID_ARGUMENT);
    dp.sigma = 0.1f;
    px[100] = NAN;
    assert_int_equal(crsae_estimate_risk(m, &dp, px, 64, 64, 64, 1, 1, 0, &r), CRSAE_ERR_NONFINITE);
    assert_true(r == -1.0);
    crsae_model_free(m);
}

/* Every parameter and the provenance, bit for bit. */
static void assert_same_model(const crsae_model *a, const crsae_model *b)
{
    crsae_model_info ia, ib;
    crsae_model_get_info(a, &ia);
    crsae_model_get_info(b, &ib);
    assert_int_equal(ia.filters, ib.filters);
    assert_true(ia.lipschitz == ib.lipschitz && ia.sigma_train == ib.sigma_train);
    const size_t n = (size_t)ia.filters * ia.size * ia.size;
    float *ba = malloc(n * sizeof(float)), *bb = malloc(n * sizeof(float));
    float la[256], lb[256];
    assert_true(ba && bb && ia.filters <= 256);
    assert_int_equal(crsae_model_get_bank(a, CRSAE_BANK_DECODER, ba), CRSAE_OK);
    assert_int_equal(crsae_model_get_bank(b, CRSAE_BANK_DECODER, bb), CRSAE_OK);
    assert_memory_equal(ba, bb, n * sizeof(float));
    assert_int_equal(crsae_model_get_lambda(a, la), CRSAE_OK);
    assert_int_equal(crsae_model_get_lambda(b, lb), CRSAE_OK);
    assert_memory_equal(la, lb, (size_t)ia.filters * sizeof(float));
    assert_string_equal(ia.provenance, ib.provenance);
    free(ba), free(bb);
}

static crsae_model *random_model(void)
{
    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, 8, 5, 2, 0), CRSAE_OK);
    assert_int_equal(crsae_model_set_params(m, 5, 1.0f, 0.1f, 1.0f), CRSAE_OK);
    assert_int_equal(crsae_model_randomize(m, 0.1f, 3), CRSAE_OK);
    assert_int_equal(crsae_model_set_provenance(m, "random start"), CRSAE_OK);
    return m;
}

/* A poor start model gains from the photo: the adapted one is kept, it
 * estimates better on the held-out cells and is truly better. */
static void test_adapting_a_poor_model_is_kept(void **state)
{
    (void)state;
    const int w = 288, h = 192; /* 3 x 2 cells of 96 */
    float *clean = tu_synthetic_image(w, h, 8), *noisy = noisy_copy(clean, w, h, 0.1f, 4);
    crsae_model *m = random_model();
    crsae_denoise_params dp;
    crsae_denoise_params_init(&dp);
    dp.sigma = 0.1f;
    const double before = true_mse(m, &dp, noisy, clean, w, h);
    crsae_train_params p;
    crsae_train_params_init_noisy_image(&p);
    p.seconds = 1e6; /* steps, not time, end this run */
    p.sigma = 0.1f;
    p.steps = 120;
    p.learning_rate = 3e-3f;
    p.patch = 32;
    crsae_adapt_outcome o = {0.0, 0.0, -1};
    assert_int_equal(crsae_train_noisy_image(m, &p, noisy, (size_t)w, w, h, 1, &o), CRSAE_OK);
    const double after = true_mse(m, &dp, noisy, clean, w, h);
    print_message("true MSE %.5f -> %.5f; held-out SURE %.5f -> %.5f, kept %d\n", before, after,
                  o.mse_before, o.mse_after, o.kept);
    assert_int_equal(o.kept, 1);
    assert_true(o.mse_after < o.mse_before);
    assert_true(after < 0.8 * before);
    crsae_model_free(m);
    free(clean), free(noisy);
}

/* Steps far too large wreck the filters: the held-out estimate sees it
 * and the start model comes back exactly; NaN pixels change nothing. */
static void test_a_worse_model_is_not_kept(void **state)
{
    (void)state;
    const int w = 192, h = 192; /* 2 x 2 cells */
    float *clean = tu_synthetic_image(w, h, 9), *noisy = noisy_copy(clean, w, h, 0.1f, 5);
    crsae_model *m, *start;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    assert_int_equal(crsae_model_copy(&start, m), CRSAE_OK);
    crsae_train_params p;
    crsae_train_params_init_noisy_image(&p);
    p.seconds = 1e6; /* steps, not time, end this run */
    p.sigma = 0.1f;
    p.steps = 6;
    p.learning_rate = 0.3f;
    crsae_adapt_outcome o = {0.0, 0.0, -1};
    assert_int_equal(crsae_train_noisy_image(m, &p, noisy, (size_t)w, w, h, 1, &o), CRSAE_OK);
    print_message("held-out SURE %.5f -> %.5f, kept %d\n", o.mse_before, o.mse_after, o.kept);
    assert_int_equal(o.kept, 0);
    assert_true(o.mse_after >= o.mse_before);
    assert_same_model(m, start);

    noisy[w * 50 + 7] = INFINITY;
    crsae_adapt_outcome o2 = {1.0, 2.0, 5};
    assert_int_equal(crsae_train_noisy_image(m, &p, noisy, (size_t)w, w, h, 1, &o2),
                     CRSAE_ERR_NONFINITE);
    assert_true(o2.mse_before == 1.0 && o2.kept == 5); /* not written */
    assert_same_model(m, start);
    crsae_model_free(m);
    crsae_model_free(start);
    free(clean), free(noisy);
}

/* Photos whose cells are smaller than a patch: the patch shrinks to whole
 * atoms that fit (untied model, shift ensemble, as GIMP runs it); one
 * smaller than the filters is refused. */
static void test_small_photos(void **state)
{
    (void)state;
    crsae_model *m;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    crsae_model_info info;
    crsae_model_get_info(m, &info);
    const int sizes[][2] = {{120, 90}, {45, 33}, {33, 200}, {12, 12}};
    for (int i = 0; i < 4; i++) {
        const int w = sizes[i][0], h = sizes[i][1];
        float *clean = tu_synthetic_image(w, h, 30 + (uint64_t)i);
        float *noisy = noisy_copy(clean, w, h, 0.1f, 6);
        crsae_train_params p;
        crsae_train_params_init_noisy_image(&p);
        p.seconds = 1e6;
    p.seconds = 1e6; /* steps, not time, end this run */
        p.sigma = 0.1f;
        p.steps = 2;
        p.ensemble = info.untied;
        crsae_adapt_outcome o = {0.0, 0.0, -1};
        assert_int_equal(crsae_train_noisy_image(m, &p, noisy, (size_t)w, w, h, 1, &o), CRSAE_OK);
        assert_true(o.kept == 0 || o.kept == 1);
        free(clean), free(noisy);
    }
    float tiny[10 * 10];
    for (int i = 0; i < 100; i++)
        tiny[i] = 0.5f;
    crsae_train_params p;
    crsae_train_params_init_noisy_image(&p);
    p.seconds = 1e6; /* steps, not time, end this run */
    p.sigma = 0.1f;
    p.steps = 2;
    p.ensemble = 1;
    assert_int_equal(crsae_train_noisy_image(m, &p, tiny, 10, 10, 10, 1, NULL),
                     CRSAE_ERR_INVALID_ARGUMENT);
    crsae_model_free(m);
}

typedef struct budget_seen {
    int reports;
    double last, worst_step_back;
} budget_seen;

static int watch_budget(const crsae_train_report *r, void *user)
{
    budget_seen *b = user;
    if (r->budget_used < b->last)
        b->worst_step_back = b->last - r->budget_used;
    assert_true(r->budget_used >= 0.0 && r->budget_used <= 1.0);
    b->last = r->budget_used;
    b->reports++;
    return 0;
}

/* The core keeps the time budget itself: unbounded steps, a budget of
 * 1.5 seconds, and the call returns CRSAE_OK (not cancelled) after some
 * steps, its reports' budget_used rising to the end; the noise level is
 * estimated when it is 0. */
static void test_time_budget_ends_learning(void **state)
{
    (void)state;
    const int w = 192, h = 192;
    float *clean = tu_synthetic_image(w, h, 8), *noisy = noisy_copy(clean, w, h, 0.08f, 5);
    crsae_model *m = NULL;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    crsae_train_params p;
    crsae_train_params_init_noisy_image(&p);
    assert_true(p.sigma == 0.0f && p.seconds == 0.0 && p.steps >= 1 << 30);
    p.seconds = 1.5;
    budget_seen seen = {0, 0.0, 0.0};
    p.progress = watch_budget;
    p.progress_user = &seen;
    crsae_adapt_outcome o = {0.0, 0.0, -1};
    assert_int_equal(crsae_train_noisy_image(m, &p, noisy, (size_t)w, w, h, 1, &o), CRSAE_OK);
    print_message("%d steps in a 1.5 s budget, last report at %.2f of it\n", seen.reports,
                  seen.last);
    assert_true(seen.reports >= 1);
    assert_true(seen.worst_step_back == 0.0);
    assert_true(o.kept == 0 || o.kept == 1);
    assert_true(crsae_learn_seconds(100, 100) == CRSAE_LEARN_SECONDS_PER_MP);
    assert_true(crsae_learn_seconds(2000, 1500) == 3.0 * CRSAE_LEARN_SECONDS_PER_MP);
    p.seconds = -1.0;
    assert_int_equal(crsae_train_noisy_image(m, &p, noisy, (size_t)w, w, h, 1, NULL),
                     CRSAE_ERR_INVALID_ARGUMENT);
    crsae_model_free(m);
    free(clean), free(noisy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_risk_tracks_the_true_error),
        cmocka_unit_test(test_risk_bad_input),
        cmocka_unit_test(test_adapting_a_poor_model_is_kept),
        cmocka_unit_test(test_a_worse_model_is_not_kept),
        cmocka_unit_test(test_small_photos),
        cmocka_unit_test(test_time_budget_ends_learning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
