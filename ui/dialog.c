/* dialog.c - noise level (with Estimate), iterations, the model chooser
 * (built-in + the user's models), a live preview and "Learn from this
 * image".  The preview and the learning run on worker threads, so the
 * dialog never freezes: GIMP is only called on this (the GTK) thread, the
 * workers touch nothing but the core and their own buffers. */
#include "dialog.h"

#include <libgimp/gimpui.h>
#include <math.h>

#include "../plugin/denoise.h"
#include "../plugin/i18n.h"
#include "../plugin/learn.h"
#include "preview_job.h"

typedef struct dialog_state {
    GimpDrawable *drawable;
    GimpProcedureConfig *config;
    GtkWidget *dialog, *preview, *models, *learn, *bar, *cancel;
    preview_queue previews;
    crsae_gimp_learn *job; /* the learning run, or NULL */
    GThread *learner;
    gint learn_done;
    guint timer;
    gint64 learn_start;
} dialog_state;

/* ---- the preview ---- */

static void draw_preview(const preview_job *job, gpointer user)
{
    dialog_state *st = user;
    gint ch = job->channels;
    guchar *out = g_try_new(guchar, (gsize)job->width * job->height * ch);
    if (!out)
        return;
    /* the preview draws 8-bit data in the drawable's layout */
    const Babl *u8 = babl_format(ch == 1 ? "Y' u8" : ch == 2 ? "Y'A u8" : ch == 3 ? "R'G'B' u8"
                                                                                  : "R'G'B'A u8");
    babl_process(babl_fish(job->format, u8), job->pixels, out, (long)job->width * job->height);
    gimp_preview_draw_buffer(GIMP_PREVIEW(st->preview), out, job->width * ch);
    g_free(out);
}

static void update_preview(GimpPreview *preview, dialog_state *st)
{
    gint x, y, w, h;
    gimp_preview_get_position(preview, &x, &y);
    gimp_preview_get_size(preview, &w, &h);
    if (w <= 0 || h <= 0)
        return;
    const Babl *fmt = crsae_gimp_format(st->drawable);
    gint ch = babl_format_get_n_components(fmt);
    gfloat *buf = g_try_new(gfloat, (gsize)w * h * ch);
    if (!buf)
        return;
    GeglBuffer *src = gimp_drawable_get_buffer(st->drawable);
    gegl_buffer_get(src, GEGL_RECTANGLE(x, y, w, h), 1.0, fmt, buf, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_CLAMP);
    g_object_unref(src);
    crsae_gimp_settings s;
    crsae_gimp_settings_from_config(st->config, &s);
    preview_queue_submit(&st->previews, &s, buf, w, h, ch, fmt); /* takes buf */
    g_free(s.model_path);
}

static void on_estimate(GtkButton *button, dialog_state *st)
{
    (void)button;
    gdouble sigma;
    GError *error = NULL;
    if (crsae_gimp_estimate(st->drawable, &sigma, &error)) {
        g_object_set(st->config, "noise-level", sigma, NULL);
    } else {
        g_message("%s", error->message);
        g_clear_error(&error);
    }
}

/* ---- the model chooser: id = file path, "" = built-in ---- */

static void fill_models(dialog_state *st, const gchar *select)
{
    GtkComboBoxText *box = GTK_COMBO_BOX_TEXT(st->models);
    g_signal_handlers_block_matched(box, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, st);
    gtk_combo_box_text_remove_all(box);
    gtk_combo_box_text_append(box, "", _("Built-in"));
    gboolean found = !select || !*select;
    GList *models = crsae_gimp_user_models();
    for (GList *l = models; l; l = l->next) {
        gchar *label = crsae_gimp_model_label(l->data);
        gtk_combo_box_text_append(box, l->data, label);
        g_free(label);
        found = found || g_strcmp0(l->data, select) == 0;
    }
    g_list_free_full(models, g_free);
    if (!found) { /* a file from elsewhere, given to the procedure */
        gchar *label = crsae_gimp_model_label(select);
        gtk_combo_box_text_append(box, select, label);
        g_free(label);
    }
    gtk_combo_box_set_active_id(GTK_COMBO_BOX(box), select && *select ? select : "");
    g_signal_handlers_unblock_matched(box, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, st);
}

static void on_model_changed(GtkComboBox *box, dialog_state *st)
{
    const gchar *id = gtk_combo_box_get_active_id(box);
    g_object_set(st->config, "model", id ? id : "", NULL);
}

/* ---- learning ---- */

