#ifndef ARBITER_COPENSSL_H
#define ARBITER_COPENSSL_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

// Macros over SSL_CTX_ctrl, which Swift cannot import.
static inline int copenssl_ctx_set_min_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline long copenssl_ctx_set_modes(SSL_CTX *context) {
    return SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
}

static inline long copenssl_ctx_set_options(SSL_CTX *context) {
    return (long)SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
}

/// SNI for a client session (a macro over SSL_ctrl).
static inline long copenssl_set_sni(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

/// The first queued OpenSSL error as text (empty if none); clears the queue.
static inline void copenssl_last_error(char *buffer, size_t length) {
    unsigned long code = ERR_get_error();
    if (code == 0) { buffer[0] = 0; return; }
    ERR_error_string_n(code, buffer, length);
    ERR_clear_error();
}
/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3): 1 if `sig` signs `data`
/// under the RSA public key with modulus `n` and exponent `e` (big-endian bytes, as
/// in a JWK), 0 otherwise — also for keys under 2048 bits, which the RFC forbids.
static inline int copenssl_rs256_verify(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len,
                                        const unsigned char *data, size_t data_len, const unsigned char *sig, size_t sig_len) {
    int ok = 0;
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL), *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *kctx = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    if (!bn_n || !bn_e || !bld) goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !kctx || EVP_PKEY_fromdata_init(kctx) <= 0 || EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) goto done;
    if (EVP_PKEY_get_bits(pkey) < 2048) goto done;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1) goto done;
    ok = EVP_DigestVerify(md, sig, sig_len, data, data_len) == 1;
done:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(kctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    ERR_clear_error();
    return ok;
}

/// For tests that play an identity provider: a new RSA key (free with EVP_PKEY_free).
static inline EVP_PKEY *copenssl_rsa_generate(unsigned int bits) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (ctx && EVP_PKEY_keygen_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) > 0) EVP_PKEY_generate(ctx, &pkey);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/// The key's modulus or public exponent (`name`: "n" or "e") as big-endian bytes; the length, or -1.
static inline int copenssl_rsa_component(EVP_PKEY *pkey, const char *name, unsigned char *out, size_t capacity) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return -1;
    int length = BN_num_bytes(bn);
    if ((size_t)length > capacity) { BN_free(bn); return -1; }
    BN_bn2bin(bn, out);
    BN_free(bn);
    return length;
}

/// RS256-signs `data` with the key; the signature's length, or -1.
static inline int copenssl_rs256_sign(EVP_PKEY *pkey, const unsigned char *data, size_t data_len, unsigned char *sig, size_t capacity) {
    size_t length = capacity;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 && EVP_DigestSign(md, sig, &length, data, data_len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? (int)length : -1;
}
#endif
