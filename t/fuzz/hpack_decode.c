/*
 * Fuzz target: HPACK (src/modules/grpc/nd_hpack.c).  The input is a
 * table limit then header blocks, each "len(1 byte) block", decoded in
 * turn with one dynamic table as a connection would; a decode error
 * ends the connection (the table is then undefined).  The whole input
 * is also Huffman-decoded and read as prefixed integers.
 */
#include <nd_fuzz.h>

#ifdef ND_WITH_GRPC

#include <nd_hpack.h>


static void
emit(void *data, const u_char *name, size_t nlen, const u_char *value,
    size_t vlen)
{
    size_t  *total = data;

    /* touch every byte: ASan sees a field that points outside */
    while (nlen--) {
        *total += name[nlen];
    }
    while (vlen--) {
        *total += value[vlen];
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc, prefix;
    size_t       len, total;
    ssize_t      n;
    uint32_t     limit, value;
    nd_hpack_t   hp;
    u_char       tmp[512], huff[1024];

    if (size < 2) {
        return 0;
    }

    /* 0 .. 8191: around the 4096 everyone uses, both sides of it */
    limit = ((uint32_t) data[0] << 8 | data[1]) & 0x1fff;
    data += 2;
    size -= 2;

    n = nd_hpack_huff_decode(data, size, huff, sizeof(huff));
    if (n > (ssize_t) sizeof(huff)) {
        abort();
    }

    for (prefix = 4; prefix <= 8; prefix++) {
        rc = nd_hpack_decode_int(data, size, prefix, &value);
        if (rc != ND_HPACK_ERROR && (rc <= 0 || (size_t) rc > size)) {
            abort();
        }
    }

    nd_hpack_init(&hp, limit);
    total = 0;

    while (size) {
        len = data[0];
        data++;
        size--;
        if (len > size) {
            len = size;
        }

        rc = nd_hpack_decode(&hp, data, len, tmp, sizeof(tmp), emit,
                             &total);
        if (rc != ND_HPACK_OK) {
            break;
        }

        /* RFC 7541 4: the table never holds more than its maximum */
        if (hp.size > hp.max || hp.max > hp.limit) {
            abort();
        }

        data += len;
        size -= len;
    }

    nd_hpack_free(&hp);

    return 0;
}

#else

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return 0;
}

#endif
