/*
 * A SQLite VFS over the default one that gathers the writes to the WAL
 * file: SQLite writes each frame of a commit with two pwrite() calls (its
 * 24-byte header, then the page), about five a publish at 16 clients.
 * Here consecutive writes are copied into one buffer and written with one
 * pwrite() when SQLite syncs the file (the commit: synchronous=FULL syncs
 * the WAL at every commit, before the wal-index makes the frames visible),
 * reads it, asks its size, truncates it, closes it, writes elsewhere in it,
 * or when the buffer is full.  What is durable, and when, does not change:
 * a frame reaches the file before the sync that makes its commit durable.
 * This connection reads the file only through us (the buffer is written
 * first); other connections (the warm start's reader, the sqlite3 shell)
 * read frames only up to the last commit the wal-index records, and SQLite
 * updates it after that sync.  This holds as long as every commit syncs
 * the WAL: synchronous=FULL, which nd_store_sqlite_start() sets.
 *
 * Every other file (the database, temporary files) is the default VFS's
 * own, untouched.
 */
#include <nd_store_internal.h>
#include <sqlite3.h>

#define ND_SQLITE_WAL_BUF    (256 * 1024)
/* the unix VFS writes at most 128 KB - 1 a call (it masks the length with
 * 0x1ffff and calls a write of 128 KB exactly a full disk) */
#define ND_SQLITE_WAL_CHUNK  (124 * 1024)

typedef struct {
    sqlite3_file         base;          /* pMethods: nd_store_wal_methods */
    sqlite3_file        *real;          /* the default VFS's file, after us */
    unsigned char       *buf;
    size_t               len;
    sqlite3_int64        off;           /* the file offset of buf[0] */
} nd_store_wal_t;

#define nd_store_wal_real_offset                                              \
    ((sizeof(nd_store_wal_t) + 15) & ~(size_t) 15)


static int
nd_store_wal_flush(nd_store_wal_t *w)
{
    int     rc;
    size_t  done, n;

    rc = SQLITE_OK;

    for (done = 0; done < w->len && rc == SQLITE_OK; done += n) {
        n = w->len - done;
        if (n > ND_SQLITE_WAL_CHUNK) {
            n = ND_SQLITE_WAL_CHUNK;
        }
        rc = w->real->pMethods->xWrite(w->real, w->buf + done, (int) n,
                                       w->off + (sqlite3_int64) done);
    }

    w->len = 0;

    return rc;
}


static int
nd_store_wal_close(sqlite3_file *f)
{
    int              rc, rc2;
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    rc = nd_store_wal_flush(w);
    rc2 = w->real->pMethods->xClose(w->real);
    sqlite3_free(w->buf);
    w->buf = NULL;

    return rc != SQLITE_OK ? rc : rc2;
}


static int
nd_store_wal_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
    int              rc;
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    rc = nd_store_wal_flush(w);
    if (rc != SQLITE_OK) {
        return rc;
    }

    return w->real->pMethods->xRead(w->real, p, amt, off);
}


static int
nd_store_wal_write(sqlite3_file *f, const void *p, int amt,
    sqlite3_int64 off)
{
    int              rc;
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    if (w->len && (off != w->off + (sqlite3_int64) w->len
                   || w->len + (size_t) amt > ND_SQLITE_WAL_BUF))
    {
        rc = nd_store_wal_flush(w);
        if (rc != SQLITE_OK) {
            return rc;
        }
    }

    if ((size_t) amt > ND_SQLITE_WAL_CHUNK) {
        return w->real->pMethods->xWrite(w->real, p, amt, off);
    }

    if (w->buf == NULL) {
        w->buf = sqlite3_malloc(ND_SQLITE_WAL_BUF);
        if (w->buf == NULL) {
            return w->real->pMethods->xWrite(w->real, p, amt, off);
        }
    }

    if (w->len == 0) {
        w->off = off;
    }

    memcpy(w->buf + w->len, p, (size_t) amt);
    w->len += (size_t) amt;

    return SQLITE_OK;
}


static int
nd_store_wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    int              rc;
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    rc = nd_store_wal_flush(w);
    if (rc != SQLITE_OK) {
        return rc;
    }

    return w->real->pMethods->xTruncate(w->real, size);
}


