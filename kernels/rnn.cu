// Fused per-timestep gate math of the recurrent layers, forward and backward, and the embedding
// gradient. The contract is the docstring of backends/numpy_rnn.py; this file follows it line
// by line. Every step kernel runs one thread per (row b, unit j) of a (B, u) state: total =
// B * u. Arrays are dense row-major: (B, u) states, (B, k*u) gate blocks in Keras's order
// (LSTM i, f, c, o; GRU z, r, h). `mask` is a (B,) bool array read only when `masked` != 0
// (otherwise every row is real); a masked row keeps its previous state and sends no gradient
// through the gate math. Each thread reads its own elements before writing them, so `gates`
// may alias `xw`. Activations are selected by their index in numpy_rnn.ACTIVATIONS.

enum ActivationCode { TANH = 0, SIGMOID = 1, HARD_SIGMOID = 2, RELU = 3, LINEAR = 4, SOFTSIGN = 5 };

__device__ __forceinline__ float tanh_of(float x) { return tanhf(x); }
__device__ __forceinline__ double tanh_of(double x) { return tanh(x); }

template <typename T>
__device__ __forceinline__ T magnitude(T x) {
  return x < T(0) ? -x : x;
}

// Comparisons are written so that a NaN input gives a NaN, as numpy.maximum/minimum do.
template <typename T>
__device__ __forceinline__ T activate(int code, T x) {
  switch (code) {
    case TANH:
      return tanh_of(x);
    case SIGMOID:  // through tanh, as the NumPy reference: no overflow for large |x|
      return T(0.5) * tanh_of(T(0.5) * x) + T(0.5);
    case HARD_SIGMOID: {  // Keras 2: clip(0.2 x + 0.5, 0, 1)
      const T y = T(0.2) * x + T(0.5);
      return y < T(0) ? T(0) : (y > T(1) ? T(1) : y);
    }
    case RELU:
      return x < T(0) ? T(0) : x;
    case SOFTSIGN:
      return x / (magnitude(x) + T(1));
    default:  // LINEAR
      return x;
  }
}

// The activation's derivative at x, computed from its output y = activate(code, x).
template <typename T>
__device__ __forceinline__ T derivative(int code, T y) {
  switch (code) {
    case TANH:
      return T(1) - y * y;
    case SIGMOID:
      return (T(1) - y) * y;
    case HARD_SIGMOID:
      return (y > T(0) && y < T(1)) ? T(0.2) : T(0);
    case RELU:
      return y > T(0) ? T(1) : T(0);
    case SOFTSIGN: {
      const T d = T(1) - magnitude(y);
      return d * d;
    }
    default:  // LINEAR
      return T(1);
  }
}

// --- LSTM -------------------------------------------------------------------------------------

// a = xw + hu; gates = [ra(a_i), ra(a_f), act(a_c), ra(a_o)]; c = f c_prev + i g;
// act_c = act(c); h = o act_c (h_prev, c_prev on masked rows).
template <typename T>
__global__ void lstm_step_forward(const T* xw, const T* hu, const T* h_prev, const T* c_prev,
                                  const bool* mask, T* gates, T* h, T* c, T* act_c,
                                  long long total, int units, int masked, int activation,
                                  int recurrent_activation) {
  GRID_STRIDE_LOOP(k, total) {
    const long long b = k / units, j = k % units;
    const long long row = b * 4 * units + j;
    const T i = activate(recurrent_activation, xw[row] + hu[row]);
    const T f = activate(recurrent_activation, xw[row + units] + hu[row + units]);
    const T g = activate(activation, xw[row + 2 * units] + hu[row + 2 * units]);
    const T o = activate(recurrent_activation, xw[row + 3 * units] + hu[row + 3 * units]);
    gates[row] = i;
    gates[row + units] = f;
    gates[row + 2 * units] = g;
    gates[row + 3 * units] = o;
    const T c_new = f * c_prev[k] + i * g;
    const T a = activate(activation, c_new);
    act_c[k] = a;
    const bool real = !masked || mask[b];
    c[k] = real ? c_new : c_prev[k];
    h[k] = real ? o * a : h_prev[k];
  }
}

