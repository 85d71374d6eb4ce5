// Makes gkeras's CUDA kernels plain C++ for g++ (tests/kernels/shim.py): the CUDA keywords
// go away, and the built-in thread coordinates become variables that the generated launcher
// sets before calling the kernel once per thread, block by block, thread by thread.
// Enough for kernels without __shared__ memory or __syncthreads (gkeras uses neither).
#pragma once

#include <math.h>  // tanhf, tanh: built into NVRTC, from the C library here

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct ShimDim3 {
  unsigned int x, y, z;
};

inline ShimDim3 blockIdx, threadIdx, blockDim, gridDim;
