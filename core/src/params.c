/* params.c - the one table of user-facing parameters. */
#include "internal.h"

static const crsae_param_info params[CRSAE_PARAM_COUNT] = {
    {"noise-level", "Noise level",
     "Standard deviation of the noise on the 0..255 scale; 0 estimates it from the image",
     0.0, 255.0, 0.0},
    {"iterations", "Iterations",
     "FISTA iterations of the encoder; 0 uses the model's own count", 0.0,
     (double)CRSAE_MAX_ITERATIONS, 0.0},
    {"shifts", "Shifts",
     "Shifts of the ensemble to average (fewer is faster); 0 uses all of them", 0.0,
     (double)(CRSAE_MAX_SIZE * CRSAE_MAX_SIZE), 0.0},
    {"threads", "Threads", "Worker threads; 0 uses one per processor", 0.0, 256.0, 0.0},
};

const crsae_param_info *crsae_param_get(crsae_param param)
{
    if ((int)param < 0 || (int)param >= CRSAE_PARAM_COUNT)
        return NULL;
    return &params[param];
}
