/* version.h - the one place the release version is written. */
#ifndef PCA_CMD_VERSION_H
#define PCA_CMD_VERSION_H

#define PCA_VERSION "0.9.0"

#endif
