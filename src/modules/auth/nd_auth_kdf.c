/*
 * Password checks off the loop.  A PBKDF2 check costs what the hash's
 * iterations make it (100,000 by default: tens of milliseconds); run on
 * the loop, every login with a password not verified yet, and every
 * wrong one, stopped every connection for that long, so a few requests
 * a second with wrong passwords kept the node from answering anything.
 * Here one thread runs the checks, in order, and the loop carries on; a
 * request waits for its check (login, or a request that carries
 * username and password).  At most password_queue checks wait; more are
 * answered 503 at once.
 *
 * A job owns copies of what it needs (password, stored hash): the user
 * can be reloaded or deleted while it waits.  Its requester can go away
 * too (the client closed): nd_auth_kdf_cancel() takes the callback away,
 * and the job is freed when it comes back.
 */
#include <nd_auth.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>

struct nd_auth_kdf_s {
    nd_queue_t           queue;
    nd_auth_kdf_pt       done;          /* NULL: cancelled */
    void                *data;
    int                  ok;            /* the password matches the hash */
    unsigned             known:1;       /* the user existed at submit */
    unsigned             started:1;     /* the thread took it (mutex) */
    unsigned             hashing:1;     /* make a hash, not check one */
    nd_uint_t            iterations;    /* hashing */
    char                *hash;          /* the stored hash checked, or the
                                           new one made (heap) */
    char                 user[ND_AUTH_USER_MAX + 1];
    u_char               key[32];       /* HMAC(pw_key, password) */
    size_t               len;
    u_char               pw[];
};

typedef struct {
    pthread_t            thread;
    pthread_mutex_t      mutex;
    pthread_cond_t       cond;
    nd_queue_t           jobs;          /* waiting for the thread */
    nd_queue_t           results;       /* checked, for the loop */
    nd_uint_t            n;             /* submitted, not delivered */
    nd_uint_t            max;           /* password_queue */
    ev_async             async;
    struct ev_loop      *loop;
    unsigned             quit:1;
    unsigned             running:1;
} nd_auth_kdf_pool_t;


static nd_auth_kdf_pool_t  nd_auth_kdf;


static void *
nd_auth_kdf_thread(void *arg)
{
    nd_queue_t     *q;
    nd_auth_kdf_t  *job;

    (void) arg;

    pthread_mutex_lock(&nd_auth_kdf.mutex);

    for ( ;; ) {
        while (nd_queue_empty(&nd_auth_kdf.jobs) && !nd_auth_kdf.quit) {
            pthread_cond_wait(&nd_auth_kdf.cond, &nd_auth_kdf.mutex);
        }

        if (nd_auth_kdf.quit) {
            break;
        }

        q = nd_queue_head(&nd_auth_kdf.jobs);
        nd_queue_remove(q);
        job = nd_queue_data(q, nd_auth_kdf_t, queue);
        job->started = 1;

        pthread_mutex_unlock(&nd_auth_kdf.mutex);

        if (job->hashing) {
            job->hash = nd_auth_password_hash(job->pw, job->len,
                                              job->iterations);
            job->ok = job->hash != NULL;
        } else {
            job->ok = nd_auth_password_check(job->pw, job->len, job->hash);
        }
        OPENSSL_cleanse(job->pw, job->len);

        pthread_mutex_lock(&nd_auth_kdf.mutex);
        nd_queue_insert_tail(&nd_auth_kdf.results, &job->queue);
        ev_async_send(nd_auth_kdf.loop, &nd_auth_kdf.async);
    }

    pthread_mutex_unlock(&nd_auth_kdf.mutex);

    return NULL;
}


static void
nd_auth_kdf_free(nd_auth_kdf_t *job)
{
    OPENSSL_cleanse(job->pw, job->len);
    OPENSSL_cleanse(job->key, sizeof(job->key));
    nd_free(job->hash);
    nd_free(job);
}


static void
nd_auth_kdf_deliver(struct ev_loop *loop, ev_async *w, int revents)
{
    nd_queue_t      done, *q;
    nd_auth_kdf_t  *job;

    (void) loop;
    (void) w;
    (void) revents;

    nd_queue_init(&done);

    pthread_mutex_lock(&nd_auth_kdf.mutex);
    while (!nd_queue_empty(&nd_auth_kdf.results)) {
        q = nd_queue_head(&nd_auth_kdf.results);
        nd_queue_remove(q);
        nd_queue_insert_tail(&done, q);
    }
    pthread_mutex_unlock(&nd_auth_kdf.mutex);

    while (!nd_queue_empty(&done)) {
        q = nd_queue_head(&done);
        nd_queue_remove(q);
        job = nd_queue_data(q, nd_auth_kdf_t, queue);
        nd_auth_kdf.n--;

        if (job->done) {
            job->done(job);
        }
        nd_auth_kdf_free(job);
    }
}


