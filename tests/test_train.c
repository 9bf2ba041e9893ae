/* test_train.c - the training loop: the loss falls over a short run (tied,
 * and untied through the shift ensemble), the result does not depend on
 * the thread count, cancel stops it, the EM threshold update follows the
 * size of the codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crsae.h"
#include "testutil.h"

typedef struct losses {
    double first, last;
    int n, steps, cancel_at;
} losses;

static int record(const crsae_train_report *r, void *user)
{
    losses *l = user;
    if (r->step <= 10)
        l->first += r->loss / 10;
    if (r->step > r->steps - 10)
        l->last += r->loss / 10;
    l->n++;
    return l->cancel_at && r->step >= l->cancel_at;
}

typedef struct setup {
    int untied, ensemble, bias;
    float gain; /* images are scaled by this */
    crsae_train_state *state;
    crsae_model *start; /* NULL: random filters */
    float sigma, sigma_max; /* 0: 0.1, none */
    int cosine;
} setup;

static const setup TIED = {0, 0, CRSAE_BIAS_BACKPROP, 1.0f, NULL, NULL, 0, 0, 0};

static crsae_model *train_with(const setup *su, int threads, int steps, losses *l,
                               crsae_status *st)
{
    float *imgs[3];
    int w[3] = {96, 80, 120}, h[3] = {96, 100, 72};
    for (int i = 0; i < 3; i++) {
        imgs[i] = tu_synthetic_image(w[i], h[i], 10 + (uint64_t)i);
        for (int k = 0; k < w[i] * h[i]; k++)
            imgs[i][k] *= su->gain;
    }
    crsae_model *m = su->start;
    if (!m) {
        assert_int_equal(crsae_model_new(&m, 8, 5, 2, su->untied), CRSAE_OK);
        assert_int_equal(crsae_model_set_params(m, 5, 1.0f, 0.1f, 1.0f), CRSAE_OK);
        assert_int_equal(crsae_model_randomize(m, su->sigma > 0 ? su->sigma : 0.1f, 3), CRSAE_OK);
    }
    crsae_train_params p;
    crsae_train_params_init(&p);
    p.sigma = su->sigma > 0 ? su->sigma : 0.1f;
    p.sigma_max = su->sigma_max;
    p.lr_cosine = su->cosine;
    p.patch = 24;
    p.batch = 4;
    p.steps = steps;
    p.learning_rate = 3e-3f;
    p.threads = threads;
    p.seed = 5;
    p.ensemble = su->ensemble;
    p.learn_bias = su->bias;
    p.progress = record;
    p.progress_user = l;
    p.state = su->state;
    *st = crsae_train(m, &p, (const float *const *)imgs, w, h, 3);
    for (int i = 0; i < 3; i++)
        free(imgs[i]);
    return m;
}

static crsae_model *train(int threads, int steps, losses *l, crsae_status *st)
{
    return train_with(&TIED, threads, steps, l, st);
}

static void assert_same_model(const crsae_model *a, const crsae_model *b)
{
    void *da, *db;
    size_t na, nb;
    assert_int_equal(crsae_model_save_memory(a, &da, &na), CRSAE_OK);
    assert_int_equal(crsae_model_save_memory(b, &db, &nb), CRSAE_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na);
    crsae_free(da);
    crsae_free(db);
}

/* Untied banks trained through the mean of the s*s shifted reconstructions. */
static void test_ensemble_untied(void **state)
{
    (void)state;
    const setup su = {1, 1, CRSAE_BIAS_BACKPROP, 1.0f, NULL, NULL, 0, 0, 0};
    losses l1 = {0}, l2 = {0};
    crsae_status st;
    crsae_model *a = train_with(&su, 1, 40, &l1, &st);
    assert_int_equal(st, CRSAE_OK);
    print_message("ensemble, untied: first 10 steps %.5f, last 10 steps %.5f\n", l1.first, l1.last);
    assert_true(l1.last < 0.8 * l1.first);
    crsae_model *b = train_with(&su, 2, 40, &l2, &st);
    assert_int_equal(st, CRSAE_OK);
    assert_same_model(a, b);
    crsae_model_free(a);
    crsae_model_free(b);
}

static double mean_lambda(const crsae_model *m)
{
    float lambda[8];
    assert_int_equal(crsae_model_get_lambda(m, lambda), CRSAE_OK);
    double s = 0.0;
    for (int c = 0; c < 8; c++)
        s += lambda[c] / 8.0;
    return s;
}

/* The EM update makes lambda the rate of the codes' magnitudes: halving the
 * images halves the codes, so lambda must come out larger; the Gamma prior
 * keeps it within (0, 2 lambda_0]. */
