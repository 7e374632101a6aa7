#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target under fuzz/corpus/<target>/.

Run from anywhere: python3 fuzz/gen_corpus.py. Seeds are small, named for
what they hold ("ok-..." decodes, "bad-..." must be refused), and include
the hostile shapes a peer could send: counts and lengths far beyond the
buffer, truncated bodies, deep nesting, trailing bytes. Files that
libFuzzer adds to these directories are kept; this script only
(re)writes its own seeds.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- A minimal msgpack encoder (what msgpack-c writes) -------------------


def nil():
    return b"\xc0"


def boolean(v):
    return b"\xc3" if v else b"\xc2"


def uint(v):
    if v < 0x80:
        return bytes([v])
    if v < 0x100:
        return b"\xcc" + struct.pack(">B", v)
    if v < 0x10000:
        return b"\xcd" + struct.pack(">H", v)
    if v < 0x100000000:
        return b"\xce" + struct.pack(">I", v)
    return b"\xcf" + struct.pack(">Q", v)


def sint(v):
    if v >= 0:
        return uint(v)
    if v >= -32:
        return struct.pack(">b", v)
    if v >= -128:
        return b"\xd0" + struct.pack(">b", v)
    if v >= -32768:
        return b"\xd1" + struct.pack(">h", v)
    if v >= -(2 ** 31):
        return b"\xd2" + struct.pack(">i", v)
    return b"\xd3" + struct.pack(">q", v)


def f64(v):
    return b"\xcb" + struct.pack(">d", v)


def f32(v):
    return b"\xca" + struct.pack(">f", v)


def string(s):
    b = s.encode() if isinstance(s, str) else s
    n = len(b)
    if n < 32:
        return bytes([0xA0 | n]) + b
    if n < 0x100:
        return b"\xd9" + struct.pack(">B", n) + b
    if n < 0x10000:
        return b"\xda" + struct.pack(">H", n) + b
    return b"\xdb" + struct.pack(">I", n) + b


def binary(b):
    n = len(b)
    if n < 0x100:
        return b"\xc4" + struct.pack(">B", n) + b
    if n < 0x10000:
        return b"\xc5" + struct.pack(">H", n) + b
    return b"\xc6" + struct.pack(">I", n) + b


def array(items):
    n = len(items)
    if n < 16:
        head = bytes([0x90 | n])
    elif n < 0x10000:
        head = b"\xdc" + struct.pack(">H", n)
    else:
        head = b"\xdd" + struct.pack(">I", n)
    return head + b"".join(items)


def array32(items):
    return b"\xdd" + struct.pack(">I", len(items)) + b"".join(items)


def fmap(pairs):
    return bytes([0x80 | len(pairs)]) + b"".join(k + v for k, v in pairs)


def ext(t, payload):
    n = len(payload)
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
    if n in fixed:
        return bytes([fixed[n]]) + struct.pack(">b", t) + payload
    if n < 0x100:
        return b"\xc7" + struct.pack(">Bb", n, t) + payload
    if n < 0x10000:
        return b"\xc8" + struct.pack(">Hb", n, t) + payload
    return b"\xc9" + struct.pack(">Ib", n, t) + payload


def f64s(vals):
    return ext(1, b"".join(struct.pack("<d", v) for v in vals))


def i64s(vals):
    return ext(2, b"".join(struct.pack("<q", v) for v in vals))


def futref(slot, index=-1):
    return ext(10, struct.pack(">iI", index, slot))


def nested(depth, inner=nil()):
    return b"\x91" * depth + inner


# ---- Seeds ----------------------------------------------------------------

HOSTILE_COMMON = {
    "bad-array32-count-2^32-1": b"\xdd\xff\xff\xff\xff\x01\x02\x03\x04\x05",
    "bad-array16-count-65535": b"\xdc\xff\xff\xc0\xc0",
    "bad-map32-count-2^31": b"\xdf\x80\x00\x00\x00\x01\x02",
    "bad-str32-4GiB": b"\xdb\xff\xff\xff\xff" + b"abc",
    "bad-str8-truncated": b"\xd9\x20" + b"short",
    "bad-bin16-truncated": b"\xc5\x01\x00" + b"\x00" * 10,
    "bad-ext32-4GiB": b"\xc9\xff\xff\xff\xff\x01" + b"\x00" * 8,
    "bad-fixext8-truncated": b"\xd7\x01\x00\x00",
    "bad-depth-100": nested(100),
    "bad-depth-33": nested(33),
    "bad-trailing-bytes": nil() + nil(),
    "bad-0xc1": b"\xc1",
    "bad-empty": b"",
    "bad-uint64-truncated": b"\xcf\x00\x00",
}

