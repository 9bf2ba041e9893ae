/* default_model.c - placeholder, being written */
typedef int crsae__placeholder_default_model;
