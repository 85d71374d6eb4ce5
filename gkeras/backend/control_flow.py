"""Loops over a tensor's first axis and over time: ``K.rnn``, ``K.map_fn``, ``K.foldl``,
``K.foldr``; and ``K.stop_gradient``. They run eagerly, one Python step per element."""
from .. import ops

__all__ = ["foldl", "foldr", "map_fn", "rnn", "stop_gradient"]


def stop_gradient(variables):
    """``variables`` (a tensor or a list of them) as constants for differentiation."""
    if isinstance(variables, (list, tuple)):
        return [ops.stop_gradient(v) for v in variables]
    return ops.stop_gradient(variables)


def _unstack(elems):
    elems = ops.convert_to_tensor(elems)
    return [ops.getitem(elems, i) for i in range(elems.shape[0])]


def map_fn(fn, elems, name=None, dtype=None):
    """``fn`` applied to each entry along the first axis, the results stacked."""
    out = ops.stack([fn(e) for e in _unstack(elems)])
    return out if dtype is None else ops.cast(out, dtype)


def foldl(fn, elems, initializer=None, name=None):
    """``fn(accumulator, element)`` over the first axis, left to right; the accumulator
    starts as ``initializer`` (default: the first element)."""
    items = _unstack(elems)
    accumulator = initializer
    if accumulator is None:
        accumulator, items = items[0], items[1:]
    for item in items:
        accumulator = fn(accumulator, item)
    return accumulator


def foldr(fn, elems, initializer=None, name=None):
    """As ``foldl``, right to left."""
    return foldl(fn, ops.flip(ops.convert_to_tensor(elems), 0), initializer)


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None,
        unroll=False, input_length=None):
    """Iterate ``step_function(input_t, states + constants) -> (output_t, new_states)`` over
    axis 1 of ``inputs`` ``(batch, time, ...)``. Returns ``(last_output, outputs (batch, time,
    ...), new_states)``. Where ``mask`` (batch, time) is False the states carry over and the
    output repeats: the previous output with ``unroll=True``, the first state otherwise
    (Keras 2's two code paths)."""
    inputs = ops.convert_to_tensor(inputs)
    if inputs.ndim < 3:
        raise ValueError(f"rnn: inputs should be at least 3-D, received shape {inputs.shape}.")
    states = list(initial_states)
    constants = list(constants or [])
    steps = range(inputs.shape[1])
    if go_backwards:
        steps = reversed(steps)
    if mask is not None:
        mask = ops.cast(mask, bool)
        if not states and not unroll:
            raise ValueError("rnn: masking needs initial states (the step function's first "
                             "state at time t being its output at time t - 1).")
    outputs = []
    for t in steps:
        output, new_states = step_function(ops.getitem(inputs, (slice(None), t)),
                                           states + constants)
        new_states = list(new_states)
        if mask is not None:
            kept = ops.getitem(mask, (slice(None), t))
            previous = (outputs[-1] if outputs else ops.zeros_like(output)) if unroll \
                else states[0]
            output = ops.where(_aligned(kept, output), output, previous)
            new_states = [ops.where(_aligned(kept, new), new, old)
                          for new, old in zip(new_states, states)]
        outputs.append(output)
        states = new_states
    return outputs[-1], ops.stack(outputs, axis=1), states


def _aligned(kept, like):
    """The (batch,) mask with trailing size-1 axes to broadcast against ``like``."""
    return ops.reshape(kept, kept.shape + (1,) * (ops.convert_to_tensor(like).ndim - 1))
