/* kernels.c - the GEMM, the encoder's analysis with the FISTA update, a
 * transpose, im2col/col2im for strided atoms.
 *
 * The product's micro-tiles (microtile.h) keep their accumulators in
 * registers as GCC vector types (lowered to the target's vectors); plain C
 * loops are the reference and the path of other compilers.  When built
 * with CRSAE_SIMD_CLONES the tiles are also compiled for AVX2+FMA and
 * AVX-512 and the best is picked at run time, and the encoder's products
 * may take bfloat16 operands (kernels_bf16.c); -Dsimd=false keeps the
 * portable build (no x86 target attributes, no intrinsics). */
#include "crsae.h"
#include "base/alloc.h"
#include "base/cpu.h"
#include "kernels/bf16.h"
#include "kernels/microtile.h"

#include <stdatomic.h>
#include <string.h>

#ifdef CRSAE_HAVE_CLONES
#include <immintrin.h>
#endif

#define GEMM_INIT(r, W)                                                               \
    float s##r[W];                                                                    \
    for (int j = 0; j < W; j++)                                                       \
        s##r[j] = ACC ? Cm[(size_t)r * ldc + j0 + j] : 0.0f;
#define GEMM_LOAD(r, W) const float x##r = a##r[k];
#define GEMM_FMA(r, W) s##r[j] += x##r * bj;
#define GEMM_STORE(r, W) Cm[(size_t)r * ldc + j0 + j] = s##r[j];
/* The micro-tiles of one band (ROWS) and NW columns over columns J0 .. J1 - 1. */
#define GEMM_TILES(ROWS, NW, J0, J1)                                                  \
    {                                                                                 \
    ROWS(GEMM_PTRS, NW)                                                               \
    for (int j0 = J0; j0 < J1; j0 += NW) {                                            \
        ROWS(GEMM_INIT, NW)                                                           \
        for (int k = 0; k < Kd; k++) {                                                \
            const float *bk = Bk[k] + j0;                                             \
            ROWS(GEMM_LOAD, NW)                                                       \
            for (int j = 0; j < NW; j++) {                                            \
                const float bj = bk[j];                                               \
                ROWS(GEMM_FMA, NW)                                                    \
            }                                                                         \
        }                                                                             \
        for (int j = 0; j < NW; j++) {                                                \
            ROWS(GEMM_STORE, NW)                                                      \
        }                                                                             \
    }                                                                                 \
    }
/* B comes as its rows' addresses Bk[0..Kd-1] (the encoder's analysis reads
 * the rows of its residual where they are, with no im2col copy). */
#define GEMM_ARGS                                                                     \
    int N, int Kd, const float *restrict A, size_t lda, const float *const *restrict Bk, \
        float *restrict Cm, size_t ldc
typedef void (*band_fn)(int N, int Kd, const float *A, size_t lda, const float *const *Bk,
                        float *Cm, size_t ldc);

/* A function per band height H and ACC (a constant, so that the
 * accumulators stay in registers): P##H##_0 sets C, P##H##_1 adds to it;
 * BODY(H) is its micro-tiles. */
#define BAND(ATTR, P, H, A_, BODY)                                                    \
    ATTR static void P##H##_##A_(GEMM_ARGS)                                           \
    {                                                                                 \
        const int ACC = A_;                                                           \
        BODY(H)                                                                       \
    }
#define BAND2(ATTR, P, H, BODY) BAND(ATTR, P, H, 0, BODY) BAND(ATTR, P, H, 1, BODY)
#define BANDS4(ATTR, P, BODY)                                                         \
    BAND2(ATTR, P, 1, BODY) BAND2(ATTR, P, 2, BODY) BAND2(ATTR, P, 3, BODY)           \
    BAND2(ATTR, P, 4, BODY)
