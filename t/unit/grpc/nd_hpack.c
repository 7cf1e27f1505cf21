/*
 * Unit tests: HPACK decoding against the examples of RFC 7541 Appendix C
 * (integers, literals, requests with and without Huffman, responses with
 * eviction), dynamic table size updates, and malformed input of every
 * kind; plus the encoder pieces our responses use.
 */
#include <nd_core.h>
#include <tap.h>

#ifdef ND_WITH_GRPC

#include <nd_hpack.h>

typedef struct {
    char    text[2048];     /* "name: value\n" per field */
    int     fields;
} got_t;


static void
emit(void *data, const u_char *name, size_t nlen, const u_char *value,
    size_t vlen)
{
    got_t   *g = data;
    size_t   used = strlen(g->text);

    snprintf(g->text + used, sizeof(g->text) - used, "%.*s: %.*s\n",
             (int) nlen, name, (int) vlen, value);
    g->fields++;
}


static size_t
unhex(const char *hex, u_char *out)
{
    size_t  n = 0;
    int     hi = -1, v;

    for ( /* void */ ; *hex; hex++) {
        if (*hex == ' ') {
            continue;
        }
        v = (*hex <= '9') ? *hex - '0' : (*hex | 0x20) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (u_char) (hi << 4 | v);
            hi = -1;
        }
    }

    return n;
}


/* decode hex with a 16 KB field buffer; the fields or "ERROR n" */
static int
decode(nd_hpack_t *hp, const char *hex, got_t *g)
{
    static u_char  block[4096], tmp[16384];
    size_t         len;

    memset(g, 0, sizeof(got_t));
    len = unhex(hex, block);

    return nd_hpack_decode(hp, block, len, tmp, sizeof(tmp), emit, g);
}


/* the dynamic table, newest first, as "[i] name: value (size)" */
static void
table(nd_hpack_t *hp, char *out, size_t size)
{
    got_t    g;
    uint32_t i;
    u_char   block[8], tmp[4096];
    u_char  *p;

    out[0] = '\0';
    for (i = 0; i < hp->count; i++) {
        memset(&g, 0, sizeof(got_t));
        p = nd_hpack_encode_int(block, ND_HPACK_STATIC + 1 + i, 7, 0x80);
        nd_hpack_decode(hp, block, (size_t) (p - block), tmp, sizeof(tmp),
                        emit, &g);
        snprintf(out + strlen(out), size - strlen(out), "%s", g.text);
    }
}


static void
test_integers(void)
{
    uint32_t  v;
    u_char    buf[16], *p;

    /* C.1.1: 10 in a 5-bit prefix */
    is_int(nd_hpack_decode_int((u_char *) "\x0a", 1, 5, &v), 1,
           "C.1.1 one byte");
    is_int(v, 10, "C.1.1 value 10");

    /* C.1.2: 1337 in a 5-bit prefix */
    is_int(nd_hpack_decode_int((u_char *) "\x1f\x9a\x0a", 3, 5, &v), 3,
           "C.1.2 three bytes");
    is_int(v, 1337, "C.1.2 value 1337");

    /* C.1.3: 42 at an octet boundary */
    is_int(nd_hpack_decode_int((u_char *) "\x2a", 1, 8, &v), 1,
           "C.1.3 one byte");
    is_int(v, 42, "C.1.3 value 42");

    p = nd_hpack_encode_int(buf, 1337, 5, 0xe0);
    ok(p - buf == 3 && memcmp(buf, "\xff\x9a\x0a", 3) == 0,
       "encode 1337 with a 5-bit prefix and flags");

    is_int(nd_hpack_decode_int((u_char *) "\x1f\x9a", 2, 5, &v),
           ND_HPACK_ERROR, "truncated integer");
    is_int(nd_hpack_decode_int((u_char *) "\x1f", 1, 5, &v),
           ND_HPACK_ERROR, "integer with no continuation byte");
    is_int(nd_hpack_decode_int((u_char *) "\x1f\xff\xff\xff\xff\x0f", 6, 5,
                               &v), ND_HPACK_ERROR, "integer over 2^32 - 1");
    is_int(nd_hpack_decode_int((u_char *) "\x1f\x80\x80\x80\x80\x80\x01", 7,
                               5, &v), ND_HPACK_ERROR,
           "integer with too many continuation bytes");
    is_int(nd_hpack_decode_int((u_char *) "\x1f\xe0\xff\xff\xff\x0f", 6, 5,
                               &v), 6, "2^32 - 1 is accepted");
    is_int(v, UINT32_MAX, "2^32 - 1 decoded");
}


