/* learn.c - reading the drawable for learning, the time budget and the
 * model's file in the user's GIMP folder. */
#include "learn.h"
#include "denoise.h"
#include "i18n.h"

#include <string.h>
#include <time.h>

#define MODELS_FOLDER "crsae"
#define SUFFIX ".crsae"

gchar *crsae_gimp_models_dir(void)
{
    gchar *dir = g_build_filename(gimp_directory(), MODELS_FOLDER, NULL);
    g_mkdir_with_parents(dir, 0755);
    return dir;
}

GList *crsae_gimp_user_models(void)
{
    gchar *dir = crsae_gimp_models_dir();
    GList *list = NULL;
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d) {
        const gchar *name;
        while ((name = g_dir_read_name(d)) != NULL)
            if (g_str_has_suffix(name, SUFFIX) && strlen(name) > strlen(SUFFIX))
                list = g_list_prepend(list, g_build_filename(dir, name, NULL));
        g_dir_close(d);
    }
    g_free(dir);
    return g_list_sort(list, (GCompareFunc)g_strcmp0);
}

gchar *crsae_gimp_model_label(const gchar *path)
{
    gchar *base = g_path_get_basename(path);
    if (g_str_has_suffix(base, SUFFIX))
        base[strlen(base) - strlen(SUFFIX)] = '\0';
    return base;
}

/* A file name from free text: letters, digits, '-', '_' and '.' kept,
 * anything else becomes '_'; never empty, never hidden. */
static gchar *safe_name(const gchar *name)
{
    GString *s = g_string_new(NULL);
    for (const gchar *p = name; p && *p && s->len < 64; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c < 128 && (g_ascii_isalnum((gchar)c) || c == '-' || c == '_' || (c == '.' && s->len)))
            g_string_append_c(s, (gchar)c);
        else
            g_string_append_c(s, '_');
    }
    if (g_str_has_suffix(s->str, SUFFIX))
        g_string_truncate(s, s->len - strlen(SUFFIX));
    if (s->len == 0)
        g_string_append(s, "learned");
    return g_string_free(s, FALSE);
}

static gchar *free_path(const gchar *name)
{
    gchar *dir = crsae_gimp_models_dir(), *base = safe_name(name);
    gchar *path = NULL;
    for (int i = 1; i < 1000; i++) {
        gchar *file = i == 1 ? g_strconcat(base, SUFFIX, NULL)
                             : g_strdup_printf("%s-%d%s", base, i, SUFFIX);
        path = g_build_filename(dir, file, NULL);
        g_free(file);
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            break;
        g_clear_pointer(&path, g_free);
    }
    g_free(dir);
    g_free(base);
    return path;
}

static gchar *image_stem(GimpDrawable *drawable)
{
    /* the file the image came from (its own .xcf, or the imported one) */
    GimpImage *image = gimp_item_get_image(GIMP_ITEM(drawable));
    GFile *file = image ? gimp_image_get_file(image) : NULL;
    if (!file && image)
        file = gimp_image_get_imported_file(image);
    gchar *name = file ? g_file_get_basename(file) : NULL;
    g_clear_object(&file);
    if (!name && image) {
        /* the title GIMP shows, e.g. "[photo] (imported)" */
        gchar *title = gimp_image_get_name(image);
        const gchar *from = title && title[0] == '[' ? title + 1 : title;
        const gchar *end = from ? strchr(from, ']') : NULL;
        if (from && *from)
            name = end ? g_strndup(from, (gsize)(end - from)) : g_strdup(from);
        g_free(title);
    }
    if (!name || !*name) {
        g_free(name);
        return g_strdup("learned");
    }
    gchar *dot = strrchr(name, '.');
    if (dot && dot != name)
        *dot = '\0';
    return name;
}