// dz = gradient w.r.t. a (0 on masked rows); dc_prev; dh_carry (written only when masked != 0)
// = dh on masked rows, else 0.
template <typename T>
__global__ void lstm_step_backward(const T* dh, const T* dc, const T* gates, const T* c_prev,
                                   const T* act_c, const bool* mask, T* dz, T* dh_carry,
                                   T* dc_prev, long long total, int units, int masked,
                                   int activation, int recurrent_activation) {
  GRID_STRIDE_LOOP(k, total) {
    const long long b = k / units, j = k % units;
    const long long row = b * 4 * units + j;
    const bool real = !masked || mask[b];
    const T dh_real = real ? dh[k] : T(0);
    const T i = gates[row], f = gates[row + units], g = gates[row + 2 * units],
            o = gates[row + 3 * units];
    const T a = act_c[k];
    const T dct = dh_real * o * derivative(activation, a) + (real ? dc[k] : T(0));
    dz[row] = dct * g * derivative(recurrent_activation, i);
    dz[row + units] = dct * c_prev[k] * derivative(recurrent_activation, f);
    dz[row + 2 * units] = dct * i * derivative(activation, g);
    dz[row + 3 * units] = dh_real * a * derivative(recurrent_activation, o);
    dc_prev[k] = real ? dct * f : dc[k];
    if (masked) dh_carry[k] = real ? T(0) : dh[k];
  }
}

// --- GRU, reset_after=True (Keras 3 / cuDNN form) ---------------------------------------------

// v = hu + recurrent_bias (when has_bias); z = ra(xw_z + v_z), r = ra(xw_r + v_r),
// hh = act(xw_h + r v_h), h = hh + z (h_prev - hh); gates (B, 4u) = [z, r, hh, v_h].
template <typename T>
__global__ void gru_step_forward(const T* xw, const T* hu, const T* recurrent_bias,
                                 const T* h_prev, const bool* mask, T* gates, T* h,
                                 long long total, int units, int has_bias, int masked,
                                 int activation, int recurrent_activation) {
  GRID_STRIDE_LOOP(k, total) {
    const long long b = k / units, j = k % units;
    const long long row3 = b * 3 * units + j, row4 = b * 4 * units + j;
    const T vz = hu[row3] + (has_bias ? recurrent_bias[j] : T(0));
    const T vr = hu[row3 + units] + (has_bias ? recurrent_bias[j + units] : T(0));
    const T vh = hu[row3 + 2 * units] + (has_bias ? recurrent_bias[j + 2 * units] : T(0));
    const T z = activate(recurrent_activation, xw[row3] + vz);
    const T r = activate(recurrent_activation, xw[row3 + units] + vr);
    const T hh = activate(activation, r * vh + xw[row3 + 2 * units]);
    gates[row4] = z;
    gates[row4 + units] = r;
    gates[row4 + 2 * units] = hh;
    gates[row4 + 3 * units] = vh;
    h[k] = (!masked || mask[b]) ? hh + z * (h_prev[k] - hh) : h_prev[k];
  }
}

// dxw (B, 3u), dhu (B, 3u) (also the recurrent bias's gradient), dh_carry = dh z on real rows,
// dh on masked ones (always written).
template <typename T>
__global__ void gru_step_backward(const T* dh, const T* gates, const T* h_prev, const bool* mask,
                                  T* dxw, T* dhu, T* dh_carry, long long total, int units,
                                  int masked, int activation, int recurrent_activation) {
  GRID_STRIDE_LOOP(k, total) {
    const long long b = k / units, j = k % units;
    const long long row3 = b * 3 * units + j, row4 = b * 4 * units + j;
    const bool real = !masked || mask[b];
    const T dh_real = real ? dh[k] : T(0);
    const T z = gates[row4], r = gates[row4 + units], hh = gates[row4 + 2 * units],
            vh = gates[row4 + 3 * units];
    const T dxz = (h_prev[k] - hh) * dh_real * derivative(recurrent_activation, z);
    const T dxh = (T(1) - z) * dh_real * derivative(activation, hh);
    const T dxr = dxh * vh * derivative(recurrent_activation, r);
    dxw[row3] = dxz;
    dxw[row3 + units] = dxr;
    dxw[row3 + 2 * units] = dxh;
    dhu[row3] = dxz;
    dhu[row3 + units] = dxr;
    dhu[row3 + 2 * units] = dxh * r;
    dh_carry[k] = real ? dh_real * z : dh[k];
  }
}

// --- GRU, reset_after=False (Keras 2 form); xw, gates, dxw are (B, 3u) ------------------------

// z = ra(xw_z + hu_z), r = ra(xw_r + hu_r) into gates[:, :2u]; rh = r hd. hu_zr is (B, 2u).
template <typename T>
__global__ void gru_gates_forward(const T* xw, const T* hu_zr, const T* hd, T* gates, T* rh,
                                  long long total, int units, int recurrent_activation) {
  GRID_STRIDE_LOOP(k, total) {
    const long long b = k / units, j = k % units;
    const long long row3 = b * 3 * units + j, row2 = b * 2 * units + j;
    const T z = activate(recurrent_activation, xw[row3] + hu_zr[row2]);
    const T r = activate(recurrent_activation, xw[row3 + units] + hu_zr[row2 + units]);
    gates[row3] = z;
    gates[row3 + units] = r;
    rh[k] = r * hd[k];
  }
}