static gpointer learn_thread(gpointer data)
{
    dialog_state *st = data;
    crsae_gimp_learn_run(st->job);
    g_atomic_int_set(&st->learn_done, 1);
    return NULL;
}

static void learning_ui(dialog_state *st, gboolean learning)
{
    gtk_widget_set_sensitive(st->learn, !learning);
    gtk_widget_set_visible(st->bar, learning);
    gtk_widget_set_visible(st->cancel, learning);
    gtk_widget_set_sensitive(st->cancel, learning);
    gtk_dialog_set_response_sensitive(GTK_DIALOG(st->dialog), GTK_RESPONSE_OK, !learning);
}

/* Waits for the learning thread; returns the finished job. */
static crsae_gimp_learn *learn_join(dialog_state *st)
{
    if (st->timer)
        g_source_remove(st->timer);
    st->timer = 0;
    g_thread_join(st->learner);
    st->learner = NULL;
    crsae_gimp_learn *job = st->job;
    st->job = NULL;
    return job;
}

static gboolean learn_poll(gpointer data)
{
    dialog_state *st = data;
    crsae_gimp_learn *job = st->job;
    if (!g_atomic_int_get(&st->learn_done)) {
        if (g_atomic_int_get(&job->cancel)) {
            gtk_progress_bar_set_text(GTK_PROGRESS_BAR(st->bar), _("Stopping..."));
            return G_SOURCE_CONTINUE;
        }
        gdouble f = MIN(1.0, (g_get_monotonic_time() - st->learn_start) / 1e6 / job->seconds);
        gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(st->bar), f);
        gchar *text = g_strdup_printf(_("Learning: %d steps, %.0f s left"),
                                      g_atomic_int_get(&job->steps),
                                      MAX(0.0, (1.0 - f) * job->seconds));
        gtk_progress_bar_set_text(GTK_PROGRESS_BAR(st->bar), text);
        g_free(text);
        return G_SOURCE_CONTINUE;
    }
    st->timer = 0; /* this source ends by returning REMOVE */
    g_thread_join(st->learner);
    st->learner = NULL;
    st->job = NULL;
    learning_ui(st, FALSE);
    if (job->status == CRSAE_OK) {
        fill_models(st, job->path);
        g_object_set(st->config, "model", job->path, NULL);
        /* the bar stays to say what learning gained */
        const crsae_adapt_outcome *o = &job->outcome;
        gchar *text = !o->kept ? g_strdup(_("No gain on this image: the new model is the old one"))
                      : o->mse_after > 0.0 && o->mse_before > 0.0
                          ? g_strdup_printf(_("Learned: about %+.2f dB on this image"),
                                            10.0 * log10(o->mse_before / o->mse_after))
                          : g_strdup(_("Learned: a lower estimated error on this image"));
        gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(st->bar), 1.0);
        gtk_progress_bar_set_text(GTK_PROGRESS_BAR(st->bar), text);
        gtk_widget_set_visible(st->bar, TRUE);
        g_free(text);
    } else if (job->status != CRSAE_ERR_CANCELLED) {
        g_message(_("Learning failed: %s"), crsae_strerror(job->status));
    }
    crsae_gimp_learn_free(job);
    return G_SOURCE_REMOVE;
}

static void on_learn(GtkButton *button, dialog_state *st)
{
    (void)button;
    if (st->job)
        return;
    gdouble level;
    gchar *start = NULL;
    g_object_get(st->config, "noise-level", &level, "model", &start, NULL);
    GError *error = NULL;
    st->job = crsae_gimp_learn_prepare(st->drawable, level, start, NULL, 0.0, &error);
    g_free(start);
    if (!st->job) {
        g_message("%s", error->message);
        g_clear_error(&error);
        return;
    }
    g_atomic_int_set(&st->learn_done, 0);
    learning_ui(st, TRUE);
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(st->bar), 0.0);
    st->learn_start = g_get_monotonic_time();
    st->learner = g_thread_new("crsae-learn", learn_thread, st);
    st->timer = g_timeout_add(100, learn_poll, st);
}

static void on_learn_cancel(GtkButton *button, dialog_state *st)
{
    (void)button;
    if (st->job) {
        g_atomic_int_set(&st->job->cancel, 1);
        gtk_widget_set_sensitive(st->cancel, FALSE);
    }
}

