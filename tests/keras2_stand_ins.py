"""``python tests/keras2_stand_ins.py DATASETS_DIR script.py [args...]``: run a Keras 2 script
as ``python -m gkeras.keras2 script.py [args...]`` does, with one test double.

The stand-in dataset files in DATASETS_DIR (tests/keras2_datasets.py) cannot have the hashes of
the real files that ``keras.datasets`` checks, so ``get_file``'s check is told each stand-in's
own sha256, taken here before the script starts, in place of the real file's: a stand-in that
changes afterwards still fails the check, and every other file is checked as usual.
"""
import hashlib
import os
import sys

from gkeras.keras2.__main__ import main


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def accept_stand_ins(folder):
    try:
        from gkeras.utils import data_utils
    except ImportError:  # no get_file yet: the script's own import error will say so
        return
    stand_ins = {os.path.realpath(entry.path): sha256(entry.path)
                 for entry in os.scandir(folder) if entry.is_file()}
    check = data_utils.validate_file

    def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
        own = stand_ins.get(os.path.realpath(fpath))
        if own is not None:
            return check(fpath, own, "sha256", chunk_size)
        return check(fpath, file_hash, algorithm, chunk_size)

    data_utils.validate_file = validate_file


if __name__ == "__main__":
    accept_stand_ins(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
