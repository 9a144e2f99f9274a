"""sklstm: LSTM networks as scikit-learn estimators on a compiled core."""

from ._config import show_config
from ._estimators import LSTMClassifier, LSTMRegressor
from ._forecast import forecast

__version__ = "0.1.0"

__all__ = ["LSTMClassifier", "LSTMRegressor", "forecast", "show_config", "__version__"]