static void
test_literals(void)
{
    got_t       g;
    nd_hpack_t  hp;
    char        t[1024];

    nd_hpack_init(&hp, 4096);

    /* C.2.1 */
    is_int(decode(&hp, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d"
                       "6865 6164 6572", &g), ND_HPACK_OK, "C.2.1 decodes");
    is_str(g.text, "custom-key: custom-header\n", "C.2.1 field");
    is_int(hp.size, 55, "C.2.1 table size 55");

    nd_hpack_free(&hp);
    nd_hpack_init(&hp, 4096);

    /* C.2.2 */
    is_int(decode(&hp, "040c 2f73 616d 706c 652f 7061 7468", &g),
           ND_HPACK_OK, "C.2.2 decodes");
    is_str(g.text, ":path: /sample/path\n", "C.2.2 field");
    is_int(hp.count, 0, "C.2.2 without indexing: table empty");

    /* C.2.3 */
    is_int(decode(&hp, "1008 7061 7373 776f 7264 0673 6563 7265 74", &g),
           ND_HPACK_OK, "C.2.3 decodes");
    is_str(g.text, "password: secret\n", "C.2.3 field");
    is_int(hp.count, 0, "C.2.3 never indexed: table empty");

    /* C.2.4 */
    is_int(decode(&hp, "82", &g), ND_HPACK_OK, "C.2.4 decodes");
    is_str(g.text, ":method: GET\n", "C.2.4 field");

    table(&hp, t, sizeof(t));
    is_str(t, "", "no dynamic entries");
    nd_hpack_free(&hp);
}


static const char  *req1 = ":method: GET\n:scheme: http\n:path: /\n"
                           ":authority: www.example.com\n";
static const char  *req2 = ":method: GET\n:scheme: http\n:path: /\n"
                           ":authority: www.example.com\n"
                           "cache-control: no-cache\n";
static const char  *req3 = ":method: GET\n:scheme: https\n"
                           ":path: /index.html\n"
                           ":authority: www.example.com\n"
                           "custom-key: custom-value\n";


static void
requests(const char *what, const char *h1, const char *h2, const char *h3)
{
    got_t       g;
    nd_hpack_t  hp;
    char        t[1024];

    nd_hpack_init(&hp, 4096);

    is_int(decode(&hp, h1, &g), ND_HPACK_OK, "%s first request", what);
    is_str(g.text, req1, "%s first request fields", what);
    is_int(hp.size, 57, "%s table size 57", what);

    is_int(decode(&hp, h2, &g), ND_HPACK_OK, "%s second request", what);
    is_str(g.text, req2, "%s second request fields", what);
    is_int(hp.size, 110, "%s table size 110", what);

    is_int(decode(&hp, h3, &g), ND_HPACK_OK, "%s third request", what);
    is_str(g.text, req3, "%s third request fields", what);
    is_int(hp.size, 164, "%s table size 164", what);

    table(&hp, t, sizeof(t));
    is_str(t, "custom-key: custom-value\ncache-control: no-cache\n"
              ":authority: www.example.com\n", "%s table, newest first",
           what);

    nd_hpack_free(&hp);
}


static const char  *resp1 = ":status: 302\ncache-control: private\n"
                            "date: Mon, 21 Oct 2013 20:13:21 GMT\n"
                            "location: https://www.example.com\n";
static const char  *resp2 = ":status: 307\ncache-control: private\n"
                            "date: Mon, 21 Oct 2013 20:13:21 GMT\n"
                            "location: https://www.example.com\n";
static const char  *resp3 = ":status: 200\ncache-control: private\n"
                            "date: Mon, 21 Oct 2013 20:13:22 GMT\n"
                            "location: https://www.example.com\n"
                            "content-encoding: gzip\n"
                            "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; "
                            "max-age=3600; version=1\n";


