/* fuzz_model.c - libFuzzer target: the model loader on arbitrary bytes.
 * A file that loads must save back to the very same bytes and load again. */
#include <stdlib.h>
#include <string.h>

#include "crsae.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    crsae_model *m = NULL;
    if (crsae_model_load_memory(&m, data, size) != CRSAE_OK)
        return 0;
    void *out;
    size_t n;
    /* the CRC is not checked in fuzzing builds: compare everything else */
    if (crsae_model_save_memory(m, &out, &n) != CRSAE_OK || n != size ||
        memcmp(out, data, n - 4) != 0)
        abort();
    crsae_model *again = NULL;
    if (crsae_model_load_memory(&again, out, n) != CRSAE_OK)
        abort();
    crsae_model_free(again);
    crsae_free(out);
    crsae_model_free(m);
    return 0;
}
