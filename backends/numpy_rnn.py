"""Fused per-timestep gate math of the recurrent layers, on any NumPy-compatible module ``xp``.

This is the contract a backend's fused step kernels implement (``CupyBackend`` may override
the ``*_step_*`` / ``gru_*`` methods of ``NumpyBackend``, which call these functions). The
sequence loops in ``backends/rnn_loops.py`` call these primitives once per timestep and do
every matrix product themselves (cuBLAS on the GPU), so a primitive is elementwise only.

Common rules
------------
* ``B`` is the batch, ``u`` the units. Every float array has one dtype (float32 or float64).
  2-D arrays are row-major ``(B, n)``; they may be views with a row stride larger than ``n``
  (slices of the loops' ``(T, B, n)`` buffers are contiguous; gate blocks ``a[:, k*u:(k+1)*u]``
  are strided views of one row-major array).
* Outputs are written into arrays the caller passes (nothing is returned); an output never
  aliases an input unless stated ("may alias").
* ``mask`` is ``None`` (every row is a real step) or a bool array ``(B, 1)``: True where the
  row's step is real. On a masked row (False) the new states are exact copies of the previous
  ones and every gradient that would flow through the gate math is 0: the step's incoming state
  gradient passes straight to the previous state (``dh_carry``, ``dc_prev``).
* Gate order is Keras's: LSTM blocks ``i, f, c, o`` of ``4u`` columns, GRU blocks ``z, r, h``
  of ``3u`` columns (the kernel, recurrent kernel and bias columns use the same order).
* ``activation`` / ``recurrent_activation`` name one of ``ACTIVATIONS``. Each derivative is
  computed from the activation's *output* ``y``: tanh ``1 - y*y``; sigmoid ``y*(1 - y)``;
  hard_sigmoid (Keras 2's ``clip(0.2*x + 0.5, 0, 1)``) ``0.2`` where ``0 < y < 1`` else 0;
  relu ``y > 0``; linear 1; softsign ``(1 - |y|)**2``.

LSTM (``xw = x_t @ kernel + bias``, ``hu = h_prev @ recurrent_kernel``, both ``(B, 4u)``)
--------------------------------------------------------------------------------------
``lstm_step_forward(xw, hu, h_prev, c_prev, mask, gates, h, c, act_c, activation,
recurrent_activation)``
    ``a = xw + hu``; ``i, f, o = ra(a_i), ra(a_f), ra(a_o)``; ``g = act(a_c)``;
    ``c_new = f*c_prev + i*g``; ``act_c = act(c_new)``; ``h_new = o*act_c``.
    Writes ``gates (B, 4u) = [i, f, g, o]`` (may alias ``xw``), ``h, c (B, u)`` = the new states
    (``h_prev``, ``c_prev`` on masked rows) and ``act_c (B, u)`` (any value on masked rows).
``lstm_step_backward(dh, dc, gates, c_prev, act_c, mask, dz, dh_carry, dc_prev, activation,
recurrent_activation)``
    ``dh, dc (B, u)``: the loss gradient w.r.t. this step's ``h`` and ``c`` (all paths).
    Writes ``dz (B, 4u)`` = gradient w.r.t. ``a`` (hence w.r.t. ``xw`` and ``hu``; 0 on masked
    rows), ``dc_prev (B, u)`` and, when ``mask`` is not None, ``dh_carry (B, u)`` = the part of
    the gradient w.r.t. ``h_prev`` that does not go through ``hu`` (``dh`` on masked rows, else 0;
    the caller adds ``dz @ recurrent_kernel.T``). With ``mask`` None, ``dh_carry`` is ignored.

GRU, reset_after=True (Keras 3 / cuDNN form; ``xw, hu (B, 3u)``, ``hu = h_prev @ U`` without bias)
--------------------------------------------------------------------------------------------
``gru_step_forward(xw, hu, recurrent_bias, h_prev, mask, gates, h, activation,
recurrent_activation)``
    ``recurrent_bias`` is ``(3u,)`` or None (zeros); ``v = hu + recurrent_bias``;
    ``z = ra(xw_z + v_z)``, ``r = ra(xw_r + v_r)``, ``hh = act(xw_h + r*v_h)``,
    ``h_new = z*h_prev + (1 - z)*hh``. Writes ``gates (B, 4u) = [z, r, hh, v_h]`` and ``h``.
``gru_step_backward(dh, gates, h_prev, mask, dxw, dhu, dh_carry, activation,
recurrent_activation)``
    Writes ``dxw (B, 3u)`` = gradient w.r.t. ``xw``, ``dhu (B, 3u)`` = gradient w.r.t. ``hu``
    (and the recurrent bias) and ``dh_carry (B, u)`` = gradient w.r.t. ``h_prev`` not through
    ``hu``: ``dh*z`` on real rows, ``dh`` on masked ones (always written).

GRU, reset_after=False (Keras 2 form: the reset gate multiplies the state before its product)
-----------------------------------------------------------------------------------------
``hd`` is the state fed to the recurrent products (``h_prev`` times the recurrent-dropout mask,
or ``h_prev`` itself); ``U_zr = U[:, :2u]``, ``U_h = U[:, 2u:]``. Per step the caller runs
``hu_zr = hd @ U_zr``, then
``gru_gates_forward(xw, hu_zr, hd, gates, rh, recurrent_activation)``
    ``z = ra(xw_z + hu_z)``, ``r = ra(xw_r + hu_r)``; writes ``gates[:, :2u] = [z, r]`` and
    ``rh (B, u) = r*hd``. Then the caller runs ``rhu = rh @ U_h`` (``(B, u)``), then
``gru_output_forward(xw, rhu, h_prev, mask, gates, h, activation)``
    ``hh = act(xw_h + rhu)``; writes ``gates[:, 2u:] = hh`` and
    ``h = z*h_prev + (1 - z)*hh`` (``h_prev`` on masked rows). ``gates`` is ``(B, 3u)`` and may
    alias ``xw`` in both calls (the loops pass the same array: each block is read before it is
    written).
Backward, per step:
``gru_output_backward(dh, gates, h_prev, mask, dxw, dh_carry, activation)``
    Writes ``dxw[:, 2u:]`` = gradient w.r.t. ``xw_h`` (equal to that w.r.t. ``rhu``),
    ``dxw[:, :u]`` = gradient w.r.t. the gate value ``z`` (not yet times ``ra'``), and
    ``dh_carry`` as for reset_after=True. The caller runs ``drh = dxw[:, 2u:] @ U_h.T``, then
``gru_gates_backward(drh, gates, hd, dxw, recurrent_activation)``
    Finishes ``dxw[:, :2u]`` (gradients w.r.t. ``xw_z``, ``xw_r``, equal to those w.r.t.
    ``hu_zr``) and overwrites ``drh`` with the gradient w.r.t. ``hd`` through ``rh``
    (``drh * r``). The caller's gradient w.r.t. ``hd`` is ``dxw[:, :2u] @ U_zr.T + drh``.

SimpleRNN (``xw, hu (B, u)``)
---------------------------
``simple_rnn_step_forward(xw, hu, h_prev, mask, h, activation)``: ``h = act(xw + hu)``
(``h_prev`` on masked rows).
``simple_rnn_step_backward(dh, h, mask, dz, dh_carry, activation)``: ``dz = dh * act'(h)``
(0 on masked rows); with a mask, ``dh_carry = dh`` on masked rows, else 0.
"""

ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign")


