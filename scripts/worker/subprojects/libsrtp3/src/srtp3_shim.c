/*
 * libsrtp 3 API (the subset declared in ../include/srtp.h) on top of Debian's
 * libsrtp2. WHY: mediasoup's worker is written against versatica's libsrtp 3
 * fork, which Debian does not ship; the differences that matter are
 *   - opaque srtp_policy_t built with srtp_policy_* setters (v2: a plain struct),
 *   - protect/unprotect with separate input/output buffers and size_t lengths,
 *     *out_len being the output capacity on input (v2: in place, int*),
 *   - srtp_stream_remove (v2: srtp_remove_stream),
 *   - srtp_err_status_buffer_small when the output does not fit.
 * Each call copies into the output buffer (if distinct) and then runs the v2
 * in-place operation there.
 */
#include <srtp2/srtp.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../include/lectern_srtp3_shim_api.h"

/* v3-only status codes (same numeric values as libsrtp 3). */
#define LECTERN_SRTP_ERR_BUFFER_SMALL ((srtp_err_status_t)28)

struct lectern_srtp3_policy {
    srtp_policy_t v2;                     /* ssrc, rtp/rtcp crypto, window... */
    srtp_profile_t profile;
    bool has_profile;
    bool has_key;
    size_t key_len;
    size_t salt_len;
    unsigned char key[SRTP_MAX_KEY_LEN]; /* master key || master salt (v2) */
};

srtp_err_status_t lectern_srtp3_policy_create(struct lectern_srtp3_policy **policy)
{
    struct lectern_srtp3_policy *p;

    if (policy == NULL)
        return srtp_err_status_bad_param;

    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return srtp_err_status_alloc_fail;

    p->v2.ssrc.type = ssrc_undefined;
    p->v2.window_size = 128; /* libsrtp default */
    *policy = p;

    return srtp_err_status_ok;
}

void lectern_srtp3_policy_destroy(struct lectern_srtp3_policy *policy)
{
    if (policy == NULL)
        return;
    /* Wipe key material before freeing. */
    memset(policy->key, 0, sizeof(policy->key));
    free(policy);
}

srtp_err_status_t lectern_srtp3_policy_set_ssrc(struct lectern_srtp3_policy *policy,
                                                srtp_ssrc_t ssrc)
{
    if (policy == NULL)
        return srtp_err_status_bad_param;
    if (ssrc.type != ssrc_specific && ssrc.type != ssrc_any_inbound &&
        ssrc.type != ssrc_any_outbound)
        return srtp_err_status_bad_param;

    policy->v2.ssrc = ssrc;

    return srtp_err_status_ok;
}

srtp_err_status_t lectern_srtp3_policy_set_profile(struct lectern_srtp3_policy *policy,
                                                   srtp_profile_t profile)
{
    if (policy == NULL)
        return srtp_err_status_bad_param;
    if (srtp_crypto_policy_set_from_profile_for_rtp(&policy->v2.rtp, profile) !=
            srtp_err_status_ok ||
        srtp_crypto_policy_set_from_profile_for_rtcp(&policy->v2.rtcp, profile) !=
            srtp_err_status_ok)
        return srtp_err_status_bad_param;

    policy->profile = profile;
    policy->has_profile = true;

    return srtp_err_status_ok;
}

srtp_err_status_t lectern_srtp3_policy_add_key(struct lectern_srtp3_policy *policy,
                                               const uint8_t *key, size_t key_len,
                                               const uint8_t *salt, size_t salt_len,
                                               const uint8_t *mki, size_t mki_len)
{
    if (policy == NULL || key == NULL || key_len == 0 ||
        (salt == NULL && salt_len != 0))
        return srtp_err_status_bad_param;
    /* MKI (and therefore more than one master key) is not supported. */
    if (mki != NULL || mki_len != 0 || policy->has_key)
        return srtp_err_status_bad_param;
    if (key_len > SRTP_MAX_KEY_LEN || salt_len > SRTP_MAX_KEY_LEN - key_len)
        return srtp_err_status_bad_param;

    memcpy(policy->key, key, key_len);
    if (salt_len != 0)
        memcpy(policy->key + key_len, salt, salt_len);
    policy->key_len = key_len;
    policy->salt_len = salt_len;
    policy->has_key = true;

    return srtp_err_status_ok;
}

srtp_err_status_t lectern_srtp3_policy_set_window_size(struct lectern_srtp3_policy *policy,
                                                       size_t window_size)
{
    /* Same bounds libsrtp enforces when the stream is created. */
    if (policy == NULL || window_size < 64 || window_size >= 0x8000)
        return srtp_err_status_bad_param;

    policy->v2.window_size = (unsigned long)window_size;

    return srtp_err_status_ok;
}

srtp_err_status_t lectern_srtp3_policy_set_allow_repeat_tx(struct lectern_srtp3_policy *policy,
                                                           bool allow)
{
    if (policy == NULL)
        return srtp_err_status_bad_param;

    policy->v2.allow_repeat_tx = allow ? 1 : 0;

    return srtp_err_status_ok;
}

size_t lectern_srtp3_profile_get_master_key_length(srtp_profile_t profile)
{
    return srtp_profile_get_master_key_length(profile);
}

size_t lectern_srtp3_profile_get_master_salt_length(srtp_profile_t profile)
{
    return srtp_profile_get_master_salt_length(profile);
}