// hh = act(xw_h + rhu) into gates[:, 2u:]; h = hh + z (h_prev - hh) (h_prev on masked rows).
template <typename T>
__global__ void gru_output_forward(const T* xw, const T* rhu, const T* h_prev, const bool* mask,
                                   T* gates, T* h, long long total, int units, int masked,
                                   int activation) {
  GRID_STRIDE_LOOP(k, total) {
    const long long b = k / units, j = k % units;
    const long long row3 = b * 3 * units + j;
    const T hh = activate(activation, xw[row3 + 2 * units] + rhu[k]);
    const T z = gates[row3];
    gates[row3 + 2 * units] = hh;
    h[k] = (!masked || mask[b]) ? hh + z * (h_prev[k] - hh) : h_prev[k];
  }
}

// dxw[:, :u] = gradient w.r.t. the gate value z (not yet times ra'), dxw[:, 2u:] = gradient
// w.r.t. xw_h; dh_carry as gru_step_backward's. dxw[:, u:2u] is left to gru_gates_backward.
template <typename T>
__global__ void gru_output_backward(const T* dh, const T* gates, const T* h_prev,
                                    const bool* mask, T* dxw, T* dh_carry, long long total,
                                    int units, int masked, int activation) {
  GRID_STRIDE_LOOP(k, total) {
    const long long b = k / units, j = k % units;
    const long long row3 = b * 3 * units + j;
    const bool real = !masked || mask[b];
    const T dh_real = real ? dh[k] : T(0);
    const T z = gates[row3], hh = gates[row3 + 2 * units];
    dxw[row3] = (h_prev[k] - hh) * dh_real;
    dxw[row3 + 2 * units] = (T(1) - z) * dh_real * derivative(activation, hh);
    dh_carry[k] = real ? dh_real * z : dh[k];
  }
}

// Finishes dxw[:, :2u] (times ra'; dr = drh hd ra'(r)) and overwrites drh with drh r.
template <typename T>
__global__ void gru_gates_backward(T* drh, const T* gates, const T* hd, T* dxw, long long total,
                                   int units, int recurrent_activation) {
  GRID_STRIDE_LOOP(k, total) {
    const long long b = k / units, j = k % units;
    const long long row3 = b * 3 * units + j;
    const T z = gates[row3], r = gates[row3 + units];
    dxw[row3] = dxw[row3] * derivative(recurrent_activation, z);
    dxw[row3 + units] = drh[k] * hd[k] * derivative(recurrent_activation, r);
    drh[k] = drh[k] * r;
  }
}

// --- SimpleRNN: xw, hu, h (B, u) -------------------------------------------------------------

template <typename T>
__global__ void simple_rnn_step_forward(const T* xw, const T* hu, const T* h_prev,
                                        const bool* mask, T* h, long long total, int units,
                                        int masked, int activation) {
  GRID_STRIDE_LOOP(k, total) {
    const T y = activate(activation, xw[k] + hu[k]);
    h[k] = (!masked || mask[k / units]) ? y : h_prev[k];
  }
}

// dz = dh act'(h) (0 on masked rows); dh_carry (only when masked != 0) = dh on masked rows.
template <typename T>
__global__ void simple_rnn_step_backward(const T* dh, const T* h, const bool* mask, T* dz,
                                         T* dh_carry, long long total, int units, int masked,
                                         int activation) {
  GRID_STRIDE_LOOP(k, total) {
    const bool real = !masked || mask[k / units];
    dz[k] = real ? dh[k] * derivative(activation, h[k]) : T(0);
    if (masked) dh_carry[k] = real ? T(0) : dh[k];
  }
}

// --- Embedding gradient -----------------------------------------------------------------------

// The gradient of a row gather (table[indices]) w.r.t. the (rows, columns) table, as a gather:
// one thread per table element sums, in a fixed order, the `updates` rows (n, columns) that
// were read from its row. `order` lists the n update rows sorted by the table row they came
// from (a stable sort, so equal rows keep their original order: the sums are those of
// numpy.add.at, bit for bit); entries starts[r] .. starts[r + 1] - 1 of `order` came from table
// row r (starts has rows + 1 entries).
// Every element is written (0 for a row nobody read). No atomics: the same bits on every run.
template <typename T>
__global__ void embedding_gradient(const T* updates, const long long* order,
                                   const long long* starts, T* table, long long total,
                                   int columns) {
  GRID_STRIDE_LOOP(k, total) {
    const long long r = k / columns, j = k % columns;
    T sum = T(0);
    for (long long s = starts[r]; s < starts[r + 1]; ++s) sum += updates[order[s] * columns + j];
    table[k] = sum;
  }
}
