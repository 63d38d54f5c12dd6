/*
 * Lectern: the subset of the libsrtp 3 public API (versatica/libsrtp 3.0 beta,
 * as used by mediasoup's worker via #include <srtp.h>), implemented over
 * libsrtp2 (Debian's source package built with OpenSSL) by src/srtp3_shim.c.
 *
 * - Types/enums keep the libsrtp 2/3 numeric values, so calls whose signature
 *   did not change (srtp_init, srtp_shutdown, srtp_dealloc,
 *   srtp_install_event_handler, srtp_install_log_handler,
 *   srtp_get_version[_string]) go straight to libsrtp2.
 * - Calls whose signature changed in v3 are macros onto lectern_srtp3_*.
 * Not provided: MKI (srtp_policy_add_key with mki_len > 0 fails with
 * srtp_err_status_bad_param), cryptex, header-extension encryption,
 * srtp_update*, ROC get/set.
 */
#ifndef LECTERN_SRTP3_SRTP_H
#define LECTERN_SRTP3_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SRTP_MAX_KEY_LEN 64
#define SRTP_MAX_TAG_LEN 16
#define SRTP_MAX_MKI_LEN 128
#define SRTP_MAX_TRAILER_LEN (SRTP_MAX_TAG_LEN + SRTP_MAX_MKI_LEN)
#define SRTP_MAX_NUM_MASTER_KEYS 16
#define SRTP_SALT_LEN 14
#define SRTP_AEAD_SALT_LEN 12

typedef enum {
    srtp_err_status_ok = 0,
    srtp_err_status_fail = 1,
    srtp_err_status_bad_param = 2,
    srtp_err_status_alloc_fail = 3,
    srtp_err_status_dealloc_fail = 4,
    srtp_err_status_init_fail = 5,
    srtp_err_status_terminus = 6,
    srtp_err_status_auth_fail = 7,
    srtp_err_status_cipher_fail = 8,
    srtp_err_status_replay_fail = 9,
    srtp_err_status_replay_old = 10,
    srtp_err_status_algo_fail = 11,
    srtp_err_status_no_such_op = 12,
    srtp_err_status_no_ctx = 13,
    srtp_err_status_cant_check = 14,
    srtp_err_status_key_expired = 15,
    srtp_err_status_socket_err = 16,
    srtp_err_status_signal_err = 17,
    srtp_err_status_nonce_bad = 18,
    srtp_err_status_read_fail = 19,
    srtp_err_status_write_fail = 20,
    srtp_err_status_parse_err = 21,
    srtp_err_status_encode_err = 22,
    srtp_err_status_semaphore_err = 23,
    srtp_err_status_pfkey_err = 24,
    srtp_err_status_bad_mki = 25,
    srtp_err_status_pkt_idx_old = 26,
    srtp_err_status_pkt_idx_adv = 27,
    /* New in libsrtp 3 (returned by the shim, never by libsrtp2). */
    srtp_err_status_buffer_small = 28,
    srtp_err_status_cryptex_err = 29
} srtp_err_status_t;

typedef struct srtp_ctx_t_ srtp_ctx_t;
typedef srtp_ctx_t *srtp_t;

/* Opaque in libsrtp 3. */
typedef struct lectern_srtp3_policy *srtp_policy_t;

typedef enum {
    ssrc_undefined = 0,
    ssrc_specific = 1,
    ssrc_any_inbound = 2,
    ssrc_any_outbound = 3
} srtp_ssrc_type_t;

typedef struct {
    srtp_ssrc_type_t type;
    unsigned int value;
} srtp_ssrc_t;

typedef enum {
    srtp_profile_reserved = 0,
    srtp_profile_aes128_cm_sha1_80 = 1,
    srtp_profile_aes128_cm_sha1_32 = 2,
    srtp_profile_null_sha1_80 = 5,
    srtp_profile_null_sha1_32 = 6,
    srtp_profile_aead_aes_128_gcm = 7,
    srtp_profile_aead_aes_256_gcm = 8
} srtp_profile_t;

typedef enum {
    event_ssrc_collision,
    event_key_soft_limit,
    event_key_hard_limit,
    event_packet_index_limit
} srtp_event_t;

typedef struct srtp_event_data_t {
    srtp_t session;
    uint32_t ssrc;
    srtp_event_t event;
} srtp_event_data_t;

typedef void(srtp_event_handler_func_t)(srtp_event_data_t *data);

typedef enum {
    srtp_log_level_error,
    srtp_log_level_warning,
    srtp_log_level_info,
    srtp_log_level_debug
} srtp_log_level_t;

typedef void(srtp_log_handler_func_t)(srtp_log_level_t level,
                                      const char *msg,
                                      void *data);

/* Same signature in libsrtp 2 and 3: resolved directly against libsrtp2. */
srtp_err_status_t srtp_init(void);
srtp_err_status_t srtp_shutdown(void);
srtp_err_status_t srtp_dealloc(srtp_t s);
srtp_err_status_t srtp_install_event_handler(srtp_event_handler_func_t func);
srtp_err_status_t srtp_install_log_handler(srtp_log_handler_func_t func, void *data);
const char *srtp_get_version_string(void);
unsigned int srtp_get_version(void);

#ifdef __cplusplus
}
#endif

/* libsrtp 3 signatures, implemented by the shim. */
#include "lectern_srtp3_shim_api.h"

#define srtp_policy_create lectern_srtp3_policy_create
#define srtp_policy_destroy lectern_srtp3_policy_destroy
#define srtp_policy_set_ssrc lectern_srtp3_policy_set_ssrc
#define srtp_policy_set_profile lectern_srtp3_policy_set_profile
#define srtp_policy_add_key lectern_srtp3_policy_add_key
#define srtp_policy_set_window_size lectern_srtp3_policy_set_window_size
#define srtp_policy_set_allow_repeat_tx lectern_srtp3_policy_set_allow_repeat_tx
#define srtp_create lectern_srtp3_create
#define srtp_stream_remove lectern_srtp3_stream_remove
#define srtp_protect lectern_srtp3_protect
#define srtp_unprotect lectern_srtp3_unprotect
#define srtp_protect_rtcp lectern_srtp3_protect_rtcp
#define srtp_unprotect_rtcp lectern_srtp3_unprotect_rtcp
#define srtp_profile_get_master_key_length lectern_srtp3_profile_get_master_key_length
#define srtp_profile_get_master_salt_length lectern_srtp3_profile_get_master_salt_length

#endif
