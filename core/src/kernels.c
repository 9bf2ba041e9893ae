/* kernels.c - GEMM micro-kernel, im2col/col2im for strided atoms.
 *
 * The product is written in plain C with a fixed MR x NR block of
 * accumulators so that the compiler keeps them in vector registers.  When
 * built with CRSAE_SIMD_CLONES the same source is compiled for AVX2+FMA and
 * AVX-512 as well and the best one is picked at load time; the build
 * option -Dsimd=false keeps only the plain path. */
#include "kernels.h"
#include "internal.h"

#include <stdatomic.h>
#include <string.h>

/* Rows of A (and C) per micro-tile: 4 (4 x 16 accumulators: 8 ymm
 * registers with AVX2, 4 zmm with AVX-512) or, on AVX-512 only, 8 - with
 * two FMA pipes of latency 4, four chains leave half of them idle, and
 * sixteen ymm accumulators would spill on AVX2.  One body for both: ROWS
 * repeats a step for each row r of the micro-tile, with its own named
 * pointers and accumulators so that the compiler keeps them in registers. */
#define GEMM_ROWS4(X) X(0) X(1) X(2) X(3)
#define GEMM_ROWS8(X) GEMM_ROWS4(X) X(4) X(5) X(6) X(7)
#define GEMM_PTRS(r)                                                                  \
    const float *a##r = A + (size_t)(i0 + r) * lda;                                   \
    float *c##r = Cm + (size_t)(i0 + r) * ldc;
#define GEMM_ZERO(r) float s##r[CRSAE_NR] = {0};
#define GEMM_LOAD(r) const float x##r = a##r[k];
#define GEMM_FMA(r) s##r[j] += x##r * bj;
#define GEMM_STORE(r) c##r[j0 + j] = s##r[j];
#define GEMM_TILES(MR, ROWS)                                                          \
    for (int i0 = 0; i0 < M; i0 += MR) {                                              \
        ROWS(GEMM_PTRS)                                                               \
        for (int j0 = 0; j0 < N; j0 += CRSAE_NR) {                                    \
            ROWS(GEMM_ZERO)                                                           \
            const float *b = B + j0;                                                  \
            for (int k = 0; k < Kd; k++) {                                            \
                const float *bk = b + (size_t)k * ldb;                                \
                ROWS(GEMM_LOAD)                                                       \
                for (int j = 0; j < CRSAE_NR; j++) {                                  \
                    const float bj = bk[j];                                           \
                    ROWS(GEMM_FMA)                                                    \
                }                                                                     \
            }                                                                         \
            for (int j = 0; j < CRSAE_NR; j++) {                                      \
                ROWS(GEMM_STORE)                                                      \
            }                                                                         \
        }                                                                             \
    }
#define GEMM_BODY GEMM_TILES(CRSAE_MR, GEMM_ROWS4)
#define GEMM_BODY8 GEMM_TILES(8, GEMM_ROWS8)

void crsae__gemm_plain(int M, int N, int Kd, const float *restrict A, size_t lda,
                       const float *restrict B, size_t ldb, float *restrict Cm, size_t ldc)
{
    GEMM_BODY
}

CRSAE_CLONES
static void gemm4(int M, int N, int Kd, const float *restrict A, size_t lda,
                  const float *restrict B, size_t ldb, float *restrict Cm, size_t ldc)
{
    GEMM_BODY
}

#ifdef CRSAE_HAVE_CLONES
__attribute__((target("arch=x86-64-v4"))) static void
gemm8(int M, int N, int Kd, const float *restrict A, size_t lda, const float *restrict B,
      size_t ldb, float *restrict Cm, size_t ldc)
{
    GEMM_BODY8
}

static int detect_rows(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
               ? 8
               : 4;
}
#else
static int detect_rows(void)
{
    return 4;
}
#endif

int crsae__gemm_rows(void)
{
    static atomic_int rows; /* 0: not yet asked */
    int r = atomic_load_explicit(&rows, memory_order_relaxed);
    if (r == 0) {
        r = detect_rows();
        atomic_store_explicit(&rows, r, memory_order_relaxed);
    }
    return r;
}

void crsae__gemm(int M, int N, int Kd, const float *restrict A, size_t lda,
                 const float *restrict B, size_t ldb, float *restrict Cm, size_t ldc)
{
    int m8 = 0;
#ifdef CRSAE_HAVE_CLONES
    if (crsae__gemm_rows() == 8) {
        m8 = M & ~7;
        if (m8)
            gemm8(m8, N, Kd, A, lda, B, ldb, Cm, ldc);
    }
#endif
    if (M > m8)
        gemm4(M - m8, N, Kd, A + (size_t)m8 * lda, lda, B, ldb, Cm + (size_t)m8 * ldc, ldc);
}

int crsae__pack_init(crsae__pack *p, const float *bank, int C, int K)
{
    memset(p, 0, sizeof *p);
    int KK = K * K;
    p->C = C;
    p->K = K;
    p->KK = KK;
    const int mr = crsae__gemm_rows();
    p->Cp = (C + mr - 1) / mr * mr;
    p->KKp = (KK + mr - 1) / mr * mr;
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
    const int mr = crsae__gemm_rows();
    size_t kkp = (size_t)((g->K * g->K + mr - 1) / mr * mr);
    size_t cp = (size_t)((g->C + mr - 1) / mr * mr);
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
