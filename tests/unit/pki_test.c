/* drove — unit: dvi_pki_cert, a profile's CA and the certificates it
 * issues.
 *
 * What a user (the profile code, the daemons) relies on: a CA signs
 * certificates that OpenSSL verifies against it and nothing else; each
 * certificate carries its role where dvi_pki_x509_role reads it (the
 * subject's one OU) and extended key usages that fit the role; the
 * scheduler's names 127.0.0.1, localhost and the hosts given; the files
 * written are mode 0600 in directories of mode 0700, replaced whole,
 * with no temporary file left behind; loading gives back the same
 * certificate and key; and every failure says which file and why.
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/pki.h"
#include "dvtest.h"

static char s_dir[64]; /* this test's temporary directory */

static int
s_setup(void **state)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/dvpki-XXXXXX");
    return mkdtemp(s_dir) == NULL ? -1 : 0;
}

static int
s_teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
s_path(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", s_dir, rel);
}

static int
s_mode(const char *path)
{
    struct stat st;
    DVT_EQ_I64(stat(path, &st), 0);
    return (int)(st.st_mode & 07777);
}

static void
s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    DVT_TRUE(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* The number of entries of dir, . and .. excluded. */
static int
s_entries(const char *dir)
{
    DIR *d = opendir(dir);
    DVT_TRUE(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

/* Whether x's subjectAltName holds the IP address or DNS name host. */
static int
s_has_san(X509 *x, const char *host)
{
    GENERAL_NAMES *names =
        X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    int found = 0;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_IPADD && ip != NULL) {
            found |= ASN1_OCTET_STRING_cmp(g->d.iPAddress, ip) == 0;
        } else if (g->type == GEN_DNS && ip == NULL) {
            found |= strcmp((const char *)ASN1_STRING_get0_data(g->d.dNSName),
                            host) == 0;
        }
    }
    ASN1_OCTET_STRING_free(ip);
    GENERAL_NAMES_free(names);
    return found;
}

static dvi_pki_cert *
s_issue(const dvi_pki_cert *ca, int role, const char *name)
{
    dvi_pki_req req = {0};
    req.role = role;
    req.name = name;
    return DVT_NOTNULL(dvi_pki_issue(ca, &req));
}

/* ---- Tests -------------------------------------------------------------- */

static void
test_roles_and_names(void **state)
{
    DVT_EQ_STR(dvi_pki_role_name(DVI_PKI_ROLE_SCHEDULER), "scheduler");
    DVT_EQ_STR(dvi_pki_role_name(DVI_PKI_ROLE_WORKER), "worker");
    DVT_EQ_STR(dvi_pki_role_name(DVI_PKI_ROLE_CLIENT), "client");
    DVT_EQ_STR(dvi_pki_role_name(DVI_PKI_ROLE_NONE), "no role");
    DVT_EQ_STR(dvi_pki_role_name(42), "no role");
    DVT_EQ_I64(dvi_pki_role_parse("worker"), DVI_PKI_ROLE_WORKER);
    DVT_EQ_I64(dvi_pki_role_parse("Worker"), DVI_PKI_ROLE_NONE);
    DVT_EQ_I64(dvi_pki_role_parse(""), DVI_PKI_ROLE_NONE);
}

static void
test_ca_signs_roles(void **state)
{
    dvi_pki_cert *ca = DVT_NOTNULL(dvi_pki_ca_new("drove CA test", 0));
    DVT_EQ_I64(dvi_pki_cert_role(ca), DVI_PKI_ROLE_NONE);
    DVT_EQ_STR(dvi_pki_cert_name(ca), "drove CA test");
    DVT_TRUE(X509_check_ca(dvi_pki_cert_x509(ca)) > 0);
    EVP_PKEY *ca_pub = X509_get0_pubkey(dvi_pki_cert_x509(ca));

    const char *hosts[] = {"sched.example.org", "10.1.2.3", "::1"};
    dvi_pki_req req = {0};
    req.role = DVI_PKI_ROLE_SCHEDULER;
    req.name = "sched-host";
    req.hosts = hosts;
    req.nhosts = 3;
    dvi_pki_cert *sched = DVT_NOTNULL(dvi_pki_issue(ca, &req));
    dvi_pki_cert *worker = s_issue(ca, DVI_PKI_ROLE_WORKER, "w-17");
    dvi_pki_cert *client = s_issue(ca, DVI_PKI_ROLE_CLIENT, NULL);

    DVT_EQ_I64(dvi_pki_cert_role(sched), DVI_PKI_ROLE_SCHEDULER);
    DVT_EQ_I64(dvi_pki_cert_role(worker), DVI_PKI_ROLE_WORKER);
    DVT_EQ_I64(dvi_pki_cert_role(client), DVI_PKI_ROLE_CLIENT);
    DVT_EQ_STR(dvi_pki_cert_name(worker), "w-17");
    DVT_EQ_STR(dvi_pki_cert_name(client), "client"); /* the role's name */
    DVT_EQ_I64(dvi_pki_x509_role(dvi_pki_cert_x509(worker)),
               DVI_PKI_ROLE_WORKER);

    dvi_pki_cert *all[] = {sched, worker, client};
    for (int i = 0; i < 3; i++) {
        X509 *x = dvi_pki_cert_x509(all[i]);
        DVT_EQ_I64(X509_verify(x, ca_pub), 1); /* signed by the CA */
        DVT_EQ_I64(X509_check_ca(x), 0);       /* and cannot sign */
        DVT_TRUE(dvi_pki_cert_key(all[i]) != NULL);
        DVT_EQ_I64(X509_check_private_key(x, dvi_pki_cert_key(all[i])), 1);
        uint32_t xku = X509_get_extended_key_usage(x);
        DVT_TRUE(xku & XKU_SSL_CLIENT);
        /* A client's certificate can never serve TLS. */
        DVT_EQ_I64(!!(xku & XKU_SSL_SERVER), all[i] != client);
    }
    /* The scheduler can be checked by the name a client dialed. */
    X509 *sx = dvi_pki_cert_x509(sched);
    DVT_TRUE(s_has_san(sx, "127.0.0.1"));
    DVT_TRUE(s_has_san(sx, "localhost"));
    DVT_TRUE(s_has_san(sx, "sched.example.org"));
    DVT_TRUE(s_has_san(sx, "10.1.2.3"));
    DVT_TRUE(s_has_san(sx, "::1"));
    DVT_TRUE(!s_has_san(sx, "other.example.org"));
    /* Workers and clients are checked by CA and role only. */
    DVT_TRUE(X509_get_ext_d2i(dvi_pki_cert_x509(worker), NID_subject_alt_name,
                              NULL, NULL) == NULL);

    /* Another CA's certificate does not verify against this one. */
    dvi_pki_cert *other = DVT_NOTNULL(dvi_pki_ca_new("drove CA test", 0));
    dvi_pki_cert *stranger = s_issue(other, DVI_PKI_ROLE_WORKER, "w-17");
    DVT_TRUE(X509_verify(dvi_pki_cert_x509(stranger), ca_pub) != 1);
    ERR_clear_error();
    for (int i = 0; i < 3; i++) {
        dvi_pki_cert_destroy(&all[i]);
    }
    dvi_pki_cert_destroy(&stranger);
    dvi_pki_cert_destroy(&other);
    dvi_pki_cert_destroy(&ca);
    DVT_TRUE(ca == NULL);
    dvi_pki_cert_destroy(&ca); /* NULL is fine */
    dvi_pki_cert_destroy(NULL);
}

static void
test_validity(void **state)
{
    dvi_pki_cert *ca = DVT_NOTNULL(dvi_pki_ca_new("ca", 30));
    time_t now = time(NULL);
    DVT_TRUE(X509_cmp_time(X509_get0_notAfter(dvi_pki_cert_x509(ca)),
                           &(time_t){now + 29 * 86400}) > 0);
    DVT_TRUE(X509_cmp_time(X509_get0_notAfter(dvi_pki_cert_x509(ca)),
                           &(time_t){now + 31 * 86400}) < 0);
    dvi_pki_req req = {0};
    req.role = DVI_PKI_ROLE_WORKER;
    req.not_before = now - 3 * 86400;
    req.not_after = now - 86400;
    dvi_pki_cert *expired = DVT_NOTNULL(dvi_pki_issue(ca, &req));
    DVT_TRUE(X509_cmp_time(X509_get0_notAfter(dvi_pki_cert_x509(expired)),
                           NULL) < 0);
    /* A default certificate is valid now, for DVI_PKI_CERT_DAYS. */
    dvi_pki_cert *fresh = s_issue(ca, DVI_PKI_ROLE_WORKER, NULL);
    DVT_TRUE(
        X509_cmp_time(X509_get0_notBefore(dvi_pki_cert_x509(fresh)), NULL) < 0);
    DVT_TRUE(X509_cmp_time(X509_get0_notAfter(dvi_pki_cert_x509(fresh)),
                           &(time_t){now + 9 * 365 * 86400}) > 0);
    dvi_pki_cert_destroy(&expired);
    dvi_pki_cert_destroy(&fresh);
    dvi_pki_cert_destroy(&ca);
}

static void
test_save_load_modes(void **state)
{
    dvi_pki_cert *ca = DVT_NOTNULL(dvi_pki_ca_new("drove CA", 0));
    dvi_pki_cert *w = s_issue(ca, DVI_PKI_ROLE_WORKER, "w0");
    char dir[128], a[128], ab[128], cert[160], key[160], cacert[160];
    s_path(a, sizeof(a), "a");
    s_path(ab, sizeof(ab), "a/b");
    s_path(dir, sizeof(dir), "a/b/profile_x");
    snprintf(cert, sizeof(cert), "%s/worker.pem", dir);
    snprintf(key, sizeof(key), "%s/worker.key", dir);
    snprintf(cacert, sizeof(cacert), "%s/ca.pem", dir);
    mode_t old = umask(0); /* the modes must not depend on it */
    DVT_PASS(dvi_pki_save(w, cert, key));
    umask(old);
    DVT_PASS(dvi_pki_save(ca, cacert, NULL));
    DVT_EQ_I64(s_mode(cert), 0600);
    DVT_EQ_I64(s_mode(key), 0600);
    DVT_EQ_I64(s_mode(cacert), 0600);
    DVT_EQ_I64(s_mode(dir), 0700);
    DVT_EQ_I64(s_mode(ab), 0700);
    DVT_EQ_I64(s_mode(a), 0700);
    DVT_EQ_I64(s_entries(dir), 3); /* no temporary file left */

    dvi_pki_cert *back = DVT_NOTNULL(dvi_pki_load(cert, key));
    DVT_EQ_I64(X509_cmp(dvi_pki_cert_x509(back), dvi_pki_cert_x509(w)), 0);
    DVT_EQ_I64(EVP_PKEY_eq(dvi_pki_cert_key(back), dvi_pki_cert_key(w)), 1);
    DVT_EQ_I64(dvi_pki_cert_role(back), DVI_PKI_ROLE_WORKER);
    DVT_EQ_STR(dvi_pki_cert_name(back), "w0");
    dvi_pki_cert *caback = DVT_NOTNULL(dvi_pki_load(cacert, NULL));
    DVT_TRUE(dvi_pki_cert_key(caback) == NULL);
    DVT_EQ_I64(X509_cmp(dvi_pki_cert_x509(caback), dvi_pki_cert_x509(ca)), 0);

    /* Saving again replaces the files whole, still 0600, nothing left. */
    dvi_pki_cert *w2 = s_issue(ca, DVI_PKI_ROLE_WORKER, "w1");
    chmod(cert, 0644); /* a mode loosened by hand is not kept */
    DVT_PASS(dvi_pki_save(w2, cert, key));
    DVT_EQ_I64(s_mode(cert), 0600);
    DVT_EQ_I64(s_entries(dir), 3);
    dvi_pki_cert *back2 = DVT_NOTNULL(dvi_pki_load(cert, key));
    DVT_EQ_STR(dvi_pki_cert_name(back2), "w1");

    dvi_pki_cert *all[] = {ca, w, back, caback, w2, back2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        dvi_pki_cert_destroy(&all[i]);
    }
}

static void
test_load_errors(void **state)
{
    dvi_pki_cert *ca = DVT_NOTNULL(dvi_pki_ca_new("drove CA", 0));
    dvi_pki_cert *w = s_issue(ca, DVI_PKI_ROLE_WORKER, "w0");
    dvi_pki_cert *c = s_issue(ca, DVI_PKI_ROLE_CLIENT, "c0");
    char cert[128], key[128], ckey[128], junk[128], missing[128];
    s_path(cert, sizeof(cert), "e/w.pem");
    s_path(key, sizeof(key), "e/w.key");
    s_path(ckey, sizeof(ckey), "e/c.key");
    s_path(junk, sizeof(junk), "e/junk.pem");
    s_path(missing, sizeof(missing), "e/missing.pem");
    DVT_PASS(dvi_pki_save(w, cert, key));
    dvi_pki_cert *cc = c;
    char ccert[128];
    s_path(ccert, sizeof(ccert), "e/c.pem");
    DVT_PASS(dvi_pki_save(cc, ccert, ckey));
    s_write(junk, "this is not PEM\n");

    DVT_TRUE(dvi_pki_load(missing, NULL) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EIO);
    DVT_CONTAINS(dv_last_error(), missing);
    DVT_CONTAINS(dv_last_error(), "No such file");

    DVT_TRUE(dvi_pki_load(junk, NULL) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EINVAL);
    DVT_CONTAINS(dv_last_error(), junk);
    DVT_CONTAINS(dv_last_error(), "not a PEM certificate: no start line");

    DVT_TRUE(dvi_pki_load(cert, junk) == NULL);
    DVT_CONTAINS(dv_last_error(), "not a PEM private key");
    DVT_TRUE(dvi_pki_load(cert, missing) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EIO);
    /* A key is not a certificate, and another's key does not fit. */
    DVT_TRUE(dvi_pki_load(key, NULL) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EINVAL);
    DVT_TRUE(dvi_pki_load(cert, ckey) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EINVAL);
    DVT_CONTAINS(dv_last_error(), "not the key of the certificate");
    DVT_CONTAINS(dv_last_error(), ckey);

    /* A file where a directory should be. */
    char under[160];
    snprintf(under, sizeof(under), "%s/sub/x.pem", junk);
    DVT_FAILS_WITH(DV_EIO, dvi_pki_save(w, under, NULL));
    DVT_CONTAINS(dv_last_error(), junk);
    dvi_pki_cert_destroy(&w);
    dvi_pki_cert_destroy(&c);
    dvi_pki_cert_destroy(&ca);
}

static void
test_issue_errors(void **state)
{
    dvi_pki_cert *ca = DVT_NOTNULL(dvi_pki_ca_new("drove CA", 0));
    dvi_pki_req req = {0};
    req.role = 7;
    DVT_TRUE(dvi_pki_issue(ca, &req) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EINVAL);
    DVT_CONTAINS(dv_last_error(), "no such role");

    /* A leaf cannot issue, nor a CA whose key was not loaded. */
    dvi_pki_cert *w = s_issue(ca, DVI_PKI_ROLE_WORKER, "w");
    req.role = DVI_PKI_ROLE_CLIENT;
    DVT_TRUE(dvi_pki_issue(w, &req) == NULL);
    DVT_CONTAINS(dv_last_error(), "not a CA");
    char path[128];
    s_path(path, sizeof(path), "ca.pem");
    DVT_PASS(dvi_pki_save(ca, path, NULL));
    dvi_pki_cert *cert_only = DVT_NOTNULL(dvi_pki_load(path, NULL));
    DVT_TRUE(dvi_pki_issue(cert_only, &req) == NULL);
    DVT_CONTAINS(dv_last_error(), "its key is not loaded");
    char kpath[128];
    s_path(kpath, sizeof(kpath), "ca.key");
    DVT_FAILS_WITH(DV_EINVAL, dvi_pki_save(cert_only, path, kpath));
    DVT_CONTAINS(dv_last_error(), "no private key");

    /* A host name cannot smuggle in other names. */
    const char *bad[] = {"ok.example.org", "evil,email:x@y"};
    req.role = DVI_PKI_ROLE_SCHEDULER;
    req.hosts = bad;
    req.nhosts = 2;
    DVT_TRUE(dvi_pki_issue(ca, &req) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EINVAL);
    DVT_CONTAINS(dv_last_error(), "evil,email:x@y");
    req.nhosts = 0;
    req.not_before = time(NULL);
    req.not_after = req.not_before - 1;
    DVT_TRUE(dvi_pki_issue(ca, &req) == NULL);
    DVT_CONTAINS(dv_last_error(), "end before it begins");
    DVT_TRUE(dvi_pki_ca_new("", 0) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EINVAL);
    dvi_pki_cert_destroy(&cert_only);
    dvi_pki_cert_destroy(&w);
    dvi_pki_cert_destroy(&ca);
}

static void
test_ssl_reason(void **state)
{
    char buf[64];
    ERR_clear_error();
    DVT_EQ_STR(dvi_ssl_reason(buf, sizeof(buf)), "unknown error");
    /* A failure queues OpenSSL's reason; it is taken, and the queue is
     * empty after. */
    ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
    ERR_raise(ERR_LIB_PEM, PEM_R_BAD_END_LINE);
    DVT_FAILS_WITH(DV_EIO, dvi_seterr_ssl(DV_EIO, "file %s", "x.pem"));
    DVT_EQ_STR(dv_last_error(), "file x.pem: no start line");
    DVT_EQ_I64(ERR_peek_error(), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_and_names),
        cmocka_unit_test(test_ca_signs_roles),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_save_load_modes),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_issue_errors),
        cmocka_unit_test(test_ssl_reason),
    };
    return cmocka_run_group_tests_name("pki", tests, s_setup, s_teardown);
}
