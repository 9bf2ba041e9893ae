/* model/state.h - the training state behind its opaque handle (a
 * checkpoint file holds it beside the model). */
#ifndef CRSAE_MODEL_STATE_H
#define CRSAE_MODEL_STATE_H

#include "crsae.h"

/* Behind crsae_train_state (checkpoint.c; train.c fills it).  nparam == 0:
 * empty.  adam_m, adam_v: nparam floats; lambda0 (the EM prior's centre)
 * and bias (the thresholds at the training sigma): filters floats. */
struct crsae_train_state {
    int step, nparam, filters;
    float lipschitz; /* the L the last step used */
    crsae_train_params prm; /* the scalar settings only */
    float *adam_m, *adam_v, *lambda0, *bias;
};
/* Gives an empty state its arrays. */
crsae_status crsae__train_state_alloc(crsae_train_state *s, int nparam, int filters);

#endif
