"""A structured view of the fuzzer's bytes (choices, numbers, strings), in plain Python so that a crash file
replays the same way without atheris (tests/test_fuzz_regressions.py). Running out of bytes gives zeros."""

from __future__ import annotations


class Provider:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0
        self.seed = sum(data[:8])

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def int(self, lo: int, hi: int) -> int:
        span = hi - lo + 1
        value = self.byte() | self.byte() << 8
        return lo + value % span

    def flag(self) -> bool:
        return bool(self.byte() & 1)

    def pick(self, options):
        options = list(options)
        return options[self.int(0, len(options) - 1)]

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def text(self, max_len: int) -> str:
        """A string of any code points (controls, lone surrogates, astral planes included)."""
        n = self.int(0, max_len)
        chars = []
        for _ in range(n):
            kind = self.byte() % 8
            if kind < 4:
                chars.append(chr(32 + self.byte() % 95))
            elif kind == 4:
                chars.append(chr(self.byte() % 32))
            elif kind == 5:
                chars.append(chr(0xD800 + self.int(0, 0x7FF)))  # a surrogate, alone
            else:
                chars.append(chr(self.int(0x80, 0x2FFFF)))
        return "".join(chars)

    def value(self, kind: str):
        """One value for a Parquet column of `kind` (None now and then)."""
        if self.byte() % 6 == 0:
            return None
        if kind in ("string", "large_string", "dictionary"):
            return self.text(80).encode("utf-8", "replace").decode("utf-8")
        if kind in ("binary", "large_binary"):
            return self.raw(self.int(0, 80)) if self.flag() else self.text(60).encode("utf-8", "replace")
        if kind == "struct":
            return {"a": self.text(10).encode("utf-8", "replace").decode("utf-8"), "b": self.int(-5, 5)}
        if kind == "list":
            return [self.text(8).encode("utf-8", "replace").decode("utf-8") for _ in range(self.int(0, 3))]
        if kind == "int64":
            return self.int(-(2**15), 2**15) * (2**48 if self.flag() else 1)
        if kind == "float64":
            return self.pick([0.0, -1.5, 1e308, float("nan"), float("inf"), self.int(0, 1000) / 7])
        if kind == "bool":
            return self.flag()
        if kind == "timestamp":
            return self.int(0, 2**16) * 10**9
        return None

    def rest(self) -> bytes:
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out


def provider(data: bytes) -> Provider:
    return Provider(data)