VALUE = {
    "ok-nil": nil(),
    "ok-true": boolean(True),
    "ok-int-small": sint(7),
    "ok-int-negative": sint(-100000),
    "ok-int64-max": sint(2 ** 63 - 1),
    "ok-int64-min": sint(-(2 ** 63)),
    "ok-f64": f64(3.25),
    "ok-f32": f32(1.5),
    "ok-str": string("hello"),
    "ok-str16": string("x" * 300),
    "ok-str-empty": string(""),
    "ok-bin-empty": binary(b""),
    "ok-list-of-empties": array([string(""), binary(b""), array([])]),
    "ok-bin": binary(bytes(range(256))),
    "ok-f64s": f64s([1.0, -2.5, 1e300]),
    "ok-f64s-empty": f64s([]),
    "ok-i64s": i64s([1, -1, 2 ** 62]),
    "ok-list-empty": array([]),
    "ok-list-nested": array([sint(1), string("a"),
                             array([f64(2.5), array([nil(), i64s([3])])]),
                             f64s([1, 2, 3]), boolean(False)]),
    "ok-list-odd-offset-f64s": array([string("abc"), f64s([1, 2])]),
    "ok-futref-whole": array([futref(0, -1)]),
    "ok-futref-element": array([sint(1), futref(1, 3)]),
    "ok-depth-32": nested(32, sint(5)),
    "bad-futref-unresolved": array([sint(1), futref(1, 0)]),
    "bad-futref-short": ext(10, b"\x00\x00\x00"),
    "bad-ext-unknown-type": ext(5, b"\x00" * 8),
    "bad-f64s-7-bytes": ext(1, b"\x00" * 7),
    "bad-i64s-12-bytes": ext(2, b"\x00" * 12),
    "bad-uint64-above-int64": uint(2 ** 63),
    "bad-map": fmap([(string("k"), sint(1))]),
    "bad-map-in-list": array([sint(1), fmap([])]),
}
VALUE.update(HOSTILE_COMMON)


def msg(t, *fields):
    return array([uint(t)] + list(fields))


KEY = string("inc-0123456789abcdef0123456789abcdef")
MSG = {
    "ok-hello": array32([msg(1, uint(2), uint(1), string("client-1"),
                             uint(0), nil())]),
    "ok-submit": array32([msg(3, KEY, string("inc"),
                              binary(array([sint(1)])), uint(0), sint(0),
                              uint(3), nil(), array([string("dep-1")]))]),
    "ok-compute": array32([msg(9, KEY, string("inc"),
                               binary(array([futref(0, -1)])), uint(4),
                               sint(5),
                               array([array([string("dep-1"),
                                             string("tcp://127.0.0.1:1"),
                                             uint(8)])]))]),
    "ok-done": array32([msg(10, KEY, uint(1), binary(nil()), sint(3))]),
    "ok-uploaded": array32([msg(17, string("Uabc"), sint(1), nil(),
                                array([string("rand")]))]),
    "ok-batch": array32([msg(4, KEY), msg(5, KEY), msg(12, KEY),
                         msg(13, KEY), msg(15, KEY),
                         msg(22, array([string("w0"), string("w1")])),
                         msg(23, KEY, uint(8)),
                         msg(7, KEY, uint(9), nil(), string("tcp://h:1"))]),
    "ok-data": array32([msg(14, KEY, binary(f64s([1, 2, 3])))]),
    "ok-bye-stops": array32([msg(24, string("bye")), msg(4, KEY)]),
    "ok-empty-batch": array32([]),
    "ok-extra-fields": array32([msg(4, KEY, nil(), nil(), sint(-1))]),
    "bad-not-a-batch": uint(4),
    "bad-batch-is-map": fmap([]),
    "bad-message-not-array": array32([uint(4)]),
    "bad-message-empty": array32([array([])]),
    "bad-unknown-type": array32([msg(99, KEY)]),
    "bad-type-zero": array32([msg(0, KEY)]),
    "bad-type-string": array32([array([string("RELEASE"), KEY])]),
    "bad-type-negative": array32([array([sint(-1), KEY])]),
    "bad-submit-too-few-fields": array32([msg(3, KEY)]),
    "bad-second-message": array32([msg(4, KEY), msg(3)]),
    "bad-batch-count-huge": b"\xdd\xff\xff\xff\xf0" + msg(4, KEY),
    "bad-field-deep": array32([msg(4, nested(40))]),
    "bad-truncated": array32([msg(4, KEY)])[:-5],
}
MSG.update(HOSTILE_COMMON)

MPCHECK = {
    "ok-every-scalar": array([nil(), boolean(True), boolean(False),
                              uint(1), uint(200), uint(60000),
                              uint(2 ** 31), uint(2 ** 64 - 1), sint(-5),
                              sint(-100), sint(-30000), sint(-(2 ** 31)),
                              sint(-(2 ** 63)), f32(0.5), f64(-0.25)]),
    "ok-strings": array([string(""), string("a" * 31), string("b" * 32),
                         string("c" * 256), b"\xdb\x00\x00\x00\x01z"]),
    "ok-bins": array([binary(b""), binary(b"\x00" * 300),
                      b"\xc6\x00\x00\x00\x01\x00"]),
    "ok-exts": array([ext(1, b"\x00"), ext(2, b"\x00" * 2),
                      ext(3, b"\x00" * 4), ext(4, b"\x00" * 8),
                      ext(5, b"\x00" * 16), ext(6, b""), ext(-1, b"abc"),
                      ext(7, b"\x00" * 300),
                      b"\xc9\x00\x00\x00\x01\x01\x00"]),
    "ok-maps": array([fmap([]), fmap([(string("k"), array([]))]),
                      b"\xde\x00\x01\xc0\xc0",
                      b"\xdf\x00\x00\x00\x01\xc0\xc0"]),
    "ok-arrays": array([b"\xdc\x00\x01\xc0", b"\xdd\x00\x00\x00\x01\xc0",
                        array([nil()] * 20)]),
    "ok-depth-32": nested(32),
    "bad-map-missing-value": b"\x81\xa1k",
    "bad-nested-truncation": array([array([string("abc")])])[:-1],
    "bad-64KiB-of-array-headers": b"\x91" * (1 << 16),
}
MPCHECK.update(HOSTILE_COMMON)


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (d, len(seeds)))


if __name__ == "__main__":
    write("value", VALUE)
    write("msg", MSG)
    write("mpcheck", MPCHECK)
