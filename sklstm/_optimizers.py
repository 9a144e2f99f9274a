"""Optimizer state for the engine's update rules (src_c/kernels_template.h).

The update itself runs in compiled code after every minibatch; these classes
hold what it needs and persists across ``partial_fit`` and ``warm_start``
calls: hyper-parameters, the per-parameter state vectors and the step count.
"""

import numpy as np

from . import _engine

# What configure sets, in the engine's terms.
_HYPER_PARAMETERS = ("momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho")


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

    def state(self):
        """What ``from_state`` restores: the solver's name, hyper-parameters
        and state arrays, as plain values (for pickles and skops files)."""
        return {name: value for name, value in vars(self).items() if name != "solver"}

    @classmethod
    def from_state(cls, state, n_params, dtype):
        """The optimizer of ``state()``, as read from a file: checked against
        the parameters it follows (ValueError naming what disagrees).

        Parameters
        ----------
        state : dict
        n_params : int
        dtype : numpy dtype
            Those of the parameters.
        """
        if not isinstance(state, dict) or state.get("name") not in cls._codes:
            raise ValueError(f"The optimizer state is not that of one of sklstm's "
                             f"solvers {sorted(cls._codes)}.")
        missing = sorted({"state_1", "state_2", "step", "learning_rate",
                          *_HYPER_PARAMETERS} - set(state))
        if missing:
            raise ValueError(f"The optimizer state lacks {missing}.")
        optimizer = cls(state["name"], 0, dtype)
        optimizer.state_1 = state["state_1"]
        optimizer.state_2 = state["state_2"]
        optimizer.step = state["step"]
        optimizer.check(n_params, dtype)
        optimizer.learning_rate = float(state["learning_rate"])
        optimizer.configure(**{name: state[name] for name in _HYPER_PARAMETERS})
        return optimizer

    def check(self, n_params, dtype):
        """Raise ValueError unless the state arrays fit `n_params` parameters
        of `dtype`: the engine updates them in place through raw pointers."""
        expected = {"state_1": (n_params, dtype),
                    "state_2": (n_params if self.name == "adam" else 1, dtype),
                    "step": (1, np.int_)}
        for name, (size, kind) in expected.items():
            array = getattr(self, name)
            if (not isinstance(array, np.ndarray) or array.ndim != 1
                    or array.size != size or array.dtype != kind):
                raise ValueError(
                    f"The {self.name} optimizer's {name} must have shape ({size},) and "
                    f"dtype {np.dtype(kind)} (for {n_params} parameters), got "
                    f"{getattr(array, 'dtype', type(array).__name__)} of shape "
                    f"{np.shape(array)}.")

    def configure(self, *, momentum, nesterov, beta_1, beta_2, epsilon, rho):
        """Set the hyper-parameters (before each fit); the state is kept. The
        learning rate is set apart, as the estimator's schedule moves it."""
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.rho = float(rho)
