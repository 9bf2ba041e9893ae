/* kernel_bench.c - GFLOP/s of the core's kernels on one thread, on the shapes
 * denoising and training use: the synthesis H (a code row to image rows)
 * and the analysis H^T (image rows to a code row) on a 1000-pixel-wide
 * tile, on plain rows (training) and on phased rows (the encoder), then
 * the encoder's own (H^T with the FISTA update) and T FISTA iterations over
 * a 1000 x 200 domain (the wavefront: both operators, the thresholds and
 * the momentum), with float and, where the CPU has them, bfloat16
 * products; and one training patch's
 * forward and backward passes (64 x 64, the filter gradients included).
 * FLOPs count the useful multiply-adds only (2 C K^2 per atom per
 * convolution), not the padding the kernels compute on.  Each figure is
 * the best of 10 runs. */
#define _POSIX_C_SOURCE 200809L
#include "kernel_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "encoder/encoder.h"
#include "base/alloc.h"
#include "model/model.h"
#include "train/train_grad.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *filled(size_t n, unsigned seed, float scale)
{
    float *p = crsae__malloc_aligned(n * sizeof(float));
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = scale * ((float)(seed >> 8) / 16777216.0f - 0.5f);
    }
    return p;
}

static void line(const char *name, double flop, double sec, double peak1)
{
    double g = flop / sec / 1e9;
    printf("  %-38s %6.1f GFLOP/s  %5.1f %% of peak\n", name, g, 100.0 * g / peak1);
}

