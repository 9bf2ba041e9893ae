/* kernels.c - the GEMM, a transpose, im2col/col2im for strided atoms.
 *
 * The product's micro-tiles keep their accumulators in registers as GCC
 * vector types (lowered to the target's vectors); plain C loops are the
 * reference and the path of other compilers.  When built with
 * CRSAE_SIMD_CLONES the tiles are also compiled for AVX2+FMA and AVX-512
 * and the best is picked at run time; -Dsimd=false keeps the portable
 * build (no x86 target attributes, no intrinsics). */
#include "kernels.h"
#include "internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdatomic.h>
#include <string.h>

#ifdef CRSAE_HAVE_CLONES
#include <immintrin.h>
#endif

/* The product is cut into bands of at most GENERIC_ROWS (6) rows of A
 * (and C), or, on AVX-512, 8.  A band of h rows goes through micro-tiles
 * of h x 16 (and, on AVX-512, h x 32: sixteen zmm accumulators, twice the
 * chains two FMA pipes of latency 4 need, so a late load stalls nothing).
 * The bands of an M-row product are as even as they can be (49 rows: seven
 * of 7, not six of 8 and one of 1, nor 56 with padding).
 *
 * One body for every tile: ROWS repeats a step for each row r of the
 * micro-tile, with its own named pointer and accumulators so that the
 * compiler keeps them in registers.  ACC (a parameter of the functions):
 * the accumulators start from C, so that the product is added to it. */
#define GEMM_ROWS1(X, W) X(0, W)
#define GEMM_ROWS2(X, W) GEMM_ROWS1(X, W) X(1, W)
#define GEMM_ROWS3(X, W) GEMM_ROWS2(X, W) X(2, W)
#define GEMM_ROWS4(X, W) GEMM_ROWS3(X, W) X(3, W)
#define GEMM_ROWS5(X, W) GEMM_ROWS4(X, W) X(4, W)
#define GEMM_ROWS6(X, W) GEMM_ROWS5(X, W) X(5, W)
#define GEMM_ROWS7(X, W) GEMM_ROWS6(X, W) X(6, W)
#define GEMM_ROWS8(X, W) GEMM_ROWS7(X, W) X(7, W)
#define GEMM_PTRS(r, W) const float *a##r = A + (size_t)r * lda;
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

/* The tiles the kernels run are written with vector types (a GCC extension
 * that clang shares; lowered to whatever vectors the target has): with
 * plain float arrays of accumulators gcc keeps some of them on the stack
 * (8 x 32) or, with B given by its rows' addresses, does not vectorize at
 * all.  A tile has NV vectors of type VT per row; the plain loops above
 * are the reference (crsae__gemm_plain) and the path of other compilers. */
