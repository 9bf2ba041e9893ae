/* kernels_bf16.c - the encoder's two products with bfloat16 operands and
 * float sums (AVX512-BF16's vdpbf16ps), where the CPU has them: twice the
 * multiply-adds per instruction of the float tiles (kernels.c).  The
 * filters are paired once per run (crsae__pack_bf16), each product's B as
 * it is called. */
#include "crsae.h"
#include "base/alloc.h"
#include "base/cpu.h"
#include "kernels/bf16.h"
#include "kernels/microtile.h"

#ifdef CRSAE_HAVE_CLONES
#include <immintrin.h>

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
void crsae__pack_fill_pairs(crsae__pack *p)
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

void crsae__bf16_analysis_update(const crsae__geom *g, const crsae__pack *p,
                                 const float *const *at, const crsae__fista_step *up,
                                 float *scratch)
{
    uint32_t *Bp = (uint32_t *)scratch; /* KK2 x ldv pairs */
    const int KK2 = (p->KK + 1) / 2;
    pack_pairs_bf16(at, p->KK, g->ldv, Bp);
    const bands_of b = split_rows(p->C, 8);
    for (int i = 0, i0 = 0; i < b.n; i0 += b.h - (i >= b.tall), i++) {
        const crsae__fista_step band = step_from(up, i0);
        bfu_bands[b.h - (i >= b.tall)](g->ldv, KK2, p->ana2 + (size_t)i0 * KK2, (size_t)KK2, Bp,
                                       (size_t)g->ldv, &band);
    }
}

void crsae__bf16_synthesis(const crsae__geom *g, const crsae__pack *p, const float *const *cr,
                           float *const *to, float sign, float *scratch)
{
    uint32_t *Bp = (uint32_t *)scratch; /* C2 x ldv pairs */
    const int C2 = (p->C + 1) / 2, ldv = g->ldv;
    pack_pairs_bf16(cr, p->C, ldv, Bp);
    const bands_of bd = split_rows(p->KK, 8);
    for (int i = 0, i0 = 0; i < bd.n; i0 += bd.h - (i >= bd.tall), i++)
        bf_bands[bd.h - (i >= bd.tall)](ldv, C2, p->syn2 + (size_t)i0 * C2, (size_t)C2, Bp,
                                        (size_t)ldv, to + i0, sign);
}
#endif

int crsae__pack_bf16(crsae__pack *p)
{
#ifdef CRSAE_HAVE_CLONES
    if (p->ana2)
        return 1;
    if (!(crsae__cpu_features() & CRSAE_CPU_BF16))
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
    crsae__pack_fill_pairs(p);
    return 1;
#else
    (void)p;
    return 0;
#endif
}

