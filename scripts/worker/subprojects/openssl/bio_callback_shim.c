/*
 * Linked with -Wl,--wrap=BIO_set_callback_ex (see meson.build for WHY).
 *
 * mediasoup installs its callback with BIO_set_callback_ex() on the memory BIO
 * that carries DTLS records to the network. We install our trampoline instead
 * and keep mediasoup's function pointer in the BIO's ex_data (mediasoup
 * already uses BIO_set_callback_arg() for its `this`, which we leave alone).
 *
 * The trampoline forwards only write events (BIO_CB_WRITE, and
 * BIO_CB_WRITE | BIO_CB_RETURN) to mediasoup, which is all its callback acts
 * on. For every other operation (ctrl, read, puts, free, ...) it returns the
 * operation's own result `ret` unchanged, i.e. behaves as if no callback were
 * installed. For the post-write call we also return `ret`, which is what
 * mediasoup intends but gets wrong by comparing oper == BIO_CB_RETURN.
 */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stddef.h>

void __real_BIO_set_callback_ex(BIO *bio, BIO_callback_fn_ex callback);
void __wrap_BIO_set_callback_ex(BIO *bio, BIO_callback_fn_ex callback);

/* Boxed because ISO C does not allow storing a function pointer in a void*. */
struct lectern_bio_cb_box {
	BIO_callback_fn_ex original;
};

static int lectern_bio_cb_index = -1;
static pthread_once_t lectern_bio_cb_once = PTHREAD_ONCE_INIT;

static void lectern_bio_cb_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
                                int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	OPENSSL_free(ptr);
}

static void lectern_bio_cb_init(void)
{
	lectern_bio_cb_index = BIO_get_ex_new_index(
	    0, "lectern: original BIO callback", NULL, NULL, lectern_bio_cb_free);
}

static long lectern_bio_trampoline(BIO *bio, int oper, const char *argp,
                                   size_t len, int argi, long argl, int ret,
                                   size_t *processed)
{
	const struct lectern_bio_cb_box *box =
	    BIO_get_ex_data(bio, lectern_bio_cb_index);

	if (box == NULL || box->original == NULL ||
	    (oper & ~BIO_CB_RETURN) != BIO_CB_WRITE)
		return ret;

	long result =
	    box->original(bio, oper, argp, len, argi, argl, ret, processed);

	/* Pre-write: honour the original (it may veto with <= 0).
	 * Post-write: keep the real result of the write. */
	return (oper & BIO_CB_RETURN) ? ret : result;
}

void __wrap_BIO_set_callback_ex(BIO *bio, BIO_callback_fn_ex callback)
{
	struct lectern_bio_cb_box *box;

	if (bio == NULL)
		return;

	pthread_once(&lectern_bio_cb_once, lectern_bio_cb_init);

	if (callback == NULL || lectern_bio_cb_index < 0) {
		/* Clearing the callback (or ex_data unavailable): plain behaviour.
		 * A box, if any, stays attached and is freed with the BIO. */
		if (lectern_bio_cb_index >= 0) {
			box = BIO_get_ex_data(bio, lectern_bio_cb_index);
			if (box != NULL)
				box->original = NULL;
		}
		__real_BIO_set_callback_ex(bio, callback);
		return;
	}

	box = BIO_get_ex_data(bio, lectern_bio_cb_index);
	if (box == NULL) {
		box = OPENSSL_zalloc(sizeof(*box));
		if (box == NULL || !BIO_set_ex_data(bio, lectern_bio_cb_index, box)) {
			OPENSSL_free(box);
			/* Out of memory: fall back to the unwrapped callback. */
			__real_BIO_set_callback_ex(bio, callback);
			return;
		}
	}
	box->original = callback;
	__real_BIO_set_callback_ex(bio, lectern_bio_trampoline);
}
