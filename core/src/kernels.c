/* kernels.c - GEMM micro-kernel, im2col/col2im for strided atoms.
 *
 * The product is written in plain C with a fixed MR x NR block of
 * accumulators so that the compiler keeps them in vector registers.  When
 * built with CRSAE_SIMD_CLONES the same source is compiled for AVX2+FMA and
 * AVX-512 as well and the best one is picked at load time; the build
 * option -Dsimd=false keeps only the plain path. */
#include "kernels.h"
#include "internal.h"

#include <string.h>

#define GEMM_BODY                                                                     \
    for (int i0 = 0; i0 < M; i0 += CRSAE_MR) {                                        \
        const float *a0 = A + (size_t)i0 * lda, *a1 = a0 + lda, *a2 = a1 + lda,       \
                    *a3 = a2 + lda;                                                   \
        float *c0 = Cm + (size_t)i0 * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc,             \
              *c3 = c2 + ldc;                                                         \
        for (int j0 = 0; j0 < N; j0 += CRSAE_NR) {                                    \
            float s0[CRSAE_NR] = {0}, s1[CRSAE_NR] = {0}, s2[CRSAE_NR] = {0},         \
                  s3[CRSAE_NR] = {0};                                                 \
            const float *b = B + j0;                                                  \
            for (int k = 0; k < Kd; k++) {                                            \
                const float *bk = b + (size_t)k * ldb;                                \
                const float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];           \
                for (int j = 0; j < CRSAE_NR; j++) {                                  \
                    const float bj = bk[j];                                           \
                    s0[j] += x0 * bj;                                                 \
                    s1[j] += x1 * bj;                                                 \
                    s2[j] += x2 * bj;                                                 \
                    s3[j] += x3 * bj;                                                 \
                }                                                                     \
            }                                                                         \
            for (int j = 0; j < CRSAE_NR; j++) {                                      \
                c0[j0 + j] = s0[j];                                                   \
                c1[j0 + j] = s1[j];                                                   \
                c2[j0 + j] = s2[j];                                                   \
                c3[j0 + j] = s3[j];                                                   \
            }                                                                         \
        }                                                                             \
    }

void crsae__gemm_plain(int M, int N, int Kd, const float *restrict A, size_t lda,
                       const float *restrict B, size_t ldb, float *restrict Cm, size_t ldc)
{
    GEMM_BODY
}

CRSAE_CLONES
void crsae__gemm(int M, int N, int Kd, const float *restrict A, size_t lda,
                 const float *restrict B, size_t ldb, float *restrict Cm, size_t ldc)
{
    GEMM_BODY
}

int crsae__pack_init(crsae__pack *p, const float *bank, int C, int K)
{
    memset(p, 0, sizeof *p);
    int KK = K * K;
    p->C = C;
    p->K = K;
    p->KK = KK;
    p->Cp = (C + CRSAE_MR - 1) / CRSAE_MR * CRSAE_MR;
    p->KKp = (KK + CRSAE_MR - 1) / CRSAE_MR * CRSAE_MR;
    p->ana = crsae__malloc_aligned((size_t)p->Cp * KK * sizeof(float));
    p->syn = crsae__malloc_aligned((size_t)p->KKp * C * sizeof(float));
    if (!p->ana || !p->syn) {
        crsae__pack_free(p);
        return -1;
    }
    memset(p->ana, 0, (size_t)p->Cp * KK * sizeof(float));
    memset(p->syn, 0, (size_t)p->KKp * C * sizeof(float));
    crsae__pack_fill(p, bank);
    return 0;
}

void crsae__pack_fill(crsae__pack *p, const float *bank)
{
    for (int c = 0; c < p->C; c++)
        for (int k = 0; k < p->KK; k++) {
            p->ana[(size_t)c * p->KK + k] = bank[(size_t)c * p->KK + k];
            p->syn[(size_t)k * p->C + c] = bank[(size_t)c * p->KK + k];
        }
}

void crsae__pack_free(crsae__pack *p)
{
    crsae__free_aligned(p->ana);
    crsae__free_aligned(p->syn);
    p->ana = p->syn = NULL;
}

