/* kernels.h - the convolution kernels of the encoder and decoder.
 *
 * A domain is an image of hd x wd pixels (row pitch ldi floats) that holds
 * exactly nu x nv atoms of a K x K dictionary at stride s:
 * hd = (nu-1)s + K, wd = (nv-1)s + K.  A code is C planes of nu rows of
 * ldv floats (ldv >= nv, a multiple of CRSAE_NR; columns nv..ldv-1 are kept
 * zero): row u of plane c at c * plane + u * rowp.  The encoder interleaves
 * the planes (plane = ldv, rowp = C ldv: a code row's C planes lie
 * together, so an iteration's sweep reads and writes contiguous memory);
 * training keeps whole planes (rowp = ldv).
 *
 * Both operators are small matrix products per code row: the analysis
 * H^T r gathers the K*K pixels under each atom (im2col) and multiplies by
 * the C x K*K bank; the synthesis H z multiplies the K*K x C transposed
 * bank by the code row and scatters the patches (col2im). */
#ifndef CRSAE_KERNELS_H
#define CRSAE_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Hot loops are compiled for AVX-512, AVX2+FMA and the x86-64 baseline and
 * picked at load time (function multi-versioning); -Dsimd=false or other
 * CPUs get the plain path only. */
#if defined(CRSAE_SIMD_CLONES) && defined(__GNUC__) && defined(__x86_64__)
#define CRSAE_HAVE_CLONES 1
#define CRSAE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CRSAE_CLONES
#endif

/* The two-sided ReLU: S_b(z) = sign(z) max(|z| - b, 0), b >= 0. */
static inline float crsae__soft_threshold(float z, float b)
{
    float m = fabsf(z) - b;
    return copysignf(m > 0.0f ? m : 0.0f, z);
}

#define CRSAE_NR 16 /* columns of the GEMM micro-tile; ldv is a multiple */

typedef struct crsae__geom {
    int C, K, s;
    int nu, nv, ldv;
    int hd, wd;
    size_t ldi;   /* row pitch of domain images */
    size_t plane; /* pitch between code planes */
    size_t rowp;  /* pitch between code rows */
    size_t code;  /* floats of a whole code */
} crsae__geom;

/* A filter bank packed for the kernels: ana is C x KK (analysis), syn is
 * KK x C (synthesis). */
typedef struct crsae__pack {
    int C, K, KK;
    float *ana; /* C x KK */
    float *syn; /* KK x C */
    /* NULL, or (crsae__pack_bf16) the banks as pairs of bfloat16 for the
     * encoder's kernels, which then multiply in bfloat16 and add in float */
    uint32_t *ana2, *syn2;
} crsae__pack;

int crsae__pack_init(crsae__pack *p, const float *bank, int C, int K);
void crsae__pack_free(crsae__pack *p);
/* Let crsae__analysis_update and crsae__synthesis_phased multiply
 * bfloat16-rounded operands (summing in float) where the CPU has
 * AVX512-BF16: twice the products per instruction.  1: they will, 0: not
 * on this CPU or build, -1: out of memory. */
int crsae__pack_bf16(crsae__pack *p);
/* Refill an initialised pack from a bank of the same shape. */
void crsae__pack_fill(crsae__pack *p, const float *bank);

/* Scratch floats the row kernels need for geometry g. */
size_t crsae__row_scratch(const crsae__geom *g);

/* Analysis of code row u: the correlation of img rows u*s .. u*s+K-1 with
 * every filter.  Returns C rows of ldv floats (pitch ldv) inside scratch
 * (from crsae__row_scratch), valid until the next call. */
const float *crsae__analysis_row(const crsae__geom *g, const crsae__pack *p, const float *img,
                                 int u, float *scratch);

/* img rows u*s .. u*s+K-1 += sign * bank-synthesis of code row u. */
void crsae__synthesis_row(const crsae__geom *g, const crsae__pack *p, const float *code,
                          int u, float sign, float *img, float *scratch);

/* The same two kernels on phased rows, as the encoder keeps its residuals
 * (kernels.c): rows[a] holds image row u*s + a as its s phases, phase p
 * (pixels p, p+s, p+2s, ...) at offset p * lp, with lp >= nv + (K-1)/s.
 * The analysis reads each phase as ldv floats from its atom's start, that
 * is up to CRSAE_NR - 1 floats past a row's end (which must be readable),
 * and its columns nv..ldv-1 hold whatever that gives: only columns below
 * nv are results. */
/* The phased layout of a whole domain image: row r's s phases of
 * crsae__phase_len(g) = ceil(wd / s) floats each, rows s * phase_len
 * floats apart; crsae__phase fills it from a plain image (pitch ldi, the
 * phases' tails zero), crsae__unphase copies it back. */
int crsae__phase_len(const crsae__geom *g);
void crsae__phase(const crsae__geom *g, const float *img, float *pimg);
void crsae__unphase(const crsae__geom *g, const float *pimg, float *img);

const float *crsae__analysis_phased(const crsae__geom *g, const crsae__pack *p,
                                    const float *const *rows, int lp, float *scratch);
/* One FISTA step of a code row fused into its analysis: with G the
 * analysis of the phased rows (as above), for every channel c and column
 * v < nv, xn = S_bias[c](w + step G), w = xn + momentum (xn - x), x = xn;
 * x and w point at the row's channel 0, channels `plane` floats apart,
 * and their columns nv.. stay zero.  _plain: the analysis, then the
 * scalar loop (the reference, for tests).  scratch: crsae__row_scratch. */
typedef struct crsae__fista_step {
    float *x, *w;
    size_t plane;
    const float *bias;
    float step, momentum;
    int nv;
} crsae__fista_step;
void crsae__analysis_update(const crsae__geom *g, const crsae__pack *p, const float *const *rows,
                            int lp, const crsae__fista_step *up, float *scratch);
void crsae__analysis_update_plain(const crsae__geom *g, const crsae__pack *p,
                                  const float *const *rows, int lp, const crsae__fista_step *up,
                                  float *scratch);
void crsae__synthesis_phased(const crsae__geom *g, const crsae__pack *p, const float *code,
                             int u, float sign, float *const *rows, int lp, float *scratch);

/* Dense product C[M x N] = A[M x Kd] B[Kd x N]; N a multiple of CRSAE_NR.
 * Writes rows 0..M-1 of C only. */
void crsae__gemm(int M, int N, int Kd, const float *A, size_t lda, const float *B,
                 size_t ldb, float *Cm, size_t ldc);
/* The same, C += A B. */
void crsae__gemm_acc(int M, int N, int Kd, const float *A, size_t lda, const float *B,
                     size_t ldb, float *Cm, size_t ldc);
/* The plain C path of the product (acc: C += A B, else C = A B), for tests
 * of the SIMD clones. */
void crsae__gemm_plain(int M, int N, int Kd, const float *A, size_t lda, const float *B,
                       size_t ldb, float *Cm, size_t ldc, int acc);

/* dst[j][i] = src[i][j] for i < rows, j < cols (row pitches lds, ldd);
 * vector shuffles where the CPU has them (kernels.c).  _plain: the plain
 * C path, for tests. */
void crsae__transpose(int rows, int cols, const float *src, size_t lds, float *dst, size_t ldd);
void crsae__transpose_plain(int rows, int cols, const float *src, size_t lds, float *dst,
                            size_t ldd);

#endif
