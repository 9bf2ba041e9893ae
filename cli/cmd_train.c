/* cmd_train.c - `crsae train`: learn a dictionary from PNG images. */
#include "cli.h"
#include "images.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct image_set {
    float **pixels;
    int *w, *h;
    int n, cap;
} image_set;

static int add_image(image_set *s, const char *path)
{
    pngio_image img;
    int rc = cli_read_png(path, &img);
    if (rc != EXIT_OK)
        return rc;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->pixels = realloc(s->pixels, sizeof(float *) * (size_t)s->cap);
        s->w = realloc(s->w, sizeof(int) * (size_t)s->cap);
        s->h = realloc(s->h, sizeof(int) * (size_t)s->cap);
        if (!s->pixels || !s->w || !s->h) {
            cli_error(path, _("out of memory"));
            pngio_free(&img);
            return EXIT_INTERNAL;
        }
    }
    float *g = images_luma(&img);
    pngio_free(&img);
    if (!g) {
        cli_error(path, _("out of memory"));
        return EXIT_INTERNAL;
    }
    s->pixels[s->n] = g;
    s->w[s->n] = img.width;
    s->h[s->n] = img.height;
    s->n++;
    return EXIT_OK;
}

/* A file, or every .png of a folder in name order. */
static int add_path(image_set *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_error(path, _("no such file or folder"));
        return EXIT_INPUT;
    }
    if (!S_ISDIR(st.st_mode))
        return add_image(s, path);
    size_t n;
    char **names = images_list_png(path, &n);
    if (!names) {
        cli_error(path, _("cannot open the folder"));
        return EXIT_INPUT;
    }
    int rc = EXIT_OK;
    for (size_t i = 0; i < n && rc == EXIT_OK; i++)
        rc = add_image(s, names[i]);
    images_free_list(names, n);
    return rc;
}

typedef struct progress {
    int tty;
    crsae_train_report last;
    const crsae_model *model;
    const crsae_train_state *state;
    const char *checkpoint; /* NULL: none */
    int every;
    int failed; /* a checkpoint could not be written */
} progress;

static int write_checkpoint(progress *p)
{
    crsae_status st = crsae_checkpoint_save_file(p->model, p->state, p->checkpoint);
    if (st != CRSAE_OK) {
        cli_error(p->checkpoint, "%s", crsae_strerror(st));
        p->failed = 1;
    }
    return st == CRSAE_OK;
}

static int on_progress(const crsae_train_report *r, void *user)
{
    progress *p = user;
    p->last = *r;
    if (p->tty || r->step == r->steps || r->step % 100 == 0) {
        double eta = r->step ? r->seconds / r->step * (r->steps - r->step) : 0;
        fprintf(stderr, "%sstep %d/%d  batch PSNR %.2f dB  %.0f s, about %.0f s left%s",
                p->tty ? "\r" : "", r->step, r->steps, r->psnr, r->seconds, eta,
                p->tty ? "   " : "\n");
    }
    if (p->checkpoint && p->every > 0 && r->step % p->every == 0 && !write_checkpoint(p))
        return 1;
    return interrupted != 0;
}