static GtkWidget *learn_row(dialog_state *st)
{
    GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    st->learn = gtk_button_new_with_mnemonic(_("Learn _from this image"));
    gtk_widget_set_tooltip_text(
        st->learn, _("Adapt the chosen model to this image's noise and content for a minute, "
                     "keep it among your models and select it"));
    g_signal_connect(st->learn, "clicked", G_CALLBACK(on_learn), st);
    st->bar = gtk_progress_bar_new();
    gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(st->bar), TRUE);
    st->cancel = gtk_button_new_with_mnemonic(_("S_top learning"));
    g_signal_connect(st->cancel, "clicked", G_CALLBACK(on_learn_cancel), st);
    gtk_box_pack_start(GTK_BOX(row), st->learn, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(row), st->bar, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(row), st->cancel, FALSE, FALSE, 0);
    gtk_widget_show(row);
    gtk_widget_show(st->learn);
    gtk_widget_set_no_show_all(st->bar, TRUE);
    gtk_widget_set_no_show_all(st->cancel, TRUE);
    return row;
}

gboolean crsae_gimp_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                           GimpDrawable *drawable)
{
    dialog_state st = {0};
    st.drawable = drawable;
    st.config = config;
    st.dialog = gimp_procedure_dialog_new(procedure, config, _("Denoise (CRsAE)"));
    st.preview = gimp_procedure_dialog_get_drawable_preview(GIMP_PROCEDURE_DIALOG(st.dialog),
                                                            "preview", drawable);
    preview_queue_init(&st.previews, draw_preview, &st);
    g_signal_connect(st.preview, "invalidated", G_CALLBACK(update_preview), &st);
    g_signal_connect_swapped(config, "notify", G_CALLBACK(gimp_preview_invalidate), st.preview);

    gimp_procedure_dialog_get_scale_entry(GIMP_PROCEDURE_DIALOG(st.dialog), "noise-level", 1.0);
    GtkWidget *estimate = gtk_button_new_with_mnemonic(_("_Estimate noise level"));
    gtk_widget_set_tooltip_text(estimate,
                                _("Measure the noise of the selected area and set the level"));
    g_signal_connect(estimate, "clicked", G_CALLBACK(on_estimate), &st);
    gtk_widget_set_halign(estimate, GTK_ALIGN_START);
    gtk_widget_show(estimate);

    GtkWidget *model_row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *model_label = gtk_label_new_with_mnemonic(_("_Model"));
    st.models = gtk_combo_box_text_new();
    gtk_label_set_mnemonic_widget(GTK_LABEL(model_label), st.models);
    gchar *current = NULL;
    g_object_get(config, "model", &current, NULL);
    fill_models(&st, current);
    g_free(current);
    g_signal_connect(st.models, "changed", G_CALLBACK(on_model_changed), &st);
    gtk_box_pack_start(GTK_BOX(model_row), model_label, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(model_row), st.models, TRUE, TRUE, 0);
    gtk_widget_show_all(model_row);

    gimp_procedure_dialog_fill(GIMP_PROCEDURE_DIALOG(st.dialog), "preview", "noise-level",
                               "iterations", "quality", NULL);
    GtkWidget *content = gtk_dialog_get_content_area(GTK_DIALOG(st.dialog));
    gtk_box_pack_start(GTK_BOX(content), estimate, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(content), model_row, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(content), learn_row(&st), FALSE, FALSE, 0);
    gtk_dialog_set_default_response(GTK_DIALOG(st.dialog), GTK_RESPONSE_OK);
    /* a larger dialog gives a larger preview, not wider gaps between rows */
    GList *rows = gtk_container_get_children(GTK_CONTAINER(content));
    for (GList *r = rows; r; r = r->next) {
        gboolean grow = gtk_widget_is_ancestor(st.preview, r->data) || r->data == st.preview;
        guint padding;
        GtkPackType pack;
        gtk_box_query_child_packing(GTK_BOX(content), r->data, NULL, NULL, &padding, &pack);
        gtk_box_set_child_packing(GTK_BOX(content), r->data, grow, grow, padding, pack);
    }
    g_list_free(rows);

    gboolean ok = gimp_procedure_dialog_run(GIMP_PROCEDURE_DIALOG(st.dialog));
    if (st.job) { /* closed while learning: stop, keep nothing */
        g_atomic_int_set(&st.job->cancel, 1);
        crsae_gimp_learn_free(learn_join(&st));
    }
    g_signal_handlers_disconnect_by_data(config, st.preview);
    preview_queue_finish(&st.previews);
    gtk_widget_destroy(st.dialog);
    return ok;
}