#define TABLE4(P)                                                                     \
    {{NULL, P##1_0, P##2_0, P##3_0, P##4_0}, {NULL, P##1_1, P##2_1, P##3_1, P##4_1}}
#define PLAIN16(H) GEMM_TILES(GEMM_ROWS##H, CRSAE_NR, 0, N)

#if defined(__GNUC__)
#define TILES16(H) V_TILES(GEMM_ROWS##H, v8f, 2, 0, N)

/* The analysis's bands with the FISTA update as their epilogue. */
#define UPD_ARGS                                                                      \
    int N, int Kd, const float *restrict A, size_t lda, const float *const *restrict Bk, \
        const crsae__fista_step *restrict up
typedef void (*upd_fn)(UPD_ARGS);
#define UBAND(ATTR, P, H, BODY)                                                       \
    ATTR static void P##H(UPD_ARGS)                                                   \
    {                                                                                 \
        const int ACC = 0;                                                            \
        float *Cm = NULL;                                                             \
        const size_t ldc = 0;                                                         \
        (void)Cm;                                                                     \
        (void)ldc;                                                                    \
        BODY(H)                                                                       \
    }
#define UTILES16(H)                                                                   \
    V_UPDATE_CONSTS(v8f)                                                              \
    V_TILES_SAVE(GEMM_ROWS##H, v8f, 2, 0, N, V_UPDATE)
UBAND(CRSAE_CLONES, uband, 1, UTILES16)
UBAND(CRSAE_CLONES, uband, 2, UTILES16)
UBAND(CRSAE_CLONES, uband, 3, UTILES16)
UBAND(CRSAE_CLONES, uband, 4, UTILES16)
UBAND(CRSAE_CLONES, uband, 5, UTILES16)
UBAND(CRSAE_CLONES, uband, 6, UTILES16)
static const upd_fn ubands[9] = {NULL, uband1, uband2, uband3, uband4, uband5, uband6};
#define HAVE_UBANDS 1
#else
#define TILES16(H) PLAIN16(H)
#endif

/* Rows of the other targets' bands: 6 x 16 is twelve ymm accumulators
 * with AVX2 (of 16 registers; 6 % faster than 4 rows measured here with an
 * x86-64-v3 build), 24 of NEON's 32 registers. */
#define GENERIC_ROWS 6
BANDS4(, plain_band, PLAIN16)
static const band_fn plain_bands[2][9] = TABLE4(plain_band);

BANDS4(CRSAE_CLONES, band, TILES16)
BAND2(CRSAE_CLONES, band, 5, TILES16)
BAND2(CRSAE_CLONES, band, 6, TILES16)
static const band_fn bands[2][9] = {{NULL, band1_0, band2_0, band3_0, band4_0, band5_0, band6_0},
                                    {NULL, band1_1, band2_1, band3_1, band4_1, band5_1, band6_1}};

static void run_bands(const band_fn *tab, int maxh, int M, int N, int Kd, const float *A,
                      size_t lda, const float *const *Bk, float *Cm, size_t ldc)
{
    const bands_of b = split_rows(M, maxh);
    for (int i = 0, i0 = 0; i < b.n; i0 += b.h - (i >= b.tall), i++)
        tab[b.h - (i >= b.tall)](N, Kd, A + (size_t)i0 * lda, lda, Bk, Cm + (size_t)i0 * ldc,
                                 ldc);
}

/* The rows of B in chunks of KCHUNK addresses: each chunk after the first
 * adds to C, which is the same sequence of sums as one pass. */
#define KCHUNK 256
static void run_chunks(const band_fn tab[2][9], int maxh, int M, int N, int Kd, const float *A,
                       size_t lda, const float *B, size_t ldb, float *Cm, size_t ldc, int acc)
{
    const float *rows[KCHUNK];
    for (int k0 = 0; k0 < Kd || k0 == 0; k0 += KCHUNK) {
        const int n = Kd - k0 < KCHUNK ? Kd - k0 : KCHUNK;
        for (int k = 0; k < n; k++)
            rows[k] = B + (size_t)(k0 + k) * ldb;
        run_bands(tab[acc || k0 > 0], maxh, M, N, n, A + k0, lda, rows, Cm, ldc);
    }
}

void crsae__gemm_plain(int M, int N, int Kd, const float *A, size_t lda, const float *B,
                       size_t ldb, float *Cm, size_t ldc, int acc)
{
    run_chunks(plain_bands, 4, M, N, Kd, A, lda, B, ldb, Cm, ldc, acc);
}

#ifdef CRSAE_HAVE_CLONES
/* AVX-512: bands of up to 8 rows, 32-column tiles, then one of 16 when N
 * is an odd multiple of 16. */
#define TILES32(H)                                                                    \
    const int n32 = N & ~31;                                                          \
    V_TILES(GEMM_ROWS##H, v16f, 2, 0, n32)                                            \
    V_TILES(GEMM_ROWS##H, v16f, 1, n32, N)
#define V4 __attribute__((target("arch=x86-64-v4")))
BANDS4(V4, band32_, TILES32)
BAND2(V4, band32_, 5, TILES32)
BAND2(V4, band32_, 6, TILES32)
BAND2(V4, band32_, 7, TILES32)
BAND2(V4, band32_, 8, TILES32)
static const band_fn bands32[2][9] = {
    {NULL, band32_1_0, band32_2_0, band32_3_0, band32_4_0, band32_5_0, band32_6_0, band32_7_0,
     band32_8_0},
    {NULL, band32_1_1, band32_2_1, band32_3_1, band32_4_1, band32_5_1, band32_6_1, band32_7_1,
     band32_8_1}};

#define UTILES32(H)                                                                   \
    V_UPDATE_CONSTS(v16f)                                                             \
    const int n32 = N & ~31;                                                          \
    V_TILES_SAVE(GEMM_ROWS##H, v16f, 2, 0, n32, V_UPDATE)                             \
    V_TILES_SAVE(GEMM_ROWS##H, v16f, 1, n32, N, V_UPDATE)
UBAND(V4, uband32_, 1, UTILES32)
UBAND(V4, uband32_, 2, UTILES32)
UBAND(V4, uband32_, 3, UTILES32)
UBAND(V4, uband32_, 4, UTILES32)
UBAND(V4, uband32_, 5, UTILES32)
UBAND(V4, uband32_, 6, UTILES32)
UBAND(V4, uband32_, 7, UTILES32)
UBAND(V4, uband32_, 8, UTILES32)
static const upd_fn ubands32[9] = {NULL,       uband32_1, uband32_2, uband32_3, uband32_4,
                                   uband32_5, uband32_6, uband32_7, uband32_8};

static int have_avx512(void)
{
    return (crsae__cpu_features() & CRSAE_CPU_AVX512) != 0;
}
#endif

static void gemm(int M, int N, int Kd, const float *A, size_t lda, const float *B, size_t ldb,
                 float *Cm, size_t ldc, int acc)
{
#ifdef CRSAE_HAVE_CLONES
    if (have_avx512()) {
        run_chunks(bands32, 8, M, N, Kd, A, lda, B, ldb, Cm, ldc, acc);
        return;
    }
#endif
    run_chunks(bands, GENERIC_ROWS, M, N, Kd, A, lda, B, ldb, Cm, ldc, acc);
}

/* The product with B given as the addresses of its Kd rows. */
static void gemm_at(int M, int N, int Kd, const float *A, size_t lda, const float *const *Bk,
                    float *Cm, size_t ldc)
{
#ifdef CRSAE_HAVE_CLONES
    if (have_avx512()) {
        run_bands(bands32[0], 8, M, N, Kd, A, lda, Bk, Cm, ldc);
        return;
    }
#endif
    run_bands(bands[0], GENERIC_ROWS, M, N, Kd, A, lda, Bk, Cm, ldc);
}

void crsae__gemm(int M, int N, int Kd, const float *A, size_t lda, const float *B, size_t ldb,
                 float *Cm, size_t ldc)
{
    gemm(M, N, Kd, A, lda, B, ldb, Cm, ldc, 0);
}

void crsae__gemm_acc(int M, int N, int Kd, const float *A, size_t lda, const float *B,
                     size_t ldb, float *Cm, size_t ldc)
{
    gemm(M, N, Kd, A, lda, B, ldb, Cm, ldc, 1);
}

/* Transposes: 8 x 8 blocks, in registers where AVX2 is found (unpack, then
 * shuffle, then swap 128-bit halves: 24 shuffles per 64 floats; the
 * compiler makes single loads and stores of the plain loops, about 8 times
 * slower); the plain blocked loop elsewhere and for the edges. */
static void transpose_plain(int rows, int cols, const float *restrict src, size_t lds,
                            float *restrict dst, size_t ldd)
{
    for (int i0 = 0; i0 < rows; i0 += 8)
        for (int j0 = 0; j0 < cols; j0 += 8) {
            const int ni = rows - i0 < 8 ? rows - i0 : 8, nj = cols - j0 < 8 ? cols - j0 : 8;
            for (int j = 0; j < nj; j++)
                for (int i = 0; i < ni; i++)
                    dst[(size_t)(j0 + j) * ldd + i0 + i] = src[(size_t)(i0 + i) * lds + j0 + j];
        }
}

#ifdef CRSAE_HAVE_CLONES
__attribute__((target("avx2"))) static void transpose8(const float *src, size_t lds, float *dst,
                                                       size_t ldd)
{
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_ps(src + (size_t)i * lds);
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) /* rows 0-3, then 4-7 */
        for (int i = 0; i < 2; i++) {
            u[4 * h + 2 * i] = _mm256_shuffle_ps(t[4 * h + i], t[4 * h + i + 2], 0x44);
            u[4 * h + 2 * i + 1] = _mm256_shuffle_ps(t[4 * h + i], t[4 * h + i + 2], 0xEE);
        }
    for (int j = 0; j < 4; j++) {
        _mm256_storeu_ps(dst + (size_t)j * ldd, _mm256_permute2f128_ps(u[j], u[j + 4], 0x20));
        _mm256_storeu_ps(dst + (size_t)(j + 4) * ldd,
                         _mm256_permute2f128_ps(u[j], u[j + 4], 0x31));
    }
}

static int have_avx2(void)
{
    return (crsae__cpu_features() & CRSAE_CPU_AVX2) != 0;
}
#endif

void crsae__transpose(int rows, int cols, const float *src, size_t lds, float *dst, size_t ldd)
{
#ifdef CRSAE_HAVE_CLONES
    if (have_avx2()) {
        const int r8 = rows & ~7, c8 = cols & ~7;
        for (int i0 = 0; i0 < r8; i0 += 8)
            for (int j0 = 0; j0 < c8; j0 += 8)
                transpose8(src + (size_t)i0 * lds + j0, lds, dst + (size_t)j0 * ldd + i0, ldd);
        if (c8 < cols) /* the last columns of every row */
            transpose_plain(rows, cols - c8, src + c8, lds, dst + (size_t)c8 * ldd, ldd);
        if (r8 < rows) /* the last rows of the other columns */
            transpose_plain(rows - r8, c8, src + (size_t)r8 * lds, lds, dst + r8, ldd);
        return;
    }
#endif
    transpose_plain(rows, cols, src, lds, dst, ldd);
}

void crsae__transpose_plain(int rows, int cols, const float *src, size_t lds, float *dst,
                            size_t ldd)
{
    transpose_plain(rows, cols, src, lds, dst, ldd);
}

int crsae__pack_init(crsae__pack *p, const float *bank, int C, int K)
{
    memset(p, 0, sizeof *p);
    p->C = C;
    p->K = K;
    p->KK = K * K;
    p->ana = crsae__malloc_aligned((size_t)C * p->KK * sizeof(float));
    p->syn = crsae__malloc_aligned((size_t)p->KK * C * sizeof(float));
    if (!p->ana || !p->syn) {
        crsae__pack_free(p);
        return -1;
    }
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
#ifdef CRSAE_HAVE_CLONES
    if (p->ana2)
        crsae__pack_fill_pairs(p);
#endif
}

void crsae__pack_free(crsae__pack *p)
{
    crsae__free_aligned(p->ana);
    crsae__free_aligned(p->syn);
    crsae__free_aligned(p->ana2);
    crsae__free_aligned(p->syn2);
    p->ana = p->syn = NULL;
    p->ana2 = p->syn2 = NULL;
}

/* Rows of ldv floats at the start of the row scratch: an im2col block (KK
 * rows) or a product's B as bf16 pairs (ceil(KK / 2) or ceil(C / 2)). */
static size_t pair_rows(const crsae__geom *g)
{
    size_t kk = (size_t)g->K * (size_t)g->K, c2 = ((size_t)g->C + 1) / 2;
    return kk > c2 ? kk : c2;
}

size_t crsae__row_scratch(const crsae__geom *g)
{
    /* the block above + a product (max(C, KK) x ldv) */
    size_t kk = (size_t)g->K * (size_t)g->K, c = (size_t)g->C;
    return (pair_rows(g) + (kk > c ? kk : c)) * (size_t)g->ldv;
}

CRSAE_CLONES
const float *crsae__analysis_row(const crsae__geom *g, const crsae__pack *p, const float *img,
                                 int u, float *scratch)
{
    const int K = g->K, s = g->s, nv = g->nv, ldv = g->ldv;
    float *R = scratch;                         /* KK x ldv */
    float *G = scratch + pair_rows(g) * ldv;    /* C x ldv */
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
    crsae__gemm(p->C, ldv, p->KK, p->ana, (size_t)p->KK, R, (size_t)ldv, G, (size_t)ldv);
    return G;
}

CRSAE_CLONES
void crsae__synthesis_row(const crsae__geom *g, const crsae__pack *p, const float *code,
                          int u, float sign, float *img, float *scratch)
{
    const int K = g->K, s = g->s, nv = g->nv, ldv = g->ldv;
    float *P = scratch + pair_rows(g) * ldv; /* KK x ldv */
    crsae__gemm(p->KK, ldv, p->C, p->syn, (size_t)p->C, code + (size_t)u * g->rowp, g->plane, P,
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

int crsae__phase_len(const crsae__geom *g)
{
    return (g->wd + g->s - 1) / g->s;
}

void crsae__phase(const crsae__geom *g, const float *img, float *pimg)
{
    const int s = g->s, lp = crsae__phase_len(g), wd = g->wd;
    for (int r = 0; r < g->hd; r++) {
        const float *src = img + (size_t)r * g->ldi;
        float *dst = pimg + (size_t)r * s * lp;
        for (int p = 0; p < s; p++) {
            const int n = (wd - p + s - 1) / s; /* pixels p, p + s, ... below wd */
            for (int j = 0; j < n; j++)
                dst[(size_t)p * lp + j] = src[p + (size_t)j * s];
            for (int j = n; j < lp; j++)
                dst[(size_t)p * lp + j] = 0.0f;
        }
    }
}

void crsae__unphase(const crsae__geom *g, const float *pimg, float *img)
{
    const int s = g->s, lp = crsae__phase_len(g), wd = g->wd;
    for (int r = 0; r < g->hd; r++) {
        const float *src = pimg + (size_t)r * s * lp;
        float *dst = img + (size_t)r * g->ldi;
        for (int p = 0; p < s; p++) {
            const int n = (wd - p + s - 1) / s;
            for (int j = 0; j < n; j++)
                dst[p + (size_t)j * s] = src[(size_t)p * lp + j];
        }
    }
}

/* Phased rows: a row of wd pixels stored as its s phases, phase p holding
 * pixels p, p + s, p + 2s, ... at p * lp.  The atom at v covers pixels
 * v s + b, that is phase b mod s from index v + b / s: contiguous in v, so
 * the analysis multiplies the rows where they lie (the product reads B by
 * its rows' addresses) and the synthesis scatters with vector adds. */
const float *crsae__analysis_phased(const crsae__geom *g, const crsae__pack *p,
                                    const float *const *rows, int lp, float *scratch)
{
    const int K = g->K, s = g->s, ldv = g->ldv;
    float *G = scratch + pair_rows(g) * ldv; /* C x ldv */
    const float *at[CRSAE_MAX_SIZE * CRSAE_MAX_SIZE];
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++)
            at[a * K + b] = rows[a] + (size_t)(b % s) * lp + b / s;
    gemm_at(p->C, ldv, p->KK, p->ana, (size_t)p->KK, at, G, (size_t)ldv);
    return G;
}

/* The scalar FISTA update of channels [c0, c1) from their analysis G
 * (pitch ldg). */
static void update_plain(const crsae__fista_step *up, const float *G, size_t ldg, int c0, int c1)
{
    for (int c = c0; c < c1; c++) {
        const float b = up->bias[c];
        const float *gr = G + (size_t)c * ldg;
        float *xr = up->x + (size_t)c * up->plane, *wr = up->w + (size_t)c * up->plane;
        for (int v = 0; v < up->nv; v++) {
            float xn = crsae__soft_threshold(wr[v] + up->step * gr[v], b);
            wr[v] = xn + up->momentum * (xn - xr[v]);
            xr[v] = xn;
        }
    }
}

void crsae__analysis_update_plain(const crsae__geom *g, const crsae__pack *p,
                                  const float *const *rows, int lp, const crsae__fista_step *up,
                                  float *scratch)
{
    const float *G = crsae__analysis_phased(g, p, rows, lp, scratch);
    update_plain(up, G, (size_t)g->ldv, 0, g->C);
}

#ifdef HAVE_UBANDS
static void run_ubands(const upd_fn *tab, int maxh, int M, int N, int Kd, const float *A,
                       size_t lda, const float *const *Bk, const crsae__fista_step *up)
{
    const bands_of b = split_rows(M, maxh);
    for (int i = 0, i0 = 0; i < b.n; i0 += b.h - (i >= b.tall), i++) {
        const crsae__fista_step band = step_from(up, i0);
        tab[b.h - (i >= b.tall)](N, Kd, A + (size_t)i0 * lda, lda, Bk, &band);
    }
}
#endif

void crsae__analysis_update(const crsae__geom *g, const crsae__pack *p,
                            const float *const *rows, int lp, const crsae__fista_step *up,
                            float *scratch)
{
#ifdef HAVE_UBANDS
    const int K = g->K, s = g->s;
    const float *at[CRSAE_MAX_SIZE * CRSAE_MAX_SIZE];
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++)
            at[a * K + b] = rows[a] + (size_t)(b % s) * lp + b / s;
#ifdef CRSAE_HAVE_CLONES
    if (p->ana2) {
        crsae__bf16_analysis_update(g, p, at, up, scratch);
        return;
    }
    if (have_avx512()) {
        run_ubands(ubands32, 8, p->C, g->ldv, p->KK, p->ana, (size_t)p->KK, at, up);
        return;
    }
#endif
    (void)scratch;
    run_ubands(ubands, GENERIC_ROWS, p->C, g->ldv, p->KK, p->ana, (size_t)p->KK, at, up);
#else
    crsae__analysis_update_plain(g, p, rows, lp, up, scratch);
#endif
}

CRSAE_CLONES
void crsae__synthesis_phased(const crsae__geom *g, const crsae__pack *p, const float *code,
                             int u, float sign, float *const *rows, int lp, float *scratch)
{
    const int K = g->K, s = g->s, nv = g->nv, ldv = g->ldv;
    float *P = scratch + pair_rows(g) * ldv; /* KK x ldv */
#ifdef CRSAE_HAVE_CLONES
    if (p->syn2) {
        /* the product goes straight into the rows: its columns nv.. are
         * zero (so are the code's), and add nothing where they land */
        const float *cr[CRSAE_MAX_FILTERS];
        float *to[CRSAE_MAX_SIZE * CRSAE_MAX_SIZE];
        for (int c = 0; c < p->C; c++)
            cr[c] = code + (size_t)u * g->rowp + (size_t)c * g->plane;
        for (int a = 0; a < K; a++)
            for (int b = 0; b < K; b++)
                to[a * K + b] = rows[a] + (size_t)(b % s) * lp + b / s;
        crsae__bf16_synthesis(g, p, cr, to, sign, scratch);
        return;
    }
#endif
    crsae__gemm(p->KK, ldv, p->C, p->syn, (size_t)p->C, code + (size_t)u * g->rowp, g->plane, P,
                (size_t)ldv);
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            const float *pr = P + (size_t)(a * K + b) * ldv;
            float *dst = rows[a] + (size_t)(b % s) * lp + b / s;
            for (int v = 0; v < nv; v++)
                dst[v] += sign * pr[v];
        }
}
