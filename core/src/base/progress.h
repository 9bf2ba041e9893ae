/* base/progress.h - one part of a longer job reporting to the job's own
 * progress callback: part `done` of `total` equal parts, the part's own
 * fraction f mapped to (done + f) / total (at most 1). */
#ifndef CRSAE_BASE_PROGRESS_H
#define CRSAE_BASE_PROGRESS_H

#include "crsae.h"

typedef struct crsae__subrange {
    crsae_progress_fn outer; /* may be NULL: never cancels */
    void *outer_user;
    int done, total;
} crsae__subrange;

/* A crsae_progress_fn whose user is a crsae__subrange. */
static inline int crsae__subrange_progress(double fraction, void *user)
{
    const crsae__subrange *r = user;
    if (!r->outer)
        return 0;
    double f = (r->done + fraction) / r->total;
    return r->outer(f > 1.0 ? 1.0 : f, r->outer_user);
}

#endif
