/* test_kernels.c - the GEMM and the strided dictionary operators against
 * naive double-precision references; the adjoint identity; the shift
 * order; the Lipschitz estimate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crsae.h"
#include "denoise/tiles.h"
#include "encoder/encoder.h"

#include "kernels/kernels.h"
#include "testutil.h"

static float *rand_floats(size_t n, uint64_t *st)
{
    float *v = malloc(n * sizeof(float));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = tu_uniform(st, -1.0f, 1.0f);
    return v;
}

static void test_gemm_matches_naive(void **state)
{
    (void)state;
    uint64_t st = 7;
    for (int trial = 0; trial < 40; trial++) {
        int M = 1 + (int)tu_uniform(&st, 0, 70); /* any height: bands of 1..8 rows */
        int N = 16 * (1 + (int)tu_uniform(&st, 0, 6));
        int Kd = 1 + (int)tu_uniform(&st, 0, 80);
        size_t lda = (size_t)Kd + (size_t)tu_uniform(&st, 0, 3);
        size_t ldb = (size_t)N + 16 * (size_t)tu_uniform(&st, 0, 2);
        float *A = rand_floats((size_t)M * lda, &st), *B = rand_floats((size_t)Kd * ldb, &st);
        float *C1 = calloc((size_t)M * N, sizeof(float)), *C2 = calloc((size_t)M * N, sizeof(float));
        float *C3 = rand_floats((size_t)M * N, &st), *C4 = malloc((size_t)M * N * sizeof(float));
        memcpy(C4, C3, (size_t)M * N * sizeof(float));
        float *C0 = malloc((size_t)M * N * sizeof(float));
        memcpy(C0, C3, (size_t)M * N * sizeof(float));
        crsae__gemm(M, N, Kd, A, lda, B, ldb, C1, (size_t)N);
        crsae__gemm_plain(M, N, Kd, A, lda, B, ldb, C2, (size_t)N, 0);
        crsae__gemm_acc(M, N, Kd, A, lda, B, ldb, C3, (size_t)N);
        crsae__gemm_plain(M, N, Kd, A, lda, B, ldb, C4, (size_t)N, 1);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                const size_t o = (size_t)i * N + j;
                double ref = 0;
                for (int k = 0; k < Kd; k++)
                    ref += (double)A[(size_t)i * lda + k] * B[(size_t)k * ldb + j];
                assert_true(fabs(C1[o] - ref) < 1e-4 * (1 + fabs(ref)));
                /* the vector clone and the plain path agree to float rounding */
                assert_true(fabs(C1[o] - C2[o]) < 1e-5 * (1 + fabs(ref)) * Kd);
                /* the accumulating forms add the product to what was there */
                assert_true(fabs(C3[o] - (C0[o] + ref)) < 1e-4 * (2 + fabs(ref)));
                assert_true(fabs(C3[o] - C4[o]) < 1e-5 * (2 + fabs(ref)) * Kd);
            }
        free(A), free(B), free(C1), free(C2), free(C3), free(C4), free(C0);
    }
}

/* The transposes (vector blocks and the plain loop's edges) move every
 * element exactly, whatever the shape and pitches. */
static void test_transpose(void **state)
{
    (void)state;
    uint64_t st = 11;
    for (int trial = 0; trial < 40; trial++) {
        int rows = 1 + (int)tu_uniform(&st, 0, 70), cols = 1 + (int)tu_uniform(&st, 0, 70);
        size_t lds = (size_t)cols + (size_t)tu_uniform(&st, 0, 5);
        size_t ldd = (size_t)rows + (size_t)tu_uniform(&st, 0, 5);
        float *src = rand_floats((size_t)rows * lds, &st);
        float *d1 = calloc((size_t)cols * ldd, sizeof(float));
        float *d2 = calloc((size_t)cols * ldd, sizeof(float));
        crsae__transpose(rows, cols, src, lds, d1, ldd);
        crsae__transpose_plain(rows, cols, src, lds, d2, ldd);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                assert_true(d1[(size_t)j * ldd + i] == src[(size_t)i * lds + j]);
                assert_true(d2[(size_t)j * ldd + i] == src[(size_t)i * lds + j]);
            }
        for (int j = 0; j < cols; j++) /* nothing written past each row */
            for (size_t i = (size_t)rows; i < ldd; i++)
                assert_true(d1[(size_t)j * ldd + i] == 0.0f);
        free(src), free(d1), free(d2);
    }
}