#if defined(__GNUC__)
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
#define V_LOAD(v, p) __builtin_memcpy(&(v), (p), sizeof(vt_))
#define V_STORE(p, v) __builtin_memcpy((p), &(v), sizeof(vt_))
#define V_INIT(r, W)                                                                  \
    vt_ s##r##0 = {0}, s##r##1 = {0};                                                 \
    if (ACC) {                                                                        \
        V_LOAD(s##r##0, Cm + (size_t)r * ldc + j0);                                   \
        if (nv_ == 2)                                                                 \
            V_LOAD(s##r##1, Cm + (size_t)r * ldc + j0 + lanes_);                      \
    }
#define V_FMA(r, W)                                                                   \
    {                                                                                 \
        const float x = a##r[k];                                                      \
        s##r##0 += b0 * x;                                                            \
        if (nv_ == 2)                                                                 \
            s##r##1 += b1 * x;                                                        \
    }
#define V_SAVE(r, W)                                                                  \
    V_STORE(Cm + (size_t)r * ldc + j0, s##r##0);                                      \
    if (nv_ == 2)                                                                     \
        V_STORE(Cm + (size_t)r * ldc + j0 + lanes_, s##r##1);
#define V_TILES(ROWS, VT, NV, J0, J1) V_TILES_SAVE(ROWS, VT, NV, J0, J1, V_SAVE)
#define V_TILES_SAVE(ROWS, VT, NV, J0, J1, SAVE)                                      \
    {                                                                                 \
        typedef VT vt_;                                                               \
        enum { nv_ = NV, lanes_ = sizeof(VT) / sizeof(float) };                       \
        ROWS(GEMM_PTRS, 0)                                                            \
        for (int j0 = J0; j0 < J1; j0 += nv_ * lanes_) {                              \
            ROWS(V_INIT, 0)                                                           \
            for (int k = 0; k < Kd; k++) {                                            \
                const float *bk = Bk[k] + j0;                                         \
                vt_ b0, b1 = {0};                                                     \
                V_LOAD(b0, bk);                                                       \
                if (nv_ == 2)                                                         \
                    V_LOAD(b1, bk + lanes_);                                          \
                ROWS(V_FMA, 0)                                                        \
            }                                                                         \
            ROWS(SAVE, 0)                                                             \
        }                                                                             \
    }
#define TILES16(H) V_TILES(GEMM_ROWS##H, v8f, 2, 0, N)

/* The FISTA update as the analysis's epilogue (crsae__analysis_update):
 * a tile's sums are the analysis of its channels and columns; they update
 * x and w there and are never stored (one pass less over the code row:
 * 4 % of a denoising).  Each step is the scalar update's (update_plain),
 * lane by lane, up to where the compiler contracts a multiply-add. */
#define V_UPDATE1(r, S, OFF)                                                          \
    {                                                                                 \
        float *xp = up->x + (size_t)r * up->plane + j0 + OFF;                         \
        float *wp = up->w + (size_t)r * up->plane + j0 + OFF;                         \
        vt_ xo, wo, bias = {0};                                                       \
        V_LOAD(xo, xp);                                                               \
        V_LOAD(wo, wp);                                                               \
        bias += up->bias[r];                                                          \
        const vt_ z = wo + step * S;                                                  \
        const vi_ zi = (vi_)z;                                                        \
        const vt_ m = (vt_)(zi & 0x7fffffff) - bias;                                  \
        const vi_ in = iota + (j0 + OFF) < nvv;                                       \
        const vt_ xn = (vt_)((((vi_)m & (m > 0)) | (zi & INT_MIN)) & in);     \
        const vt_ wn = xn + mom * (xn - xo);                                          \
        V_STORE(xp, xn);                                                              \
        V_STORE(wp, wn);                                                              \
    }
#define V_UPDATE(r, W)                                                                \
    V_UPDATE1(r, s##r##0, 0)                                                          \
    if (nv_ == 2)                                                                     \
        V_UPDATE1(r, s##r##1, lanes_)
/* The constants of the epilogue, for vector type VT. */
#define V_UPDATE_CONSTS(VT)                                                           \
    typedef int vi_ __attribute__((vector_size(sizeof(VT))));                         \
    VT step = {0}, mom = {0};                                                         \
    vi_ iota, nvv = {0};                                                              \
    step += up->step;                                                                 \
    mom += up->momentum;                                                              \
    nvv += up->nv;                                                                    \
    for (int l = 0; l < (int)(sizeof(VT) / sizeof(float)); l++)                      \
        iota[l] = l;
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

/* M rows as bands of at most maxh rows, as even as they can be: n bands,
 * the first `tall` of h rows, the others of h - 1. */
typedef struct bands_of {
    int n, h, tall;
} bands_of;
static bands_of split_rows(int M, int maxh)
{
    bands_of b = {(M + maxh - 1) / maxh, 0, 0};
    if (b.n > 0) {
        b.h = (M + b.n - 1) / b.n;
        b.tall = M - b.n * (b.h - 1);
    }
    return b;
}

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

/* bfloat16 products (AVX512-BF16): a 32-bit word holds two bfloat16, the
 * terms k and k + 1 of a product's sum (k in its low half), and
 * vdpbf16ps adds both products of each lane to a float sum.  A is packed
 * so once (crsae__pack_bf16), B per call (pack_pairs_bf16). */
#define BF4 __attribute__((target("arch=x86-64-v4,avx512bf16")))
#define BF_PTRS(r, W) const uint32_t *a##r = A + (size_t)r * lda;
#define BF_INIT(r, W) vt_ s##r##0 = {0}, s##r##1 = {0};
#define BF_DOT(r, W)                                                                  \
    {                                                                                 \
        const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a##r[k]);                 \
        s##r##0 = (vt_)_mm512_dpbf16_ps((__m512)s##r##0, x, b0);                      \
        if (nv_ == 2)                                                                 \
            s##r##1 = (vt_)_mm512_dpbf16_ps((__m512)s##r##1, x, b1);                  \
    }
#define BF_TILES(ROWS, NV, J0, J1, SAVE)                                              \
    {                                                                                 \
        typedef v16f vt_;                                                             \
        enum { nv_ = NV, lanes_ = 16 };                                               \
        ROWS(BF_PTRS, 0)                                                              \
        for (int j0 = J0; j0 < J1; j0 += nv_ * lanes_) {                              \
            ROWS(BF_INIT, 0)                                                          \
            for (int k = 0; k < Kd; k++) {                                            \
                const uint32_t *bk = B + (size_t)k * ldb + j0;                        \
                const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bk);                 \
                const __m512bh b1 =                                                   \
                    nv_ == 2 ? (__m512bh)_mm512_loadu_si512(bk + lanes_) : b0;        \
                ROWS(BF_DOT, 0)                                                       \
            }                                                                         \
            ROWS(SAVE, 0)                                                             \
        }                                                                             \
    }
#define BF_BODY(H, SAVE)                                                              \
    const int n32 = N & ~31;                                                          \
    BF_TILES(GEMM_ROWS##H, 2, 0, n32, SAVE)                                           \
    BF_TILES(GEMM_ROWS##H, 1, n32, N, SAVE)
/* The synthesis's product added (times sign) to rows given by their
 * addresses Ck, which may overlap (a phase's run at offsets 0 and 1): each
 * row is loaded after the one before it is stored, so Ck is not restrict.
 * The analysis's product, with the FISTA update as its epilogue. */
#define BF_ADD(r, W)                                                                  \
    {                                                                                 \
        float *dr = Ck[r] + j0;                                                       \
        vt_ d;                                                                        \
        V_LOAD(d, dr);                                                                \
        d += sgn * s##r##0;                                                           \
        V_STORE(dr, d);                                                               \
        if (nv_ == 2) {                                                               \
            V_LOAD(d, dr + lanes_);                                                   \
            d += sgn * s##r##1;                                                       \
            V_STORE(dr + lanes_, d);                                                  \
        }                                                                             \
    }
#define BF_ARGS                                                                       \
    int N, int Kd, const uint32_t *restrict A, size_t lda, const uint32_t *restrict B, \
        size_t ldb
typedef void (*bf_fn)(BF_ARGS, float *const *Ck, float sign);
typedef void (*bfu_fn)(BF_ARGS, const crsae__fista_step *restrict up);
#define BF_BAND(H)                                                                    \
    BF4 static void bf_band##H(BF_ARGS, float *const *Ck, float sign)                 \
    {                                                                                 \
        v16f sgn = {0};                                                               \
        sgn += sign;                                                                  \
        BF_BODY(H, BF_ADD)                                                            \
    }                                                                                 \
    BF4 static void bfu_band##H(BF_ARGS, const crsae__fista_step *restrict up)        \
    {                                                                                 \
        V_UPDATE_CONSTS(v16f)                                                         \
        BF_BODY(H, V_UPDATE)                                                          \
    }
BF_BAND(1)
BF_BAND(2)
BF_BAND(3)
BF_BAND(4)
BF_BAND(5)
BF_BAND(6)
BF_BAND(7)
BF_BAND(8)
static const bf_fn bf_bands[9] = {NULL,      bf_band1, bf_band2, bf_band3, bf_band4,
                                  bf_band5, bf_band6, bf_band7, bf_band8};
static const bfu_fn bfu_bands[9] = {NULL,       bfu_band1, bfu_band2, bfu_band3, bfu_band4,
                                    bfu_band5, bfu_band6, bfu_band7, bfu_band8};

/* pack_pairs with the CPU's conversion (vcvtne2ps2bf16, nearest even),
 * then the halves interleaved (vpermw): rows src[0..rows-1] (n floats
 * each, n a multiple of 16) as ceil(rows / 2) rows of pairs (pitch n
 * words), rows 2k and 2k + 1 in row k, a missing last one as zeros. */
BF4 static void pack_pairs_bf16(const float *const *src, int rows, int n, uint32_t *dst)
{
    __m512i idx;
    {
        short ix[32];
        for (int v = 0; v < 16; v++) {
            ix[2 * v] = (short)v;
            ix[2 * v + 1] = (short)(16 + v);
        }
        idx = _mm512_loadu_si512(ix);
    }
    for (int k = 0; k < rows; k += 2) {
        const float *lo = src[k], *hi = k + 1 < rows ? src[k + 1] : NULL;
        uint32_t *d = dst + (size_t)(k / 2) * n;
        for (int v = 0; v < n; v += 16) {
            const __m512 h = hi ? _mm512_loadu_ps(hi + v) : _mm512_setzero_ps();
            const __m512bh e = _mm512_cvtne2ps_pbh(h, _mm512_loadu_ps(lo + v));
            _mm512_storeu_si512(d + v, _mm512_permutexvar_epi16(idx, (__m512i)e));
        }
    }
}

static int have_bf16(void)
{
    static atomic_int known; /* 0: not yet asked, 1: no, 2: yes */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (k == 0) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
                ? 2
                : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
}

/* Whether the AVX-512 tiles can run here (asked once). */
static int have_avx512(void)
{
    static atomic_int known; /* 0: not yet asked, 1: no, 2: yes */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (k == 0) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
                ? 2
                : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
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
    static atomic_int known; /* 0: not yet asked, 1: no, 2: yes */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (k == 0) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("avx2") ? 2 : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
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

/* A float rounded to bfloat16 (to nearest, ties to even), in the high half
 * of a word, and two of them as the pair (lo, hi) of the bf16 products. */
static inline uint32_t bf16_high(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return u & 0xffff0000u;
}

static inline uint32_t bf16_pair(float lo, float hi)
{
    return bf16_high(hi) | (bf16_high(lo) >> 16);
}

/* The banks as bf16 pairs: ana2 C x ceil(KK / 2), syn2 KK x ceil(C / 2). */
static void fill_pairs(crsae__pack *p)
{
    const int KK2 = (p->KK + 1) / 2, C2 = (p->C + 1) / 2;
    for (int c = 0; c < p->C; c++)
        for (int k = 0; k < KK2; k++) {
            const float *a = p->ana + (size_t)c * p->KK;
            p->ana2[(size_t)c * KK2 + k] =
                bf16_pair(a[2 * k], 2 * k + 1 < p->KK ? a[2 * k + 1] : 0.0f);
        }
    for (int k = 0; k < p->KK; k++)
        for (int c = 0; c < C2; c++) {
            const float *a = p->syn + (size_t)k * p->C;
            p->syn2[(size_t)k * C2 + c] =
                bf16_pair(a[2 * c], 2 * c + 1 < p->C ? a[2 * c + 1] : 0.0f);
        }
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
    if (p->ana2)
        fill_pairs(p);
}

int crsae__pack_bf16(crsae__pack *p)
{
#ifdef CRSAE_HAVE_CLONES
    if (p->ana2)
        return 1;
    if (!have_bf16())
        return 0;
    const size_t KK2 = ((size_t)p->KK + 1) / 2, C2 = ((size_t)p->C + 1) / 2;
    p->ana2 = crsae__malloc_aligned((size_t)p->C * KK2 * sizeof(uint32_t));
    p->syn2 = crsae__malloc_aligned((size_t)p->KK * C2 * sizeof(uint32_t));
    if (!p->ana2 || !p->syn2) {
        crsae__free_aligned(p->ana2);
        crsae__free_aligned(p->syn2);
        p->ana2 = p->syn2 = NULL;
        return -1;
    }
    fill_pairs(p);
    return 1;
#else
    (void)p;
    return 0;
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

/* The update of channels i0.. (a band of the fused product). */
static crsae__fista_step step_from(const crsae__fista_step *up, int i0)
{
    crsae__fista_step band = *up;
    band.x += (size_t)i0 * up->plane;
    band.w += (size_t)i0 * up->plane;
    band.bias += i0;
    return band;
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
        uint32_t *Bp = (uint32_t *)scratch; /* KK2 x ldv pairs */
        const int KK2 = (p->KK + 1) / 2;
        pack_pairs_bf16(at, p->KK, g->ldv, Bp);
        const bands_of b = split_rows(p->C, 8);
        for (int i = 0, i0 = 0; i < b.n; i0 += b.h - (i >= b.tall), i++) {
            const crsae__fista_step band = step_from(up, i0);
            bfu_bands[b.h - (i >= b.tall)](g->ldv, KK2, p->ana2 + (size_t)i0 * KK2,
                                           (size_t)KK2, Bp, (size_t)g->ldv, &band);
        }
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
        uint32_t *Bp = (uint32_t *)scratch; /* C2 x ldv pairs */
        const int C2 = (p->C + 1) / 2;
        pack_pairs_bf16(cr, p->C, ldv, Bp);
        const bands_of bd = split_rows(p->KK, 8);
        for (int i = 0, i0 = 0; i < bd.n; i0 += bd.h - (i >= bd.tall), i++)
            bf_bands[bd.h - (i >= bd.tall)](ldv, C2, p->syn2 + (size_t)i0 * C2, (size_t)C2, Bp,
                                            (size_t)ldv, to + i0, sign);
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
