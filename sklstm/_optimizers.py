"""Optimizer state for the engine's update rules (src_c/kernels_template.h).

The update itself runs in compiled code after every minibatch; these classes
hold what it needs and persists across ``partial_fit`` and ``warm_start``
calls: hyper-parameters, the per-parameter state vectors and the step count.
"""

import numpy as np

from . import _engine


class Optimizer:
    """Hyper-parameters and state of one of the engine's update rules.

    Parameters
    ----------
    solver : {"sgd", "adam", "rmsprop"}
    n_params : int
    dtype : numpy dtype
        That of the parameters the state follows.
    """

    _codes = {"sgd": _engine.SGD, "adam": _engine.ADAM, "rmsprop": _engine.RMSPROP}

    def __init__(self, solver, n_params, dtype):
        self.name = solver
        self.solver = self._codes[solver]
        # SGD keeps a velocity, RMSprop a mean square, Adam both moments.
        self.state_1 = np.zeros(n_params, dtype=dtype)
        self.state_2 = np.zeros(n_params if solver == "adam" else 1, dtype=dtype)
        # Updates so far, an array so that the engine counts in place and an
        # interrupted epoch leaves it consistent with the state.
        self.step = np.zeros(1, dtype=np.int_)
        self.learning_rate = None

    def configure(self, *, momentum, nesterov, beta_1, beta_2, epsilon, rho):
        """Set the hyper-parameters (before each fit); the state is kept. The
        learning rate is set apart, as the estimator's schedule moves it."""
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.rho = float(rho)
