/*
 * Prototypes of the libsrtp 3 functions whose signature differs from
 * libsrtp 2. They are implemented under lectern_srtp3_* names (the libsrtp2
 * shared library already exports srtp_protect & co. with the v2 signatures)
 * and include/srtp.h maps the v3 names onto them with macros.
 *
 * Shared by include/srtp.h (after the v3 typedefs) and src/srtp3_shim.c
 * (after <srtp2/srtp.h>) so the compiler checks both sides agree. Only uses
 * types whose layout is identical in libsrtp 2 and 3.
 */
#ifndef LECTERN_SRTP3_SHIM_API_H
#define LECTERN_SRTP3_SHIM_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lectern_srtp3_policy;

srtp_err_status_t lectern_srtp3_policy_create(struct lectern_srtp3_policy **policy);
void lectern_srtp3_policy_destroy(struct lectern_srtp3_policy *policy);
srtp_err_status_t lectern_srtp3_policy_set_ssrc(struct lectern_srtp3_policy *policy,
                                                srtp_ssrc_t ssrc);
srtp_err_status_t lectern_srtp3_policy_set_profile(struct lectern_srtp3_policy *policy,
                                                   srtp_profile_t profile);
srtp_err_status_t lectern_srtp3_policy_add_key(struct lectern_srtp3_policy *policy,
                                               const uint8_t *key, size_t key_len,
                                               const uint8_t *salt, size_t salt_len,
                                               const uint8_t *mki, size_t mki_len);
srtp_err_status_t lectern_srtp3_policy_set_window_size(struct lectern_srtp3_policy *policy,
                                                       size_t window_size);
srtp_err_status_t lectern_srtp3_policy_set_allow_repeat_tx(struct lectern_srtp3_policy *policy,
                                                           bool allow);

srtp_err_status_t lectern_srtp3_create(srtp_t *session,
                                       const struct lectern_srtp3_policy *policy);
srtp_err_status_t lectern_srtp3_stream_remove(srtp_t session, uint32_t ssrc);

srtp_err_status_t lectern_srtp3_protect(srtp_t ctx, const uint8_t *rtp, size_t rtp_len,
                                        uint8_t *srtp, size_t *srtp_len, size_t mki_index);
srtp_err_status_t lectern_srtp3_unprotect(srtp_t ctx, const uint8_t *srtp, size_t srtp_len,
                                          uint8_t *rtp, size_t *rtp_len);
srtp_err_status_t lectern_srtp3_protect_rtcp(srtp_t ctx, const uint8_t *rtcp, size_t rtcp_len,
                                             uint8_t *srtcp, size_t *srtcp_len,
                                             size_t mki_index);
srtp_err_status_t lectern_srtp3_unprotect_rtcp(srtp_t ctx, const uint8_t *srtcp,
                                               size_t srtcp_len, uint8_t *rtcp,
                                               size_t *rtcp_len);

size_t lectern_srtp3_profile_get_master_key_length(srtp_profile_t profile);
size_t lectern_srtp3_profile_get_master_salt_length(srtp_profile_t profile);

#ifdef __cplusplus
}
#endif

#endif