typedef struct opcase {
    int C, K, s, nu, nv;
} opcase;

/* Run our synthesis/analysis on random data, compare with the reference. */
static void check_operators(opcase oc, uint64_t seed)
{
    uint64_t st = seed;
    crsae__geom g;
    crsae__geom_init(&g, oc.C, oc.K, oc.s, oc.nu, oc.nv);
    float *bank = rand_floats((size_t)oc.C * oc.K * oc.K, &st);
    crsae__pack pk;
    assert_int_equal(crsae__pack_init(&pk, bank, oc.C, oc.K), 0);
    size_t ncode = (size_t)oc.C * oc.nu * oc.nv, nimg = (size_t)g.hd * g.wd;
    float *code = calloc(g.code, sizeof(float));
    float *img = calloc(nimg, sizeof(float));
    float *row = malloc(crsae__row_scratch(&g) * sizeof(float));
    double *dcode = malloc(ncode * sizeof(double)), *dimg = malloc(nimg * sizeof(double));
    double *rimg = malloc(nimg * sizeof(double)), *rcode = malloc(ncode * sizeof(double));
    for (int c = 0; c < oc.C; c++)
        for (int u = 0; u < oc.nu; u++)
            for (int v = 0; v < oc.nv; v++) {
                float z = tu_uniform(&st, -1, 1);
                code[(size_t)c * g.plane + (size_t)u * g.rowp + v] = z;
                dcode[((size_t)c * oc.nu + u) * oc.nv + v] = z;
            }
    for (size_t i = 0; i < nimg; i++)
        dimg[i] = tu_uniform(&st, -1, 1);

    /* synthesis */
    for (int u = 0; u < g.nu; u++)
        crsae__synthesis_row(&g, &pk, code, u, 1.0f, img, row);
    tu_ref_synthesis(oc.C, oc.K, oc.s, oc.nu, oc.nv, bank, dcode, rimg);
    for (size_t i = 0; i < nimg; i++)
        assert_true(fabs(img[i] - rimg[i]) < 1e-4 * (1 + fabs(rimg[i])));

    /* analysis */
    for (size_t i = 0; i < nimg; i++)
        img[i] = (float)dimg[i];
    tu_ref_analysis(oc.C, oc.K, oc.s, oc.nu, oc.nv, bank, dimg, rcode);
    for (int u = 0; u < g.nu; u++) {
        const float *G = crsae__analysis_row(&g, &pk, img, u, row);
        for (int c = 0; c < oc.C; c++)
            for (int v = 0; v < oc.nv; v++) {
                double r = rcode[((size_t)c * oc.nu + u) * oc.nv + v];
                assert_true(fabs(G[(size_t)c * g.ldv + v] - r) < 1e-4 * (1 + fabs(r)));
            }
    }

    /* adjoint identity <H x, y> = <x, H^T y> with our kernels only */
    memset(img, 0, nimg * sizeof(float));
    for (int u = 0; u < g.nu; u++)
        crsae__synthesis_row(&g, &pk, code, u, 1.0f, img, row);
    double lhs = 0.0, rhs = 0.0, scale = 0.0;
    for (size_t i = 0; i < nimg; i++) {
        lhs += img[i] * dimg[i];
        scale += fabs(img[i] * dimg[i]);
    }
    float *y = malloc(nimg * sizeof(float));
    for (size_t i = 0; i < nimg; i++)
        y[i] = (float)dimg[i];
    for (int u = 0; u < g.nu; u++) {
        const float *G = crsae__analysis_row(&g, &pk, y, u, row);
        for (int c = 0; c < oc.C; c++)
            for (int v = 0; v < oc.nv; v++)
                rhs += G[(size_t)c * g.ldv + v] * code[(size_t)c * g.plane + (size_t)u * g.rowp + v];
    }
    assert_true(fabs(lhs - rhs) <= 1e-5 * (scale + 1.0));

    crsae__pack_free(&pk);
    free(bank), free(code), free(img), free(row), free(dcode), free(dimg), free(rimg);
    free(rcode), free(y);
}

