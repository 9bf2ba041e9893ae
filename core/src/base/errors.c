/* errors.c - messages for status codes. */
#include "crsae.h"

const char *crsae_strerror(crsae_status status)
{
    switch (status) {
    case CRSAE_OK: return "success";
    case CRSAE_ERR_NOMEM: return "out of memory";
    case CRSAE_ERR_INVALID_ARGUMENT: return "invalid argument";
    case CRSAE_ERR_CANCELLED: return "cancelled";
    case CRSAE_ERR_TOO_LARGE: return "size too large";
    case CRSAE_ERR_NONFINITE: return "the image contains NaN or infinite values";
    case CRSAE_ERR_THREAD: return "could not start a worker thread";
    case CRSAE_ERR_OPEN: return "could not open the file";
    case CRSAE_ERR_READ: return "could not read the file";
    case CRSAE_ERR_WRITE: return "could not write the file";
    case CRSAE_ERR_MODEL_MAGIC: return "not a crsae model file (bad magic)";
    case CRSAE_ERR_MODEL_VERSION: return "unsupported model file version";
    case CRSAE_ERR_MODEL_TRUNCATED: return "model file is truncated";
    case CRSAE_ERR_MODEL_DIMENSIONS: return "model dimensions out of range";
    case CRSAE_ERR_MODEL_VALUE: return "model holds an invalid (NaN, infinite or out of range) value";
    case CRSAE_ERR_MODEL_CHECKSUM: return "model file checksum mismatch (corrupt file)";
    case CRSAE_ERR_MODEL_TRAILING: return "unexpected data after the end of the model";
    case CRSAE_ERR_MODEL_FLAGS: return "model file has unknown flags or header size";
    case CRSAE_ERR_MODEL_TEXT: return "model provenance text is too long or not valid UTF-8";
    case CRSAE_ERR_STATE_MISMATCH: return "the training state belongs to another model or setup";
    }
    return "unknown error";
}

const char *crsae_version_string(void)
{
    return CRSAE_VERSION_STRING;
}
