/* preview_job.h - the preview's denoising on worker threads: every change
 * submits a job and makes the older ones stale; a stale job stops at the
 * core's next progress call and is never drawn. */
#ifndef CRSAE_GIMP_PREVIEW_JOB_H
#define CRSAE_GIMP_PREVIEW_JOB_H

#include <libgimp/gimp.h>

#include "../plugin/denoise.h"

typedef struct preview_queue preview_queue;

typedef struct preview_job {
    preview_queue *queue;
    gint generation;
    gfloat *pixels; /* in, then out */
    gint width, height, channels;
    const Babl *format;
    crsae_gimp_settings settings;
    gboolean ok, draft;
    gint64 requested;          /* g_get_monotonic_time() at submission */
    struct preview_job *quick; /* the draft drawn first, or NULL */
} preview_job;

/* Called on the GTK thread with the newest finished job. */
typedef void (*preview_draw_fn)(const preview_job *job, gpointer user);

struct preview_queue {
    gint generation; /* of the newest job (atomic) */
    gint active;     /* jobs not yet returned (GTK thread only) */
    GMutex running;  /* held by the one job that computes: a burst of
                        changes (resizing the dialog) runs one after the
                        other, the stale ones stopping at once, instead of
                        side by side on the same cores */
    preview_draw_fn draw;
    gpointer user;
};

void preview_queue_init(preview_queue *q, preview_draw_fn draw, gpointer user);

/* Starts a job on a new thread; takes pixels (g_malloc'd); copies s.  A
 * quick draft (a few of the shifts) is drawn first.  With the environment
 * variable CRSAE_PREVIEW_TIMING set, each drawing prints on stderr how long
 * after its submission it came (for the GIMP tests and benchmarks). */
void preview_queue_submit(preview_queue *q, const crsae_gimp_settings *s, gfloat *pixels,
                          gint width, gint height, gint channels, const Babl *format);

/* Makes every job stale and waits for all to return (runs the main loop). */
void preview_queue_finish(preview_queue *q);

#endif
