/* Certificates made at run time for the TLS tests: a CA, and server
   certificates it signs (for 127.0.0.1, ::1 and localhost; for another
   name only; expired), and one signed by nobody, each with a new P-256
   key.  tca_make writes them as PEM files into a new directory under
   $TMPDIR (ca.pem, and good, wrong, expired, self with .crt and .key);
   tca_remove deletes them.  Nothing is kept between runs and nothing is
   checked in. */
#ifndef RV_TESTCA_H
#define RV_TESTCA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static int tca_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v;
    X509V3_set_ctx_nodb(&v);
    X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate for 'key' named 'cn' with subjectAltName 'san' (NULL:
   none), valid from 'from' to 'to' seconds from now, signed by 'issuer'
   with 'ikey' (NULL: by itself).  With 'ca' a CA certificate. */
static X509 *tca_cert(EVP_PKEY *key, const char *cn, const char *san, long from, long to, X509 *issuer,
                      EVP_PKEY *ikey, int ca)
{
    static long serial = 1;
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_NAME *n = X509_get_subject_name(x);
    int ok = X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) &&
             X509_gmtime_adj(X509_getm_notBefore(x), from) && X509_gmtime_adj(X509_getm_notAfter(x), to) &&
             X509_set_pubkey(x, key) &&
             X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509 *signer = issuer ? issuer : x;
    ok = ok && tca_ext(x, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    ok = ok && tca_ext(x, signer, NID_subject_key_identifier, "hash");
    ok = ok && (!ca || tca_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
    ok = ok && (!issuer || tca_ext(x, signer, NID_authority_key_identifier, "keyid:always"));
    ok = ok && (!san || tca_ext(x, signer, NID_subject_alt_name, san));
    ok = ok && X509_sign(x, ikey ? ikey : key, EVP_sha256());
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int tca_write(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s.%s", dir, name, k ? "key" : x ? "crt" : "pem");
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    int ok = k ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* One server certificate and its key, written as NAME.crt and NAME.key. */
static int tca_server(const char *dir, const char *name, const char *san, long from, long to, X509 *ca,
                      EVP_PKEY *cakey)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = k ? tca_cert(k, name, san, from, to, ca, cakey, 0) : NULL;
    int rc = x && tca_write(dir, name, x, NULL) == 0 && tca_write(dir, name, NULL, k) == 0 ? 0 : -1;
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

/* The directory 'dir' (PATH_MAX bytes) with every file written; 0, or
   -1 when something failed. */
static int tca_make(char *dir, size_t dirlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, dirlen, "%s/routevm-tls.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    const char *here = "IP:127.0.0.1,IP:::1,DNS:localhost";
    EVP_PKEY *cak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *ca = cak ? tca_cert(cak, "routevm test CA", NULL, -60, 86400, NULL, NULL, 1) : NULL;
    FILE *f = NULL;
    char p[512];
    snprintf(p, sizeof p, "%s/ca.pem", dir);
    int rc = ca && (f = fopen(p, "w")) && PEM_write_X509(f, ca) ? 0 : -1;
    if (f && fclose(f))
        rc = -1;
    if (!rc)
        rc = tca_server(dir, "good", here, -60, 86400, ca, cak) || tca_server(dir, "wrong", "DNS:other.example", -60, 86400, ca, cak) ||
             tca_server(dir, "expired", here, -2 * 86400, -86400, ca, cak) || tca_server(dir, "self", here, -60, 86400, NULL, NULL)
                 ? -1 : 0;
    X509_free(ca);
    EVP_PKEY_free(cak);
    return rc;
}

static void tca_remove(const char *dir)
{
    static const char *const files[] = { "ca.pem", "good.crt", "good.key", "wrong.crt", "wrong.key",
                                         "expired.crt", "expired.key", "self.crt", "self.key" };
    char p[512];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

#endif