static void
responses(const char *what, const char *h1, const char *h2, const char *h3)
{
    got_t       g;
    nd_hpack_t  hp;
    char        t[1024];

    /* C.5 and C.6 use a 256-byte table: entries get evicted */
    nd_hpack_init(&hp, 256);

    is_int(decode(&hp, h1, &g), ND_HPACK_OK, "%s first response", what);
    is_str(g.text, resp1, "%s first response fields", what);
    is_int(hp.size, 222, "%s table size 222", what);
    is_int(hp.count, 4, "%s four entries", what);

    is_int(decode(&hp, h2, &g), ND_HPACK_OK, "%s second response", what);
    is_str(g.text, resp2, "%s second response fields", what);
    is_int(hp.size, 222, "%s table size 222 after evicting :status 302",
           what);
    table(&hp, t, sizeof(t));
    is_str(t, ":status: 307\nlocation: https://www.example.com\n"
              "date: Mon, 21 Oct 2013 20:13:21 GMT\n"
              "cache-control: private\n", "%s table after eviction", what);

    is_int(decode(&hp, h3, &g), ND_HPACK_OK, "%s third response", what);
    is_str(g.text, resp3, "%s third response fields", what);
    is_int(hp.size, 215, "%s table size 215", what);
    table(&hp, t, sizeof(t));
    is_str(t, "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; "
              "version=1\ncontent-encoding: gzip\n"
              "date: Mon, 21 Oct 2013 20:13:22 GMT\n",
           "%s table after the third response", what);
    ok(hp.cap <= 256, "%s storage within the table's limit (%u)", what,
       (unsigned) hp.cap);

    nd_hpack_free(&hp);
}


static void
test_huffman(void)
{
    u_char   out[64];
    u_char   in[64];
    size_t   len;
    ssize_t  n;

    len = unhex("f1e3 c2e5 f23a 6ba0 ab90 f4ff", in);
    n = nd_hpack_huff_decode(in, len, out, sizeof(out));
    ok(n == 15 && memcmp(out, "www.example.com", 15) == 0,
       "huffman www.example.com");

    len = unhex("a8eb 1064 9cbf", in);
    n = nd_hpack_huff_decode(in, len, out, sizeof(out));
    ok(n == 8 && memcmp(out, "no-cache", 8) == 0, "huffman no-cache");

    n = nd_hpack_huff_decode(in, len, out, 4);
    is_int(n, ND_HPACK_TOO_LARGE, "huffman output over the buffer");

    /* '0' is 00000: "0" then 3 bits of 1s is a valid padding */
    n = nd_hpack_huff_decode((u_char *) "\x07", 1, out, sizeof(out));
    ok(n == 1 && out[0] == '0', "huffman '0' with 3 padding bits");

    /* padding with a zero bit */
    is_int(nd_hpack_huff_decode((u_char *) "\x06", 1, out, sizeof(out)),
           ND_HPACK_ERROR, "huffman padding that is not EOS's prefix");

    /* 8 bits of padding: a full byte of 1s after a complete symbol */
    is_int(nd_hpack_huff_decode((u_char *) "\x07\xff", 2, out, sizeof(out)),
           ND_HPACK_ERROR, "huffman padding longer than 7 bits");

    /* EOS itself (30 ones), then 2 bits of padding */
    is_int(nd_hpack_huff_decode((u_char *) "\xff\xff\xff\xff", 4, out,
                                sizeof(out)), ND_HPACK_ERROR,
           "huffman EOS in a string");

    is_int(nd_hpack_huff_decode((u_char *) "", 0, out, sizeof(out)), 0,
           "huffman empty string");

    /* 0x3ffffffc is byte 10 (30 bits) then 2 padding bits of 1s */
    n = nd_hpack_huff_decode((u_char *) "\xff\xff\xff\xf3", 4, out,
                             sizeof(out));
    ok(n == 1 && out[0] == 10, "huffman 30-bit code (byte 10)");

    /* 0x1ff8 (13 bits) is byte 0, then 3 padding bits */
    n = nd_hpack_huff_decode((u_char *) "\xff\xc7", 2, out, sizeof(out));
    ok(n == 1 && out[0] == 0, "huffman 13-bit code (byte 0)");
}


