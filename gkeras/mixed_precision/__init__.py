"""Mixed precision as Keras 3 names it: ``set_global_policy('mixed_float16')`` makes the
layers created afterwards compute in float16 on float32 weights; ``LossScaleOptimizer``
scales the loss so that float16 gradients do not underflow."""
from .dtype_policy import (DTypePolicy, Policy, dtype_policy, global_policy, set_dtype_policy,
                           set_global_policy)

from ..optimizers.loss_scale_optimizer import LossScaleOptimizer

__all__ = ["DTypePolicy", "Policy", "LossScaleOptimizer", "dtype_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]
