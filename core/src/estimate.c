/* estimate.c - placeholder, being written */
typedef int crsae__placeholder_estimate;
