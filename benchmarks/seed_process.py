"""The seed's method as a process: the post's optimisation loop, nothing else.

What a user of the post runs: import JAX, make the 50x50 binary disk, start from
the SVD rank-4 approximation, 5000 jitted gradient-descent steps called from a
Python loop (lr 0.1, weights l2 = nonneg = zeros = 1), write the result as JSON.
It imports nothing from sepgen, so it costs what the post's script costs.
`benchmarks/bench_process.py` times it against `sepgen optimize` as a process.

Run: python benchmarks/seed_process.py OUT.json [SIZE RANK]
"""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np

OUT = sys.argv[1]
FILTER_SIZE = int(sys.argv[2]) if len(sys.argv) > 2 else 50
RANK = int(sys.argv[3]) if len(sys.argv) > 3 else 4
yy, xx = np.mgrid[:FILTER_SIZE, :FILTER_SIZE] + 0.5 - FILTER_SIZE / 2.0
REF_SHAPE = (yy * yy + xx * xx <= (FILTER_SIZE / 2.0) ** 2).astype(np.float32)  # = sepgen.kernels.disk(50)


# ---- the post's code ----
def model(vs):
    dst = jnp.zeros((FILTER_SIZE, FILTER_SIZE))
    for separable_pass in vs:
        dst += jnp.outer(separable_pass[0], separable_pass[1])
    return dst


def loss(vs, l2_weight, non_negativity_weight, keep_zeros_weight):
    target = model(vs)
    l2_term = l2_weight * jnp.mean(jnp.square(target - REF_SHAPE))
    non_negative_term = non_negativity_weight * jnp.mean(-jnp.minimum(target, 0.0))
    keep_zeros_term = keep_zeros_weight * jnp.mean((REF_SHAPE == 0.0) * jnp.abs(target))
    return l2_term + non_negative_term + keep_zeros_term


@jax.jit
def update_parameters_step(vs, learning_rate, l2_weight, non_negativity_weight, keep_zeros_weight):
    grad_loss = jax.grad(loss)
    grads = grad_loss(vs, l2_weight, non_negativity_weight, keep_zeros_weight)
    return [(param[0] - learning_rate * grad[0], param[1] - learning_rate * grad[1]) for param, grad in zip(vs, grads)]


def optimize_loop(vs, l2_weight, non_negativity_weight, keep_zeros_weight):
    NUM_STEPS = 5000
    for n in range(NUM_STEPS):  # noqa: B007 -- the post's code, kept verbatim
        vs = update_parameters_step(vs, learning_rate=0.1, l2_weight=l2_weight,
                                    non_negativity_weight=non_negativity_weight, keep_zeros_weight=keep_zeros_weight)
    return vs
# ---- end of the post's code ----


u, s, vt = np.linalg.svd(REF_SHAPE.astype(np.float64))
vs = [(jnp.asarray(u[:, i] * np.sqrt(s[i]), jnp.float32), jnp.asarray(vt[i] * np.sqrt(s[i]), jnp.float32))
      for i in range(RANK)]
vs = optimize_loop(vs, 1.0, 1.0, 1.0)
with open(OUT, "w") as f:
    json.dump({"vertical": [np.asarray(v).tolist() for v, _ in vs],
               "horizontal": [np.asarray(h).tolist() for _, h in vs]}, f)
print(f"wrote {OUT}")
