"""What CIFAR-10 and CIFAR-100 share: reading one python-format batch file."""
from ..utils.safe_pickle import restricted_load


def load_batch(fpath, label_key="labels"):
    """Read one CIFAR batch (a Python 2 pickle of a dict) without running code.

    Args:
        fpath: path of the batch file.
        label_key: the dict key of the labels (``'labels'``, ``'fine_labels'``,
            ``'coarse_labels'``).

    Returns:
        ``(data, labels)``: uint8 images ``(n, 3, 32, 32)`` and the list of labels.
    """
    with open(fpath, "rb") as f:
        batch = restricted_load(f, fpath, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"{fpath}: expected a CIFAR batch (a pickled dict), found a "
                         f"{type(batch).__name__}.")
    batch = {key.decode("utf8") if isinstance(key, bytes) else key: value
             for key, value in batch.items()}
    data = batch["data"]
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]
