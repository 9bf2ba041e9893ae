/* mkimage - writes a synthetic test PNG (the repository ships no
 * third-party images): mkimage OUT.png WIDTH HEIGHT CHANNELS DEPTH SEED */
#include <stdio.h>
#include <stdlib.h>

#include "pngio.h"
#include "testutil.h"

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: mkimage OUT.png WIDTH HEIGHT CHANNELS DEPTH SEED\n");
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), ch = atoi(argv[4]), depth = atoi(argv[5]);
    float *g = tu_synthetic_image(w, h, (uint64_t)atoll(argv[6]));
    float *img = malloc((size_t)w * h * ch * sizeof(float));
    if (!g || !img)
        return 1;
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int c = 0; c < ch; c++) {
            int alpha = (ch == 2 && c == 1) || c == 3;
            /* alpha never 0: GIMP does not keep the colour of invisible pixels */
            img[i * ch + c] = alpha ? 0.25f + 0.75f * (float)(i % 97) / 96.0f
                                    : g[i] * (1.0f - 0.15f * c) + 0.05f * c;
        }
    char msg[256];
    if (pngio_write(argv[1], img, w, h, ch, depth, msg, sizeof msg) != PNGIO_OK) {
        fprintf(stderr, "mkimage: %s\n", msg);
        return 1;
    }
    free(g);
    free(img);
    return 0;
}
