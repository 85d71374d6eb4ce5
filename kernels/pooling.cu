// Max and average pooling, forward and backward (primitives 3-6 of docs/backend_primitives.md).
// Geometry as in conv.cu: input (n, h, w, c) if channels_last else (n, c, h, w), output
// oh x ow (same layout), window kh x kw, strides sh, sw, dilation dh, dw (1 for Keras's
// pooling layers), top/left pads pt, pl. `total` is the number of work items.

template <typename T>
__device__ __forceinline__ T negative_infinity() {
  return T(-1) / T(0);
}

// One thread per output: the largest real (non-padded) input of its window and that input's
// offset i * kw + j in the window. Taps are scanned in increasing offset order and only a
// strictly larger value replaces the best, so ties go to the lowest offset; a NaN wins and
// stays, as with numpy.argmax. A window entirely in the padding gives -inf and offset 0.
template <typename T>
__global__ void max_pool(const T* x, T* y, int* argmax, long long total, int channels_last, int c,
                         int h, int w, int oh, int ow, int kh, int kw, int sh, int sw, int dh,
                         int dw, int pt, int pl) {
  GRID_STRIDE_LOOP(k, total) {
    const Pixel o = split_pixel(k, channels_last, c, oh, ow);
    T best = negative_infinity<T>();
    int best_offset = 0;
    bool found = false;
    for (int i = 0; i < kh; ++i) {
      const int row = o.row * sh - pt + i * dh;
      if (row < 0 || row >= h) continue;
      for (int j = 0; j < kw; ++j) {
        const int col = o.col * sw - pl + j * dw;
        if (col < 0 || col >= w) continue;
        const T v = x[pixel_offset(o.b, o.ch, row, col, channels_last, c, h, w)];
        if (!found || v > best || (v != v && best == best)) {
          best = v;
          best_offset = i * kw + j;
          found = true;
        }
      }
    }
    y[k] = best;
    argmax[k] = best_offset;
  }
}

// One thread per input pixel (a gather): the sum of dy over the outputs whose winner it is.
template <typename T>
__global__ void max_pool_backward(const T* dy, const int* argmax, T* dx, long long total,
                                  int channels_last, int c, int h, int w, int oh, int ow, int kh,
                                  int kw, int sh, int sw, int dh, int dw, int pt, int pl) {
  GRID_STRIDE_LOOP(k, total) {
    const Pixel p = split_pixel(k, channels_last, c, h, w);
    T sum = T(0);
    for (int i = 0; i < kh; ++i) {
      const int oy = window_reading(p.row, i, sh, dh, pt, oh);
      if (oy < 0) continue;
      for (int j = 0; j < kw; ++j) {
        const int ox = window_reading(p.col, j, sw, dw, pl, ow);
        if (ox < 0) continue;
        const long long o = pixel_offset(p.b, p.ch, oy, ox, channels_last, c, oh, ow);
        if (argmax[o] == i * kw + j) sum += dy[o];
      }
    }
    dx[k] = sum;
  }
}

// Number of real (non-padded) inputs in the window of output (oy, ox): Keras's divisor.
__device__ __forceinline__ int window_size(int oy, int ox, int h, int w, int kh, int kw, int sh,
                                           int sw, int dh, int dw, int pt, int pl) {
  return taps_inside(oy * sh - pt, kh, dh, h) * taps_inside(ox * sw - pl, kw, dw, w);
}

// One thread per output: the mean of its window's real inputs (0 for a window of padding only).
template <typename T>
__global__ void avg_pool(const T* x, T* y, long long total, int channels_last, int c, int h,
                         int w, int oh, int ow, int kh, int kw, int sh, int sw, int dh, int dw,
                         int pt, int pl) {
  GRID_STRIDE_LOOP(k, total) {
    const Pixel o = split_pixel(k, channels_last, c, oh, ow);
    T sum = T(0);
    for (int i = 0; i < kh; ++i) {
      const int row = o.row * sh - pt + i * dh;
      if (row < 0 || row >= h) continue;
      for (int j = 0; j < kw; ++j) {
        const int col = o.col * sw - pl + j * dw;
        if (col < 0 || col >= w) continue;
        sum += x[pixel_offset(o.b, o.ch, row, col, channels_last, c, h, w)];
      }
    }
    const int count = window_size(o.row, o.col, h, w, kh, kw, sh, sw, dh, dw, pt, pl);
    y[k] = count > 0 ? sum / T(count) : T(0);
  }
}

// One thread per input pixel (a gather): the sum of dy / window size over the windows it is in.
template <typename T>
__global__ void avg_pool_backward(const T* dy, T* dx, long long total, int channels_last, int c,
                                  int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                                  int dh, int dw, int pt, int pl) {
  GRID_STRIDE_LOOP(k, total) {
    const Pixel p = split_pixel(k, channels_last, c, h, w);
    T sum = T(0);
    for (int i = 0; i < kh; ++i) {
      const int oy = window_reading(p.row, i, sh, dh, pt, oh);
      if (oy < 0) continue;
      for (int j = 0; j < kw; ++j) {
        const int ox = window_reading(p.col, j, sw, dw, pl, ow);
        if (ox < 0) continue;
        const int count = window_size(oy, ox, h, w, kh, kw, sh, sw, dh, dw, pt, pl);
        sum += dy[pixel_offset(p.b, p.ch, oy, ox, channels_last, c, oh, ow)] / T(count);
      }
    }
    dx[k] = sum;
  }
}
