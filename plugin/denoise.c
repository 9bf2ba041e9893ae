/* denoise.c - pixels in and out through GeglBuffer, the selection, the
 * margin of context around it, progress and errors.  The arithmetic is all
 * in libcrsae. */
#include "denoise.h"
#include "i18n.h"

#include <string.h>

const Babl *crsae_gimp_format(GimpDrawable *drawable)
{
    /* Perceptual (gamma-encoded) values, as in an 8-bit PNG: the CLI and
     * the plug-in see the same numbers and the noise levels mean the same. */
    gboolean alpha = gimp_drawable_has_alpha(drawable);
    if (gimp_drawable_is_gray(drawable))
        return babl_format(alpha ? "Y'A float" : "Y' float");
    return babl_format(alpha ? "R'G'B'A float" : "R'G'B' float");
}

void crsae_gimp_settings_from_config(GimpProcedureConfig *config, crsae_gimp_settings *s)
{
    memset(s, 0, sizeof *s);
    g_object_get(config, "noise-level", &s->noise_level, "iterations", &s->iterations,
                 "model", &s->model_path, NULL);
    s->quality = gimp_procedure_config_get_choice_id(config, "quality");
}

crsae_model *crsae_gimp_load_model(const crsae_gimp_settings *s, GError **error)
{
    crsae_model *m = NULL;
    gboolean builtin = !s->model_path || !*s->model_path;
    crsae_status st = builtin ? crsae_model_default(&m) : crsae_model_load_file(&m, s->model_path);
    if (st != CRSAE_OK) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot load the model \"%s\": %s"),
                    builtin ? _("built-in") : s->model_path, crsae_strerror(st));
        return NULL;
    }
    return m;
}

typedef struct area {
    gint x, y, w, h;     /* the selected area */
    gint ex, ey, ew, eh; /* with its margin of context */
} area;

static gboolean selected_area(GimpDrawable *drawable, gint margin, area *a, GError **error)
{
    if (!gimp_drawable_mask_intersect(drawable, &a->x, &a->y, &a->w, &a->h) || a->w <= 0 ||
        a->h <= 0) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("The selection does not overlap the layer: nothing to denoise."));
        return FALSE;
    }
    gint dw = gimp_drawable_get_width(drawable), dh = gimp_drawable_get_height(drawable);
    a->ex = MAX(0, a->x - margin);
    a->ey = MAX(0, a->y - margin);
    a->ew = MIN(dw, a->x + a->w + margin) - a->ex;
    a->eh = MIN(dh, a->y + a->h + margin) - a->ey;
    return TRUE;
}

/* For an 8- or 16-bit layer, the same layout in that integer type (*u8 says
 * which); NULL for other layers.  Through it the plug-in converts integers
 * to floats and back with crsae_sample_to_float / _from_float, as `crsae
 * denoise` does for a PNG, so both give the same pixels: babl's own
 * conversions differ in the last bit, enough to round a pixel the other way
 * now and then. */
static const Babl *integer_format(GimpDrawable *drawable, gboolean *u8)
{
    const Babl *type = babl_format_get_type(gimp_drawable_get_format(drawable), 0);
    *u8 = type == babl_type("u8");
    if (!*u8 && type != babl_type("u16"))
        return NULL;
    const gboolean alpha = gimp_drawable_has_alpha(drawable);
    const gchar *model = gimp_drawable_is_gray(drawable) ? (alpha ? "Y'A" : "Y'")
                                                        : (alpha ? "R'G'B'A" : "R'G'B'");
    gchar *name = g_strdup_printf("%s %s", model, *u8 ? "u8" : "u16");
    const Babl *f = babl_format(name);
    g_free(name);
    return f;
}

/* The area's pixels in crsae's format (returned in *fmt, with *channels). */
static gfloat *read_area(GimpDrawable *drawable, const area *a, const Babl **fmt_out,
                         gint *channels, GError **error)
{
    const Babl *fmt = crsae_gimp_format(drawable);
    gint ch = babl_format_get_n_components(fmt);
    *fmt_out = fmt;
    *channels = ch;
    gsize n;
    if (!g_size_checked_mul(&n, (gsize)a->ew, (gsize)a->eh) ||
        !g_size_checked_mul(&n, n, (gsize)ch * sizeof(gfloat))) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("The layer is too large."));
        return NULL;
    }
    gfloat *buf = g_try_malloc(n);
    if (!buf) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Not enough memory for this layer."));
        return NULL;
    }
    GeglBuffer *src = gimp_drawable_get_buffer(drawable);
    gboolean u8;
    const Babl *ifmt = integer_format(drawable, &u8);
    const gsize count = n / sizeof(gfloat);
    /* integers into the buffer's tail, then floats from its head */
    guchar *raw = ifmt ? (guchar *)buf + count * (sizeof(gfloat) - (u8 ? 1 : 2)) : NULL;
    gegl_buffer_get(src, GEGL_RECTANGLE(a->ex, a->ey, a->ew, a->eh), 1.0, ifmt ? ifmt : fmt,
                    ifmt ? (gpointer)raw : (gpointer)buf, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    g_object_unref(src);
    if (ifmt && u8)
        for (gsize i = 0; i < count; i++)
            buf[i] = crsae_sample_to_float(raw[i], 8);
    else if (ifmt)
        for (gsize i = 0; i < count; i++) {
            guint16 v;
            memcpy(&v, raw + 2 * i, 2);
            buf[i] = crsae_sample_to_float(v, 16);
        }
    return buf;
}

