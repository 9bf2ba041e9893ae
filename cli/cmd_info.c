/* cmd_info.c - `crsae info MODEL`: describe a model file. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_info(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        printf(_("Usage: crsae info MODEL.crsae   (\"default\" for the built-in model)\n"));
        return argc == 2 ? EXIT_OK : EXIT_USAGE;
    }
    crsae_model *m;
    int rc = cli_load_model(strcmp(argv[1], "default") ? argv[1] : NULL, &m);
    if (rc != EXIT_OK)
        return rc;
    crsae_model_info in;
    crsae_model_get_info(m, &in);
    printf(_("filters: %d\nsize: %dx%d\nstride: %d\niterations: %d\nweights: %s\n"
             "lipschitz: %g\nsigma_train: %g (%.2f on 0..255)\nbias_exponent: %g\n"
             "provenance: %s\n"),
           in.filters, in.size, in.size, in.stride, in.iterations,
           in.untied ? "untied" : "tied", in.lipschitz, in.sigma_train,
           in.sigma_train * 255.0, in.bias_exponent, in.provenance);
    crsae_model_free(m);
    return EXIT_OK;
}