static void
test_size_updates(void)
{
    got_t       g;
    nd_hpack_t  hp;

    nd_hpack_init(&hp, 4096);

    is_int(decode(&hp, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                  &g), ND_HPACK_OK, "one entry");
    is_int(hp.count, 1, "table holds :authority");

    /* size update to 0 then back to 4096 at the start of a block */
    is_int(decode(&hp, "20 3fe1 1f 82", &g), ND_HPACK_OK,
           "two size updates then a field");
    is_int(hp.count, 0, "size 0 evicted everything");
    ok(hp.data == NULL, "an emptied table gives its memory back");
    is_int(hp.max, 4096, "max back to 4096");
    is_str(g.text, ":method: GET\n", "field after the updates");

    is_int(decode(&hp, "3fe2 1f", &g), ND_HPACK_ERROR,
           "size update over the SETTINGS limit");

    nd_hpack_free(&hp);
    nd_hpack_init(&hp, 4096);
    is_int(decode(&hp, "82 20", &g), ND_HPACK_ERROR,
           "size update after a field");

    /* update to 60: a 57-byte entry fits, a second one evicts it */
    nd_hpack_free(&hp);
    nd_hpack_init(&hp, 4096);
    is_int(decode(&hp, "3f1d 4103 6162 63", &g), ND_HPACK_OK,
           "max 60, :authority abc");
    is_int(hp.count, 1, "one entry (size 45)");
    is_int(decode(&hp, "4103 7879 7a", &g), ND_HPACK_OK, ":authority xyz");
    is_int(hp.count, 1, "the older entry was evicted");
    is_int(decode(&hp, "be", &g), ND_HPACK_OK, "index 62");
    is_str(g.text, ":authority: xyz\n", "index 62 is the newest");
    is_int(decode(&hp, "bf", &g), ND_HPACK_ERROR, "index 63 is gone");

    /* an entry larger than the table empties it */
    is_int(decode(&hp, "4140 " "6161616161616161 6161616161616161"
                       "6161616161616161 6161616161616161"
                       "6161616161616161 6161616161616161"
                       "6161616161616161 6161616161616161", &g),
           ND_HPACK_OK, "entry over the max is not added");
    is_int(hp.count, 0, "and the table is empty");
    is_int(hp.size, 0, "size 0");

    nd_hpack_free(&hp);
}


static void
test_bad(void)
{
    got_t       g;
    nd_hpack_t  hp;
    u_char      block[64], tmp[8];
    size_t      len;

    nd_hpack_init(&hp, 4096);

    is_int(decode(&hp, "80", &g), ND_HPACK_ERROR, "index 0");
    is_int(decode(&hp, "be", &g), ND_HPACK_ERROR,
           "index 62 with an empty dynamic table");
    is_int(decode(&hp, "ff 80 80 80 80 10", &g), ND_HPACK_ERROR,
           "index overflowing 32 bits");
    is_int(decode(&hp, "ff", &g), ND_HPACK_ERROR, "truncated index");
    is_int(decode(&hp, "40", &g), ND_HPACK_ERROR,
           "literal with no name string");
    is_int(decode(&hp, "400a 6375 7374", &g), ND_HPACK_ERROR,
           "name string shorter than its length");
    is_int(decode(&hp, "4003 6162 63", &g), ND_HPACK_ERROR,
           "literal with no value string");
    is_int(decode(&hp, "0f2f 00", &g), ND_HPACK_ERROR,
           "literal with a name index out of range (62 + 15 + ...)");
    is_int(decode(&hp, "4081 06 0161", &g), ND_HPACK_ERROR,
           "huffman name with bad padding");
    is_int(decode(&hp, "0001 6184 ffff ffff", &g), ND_HPACK_ERROR,
           "huffman value holding EOS");
    is_int(decode(&hp, "007f ffff ffff 0f", &g), ND_HPACK_ERROR,
           "string length over 2^32 - 1");
    is_int(decode(&hp, "007f 8101", &g), ND_HPACK_ERROR,
           "string length past the block");
    is_int(hp.count, 0, "nothing was inserted by bad blocks");

    /* oversized strings against a small field buffer */
    len = unhex("0009 6162 6364 6566 6768 6901 78", block);
    is_int(nd_hpack_decode(&hp, block, len, tmp, sizeof(tmp), emit, &g),
           ND_HPACK_TOO_LARGE, "name over the field buffer");
    len = unhex("0003 6162 6306 7879 7a78 797a", block);
    is_int(nd_hpack_decode(&hp, block, len, tmp, sizeof(tmp), emit, &g),
           ND_HPACK_TOO_LARGE, "name + value over the field buffer");
    len = unhex("0001 618c f1e3 c2e5 f23a 6ba0 ab90 f4ff", block);
    is_int(nd_hpack_decode(&hp, block, len, tmp, sizeof(tmp), emit, &g),
           ND_HPACK_TOO_LARGE, "huffman value growing over the buffer");
    len = unhex("0001 6183 f1e3 c7", block);
    memset(&g, 0, sizeof(g));
    is_int(nd_hpack_decode(&hp, block, len, tmp, sizeof(tmp), emit, &g),
           ND_HPACK_OK, "a field that just fits");
    is_str(g.text, "a: www\n", "huffman value decoded");

    nd_hpack_free(&hp);
}


