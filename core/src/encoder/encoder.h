/* encoder.h - T unrolled FISTA iterations on one domain (the E-step) and
 * the final decoding. */
#ifndef CRSAE_ENCODER_H
#define CRSAE_ENCODER_H

#include "kernels/kernels.h"

#include <math.h>
#include <stdatomic.h>

typedef struct crsae__encoder {
    const crsae__pack *dec; /* H: synthesis inside the loop */
    const crsae__pack *enc; /* W_e: analysis inside the loop */
    const crsae__pack *out; /* W_d: final reconstruction */
    const float *bias;      /* C thresholds */
    float inv_lipschitz;
    int iterations;
    int stages; /* iterations that sweep the domain together; 0: CRSAE_WAVE_MAX */
} crsae__encoder;

/* The most iterations in one wavefront group (see encoder.c). */
#define CRSAE_WAVE_MAX 5

/* Buffers for one domain of geometry g. */
typedef struct crsae__fista_buf {
    float *r;       /* hd x ldi: the reconstruction */
    float *x, *w;   /* C planes each */
    float *row;     /* crsae__row_scratch floats */
    float *ring;    /* crsae__fista_ring floats: the residuals of a group
                       and a phased copy of the domain */
} crsae__fista_buf;

/* Floats of buf->ring for geometry g (0 if that overflows). */
size_t crsae__fista_ring(const crsae__geom *g);

/* Encode y (hd x wd, pitch g->ldi) with FISTA and decode: recon (pitch
 * g->ldi) = W_d x_T.  recon may alias buf->r.  Checks *cancel before each
 * sweep and adds 1 to *done after each iteration; returns nonzero if
 * cancelled. */
int crsae__fista(const crsae__geom *g, const crsae__encoder *e, const float *y, float *recon,
                 const crsae__fista_buf *buf, const atomic_int *cancel, atomic_long *done);

/* The sparse code only (for tests): x receives x_T (C planes). */
int crsae__fista_code(const crsae__geom *g, const crsae__encoder *e, const float *y,
                      const crsae__fista_buf *buf, const atomic_int *cancel, atomic_long *done);

/* Fill in the geometry of a domain with nu x nv atoms. */
void crsae__geom_init(crsae__geom *g, int C, int K, int s, int nu, int nv);

#endif
