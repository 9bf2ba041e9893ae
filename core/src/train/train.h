/* train/train.h - the trainer's private entry and SURE's shared pieces. */
#ifndef CRSAE_TRAIN_TRAIN_H
#define CRSAE_TRAIN_TRAIN_H

#include "crsae.h"

/* crsae_train with, in self-supervised mode, a 0/1 mask per image (NULL:
 * crsae__sure_probe of the image's own samples) that multiplies SURE's
 * probe: for the opponent planes of a colour photo, whose clipping is
 * decided in RGB (adapt.c). */
/* A time budget: training stops with CRSAE_OK after the step that ends
 * at or past deadline (crsae__now()); seconds is the whole budget, for the
 * reports' budget_used. */
typedef struct crsae__budget {
    double deadline, seconds;
} crsae__budget;
/* budget: NULL, or the budget to keep (then prm->seconds is ignored). */
crsae_status crsae__train(crsae_model *m, const crsae_train_params *prm, const float *const *images,
                          const float *const *probe_masks, const int *widths, const int *heights,
                          int count, const crsae__budget *budget);

/* SURE's finite-difference step, in units of the noise's sigma (train.c,
 * risk.c). */
#define CRSAE__SURE_EPS 0.01f

/* SURE's divergence probe for a noisy sample y (train.c, risk.c): a
 * photo's sample clipped to black or white (exactly 0 or 1: an 8- or
 * 16-bit photo's extremes) stays there whatever its noise, so its
 * derivative is zero and it gets no probe; every other sample - also a
 * float photo's values beyond [0,1], which nothing clipped - gets the
 * Gaussian draw g.  This is Stein's identity for f(clip(x + n)); the
 * squared-residual term still counts every sample. */
static inline float crsae__sure_probe(float y, float g)
{
    return y == 0.0f || y == 1.0f ? 0.0f : g;
}

#endif
