// One fused update per optimizer: each thread reads an element of the weight, the gradient and
// the slots once, runs the optimizer's equations in registers and writes the weight and the
// slots once. The contract (and the reference these kernels match bit for bit on the CPU) is
// backends/numpy_optimizers.py: every line below is one NumPy ufunc pass of the reference, in
// its order, rounded to T. The step's scalars (learning rate, bias corrections) are arguments
// computed on the host; a slot the configuration does not use is a placeholder never read.
// With device_step != 0 the step-dependent ones (numpy_optimizers.STEP_SCALARS, in that order)
// are read from the device array `step` instead (an optimizer in device steps: its step count
// lives on the device); otherwise `step` is a placeholder never read.

__device__ __forceinline__ float optimizer_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double optimizer_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float optimizer_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double optimizer_abs(double x) { return fabs(x); }

// numpy.maximum: a NaN in either argument wins (the first one); otherwise a >= b ? a : b
template <typename T>
__device__ __forceinline__ T optimizer_maximum(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  return a >= b ? a : b;
}

// state += (value - state) * rate
template <typename T>
__device__ __forceinline__ T moving_average(T state, T value, T rate) {
  T tmp = value - state;
  tmp = tmp * rate;
  return state + tmp;
}

template <typename T>
__global__ void sgd_update(T* weight, const T* grad, T* velocity, const T* step,
                           long long total, T learning_rate, T momentum, int nesterov,
                           int device_step) {
  if (device_step) learning_rate = step[0];
  GRID_STRIDE_LOOP(i, total) {
    const T step = grad[i] * learning_rate;
    T w = weight[i];
    if (momentum == T(0)) {
      weight[i] = w - step;
      continue;
    }
    T v = velocity[i] * momentum;
    v = v - step;
    velocity[i] = v;
    if (nesterov) {
      w = w - step;
      w = w + v * momentum;
    } else {
      w = w + v;
    }
    weight[i] = w;
  }
}

template <typename T>
__global__ void rmsprop_update(T* weight, const T* grad, T* velocity, T* momentum_slot,
                               T* average_gradient, const T* step, long long total,
                               T learning_rate, T rho, T one_minus_rho, T epsilon, T momentum,
                               int centered, int device_step) {
  if (device_step) learning_rate = step[0];
  GRID_STRIDE_LOOP(i, total) {
    const T g = grad[i];
    T tmp = g * g;
    tmp = tmp * one_minus_rho;
    T v = velocity[i] * rho;
    v = v + tmp;
    velocity[i] = v;
    if (centered) {
      T a = average_gradient[i] * rho;
      a = a + g * one_minus_rho;
      average_gradient[i] = a;
      tmp = a * a;
      tmp = v - tmp;
      tmp = tmp + epsilon;
    } else {
      tmp = v + epsilon;
    }
    tmp = optimizer_sqrt(tmp);
    T increment = g / tmp;
    increment = increment * learning_rate;
    if (momentum > T(0)) {
      T m = momentum_slot[i] * momentum;
      m = m + increment;
      momentum_slot[i] = m;
      increment = m;
    }
    weight[i] = weight[i] - increment;
  }
}

template <typename T>
__global__ void adagrad_update(T* weight, const T* grad, T* accumulator, const T* step,
                               long long total, T learning_rate, T epsilon, int device_step) {
  if (device_step) learning_rate = step[0];
  GRID_STRIDE_LOOP(i, total) {
    const T g = grad[i];
    const T acc = accumulator[i] + g * g;
    accumulator[i] = acc;
    T tmp = acc + epsilon;
    tmp = optimizer_sqrt(tmp);
    tmp = g / tmp;
    tmp = tmp * learning_rate;
    weight[i] = weight[i] - tmp;
  }
}

