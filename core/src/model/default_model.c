/* default_model.c - the model built into the library, generated at build
 * time from models/default.crsae by tools/bin2c.c. */
#include "crsae.h"

extern const unsigned char crsae__default_model[];
extern const size_t crsae__default_model_size;

crsae_status crsae_model_default(crsae_model **out)
{
    return crsae_model_load_memory(out, crsae__default_model, crsae__default_model_size);
}