static void
test_encode(void)
{
    got_t       g;
    nd_hpack_t  hp;
    u_char      block[256], tmp[256], *p;

    p = block;
    *p++ = 0x88;                            /* :status 200 */
    p = nd_hpack_encode_indexed_name(p, 31, (u_char *) "application/grpc",
                                     16);
    p = nd_hpack_encode_literal(p, (u_char *) "grpc-status", 11,
                                (u_char *) "0", 1);
    p = nd_hpack_encode_literal(p, (u_char *) "grpc-message", 12,
                                (u_char *) "", 0);

    nd_hpack_init(&hp, 4096);
    memset(&g, 0, sizeof(g));
    is_int(nd_hpack_decode(&hp, block, (size_t) (p - block), tmp,
                           sizeof(tmp), emit, &g), ND_HPACK_OK,
           "our response block decodes");
    is_str(g.text, ":status: 200\ncontent-type: application/grpc\n"
                   "grpc-status: 0\ngrpc-message: \n", "its fields");
    is_int(hp.count, 0, "and adds nothing to the table");

    /* indexing: two entries, then both by index (62 is the newest) */
    p = nd_hpack_encode_indexing(block, 31, NULL, 0,
                                 (u_char *) "application/grpc", 16);
    p = nd_hpack_encode_indexing(p, 0, (u_char *) "grpc-status", 11,
                                 (u_char *) "0", 1);
    p = nd_hpack_encode_int(p, 63, 7, 0x80);
    p = nd_hpack_encode_int(p, 62, 7, 0x80);
    memset(&g, 0, sizeof(g));
    is_int(nd_hpack_decode(&hp, block, (size_t) (p - block), tmp,
                           sizeof(tmp), emit, &g), ND_HPACK_OK,
           "indexing literals then indexed fields decode");
    is_str(g.text, "content-type: application/grpc\ngrpc-status: 0\n"
                   "content-type: application/grpc\ngrpc-status: 0\n",
           "the indexed fields are the inserted ones");
    is_int(hp.size, 60 + 44, "table size 104");
    nd_hpack_free(&hp);
}


int
main(void)
{
    test_integers();
    test_literals();

    requests("C.3", "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
             "8286 84be 5808 6e6f 2d63 6163 6865",
             "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f"
             "6d2d 7661 6c75 65");
    requests("C.4", "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
             "8286 84be 5886 a8eb 1064 9cbf",
             "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf");

    responses("C.5",
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63"
        "7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073"
        "3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "4803 3330 37c1 c0bf",
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133"
        "3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48"
        "514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178"
        "2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31");
    responses("C.6",
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504"
        "0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae"
        "43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff"
        "c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af"
        "2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50"
        "07");

    test_huffman();
    test_size_updates();
    test_bad();
    test_encode();

    return done_testing();
}

#else

int
main(void)
{
    printf("1..0 # SKIP built without the grpc module\n");
    return 0;
}

#endif
