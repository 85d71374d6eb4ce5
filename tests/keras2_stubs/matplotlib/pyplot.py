"""``matplotlib.pyplot`` stand-in: every function is accepted and recorded; ``savefig`` writes
the names of the calls made so far to the file, so a test can see what was plotted."""
CALLS = []


def savefig(filename, *args, **kwargs):
    with open(filename, "w") as f:
        f.write("\n".join(CALLS + ["savefig"]) + "\n")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def record(*args, **kwargs):
        CALLS.append(name)

    return record
