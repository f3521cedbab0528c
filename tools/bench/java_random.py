"""java.util.SplittableRandom, enough of it to reproduce `new SplittableRandom(seed).ints(n, 0, bound)`: the token ids
`moescope bench` draws, so that HF runs on exactly the same tokens (checked in hf_bench.py against a list from Java
when one is given)."""

GOLDEN_GAMMA = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


def _mix32(z):
    z = ((z ^ (z >> 33)) * 0x62A9D9ED799705F5) & MASK64
    return (((z ^ (z >> 28)) * 0xCB24D0A5C88C35B3) & MASK64) >> 32


def _signed32(v):
    return v - (1 << 32) if v >= 1 << 31 else v


class SplittableRandom:
    def __init__(self, seed):
        self.seed = seed & MASK64
        self.gamma = GOLDEN_GAMMA

    def _next_seed(self):
        self.seed = (self.seed + self.gamma) & MASK64
        return self.seed

    def next_int(self):
        return _signed32(_mix32(self._next_seed()))

    def bounded_next_int(self, origin, bound):
        # java.util.random.RandomSupport.boundedNextInt
        r = self.next_int()
        n = bound - origin
        m = n - 1
        if n & m == 0:
            return (r & m) + origin
        u = (r & 0xFFFFFFFF) >> 1
        while True:
            r = u % n
            if _signed32((u + m - r) & 0xFFFFFFFF) >= 0:
                return r + origin
            u = (self.next_int() & 0xFFFFFFFF) >> 1

    def ints(self, count, origin, bound):
        return [self.bounded_next_int(origin, bound) for _ in range(count)]
