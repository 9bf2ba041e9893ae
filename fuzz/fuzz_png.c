/* fuzz_png.c - libFuzzer target: the PNG reader on arbitrary bytes; small
 * images that read are also denoised (1 iteration, 2 shifts) to exercise the core on
 * every layout and odd size. */
#include <stdio.h>
#include <stdlib.h>

#include "crsae.h"
#include "pngio.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    pngio_image img;
    char msg[256];
    pngio_status st = pngio_read_stream(f, &img, msg, sizeof msg);
    fclose(f);
    if (st != PNGIO_OK)
        return 0;
    if ((long)img.width * img.height <= 1024) {
        static crsae_model *model;
        if (!model && crsae_model_default(&model) != CRSAE_OK)
            abort();
        crsae_denoise_params p;
        crsae_denoise_params_init(&p);
        p.iterations = 1;
        p.shifts = 2;
        p.threads = 1;
        size_t stride = (size_t)img.width * img.channels;
        if (crsae_denoise_image(model, &p, img.pixels, stride, img.pixels, stride, img.width,
                                img.height, img.channels) != CRSAE_OK)
            abort();
    }
    pngio_free(&img);
    return 0;
}