static int
nd_store_wal_sync(sqlite3_file *f, int flags)
{
    int              rc;
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    rc = nd_store_wal_flush(w);
    if (rc != SQLITE_OK) {
        return rc;
    }

    return w->real->pMethods->xSync(w->real, flags);
}


static int
nd_store_wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    int              rc;
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    rc = nd_store_wal_flush(w);
    if (rc != SQLITE_OK) {
        return rc;
    }

    return w->real->pMethods->xFileSize(w->real, size);
}


static int
nd_store_wal_lock(sqlite3_file *f, int lock)
{
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    return w->real->pMethods->xLock(w->real, lock);
}


static int
nd_store_wal_unlock(sqlite3_file *f, int lock)
{
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    return w->real->pMethods->xUnlock(w->real, lock);
}


static int
nd_store_wal_check_lock(sqlite3_file *f, int *out)
{
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    return w->real->pMethods->xCheckReservedLock(w->real, out);
}


static int
nd_store_wal_control(sqlite3_file *f, int op, void *arg)
{
    int              rc;
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    rc = nd_store_wal_flush(w);
    if (rc != SQLITE_OK) {
        return rc;
    }

    return w->real->pMethods->xFileControl(w->real, op, arg);
}


static int
nd_store_wal_sector(sqlite3_file *f)
{
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    return w->real->pMethods->xSectorSize(w->real);
}


static int
nd_store_wal_device(sqlite3_file *f)
{
    nd_store_wal_t  *w = (nd_store_wal_t *) f;

    return w->real->pMethods->xDeviceCharacteristics(w->real);
}


/* version 1: no shared memory (a WAL file has none: the wal-index is the
 * database file's) and no memory mapping (the WAL file is never mapped) */
static const sqlite3_io_methods  nd_store_wal_methods = {
    .iVersion = 1,
    .xClose = nd_store_wal_close,
    .xRead = nd_store_wal_read,
    .xWrite = nd_store_wal_write,
    .xTruncate = nd_store_wal_truncate,
    .xSync = nd_store_wal_sync,
    .xFileSize = nd_store_wal_file_size,
    .xLock = nd_store_wal_lock,
    .xUnlock = nd_store_wal_unlock,
    .xCheckReservedLock = nd_store_wal_check_lock,
    .xFileControl = nd_store_wal_control,
    .xSectorSize = nd_store_wal_sector,
    .xDeviceCharacteristics = nd_store_wal_device,
};


static int
nd_store_wal_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
    int flags, int *out_flags)
{
    int              rc;
    sqlite3_vfs     *real;
    nd_store_wal_t  *w;

    real = vfs->pAppData;

    if (!(flags & SQLITE_OPEN_WAL)) {
        /* our file is larger than the real one: it fits */
        return real->xOpen(real, name, f, flags, out_flags);
    }

    w = (nd_store_wal_t *) f;
    memset(w, 0, sizeof(nd_store_wal_t));
    w->real = (sqlite3_file *) ((unsigned char *) f
                                + nd_store_wal_real_offset);

    rc = real->xOpen(real, name, w->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        /* xOpen failed: SQLite calls no method of this file */
        w->base.pMethods = NULL;
        return rc;
    }

    w->base.pMethods = &nd_store_wal_methods;

    return SQLITE_OK;
}


/* registers the VFS named vfs->zName over the default VFS; vfs lives as
 * long as the process uses SQLite */
nd_int_t
nd_store_sqlite_vfs_init(sqlite3_vfs *vfs, const char *name)
{
    sqlite3_vfs  *real;

    real = sqlite3_vfs_find(NULL);
    if (real == NULL) {
        return ND_ERROR;
    }

    *vfs = *real;
    vfs->pNext = NULL;
    vfs->szOsFile = (int) nd_store_wal_real_offset + real->szOsFile;
    vfs->zName = name;
    vfs->pAppData = real;
    vfs->xOpen = nd_store_wal_open;

    return sqlite3_vfs_register(vfs, 0) == SQLITE_OK ? ND_OK : ND_ERROR;
}
