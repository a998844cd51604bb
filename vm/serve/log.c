/* Structured logs; see log.h.  A line is built in memory (open_memstream)
   and written with one fwrite under a lock. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;

void lg_set_output(FILE *f)
{
    out = f;
}

void lg_begin(lg_line *l, const char *level, const char *event)
{
    l->buf = NULL;
    l->len = 0;
    l->f = open_memstream(&l->buf, &l->len);
    if (!l->f)
        return;
    jw_init(&l->w, l->f, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[64];
    size_t n = strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(t + n, sizeof t - n, ".%06ldZ", ts.tv_nsec / 1000);
    jw_object(&l->w);
    jw_key(&l->w, "ts");
    jw_cstring(&l->w, t);
    jw_key(&l->w, "level");
    jw_cstring(&l->w, level);
    jw_key(&l->w, "event");
    jw_cstring(&l->w, event);
}

void lg_str(lg_line *l, const char *key, const char *s)
{
    if (!l->f)
        return;
    jw_key(&l->w, key);
    jw_cstring(&l->w, s ? s : "");
}

void lg_strn(lg_line *l, const char *key, const char *s, size_t n)
{
    if (!l->f)
        return;
    jw_key(&l->w, key);
    jw_string(&l->w, s, n);
}

void lg_int(lg_line *l, const char *key, int64_t v)
{
    if (!l->f)
        return;
    jw_key(&l->w, key);
    jw_int(&l->w, v);
}

void lg_end(lg_line *l)
{
    if (!l->f)
        return;
    jw_end(&l->w);
    jw_finish(&l->w);
    if (fclose(l->f) == 0 && l->buf) {
        pthread_mutex_lock(&out_mu);
        FILE *o = out ? out : stderr;
        fwrite(l->buf, 1, l->len, o);
        fflush(o);
        pthread_mutex_unlock(&out_mu);
    }
    free(l->buf);
    l->f = NULL;
    l->buf = NULL;
}

void lg_msg(const char *level, const char *event, const char *msg)
{
    lg_line l;
    lg_begin(&l, level, event);
    lg_str(&l, "msg", msg);
    lg_end(&l);
}
