"""``keras.utils.Sequence``: a dataset of batches that knows its length, so that fit can
shuffle the batch order and prefetch safely."""


class Sequence:
    """Base class of a batch dataset: subclass it and define ``__getitem__(index)`` (one
    batch: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``) and ``__len__`` (batches per
    epoch). ``on_epoch_end`` runs after every epoch (reshuffle there)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index).")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__().")

    def on_epoch_end(self):
        """Called at the end of every epoch."""

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]
