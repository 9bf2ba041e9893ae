/* cmd_train.c - `crsae train`: learn a dictionary from PNG images. */
#include "cli.h"
#include "images.h"
#include "train_validate.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
    double mp; /* megapixels of the --from-image photo */
} image_set;




static int push_plane(image_set *s, float *g, int w, int h, const char *path)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        float **px = realloc(s->pixels, sizeof(float *) * (size_t)cap);
        if (px)
            s->pixels = px;
        int *ws = px ? realloc(s->w, sizeof(int) * (size_t)cap) : NULL;
        if (ws)
            s->w = ws;
        int *hs = ws ? realloc(s->h, sizeof(int) * (size_t)cap) : NULL;
        if (hs)
            s->h = hs;
        if (!hs) {
            cli_error(path, _("out of memory"));
            free(g);
            return EXIT_INTERNAL;
        }
        s->cap = cap;
    }
    s->pixels[s->n] = g;
    s->w[s->n] = w;
    s->h[s->n] = h;
    s->n++;
    return EXIT_OK;
}

/* One clean training image, as grey. */
static int add_image(image_set *s, const char *path)
{
    pngio_image img;
    int rc = cli_read_png(path, &img);
    if (rc != EXIT_OK)
        return rc;
    float *g = images_luma(&img);
    int w = img.width, h = img.height;
    pngio_free(&img);
    if (!g) {
        cli_error(path, _("out of memory"));
        return EXIT_INTERNAL;
    }
    return push_plane(s, g, w, h, path);
}

/* One noisy photo; *sigma (0..255) estimated when asked. */
static int load_noisy(const char *path, pngio_image *img, double *sigma)
{
    int rc = cli_read_png(path, img);
    if (rc != EXIT_OK || !sigma)
        return rc;
    float est;
    crsae_status st = crsae_estimate_noise_level(img->pixels, (size_t)img->width * img->channels,
                                                 img->width, img->height, img->channels, &est);
    if (st != CRSAE_OK) {
        cli_error(path, _("cannot estimate the noise level (%s); give --sigma"),
                  crsae_strerror(st));
        pngio_free(img);
        return EXIT_INPUT;
    }
    *sigma = est * 255.0;
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
    int budget; /* a time budget (--from-image): the ETA comes from it */
    crsae_train_report last;
    const crsae_model *model;
    const crsae_train_state *state;
    const char *checkpoint; /* NULL: none */
    int every;
    int failed; /* a checkpoint could not be written */
    int first_step;
    double per_epoch;       /* patches in one pass over the data; 0: unknown */
    int batch;
    const validation *val;  /* NULL: no --validate */
    int val_every;
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
    if (!p->first_step)
        p->first_step = r->step; /* a resumed run starts past 1 */
    const double elapsed = r->seconds;
    if (p->tty || r->step == r->steps || r->step % 100 == 0) {
        int done = r->step - p->first_step + 1;
        double eta = p->budget ? (r->budget_used > 0 ? elapsed / r->budget_used - elapsed : 0)
                               : r->seconds / done * (r->steps - r->step);
        char epoch[32] = "", of[24] = "";
        if (p->per_epoch > 0)
            snprintf(epoch, sizeof epoch, " (epoch %.2f)", r->step * (double)p->batch / p->per_epoch);
        if (!p->budget)
            snprintf(of, sizeof of, "/%d", r->steps);
        fprintf(stderr, "%sstep %d%s%s  batch PSNR %.2f dB  %.0f s, about %.0f s left%s",
                p->tty ? "\r" : "", r->step, of, epoch, r->psnr, elapsed, eta > 0 ? eta : 0.0,
                p->tty ? "   " : "\n");
    }
    if (p->val && (r->step % p->val_every == 0 || r->step == r->steps)) {
        double ps[VALIDATE_MAX_SIGMAS];
        if (validation_run(p->val, p->model, ps) == 0) {
            fprintf(stderr, "%sstep %d: held-out PSNR", p->tty ? "\n" : "", r->step);
            for (int k = 0; k < p->val->nsigma; k++)
                fprintf(stderr, "%s %.2f dB at sigma %g", k ? "," : "", ps[k], p->val->sigma[k]);
            fputc('\n', stderr);
        }
    }
    if (p->checkpoint && p->every > 0 && r->step % p->every == 0 && !write_checkpoint(p))
        return 1;
    return interrupted != 0;
}

