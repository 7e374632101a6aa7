/* dvi_profile: a named cluster's files, in $DROVE_HOME/profile_NAME/.
 *
 * A profile holds what it takes to join its cluster: the connection file
 * (connection.json: the scheduler's address for clients and for workers,
 * and the CA certificate), the certificate authority (ca.pem, and ca.key,
 * which never leaves the scheduler's machine), a certificate and key per
 * role (scheduler.pem/.key, worker.pem/.key, client.pem/.key), the
 * scheduler's lock (scheduler.lock: held while it runs) and logs/. Files
 * are mode 0600 and directories 0700.
 *
 * `drove scheduler` creates what is missing on first start and reuses it
 * afterwards, so workers and clients with the same DROVE_HOME find it and
 * keep working across restarts. DROVE_HOME defaults to ~/.drove, the
 * profile to $DROVE_PROFILE or "default".
 */
#ifndef DVI_PROFILE_H
#define DVI_PROFILE_H

#include <limits.h>
#include <stddef.h>

#include "pki.h"

#define DVI_PROFILE_NAME_MAX 64
#define DVI_PROFILE_CONN_FILE "connection.json"

typedef struct dvi_profile {
    char name[DVI_PROFILE_NAME_MAX];
    char home[1024]; /* DROVE_HOME */
    char dir[1152];  /* home/profile_NAME */
} dvi_profile;

/* What the connection file says. */
typedef struct dvi_profile_conn {
    char client_addr[256]; /* where clients dial ("tcp://HOST:PORT") */
    char worker_addr[256]; /* where workers dial */
    int pid;               /* the scheduler that wrote it, or 0 */
} dvi_profile_conn;

/* Names the profile: name (NULL or "": $DROVE_PROFILE, else "default")
 * under $DROVE_HOME (else ~/.drove). Creates nothing. Returns 0, or
 * DV_EINVAL for a name other than letters, digits, '.', '_' and '-' (not
 * starting with '.', at most DVI_PROFILE_NAME_MAX - 1 bytes) or a home
 * too long for dvi_profile.home (reason set). */
int dvi_profile_init(dvi_profile *p, const char *name);

/* The home of the profiles, $DROVE_HOME else ~/.drove, into out. Returns
 * 0, or DV_EINVAL if it does not fit in size bytes (reason set). */
int dvi_profile_home(char *out, size_t size);

/* The path of file in the profile's directory, into out. */
void dvi_profile_path(const dvi_profile *p, const char *file, char *out,
                      size_t size);

/* Whether the profile's directory exists. */
int dvi_profile_exists(const dvi_profile *p);

/* Whether host may be one of the scheduler certificate's names: an IPv4
 * or IPv6 address, or a DNS name (letters, digits, '-', '.' and '_', at
 * most 253 bytes). */
int dvi_profile_host_ok(const char *host);

/* Creates the profile's directory (0700), certificate authority and the
 * certificate of every role, keeping whatever already exists. hosts (n of
 * them) are more names the scheduler's certificate carries besides
 * 127.0.0.1 and localhost (only when it is issued here: an existing one
 * is kept as it is). If the CA's certificate is missing, a new CA is made
 * and every role's certificate issued again. Safe against other processes
 * ensuring the same profile at once (they wait for each other). Returns
 * 0, or a DV_E* code with the reason set: DV_EINVAL for a bad host (before
 * anything is made), DV_ENOTFOUND when a certificate is missing and the
 * CA's key is not there to issue it (an exported profile), DV_EIO naming
 * the file or directory that cannot be written. */
int dvi_profile_ensure(const dvi_profile *p, const char *const *hosts,
                       size_t n);

/* The paths of role's (enum dvi_pki_role, not NONE) certificate and key
 * in the profile, into cert and key (size bytes each). */
void dvi_profile_role_paths(const dvi_profile *p, int role, char *cert,
                            char *key, size_t size);

/* Whether the profile's scheduler certificate names host (an address, or
 * a DNS name) in its subjectAltName: 1 or 0, or the DV_E* code of
 * dvi_profile_cert when it cannot be loaded (reason set). */
int dvi_profile_names_host(const dvi_profile *p, const char *host);

/* Whether the profile holds a certificate and key for role (enum
 * dvi_pki_role) and the CA's certificate. */
int dvi_profile_has(const dvi_profile *p, int role);

/* The certificate (and key) of role in the profile. Caller owns; free
 * with dvi_pki_cert_destroy. NULL with the reason set: which profile has
 * no credentials for that role, and where it looked. */
dvi_pki_cert *dvi_profile_cert(const dvi_profile *p, int role);
/* The CA's certificate (no key). As above. */
dvi_pki_cert *dvi_profile_ca(const dvi_profile *p);

/* Writes the connection file (with the CA certificate) atomically, 0600. */
int dvi_profile_write_conn(const dvi_profile *p, const dvi_profile_conn *c);
/* Reads the connection file. Returns 0, DV_ENOTFOUND if there is none,
 * DV_EIO if it cannot be read, or DV_EINVAL for one that is not what it
 * should be (reason set, naming the file and what is wrong; *c zeroed). */
int dvi_profile_read_conn(const dvi_profile *p, dvi_profile_conn *c);

/* Takes the scheduler's lock of the profile, held until the process ends
 * or dvi_profile_unlock. Returns the lock's file descriptor, or DV_EINVAL
 * when a scheduler already holds it (the reason names its pid and the
 * profile), or another DV_E* code. */
int dvi_profile_lock(const dvi_profile *p);
void dvi_profile_unlock(int fd);

/* Whether a scheduler holds the profile's lock, tested without keeping it
 * (a lock taken and dropped at once; dvi_profile_lock waits out that
 * instant). Returns 1 and the holder's pid in *pid (0 if it wrote none),
 * 0 and *pid = 0 if nobody holds it (or there is no lock file), or DV_EIO
 * (reason set). pid may be NULL. */
int dvi_profile_running(const dvi_profile *p, int *pid);

/* Copies to dest_home/profile_NAME/ what a worker (or, with client, a
 * client) on another machine needs: the connection file (if a scheduler
 * has written one), the CA's certificate, and that role's certificate and
 * key. Never the CA's key. Creates dest_home (one level) and the
 * profile's directory (0700); the files are 0600. Returns 0, or a DV_E*
 * code with the reason set: DV_ENOTFOUND if the profile has no such
 * credentials, DV_EINVAL for a destination that is the profile itself or
 * holds a CA's key (a scheduler's profile, never overwritten), DV_EIO. */
int dvi_profile_export(const dvi_profile *p, const char *dest_home, int client);

#endif