static nd_int_t
nd_auth_kdf_start(nd_cycle_t *cycle, nd_uint_t max)
{
    int       rc;
    sigset_t  all, old;

    nd_queue_init(&nd_auth_kdf.jobs);
    nd_queue_init(&nd_auth_kdf.results);
    nd_auth_kdf.max = max;
    nd_auth_kdf.n = 0;
    nd_auth_kdf.quit = 0;

    if (pthread_mutex_init(&nd_auth_kdf.mutex, NULL) != 0
        || pthread_cond_init(&nd_auth_kdf.cond, NULL) != 0)
    {
        return ND_ERROR;
    }

    nd_auth_kdf.loop = cycle->loop;
    ev_async_init(&nd_auth_kdf.async, nd_auth_kdf_deliver);
    ev_async_start(cycle->loop, &nd_auth_kdf.async);

    /* signals stay with the loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&nd_auth_kdf.thread, NULL, nd_auth_kdf_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (rc != 0) {
        nd_log_error(ND_LOG_EMERG, cycle->log, rc,
                     "auth: pthread_create() failed");
        ev_async_stop(cycle->loop, &nd_auth_kdf.async);
        return ND_ERROR;
    }

    nd_auth_kdf.running = 1;

    return ND_OK;
}


void
nd_auth_kdf_stop(nd_cycle_t *cycle)
{
    nd_queue_t      *q;
    nd_auth_kdf_t   *job;

    if (!nd_auth_kdf.running) {
        return;
    }

    pthread_mutex_lock(&nd_auth_kdf.mutex);
    nd_auth_kdf.quit = 1;
    pthread_cond_signal(&nd_auth_kdf.cond);
    pthread_mutex_unlock(&nd_auth_kdf.mutex);

    pthread_join(nd_auth_kdf.thread, NULL);
    nd_auth_kdf.running = 0;

    ev_async_stop(cycle->loop, &nd_auth_kdf.async);

    /* their requests are gone with their connections */
    while (!nd_queue_empty(&nd_auth_kdf.jobs)) {
        q = nd_queue_head(&nd_auth_kdf.jobs);
        nd_queue_remove(q);
        nd_auth_kdf_free(nd_queue_data(q, nd_auth_kdf_t, queue));
    }
    while (!nd_queue_empty(&nd_auth_kdf.results)) {
        q = nd_queue_head(&nd_auth_kdf.results);
        nd_queue_remove(q);
        job = nd_queue_data(q, nd_auth_kdf_t, queue);
        nd_auth_kdf_free(job);
    }

    pthread_mutex_destroy(&nd_auth_kdf.mutex);
    pthread_cond_destroy(&nd_auth_kdf.cond);
}


/* HMAC(pw_key, password): what a user's verified check is kept as */
static int
nd_auth_kdf_key(nd_auth_conf_t *acf, const char *pw, u_char key[32])
{
    unsigned int  n;

    n = 0;

    return HMAC(EVP_sha256(), acf->pw_key, sizeof(acf->pw_key),
                (const u_char *) pw, strlen(pw), key, &n) != NULL
           && n == 32;
}


int
nd_auth_password_cached(nd_auth_conf_t *acf, nd_auth_user_t *u,
    const char *pw)
{
    u_char  key[32];
    int     ok;

    ok = u->has_verified && nd_auth_kdf_key(acf, pw, key)
         && CRYPTO_memcmp(key, u->verified, 32) == 0;
    OPENSSL_cleanse(key, sizeof(key));

    return ok;
}


/* a job for pw, or NULL when password_queue jobs wait (or no memory) */
static nd_auth_kdf_t *
nd_auth_kdf_new(nd_auth_conf_t *acf, const char *pw, nd_auth_kdf_pt done,
    void *data)
{
    size_t          len;
    nd_auth_kdf_t  *job;

    /* the thread starts with the first job */
    if (!nd_auth_kdf.running
        && nd_auth_kdf_start(nd_cycle, acf->password_queue) != ND_OK)
    {
        return NULL;
    }

    if (nd_auth_kdf.n >= nd_auth_kdf.max) {
        return NULL;
    }

    len = strlen(pw);
    job = nd_calloc(sizeof(nd_auth_kdf_t) + len);
    if (job == NULL) {
        return NULL;
    }

    job->done = done;
    job->data = data;
    job->len = len;
    memcpy(job->pw, pw, len);

    return job;
}


