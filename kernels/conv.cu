// im2col and its adjoint col2im (primitives 1 and 2 of docs/backend_primitives.md).
// Geometry, the same in every kernel of gkeras: input (n, h, w, c) if channels_last else
// (n, c, h, w); output oh x ow; window kh x kw; strides sh, sw; dilation dh, dw; top/left
// pads pt, pl (bottom/right pads only shrink oh, ow). `total` is the number of work items.

// Flat index of cols[b, oy, ox, i, j, ch] (channels_last) or cols[b, ch, i, j, oy, ox].
__device__ __forceinline__ long long col_offset(long long b, int ch, int i, int j, int oy, int ox,
                                                int channels_last, int c, int oh, int ow, int kh,
                                                int kw) {
  return channels_last ? ((((b * oh + oy) * ow + ox) * kh + i) * kw + j) * c + ch
                       : ((((b * c + ch) * kh + i) * kw + j) * oh + oy) * ow + ox;
}

// One thread per cols element: copies its input pixel, or 0 where that lies in the padding.
template <typename T>
__global__ void im2col(const T* x, T* cols, long long total, int channels_last, int c, int h,
                       int w, int oh, int ow, int kh, int kw, int sh, int sw, int dh, int dw,
                       int pt, int pl) {
  GRID_STRIDE_LOOP(k, total) {
    long long r = k;
    int ch, i, j, oy, ox;
    if (channels_last) {  // (n, oh, ow, kh, kw, c)
      ch = (int)(r % c), r /= c;
      j = (int)(r % kw), r /= kw;
      i = (int)(r % kh), r /= kh;
      ox = (int)(r % ow), r /= ow;
      oy = (int)(r % oh), r /= oh;
    } else {  // (n, c, kh, kw, oh, ow)
      ox = (int)(r % ow), r /= ow;
      oy = (int)(r % oh), r /= oh;
      j = (int)(r % kw), r /= kw;
      i = (int)(r % kh), r /= kh;
      ch = (int)(r % c), r /= c;
    }
    const int row = oy * sh - pt + i * dh;
    const int col = ox * sw - pl + j * dw;
    const bool inside = row >= 0 && row < h && col >= 0 && col < w;
    cols[k] = inside ? x[pixel_offset(r, ch, row, col, channels_last, c, h, w)] : T(0);
  }
}

// One thread per input pixel (a gather: no atomics, the same sum order on every run): adds the
// cols entries that im2col copied from it, taps in increasing (i, j) order.
template <typename T>
__global__ void col2im(const T* cols, T* dx, long long total, int channels_last, int c, int h,
                       int w, int oh, int ow, int kh, int kw, int sh, int sw, int dh, int dw,
                       int pt, int pl) {
  GRID_STRIDE_LOOP(k, total) {
    const Pixel p = split_pixel(k, channels_last, c, h, w);
    T sum = T(0);
    for (int i = 0; i < kh; ++i) {
      const int oy = window_reading(p.row, i, sh, dh, pt, oh);
      if (oy < 0) continue;
      for (int j = 0; j < kw; ++j) {
        const int ox = window_reading(p.col, j, sw, dw, pl, ow);
        if (ox < 0) continue;
        sum += cols[col_offset(p.b, p.ch, i, j, oy, ox, channels_last, c, oh, ow, kh, kw)];
      }
    }
    dx[k] = sum;
  }
}