static void test_em_lambda_follows_codes(void **state)
{
    (void)state;
    const setup full = {0, 0, CRSAE_BIAS_EM, 1.0f, NULL, NULL, 0, 0, 0};
    const setup half = {0, 0, CRSAE_BIAS_EM, 0.5f, NULL, NULL, 0, 0, 0};
    losses la = {0}, lb = {0};
    crsae_status st;
    crsae_model *start;
    assert_int_equal(crsae_model_new(&start, 8, 5, 2, 0), CRSAE_OK);
    assert_int_equal(crsae_model_randomize(start, 0.1f, 3), CRSAE_OK);
    double l0 = mean_lambda(start);
    crsae_model *a = train_with(&full, 2, 60, &la, &st);
    assert_int_equal(st, CRSAE_OK);
    crsae_model *b = train_with(&half, 2, 60, &lb, &st);
    assert_int_equal(st, CRSAE_OK);
    double lam_a = mean_lambda(a), lam_b = mean_lambda(b);
    print_message("mean lambda: start %.3f, images x1 %.3f, images x0.5 %.3f\n", l0, lam_a, lam_b);
    assert_true(lam_b > 1.2 * lam_a);
    assert_true(lam_a > 0.0 && lam_b <= 2.2 * l0);
    assert_true(la.last < la.first);
    crsae_model_free(start);
    crsae_model_free(a);
    crsae_model_free(b);
}

static void test_loss_falls_and_threads_agree(void **state)
{
    (void)state;
    losses l1 = {0}, l3 = {0};
    crsae_status st;
    crsae_model *a = train(1, 80, &l1, &st);
    assert_int_equal(st, CRSAE_OK);
    assert_int_equal(l1.n, 80);
    print_message("mean batch MSE: first 10 steps %.5f, last 10 steps %.5f\n", l1.first, l1.last);
    assert_true(l1.last < 0.8 * l1.first);
    crsae_model *b = train(3, 80, &l3, &st);
    assert_int_equal(st, CRSAE_OK);
    assert_same_model(a, b);
    crsae_model_free(a);
    crsae_model_free(b);
}

/* Cancelled at a random step k, the model is the one a k-step run gives:
 * never half-updated. */
static void test_cancel_at_random_steps(void **state)
{
    (void)state;
    uint64_t r = 777;
    for (int trial = 0; trial < 3; trial++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        int k = 1 + (int)((r >> 33) % 15);
        losses lc = {0}, lk = {0};
        lc.cancel_at = k;
        crsae_status st;
        crsae_model *a = train(1 + trial, 30, &lc, &st);
        assert_int_equal(st, CRSAE_ERR_CANCELLED);
        crsae_model *b = train(2, k, &lk, &st);
        assert_int_equal(st, CRSAE_OK);
        assert_same_model(a, b);
        crsae_model_free(a);
        crsae_model_free(b);
    }
}

static void test_cancel(void **state)
{
    (void)state;
    losses l = {0};
    l.cancel_at = 3;
    crsae_status st;
    crsae_model *m = train(2, 50, &l, &st);
    assert_int_equal(st, CRSAE_ERR_CANCELLED);
    assert_int_equal(l.n, 3);
    crsae_model_free(m);
}

/* Runs su for `steps` steps but stops it at step stop_at, writes model and
 * state to a new checkpoint file (its name into path, a mkstemp template)
 * and reads them back into su->start and su->state. */
static void stop_and_reload(setup *su, int threads, int steps, int stop_at, char *path)
{
    assert_int_equal(crsae_train_state_new(&su->state), CRSAE_OK);
    losses lc = {0};
    lc.cancel_at = stop_at;
    crsae_status st;
    crsae_model *part = train_with(su, threads, steps, &lc, &st);
    assert_int_equal(st, CRSAE_ERR_CANCELLED);
    assert_int_equal(crsae_train_state_step(su->state), stop_at);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(crsae_checkpoint_save_file(part, su->state, path), CRSAE_OK);
    crsae_model_free(part);
    crsae_train_state_free(su->state);
    assert_int_equal(crsae_checkpoint_load_file(path, &su->start, &su->state), CRSAE_OK);
}

/* A run cancelled at step 7, written to a checkpoint file, read back and
 * resumed ends with the same bytes as a run that never stopped (EM
 * thresholds, so every part of the state matters). */
