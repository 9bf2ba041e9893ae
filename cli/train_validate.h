/* train_validate.h - held-out images for `crsae train --validate`: fixed
 * noisy crops, denoised by the model being trained, as a PSNR. */
#ifndef CRSAE_CLI_TRAIN_VALIDATE_H
#define CRSAE_CLI_TRAIN_VALIDATE_H

#include "crsae.h"

#define VALIDATE_MAX_SIGMAS 3

typedef struct validation {
    int n;                 /* crops */
    int *w, *h;
    float **clean;
    float **noisy[VALIDATE_MAX_SIGMAS];
    float *out;            /* scratch, the largest crop */
    int nsigma;
    double sigma[VALIDATE_MAX_SIGMAS]; /* 0..255 */
} validation;

/* Central crops of at most 128x128 of the first (at most 8) grey images,
 * with fixed noise at sigma_lo and, when sigma_hi > sigma_lo, also at the
 * middle and sigma_hi of the range (0..255 scale).  0 or -1 (out of memory). */
int validation_init(validation *v, float *const *images, const int *w, const int *h, int count,
                    double sigma_lo, double sigma_hi);
void validation_free(validation *v);

/* Mean PSNR (dB) of the model's output at each sigma into psnr[]; 0 or -1. */
int validation_run(const validation *v, const crsae_model *model, double *psnr);

#endif
