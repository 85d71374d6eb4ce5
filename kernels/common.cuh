// Put in front of every kernels/*.cu by the loader (gkeras.kernels.source), so NVRTC, CuPy
// and the CPU shim all compile the same text. Plain C++17: no CUDA headers, no intrinsics.

// One thread per work item; any grid covers any n (64-bit: n may pass 2^31).
#define GRID_STRIDE_LOOP(i, n)                                                   \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (long long)blockDim.x * gridDim.x)

// Element (b, ch, row, col) of a (batch, channel, rows, cols) image in either layout.
struct Pixel {
  long long b;
  int ch, row, col;
};

// Splits the flat index of an image of `rows` x `cols` pixels and `c` channels.
__device__ __forceinline__ Pixel split_pixel(long long i, int channels_last, int c, int rows,
                                             int cols) {
  Pixel p;
  if (channels_last) {  // (n, rows, cols, c)
    p.ch = (int)(i % c);
    i /= c;
    p.col = (int)(i % cols);
    i /= cols;
    p.row = (int)(i % rows);
    p.b = i / rows;
  } else {  // (n, c, rows, cols)
    p.col = (int)(i % cols);
    i /= cols;
    p.row = (int)(i % rows);
    i /= rows;
    p.ch = (int)(i % c);
    p.b = i / c;
  }
  return p;
}

// Flat index of pixel (b, ch, row, col) of an image of `rows` x `cols` pixels, `c` channels.
__device__ __forceinline__ long long pixel_offset(long long b, int ch, int row, int col,
                                                  int channels_last, int c, int rows, int cols) {
  return channels_last ? ((b * rows + row) * cols + col) * c + ch
                       : ((b * c + ch) * rows + row) * cols + col;
}

// How many of the k taps start, start + d, ..., start + (k - 1) d fall inside [0, n).
__device__ __forceinline__ int taps_inside(int start, int k, int d, int n) {
  int count = 0;
  for (int i = 0; i < k; ++i) count += (start + i * d >= 0 && start + i * d < n);
  return count;
}

// The output position o (along one axis) whose tap i reads input position p: o * s - pad + i * d
// == p. Returns -1 if there is none inside [0, outputs).
__device__ __forceinline__ int window_reading(int p, int i, int s, int d, int pad, int outputs) {
  const int t = p + pad - i * d;
  if (t < 0 || t % s != 0 || t / s >= outputs) return -1;
  return t / s;
}