/* --init TIED --untied: an untied model whose three banks start as H. */
static int untie(crsae_model **m)
{
    crsae_model_info in;
    crsae_model_get_info(*m, &in);
    size_t n = (size_t)in.filters * in.size * in.size;
    float *bank = malloc(n * sizeof(float)), *lambda = malloc((size_t)in.filters * sizeof(float));
    crsae_model *u = NULL;
    crsae_status st = bank && lambda ? crsae_model_new(&u, in.filters, in.size, in.stride, 1)
                                     : CRSAE_ERR_NOMEM;
    if (st == CRSAE_OK)
        st = crsae_model_get_bank(*m, CRSAE_BANK_DECODER, bank);
    for (int b = CRSAE_BANK_DECODER; st == CRSAE_OK && b <= CRSAE_BANK_OUTPUT; b++)
        st = crsae_model_set_bank(u, (crsae_bank)b, bank);
    if (st == CRSAE_OK)
        st = crsae_model_get_lambda(*m, lambda);
    if (st == CRSAE_OK)
        st = crsae_model_set_lambda(u, lambda);
    if (st == CRSAE_OK)
        st = crsae_model_set_params(u, in.iterations, in.lipschitz, in.sigma_train,
                                    in.bias_exponent);
    free(bank);
    free(lambda);
    if (st != CRSAE_OK) {
        crsae_model_free(u);
        cli_error("--untied", "%s", crsae_strerror(st));
        return cli_exit_for(st);
    }
    crsae_model_free(*m);
    *m = u;
    return EXIT_OK;
}