gboolean crsae_gimp_estimate(GimpDrawable *drawable, gdouble *noise_level, GError **error)
{
    area a;
    if (!selected_area(drawable, 0, &a, error))
        return FALSE;
    const Babl *fmt;
    gint ch;
    gfloat *buf = read_area(drawable, &a, &fmt, &ch, error);
    if (!buf)
        return FALSE;
    gfloat sigma;
    crsae_status st = crsae_estimate_noise_level(buf, (size_t)a.ew * ch, a.ew, a.eh, ch, &sigma);
    g_free(buf);
    if (st != CRSAE_OK) {
        g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                    _("Cannot estimate the noise level (%s). Set the noise level by hand."),
                    st == CRSAE_ERR_INVALID_ARGUMENT ? _("the area is smaller than 8x8 pixels")
                                                     : crsae_strerror(st));
        return FALSE;
    }
    *noise_level = sigma * 255.0;
    return TRUE;
}

static int on_progress(double fraction, void *user)
{
    if (GPOINTER_TO_INT(user))
        gimp_progress_update(fraction);
    return 0;
}

static gboolean run_core(const crsae_model *model, const crsae_gimp_settings *s, gdouble sigma,
                         gfloat *buf, gint w, gint h, gint ch, crsae_progress_fn fn,
                         void *user, GError **error)
{
    crsae_denoise_params prm;
    crsae_denoise_params_init(&prm);
    prm.sigma = (float)(sigma / 255.0);
    prm.iterations = s->iterations;
    crsae_denoise_params_set_quality(&prm, (crsae_quality)s->quality);
    if (s->shifts > 0)
        prm.shifts = s->shifts;
    prm.chroma_shifts = s->chroma_shifts;
    prm.progress = fn;
    prm.progress_user = user;
    crsae_status st = crsae_denoise_image(model, &prm, buf, (size_t)w * ch, buf, (size_t)w * ch,
                                          w, h, ch);
    if (st != CRSAE_OK) {
        if (st != CRSAE_ERR_CANCELLED)
            g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Denoising failed: %s"),
                        crsae_strerror(st));
        return FALSE;
    }
    return TRUE;
}

gboolean crsae_gimp_denoise_pixels(const crsae_model *model, const crsae_gimp_settings *s,
                                   gfloat *pixels, gint width, gint height, gint ch,
                                   crsae_progress_fn cancel, void *user, GError **error)
{
    /* a noise level of 0: the core estimates it on these pixels */
    return run_core(model, s, MAX(0.0, s->noise_level), pixels, width, height, ch, cancel, user,
                    error);
}

/* An 8- or 16-bit layer gets the result rounded here (integer_format).
 * FALSE: not such a layer (or no memory), the caller writes floats. */
static gboolean write_rounded(GeglBuffer *shadow, GimpDrawable *drawable, const area *a,
                              const gfloat *first, gint ch)
{
    gboolean u8;
    const Babl *qfmt = integer_format(drawable, &u8);
    if (!qfmt)
        return FALSE;
    const gsize row = (gsize)a->w * ch, bytes = u8 ? 1 : 2;
    guchar *q = g_try_malloc(row * (gsize)a->h * bytes);
    if (!q)
        return FALSE;
    for (gint y = 0; y < a->h; y++) {
        const gfloat *src = first + (gsize)y * a->ew * ch;
        for (gsize i = 0; i < row; i++) {
            const guint r = crsae_sample_from_float(src[i], u8 ? 8 : 16);
            if (u8)
                q[(gsize)y * row + i] = (guchar)r;
            else
                ((guint16 *)q)[(gsize)y * row + i] = (guint16)r;
        }
    }
    gegl_buffer_set(shadow, GEGL_RECTANGLE(a->x, a->y, a->w, a->h), 0, qfmt, q,
                    (gint)(row * bytes));
    g_free(q);
    return TRUE;
}

gboolean crsae_gimp_denoise_drawable(GimpDrawable *drawable, const crsae_model *model,
                                     const crsae_gimp_settings *s, gboolean progress,
                                     GError **error)
{
    area a;
    /* context around the selection so its edge is denoised like the inside */
    if (!selected_area(drawable, crsae_model_halo(model, s->iterations), &a, error))
        return FALSE;
    gdouble sigma = s->noise_level;
    if (sigma <= 0.0 && !crsae_gimp_estimate(drawable, &sigma, error))
        return FALSE;
    const Babl *fmt;
    gint ch;
    gfloat *buf = read_area(drawable, &a, &fmt, &ch, error);
    if (!buf)
        return FALSE;
    if (progress)
        gimp_progress_init(_("Denoising (CRsAE)"));
    gboolean ok = run_core(model, s, sigma, buf, a.ew, a.eh, ch, on_progress,
                           GINT_TO_POINTER(progress), error);
    if (ok) {
        GeglBuffer *shadow = gimp_drawable_get_shadow_buffer(drawable);
        const gfloat *first = buf + ((gsize)(a.y - a.ey) * a.ew + (gsize)(a.x - a.ex)) * ch;
        if (!write_rounded(shadow, drawable, &a, first, ch))
            gegl_buffer_set(shadow, GEGL_RECTANGLE(a.x, a.y, a.w, a.h), 0, fmt, first,
                            (gint)((gsize)a.ew * ch * sizeof(gfloat)));
        g_object_unref(shadow); /* flushes */
        gimp_drawable_merge_shadow(drawable, TRUE);
        gimp_drawable_update(drawable, a.x, a.y, a.w, a.h);
    }
    if (progress)
        gimp_progress_end();
    g_free(buf);
    return ok;
}
