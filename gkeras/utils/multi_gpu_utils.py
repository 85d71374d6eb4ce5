"""``keras.utils.multi_gpu_utils`` of Keras 2.2.4: data parallelism over several GPUs, not
supported by gkeras."""


def multi_gpu_model(model, gpus=None, cpu_merge=True, cpu_relocation=False):
    """Refused with a ``ValueError`` (what Keras 2 raises when it cannot replicate)."""
    raise ValueError(
        "multi_gpu_model is not supported by gkeras: a model trains on one device. Train the "
        "model itself: with KERAS_BACKEND=cupy it runs on the current CUDA device (choose it "
        "with CUDA_VISIBLE_DEVICES); see docs/gpu.md.")


__all__ = ["multi_gpu_model"]
