// Batch and layer normalization, forward and backward. The contract is the docstring of
// backends/numpy_norm.py: batch norm sees x as a C-contiguous (a, c, b) array with statistics
// per channel over its count = a * b entries x[:, ch, :]; layer norm sees (rows, d) with
// statistics per row. Per-channel and per-row arrays (mean, var, gamma, beta, sums) are T:
// the contract's accumulation dtype is T itself for float and double.
//
// Reductions run in two stages, without block cooperation (no __shared__, no atomics): the
// entries of each channel are split into `chunks` interleaved chunks (chunk k holds entries
// k, k + chunks, k + 2 * chunks, ...); a `*_partial` kernel runs one thread per (channel,
// chunk) and writes that chunk's partial result to partials[ch * chunks + k]; a `*_combine`
// kernel runs one thread per channel and folds its chunks in order 0, 1, ..., chunks - 1.
// The result depends on `chunks` (chosen on the host from the shapes), never on the launch.
// Elementwise passes run one thread per element. Layer norm's per-row statistics and sums
// are the same reductions on the (1, rows, d) view; its per-feature sums (dgamma, dbeta) on
// the (rows, d, 1) view.

__device__ __forceinline__ float sqrt_of(float x) { return sqrtf(x); }
__device__ __forceinline__ double sqrt_of(double x) { return sqrt(x); }

// 1 / sqrt(var + epsilon), computed as the NumPy reference does (no rsqrt approximation).
template <typename T>
__device__ __forceinline__ T inverse_std(T var, T epsilon) {
  return T(1) / sqrt_of(var + epsilon);
}

// Offset of entry j (0 <= j < a * b) of channel ch in a C-contiguous (a, c, b) array.
__device__ __forceinline__ long long channel_entry(long long j, long long ch, long long c,
                                                   long long b) {
  return b == 1 ? j * c + ch : (j / b * c + ch) * b + j % b;
}

// The (channel, chunk) of work item t. Adjacent threads read adjacent memory: adjacent
// channels when b == 1 (a channel's entries are strided by c), else adjacent chunks of one
// channel (its entries are runs of b).
struct ChunkItem {
  long long ch, chunk;
};

__device__ __forceinline__ ChunkItem chunk_item(long long t, long long c, long long b,
                                                long long chunks) {
  ChunkItem item;
  if (b == 1) {
    item.ch = t % c;
    item.chunk = t / c;
  } else {
    item.ch = t / chunks;
    item.chunk = t % chunks;
  }
  return item;
}

// Number of entries of chunk k when `count` entries are dealt round-robin to `chunks` chunks.
__device__ __forceinline__ long long chunk_size(long long k, long long count, long long chunks) {
  return k < count ? (count - k + chunks - 1) / chunks : 0;
}

// --- statistics: mean and biased variance per channel of an (a, c, b) array ----------------

// One thread per (channel, chunk): the chunk's mean and sum of squared deviations (M2), by
// Welford's update in T. An empty chunk gives 0 and 0. total = c * chunks.
template <typename T>
__global__ void moments_partial(const T* x, T* partial_mean, T* partial_m2, long long total,
                                long long c, long long b, long long count, long long chunks) {
  GRID_STRIDE_LOOP(t, total) {
    const ChunkItem item = chunk_item(t, c, b, chunks);
    T mean = T(0), m2 = T(0);
    long long n = 0;
    for (long long j = item.chunk; j < count; j += chunks) {
      const T v = x[channel_entry(j, item.ch, c, b)];
      ++n;
      const T delta = v - mean;
      mean += delta / T(n);
      m2 += delta * (v - mean);
    }
    partial_mean[item.ch * chunks + item.chunk] = mean;
    partial_m2[item.ch * chunks + item.chunk] = m2;
  }
}