# --- activations in place, derivatives from outputs ------------------------------------------

def activate(xp, name, a):
    """``a = name(a)`` in place (``a`` may be a strided view)."""
    if name == "tanh":
        xp.tanh(a, out=a)
    elif name == "sigmoid":  # through tanh: no overflow for large |a|
        a *= 0.5
        xp.tanh(a, out=a)
        a *= 0.5
        a += 0.5
    elif name == "hard_sigmoid":
        a *= 0.2
        a += 0.5
        xp.maximum(a, 0.0, out=a)  # two ufuncs: cheaper than clip's Python wrapper
        xp.minimum(a, 1.0, out=a)
    elif name == "relu":
        xp.maximum(a, 0.0, out=a)
    elif name == "softsign":
        a /= xp.abs(a) + 1.0
    elif name != "linear":
        raise ValueError(f"unsupported recurrent activation {name!r}; supported: "
                         f"{', '.join(ACTIVATIONS)}.")


def times_derivative(xp, name, g, y):
    """``g *= name'(x)`` in place, where ``y = name(x)``."""
    if name == "tanh":
        d = y * y
        xp.subtract(1.0, d, out=d)
        g *= d
    elif name == "sigmoid":
        d = 1.0 - y
        d *= y
        g *= d
    elif name == "hard_sigmoid":
        inside = y > 0.0
        inside &= y < 1.0
        g *= inside
        g *= 0.2
    elif name == "relu":
        g *= y > 0.0
    elif name == "softsign":
        d = 1.0 - xp.abs(y)
        d *= d
        g *= d
    elif name != "linear":
        raise ValueError(f"unsupported recurrent activation {name!r}.")


