/* params.c - the one table of user-facing parameters. */
#include "crsae.h"
#include <string.h>

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
    {"quality", "Quality",
     "Fast (about half of the shifts), normal (all shifts) or best (also the 8 flips and "
     "rotations: 8x the work)",
     (double)CRSAE_QUALITY_FAST, (double)CRSAE_QUALITY_BEST, (double)CRSAE_QUALITY_NORMAL},
    {"seconds", "Learning time",
     "How long to learn from the image, in seconds; 0 gives 60 per megapixel, at least 60",
     0.0, 3600.0, 0.0},
    {"draft-shifts", "Draft shifts",
     "Shifts of the preview's quick first draft", 1.0,
     (double)(CRSAE_MAX_SIZE * CRSAE_MAX_SIZE), 5.0},
    {"draft-chroma-shifts", "Draft chroma shifts",
     "Shifts of the preview's quick first draft for each chroma plane of a colour image", 1.0,
     (double)(CRSAE_MAX_SIZE * CRSAE_MAX_SIZE), 1.0},
};

crsae_status crsae_denoise_params_set_quality(crsae_denoise_params *p, crsae_quality q)
{
    if (!p || (int)q < CRSAE_QUALITY_FAST || (int)q > CRSAE_QUALITY_BEST)
        return CRSAE_ERR_INVALID_ARGUMENT;
    p->shifts = q == CRSAE_QUALITY_FAST ? CRSAE_FAST_SHIFTS : 0;
    p->transforms = q == CRSAE_QUALITY_BEST ? 8 : 1;
    return CRSAE_OK;
}

int crsae_quality_from_name(const char *name, size_t len)
{
    for (int q = CRSAE_QUALITY_FAST; name && q <= CRSAE_QUALITY_BEST; q++) {
        const char *n = crsae_quality_name((crsae_quality)q);
        if (strlen(n) == len && strncmp(n, name, len) == 0)
            return q;
    }
    return -1;
}

const char *crsae_quality_name(crsae_quality q)
{
    static const char *const names[] = {"fast", "normal", "best"};
    return (int)q >= CRSAE_QUALITY_FAST && (int)q <= CRSAE_QUALITY_BEST ? names[q] : NULL;
}

const crsae_param_info *crsae_param_get(crsae_param param)
{
    if ((int)param < 0 || (int)param >= CRSAE_PARAM_COUNT)
        return NULL;
    return &params[param];
}