// One thread per channel: its chunks merged in order by Chan's pairwise update (no E[x^2] -
// mean^2 cancellation); var = M2 / count. count == 0 gives NaN for both, as numpy.mean.
// total = c.
template <typename T>
__global__ void moments_combine(const T* partial_mean, const T* partial_m2, T* mean, T* var,
                                long long total, long long count, long long chunks) {
  GRID_STRIDE_LOOP(ch, total) {
    T running_mean = T(0), m2 = T(0);
    long long n = 0;
    for (long long k = 0; k < chunks; ++k) {
      const long long size = chunk_size(k, count, chunks);
      if (size == 0) continue;
      const T delta = partial_mean[ch * chunks + k] - running_mean;
      const long long merged = n + size;
      const T weight = T(size) / T(merged);
      running_mean += delta * weight;
      m2 += partial_m2[ch * chunks + k] + delta * delta * T(n) * weight;
      n = merged;
    }
    const T nan = T(0) / T(count);  // only read when count == 0: 0 / 0
    mean[ch] = count > 0 ? running_mean : nan;
    var[ch] = count > 0 ? m2 / T(count) : nan;
  }
}

// One thread per channel: the sums of its chunks' two partial sums, in chunk order.
// total = c.
template <typename T>
__global__ void chunk_sums_combine(const T* partial_first, const T* partial_second, T* first,
                                   T* second, long long total, long long chunks) {
  GRID_STRIDE_LOOP(ch, total) {
    T sum_first = T(0), sum_second = T(0);
    for (long long k = 0; k < chunks; ++k) {
      sum_first += partial_first[ch * chunks + k];
      sum_second += partial_second[ch * chunks + k];
    }
    first[ch] = sum_first;
    second[ch] = sum_second;
  }
}

// --- batch normalization ------------------------------------------------------------------

// One thread per element: y = x * scale + shift, scale = gamma * inv, shift = beta - mean *
// scale (Keras 3's formulation, as the reference). total = a * c * b.
template <typename T>
__global__ void batch_norm_forward(const T* x, const T* mean, const T* var, const T* gamma,
                                   const T* beta, T* y, long long total, long long c,
                                   long long b, T epsilon) {
  GRID_STRIDE_LOOP(i, total) {
    const long long ch = i / b % c;
    const T scale = gamma[ch] * inverse_std(var[ch], epsilon);
    const T shift = beta[ch] - mean[ch] * scale;
    y[i] = x[i] * scale + shift;
  }
}

// One thread per (channel, chunk): partial sums of dy and dy * xhat, xhat = (x - mean) * inv.
// total = c * chunks.
template <typename T>
__global__ void batch_norm_backward_partial(const T* dy, const T* x, const T* mean, const T* var,
                                            T* partial_dy, T* partial_dy_xhat, long long total,
                                            long long c, long long b, long long count,
                                            long long chunks, T epsilon) {
  GRID_STRIDE_LOOP(t, total) {
    const ChunkItem item = chunk_item(t, c, b, chunks);
    const T channel_mean = mean[item.ch];
    const T inv = inverse_std(var[item.ch], epsilon);
    T sum_dy = T(0), sum_dy_xhat = T(0);
    for (long long j = item.chunk; j < count; j += chunks) {
      const long long o = channel_entry(j, item.ch, c, b);
      const T xhat = (x[o] - channel_mean) * inv;
      sum_dy += dy[o];
      sum_dy_xhat += dy[o] * xhat;
    }
    partial_dy[item.ch * chunks + item.chunk] = sum_dy;
    partial_dy_xhat[item.ch * chunks + item.chunk] = sum_dy_xhat;
  }
}

// One thread per element: dx = gamma * inv * (dy - sum_dy / count - xhat * sum_dy_xhat /
// count) when the statistics are this batch's (batch_stats != 0), else gamma * inv * dy; in the
// reference's order of operations. total = a * c * b.
template <typename T>
__global__ void batch_norm_backward(const T* dy, const T* x, const T* mean, const T* var,
                                    const T* gamma, const T* sum_dy, const T* sum_dy_xhat, T* dx,
                                    long long total, long long c, long long b, long long count,
                                    int batch_stats, T epsilon) {
  GRID_STRIDE_LOOP(i, total) {
    const long long ch = i / b % c;
    const T inv = inverse_std(var[ch], epsilon);
    const T scale = gamma[ch] * inv;
    if (batch_stats) {
      const T xhat = (x[i] - mean[ch]) * inv;
      dx[i] = (xhat * (-sum_dy_xhat[ch] / T(count)) + dy[i] - sum_dy[ch] / T(count)) * scale;
    } else {
      dx[i] = scale * dy[i];
    }
  }
}