static void test_resume_equals_uninterrupted(void **state)
{
    (void)state;
    setup su = {0, 0, CRSAE_BIAS_EM, 1.0f, NULL, NULL, 0, 0, 0};
    losses l = {0};
    crsae_status st;
    crsae_model *whole = train_with(&su, 2, 20, &l, &st);
    assert_int_equal(st, CRSAE_OK);

    char path[] = "/tmp/crsae-test-ckpt-XXXXXX";
    stop_and_reload(&su, 1, 20, 7, path);
    crsae_train_params p;
    memset(&p, 0, sizeof p);
    assert_int_equal(crsae_train_state_params(su.state, &p), CRSAE_OK);
    assert_int_equal(p.steps, 20);
    assert_int_equal(p.learn_bias, CRSAE_BIAS_EM);
    losses lr = {0};
    crsae_model *resumed = train_with(&su, 2, 20, &lr, &st);
    assert_int_equal(st, CRSAE_OK);
    assert_int_equal(lr.n, 13);
    assert_same_model(whole, resumed);

    /* a state does not fit another model */
    crsae_model *other;
    assert_int_equal(crsae_model_new(&other, 4, 5, 2, 0), CRSAE_OK);
    assert_int_equal(crsae_checkpoint_save_file(other, su.state, path),
                     CRSAE_ERR_INVALID_ARGUMENT);
    crsae_model_free(other);
    /* a damaged checkpoint is refused */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -40, SEEK_END);
    fputc(0x55, f);
    fclose(f);
    crsae_model *bad_m;
    crsae_train_state *bad_s;
    assert_int_equal(crsae_checkpoint_load_file(path, &bad_m, &bad_s), CRSAE_ERR_MODEL_CHECKSUM);
    assert_null(bad_m);
    assert_null(bad_s);
    unlink(path);
    crsae_train_state_free(su.state);
    crsae_model_free(whole);
    crsae_model_free(resumed);
}

static double denoise_mse_at(const crsae_model *m, float sigma, const float *noisy,
                             const float *clean, int w, int h)
{
    crsae_denoise_params dp;
    crsae_denoise_params_init(&dp);
    dp.sigma = sigma;
    float *out = malloc(sizeof(float) * (size_t)w * h);
    assert_non_null(out);
    assert_int_equal(crsae_denoise_plane(m, &dp, noisy, (size_t)w, out, (size_t)w, w, h), CRSAE_OK);
    double e = 0.0;
    for (int i = 0; i < w * h; i++)
        e += (double)(out[i] - clean[i]) * (out[i] - clean[i]) / (w * h);
    free(out);
    return e;
}

static double denoise_mse(const crsae_model *m, const float *noisy, const float *clean, int w, int h)
{
    return denoise_mse_at(m, 0.1f, noisy, clean, w, h);
}

/* A noise-level-aware run (patches with sigma drawn from a range, a cosine
 * schedule) stopped at step 6, checkpointed, read back and resumed ends
 * with the same bytes as a run that never stopped; the checkpoint keeps
 * the range and the schedule. */
static void test_resume_range_and_cosine(void **state)
{
    (void)state;
    setup su = TIED;
    su.sigma = 0.05f;
    su.sigma_max = 0.2f;
    su.cosine = 1;
    losses l = {0};
    crsae_status st;
    crsae_model *whole = train_with(&su, 1, 16, &l, &st);
    assert_int_equal(st, CRSAE_OK);
    char path[] = "/tmp/crsae-test-ckpt-XXXXXX";
    stop_and_reload(&su, 2, 16, 6, path);
    unlink(path);
    crsae_train_params p;
    memset(&p, 0, sizeof p);
    assert_int_equal(crsae_train_state_params(su.state, &p), CRSAE_OK);
    assert_true(p.sigma_max == 0.2f);
    assert_int_equal(p.lr_cosine, 1);
    losses lr = {0};
    crsae_model *resumed = train_with(&su, 2, 16, &lr, &st);
    assert_int_equal(st, CRSAE_OK);
    assert_int_equal(lr.n, 10);
    assert_same_model(whole, resumed);
    crsae_train_state_free(su.state);
    crsae_model_free(whole);
    crsae_model_free(resumed);

    /* a range goes with supervised, non-EM training only */
    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, 4, 5, 2, 0), CRSAE_OK);
    assert_int_equal(crsae_model_randomize(m, 0.1f, 1), CRSAE_OK);
    float *img = tu_synthetic_image(32, 32, 1);
    const float *imgs[1] = {img};
    int w = 32, h = 32;
    crsae_train_params q;
    crsae_train_params_init(&q);
    q.patch = 16;
    q.steps = 1;
    q.sigma = 0.1f;
    q.sigma_max = 0.05f; /* below sigma */
    assert_int_equal(crsae_train(m, &q, imgs, &w, &h, 1), CRSAE_ERR_INVALID_ARGUMENT);
    q.sigma_max = 0.2f;
    q.learn_bias = CRSAE_BIAS_EM;
    assert_int_equal(crsae_train(m, &q, imgs, &w, &h, 1), CRSAE_ERR_INVALID_ARGUMENT);
    q.learn_bias = CRSAE_BIAS_BACKPROP;
    q.self_supervised = 1;
    assert_int_equal(crsae_train(m, &q, imgs, &w, &h, 1), CRSAE_ERR_INVALID_ARGUMENT);
    free(img);
    crsae_model_free(m);
}

