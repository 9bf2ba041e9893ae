/* model_io.c - placeholder, being written */
typedef int crsae__placeholder_model_io;