def _keep_previous(xp, new, previous, mask):
    """Masked rows of ``new`` become ``previous`` (exact copies)."""
    if mask is not None:
        xp.copyto(new, previous, where=~mask)


def _masked(xp, grad, mask):
    """``grad`` on real rows, 0 on masked ones (a new array), or ``grad`` itself."""
    return grad if mask is None else grad * mask


# --- LSTM ------------------------------------------------------------------------------------

def lstm_step_forward(xp, xw, hu, h_prev, c_prev, mask, gates, h, c, act_c, activation,
                      recurrent_activation):
    u = h.shape[-1]
    xp.add(xw, hu, out=gates)
    i, f, g, o = (gates[:, k * u:(k + 1) * u] for k in range(4))
    # block c through act_c (as scratch), then the recurrent activation over the whole row in
    # one pass and block c put back: fewer, longer array operations than three blocks
    xp.copyto(act_c, g)
    activate(xp, activation, act_c)
    activate(xp, recurrent_activation, gates)
    xp.copyto(g, act_c)
    xp.multiply(f, c_prev, out=c)
    xp.multiply(i, g, out=act_c)
    c += act_c
    if activation == "tanh":
        xp.tanh(c, out=act_c)
    else:
        xp.copyto(act_c, c)
        activate(xp, activation, act_c)
    xp.multiply(o, act_c, out=h)
    _keep_previous(xp, h, h_prev, mask)
    _keep_previous(xp, c, c_prev, mask)


def lstm_step_backward(xp, dh, dc, gates, c_prev, act_c, mask, dz, dh_carry, dc_prev,
                       activation, recurrent_activation):
    u = dh.shape[-1]
    i, f, g, o = (gates[:, k * u:(k + 1) * u] for k in range(4))
    di, df, dg, do = (dz[:, k * u:(k + 1) * u] for k in range(4))
    dh_real = _masked(xp, dh, mask)
    xp.multiply(dh_real, act_c, out=do)
    dct = dh_real * o
    times_derivative(xp, activation, dct, act_c)
    dct += _masked(xp, dc, mask)
    xp.multiply(dct, g, out=di)
    xp.multiply(dct, c_prev, out=df)
    xp.multiply(dct, f, out=dc_prev)
    # ra' over the whole row in one pass (block c zeroed first: no garbage enters), then c
    xp.copyto(dg, 0.0)
    times_derivative(xp, recurrent_activation, dz, gates)
    xp.multiply(dct, i, out=dg)
    times_derivative(xp, activation, dg, g)
    if mask is not None:
        _keep_previous(xp, dc_prev, dc, mask)
        xp.multiply(dh, ~mask, out=dh_carry)


# --- GRU, reset_after=True ------------------------------------------------------------------

def gru_step_forward(xp, xw, hu, recurrent_bias, h_prev, mask, gates, h, activation,
                     recurrent_activation):
    u = h.shape[-1]
    v = hu if recurrent_bias is None else hu + recurrent_bias
    xp.add(xw[:, :2 * u], v[:, :2 * u], out=gates[:, :2 * u])
    activate(xp, recurrent_activation, gates[:, :2 * u])
    z, r, hh, vh = (gates[:, k * u:(k + 1) * u] for k in range(4))
    xp.copyto(vh, v[:, 2 * u:])
    xp.multiply(r, vh, out=hh)
    hh += xw[:, 2 * u:]
    activate(xp, activation, hh)
    _gru_combine(xp, z, hh, h_prev, mask, h)