void bench_kernels(const crsae_model *m, double peak1)
{
    const int C = m->filters, K = m->size, s = m->stride, T = m->iterations;
    crsae__pack dec, enc, out;
    if (crsae__pack_init(&dec, m->dec, C, K) || crsae__pack_init(&enc, m->enc, C, K) ||
        crsae__pack_init(&out, m->out, C, K)) {
        fprintf(stderr, "crsae-bench: out of memory\n");
        return;
    }
    printf("\nkernels, 1 thread (C=%d K=%d s=%d; peak %.1f GFLOP/s):\n", C, K, s, peak1);
    const double conv_atom = 2.0 * C * K * K; /* FLOP per atom per convolution */

    /* H and H^T, one code row of a 1000-pixel-wide tile at a time */
    crsae__geom g;
    crsae__geom_init(&g, C, K, s, 40, (1000 - K) / s + 1);
    size_t ni = (size_t)g.hd * g.ldi, nc = g.code;
    float *img = filled(ni, 1, 1.0f), *code = filled(nc, 2, 0.1f);
    float *row = crsae__malloc_aligned(crsae__row_scratch(&g) * sizeof(float));
    float *ring = crsae__malloc_aligned(crsae__fista_ring(&g) * sizeof(float));
    float *x = filled(nc, 3, 0.0f), *w = filled(nc, 4, 0.0f), *rec = filled(ni, 5, 0.0f);
    const int lp = (g.wd + s - 1) / s; /* phased rows, as the encoder keeps them */
    float *imgp = filled((size_t)g.hd * s * lp + CRSAE_NR, 9, 1.0f); /* + what H^T may read */
    if (!img || !code || !row || !ring || !x || !w || !rec || !imgp) {
        fprintf(stderr, "crsae-bench: out of memory\n");
        goto done;
    }
    double best_s = 1e30, best_a = 1e30, best_ps = 1e30, best_pa = 1e30;
    volatile float sink = 0.0f;
    float *rows[CRSAE_MAX_SIZE];
    float bias[CRSAE_MAX_FILTERS];
    for (int c = 0; c < C; c++)
        bias[c] = 0.02f;
    for (int rep = 0; rep < 10; rep++) {
        double t0 = now();
        for (int it = 0; it < 4; it++)
            for (int u = 0; u < g.nu; u++)
                crsae__synthesis_row(&g, &dec, code, u, -1.0f, img, row);
        double t1 = now();
        for (int it = 0; it < 4; it++)
            for (int u = 0; u < g.nu; u++)
                sink += crsae__analysis_row(&g, &enc, img, u, row)[u];
        double t2 = now();
        for (int it = 0; it < 4; it++)
            for (int u = 0; u < g.nu; u++) {
                for (int a = 0; a < K; a++)
                    rows[a] = imgp + (size_t)(u * s + a) * s * lp;
                crsae__synthesis_phased(&g, &dec, code, u, -1.0f, rows, lp, row);
            }
        double t3 = now();
        for (int it = 0; it < 4; it++)
            for (int u = 0; u < g.nu; u++) {
                for (int a = 0; a < K; a++)
                    rows[a] = imgp + (size_t)(u * s + a) * s * lp;
                sink += crsae__analysis_phased(&g, &enc, (const float *const *)rows, lp, row)[u];
            }
        double t4 = now();
        best_s = t1 - t0 < best_s ? t1 - t0 : best_s;
        best_a = t2 - t1 < best_a ? t2 - t1 : best_a;
        best_ps = t3 - t2 < best_ps ? t3 - t2 : best_ps;
        best_pa = t4 - t3 < best_pa ? t4 - t3 : best_pa;
    }
    const double row_flop = 4.0 * g.nu * g.nv * conv_atom;
    line("H (synthesis, GEMM + col2im)", row_flop, best_s, peak1);
    line("H^T (analysis, im2col + GEMM)", row_flop, best_a, peak1);
    line("H on phased rows", row_flop, best_ps, peak1);
    line("H^T on phased rows", row_flop, best_pa, peak1);

    /* the encoder's kernels (H on phased rows; H^T with the FISTA update as
     * its epilogue) and T iterations with the decoding on a 1000 x 200
     * domain: with float products, then (where the CPU has AVX512-BF16)
     * with bfloat16 ones, whose own peak is twice the float FMA's */
    crsae__pack dec2 = {0}, enc2 = {0};
    int bf16 = !crsae__pack_init(&dec2, m->dec, C, K) && !crsae__pack_init(&enc2, m->enc, C, K) &&
               crsae__pack_bf16(&dec2) == 1 && crsae__pack_bf16(&enc2) == 1;
    for (int prec = 0; prec < 1 + bf16; prec++) {
        const crsae__pack *pd = prec ? &dec2 : &dec, *pe = prec ? &enc2 : &enc;
        const crsae__fista_step up = {x, w, g.plane, bias, 0.01f, 0.5f, g.nv};
        double best_syn = 1e30, best_upd = 1e30, best_f = 1e30;
        for (int rep = 0; rep < 10; rep++) {
            double t0 = now();
            for (int it = 0; it < 4; it++)
                for (int u = 0; u < g.nu; u++) {
                    for (int a = 0; a < K; a++)
                        rows[a] = imgp + (size_t)(u * s + a) * s * lp;
                    crsae__synthesis_phased(&g, pd, code, u, -1.0f, rows, lp, row);
                }
            double t1 = now();
            for (int it = 0; it < 4; it++)
                for (int u = 0; u < g.nu; u++) {
                    for (int a = 0; a < K; a++)
                        rows[a] = imgp + (size_t)(u * s + a) * s * lp;
                    crsae__fista_step su = up;
                    su.x += (size_t)u * g.rowp;
                    su.w += (size_t)u * g.rowp;
                    crsae__analysis_update(&g, pe, (const float *const *)rows, lp, &su, row);
                }
            double t2 = now();
            best_syn = t1 - t0 < best_syn ? t1 - t0 : best_syn;
            best_upd = t2 - t1 < best_upd ? t2 - t1 : best_upd;
        }
        crsae__encoder e = {pd, pe, &out, bias, 1.0f / m->lipschitz, T, 0};
        crsae__fista_buf buf = {rec, x, w, row, ring};
        for (int rep = 0; rep < 10; rep++) {
            double t0 = now();
            crsae__fista(&g, &e, img, rec, &buf, NULL, NULL);
            double t = now() - t0;
            best_f = t < best_f ? t : best_f;
        }
        printf("  %s products:\n", prec ? "bfloat16" : "float");
        line("H, phased, into the residual", row_flop, best_syn, peak1);
        line("H^T, phased, + the FISTA update", row_flop, best_upd, peak1);
        /* iteration 1 has no synthesis (w = 0): 2T - 1 convolutions and the decoding */
        line("FISTA tile (T iterations + decoding)", 2.0 * T * g.nu * g.nv * conv_atom, best_f,
             peak1);
    }
    if (!bf16)
        printf("  (no bfloat16 products on this CPU or build)\n");
    crsae__pack_free(&dec2);
    crsae__pack_free(&enc2);
    crsae__encoder e = {&dec, &enc, &out, bias, 1.0f / m->lipschitz, T, 0};

    /* one training patch: forward with the tape, backward */
    crsae__geom pg;
    /* a 64-pixel patch as crsae train cuts it */
    const int pnu = (64 - K + s - 1) / s + 1;
    crsae__geom_init_train(&pg, C, K, s, pnu, pnu);
    size_t tf = crsae__tape_floats(&pg, T), pn = (size_t)pg.hd * pg.ldi;
    float *block = crsae__malloc_aligned(tf * sizeof(float));
    float *y = filled(pn, 6, 1.0f), *target = filled(pn, 7, 1.0f);
    float *grad = filled(3 * (size_t)C * K * K + C, 8, 0.0f);
    if (!block || !y || !target || !grad) {
        fprintf(stderr, "crsae-bench: out of memory\n");
    } else {
        crsae__tape tape;
        crsae__tape_init(&tape, &pg, T, block);
        crsae__grads gr = {grad, grad + (size_t)C * K * K, grad + 2 * (size_t)C * K * K,
                           grad + 3 * (size_t)C * K * K};
        double best_t = 1e30;
        for (int rep = 0; rep < 10; rep++) {
            double t0 = now();
            for (int it = 0; it < 10; it++)
                crsae__loss_grad(&pg, &e, y, target, 0, &tape, &gr);
            double t = now() - t0;
            best_t = t < best_t ? t : best_t;
        }
        /* forward: T analyses, T - 1 syntheses (w_0 = 0) and the decoding;
         * backward: the gradient of W_d and W_d^T, then per iteration the
         * filter gradient of W_e and, but for the first, W_e, the filter
         * gradient of H and H^T: 6T - 1 convolutions' worth */
        line("training patch (forward + backward)",
             10.0 * (6.0 * T - 1) * pg.nu * pg.nv * conv_atom, best_t, peak1);
    }
    crsae__free_aligned(block), crsae__free_aligned(y), crsae__free_aligned(target);
    crsae__free_aligned(grad);
done:
    crsae__free_aligned(img), crsae__free_aligned(code), crsae__free_aligned(row);
    crsae__free_aligned(ring), crsae__free_aligned(x), crsae__free_aligned(w);
    crsae__free_aligned(rec), crsae__free_aligned(imgp);
    crsae__pack_free(&enc);
    crsae__pack_free(&out);
    crsae__pack_free(&dec);
}
