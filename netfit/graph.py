"""Back-propagation on a graph of layers, written out: forward in topological order, backward in reverse.

The lecture's back-propagation runs down a chain: each layer turns the error δ at
its output into its gradients and the error s at its input, which is the δ of the
layer below. On a graph (docs/backprop.md, "Back-propagation on a graph") four
rules are added, each one line of :meth:`Graph.backward`:

1. **Fan-out sums.** A tensor that feeds several layers gets, from each, the error
   its own path sends back; its δ is their sum (the chain rule's sum over paths).
   The first contribution is kept as it is, the second allocates the sum, later
   ones add into it, in a fixed order (the nodes' reverse order), so the bits do
   not depend on anything but the graph.
2. **A merge hands each input its share.** ``Add`` passes δ to every input,
   ``Concatenate`` cuts δ into views, ``Multiply`` scales it: each merge layer's
   ``backward`` returns one s per input (:mod:`netfit.layers.merge`).
3. **A shared layer's gradient is the sum over its uses.** Called at two nodes, a
   layer has one set of weights and two records; the first node reached going
   backward writes the gradient, the others write into a private vector that is
   then added (``Graph.backward``'s ``call.shared``).
4. **Only what the loss reaches runs backward.** A node runs its backward when δ can
   reach it from an output with a loss; it computes s only when some layer below
   has weights (``need_input_grad``).

The graph itself is found once, when the model is made: walking back from the
outputs through each tensor's node (:mod:`netfit.layers.node`) gives every node,
in an order where each comes after the nodes making its inputs (an iterative
depth-first post-order, so no recursion limit); a tensor that no given input
makes is a "graph disconnected" error naming it. Everything per call (the
values of the tensors, their δ) lives in lists local to :meth:`Graph.forward`
and :meth:`Graph.backward`, and each node's records in the ``calls`` list
handed in, so one graph serves any number of threads.
"""
import numpy as np

from .layers import conv_pool
from .layers.input import InputLayer

__all__ = ["Graph"]


