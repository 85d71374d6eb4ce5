"""Keras-2-style text progress bar."""
import math
import sys
import time

# Non-terminal output (log files, pipes) gets a new line only when both this much time has
# passed and the bar advanced by this fraction of the target since the last line.
NON_TTY_MIN_SECONDS = 10.0
NON_TTY_MIN_FRACTION = 0.1


def format_value(value):
    """Keras metric formatting: ``%.4f``, or ``%.4e`` for magnitudes up to 1e-3."""
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _format_time(seconds_per_unit, unit_name):
    if seconds_per_unit >= 1 or seconds_per_unit == 0:
        return f" {seconds_per_unit:.0f}s/{unit_name}"
    if seconds_per_unit >= 1e-3:
        return f" {seconds_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {seconds_per_unit * 1e6:.0f}us/{unit_name}"


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


class Progbar:
    """Displays a progress bar.

    Args:
        target: total number of steps expected, None if unknown.
        width: progress bar width on screen.
        verbose: 0 (silent), 1 (live bar), 2 (one line when finalized).
        interval: minimum seconds between redraws on a terminal.
        stateful_metrics: names of metrics displayed as given; all others are averaged
            over the updates, weighted by the steps each update covers.
        unit_name: display name for step counts (e.g. "step" or "sample").

    Values are converted to Python floats only when a line is drawn, so passing backend
    scalars (a device sync on GPU to read) costs nothing on updates that are not drawn.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: `verbose` must be 0, 1 or 2. Received: verbose={verbose!r}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self.unit_name = unit_name
        self._dynamic_display = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        self._seen_so_far = 0
        self._values = {}  # name -> [sum of value * steps, steps]
        self._values_order = []
        self._start = time.monotonic()
        # A terminal shows the first step at once; a log file waits out the first period.
        self._last_update = -math.inf if self._dynamic_display else self._start
        self._last_line_step = 0
        self._time_after_first_step = None
        self._total_width = 0

    def update(self, current, values=None, finalize=None):
        """Updates the bar to step ``current``.

        Args:
            current: index of the current step (1-based count of completed steps).
            values: list of ``(name, value)`` pairs; metrics not in ``stateful_metrics`` are
                averaged over time.
            finalize: whether this is the last update; defaults to ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            if name not in self._values:
                self._values_order.append(name)
            if name in self.stateful_metrics or finalize:
                self._values[name] = [value, 1]
            else:
                steps = max(current - self._seen_so_far, 1)
                if name in self._values:
                    self._values[name][0] = self._values[name][0] + value * steps
                    self._values[name][1] += steps
                else:
                    self._values[name] = [value * steps, steps]
        self._seen_so_far = current

        if self.verbose == 0 or (self.verbose == 2 and not finalize):
            return
        now = time.monotonic()
        if not finalize and not self._due(current, now):
            return
        seconds_per_step = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            self._draw_bar(current, now, seconds_per_step, finalize)
        else:
            self._draw_summary(current, now, seconds_per_step)
        self._last_update = now
        self._last_line_step = current

    def add(self, n, values=None):
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    def _due(self, current, now):
        if self._dynamic_display:
            return now - self._last_update >= self.interval
        if now - self._last_update < max(self.interval, NON_TTY_MIN_SECONDS):
            return False
        if not self.target:
            return True
        return current - self._last_line_step >= NON_TTY_MIN_FRACTION * self.target

    def _metrics_text(self):
        text = ""
        for name in self._values_order:
            total, count = self._values[name]
            if getattr(total, "ndim", 0) > 0:  # vector-valued metric: show its mean
                total = total.mean()
            text += f" - {name}: " + format_value(float(total) / max(1, count))
        return text

    def _counter(self, current):
        if not self.target:
            return "%7d/Unknown" % current
        digits = int(math.log10(self.target)) + 1
        return f"%{digits}d/%d" % (current, self.target)

    def _draw_bar(self, current, now, seconds_per_step, finalize):
        bar = self._counter(current)
        if self.target:
            filled = int(self.width * min(current / self.target, 1.0))
            bar += " ["
            if filled > 0:
                bar += "=" * (filled - 1) + (">" if current < self.target else "=")
            bar += "." * (self.width - filled) + "]"
        if finalize or not self.target:
            info = f" - {now - self._start:.0f}s" + _format_time(seconds_per_step, self.unit_name)
        else:
            info = " - ETA: " + _format_eta(seconds_per_step * (self.target - current))
        line = bar + info + self._metrics_text()
        if self._dynamic_display:
            # Pad with spaces to wipe leftovers of a longer previous line.
            message = "\r" + line + " " * max(self._total_width - len(line), 0)
            self._total_width = len(line)
            if finalize:
                message += "\n"
        else:
            message = line + "\n"
        sys.stdout.write(message)
        sys.stdout.flush()

    def _draw_summary(self, current, now, seconds_per_step):
        line = f"{self._counter(current)} - {now - self._start:.0f}s" + self._metrics_text()
        line += " -" + _format_time(seconds_per_step, self.unit_name)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def _estimate_step_duration(self, current, now):
        # The first step (compilation, warm-up) is left out of the estimate once there are more.
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            seconds = (now - self._time_after_first_step) / (current - 1)
        else:
            seconds = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return seconds