// --- layer normalization: (rows, d), statistics per row -------------------------------------
// (mean and var per row: moments_partial and moments_combine on the (1, rows, d) view)

// One thread per element: y = x * s + (beta - mean * s), s = inv * gamma (Keras 3's
// formulation, as the reference). total = rows * d.
template <typename T>
__global__ void layer_norm_forward(const T* x, const T* mean, const T* var, const T* gamma,
                                   const T* beta, T* y, long long total, long long d,
                                   T epsilon) {
  GRID_STRIDE_LOOP(i, total) {
    const long long r = i / d, j = i % d;
    const T s = inverse_std(var[r], epsilon) * gamma[j];
    y[i] = x[i] * s + (beta[j] - mean[r] * s);
  }
}

// One thread per (row, chunk of its features): partial sums of g and g * xhat, g = dy * gamma.
// total = rows * chunks.
template <typename T>
__global__ void layer_norm_row_partial(const T* dy, const T* x, const T* mean, const T* var,
                                       const T* gamma, T* partial_g, T* partial_g_xhat,
                                       long long total, long long rows, long long d,
                                       long long chunks, T epsilon) {
  GRID_STRIDE_LOOP(t, total) {
    const ChunkItem item = chunk_item(t, rows, d, chunks);
    const T row_mean = mean[item.ch];
    const T inv = inverse_std(var[item.ch], epsilon);
    T sum_g = T(0), sum_g_xhat = T(0);
    for (long long j = item.chunk; j < d; j += chunks) {
      const long long o = item.ch * d + j;
      const T g = dy[o] * gamma[j];
      sum_g += g;
      sum_g_xhat += g * ((x[o] - row_mean) * inv);
    }
    partial_g[item.ch * chunks + item.chunk] = sum_g;
    partial_g_xhat[item.ch * chunks + item.chunk] = sum_g_xhat;
  }
}

// One thread per (feature, chunk of the rows): partial sums of dy * xhat (dgamma) and dy
// (dbeta). total = d * chunks.
template <typename T>
__global__ void layer_norm_column_partial(const T* dy, const T* x, const T* mean, const T* var,
                                          T* partial_dy_xhat, T* partial_dy, long long total,
                                          long long rows, long long d, long long chunks,
                                          T epsilon) {
  GRID_STRIDE_LOOP(t, total) {
    const ChunkItem item = chunk_item(t, d, 1, chunks);  // the (rows, d, 1) view
    T sum_dy_xhat = T(0), sum_dy = T(0);
    for (long long r = item.chunk; r < rows; r += chunks) {
      const long long o = r * d + item.ch;
      const T xhat = (x[o] - mean[r]) * inverse_std(var[r], epsilon);
      sum_dy_xhat += dy[o] * xhat;
      sum_dy += dy[o];
    }
    partial_dy_xhat[item.ch * chunks + item.chunk] = sum_dy_xhat;
    partial_dy[item.ch * chunks + item.chunk] = sum_dy;
  }
}

// One thread per element: dx = inv * (g - s1 / d - xhat * (s2 / d)), s1 and s2 the row's sums
// of g and g * xhat. total = rows * d.
template <typename T>
__global__ void layer_norm_backward(const T* dy, const T* x, const T* mean, const T* var,
                                    const T* gamma, const T* sum_g, const T* sum_g_xhat, T* dx,
                                    long long total, long long d, T epsilon) {
  GRID_STRIDE_LOOP(i, total) {
    const long long r = i / d, j = i % d;
    const T inv = inverse_std(var[r], epsilon);
    const T xhat = (x[i] - mean[r]) * inv;
    const T g = dy[i] * gamma[j];
    dx[i] = inv * (g - sum_g[r] / T(d) - xhat * (sum_g_xhat[r] / T(d)));
  }
}
