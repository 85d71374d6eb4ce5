// Fused elementwise chains: a Dense layer's bias and activation on its matrix product (in
// place), the activation's backward from its output, softmax by rows, softmax-crossentropy
// from logits (dense and sparse targets) and dropout's multiplier. The contract is the
// docstring of backends/numpy_elementwise.py; each formula follows its order of operations.
// Arrays are C-contiguous (rows, d) matrices, (d,) biases, (rows,) per-row values; labels are
// int64. Elementwise kernels run one thread per element; row kernels one thread per row,
// reading its d entries in order (a row's max, sum of exponentials, dot with the target).
// Activations are selected by their index in numpy_elementwise.ACTIVATIONS.

enum FusedActivation { LINEAR = 0, RELU = 1, SIGMOID = 2, TANH = 3 };

__device__ __forceinline__ float exp_of(float x) { return expf(x); }
__device__ __forceinline__ double exp_of(double x) { return exp(x); }
__device__ __forceinline__ float log_of(float x) { return logf(x); }
__device__ __forceinline__ double log_of(double x) { return log(x); }
__device__ __forceinline__ float tanh_of(float x) { return tanhf(x); }
__device__ __forceinline__ double tanh_of(double x) { return tanh(x); }

// z = act(z + bias[column]) in place; total = rows * d. `bias` is read when has_bias != 0.
// relu and the sigmoid's branch are written so that a NaN stays NaN (as numpy.maximum).
template <typename T>
__global__ void bias_activation(T* z, const T* bias, long long total, long long d, int has_bias,
                                int activation) {
  GRID_STRIDE_LOOP(i, total) {
    T v = z[i];
    if (has_bias) v += bias[i % d];
    if (activation == RELU) {
      v = v < T(0) ? T(0) : v;
    } else if (activation == SIGMOID) {  // exp of a non-positive argument only: no overflow
      const T e = exp_of(v < T(0) ? v : -v);
      v = (v >= T(0) ? T(1) : e) / (T(1) + e);
    } else if (activation == TANH) {
      v = tanh_of(v);
    }
    z[i] = v;
  }
}

// dz = dy * (the activation's derivative, from its output y); total = number of elements.
template <typename T>
__global__ void activation_backward(const T* dy, const T* y, T* dz, long long total,
                                    int activation) {
  GRID_STRIDE_LOOP(i, total) {
    const T out = y[i];
    T derivative = T(1);
    if (activation == RELU) {
      derivative = out > T(0) ? T(1) : T(0);
    } else if (activation == SIGMOID) {
      derivative = out * (T(1) - out);
    } else if (activation == TANH) {
      derivative = T(1) - out * out;
    }
    dz[i] = activation == LINEAR ? dy[i] : dy[i] * derivative;
  }
}

template <typename T>
__device__ __forceinline__ T row_max(const T* row, long long d) {
  T peak = row[0];
  for (long long j = 1; j < d; ++j) peak = row[j] > peak || row[j] != row[j] ? row[j] : peak;
  return peak;
}

// One thread per row: y = e / sum(e), e = exp(z - max(z)). total = rows.
template <typename T>
__global__ void softmax_rows(const T* z, T* y, long long total, long long d) {
  GRID_STRIDE_LOOP(r, total) {
    const T* in = z + r * d;
    T* out = y + r * d;
    const T peak = row_max(in, d);
    T sum = T(0);
    for (long long j = 0; j < d; ++j) {
      out[j] = exp_of(in[j] - peak);
      sum += out[j];
    }
    for (long long j = 0; j < d; ++j) out[j] = out[j] / sum;
  }
}

// One thread per row: g = dy * y; dz = g - y * sum(g). total = rows.
template <typename T>
__global__ void softmax_rows_backward(const T* dy, const T* y, T* dz, long long total,
                                      long long d) {
  GRID_STRIDE_LOOP(r, total) {
    const long long start = r * d;
    T sum = T(0);
    for (long long j = 0; j < d; ++j) sum += dy[start + j] * y[start + j];
    for (long long j = 0; j < d; ++j) {
      const long long k = start + j;
      dz[k] = dy[k] * y[k] - y[k] * sum;
    }
  }
}

// log_prob = (z - max) - log(sum(exp(z - max))) of row r, written to log_prob; returns nothing.
template <typename T>
__device__ __forceinline__ void log_softmax_row(const T* z, T* log_prob, long long d) {
  const T peak = row_max(z, d);
  T sum = T(0);
  for (long long j = 0; j < d; ++j) sum += exp_of(z[j] - peak);
  const T log_sum = log_of(sum);
  for (long long j = 0; j < d; ++j) log_prob[j] = (z[j] - peak) - log_sum;
}

// One thread per row: log_prob of the row and loss[r] = -sum(target * log_prob). total = rows.
template <typename T>
__global__ void softmax_crossentropy(const T* logits, const T* target, T* loss, T* log_prob,
                                     long long total, long long d) {
  GRID_STRIDE_LOOP(r, total) {
    log_softmax_row(logits + r * d, log_prob + r * d, d);
    T dot = T(0);
    for (long long j = 0; j < d; ++j) dot += target[r * d + j] * log_prob[r * d + j];
    loss[r] = -dot;
  }
}

// One thread per row: dlogits = g[r] * (exp(log_prob) * sum(target) - target). total = rows.
template <typename T>
__global__ void softmax_crossentropy_backward(const T* log_prob, const T* target, const T* g,
                                              T* dlogits, long long total, long long d) {
  GRID_STRIDE_LOOP(r, total) {
    const long long start = r * d;
    T target_sum = T(0);
    for (long long j = 0; j < d; ++j) target_sum += target[start + j];
    for (long long j = 0; j < d; ++j) {
      const long long k = start + j;
      dlogits[k] = g[r] * (exp_of(log_prob[k]) * target_sum - target[k]);
    }
  }
}

// One thread per row: log_prob of the row and loss[r] = -log_prob[r, labels[r]]. total = rows.
template <typename T>
__global__ void sparse_softmax_crossentropy(const T* logits, const long long* labels, T* loss,
                                            T* log_prob, long long total, long long d) {
  GRID_STRIDE_LOOP(r, total) {
    log_softmax_row(logits + r * d, log_prob + r * d, d);
    loss[r] = -log_prob[r * d + labels[r]];
  }
}

// One thread per element: dlogits = g[row] * (exp(log_prob) - (column == label)).
// total = rows * d.
template <typename T>
__global__ void sparse_softmax_crossentropy_backward(const T* log_prob, const long long* labels,
                                                     const T* g, T* dlogits, long long total,
                                                     long long d) {
  GRID_STRIDE_LOOP(i, total) {
    const long long r = i / d;
    const T one_hot = (i % d == labels[r]) ? T(1) : T(0);
    dlogits[i] = g[r] * (exp_of(log_prob[i]) - one_hot);
  }
}

// u = (u >= rate) ? scale : 0 in place: uniform draws become inverted dropout's multiplier.
template <typename T>
__global__ void dropout_multiplier(T* u, long long total, T rate, T scale) {
  GRID_STRIDE_LOOP(i, total) { u[i] = u[i] >= rate ? scale : T(0); }
}
