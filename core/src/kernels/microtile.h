/* microtile.h - the micro-tiles of the kernels' matrix products, shared by
 * kernels.c (float products) and kernels_bf16.c (bfloat16 products): the
 * rows of a band, the vector types, the FISTA update as an epilogue, how a
 * product is cut into bands.  Private to those two files. */
#ifndef CRSAE_MICROTILE_H
#define CRSAE_MICROTILE_H

#include "kernels/kernels.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

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
#endif

/* M rows as bands of at most maxh rows, as even as they can be: n bands,
 * the first `tall` of h rows, the others of h - 1. */
typedef struct bands_of {
    int n, h, tall;
} bands_of;
static inline bands_of split_rows(int M, int maxh)
{
    bands_of b = {(M + maxh - 1) / maxh, 0, 0};
    if (b.n > 0) {
        b.h = (M + b.n - 1) / b.n;
        b.tall = M - b.n * (b.h - 1);
    }
    return b;
}

/* The update of channels i0.. (a band of the fused product). */
static inline crsae__fista_step step_from(const crsae__fista_step *up, int i0)
{
    crsae__fista_step band = *up;
    band.x += (size_t)i0 * up->plane;
    band.w += (size_t)i0 * up->plane;
    band.bias += i0;
    return band;
}

#endif