template <typename T>
__global__ void adadelta_update(T* weight, const T* grad, T* accumulated_grad,
                                T* accumulated_delta_var, const T* step, long long total,
                                T learning_rate, T rho, T one_minus_rho, T epsilon,
                                int device_step) {
  if (device_step) learning_rate = step[0];
  GRID_STRIDE_LOOP(i, total) {
    const T g = grad[i];
    T tmp = g * g;
    tmp = tmp * one_minus_rho;
    T acc_grad = accumulated_grad[i] * rho;
    acc_grad = acc_grad + tmp;
    accumulated_grad[i] = acc_grad;
    const T acc_delta = accumulated_delta_var[i];
    tmp = acc_delta + epsilon;  // -delta = sqrt(acc_delta + eps) * g / sqrt(acc_grad + eps)
    tmp = optimizer_sqrt(tmp);
    tmp = tmp * g;
    T tmp2 = acc_grad + epsilon;
    tmp2 = optimizer_sqrt(tmp2);
    tmp = tmp / tmp2;
    tmp2 = tmp * tmp;
    tmp2 = tmp2 * one_minus_rho;
    T new_delta = acc_delta * rho;
    accumulated_delta_var[i] = new_delta + tmp2;
    tmp = tmp * learning_rate;
    weight[i] = weight[i] - tmp;
  }
}

template <typename T>
__global__ void adam_update(T* weight, const T* grad, T* momentum, T* velocity,
                            T* velocity_hat, const T* step, long long total, T alpha,
                            T one_minus_beta_1, T one_minus_beta_2, T epsilon, int amsgrad,
                            int device_step) {
  if (device_step) alpha = step[0];
  GRID_STRIDE_LOOP(i, total) {
    const T g = grad[i];
    const T m = moving_average(momentum[i], g, one_minus_beta_1);
    momentum[i] = m;
    T v = moving_average(velocity[i], g * g, one_minus_beta_2);
    velocity[i] = v;
    if (amsgrad) {
      v = optimizer_maximum(velocity_hat[i], v);
      velocity_hat[i] = v;
    }
    T tmp = optimizer_sqrt(v);
    tmp = tmp + epsilon;
    tmp = m / tmp;
    tmp = tmp * alpha;
    weight[i] = weight[i] - tmp;
  }
}

template <typename T>
__global__ void adamax_update(T* weight, const T* grad, T* momentum, T* norm, const T* step,
                              long long total, T step_size, T one_minus_beta_1, T beta_2,
                              T epsilon, int device_step) {
  if (device_step) step_size = step[0];
  GRID_STRIDE_LOOP(i, total) {
    const T g = grad[i];
    const T m = moving_average(momentum[i], g, one_minus_beta_1);
    momentum[i] = m;
    T u = norm[i] * beta_2;
    u = optimizer_maximum(u, optimizer_abs(g));
    norm[i] = u;
    T tmp = u + epsilon;
    tmp = m / tmp;
    tmp = tmp * step_size;
    weight[i] = weight[i] - tmp;
  }
}

template <typename T>
__global__ void nadam_update(T* weight, const T* grad, T* momentum, T* velocity,
                             const T* step, long long total, T learning_rate,
                             T one_minus_beta_1, T one_minus_beta_2, T epsilon, T c_m, T c_g,
                             T inv_sqrt_bias, int device_step) {
  if (device_step) {
    learning_rate = step[0];
    c_m = step[1];
    c_g = step[2];
    inv_sqrt_bias = step[3];
  }
  GRID_STRIDE_LOOP(i, total) {
    const T g = grad[i];
    const T m = moving_average(momentum[i], g, one_minus_beta_1);
    momentum[i] = m;
    const T v = moving_average(velocity[i], g * g, one_minus_beta_2);
    velocity[i] = v;
    T tmp = m * c_m;
    tmp = tmp + g * c_g;  // m_hat = c_m * m + c_g * g
    T tmp2 = optimizer_sqrt(v);
    tmp2 = tmp2 * inv_sqrt_bias;
    tmp2 = tmp2 + epsilon;
    tmp = tmp / tmp2;
    tmp = tmp * learning_rate;
    weight[i] = weight[i] - tmp;
  }
}
