"""``python -m gkeras.keras2 script.py [args...]``: run a Keras 2 script with ``keras`` being
gkeras, as ``python script.py [args...]`` would run it (``sys.argv``, ``__name__ ==
'__main__'``, the script's folder first on ``sys.path``)."""
import os
import runpy
import sys

from . import install

USAGE = "usage: python -m gkeras.keras2 script.py [args...]"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE + "\nRuns a Keras 2 script with `import keras` giving gkeras.",
              file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    script = argv[0]
    if not os.path.isfile(script):
        print(f"gkeras.keras2: no script file {script!r}\n{USAGE}", file=sys.stderr)
        return 2
    install()
    sys.argv = argv
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
