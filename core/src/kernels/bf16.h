/* kernels/bf16.h - the encoder's products with bfloat16 operands (bf16.c),
 * which kernels.c dispatches to where the CPU has AVX512-BF16. */
#ifndef CRSAE_KERNELS_BF16_H
#define CRSAE_KERNELS_BF16_H

#include "kernels/kernels.h"

#ifdef CRSAE_HAVE_CLONES
/* The pack's bf16 pairs refilled from its float banks; the encoder's two products with bf16
 * operands (B given by its rows' addresses: at[0..KK-1] for the analysis,
 * cr[0..C-1] for the synthesis, whose product is added times sign to the
 * rows to[0..KK-1]).  scratch: the row scratch, whose start holds the
 * paired B. */
void crsae__pack_fill_pairs(crsae__pack *p);
void crsae__bf16_analysis_update(const crsae__geom *g, const crsae__pack *p,
                                 const float *const *at, const crsae__fista_step *up,
                                 float *scratch);
void crsae__bf16_synthesis(const crsae__geom *g, const crsae__pack *p, const float *const *cr,
                           float *const *to, float sign, float *scratch);
#endif

#endif
