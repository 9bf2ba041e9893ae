/* test_encoder.c - the soft threshold and FISTA: the lasso objective falls
 * and reaches the optimum found by a slow double-precision ISTA; the
 * wavefront schedule computes plain FISTA whatever its group size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crsae.h"
#include "encoder/encoder.h"
#include "model/model.h"
#include "testutil.h"

static void test_soft_threshold(void **state)
{
    (void)state;
    assert_true(crsae__soft_threshold(3.0f, 1.0f) == 2.0f);
    assert_true(crsae__soft_threshold(-3.0f, 1.0f) == -2.0f);
    assert_true(crsae__soft_threshold(1.0f, 1.0f) == 0.0f);   /* |z| == b */
    assert_true(crsae__soft_threshold(-1.0f, 1.0f) == 0.0f);
    assert_true(crsae__soft_threshold(0.5f, 1.0f) == 0.0f);
    assert_true(crsae__soft_threshold(0.0f, 0.0f) == 0.0f);
    assert_true(crsae__soft_threshold(-0.25f, 0.0f) == -0.25f); /* b = 0: identity */
    assert_true(crsae__soft_threshold(1e30f, 1.0f) == 1e30f);
    assert_true(crsae__soft_threshold(-INFINITY, 1.0f) == -INFINITY);
    assert_true(crsae__soft_threshold(1.0f, INFINITY) == 0.0f);
    /* odd symmetry and monotonicity on a sweep */
    float prev = -INFINITY;
    for (int i = -400; i <= 400; i++) {
        float z = (float)i / 100.0f;
        float a = crsae__soft_threshold(z, 0.7f);
        assert_true(a == -crsae__soft_threshold(-z, 0.7f));
        assert_true(a >= prev);
        assert_true(fabsf(a) <= fabsf(z));
        prev = a;
    }
}

typedef struct lasso {
    int C, K, s, nu, nv, hd, wd;
    float *bank;
    double *y;
    double lambda; /* objective: 0.5 |y - Hx|^2 + lambda |x|_1 */
} lasso;

static double objective(const lasso *p, const double *x)
{
    size_t ni = (size_t)p->hd * p->wd, nc = (size_t)p->C * p->nu * p->nv;
    double *img = malloc(ni * sizeof(double));
    tu_ref_synthesis(p->C, p->K, p->s, p->nu, p->nv, p->bank, x, img);
    double f = 0.0;
    for (size_t i = 0; i < ni; i++)
        f += 0.5 * (p->y[i] - img[i]) * (p->y[i] - img[i]);
    for (size_t i = 0; i < nc; i++)
        f += p->lambda * fabs(x[i]);
    free(img);
    return f;
}

/* Plain ISTA in double, many iterations: the reference optimum. */
static double ista_optimum(const lasso *p, double L, int iters)
{
    size_t ni = (size_t)p->hd * p->wd, nc = (size_t)p->C * p->nu * p->nv;
    double *x = calloc(nc, sizeof(double)), *g = malloc(nc * sizeof(double));
    double *r = malloc(ni * sizeof(double));
    for (int it = 0; it < iters; it++) {
        tu_ref_synthesis(p->C, p->K, p->s, p->nu, p->nv, p->bank, x, r);
        for (size_t i = 0; i < ni; i++)
            r[i] = p->y[i] - r[i];
        tu_ref_analysis(p->C, p->K, p->s, p->nu, p->nv, p->bank, r, g);
        for (size_t i = 0; i < nc; i++) {
            double z = x[i] + g[i] / L, m = fabs(z) - p->lambda / L;
            x[i] = m > 0 ? copysign(m, z) : 0.0;
        }
    }
    double f = objective(p, x);
    free(x), free(g), free(r);
    return f;
}

