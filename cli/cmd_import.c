/* cmd_import.c - `crsae import MODEL.json OUT.crsae`: convert a published
 * CRsAE checkpoint given as a JSON description plus raw little-endian
 * float32 arrays (H; for untied models also We and Wd; lam). */
#include "cli.h"
#include "json.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_text(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static double num(const json_value *root, const char *key, int *ok)
{
    const json_value *v = json_get(root, key);
    if (!v || v->type != JSON_NUMBER) {
        cli_error("import", _("the JSON has no number '%s'"), key);
        *ok = 0;
        return 0;
    }
    return v->number;
}

/* Reads array `name` (expected element count n) into a new buffer. */
static float *load_array(const json_value *arrays, const char *dir, const char *name, size_t n,
                         int *rc)
{
    const json_value *a = json_get(arrays, name);
    const json_value *file = json_get(a, "file"), *shape = json_get(a, "shape");
    if (!file || file->type != JSON_STRING || !shape || shape->type != JSON_ARRAY) {
        cli_error("import", _("array '%s' is missing or has no file/shape"), name);
        *rc = EXIT_MODEL;
        return NULL;
    }
    size_t prod = 1;
    for (size_t i = 0; i < shape->count; i++) {
        double d = shape->items[i].number;
        if (shape->items[i].type != JSON_NUMBER || d < 1 || d > 1e6) {
            cli_error("import", _("array '%s' has a bad shape"), name);
            *rc = EXIT_MODEL;
            return NULL;
        }
        prod *= (size_t)d;
    }
    if (prod != n) {
        cli_error("import", _("array '%s' has %zu elements, expected %zu"), name, prod, n);
        *rc = EXIT_MODEL;
        return NULL;
    }
    if (strchr(file->string, '/') || strstr(file->string, "..")) {
        cli_error("import", _("array file names must be plain names: '%s'"), file->string);
        *rc = EXIT_MODEL;
        return NULL;
    }
    size_t plen = strlen(dir) + strlen(file->string) + 2;
    char *path = malloc(plen);
    float *out = malloc(n * sizeof(float));
    unsigned char *raw = malloc(n * 4 + 1);
    FILE *f = NULL;
    if (!path || !out || !raw) {
        *rc = EXIT_INTERNAL;
        goto fail;
    }
    snprintf(path, plen, "%s/%s", dir, file->string);
    f = fopen(path, "rb");
    if (!f) {
        cli_error(path, _("cannot open"));
        *rc = EXIT_INPUT;
        goto fail;
    }
    size_t got = fread(raw, 1, n * 4 + 1, f);
    if (got != n * 4) {
        cli_error(path, _("has %zu bytes, expected %zu"), got, n * 4);
        *rc = EXIT_MODEL;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
                     (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24;
        memcpy(&out[i], &u, 4);
    }
    fclose(f);
    free(path);
    free(raw);
    return out;
fail:
    if (f)
        fclose(f);
    free(path);
    free(out);
    free(raw);
    return NULL;
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {{"bias-exponent", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    double expo = 1.0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'p') {
            if (!cli_number("--bias-exponent", optarg, 0, 4, &expo))
                return EXIT_USAGE;
        } else if (c == 'h') {
            printf(_("Usage: crsae import [--bias-exponent P] MODEL.json OUT.crsae\n"
                     "  P: thresholds follow (sigma/sigma_train)^P (default 1, measured best;\n"
                     "     the published rule is 2)\n"));
            return EXIT_OK;
        } else {
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        cli_error("import", _("expected MODEL.json OUT.crsae"));
        return EXIT_USAGE;
    }
    const char *json_path = argv[optind], *out_path = argv[optind + 1];
    char *text = read_text(json_path, 1 << 20);
    if (!text) {
        cli_error(json_path, _("cannot read (missing, unreadable or over 1 MiB)"));
        return EXIT_INPUT;
    }
    char err[128];
    json_value *root = json_parse(text, err, sizeof err);
    free(text);
    if (!root) {
        cli_error(json_path, "%s", err);
        return EXIT_MODEL;
    }
    int ok = 1, rc = EXIT_MODEL;
    double C = num(root, "filters", &ok), K = num(root, "size", &ok), s = num(root, "stride", &ok),
           T = num(root, "iterations", &ok), L = num(root, "L", &ok),
           sig = num(root, "sigma_train", &ok);
    const json_value *arrays = json_get(root, "arrays"), *src = json_get(root, "source");
    const json_value *name = json_get(root, "name");
    crsae_model *m = NULL;
    float *H = NULL, *We = NULL, *Wd = NULL, *lam = NULL;
    if (!ok || !arrays)
        goto done;
    int untied = json_get(arrays, "We") != NULL;
    if (crsae_model_new(&m, (int)C, (int)K, (int)s, untied) != CRSAE_OK ||
        C != (int)C || K != (int)K || s != (int)s) {
        cli_error(json_path, _("unsupported dimensions"));
        goto done;
    }
    /* the JSON's folder */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", json_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    size_t nb = (size_t)C * (size_t)K * (size_t)K;
    H = load_array(arrays, dir, "H", nb, &rc);
    lam = H ? load_array(arrays, dir, "lam", (size_t)C, &rc) : NULL;
    if (!H || !lam)
        goto done;
    if (untied) {
        We = load_array(arrays, dir, "We", nb, &rc);
        Wd = We ? load_array(arrays, dir, "Wd", nb, &rc) : NULL;
        if (!We || !Wd)
            goto done;
    }
    crsae_status st = crsae_model_set_bank(m, CRSAE_BANK_DECODER, H);
    if (st == CRSAE_OK && untied)
        st = crsae_model_set_bank(m, CRSAE_BANK_ENCODER, We);
    if (st == CRSAE_OK && untied)
        st = crsae_model_set_bank(m, CRSAE_BANK_OUTPUT, Wd);
    if (st == CRSAE_OK)
        st = crsae_model_set_lambda(m, lam);
    if (st == CRSAE_OK)
        st = crsae_model_set_params(m, (int)T, (float)L, (float)sig, (float)expo);
    if (st != CRSAE_OK) {
        cli_error(json_path, _("invalid checkpoint: %s"), crsae_strerror(st));
        goto done;
    }
    char prov[1024];
    snprintf(prov, sizeof prov,
             "Imported by `crsae import` from the published CRsAE checkpoint %s (%s). "
             "MIT licence, (c) 2020 Bahareh Tolooshams. Threshold exponent %g.",
             name && name->type == JSON_STRING ? name->string : "?",
             src && src->type == JSON_STRING ? src->string : "unknown source", expo);
    crsae_model_set_provenance(m, prov);
    st = crsae_model_save_file(m, out_path);
    if (st != CRSAE_OK) {
        cli_error(out_path, "%s", crsae_strerror(st));
        rc = EXIT_OUTPUT;
        goto done;
    }
    rc = EXIT_OK;
done:
    free(H), free(We), free(Wd), free(lam);
    crsae_model_free(m);
    json_free(root);
    return rc;
}
