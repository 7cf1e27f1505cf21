/*
 * Unit tests: references to shared blocks among a buffer's own bytes
 * (nd_buf_refs_*): order, pieces, partial consumption across pieces, the
 * ring growing, and every reference released exactly once.
 */
#include <nd_core.h>
#include <tap.h>

static int  disposed;


static void
dispose(nd_shared_t *sh)
{
    disposed++;
}


/* every byte queued, read through the iovecs */
static void
flatten(nd_buf_t *b, nd_buf_refs_t *rs, char *out, size_t size)
{
    int           i, n;
    size_t        len;
    struct iovec  iov[64];

    n = nd_buf_refs_iov(b, rs, iov, 64);
    len = 0;
    for (i = 0; i < n && len + iov[i].iov_len < size; i++) {
        memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    out[len] = '\0';
}


int
main(void)
{
    int            i, n;
    char           got[256], want[256];
    size_t         len;
    nd_buf_t       b;
    nd_shared_t   *sh, *sh2;
    const u_char  *p;
    nd_shared_t   *at;
    nd_buf_refs_t  rs;
    struct iovec   iov[2];

    nd_buf_init(&b);
    memset(&rs, 0, sizeof(rs));

    sh = nd_shared_alloc(5, dispose);
    memcpy(sh->data, "SHARE", 5);
    sh2 = nd_shared_alloc(3, dispose);
    memcpy(sh2->data, "xyz", 3);

    /* own, ref, own, ref, ref, own */
    nd_buf_append(&b, "ab", 2);
    nd_buf_refs_add(&b, &rs, sh, sh->data, 5);
    nd_buf_append(&b, "cd", 2);
    nd_buf_refs_add(&b, &rs, sh2, sh2->data, 3);
    nd_buf_refs_add(&b, &rs, sh, sh->data + 1, 2);
    nd_buf_append(&b, "e", 1);

    is_int(nd_buf_refs_size(&b, &rs), 15, "15 bytes queued");
    is_int(sh->refs, 3, "two references taken on the first block");
    flatten(&b, &rs, got, sizeof(got));
    is_str(got, "abSHAREcdxyzHAe", "the order kept");
    is_int(nd_buf_refs_iov(&b, &rs, iov, 2), 2, "iovecs stop at max");

    len = nd_buf_refs_peek(&b, &rs, &p, &at);
    ok(len == 2 && at == NULL && memcmp(p, "ab", 2) == 0, "peek: own");

    nd_buf_refs_consume(&b, &rs, 4);        /* ab + SH */
    len = nd_buf_refs_peek(&b, &rs, &p, &at);
    ok(len == 3 && at == sh && memcmp(p, "ARE", 3) == 0,
       "peek: the rest of a reference");
    flatten(&b, &rs, got, sizeof(got));
    is_str(got, "AREcdxyzHAe", "partly consumed");

    nd_buf_refs_consume(&b, &rs, 4);        /* ARE + c */
    is_int(sh->refs, 2, "a finished reference released");
    flatten(&b, &rs, got, sizeof(got));
    is_str(got, "dxyzHAe", "across own bytes");

    nd_buf_append(&b, "fg", 2);             /* after everything */
    flatten(&b, &rs, got, sizeof(got));
    is_str(got, "dxyzHAefg", "own bytes appended later come last");

    nd_buf_refs_consume(&b, &rs, 9);
    is_int(nd_buf_refs_size(&b, &rs), 0, "all consumed");
    is_int(rs.n, 0, "no reference left");
    is_int(sh->refs, 1, "block back to its owner's reference");
    is_int(sh2->refs, 1, "the other too");

    /* the ring grows past its first size, wrapped */
    want[0] = '\0';
    for (i = 0; i < 20; i++) {
        nd_buf_append(&b, "-", 1);
        nd_buf_refs_add(&b, &rs, sh2, sh2->data + (i % 3), 1);
        strncat(want, "-", sizeof(want) - strlen(want) - 1);
        strncat(want, (char *) sh2->data + (i % 3), 1);
        if (i == 3) {
            nd_buf_refs_consume(&b, &rs, 4);
            memmove(want, want + 4, strlen(want) - 3);
        }
    }
    flatten(&b, &rs, got, sizeof(got));
    is_str(got, want, "40 pieces through a grown ring");
    is_int(sh2->refs, 1 + 18, "18 references held");

    /* a connection closed with references queued */
    nd_buf_refs_free(&rs);
    nd_buf_free(&b);
    is_int(sh2->refs, 1, "freed: every reference released");
    is_int(rs.bytes, 0, "no bytes counted");

    n = disposed;
    nd_shared_release(sh);
    nd_shared_release(sh2);
    is_int(disposed - n, 2, "both blocks disposed once, by their owner");

    /* a reference of 0 bytes is nothing */
    nd_buf_init(&b);
    sh = nd_shared_alloc(1, NULL);
    nd_buf_refs_add(&b, &rs, sh, sh->data, 0);
    is_int(rs.n, 0, "an empty reference is not queued");
    nd_shared_release(sh);

    return done_testing();
}