/* One noise-level-aware model trained on sigma in [0.03, 0.2] denoises a
 * held-out image at both ends of the range better than a model trained at
 * the other end only (same steps, same start). */
static void test_range_model_serves_the_range(void **state)
{
    (void)state;
    setup lo = TIED, hi = TIED, range = TIED;
    lo.sigma = 0.03f;
    hi.sigma = 0.2f;
    range.sigma = 0.03f;
    range.sigma_max = 0.2f;
    losses l = {0};
    crsae_status st;
    crsae_model *mlo = train_with(&lo, 2, 150, &l, &st);
    assert_int_equal(st, CRSAE_OK);
    crsae_model *mhi = train_with(&hi, 2, 150, &l, &st);
    assert_int_equal(st, CRSAE_OK);
    crsae_model *mr = train_with(&range, 2, 150, &l, &st);
    assert_int_equal(st, CRSAE_OK);
    const int w = 72, h = 72;
    float *clean = tu_synthetic_image(w, h, 99);
    float *noisy = malloc(sizeof(float) * w * h);
    assert_non_null(noisy);
    const float sig[2] = {0.03f, 0.2f};
    for (int k = 0; k < 2; k++) {
        memcpy(noisy, clean, sizeof(float) * w * h);
        assert_int_equal(crsae_add_noise(noisy, (size_t)w, w, h, 1, sig[k], 7), CRSAE_OK);
        double e_lo = denoise_mse_at(mlo, sig[k], noisy, clean, w, h);
        double e_hi = denoise_mse_at(mhi, sig[k], noisy, clean, w, h);
        double e_r = denoise_mse_at(mr, sig[k], noisy, clean, w, h);
        print_message("sigma %.2f: MSE trained at 0.03 %.6f, at 0.2 %.6f, on the range %.6f\n",
                      sig[k], e_lo, e_hi, e_r);
        /* better than the model made for the other end */
        assert_true(e_r < (k == 0 ? e_hi : e_lo));
    }
    free(clean);
    free(noisy);
    crsae_model_free(mlo);
    crsae_model_free(mhi);
    crsae_model_free(mr);
}

/* Without clean images (SURE on the noisy ones), training still lowers the
 * true denoising error, and the loss it reports estimates that error. */
static void test_sure_learns_from_noisy_images(void **state)
{
    (void)state;
    const int w = 96, h = 96;
    float *clean = tu_synthetic_image(w, h, 21), *noisy = malloc(sizeof(float) * w * h);
    assert_non_null(noisy);
    memcpy(noisy, clean, sizeof(float) * w * h);
    assert_int_equal(crsae_add_noise(noisy, (size_t)w, w, h, 1, 0.1f, 9), CRSAE_OK);
    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, 8, 5, 2, 0), CRSAE_OK);
    assert_int_equal(crsae_model_set_params(m, 5, 1.0f, 0.1f, 1.0f), CRSAE_OK);
    assert_int_equal(crsae_model_randomize(m, 0.1f, 3), CRSAE_OK);
    double before = denoise_mse(m, noisy, clean, w, h);
    crsae_train_params p;
    crsae_train_params_init(&p);
    p.sigma = 0.1f;
    p.patch = 24;
    p.batch = 4;
    p.steps = 150;
    p.learning_rate = 3e-3f;
    p.self_supervised = 1;
    losses l = {0};
    p.progress = record;
    p.progress_user = &l;
    const float *imgs[1] = {noisy};
    assert_int_equal(crsae_train(m, &p, imgs, &w, &h, 1), CRSAE_OK);
    double after = denoise_mse(m, noisy, clean, w, h);
    print_message("true MSE %.5f -> %.5f; SURE estimate of the last 10 batches %.5f\n", before,
                  after, l.last);
    assert_true(after < 0.7 * before);
    assert_true(after < 0.75 * 0.01); /* better than the noise: not the identity */
    /* one patch of 14 x 14 pixels per image: a loose match */
    assert_true(l.last > 0.3 * after && l.last < 3.0 * after);
    crsae_model_free(m);
    free(clean);
    free(noisy);
}

