/* preview_bench.h - the GIMP dialog's preview work by itself
 * (crsae-bench --preview DIR). */
#ifndef CRSAE_BENCH_PREVIEW_BENCH_H
#define CRSAE_BENCH_PREVIEW_BENCH_H

#include "crsae.h"

/* Denoises a 512 x 512 region (of the first RGB image of dir, mirrored out
 * when it is smaller) at sigma (0..255) on 2 threads: the dialog's draft in
 * grey and in colour, the colour draft with all its shifts on the chroma
 * too, and normal quality; prints the best of 3 seconds and the PSNR of
 * each. */
void bench_preview(const crsae_model *m, const char *dir, double sigma);

#endif
