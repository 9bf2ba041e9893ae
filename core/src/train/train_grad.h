/* train_grad.h - the M-step's gradient: back-propagation of the
 * reconstruction loss through all T unrolled FISTA iterations (momentum
 * included) on one domain, for the dictionary (H, and W_e, W_d when untied)
 * and the per-filter thresholds.  The training loop (optimiser, patches,
 * lambda update) builds on this. */
#ifndef CRSAE_TRAIN_GRAD_H
#define CRSAE_TRAIN_GRAD_H

#include "encoder/encoder.h"

/* The geometry the functions below take: as crsae__geom_init, with code
 * rows packed (ldv = nv) and planes of nu*nv floats rounded up to
 * CRSAE_NR (padding kept zero). */
void crsae__geom_init_train(crsae__geom *g, int C, int K, int s, int nu, int nv);

/* Gradients, accumulated (+=) into C*K*K arrays (filter-major like the
 * banks) and C thresholds.  For a tied model dWe and dWd may point at dH. */
typedef struct crsae__grads {
    float *dH, *dWe, *dWd, *dbias;
} crsae__grads;

/* Scratch for one domain of geometry g and T iterations. */
typedef struct crsae__tape {
    float *w_prev; /* T code arrays: w_{k-1} */
    float *z;      /* T code arrays: z_k before the threshold */
    float *rp;     /* T patch matrices of r_k = y - H w_{k-1} */
    float *gx, *gw, *gz, *carry; /* code arrays */
    float *img;                  /* an image (hd x ldi) */
    float *py, *pw;              /* phased images (train_grad.c): y, work */
    float *prod;                 /* a product's output */
    float *qp;                   /* a patch matrix */
    float *bt;                   /* a code transposed */
    float *acc;                  /* filter sums of W_d, W_e, H (each KK x Cn) */
} crsae__tape;

/* Floats the tape needs (0 on overflow). */
size_t crsae__tape_floats(const crsae__geom *g, int iterations);
/* Carves the tape out of one block of crsae__tape_floats floats. */
void crsae__tape_init(crsae__tape *t, const crsae__geom *g, int iterations, float *block);

/* Forward T iterations on y, recording the tape; leaves the reconstruction
 * W_d x_T in t->img and x_T in t->gx. */
void crsae__forward(const crsae__geom *g, const crsae__encoder *e, const float *y,
                    crsae__tape *t);

/* After crsae__forward, with t->img overwritten by dLoss/d(reconstruction):
 * adds the gradients of that loss to *grads (clobbers the tape's scratch). */
void crsae__backward(const crsae__geom *g, const crsae__encoder *e, crsae__tape *t,
                     crsae__grads *grads);

/* Forward T iterations on y, loss 0.5 |target - W_d x_T|^2 (returned) over
 * the domain less `border` pixels on each side (pixels near a patch's edge
 * are covered by fewer atoms than inside an image), and its gradients added
 * to *grads. */
double crsae__loss_grad(const crsae__geom *g, const crsae__encoder *e, const float *y,
                        const float *target, int border, crsae__tape *t, crsae__grads *grads);

#endif