def _gru_combine(xp, z, hh, h_prev, mask, h):
    """``h = hh + z*(h_prev - hh)`` (= z*h_prev + (1-z)*hh), ``h_prev`` on masked rows."""
    xp.subtract(h_prev, hh, out=h)
    h *= z
    h += hh
    _keep_previous(xp, h, h_prev, mask)


def gru_step_backward(xp, dh, gates, h_prev, mask, dxw, dhu, dh_carry, activation,
                      recurrent_activation):
    u = dh.shape[-1]
    z, r, hh, vh = (gates[:, k * u:(k + 1) * u] for k in range(4))
    dh_real = _masked(xp, dh, mask)
    dxz, dxr, dxh = (dxw[:, k * u:(k + 1) * u] for k in range(3))
    # d/dz of z*h_prev + (1-z)*hh is h_prev - hh; d/dhh is 1 - z
    xp.subtract(h_prev, hh, out=dxz)
    dxz *= dh_real
    times_derivative(xp, recurrent_activation, dxz, z)
    xp.subtract(1.0, z, out=dxh)
    dxh *= dh_real
    times_derivative(xp, activation, dxh, hh)
    xp.multiply(dxh, vh, out=dxr)
    times_derivative(xp, recurrent_activation, dxr, r)
    xp.copyto(dhu[:, :2 * u], dxw[:, :2 * u])
    xp.multiply(dxh, r, out=dhu[:, 2 * u:])
    xp.multiply(dh_real, z, out=dh_carry)
    if mask is not None:
        _keep_previous(xp, dh_carry, dh, mask)


# --- GRU, reset_after=False -----------------------------------------------------------------

def gru_gates_forward(xp, xw, hu_zr, hd, gates, rh, recurrent_activation):
    u = rh.shape[-1]
    xp.add(xw[:, :2 * u], hu_zr, out=gates[:, :2 * u])
    activate(xp, recurrent_activation, gates[:, :2 * u])
    xp.multiply(gates[:, u:2 * u], hd, out=rh)


def gru_output_forward(xp, xw, rhu, h_prev, mask, gates, h, activation):
    u = h.shape[-1]
    hh = gates[:, 2 * u:]
    xp.add(xw[:, 2 * u:], rhu, out=hh)
    activate(xp, activation, hh)
    _gru_combine(xp, gates[:, :u], hh, h_prev, mask, h)


def gru_output_backward(xp, dh, gates, h_prev, mask, dxw, dh_carry, activation):
    u = dh.shape[-1]
    z, hh = gates[:, :u], gates[:, 2 * u:]
    dz, dxh = dxw[:, :u], dxw[:, 2 * u:]
    dh_real = _masked(xp, dh, mask)
    xp.subtract(h_prev, hh, out=dz)
    dz *= dh_real
    xp.subtract(1.0, z, out=dxh)
    dxh *= dh_real
    times_derivative(xp, activation, dxh, hh)
    xp.multiply(dh_real, z, out=dh_carry)
    if mask is not None:
        _keep_previous(xp, dh_carry, dh, mask)


def gru_gates_backward(xp, drh, gates, hd, dxw, recurrent_activation):
    u = drh.shape[-1]
    z, r = gates[:, :u], gates[:, u:2 * u]
    times_derivative(xp, recurrent_activation, dxw[:, :u], z)
    dr = dxw[:, u:2 * u]
    xp.multiply(drh, hd, out=dr)
    times_derivative(xp, recurrent_activation, dr, r)
    drh *= r


# --- SimpleRNN ------------------------------------------------------------------------------

def simple_rnn_step_forward(xp, xw, hu, h_prev, mask, h, activation):
    xp.add(xw, hu, out=h)
    activate(xp, activation, h)
    _keep_previous(xp, h, h_prev, mask)


def simple_rnn_step_backward(xp, dh, h, mask, dz, dh_carry, activation):
    xp.copyto(dz, dh)
    times_derivative(xp, activation, dz, h)
    if mask is not None:
        dz *= mask
        xp.multiply(dh, ~mask, out=dh_carry)