static void help(void)
{
    printf(_("Usage: crsae train --data DIR|FILE [--data ...] --sigma N --out MODEL [OPTIONS]\n"
             "Learns a dictionary from clean images with noise of level N (0..255 scale)\n"
             "added to random patches.\n"
             "  --filters C (64)  --size K (7)  --stride s (5)  --iterations T (15)  --untied\n"
             "  --init MODEL      start from this model (\"default\": the built-in one)\n"
             "  --steps N (500)  --batch B (8)  --patch P (64)  --lr X (0.001)\n"
             "  --seed S (1)  --threads N (0 = all)\n"
             "  --bias fixed|backprop|em  how the thresholds learn (default backprop);\n"
             "                    em: the paper's Bayesian lambda update\n"
             "  --ensemble        loss on the mean of all stride x stride shifts, as denoising\n"
             "                    computes it (default for untied models; s*s times slower)\n"
             "  --single-shift    one shift per patch (default for tied models)\n"
             "  --checkpoint FILE  write the model and the optimiser's state there every\n"
             "                    --checkpoint-every N (100) steps, on Ctrl-C and at the end\n"
             "  --resume FILE     continue a checkpoint exactly (its model, settings and\n"
             "                    seed; give the same --data; --steps sets a new total)\n"
             "Ctrl-C stops after the current step and still writes the model.\n"));
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},       {"sigma", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},        {"filters", required_argument, NULL, 'C'},
        {"size", required_argument, NULL, 'K'},       {"stride", required_argument, NULL, 'S'},
        {"iterations", required_argument, NULL, 'T'}, {"untied", no_argument, NULL, 'u'},
        {"init", required_argument, NULL, 'I'},       {"steps", required_argument, NULL, 'n'},
        {"batch", required_argument, NULL, 'b'},      {"patch", required_argument, NULL, 'p'},
        {"lr", required_argument, NULL, 'l'},         {"seed", required_argument, NULL, 'r'},
        {"threads", required_argument, NULL, 't'},    {"fixed-bias", no_argument, NULL, 'f'},
        {"checkpoint", required_argument, NULL, 'k'}, {"checkpoint-every", required_argument, NULL, 'e'},
        {"resume", required_argument, NULL, 'R'},     {"bias", required_argument, NULL, 'B'},       {"ensemble", no_argument, NULL, 'E'},         {"single-shift", no_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    double sigma = 0, C = 64, K = 7, S = 5, T = 15, steps = 500, batch = 8, patch = 64,
           lr = 1e-3, seed = 1, threads = 0;
    int untied = 0, bias_mode = CRSAE_BIAS_BACKPROP, ensemble = -1, c;
    const char *out = NULL, *init = NULL, *checkpoint = NULL, *resume = NULL;
    double every = 100;
    int steps_given = 0, T_given = 0;
    const char *data[256];
    int ndata = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int ok = 1;
        switch (c) {
        case 'd':
            if (ndata < 256)
                data[ndata++] = optarg;
            break;
        case 's': ok = cli_number("--sigma", optarg, 0.1, 255, &sigma); break;
        case 'o': out = optarg; break;
        case 'C': ok = cli_number("--filters", optarg, 1, CRSAE_MAX_FILTERS, &C); break;
        case 'K': ok = cli_number("--size", optarg, 1, CRSAE_MAX_SIZE, &K); break;
        case 'S': ok = cli_number("--stride", optarg, 1, CRSAE_MAX_SIZE, &S); break;
        case 'T':
            ok = cli_number("--iterations", optarg, 1, CRSAE_MAX_ITERATIONS, &T);
            T_given = 1;
            break;
        case 'u': untied = 1; break;
        case 'I': init = optarg; break;
        case 'n':
            ok = cli_number("--steps", optarg, 0, 1e9, &steps);
            steps_given = 1;
            break;
        case 'k': checkpoint = optarg; break;
        case 'e': ok = cli_number("--checkpoint-every", optarg, 1, 1e9, &every); break;
        case 'R': resume = optarg; break;
        case 'b': ok = cli_number("--batch", optarg, 1, 4096, &batch); break;
        case 'p': ok = cli_number("--patch", optarg, 1, 1024, &patch); break;
        case 'l': ok = cli_number("--lr", optarg, 1e-7, 1, &lr); break;
        case 'r': ok = cli_number("--seed", optarg, 0, 9007199254740992.0, &seed); break;
        case 't': ok = cli_number("--threads", optarg, 0, 256, &threads); break;
        case 'f': bias_mode = CRSAE_BIAS_FIXED; break;
        case 'B':
            if (!strcmp(optarg, "fixed"))
                bias_mode = CRSAE_BIAS_FIXED;
            else if (!strcmp(optarg, "backprop"))
                bias_mode = CRSAE_BIAS_BACKPROP;
            else if (!strcmp(optarg, "em"))
                bias_mode = CRSAE_BIAS_EM;
            else {
                cli_error("--bias", _("must be fixed, backprop or em"));
                ok = 0;
            }
            break;
        case 'E': ensemble = 1; break;
        case 'O': ensemble = 0; break;
        case 'h': help(); return EXIT_OK;
        default: return EXIT_USAGE;
        }
        if (!ok)
            return EXIT_USAGE;
    }
    if (!out || (sigma <= 0 && !resume) || ndata == 0 || optind != argc) {
        cli_error("train", _("needs --data, --sigma and --out (try crsae train --help)"));
        return EXIT_USAGE;
    }
    if (S > K || (int)patch < (int)K) {
        cli_error("train", _("the stride must not exceed the filter size, nor the filter size the patch"));
        return EXIT_USAGE;
    }
    image_set set = {0};
    int rc = EXIT_OK;
    for (int i = 0; i < ndata && rc == EXIT_OK; i++)
        rc = add_path(&set, data[i]);
    crsae_model *m = NULL;
    crsae_train_state *state = NULL;
    if (rc == EXIT_OK && set.n == 0) {
        cli_error("train", _("no PNG images in the data"));
        rc = EXIT_INPUT;
    }
    if (rc != EXIT_OK)
        goto done;
    crsae_train_params p;
    crsae_train_params_init(&p);
    if (resume) {
        crsae_status st = crsae_checkpoint_load_file(resume, &m, &state);
        if (st != CRSAE_OK) {
            cli_error(resume, "%s", crsae_strerror(st));
            rc = st == CRSAE_ERR_OPEN || st == CRSAE_ERR_READ ? EXIT_INPUT : EXIT_MODEL;
            goto done;
        }
        crsae_train_state_params(state, &p);
        if (steps_given)
            p.steps = (int)steps;
        sigma = p.sigma * 255.0;
        lr = p.learning_rate;
        seed = (double)p.seed;
        bias_mode = p.learn_bias;
        fprintf(stderr, _("resuming at step %d of %d\n"), crsae_train_state_step(state), p.steps);
    } else if (init) {
        rc = cli_load_model(strcmp(init, "default") ? init : NULL, &m);
        if (rc != EXIT_OK)
            goto done;
        crsae_model_info in;
        crsae_model_get_info(m, &in);
        if (T_given)
            crsae_model_set_params(m, (int)T, in.lipschitz, in.sigma_train, in.bias_exponent);
    } else {
        crsae_status st = crsae_model_new(&m, (int)C, (int)K, (int)S, untied);
        if (st == CRSAE_OK)
            st = crsae_model_set_params(m, (int)T, 1.0f, (float)(sigma / 255.0), 1.0f);
        if (st == CRSAE_OK)
            st = crsae_model_randomize(m, (float)(sigma / 255.0), (uint64_t)seed);
        if (st != CRSAE_OK) {
            cli_error("train", "%s", crsae_strerror(st));
            rc = cli_exit_for(st);
            goto done;
        }
    }
    if (!resume) {
        p.sigma = (float)(sigma / 255.0);
        p.steps = (int)steps;
        p.batch = (int)batch;
        p.patch = (int)patch;
        p.learning_rate = (float)lr;
        p.seed = (uint64_t)seed;
        p.learn_bias = bias_mode;
        crsae_model_info mi;
        crsae_model_get_info(m, &mi);
        p.ensemble = ensemble >= 0 ? ensemble : mi.untied;
        crsae_status st = crsae_train_state_new(&state);
        if (st != CRSAE_OK) {
            cli_error("train", "%s", crsae_strerror(st));
            rc = cli_exit_for(st);
            goto done;
        }
    }
    p.threads = (int)threads;
    p.state = state;
    progress pr = {isatty(STDERR_FILENO), {0}, m, state, checkpoint, (int)every, 0};
    p.progress = on_progress;
    p.progress_user = &pr;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    crsae_status st = crsae_train(m, &p, (const float *const *)set.pixels, set.w, set.h, set.n);
    sigaction(SIGINT, &old, NULL);
    if (pr.tty)
        fputc('\n', stderr);
    if ((st == CRSAE_OK || st == CRSAE_ERR_CANCELLED) && checkpoint && !pr.failed &&
        crsae_train_state_step(state) > 0 && pr.last.step % pr.every != 0)
        write_checkpoint(&pr);
    if (st == CRSAE_ERR_CANCELLED && pr.failed) {
        rc = EXIT_OUTPUT;
        goto done;
    }
    if (st != CRSAE_OK && st != CRSAE_ERR_CANCELLED) {
        cli_error("train", "%s", crsae_strerror(st));
        rc = cli_exit_for(st);
        goto done;
    }
    char prov[2048];
    int len = snprintf(prov, sizeof prov,
                       "Trained by crsae %s: %d of %d steps, batch %d, patch %d, lr %g, seed %.0f, "
                       "sigma %g, %s thresholds, %s, %d images from",
                       crsae_version_string(), pr.last.step, p.steps, p.batch, p.patch, lr, seed,
                       sigma,
                       bias_mode == CRSAE_BIAS_FIXED  ? "fixed"
                       : bias_mode == CRSAE_BIAS_EM   ? "EM-updated"
                                                      : "back-propagated",
                       p.ensemble ? "shift-ensemble loss" : "one shift per patch", set.n);
    for (int i = 0; i < ndata && len < (int)sizeof prov - 1; i++)
        len += snprintf(prov + len, sizeof prov - (size_t)len, " %s", data[i]);
    if (len < (int)sizeof prov - 1)
        snprintf(prov + len, sizeof prov - (size_t)len,
                 "; %.0f s; last batch PSNR %.2f dB%s", pr.last.seconds, pr.last.psnr,
                 init ? "; started from a given model" : "");
    crsae_model_set_provenance(m, prov);
    crsae_status ws = crsae_model_save_file(m, out);
    if (ws != CRSAE_OK) {
        cli_error(out, "%s", crsae_strerror(ws));
        rc = EXIT_OUTPUT;
        goto done;
    }
    if (st == CRSAE_ERR_CANCELLED) {
        cli_error("train", _("interrupted after step %d; the model so far is in %s"), pr.last.step, out);
        rc = EXIT_CANCELLED;
    }
done:
    crsae_train_state_free(state);
    crsae_model_free(m);
    for (int i = 0; i < set.n; i++)
        free(set.pixels[i]);
    free(set.pixels);
    free(set.w);
    free(set.h);
    return rc;
}