/* Our FISTA for T iterations; returns the objective of x_T. */
static double our_fista(const lasso *p, const crsae_model *m, int T)
{
    crsae__geom g;
    crsae__geom_init(&g, p->C, p->K, p->s, p->nu, p->nv);
    crsae__pack pk;
    assert_int_equal(crsae__pack_init(&pk, p->bank, p->C, p->K), 0);
    float *bias = malloc((size_t)p->C * sizeof(float));
    for (int c = 0; c < p->C; c++)
        bias[c] = (float)(p->lambda / m->lipschitz);
    crsae__encoder e = {&pk, &pk, &pk, bias, 1.0f / m->lipschitz, T, 0};
    size_t ni = (size_t)g.hd * g.ldi, nc = g.code;
    crsae__fista_buf buf;
    buf.r = malloc(ni * sizeof(float));
    buf.x = malloc(nc * sizeof(float));
    buf.w = malloc(nc * sizeof(float));
    buf.row = malloc(crsae__row_scratch(&g) * sizeof(float));
    buf.ring = malloc(crsae__fista_ring(&g) * sizeof(float));
    float *y = malloc(ni * sizeof(float));
    for (size_t i = 0; i < ni; i++)
        y[i] = (float)p->y[i];
    atomic_long done = 0;
    assert_int_equal(crsae__fista_code(&g, &e, y, &buf, NULL, &done), 0);
    assert_int_equal((int)done, T);
    double *x = malloc((size_t)p->C * p->nu * p->nv * sizeof(double));
    for (int c = 0; c < p->C; c++)
        for (int u = 0; u < p->nu; u++)
            for (int v = 0; v < p->nv; v++) {
                x[((size_t)c * p->nu + u) * p->nv + v] =
                    buf.x[(size_t)c * g.plane + (size_t)u * g.rowp + v];
                /* padding columns stay zero */
                for (int vv = p->nv; vv < g.ldv; vv++)
                    assert_true(buf.x[(size_t)c * g.plane + (size_t)u * g.rowp + vv] == 0.0f);
            }
    double f = objective(p, x);
    crsae__pack_free(&pk);
    free(bias), free(buf.r), free(buf.x), free(buf.w), free(buf.row), free(buf.ring), free(y), free(x);
    return f;
}

static void test_fista_reaches_lasso_optimum(void **state)
{
    (void)state;
    lasso p = {.C = 6, .K = 5, .s = 2, .nu = 8, .nv = 9};
    p.hd = (p.nu - 1) * p.s + p.K;
    p.wd = (p.nv - 1) * p.s + p.K;
    uint64_t st = 42;
    size_t nb = (size_t)p.C * p.K * p.K, ni = (size_t)p.hd * p.wd;
    p.bank = malloc(nb * sizeof(float));
    for (int c = 0; c < p.C; c++) { /* unit-norm filters */
        double n = 0;
        for (int k = 0; k < p.K * p.K; k++) {
            p.bank[c * p.K * p.K + k] = tu_uniform(&st, -1, 1);
            n += p.bank[c * p.K * p.K + k] * p.bank[c * p.K * p.K + k];
        }
        for (int k = 0; k < p.K * p.K; k++)
            p.bank[c * p.K * p.K + k] /= (float)sqrt(n);
    }
    p.y = malloc(ni * sizeof(double));
    float *img = tu_synthetic_image(p.wd, p.hd, 3);
    for (size_t i = 0; i < ni; i++)
        p.y[i] = img[i] + 0.05 * (tu_uniform(&st, -1, 1));
    free(img);
    p.lambda = 0.05;

    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, p.C, p.K, p.s, 0), CRSAE_OK);
    assert_int_equal(crsae_model_set_bank(m, CRSAE_BANK_DECODER, p.bank), CRSAE_OK);
    float L;
    assert_int_equal(crsae_model_estimate_lipschitz(m, &L), CRSAE_OK);
    assert_int_equal(crsae_model_set_params(m, 10, L, 0.1f, 1.0f), CRSAE_OK);

    double fstar = ista_optimum(&p, L, 20000);
    size_t nc = (size_t)p.C * p.nu * p.nv;
    double *zero = calloc(nc, sizeof(double));
    double f0 = objective(&p, zero);
    free(zero);

    const int Ts[] = {1, 2, 5, 10, 20, 50, 100, 200, 400};
    double prev = f0;
    for (size_t i = 0; i < sizeof Ts / sizeof Ts[0]; i++) {
        double f = our_fista(&p, m, Ts[i]);
        /* FISTA is not monotone step by step, but over these spans it falls */
        assert_true(f <= prev * (1 + 1e-6));
        assert_true(f >= fstar * (1 - 1e-4)); /* never below the optimum */
        /* the O(1/k^2) rate: F(x_k) - F* <= 2 L |x*|^2 / k^2 bounds are
         * loose; check the gap shrinks by 100x from 10 to 400 iterations */
        prev = f;
    }
    double f10 = our_fista(&p, m, 10), f400 = our_fista(&p, m, 400);
    assert_true((f400 - fstar) < 0.01 * (f10 - fstar) + 1e-6 * fstar);
    assert_true(fabs(f400 - fstar) < 1e-4 * fstar);
    crsae_model_free(m);
    free(p.bank), free(p.y);
}

/* Whole-domain FISTA, one pass of each operator per iteration, in double
 * precision with the naive operators: what the wavefront must compute. */
