/* model/model.h - the model behind the opaque handle. */
#ifndef CRSAE_MODEL_MODEL_H
#define CRSAE_MODEL_MODEL_H

#include "crsae.h"

#include <stdbool.h>

/* The model behind the opaque handle.  For a tied model enc and out point
 * at dec (one allocation); for an untied model they are separate banks. */
struct crsae_model {
    int filters, size, stride, iterations;
    bool untied;
    float lipschitz, sigma_train, bias_exponent;
    float *dec;    /* H:   C*K*K */
    float *enc;    /* W_e: C*K*K (== dec when tied) */
    float *out;    /* W_d: C*K*K (== dec when tied) */
    float *lambda; /* C */
    char *provenance;
};

/* Validates dimensions the way the loader and crsae_model_new do. */
crsae_status crsae__check_dimensions(int filters, int size, int stride, int untied);

#endif