srtp_err_status_t lectern_srtp3_create(srtp_t *session,
                                       const struct lectern_srtp3_policy *policy)
{
    srtp_policy_t v2;

    if (session == NULL)
        return srtp_err_status_bad_param;
    /* v3 allows an empty session (streams added later); the worker never
     * does that, but keep the semantics. */
    if (policy == NULL)
        return srtp_create(session, NULL);

    if (!policy->has_profile || !policy->has_key ||
        policy->v2.ssrc.type == ssrc_undefined)
        return srtp_err_status_bad_param;
    /* libsrtp2 reads key||salt of the length implied by the profile. */
    if (policy->key_len != srtp_profile_get_master_key_length(policy->profile) ||
        policy->salt_len != srtp_profile_get_master_salt_length(policy->profile))
        return srtp_err_status_bad_param;

    v2 = policy->v2;
    v2.key = (unsigned char *)policy->key;
    v2.keys = NULL;
    v2.num_master_keys = 0;
    v2.next = NULL;

    /* libsrtp2 expands the keys into the session; the policy may be freed. */
    return srtp_create(session, &v2);
}

srtp_err_status_t lectern_srtp3_stream_remove(srtp_t session, uint32_t ssrc)
{
    /* Both APIs take the SSRC in network byte order. */
    return srtp_remove_stream(session, ssrc);
}

/* Bytes protect may append: what libsrtp2 reports for this session, but never
 * less than the largest tag (+ the SRTCP index word), to stay on the safe side. */
static size_t trailer_room(srtp_t ctx, int rtcp)
{
    uint32_t len = 0;
    srtp_err_status_t st = rtcp ? srtp_get_protect_rtcp_trailer_length(ctx, 0, 0, &len)
                                : srtp_get_protect_trailer_length(ctx, 0, 0, &len);
    size_t floor = SRTP_MAX_TAG_LEN + (rtcp ? 4u : 0u);

    if (st != srtp_err_status_ok)
        return SRTP_MAX_TRAILER_LEN + (rtcp ? 4u : 0u);

    return len > floor ? len : floor;
}

static srtp_err_status_t protect_common(srtp_t ctx, const uint8_t *in, size_t in_len,
                                        uint8_t *out, size_t *out_len, int rtcp)
{
    srtp_err_status_t st;
    int len;

    if (ctx == NULL || in == NULL || out == NULL || out_len == NULL)
        return srtp_err_status_bad_param;
    if (in_len > (size_t)INT_MAX - SRTP_MAX_TRAILER_LEN - 4)
        return srtp_err_status_bad_param;
    if (*out_len < in_len + trailer_room(ctx, rtcp))
        return LECTERN_SRTP_ERR_BUFFER_SMALL;

    if (out != in)
        memmove(out, in, in_len);
    len = (int)in_len;
    st = rtcp ? srtp_protect_rtcp(ctx, out, &len) : srtp_protect(ctx, out, &len);
    if (st != srtp_err_status_ok)
        return st;

    *out_len = (size_t)len;

    return srtp_err_status_ok;
}

static srtp_err_status_t unprotect_common(srtp_t ctx, const uint8_t *in, size_t in_len,
                                          uint8_t *out, size_t *out_len, int rtcp)
{
    srtp_err_status_t st;
    int len;

    if (ctx == NULL || in == NULL || out == NULL || out_len == NULL)
        return srtp_err_status_bad_param;
    if (in_len > (size_t)INT_MAX)
        return srtp_err_status_bad_param;
    /* The v2 call works in place on the whole packet. */
    if (*out_len < in_len)
        return LECTERN_SRTP_ERR_BUFFER_SMALL;

    if (out != in)
        memmove(out, in, in_len);
    len = (int)in_len;
    st = rtcp ? srtp_unprotect_rtcp(ctx, out, &len) : srtp_unprotect(ctx, out, &len);
    if (st != srtp_err_status_ok)
        return st;

    *out_len = (size_t)len;

    return srtp_err_status_ok;
}

srtp_err_status_t lectern_srtp3_protect(srtp_t ctx, const uint8_t *rtp, size_t rtp_len,
                                        uint8_t *srtp, size_t *srtp_len, size_t mki_index)
{
    /* Without MKI the index is ignored, as in libsrtp 3. */
    (void)mki_index;
    return protect_common(ctx, rtp, rtp_len, srtp, srtp_len, 0);
}

srtp_err_status_t lectern_srtp3_unprotect(srtp_t ctx, const uint8_t *srtp, size_t srtp_len,
                                          uint8_t *rtp, size_t *rtp_len)
{
    return unprotect_common(ctx, srtp, srtp_len, rtp, rtp_len, 0);
}

srtp_err_status_t lectern_srtp3_protect_rtcp(srtp_t ctx, const uint8_t *rtcp, size_t rtcp_len,
                                             uint8_t *srtcp, size_t *srtcp_len,
                                             size_t mki_index)
{
    (void)mki_index;
    return protect_common(ctx, rtcp, rtcp_len, srtcp, srtcp_len, 1);
}

srtp_err_status_t lectern_srtp3_unprotect_rtcp(srtp_t ctx, const uint8_t *srtcp,
                                               size_t srtcp_len, uint8_t *rtcp,
                                               size_t *rtcp_len)
{
    return unprotect_common(ctx, srtcp, srtcp_len, rtcp, rtcp_len, 1);
}