static void plain_fista(int C, int K, int s, int nu, int nv, const float *bank,
                        const float *bias, float step, int T, const float *y, double *recon)
{
    const int hd = (nu - 1) * s + K, wd = (nv - 1) * s + K;
    const size_t nc = (size_t)C * nu * nv, ni = (size_t)hd * wd;
    double *x = calloc(nc, sizeof(double)), *w = calloc(nc, sizeof(double));
    double *g = malloc(nc * sizeof(double)), *r = malloc(ni * sizeof(double));
    double t = 1.0;
    for (int k = 0; k < T; k++) {
        tu_ref_synthesis(C, K, s, nu, nv, bank, w, r);
        for (size_t i = 0; i < ni; i++)
            r[i] = (double)y[i] - r[i];
        tu_ref_analysis(C, K, s, nu, nv, bank, r, g);
        double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t)), m = (t - 1.0) / tn;
        t = tn;
        for (size_t i = 0; i < nc; i++) {
            double z = w[i] + step * g[i], b = bias[i / ((size_t)nu * nv)];
            double xn = z > b ? z - b : (z < -b ? z + b : 0.0);
            w[i] = xn + m * (xn - x[i]);
            x[i] = xn;
        }
    }
    tu_ref_synthesis(C, K, s, nu, nv, bank, x, recon);
    free(x), free(w), free(g), free(r);
}

/* The wavefront (groups of 1 .. T iterations sweeping the domain together)
 * computes plain FISTA, and the group size does not change a single bit. */
static void test_wavefront_groups_agree(void **state)
{
    (void)state;
    const int shapes[][5] = {/* C, K, s, nu, nv */
                             {6, 7, 5, 9, 7}, {4, 5, 2, 11, 6}, {3, 3, 3, 5, 4},
                             {5, 5, 1, 13, 9}, {4, 7, 5, 1, 3}, {4, 7, 5, 2, 2}};
    uint64_t seed = 7;
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        const int C = shapes[c][0], K = shapes[c][1], s = shapes[c][2];
        crsae__geom g;
        crsae__geom_init(&g, C, K, s, shapes[c][3], shapes[c][4]);
        float *bank = malloc((size_t)C * K * K * sizeof(float));
        float *bias = malloc((size_t)C * sizeof(float));
        for (int i = 0; i < C * K * K; i++)
            bank[i] = tu_uniform(&seed, -0.3f, 0.3f);
        for (int i = 0; i < C; i++)
            bias[i] = tu_uniform(&seed, 0.0f, 0.05f);
        crsae__pack pk;
        assert_int_equal(crsae__pack_init(&pk, bank, C, K), 0);
        const size_t ni = (size_t)g.hd * g.ldi, nc = g.code;
        float *y = malloc(ni * sizeof(float)), *first = malloc(ni * sizeof(float));
        for (size_t i = 0; i < ni; i++)
            y[i] = tu_uniform(&seed, 0.0f, 1.0f);
        const int T = 7;
        double *ref = malloc(ni * sizeof(double));
        plain_fista(C, K, s, g.nu, g.nv, bank, bias, 0.05f, T, y, ref);
        crsae__fista_buf buf = {malloc(ni * sizeof(float)), malloc(nc * sizeof(float)),
                                malloc(nc * sizeof(float)),
                                malloc(crsae__row_scratch(&g) * sizeof(float)),
                                malloc(crsae__fista_ring(&g) * sizeof(float))};
        for (int group = 1; group <= CRSAE_WAVE_MAX; group++) {
            crsae__encoder e = {&pk, &pk, &pk, bias, 0.05f, T, group};
            atomic_long done = 0;
            assert_int_equal(crsae__fista(&g, &e, y, buf.r, &buf, NULL, &done), 0);
            assert_int_equal((int)done, T);
            if (group == 1) {
                memcpy(first, buf.r, ni * sizeof(float));
                double err = 0.0, mag = 0.0;
                for (size_t i = 0; i < ni; i++) {
                    err = fmax(err, fabs((double)buf.r[i] - ref[i]));
                    mag = fmax(mag, fabs(ref[i]));
                }
                assert_true(mag > 0.01);
                assert_true(err < 1e-5 * (1.0 + mag));
            } else {
                assert_memory_equal(first, buf.r, ni * sizeof(float));
            }
        }
        crsae__pack_free(&pk);
        free(buf.r), free(buf.x), free(buf.w), free(buf.row), free(buf.ring);
        free(bank), free(bias), free(y), free(first), free(ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soft_threshold),
        cmocka_unit_test(test_fista_reaches_lasso_optimum),
        cmocka_unit_test(test_wavefront_groups_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
