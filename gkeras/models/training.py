"""Training API (compile/fit/evaluate/predict) mixed into ``Model``."""


class Trainer:
    def __init__(self):
        self.optimizer = None
        self.stop_training = False
