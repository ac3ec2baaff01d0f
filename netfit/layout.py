"""θ laid out: every weight of a model in one flat vector, each layer's weights a view into it.

One vector θ (and one gradient vector of the same layout) per model makes an
optimizer's step a few vector operations whatever the net (docs/backprop.md,
"The update"). :func:`lay_out` places a model's layers in it, each once, in order
of first use:

- a layer never laid out before gets its part of θ and fresh weights, drawn from
  the model's seeded generator in layer order (the same seed gives the same
  weights);
- a layer that already has weights (trained in another model, ``setup()`` alone,
  or built by an earlier layout of this model) keeps them: Keras's rule that a
  layer used in two models is *one* layer, its weights shared;
- where such a layer lives in another model's θ, that whole model moves into this
  θ as one block, and its own θ becomes a view of that block ("re-homing"), so the
  other model goes on working, sees every step this one takes, and the two never
  hold two copies. A model used as a layer (nested) moves the same way.

Parts of a moved block that this model does not use (the other model's other
layers) are never trained by it: they count as frozen here
(``model._unused_slices``).
"""
import numpy as np

from . import backend

__all__ = ["lay_out", "root_of", "block_size"]


def root_of(layer):
    """The model whose own θ holds ``layer``'s weights now (following re-homes), or None (its own, or none)."""
    home = layer._home
    while home is not None and home._home is not None:
        home = home._home
    return home


def lay_out(model, layers, leaves, dtype, rng):
    """Lay out θ and its gradient for ``layers`` (each once, by first use) in ``model``.

    ``layers``: the model's own layers with weights, a nested model counting as one;
    ``leaves``: every layer the model runs, nested models' included (the rest of a
    moved block is unused here). Sets ``model._theta``, ``model._grad``,
    ``model._offset_of`` (layer -> where its weights start in θ), ``model._layer_parts``
    ([(leaf layer, its slice of θ)]) and ``model._unused_slices``.
    """
    blocks, seen = [], set()
    for layer in layers:
        root = root_of(layer)
        block = root if root is not None and root is not model else layer
        if id(block) not in seen:
            seen.add(id(block))
            blocks.append(block)
    sizes = [block_size(b) for b in blocks]
    theta = np.zeros(sum(sizes), dtype)
    grad = np.zeros_like(theta)
    offsets, parts, unused, start = {}, [], [], 0
    mine = {id(layer) for layer in layers}
    for block, size in zip(blocks, sizes):
        part = slice(start, start + size)
        if id(block) in mine:                     # one of this model's layers (a nested model counts as one)
            kept = _kept(block)
            block.attach(theta[part], grad[part])
            block.initialize(rng)                 # drawn in order for every layer, so that a fresh one's
            if kept is not None:                  # weights do not depend on which others were kept
                for w, value in zip(block.weights, kept):
                    w[...] = value
            offsets[block] = start
        else:                                     # another model holds layers of this one: it moves in whole
            theta[part] = backend.to_host(block._theta)
            block.attach(theta[part], grad[part])
            for inner, inner_start in block._offset_of.items():
                offsets[inner] = start + inner_start
        block._home = model
        inner_parts = block._layer_parts if hasattr(block, "_layer_parts") else [(block, slice(0, size))]
        for layer, p in inner_parts:
            absolute = slice(start + p.start, start + p.stop)
            parts.append((layer, absolute))
            if id(layer) not in leaves:
                unused.append(absolute)
        start += size
    model._theta, model._grad, model._offset_of = theta, grad, offsets
    model._layer_parts, model._unused_slices = [(l, p) for l, p in parts if p.stop > p.start], unused


def _kept(block):
    """The block's weights to keep: copies, when it has weights and they still fit its declared shapes."""
    if not block._attached:
        return None
    try:
        old = [backend.to_host(w).copy() for w in block.weights]
    except KeyError:                              # built again since, with other weights
        return None
    return old if [w.shape for w in old] == [tuple(spec.shape) for spec in block.specs] else None


def block_size(block):
    """A block's length in θ: a model's whole θ (unused parts too); a layer's weights."""
    return int(block._theta.size) if hasattr(block, "_theta") else block.count_params()