static void
nd_auth_kdf_submit(nd_auth_kdf_t *job)
{
    pthread_mutex_lock(&nd_auth_kdf.mutex);
    nd_queue_insert_tail(&nd_auth_kdf.jobs, &job->queue);
    pthread_cond_signal(&nd_auth_kdf.cond);
    pthread_mutex_unlock(&nd_auth_kdf.mutex);

    nd_auth_kdf.n++;
}


nd_auth_kdf_t *
nd_auth_kdf_check(nd_auth_conf_t *acf, const char *user, const char *pw,
    nd_auth_kdf_pt done, void *data)
{
    char             dummy[128];
    nd_auth_kdf_t   *job;
    nd_auth_user_t  *u;

    if (strlen(user) > ND_AUTH_USER_MAX) {
        return NULL;
    }

    job = nd_auth_kdf_new(acf, pw, done, data);
    if (job == NULL) {
        return NULL;
    }

    u = acf->model ? nd_auth_user_find(acf->model, user) : NULL;

    /* a hash of nothing for an unknown user, with the iterations new
     * hashes get: it costs what a known user's check does */
    if (u == NULL) {
        snprintf(dummy, sizeof(dummy), "pbkdf2-sha256$%lu$"
                 "AAAAAAAAAAAAAAAAAAAAAA$"
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                 (unsigned long) acf->iterations);
    }

    job->known = u != NULL;
    job->hash = strdup(u ? u->hash : dummy);
    if (job->hash == NULL || !nd_auth_kdf_key(acf, pw, job->key)) {
        nd_auth_kdf_free(job);
        return NULL;
    }

    strcpy(job->user, user);
    nd_auth_kdf_submit(job);

    return job;
}


nd_auth_kdf_t *
nd_auth_kdf_hash(nd_auth_conf_t *acf, const char *pw, nd_auth_kdf_pt done,
    void *data)
{
    nd_auth_kdf_t  *job;

    job = nd_auth_kdf_new(acf, pw, done, data);
    if (job == NULL) {
        return NULL;
    }

    job->hashing = 1;
    job->iterations = acf->iterations;
    nd_auth_kdf_submit(job);

    return job;
}


const char *
nd_auth_kdf_hashed(nd_auth_kdf_t *job)
{
    return job->hashing && job->ok ? job->hash : NULL;
}


void
nd_auth_kdf_cancel(nd_auth_kdf_t *job)
{
    int  queued;

    if (!nd_auth_kdf.running) {
        /* stopped (exit: modules before connections): the jobs are gone */
        return;
    }

    /* not started: it never runs (a client that sends a login and goes
     * away costs no check); else it comes back with no callback */
    pthread_mutex_lock(&nd_auth_kdf.mutex);
    queued = !job->started;
    if (queued) {
        nd_queue_remove(&job->queue);
    }
    pthread_mutex_unlock(&nd_auth_kdf.mutex);

    if (queued) {
        nd_auth_kdf.n--;
        nd_auth_kdf_free(job);
        return;
    }

    /* the loop's side of the job: the thread never reads these */
    job->done = NULL;
    job->data = NULL;
}


void *
nd_auth_kdf_data(nd_auth_kdf_t *job)
{
    return job->data;
}


const char *
nd_auth_kdf_user(nd_auth_kdf_t *job)
{
    return job->user;
}


nd_auth_user_t *
nd_auth_kdf_result(nd_auth_conf_t *acf, nd_auth_kdf_t *job)
{
    nd_auth_user_t  *u;

    if (!job->ok || !job->known || acf->model == NULL) {
        return NULL;
    }

    /* the user now, with the hash checked (not changed or deleted since) */
    u = nd_auth_user_find(acf->model, job->user);
    if (u == NULL || strcmp(u->hash, job->hash) != 0) {
        return NULL;
    }

    memcpy(u->verified, job->key, 32);
    u->has_verified = 1;

    return u;
}


/* the abort_handler of a request waiting for its check (r->ctx: the job) */
void
nd_auth_kdf_abort(nd_http_request_t *r)
{
    nd_auth_kdf_cancel(r->ctx);
    r->ctx = NULL;
}
