/* Intentionally (almost) empty: mediasoup's meson.build reads a static-library
 * variable from this subproject and link_whole()s it into libmediasoup-worker.
 * The real code (the shim and libsrtp2) comes via the libsrtp3_dep variable,
 * so this archive only has to exist. */
typedef int lectern_placeholder_unused;
