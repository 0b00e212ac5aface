// libturbojpeg 2.1 (Debian: libturbojpeg0-dev), the TurboJPEG API used to encode camera frames.
#ifndef FRAMESTREAM_CTURBOJPEG_SHIM_H
#define FRAMESTREAM_CTURBOJPEG_SHIM_H
#include <turbojpeg.h>
#endif