static void help(void)
{
    printf(_("Usage: crsae train --data DIR|FILE [--data ...] --sigma N --out MODEL [OPTIONS]\n"
             "       crsae train --from-image NOISY.png [--sigma N|auto] --out MODEL [OPTIONS]\n"
             "Learns a dictionary from clean images with noise of level N (0..255 scale)\n"
             "added to random patches; or adapts a model (the built-in one unless --init)\n"
             "to one noisy photo, without a clean version, by Stein's unbiased risk\n"
             "estimate, for --seconds S (60 per megapixel, at least 60).\n"
             "  --filters C (64)  --size K (7)  --stride s (5)  --iterations T (15)  --untied\n"
             "  --init MODEL      start from this model (\"default\": the built-in one);\n"
             "                    with --untied a tied model gets three banks, each H\n"
             "  --steps N (500)  --batch B (8)  --patch P (64)  --lr X (0.001)\n"
             "  --epochs E        steps for E passes over the data's patches (instead of --steps)\n"
             "  --validate DIR|FILE  held-out clean images: every --validate-every N (500)\n"
             "                    steps and at the end, the PSNR of the model so far on\n"
             "                    fixed noisy crops of them\n"
             "  --seed S (1)  --threads N (0 = all)\n"
             "  --sigma-max M     noise-level-aware model: each patch's noise level is drawn\n"
             "                    from [N, M]; the thresholds follow it (for a model that\n"
             "                    serves every noise level in that range)\n"
             "  --lr-schedule constant|cosine  the Adam step over the run (default constant;\n"
             "                    cosine falls to 1/50 of --lr by the last step)\n"
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
        {"resume", required_argument, NULL, 'R'},     {"from-image", required_argument, NULL, 'F'},
        {"seconds", required_argument, NULL, 'X'},     {"bias", required_argument, NULL, 'B'},       {"ensemble", no_argument, NULL, 'E'},         {"single-shift", no_argument, NULL, 'O'},
        {"sigma-max", required_argument, NULL, 'M'},  {"lr-schedule", required_argument, NULL, 'L'},
        {"epochs", required_argument, NULL, 'P'},     {"validate", required_argument, NULL, 'V'},
        {"validate-every", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    double sigma = 0, C = 64, K = 7, S = 5, T = 15, steps = 500, batch = 8, patch = 64,
           lr = 1e-3, seed = 1, threads = 0;
    int untied = 0, bias_mode = CRSAE_BIAS_BACKPROP, ensemble = -1, c, cosine = 0;
    double sigma_max = 0, epochs = 0, val_every = 500;
    const char *vdata[64];
    int nvdata = 0;
    const char *out = NULL, *init = NULL, *checkpoint = NULL, *resume = NULL, *from = NULL;
    double seconds = 0;
    int sigma_auto = 0, lr_given = 0, batch_given = 0, patch_given = 0;
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
        case 's':
            if (!strcmp(optarg, "auto"))
                sigma_auto = 1;
            else
                ok = cli_number("--sigma", optarg, 0.1, 255, &sigma);
            break;
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
        case 'F': from = optarg; break;
        case 'X': ok = cli_number("--seconds", optarg, 1, 1e7, &seconds); break;
        case 'b':
            ok = cli_number("--batch", optarg, 1, 4096, &batch);
            batch_given = 1;
            break;
        case 'p':
            ok = cli_number("--patch", optarg, 1, 1024, &patch);
            patch_given = 1;
            break;
        case 'l':
            ok = cli_number("--lr", optarg, 1e-7, 1, &lr);
            lr_given = 1;
            break;
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
        case 'M': ok = cli_number("--sigma-max", optarg, 0.1, 255, &sigma_max); break;
        case 'P': ok = cli_number("--epochs", optarg, 1e-3, 1e6, &epochs); break;
        case 'V':
            if (nvdata < 64)
                vdata[nvdata++] = optarg;
            break;
        case 'W': ok = cli_number("--validate-every", optarg, 1, 1e9, &val_every); break;
        case 'L':
            if (!strcmp(optarg, "cosine"))
                cosine = 1;
            else if (!strcmp(optarg, "constant"))
                cosine = 0;
            else {
                cli_error("--lr-schedule", _("must be constant or cosine"));
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
    if (from && (ndata > 0 || resume)) {
        cli_error("train", _("--from-image does not go with --data or --resume"));
        return EXIT_USAGE;
    }
    if (!out || (!from && ((sigma <= 0 && !resume) || ndata == 0 || sigma_auto)) ||
        optind != argc) {
        cli_error("train", _("needs --data, --sigma and --out, or --from-image and --out (try "
                             "crsae train --help)"));
        return EXIT_USAGE;
    }
    if (sigma_max > 0 && (from || resume || sigma_max < sigma || bias_mode == CRSAE_BIAS_EM)) {
        cli_error("--sigma-max", _("needs --data and a --sigma below it, and does not go with "
                                   "--bias em"));
        return EXIT_USAGE;
    }
    if (S > K || (int)patch < (int)K) {
        cli_error("train", _("the stride must not exceed the filter size, nor the filter size the patch"));
        return EXIT_USAGE;
    }
    /* Ctrl-C from here on stops after the current step (or the first) */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    image_set set = {0}, vset = {0};
    validation val = {0};
    int have_val = 0;
    int rc = EXIT_OK;
    crsae_model *m = NULL;
    crsae_train_state *state = NULL;
    pngio_image photo;
    int have_photo = 0;
    for (int i = 0; i < ndata && rc == EXIT_OK; i++)
        rc = add_path(&set, data[i]);
    for (int i = 0; i < nvdata && rc == EXIT_OK; i++)
        rc = add_path(&vset, vdata[i]);
    if (from) {
        /* one noisy photo, its noise level, a time budget */
        rc = load_noisy(from, &photo, sigma > 0 ? NULL : &sigma);
        if (rc != EXIT_OK)
            goto done;
        have_photo = 1;
        set.mp = (double)photo.width * photo.height / 1e6;
        if (!init)
            init = "default";
        if (seconds <= 0)
            seconds = crsae_learn_seconds(photo.width, photo.height);
        crsae_train_params q;
        crsae_train_params_init_noisy_image(&q);
        if (!lr_given)
            lr = q.learning_rate;
        if (!steps_given)
            steps = q.steps;
        if (!batch_given)
            batch = q.batch;
        if (!patch_given)
            patch = q.patch;
    }
    if (rc == EXIT_OK && set.n == 0 && !from) {
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
        sigma_max = p.sigma_max * 255.0;
        cosine = p.lr_cosine;
        fprintf(stderr, _("resuming at step %d of %d\n"), crsae_train_state_step(state), p.steps);
    } else if (init) {
        rc = cli_load_model(strcmp(init, "default") ? init : NULL, &m);
        if (rc != EXIT_OK)
            goto done;
        crsae_model_info in;
        crsae_model_get_info(m, &in);
        if (untied && !in.untied && (rc = untie(&m)) != EXIT_OK)
            goto done;
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
        p.sigma_max = (float)(sigma_max / 255.0);
        p.lr_cosine = cosine;
        p.ensemble = ensemble; /* -1: as the model is */
        crsae_status st = crsae_train_state_new(&state);
        if (st != CRSAE_OK) {
            cli_error("train", "%s", crsae_strerror(st));
            rc = cli_exit_for(st);
            goto done;
        }
    }
    /* an epoch: as many patches as the images hold side by side */
    double per_epoch = 0;
    for (int i = 0; i < set.n && !from; i++)
        per_epoch += (double)(set.w[i] / p.patch) * (double)(set.h[i] / p.patch);
    if (epochs > 0 && !resume && !from) {
        if (per_epoch < 1) {
            cli_error("--epochs", _("the images are smaller than a patch"));
            rc = EXIT_USAGE;
            goto done;
        }
        double n = ceil(epochs * per_epoch / p.batch);
        p.steps = n > 2e9 ? 2000000000 : (int)n;
    }
    if (vset.n > 0) {
        if (validation_init(&val, vset.pixels, vset.w, vset.h, vset.n, p.sigma * 255.0,
                            p.sigma_max > p.sigma ? p.sigma_max * 255.0 : 0.0) != 0) {
            cli_error("--validate", _("out of memory"));
            rc = EXIT_INTERNAL;
            goto done;
        }
        have_val = 1;
    }
    p.threads = (int)threads;
    p.state = state;
    p.self_supervised = from != NULL;
    if (from)
        p.seconds = seconds;
    progress pr = {.tty = isatty(STDERR_FILENO), .budget = from != NULL, .model = m,
                   .state = state, .checkpoint = checkpoint, .every = (int)every,
                   .per_epoch = per_epoch, .batch = p.batch, .val = have_val ? &val : NULL,
                   .val_every = (int)val_every};
    if (from && !pr.tty)
        fprintf(stderr, _("adapting the model to %s: sigma %.2f, up to %.0f s\n"), from, sigma,
                seconds);
    p.progress = on_progress;
    p.progress_user = &pr;
    crsae_adapt_outcome outcome = {0.0, 0.0, 1};
    crsae_status st =
        from ? crsae_train_noisy_image(m, &p, photo.pixels, (size_t)photo.width * photo.channels,
                                       photo.width, photo.height, photo.channels, &outcome)
             : crsae_train(m, &p, (const float *const *)set.pixels, set.w, set.h, set.n);
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
    if (from) {
        const double b = outcome.mse_before, a = outcome.mse_after;
        if (b > 0.0 && a > 0.0)
            fprintf(stderr, _("estimated change on the held-out part of the photo (SURE): %+.2f dB\n"),
                    10.0 * log10(b / a));
        else /* a heavily clipped photo: the estimates are only comparable */
            fprintf(stderr, _("estimated error on the held-out part of the photo (SURE): %s\n"),
                    a < b ? _("lower") : _("not lower"));
        if (!outcome.kept)
            fprintf(stderr, _("adapting did not help this photo: %s is the start model\n"), out);
    }
    char range[64] = "";
    if (sigma_max > 0)
        snprintf(range, sizeof range, " to %g (noise-level-aware)", sigma_max);
    crsae_model_info mi;
    crsae_model_get_info(m, &mi);
    const int ensembled = p.ensemble < 0 ? mi.untied : p.ensemble;
    char prov[2048];
    int len = snprintf(prov, sizeof prov,
                       "Trained by crsae %s: %d of %d steps, batch %d, patch %d, lr %g%s, seed %.0f, "
                       "sigma %g%s, %s thresholds, %s, %d images from",
                       crsae_version_string(), pr.last.step, p.steps, p.batch, p.patch, lr,
                       cosine ? " (cosine)" : "", seed, sigma, range,
                       bias_mode == CRSAE_BIAS_FIXED  ? "fixed"
                       : bias_mode == CRSAE_BIAS_EM   ? "EM-updated"
                                                      : "back-propagated",
                       ensembled ? "shift-ensemble loss" : "one shift per patch", set.n);
    for (int i = 0; i < ndata && len < (int)sizeof prov - 1; i++)
        len += snprintf(prov + len, sizeof prov - (size_t)len, " %s", data[i]);
    if (from && len < (int)sizeof prov - 1)
        len += snprintf(prov + len, sizeof prov - (size_t)len,
                        " the noisy photo %s (SURE; estimated error on its held-out part %.3g "
                        "-> %.3g)", from, outcome.mse_before, outcome.mse_after);
    if (len < (int)sizeof prov - 1)
        snprintf(prov + len, sizeof prov - (size_t)len,
                 "; %.0f s; last batch PSNR %.2f dB%s", pr.last.seconds, pr.last.psnr,
                 init ? "; started from a given model" : "");
    if (outcome.kept)
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
    if (have_photo)
        pngio_free(&photo);
    if (have_val)
        validation_free(&val);
    for (int i = 0; i < vset.n; i++)
        free(vset.pixels[i]);
    free(vset.pixels);
    free(vset.w);
    free(vset.h);
    crsae_train_state_free(state);
    crsae_model_free(m);
    for (int i = 0; i < set.n; i++)
        free(set.pixels[i]);
    free(set.pixels);
    free(set.w);
    free(set.h);
    return rc;
}