class Graph:
    """The nodes between ``inputs`` and ``outputs`` (lists of symbolic Tensors), ordered to run.

    Attributes
    ----------
    nodes : list of Node
        Every node that computes something (no InputLayer's), each after the nodes
        making its inputs.
    layers : list of Layer
        The InputLayers (in ``inputs`` order), then every other layer once, by first use.
    uses : dict of Layer -> list of int
        The indices in ``nodes`` of each layer's calls (two or more: a shared layer).

    Raises
    ------
    ValueError
        A tensor needed by an output that no input makes ("graph disconnected"); an
        input that is not an ``nf.Input`` tensor, or is given twice.
    """

    def __init__(self, inputs, outputs, where="Model"):
        self.inputs, self.outputs = list(inputs), list(outputs)
        for t in self.inputs:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(f"{where}: expected each input to be a tensor made by nf.Input(...), got {t!r}, "
                                 f"made by layer {t.node.layer.display_name!r}; a model's inputs start the graph.")
        if len({id(t) for t in self.inputs}) != len(self.inputs):
            raise ValueError(f"{where}: an input tensor is given twice in inputs={[t.name for t in self.inputs]}.")
        self.nodes = _topological(self.outputs)
        index = {id(t): i for i, t in enumerate(self.inputs)}        # tensors numbered: inputs first
        for k, node in enumerate(self.nodes):
            if isinstance(node.layer, InputLayer):
                continue
            for t in node.inputs:
                if id(t) not in index:
                    raise ValueError(_disconnected(t, node, self.inputs, where))
            for t in node.outputs:
                index[id(t)] = len(index)
        for t in self.outputs:
            if id(t) not in index:
                raise ValueError(_disconnected(t, None, self.inputs, where))
        self.nodes = [node for node in self.nodes if not isinstance(node.layer, InputLayer)]
        self.n_tensors = len(index)
        self.in_idx = [[index[id(t)] for t in node.inputs] for node in self.nodes]
        self.out_idx = [[index[id(t)] for t in node.outputs] for node in self.nodes]
        self.output_idx = [index[id(t)] for t in self.outputs]
        self.consumers = [0] * self.n_tensors
        for idx in self.in_idx:
            for i in idx:
                self.consumers[i] += 1
        self.layers = [t.node.layer for t in self.inputs]
        self.uses = {}
        for k, node in enumerate(self.nodes):
            if node.layer not in self.uses:
                self.layers.append(node.layer)
                self.uses[node.layer] = []
            self.uses[node.layer].append(k)
        producer = {}
        for k, idx in enumerate(self.out_idx):
            for i in idx:
                producer[i] = k
        self.producer = producer                      # tensor index -> node index (absent for the inputs)

    # -- what backward needs, decided once ------------------------------------------------------
    def plan(self, with_loss, inputs_want_delta=False):
        """Which nodes run backward, which compute s, and which node writes each layer's gradient.

        ``with_loss``: one flag per output, True where a loss sends δ back from it.
        ``inputs_want_delta``: the model is a layer inside another one that needs s at
        its inputs. Returns ``(runs, need_s, writer)``: per node, whether its backward
        runs and whether it computes s; per layer, the node that writes its gradient
        (the others add theirs).
        """
        n = len(self.nodes)
        # δ wanted at a tensor: it is made by a node with weights, or by one whose inputs want δ.
        wants = [inputs_want_delta] * len(self.inputs) + [False] * (self.n_tensors - len(self.inputs))
        for k, node in enumerate(self.nodes):
            want = node.layer.count_params() > 0 or any(wants[i] for i in self.in_idx[k])
            for i in self.out_idx[k]:
                wants[i] = want
        # δ reaches a node when one of its outputs is an output with a loss or feeds a node δ reaches.
        reached = [False] * self.n_tensors
        for i, flag in zip(self.output_idx, with_loss):
            reached[i] = reached[i] or flag
        runs = [False] * n
        for k in range(n - 1, -1, -1):
            runs[k] = any(reached[i] for i in self.out_idx[k]) and any(
                [self.nodes[k].layer.count_params() > 0] + [wants[i] for i in self.in_idx[k]])
            if runs[k]:
                for i in self.in_idx[k]:
                    reached[i] = True
        need_s = [runs[k] and any(wants[i] for i in self.in_idx[k]) for k in range(n)]
        writer = {}
        for k in range(n - 1, -1, -1):                # the first use reached going backward writes
            if runs[k]:
                writer.setdefault(self.nodes[k].layer, k)
        return runs, need_s, writer

    # -- the passes ------------------------------------------------------------------------------
    def forward(self, xs, training, calls):
        """The outputs for inputs ``xs`` (one array per input), each node keeping its record ``calls[k]``.

        In inference (records that no backward pass follows: ``calls.no_backward``) a Conv2D whose
        output only the MaxPooling2D after it reads runs with it as one pass
        (:mod:`netfit.layers.conv_pool`: the same numbers, fewer trips through memory).
        """
        fuse = not training and getattr(calls, "no_backward", False)
        values = [None] * self.n_tensors                       # this call's tensors, by index
        values[:len(xs)] = xs
        k = 0
        while k < len(self.nodes):
            node, call, ins, outs = self.nodes[k], calls[k], self.in_idx[k], self.out_idx[k]
            if fuse and self._pools_next(k):
                values[self.out_idx[k + 1][0]] = conv_pool.forward_pooled(
                    node.layer, self.nodes[k + 1].layer, values[ins[0]], call, calls[k + 1])
                k += 2
                continue
            args = [values[i] for i in ins]
            a = node.layer.forward(args if len(args) > 1 or node.layer.multiple_inputs else args[0], training, call)
            if len(outs) == 1:
                values[outs[0]] = a
            else:
                for i, value in zip(outs, a):
                    values[i] = value
            k += 1
        return [values[i] for i in self.output_idx]

    def _pools_next(self, k):
        """True when node k's one output is read by node k + 1 alone, and the two may run as one pass."""
        if k + 1 >= len(self.nodes) or len(self.in_idx[k]) != 1 or len(self.out_idx[k]) != 1:
            return False
        t = self.out_idx[k][0]
        return (self.consumers[t] == 1 and t not in self.output_idx and self.in_idx[k + 1] == [t]
                and len(self.out_idx[k + 1]) == 1
                and conv_pool.fusable(self.nodes[k].layer, self.nodes[k + 1].layer))

    def backward(self, deltas, calls, runs):
        """δ from the outputs (None where no loss) back through every node that ``runs``; return δ at each input.

        Each node's record says where its gradients go; a shared layer's later uses
        add theirs into the writer's (rule 3).
        """
        d = [None] * self.n_tensors                            # δ at each tensor, summed over its consumers
        owned = [False] * self.n_tensors                       # d[i] is a sum of our own (may be added into)

        def arrive(i, s):                                      # rule 1: fan-out sums
            if d[i] is None:
                d[i] = s                                       # the first contribution, as it is
            elif not owned[i]:
                d[i], owned[i] = d[i] + s, True                # the second: a new array, the sum
            else:
                d[i] += s                                      # later ones: added into it

        for i, delta in zip(self.output_idx, deltas):
            if delta is not None:
                arrive(i, delta)
        for k in range(len(self.nodes) - 1, -1, -1):
            if not runs[k]:
                continue
            node, call, outs = self.nodes[k], calls[k], self.out_idx[k]
            if len(outs) == 1:
                delta = d[outs[0]]
            else:                                              # a nested model: outputs without δ get zeros
                some = next(d[i] for i in outs if d[i] is not None)
                delta = [d[i] if d[i] is not None else np.zeros((len(some),) + t.example_shape, some.dtype)
                         for i, t in zip(outs, node.outputs)]
            s = node.layer.backward(delta, call)               # its gradients, and s at its inputs (rule 2)
            if call.shared is not None:                        # rule 3: a later use of a shared layer adds
                total, mine = call.shared
                total += mine
            if s is None:
                continue
            for i, si in zip(self.in_idx[k], s if isinstance(s, list) else [s]):
                if si is not None:
                    arrive(i, si)
        return [d[i] for i in range(len(self.inputs))]


def _topological(outputs):
    """Every node the outputs depend on, each after the nodes making its inputs (iterative DFS post-order)."""
    order, done, stack = [], set(), [(t.node, False) for t in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        for t in reversed(node.inputs):
            if id(t.node) not in done:
                stack.append((t.node, False))
    return order


def _disconnected(tensor, node, inputs, where):
    at = f", needed by layer {node.layer.display_name!r}," if node is not None else ""
    start = tensor.node.layer
    while not isinstance(start, InputLayer) and tensor.node.inputs:
        tensor = tensor.node.inputs[0]
        start = tensor.node.layer
    return (f"{where}: graph disconnected: the value of tensor {tensor.name!r}{at} cannot be computed from the "
            f"inputs {[t.name for t in inputs]}; it starts at input {start.display_name!r}. Add that input to "
            f"inputs=[...].")
