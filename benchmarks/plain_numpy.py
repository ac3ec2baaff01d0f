"""The "plain NumPy" column: the lecture MLP and the Keras mnist_convnet CNN written straight.

What a careful person writes by hand in an afternoon: float32 throughout, whole-batch
matrix products, im2col through ``sliding_window_view`` for the convolutions, pooling by
reshapes, Adam per array. No buffer reuse, no fusing, no tricks: the baseline that
netfit's layering and API must not cost more than.

Weights come in Keras layout (kernel before bias, conv kernels (kh, kw, c_in, f)), so
every side can start from the same numbers.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class Adam:
    """Keras's Adam: lr 1e-3, β₁ 0.9, β₂ 0.999, ε 1e-7, bias-corrected step size."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        alpha = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= alpha * m / (np.sqrt(v) + self.eps)


def _softmax_xent(logits, y):
    """Return (mean loss, correct count, δ = (p − Y)/n) of softmax cross-entropy."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = len(y)
    rows = np.arange(n)
    loss = -np.log(p[rows, y] + 1e-7).mean()
    correct = int((p.argmax(axis=1) == y).sum())
    d = p
    d[rows, y] -= 1
    d /= n
    return float(loss), correct, d


class MLP:
    """784-128-10, relu then softmax."""

    def __init__(self, weights):
        self.W1, self.b1, self.W2, self.b2 = (np.array(w, np.float32) for w in weights)
        self.opt = Adam([self.W1, self.b1, self.W2, self.b2])

    def forward(self, x):
        h = np.maximum(x.reshape(len(x), -1) @ self.W1 + self.b1, 0)
        return h, h @ self.W2 + self.b2

    def train(self, x, y, order, batch_size):
        """One pass over x[order] in batches; return (mean loss, accuracy)."""
        x2 = x.reshape(len(x), -1)
        total, correct = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x2[idx], y[idx]
            h = np.maximum(xb @ self.W1 + self.b1, 0)
            loss, c, d = _softmax_xent(h @ self.W2 + self.b2, yb)
            gW2, gb2 = h.T @ d, d.sum(axis=0)
            dh = (d @ self.W2.T) * (h > 0)
            gW1, gb1 = xb.T @ dh, dh.sum(axis=0)
            self.opt.step([gW1, gb1, gW2, gb2])
            total += loss * len(idx)
            correct += c
        return total / len(order), correct / len(order)

    def predict(self, x, batch_size=1000):
        out = np.empty((len(x), 10), np.float32)
        for start in range(0, len(x), batch_size):
            _, logits = self.forward(x[start:start + batch_size])
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            out[start:start + batch_size] = e / e.sum(axis=1, keepdims=True)
        return out


class CNN:
    """conv32(3x3, relu) - maxpool2 - conv64(3x3, relu) - maxpool2 - flatten - dropout 0.5 - dense10."""

    def __init__(self, weights, seed=0):
        k1, self.c1b, k2, self.c2b, self.Wd, self.bd = (np.array(w, np.float32) for w in weights)
        # im2col gives windows in (c, u, v) order: keep kernels as (c·kh·kw, f) matrices.
        self.K1 = np.ascontiguousarray(k1.transpose(2, 0, 1, 3).reshape(-1, 32))
        self.K2 = np.ascontiguousarray(k2.transpose(2, 0, 1, 3).reshape(-1, 64))
        self.opt = Adam([self.K1, self.c1b, self.K2, self.c2b, self.Wd, self.bd])
        self.rng = np.random.default_rng(seed)

    @staticmethod
    def _im2col(x):
        """(n, H, W, c) -> (n·oh·ow, c·3·3), and oh, ow."""
        w = sliding_window_view(x, (3, 3), axis=(1, 2))            # (n, oh, ow, c, 3, 3)
        n, oh, ow = w.shape[:3]
        return w.reshape(n * oh * ow, -1), oh, ow                   # copies

    @staticmethod
    def _pool(a):
        """2x2 max pooling, odd edge dropped; return pooled and the view it came from."""
        n, h, w, c = a.shape
        r = a[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c)
        return r.max(axis=(2, 4)), r

    @staticmethod
    def _unpool(dout, r, pooled, shape):
        """Send each pooled δ back to the window's maximum (ties all get it; relu' zeroes most)."""
        mask = r == pooled[:, :, None, :, None, :]
        dx = np.zeros(shape, np.float32)
        n, h2, _, w2, _, c = r.shape
        dx[:, :h2 * 2, :w2 * 2] = (mask * dout[:, :, None, :, None, :]).reshape(n, h2 * 2, w2 * 2, c)
        return dx

    def forward(self, x, training):
        n = len(x)
        x = x.reshape(n, 28, 28, 1)
        cols1, oh1, ow1 = self._im2col(x)
        a1 = np.maximum(cols1 @ self.K1 + self.c1b, 0).reshape(n, oh1, ow1, 32)
        p1, r1 = self._pool(a1)
        cols2, oh2, ow2 = self._im2col(p1)
        a2 = np.maximum(cols2 @ self.K2 + self.c2b, 0).reshape(n, oh2, ow2, 64)
        p2, r2 = self._pool(a2)
        f = p2.reshape(n, -1)
        mask = None
        if training:
            mask = (self.rng.random(f.shape, dtype=np.float32) >= 0.5) * np.float32(2.0)
            f = f * mask
        logits = f @ self.Wd + self.bd
        return logits, (cols1, a1, r1, p1, cols2, a2, r2, p2, f, mask)

    def train(self, x, y, order, batch_size):
        total, correct = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            n = len(idx)
            logits, (cols1, a1, r1, p1, cols2, a2, r2, p2, f, mask) = self.forward(xb, True)
            loss, c, d = _softmax_xent(logits, yb)
            gWd, gbd = f.T @ d, d.sum(axis=0)
            df = (d @ self.Wd.T) * mask
            dp2 = df.reshape(n, 5, 5, 64)
            da2 = self._unpool(dp2, r2, p2, a2.shape) * (a2 > 0)
            dz2 = da2.reshape(-1, 64)
            gK2, gc2 = cols2.T @ dz2, dz2.sum(axis=0)
            dcols = (dz2 @ self.K2.T).reshape(n, 11, 11, 32, 3, 3)
            dp1 = np.zeros((n, 13, 13, 32), np.float32)             # col2im
            for u in range(3):
                for v in range(3):
                    dp1[:, u:u + 11, v:v + 11, :] += dcols[..., u, v]
            da1 = self._unpool(dp1, r1, p1, a1.shape) * (a1 > 0)
            dz1 = da1.reshape(-1, 32)
            gK1, gc1 = cols1.T @ dz1, dz1.sum(axis=0)
            self.opt.step([gK1, gc1, gK2, gc2, gWd, gbd])
            total += loss * n
            correct += c
        return total / len(order), correct / len(order)

    def predict(self, x, batch_size=1000):
        out = np.empty((len(x), 10), np.float32)
        for start in range(0, len(x), batch_size):
            logits, _ = self.forward(x[start:start + batch_size], False)
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            out[start:start + batch_size] = e / e.sum(axis=1, keepdims=True)
        return out