static void test_operators_and_adjoint(void **state)
{
    (void)state;
    const opcase fixed[] = {{64, 7, 5, 9, 11}, {8, 5, 1, 7, 20}, {3, 3, 3, 4, 4},
                            {1, 1, 1, 5, 17}, {17, 11, 8, 3, 5}, {5, 7, 7, 2, 1}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_operators(fixed[i], 100 + i);
    uint64_t st = 99;
    for (int trial = 0; trial < 25; trial++) {
        opcase oc;
        oc.K = 1 + (int)tu_uniform(&st, 0, 11);
        oc.s = 1 + (int)tu_uniform(&st, 0, (float)oc.K);
        oc.C = 1 + (int)tu_uniform(&st, 0, 20);
        oc.nu = 1 + (int)tu_uniform(&st, 0, 12);
        oc.nv = 1 + (int)tu_uniform(&st, 0, 40);
        check_operators(oc, 1000 + trial);
    }
}

/* One FISTA step of a code row on random phased rows: the fused kernel
 * (analysis with the update as its epilogue) against the analysis followed
 * by the scalar update; columns nv.. of x and w stay zero. */
static void fused_step_trial(uint64_t *st, int C, int K, int s, int nv, int bf16, double tol)
{
    crsae__geom g;
    crsae__geom_init(&g, C, K, s, 1, nv);
    const int lp = crsae__phase_len(&g);
    const size_t row = (size_t)s * lp;
    float *img = rand_floats((size_t)K * row + CRSAE_NR, st);
    const float *rows[CRSAE_MAX_SIZE];
    for (int a = 0; a < K; a++)
        rows[a] = img + (size_t)a * row;
    float *bank = rand_floats((size_t)C * K * K, st), *bias = rand_floats((size_t)C, st);
    for (int c = 0; c < C; c++)
        bias[c] = 0.5f * fabsf(bias[c]);
    crsae__pack pk;
    assert_int_equal(crsae__pack_init(&pk, bank, C, K), 0);
    if (bf16 && crsae__pack_bf16(&pk) != 1) {
        crsae__pack_free(&pk);
        free(img), free(bank), free(bias);
        return;
    }
    float *x[2], *w[2];
    for (int k = 0; k < 2; k++) {
        x[k] = calloc(g.code, sizeof(float));
        w[k] = calloc(g.code, sizeof(float));
        assert_true(x[k] && w[k]);
    }
    for (int c = 0; c < C; c++)
        for (int v = 0; v < nv; v++) {
            x[0][(size_t)c * g.plane + v] = x[1][(size_t)c * g.plane + v] = tu_uniform(st, -1, 1);
            w[0][(size_t)c * g.plane + v] = w[1][(size_t)c * g.plane + v] = tu_uniform(st, -1, 1);
        }
    float *scratch = malloc(crsae__row_scratch(&g) * sizeof(float));
    assert_non_null(scratch);
    for (int k = 0; k < 2; k++) {
        const crsae__fista_step up = {.x = x[k], .w = w[k], .plane = g.plane, .bias = bias,
                                      .step = 0.1f, .momentum = 0.7f, .nv = nv};
        if (k == 0)
            crsae__analysis_update(&g, &pk, rows, lp, &up, scratch);
        else
            crsae__analysis_update_plain(&g, &pk, rows, lp, &up, scratch);
    }
    double worst = 0;
    for (int c = 0; c < C; c++)
        for (int v = 0; v < g.ldv; v++) {
            const size_t i = (size_t)c * g.plane + (size_t)v;
            if (v >= nv) {
                assert_true(x[0][i] == 0.0f && w[0][i] == 0.0f);
                continue;
            }
            double d = fmax(fabs(x[0][i] - x[1][i]), fabs(w[0][i] - w[1][i]));
            worst = d > worst ? d : worst;
        }
    assert_true(worst <= tol);
    for (int k = 0; k < 2; k++) {
        free(x[k]);
        free(w[k]);
    }
    crsae__pack_free(&pk);
    free(scratch);
    free(img);
    free(bank);
    free(bias);
}

static void test_fused_update_matches_plain(void **state)
{
    (void)state;
    uint64_t st = 11;
    for (int trial = 0; trial < 20; trial++) {
        const int C = trial % 3 == 0 ? 64 : 1 + (int)tu_uniform(&st, 0, 70);
        const int s = 1 + (int)tu_uniform(&st, 0, 5), K = s + (int)tu_uniform(&st, 0, 4);
        fused_step_trial(&st, C, K > CRSAE_MAX_SIZE ? CRSAE_MAX_SIZE : K, s,
                         1 + (int)tu_uniform(&st, 0, 120), 0, 1e-5);
    }
}

/* The same with bfloat16 products (where the CPU has them): within their
 * rounding (operands to 8 bits: a few 1e-3 here), far from any slip of a
 * pair or a lane, which gives errors of order 1. */
static void test_bf16_update_close(void **state)
{
    (void)state;
    uint64_t st = 12;
    for (int trial = 0; trial < 20; trial++) {
        const int C = trial % 3 == 0 ? 64 : 1 + (int)tu_uniform(&st, 0, 70);
        const int s = 1 + (int)tu_uniform(&st, 0, 5), K = s + (int)tu_uniform(&st, 0, 4);
        fused_step_trial(&st, C, K, s, 1 + (int)tu_uniform(&st, 0, 120), 1, 1e-2);
    }
}

/* The encoder's synthesis on phased rows (residual -= H code, row by row)
 * against the plain synthesis of the same code, with float products and,
 * where the CPU has them, bfloat16 ones (which add the product straight
 * into the rows, overlapping runs of a phase included). */
static void phased_synthesis_trial(uint64_t *st, int C, int K, int s, int nu, int nv, int bf16)
{
    crsae__geom g;
    crsae__geom_init(&g, C, K, s, nu, nv);
    float *bank = rand_floats((size_t)C * K * K, st);
    crsae__pack pk;
    assert_int_equal(crsae__pack_init(&pk, bank, C, K), 0);
    if (bf16 && crsae__pack_bf16(&pk) != 1) {
        crsae__pack_free(&pk);
        free(bank);
        return;
    }
    const int lp = crsae__phase_len(&g);
    const size_t nimg = (size_t)g.hd * g.ldi, nph = (size_t)g.hd * s * lp + CRSAE_NR;
    float *code = calloc(g.code, sizeof(float)), *ref = calloc(nimg, sizeof(float));
    float *pimg = calloc(nph, sizeof(float)), *img = calloc(nimg, sizeof(float));
    float *row = malloc(crsae__row_scratch(&g) * sizeof(float));
    assert_true(code && ref && pimg && img && row);
    for (int c = 0; c < C; c++)
        for (int u = 0; u < nu; u++)
            for (int v = 0; v < nv; v++)
                code[(size_t)c * g.plane + (size_t)u * g.rowp + v] = tu_uniform(st, -1, 1);
    for (int u = 0; u < nu; u++) {
        crsae__synthesis_row(&g, &pk, code, u, 1.0f, ref, row);
        float *rows[CRSAE_MAX_SIZE];
        for (int a = 0; a < K; a++)
            rows[a] = pimg + (size_t)(u * s + a) * s * lp;
        crsae__synthesis_phased(&g, &pk, code, u, -1.0f, rows, lp, row);
    }
    crsae__unphase(&g, pimg, img);
    /* bfloat16: the rounding of each product adds up over the sum, so the
     * bound is relative to the sums' size (the worst measured is 1/8 of it) */
    double rms = 0.0;
    for (size_t i = 0; i < nimg; i++)
        rms += (double)ref[i] * ref[i];
    rms = sqrt(rms / (double)nimg);
    for (int r = 0; r < g.hd; r++)
        for (int c = 0; c < g.wd; c++) {
            const size_t i = (size_t)r * g.ldi + c;
            const double d = fabs(img[i] + ref[i]);
            assert_true(bf16 ? d <= 2e-2 * (1.0 + rms) : d <= 1e-5 * (1.0 + fabs(ref[i])));
        }
    crsae__pack_free(&pk);
    free(bank), free(code), free(ref), free(pimg), free(img), free(row);
}

static void test_phased_synthesis(void **state)
{
    (void)state;
    uint64_t st = 13;
    for (int trial = 0; trial < 24; trial++) {
        const int C = trial % 4 == 0 ? 64 : 1 + (int)tu_uniform(&st, 0, 70);
        const int s = 1 + (int)tu_uniform(&st, 0, 5), K = s + (int)tu_uniform(&st, 0, 4);
        phased_synthesis_trial(&st, C, K, s, 1 + (int)tu_uniform(&st, 0, 6),
                               1 + (int)tu_uniform(&st, 0, 100), trial & 1);
    }
}

static void test_shift_order_covers_all(void **state)
{
    (void)state;
    for (int s = 1; s <= 8; s++) {
        int rows[64], cols[64];
        crsae__shift_order(s, s * s, rows, cols);
        unsigned char seen[64] = {0};
        for (int k = 0; k < s * s; k++) {
            assert_in_range(rows[k], 0, s - 1);
            assert_in_range(cols[k], 0, s - 1);
            assert_int_equal(seen[rows[k] * s + cols[k]], 0);
            seen[rows[k] * s + cols[k]] = 1;
        }
        /* a prefix is a prefix of the full order */
        int r2[64], c2[64];
        crsae__shift_order(s, (s * s + 1) / 2, r2, c2);
        for (int k = 0; k < (s * s + 1) / 2; k++) {
            assert_int_equal(r2[k], rows[k]);
            assert_int_equal(c2[k], cols[k]);
        }
    }
}

static void test_lipschitz(void **state)
{
    (void)state;
    /* Non-overlapping atoms (s = K) of one filter: H^T H = |h|^2 I. */
    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, 1, 4, 4, 0), CRSAE_OK);
    float h[16];
    double n2 = 0;
    for (int i = 0; i < 16; i++) {
        h[i] = (float)(i % 5) - 2.0f;
        n2 += h[i] * h[i];
    }
    assert_int_equal(crsae_model_set_bank(m, CRSAE_BANK_DECODER, h), CRSAE_OK);
    float L;
    assert_int_equal(crsae_model_estimate_lipschitz(m, &L), CRSAE_OK);
    assert_true(fabs(L - 1.01 * n2) < 1e-3 * n2);
    crsae_model_free(m);

    /* Random bank: L bounds the Rayleigh quotient of random codes. */
    uint64_t st = 5;
    assert_int_equal(crsae_model_new(&m, 16, 7, 3, 0), CRSAE_OK);
    float *bank = rand_floats(16 * 49, &st);
    assert_int_equal(crsae_model_set_bank(m, CRSAE_BANK_DECODER, bank), CRSAE_OK);
    assert_int_equal(crsae_model_estimate_lipschitz(m, &L), CRSAE_OK);
    int nu = 6, nv = 6;
    size_t nc = 16 * 36, ni = (size_t)((nu - 1) * 3 + 7) * ((nv - 1) * 3 + 7);
    double *code = malloc(nc * sizeof(double)), *img = malloc(ni * sizeof(double));
    for (int trial = 0; trial < 10; trial++) {
        double xx = 0, hh = 0;
        for (size_t i = 0; i < nc; i++) {
            code[i] = tu_uniform(&st, -1, 1);
            xx += code[i] * code[i];
        }
        tu_ref_synthesis(16, 7, 3, nu, nv, bank, code, img);
        for (size_t i = 0; i < ni; i++)
            hh += img[i] * img[i];
        assert_true(hh / xx <= L);
    }
    free(code), free(img), free(bank);
    crsae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_matches_naive),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_operators_and_adjoint),
        cmocka_unit_test(test_fused_update_matches_plain),
        cmocka_unit_test(test_bf16_update_close),
        cmocka_unit_test(test_phased_synthesis),
        cmocka_unit_test(test_shift_order_covers_all),
        cmocka_unit_test(test_lipschitz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