crsae_gimp_learn *crsae_gimp_learn_prepare(GimpDrawable *drawable, gdouble noise_level,
                                           const gchar *start_path, const gchar *name,
                                           gdouble seconds, GError **error)
{
    gint x, y, w, h;
    if (!gimp_drawable_mask_intersect(drawable, &x, &y, &w, &h) || w <= 0 || h <= 0) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("The selection does not overlap the layer: nothing to learn from."));
        return NULL;
    }
    gdouble sigma = noise_level;
    if (sigma <= 0.0 && !crsae_gimp_estimate(drawable, &sigma, error))
        return NULL;
    crsae_gimp_settings s = {0};
    s.model_path = (gchar *)start_path;
    crsae_model *model = crsae_gimp_load_model(&s, error);
    if (!model)
        return NULL;
    const Babl *fmt = crsae_gimp_format(drawable);
    gint ch = babl_format_get_n_components(fmt);
    gsize n;
    gfloat *pixels = NULL;
    if (g_size_checked_mul(&n, (gsize)w, (gsize)h) && g_size_checked_mul(&n, n, (gsize)ch) &&
        g_size_checked_mul(&n, n, sizeof(gfloat)))
        pixels = g_try_malloc(n);
    if (!pixels) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Not enough memory for this layer."));
        crsae_model_free(model);
        return NULL;
    }
    GeglBuffer *src = gimp_drawable_get_buffer(drawable);
    gegl_buffer_get(src, GEGL_RECTANGLE(x, y, w, h), 1.0, fmt, pixels, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_NONE);
    g_object_unref(src);
    crsae_gimp_learn *job = g_new0(crsae_gimp_learn, 1);
    job->pixels = pixels;
    job->width = w;
    job->height = h;
    job->channels = ch;
    job->sigma = sigma;
    job->seconds = seconds > 0 ? seconds : 0.0; /* 0: the core's default for the photo */
    job->model = model;
    job->source = image_stem(drawable);
    job->path = free_path(name && *name ? name : job->source);
    if (!job->path) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("No free file name for the model \"%s\"."),
                    name && *name ? name : job->source);
        crsae_gimp_learn_free(job);
        return NULL;
    }
    return job;
}

static gdouble now(void)
{
    return (gdouble)g_get_monotonic_time() / 1e6;
}

typedef struct learning {
    crsae_gimp_learn *job;
    gdouble start;
} learning;

/* The core keeps the time budget; this shows how much of it is spent. */
static int on_step(const crsae_train_report *r, void *user)
{
    learning *b = user;
    g_atomic_int_set(&b->job->steps, r->step);
    b->job->fraction = r->budget_used; /* read by the dialog's timer: a torn read only
                                          misdraws the bar for 100 ms */
    if (b->job->tick)
        b->job->tick(r->budget_used, b->job->tick_user);
    return g_atomic_int_get(&b->job->cancel);
}

crsae_status crsae_gimp_learn_run(crsae_gimp_learn *job)
{
    crsae_train_params p;
    crsae_train_params_init_noisy_image(&p);
    p.sigma = (float)(job->sigma / 255.0);
    p.seconds = job->seconds;
    p.progress = on_step;
    learning b = {job, now()};
    p.progress_user = &b;
    crsae_status st = crsae_train_noisy_image(job->model, &p, job->pixels,
                                              (size_t)job->width * job->channels, job->width,
                                              job->height, job->channels, &job->outcome);
    if (st == CRSAE_OK) {
        gchar *prov = g_strdup_printf(
            "Learned in GIMP by crsae %s from \"%s\" (%dx%d, noise level %.1f) by SURE: "
            "%d steps in %.0f s, starting from the model before it; estimated mean squared "
            "error on the image %.3g before, %.3g after: %s.",
            crsae_version_string(), job->source, job->width, job->height, job->sigma,
            g_atomic_int_get(&job->steps), now() - b.start, job->outcome.mse_before,
            job->outcome.mse_after,
            job->outcome.kept ? "the adapted model" : "no gain, this is the start model");
        crsae_model_set_provenance(job->model, prov);
        g_free(prov);
        st = crsae_model_save_file(job->model, job->path);
    }
    job->status = st;
    job->fraction = 1.0;
    return st;
}

void crsae_gimp_learn_free(crsae_gimp_learn *job)
{
    if (!job)
        return;
    g_free(job->pixels);
    crsae_model_free(job->model);
    g_free(job->path);
    g_free(job->source);
    g_free(job);
}