size_t crsae__row_scratch(const crsae__geom *g)
{
    /* im2col block (KKp x ldv) + GEMM output (max(Cp, KKp) x ldv) */
    size_t kkp = (size_t)((g->K * g->K + CRSAE_MR - 1) / CRSAE_MR * CRSAE_MR);
    size_t cp = (size_t)((g->C + CRSAE_MR - 1) / CRSAE_MR * CRSAE_MR);
    size_t m = kkp > cp ? kkp : cp;
    return (kkp + m) * (size_t)g->ldv;
}

CRSAE_CLONES
const float *crsae__analysis_row(const crsae__geom *g, const crsae__pack *p, const float *img,
                                 int u, float *scratch)
{
    const int K = g->K, s = g->s, nv = g->nv, ldv = g->ldv;
    float *R = scratch;                         /* KK x ldv */
    float *G = scratch + (size_t)p->KKp * ldv;  /* Cp x ldv */
    for (int a = 0; a < K; a++) {
        const float *row = img + (size_t)(u * s + a) * g->ldi;
        for (int b = 0; b < K; b++) {
            float *r = R + (size_t)(a * K + b) * ldv;
            const float *src = row + b;
            for (int v = 0; v < nv; v++)
                r[v] = src[(size_t)v * s];
            for (int v = nv; v < ldv; v++)
                r[v] = 0.0f;
        }
    }
    crsae__gemm(p->Cp, ldv, p->KK, p->ana, (size_t)p->KK, R, (size_t)ldv, G, (size_t)ldv);
    return G;
}

CRSAE_CLONES
void crsae__synthesis_row(const crsae__geom *g, const crsae__pack *p, const float *code,
                          int u, float sign, float *img, float *scratch)
{
    const int K = g->K, s = g->s, nv = g->nv, ldv = g->ldv;
    float *P = scratch + (size_t)p->KKp * ldv; /* KKp x ldv */
    crsae__gemm(p->KKp, ldv, p->C, p->syn, (size_t)p->C, code + (size_t)u * ldv, g->plane, P,
                (size_t)ldv);
    for (int a = 0; a < K; a++) {
        float *row = img + (size_t)(u * s + a) * g->ldi;
        for (int b = 0; b < K; b++) {
            const float *pr = P + (size_t)(a * K + b) * ldv;
            float *dst = row + b;
            for (int v = 0; v < nv; v++)
                dst[(size_t)v * s] += sign * pr[v];
        }
    }
}

/* Phased rows: a row of wd pixels stored as its s phases, phase p holding
 * pixels p, p + s, p + 2s, ... at p * lp.  The atom at v covers pixels
 * v s + b, that is phase b mod s from index v + b / s: contiguous in v, so
 * the gather and the scatter below are plain vector copies and adds. */
CRSAE_CLONES
const float *crsae__analysis_phased(const crsae__geom *g, const crsae__pack *p,
                                    const float *const *rows, int lp, float *scratch)
{
    const int K = g->K, s = g->s, nv = g->nv, ldv = g->ldv;
    float *R = scratch;                         /* KK x ldv */
    float *G = scratch + (size_t)p->KKp * ldv;  /* Cp x ldv */
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            float *r = R + (size_t)(a * K + b) * ldv;
            const float *src = rows[a] + (size_t)(b % s) * lp + b / s;
            for (int v = 0; v < nv; v++)
                r[v] = src[v];
            for (int v = nv; v < ldv; v++)
                r[v] = 0.0f;
        }
    crsae__gemm(p->Cp, ldv, p->KK, p->ana, (size_t)p->KK, R, (size_t)ldv, G, (size_t)ldv);
    return G;
}

CRSAE_CLONES
void crsae__synthesis_phased(const crsae__geom *g, const crsae__pack *p, const float *code,
                             int u, float sign, float *const *rows, int lp, float *scratch)
{
    const int K = g->K, s = g->s, nv = g->nv, ldv = g->ldv;
    float *P = scratch + (size_t)p->KKp * ldv; /* KKp x ldv */
    crsae__gemm(p->KKp, ldv, p->C, p->syn, (size_t)p->C, code + (size_t)u * ldv, g->plane, P,
                (size_t)ldv);
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            const float *pr = P + (size_t)(a * K + b) * ldv;
            float *dst = rows[a] + (size_t)(b % s) * lp + b / s;
            for (int v = 0; v < nv; v++)
                dst[v] += sign * pr[v];
        }
}