/* Best |cos| between true filter a and learned filter b over shifts of up
 * to 2 pixels (a convolutional dictionary is only defined up to a shift). */
static double best_cos(const float *a, const float *b, int K)
{
    double best = 0.0;
    for (int dy = -2; dy <= 2; dy++)
        for (int dx = -2; dx <= 2; dx++) {
            double dot = 0.0;
            for (int y = 0; y < K; y++)
                for (int x = 0; x < K; x++) {
                    int y2 = y + dy, x2 = x + dx;
                    if (y2 >= 0 && y2 < K && x2 >= 0 && x2 < K)
                        dot += (double)a[y * K + x] * b[y2 * K + x2];
                }
            best = fabs(dot) > best ? fabs(dot) : best;
        }
    return best;
}

/* Images made of a known random dictionary (sparse random codes): training
 * from random filters finds most of the true ones again. */
static void test_recovers_a_known_dictionary(void **state)
{
    (void)state;
    enum { C0 = 6, C = 10, K = 5, N = 4, SIDE = 64 };
    float truth[C0 * K * K];
    uint64_t r = 99;
#define NEXT() (r = r * 6364136223846793005ULL + 1442695040888963407ULL, (double)(r >> 11) / 9007199254740992.0)
    for (int c = 0; c < C0; c++) {
        double n2 = 0.0;
        for (int k = 0; k < K * K; k++) {
            double u1 = NEXT() + 1e-12, u2 = NEXT();
            truth[c * K * K + k] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
            n2 += (double)truth[c * K * K + k] * truth[c * K * K + k];
        }
        for (int k = 0; k < K * K; k++)
            truth[c * K * K + k] /= (float)sqrt(n2);
    }
    const int nu = SIDE - K + 1;
    float *imgs[N];
    int w[N], h[N];
    double *code = malloc(sizeof(double) * C0 * nu * nu), *img = malloc(sizeof(double) * SIDE * SIDE);
    assert_non_null(code), assert_non_null(img);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < C0 * nu * nu; k++) {
            double u = NEXT(), a = 0.5 + NEXT();
            code[k] = u < 0.004 ? a : (u < 0.008 ? -a : 0.0);
        }
        tu_ref_synthesis(C0, K, 1, nu, nu, truth, code, img);
        imgs[i] = malloc(sizeof(float) * SIDE * SIDE);
        assert_non_null(imgs[i]);
        for (int k = 0; k < SIDE * SIDE; k++)
            imgs[i][k] = (float)(0.25 * img[k]);
        w[i] = h[i] = SIDE;
    }
#undef NEXT
    free(code), free(img);
    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, C, K, 1, 0), CRSAE_OK);
    assert_int_equal(crsae_model_set_params(m, 15, 1.0f, 0.02f, 1.0f), CRSAE_OK);
    assert_int_equal(crsae_model_randomize(m, 0.02f, 7), CRSAE_OK);
    crsae_train_params p;
    crsae_train_params_init(&p);
    p.sigma = 0.02f;
    p.patch = 24;
    p.batch = 4;
    p.steps = 900;
    p.learning_rate = 4e-3f;
    assert_int_equal(crsae_train(m, &p, (const float *const *)imgs, w, h, N), CRSAE_OK);
    float learned[C * K * K];
    assert_int_equal(crsae_model_get_bank(m, CRSAE_BANK_DECODER, learned), CRSAE_OK);
    int matched = 0;
    for (int c = 0; c < C0; c++) {
        double best = 0.0;
        for (int j = 0; j < C; j++)
            best = fmax(best, best_cos(truth + c * K * K, learned + j * K * K, K));
        print_message("true filter %d: best |cos| %.3f\n", c, best);
        matched += best > 0.9;
    }
    print_message("%d of %d true filters found (|cos| > 0.9)\n", matched, (int)C0);
    assert_true(matched >= 4);
    for (int i = 0; i < N; i++)
        free(imgs[i]);
    crsae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls_and_threads_agree),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_cancel_at_random_steps),
        cmocka_unit_test(test_ensemble_untied),
        cmocka_unit_test(test_em_lambda_follows_codes),
        cmocka_unit_test(test_resume_equals_uninterrupted),
        cmocka_unit_test(test_resume_range_and_cosine),
        cmocka_unit_test(test_range_model_serves_the_range),
        cmocka_unit_test(test_sure_learns_from_noisy_images),
        cmocka_unit_test(test_recovers_a_known_dictionary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
