"""scikit-learn's own estimator checks on both estimators: both dtypes, and
with the architecture options switched on."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklstm import LSTMClassifier, LSTMRegressor

# The checks fit dozens of small models; a higher learning rate lets 100
# epochs reach the scores they demand (R^2 > 0.5, accuracy > 0.83).
CONFIG = dict(hidden_layer_sizes=16, max_iter=100, learning_rate_init=0.01, random_state=0)
FAMILY = dict(bidirectional=True, peephole=True, dense_layer_sizes=8, dropout=0.1,
              recurrent_dropout=0.1)
# return_sequences and embedding_dim are not among them: the checks pass one
# target per sample and real-valued features, where those need one target per
# timestep and integer token ids (tests/test_architectures.py covers them).
ESTIMATORS = [
    LSTMRegressor(**CONFIG),
    LSTMClassifier(**CONFIG),
    LSTMRegressor(**CONFIG, dtype="float64"),
    LSTMClassifier(**CONFIG, dtype="float64"),
    LSTMRegressor(**CONFIG, **FAMILY),
    LSTMClassifier(**CONFIG, **FAMILY),
    LSTMRegressor(**CONFIG, loss="huber"),
    LSTMRegressor(**CONFIG, loss="quantile", quantile=0.5, dtype="float64"),
]

# The only expected failure: check_sample_weight_equivalence_on_dense_data,
# which compares, to rtol=1e-7, a model fitted with integer sample weights
# and one fitted on the samples repeated as often. Its 15 and 27 samples
# each fit in one minibatch (batch_size="auto" is the whole data up to 32),
# and the loss and the L2 term are divided by the sum of the weights, as in
# scikit-learn's MLP, so a weight of k is k repetitions and a zero weight a
# removed sample, up to rounding: k * g and g + ... + g (k times) differ in
# the last bit, as do sums over 15 and over 27 rows. LSTMRegressor in float64
# passes. Elsewhere training amplifies that rounding (measured with the
# check's data, predictions after 100 epochs): the float64 classifier
# differs by 2.5e-7 relative (its loss by 1e-16 after epoch 1, 1e-7 after
# 92), the float32 regressor by 2.4e-7 absolute (1.7e-7 relative) and the
# float32 classifier by 3e-3 (a chaotic fit: 0.1 without shuffling). With
# dropout the equivalence does not hold at all: a repeated sample draws a
# mask per repetition, a weighted one a single mask.
WEIGHTS_ARE_NOT_REPETITIONS = {
    "check_sample_weight_equivalence_on_dense_data":
        "weights equal repetitions up to rounding, which training amplifies "
        "beyond rtol=1e-7 (or dropout masks differ)",
}


def _expected_failed_checks(estimator):
    exact = (isinstance(estimator, LSTMRegressor) and estimator.dtype == "float64"
             and not estimator.dropout)
    return {} if exact else WEIGHTS_ARE_NOT_REPETITIONS


# check_methods_sample_order_invariance and check_methods_subset_invariance
# pass in both dtypes: a sequence's outputs do not depend on the other
# sequences of the batch (see tests/test_conventions.py for their limits).
# The checks fit these small models for at most 100 epochs on data made for
# speed, often random: stopping at max_iter or on the initial loss plateau is
# expected there, and the ConvergenceWarning that says so is true but not
# what the checks test.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
