/* preview_job.c - see preview_job.h. */
#include "preview_job.h"


static int still_wanted(double fraction, void *user)
{
    (void)fraction;
    const preview_job *job = user;
    return g_atomic_int_get(&job->queue->generation) != job->generation;
}

static gboolean job_done(gpointer data)
{
    preview_job *job = data;
    preview_queue *q = job->queue;
    q->active--;
    if (job->ok && g_atomic_int_get(&q->generation) == job->generation) {
        q->draw(job, q->user);
        if (g_getenv("CRSAE_PREVIEW_TIMING"))
            g_printerr("crsae: preview %s %dx%d drawn %.2f s after the request\n",
                       job->draft ? "draft" : "final", job->width, job->height,
                       (double)(g_get_monotonic_time() - job->requested) / 1e6);
    }
    g_free(job->pixels);
    g_free(job->settings.model_path);
    g_free(job);
    return G_SOURCE_REMOVE;
}

static gboolean run_job(const crsae_model *model, preview_job *job)
{
    return model && crsae_gimp_denoise_pixels(model, &job->settings, job->pixels, job->width,
                                              job->height, job->channels, still_wanted, job,
                                              NULL);
}

/* The preview is drawn twice: first a draft (the parameter table's draft
 * shifts, 5, and one for the chroma planes of a colour image), then the
 * chosen quality, which is what OK gives. */
static gpointer job_thread(gpointer data)
{
    preview_job *job = data, *quick = job->quick;
    preview_queue *q = job->queue;
    g_mutex_lock(&q->running);
    const gboolean stale = g_atomic_int_get(&q->generation) != job->generation;
    crsae_model *model = stale ? NULL : crsae_gimp_load_model(&job->settings, NULL);
    if (quick) {
        quick->ok = run_job(model, quick);
        g_idle_add(job_done, quick);
    }
    job->ok = run_job(model, job);
    crsae_model_free(model);
    g_mutex_unlock(&q->running);
    g_idle_add(job_done, job);
    return NULL;
}

void preview_queue_init(preview_queue *q, preview_draw_fn draw, gpointer user)
{
    q->generation = 0;
    q->active = 0;
    g_mutex_init(&q->running);
    q->draw = draw;
    q->user = user;
}

void preview_queue_submit(preview_queue *q, const crsae_gimp_settings *s, gfloat *pixels,
                          gint width, gint height, gint channels, const Babl *format)
{
    preview_job *job = g_new0(preview_job, 1);
    job->queue = q;
    job->generation = g_atomic_int_add(&q->generation, 1) + 1;
    job->pixels = pixels;
    job->width = width;
    job->height = height;
    job->channels = channels;
    job->format = format;
    job->settings = *s;
    job->settings.model_path = g_strdup(s->model_path);
    job->requested = g_get_monotonic_time();
    q->active++;
    const int draft_shifts = (int)crsae_param_get(CRSAE_PARAM_DRAFT_SHIFTS)->def;
    if (s->shifts == 0 || s->shifts > draft_shifts) {
        preview_job *quick = g_new0(preview_job, 1);
        *quick = *job;
        quick->pixels = g_memdup2(pixels, (gsize)width * height * channels * sizeof(gfloat));
        quick->settings.model_path = g_strdup(s->model_path);
        quick->settings.quality = CRSAE_QUALITY_NORMAL;
        quick->settings.shifts = draft_shifts;
        quick->settings.chroma_shifts =
            (int)crsae_param_get(CRSAE_PARAM_DRAFT_CHROMA_SHIFTS)->def;
        quick->draft = TRUE;
        job->quick = quick;
        q->active++;
    }
    g_thread_unref(g_thread_new("crsae-preview", job_thread, job));
}

void preview_queue_finish(preview_queue *q)
{
    g_atomic_int_inc(&q->generation);
    while (q->active > 0)
        g_main_context_iteration(NULL, TRUE);
    g_mutex_clear(&q->running);
}
