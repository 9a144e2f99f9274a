"""Checks of sequence input: every error names the problem and the shape.

Sequences reach the engine end to end (:class:`SequenceData`): a 3D array,
a 2D array of univariate sequences and a list of sequences of different
lengths all become one array of steps plus where each sequence starts and
how long it is.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.utils.validation import _num_samples, check_array


class SequenceData(NamedTuple):
    """Sequences stored end to end, as the engine reads them.

    values : ndarray of shape (total steps, n_features), C-contiguous
    starts : ndarray of shape (n_sequences,), intp — each sequence's first row
    lengths : ndarray of shape (n_sequences,), intp — its number of steps
    ragged : bool — whether they came as a list of different lengths (then
        per-step results go back as a list)
    """

    values: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    ragged: bool

    @classmethod
    def from_array(cls, X):
        """From a 3D array (n_samples, n_timesteps, n_features)."""
        n, T, D = X.shape
        return cls(np.ascontiguousarray(X).reshape(n * T, D),
                   np.arange(n, dtype=np.intp) * T, np.full(n, T, dtype=np.intp),
                   False)

    @classmethod
    def from_list(cls, sequences, dtype=None):
        """From a list of 2D arrays (n_timesteps_i, n_features)."""
        lengths = np.array([len(s) for s in sequences], dtype=np.intp)
        starts = np.zeros(len(lengths), dtype=np.intp)
        np.cumsum(lengths[:-1], out=starts[1:])
        values = np.ascontiguousarray(np.concatenate(sequences), dtype=dtype)
        return cls(values, starts, lengths, True)

    @property
    def n_samples(self):
        return len(self.lengths)

    @property
    def n_features(self):
        return self.values.shape[1]

    def take(self, indices):
        """The sequences at ``indices``, end to end anew."""
        sequences = self.split(self.values)
        if self.ragged:
            return SequenceData.from_list([sequences[i] for i in indices])
        return SequenceData.from_array(sequences[indices])

    def split(self, rows):
        """Per-step rows (aligned with ``values``) cut back into sequences:
        a list of arrays for ragged data, else one array (n, T, ...)."""
        if self.ragged:
            return [rows[start:start + length]
                    for start, length in zip(self.starts, self.lengths)]
        return rows.reshape(self.n_samples, -1, *rows.shape[1:])


def _is_ragged(X):
    """Whether X is a collection of separate sequences rather than one array."""
    if isinstance(X, np.ndarray):
        # A 1D object array holds sequences; a 2D or 3D one holds values.
        return X.dtype == object and X.ndim == 1
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    try:
        np.asarray(X, dtype=float)
    except (ValueError, TypeError):
        return True  # inhomogeneous: sequences of different lengths
    return False


def _all_finite(X):
    """Whether X has no NaN or infinity. Large arrays are tested as
    scikit-learn first tests them, by a sum (non-finite if any value is), in
    constant memory: np.isfinite(X) is a boolean copy of X (80 MB for 200,000
    sequences of (50, 8)). The sum is in X's own dtype, 4x faster than a
    float64 one (whose cast was 1.5 ms of predicting 1024 sequences of
    (100, 32)); a sum that overflows only sends X to check_array's full test."""
    if X.size <= 1 << 16:
        return bool(np.isfinite(X).all())
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.sum(X)))


def check_sequences(X, *, dtype, estimator, n_features=None, n_timesteps_2d=None):
    """Validate sequence data and return it end to end.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps, n_features) or \
            (n_samples, n_timesteps), or list of array-like
        Sequences; a 2D array holds univariate sequences (one feature); a list
        holds sequences of any lengths, each of shape (n_timesteps_i,
        n_features) or (n_timesteps_i,).
    dtype : numpy dtype
        The dtype of the returned values.
    estimator : estimator instance
        Named in error messages.
    n_features : int or None
        Features per timestep the estimator was fitted on; None when fitting.
    n_timesteps_2d : int or None
        The number of columns a 2D X must have: that of the 2D X the estimator
        was fitted on. A 2D X is usually a table of lagged values, where
        another number of columns is a mistake; sequences of other lengths
        are still accepted as 3D X or as a list.

    Returns
    -------
    data : SequenceData
    ndim : int
        2 or 3 for arrays, 0 for a list of sequences.
    """
    name = type(estimator).__name__
    if X is None:
        # check_array would read None as NaN.
        raise TypeError(f"{name} takes sequences as X, got None.")
    _check_not_sktime_panel(X, name)
    if _is_ragged(X):
        data = _check_sequence_list(X, dtype=dtype, estimator=estimator)
        ndim = 0
    else:
        # An array already as check_array returns it skips its ~30 us (felt
        # when predicting one sequence at a time); anything else, errors
        # included, goes through it.
        ready = (type(X) is np.ndarray and X.dtype == dtype and X.ndim in (2, 3)
                 and X.flags.c_contiguous and X.size > 0 and _all_finite(X))
        if not ready:
            X = check_array(X, dtype=dtype, order="C", ensure_2d=False, allow_nd=True,
                            ensure_min_samples=1, input_name="X", estimator=estimator)
        if X.ndim not in (2, 3):
            raise ValueError(
                f"{name} expects X as a 3D array (n_samples, n_timesteps, n_features), "
                f"a 2D array (n_samples, n_timesteps) of univariate sequences or a "
                f"list of sequences; got a {X.ndim}D array of shape {X.shape}. "
                f"Reshape your data: a single series of shape (n_timesteps,) is one "
                f"sample, X.reshape(1, -1).")
        ndim = X.ndim
        if ndim == 2:
            if n_timesteps_2d is not None and X.shape[1] != n_timesteps_2d:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {name} is expecting "
                    f"{n_timesteps_2d} features as input: the columns (timesteps) of "
                    f"the 2D X it was fitted on. Sequences of another length can be "
                    f"passed as a 3D array of shape (n_samples, n_timesteps, 1) or as "
                    f"a list.")
            X = X[:, :, np.newaxis]
        if X.shape[1] == 0:
            raise ValueError(f"X has sequences of 0 timesteps (shape {X.shape}); "
                             f"{name} needs at least one timestep.")
        if X.shape[2] == 0:
            raise ValueError(f"X has 0 features per timestep (shape {X.shape}); "
                             f"{name} needs at least one.")
        data = SequenceData.from_array(X)
    if n_features is not None and data.n_features != n_features:
        hint = _ONE_SEQUENCE_HINT if ndim == 2 and n_features > 1 else ""
        if ndim == 3 and X.shape[1] == n_features:
            hint = (f" X has shape {X.shape}: if it is channels-first (n_cases, "
                    f"n_channels, n_timepoints), as aeon's and sktime's panels, pass "
                    f"X.transpose(0, 2, 1).{_PANEL_HINT}")
        raise ValueError(
            f"X has {data.n_features} features per timestep, but {name} is expecting "
            f"{n_features} features per timestep as input.{hint}")
    return data, ndim


_PANEL_HINT = (" The estimators of sklstm.aeon and sklstm.sktime take those "
               "libraries' panels as they are.")


def _check_not_sktime_panel(X, name):
    """Refuse sktime's nested DataFrame panels and warn on DataFrames indexed
    as sktime's (instance, time) panels. Either is channels-first data that
    would otherwise be read with the axes swapped, or not at all."""
    if not (type(X).__module__.startswith("pandas") and hasattr(X, "columns")):
        return
    cell = X.iat[0, 0] if X.size else None
    if isinstance(cell, np.ndarray) or type(cell).__module__.startswith("pandas"):
        raise TypeError(
            f"X is a DataFrame whose cells hold series (sktime's 'nested_univ' "
            f"panel); {name} takes arrays (n_samples, n_timesteps, n_features). "
            f"Convert it, sktime.datatypes.convert_to(X, 'numpy3D').transpose(0, 2, 1), "
            f"or use sklstm.sktime's estimators.")
    if X.index.nlevels > 1:
        warnings.warn(
            f"X is a DataFrame with a MultiIndex of rows, as sktime's 'pd-multiindex' "
            f"panels ((instance, time) rows, a column per variable); {name} reads each "
            f"row as one sequence whose timesteps are the columns. For a panel, "
            f"convert it, sktime.datatypes.convert_to(X, 'numpy3D').transpose(0, 2, 1), "
            f"or use sklstm.sktime's estimators. If each row is a sample (a table of "
            f"lags, say), pass X.reset_index(drop=True) to silence this warning.",
            UserWarning)


_ONE_SEQUENCE_HINT = (" A 2D X holds univariate sequences, one per row; one "
                      "multivariate sequence of shape (n_timesteps, n_features) "
                      "is X[np.newaxis].")


def check_n_samples(data, ndim, y):
    """Check that X and y have as many samples, with scikit-learn's message;
    for a 2D X and one target, say how to pass X as one sequence.

    Parameters
    ----------
    data : SequenceData
        Sequences from :func:`check_sequences`.
    ndim : int
        The dimension :func:`check_sequences` returned with them.
    y : array-like or list
        The targets; those that have no length are left to the checks of
        the targets.
    """
    try:
        n_targets = _num_samples(y)
    except TypeError:
        return
    if data.n_samples != n_targets:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{data.n_samples}, {n_targets}]."
            f"{_ONE_SEQUENCE_HINT if ndim == 2 and n_targets == 1 else ''}")


def _check_sequence_list(X, *, dtype, estimator):
    """A list of sequences end to end. Checked with plain numpy: sklearn's
    check_array costs ~100 us per call, which thousands of sequences feel."""
    name = type(estimator).__name__
    sequences = []
    for i, sequence in enumerate(X):
        try:
            sequence = np.asarray(sequence)
            if sequence.dtype.kind == "c":
                raise ValueError(f"Sequence X[{i}] is complex; {name} takes real "
                                 f"values.")
            if sequence.dtype.kind not in "biuf":
                sequence = sequence.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise type(error)(f"Sequence X[{i}] is not numeric: {error}") from error
        if sequence.ndim == 1:
            sequence = sequence[:, np.newaxis]
        if sequence.ndim != 2:
            raise ValueError(
                f"Sequence X[{i}] has shape {sequence.shape}, found array with dim "
                f"{sequence.ndim}; each sequence must be (n_timesteps,) or "
                f"(n_timesteps, n_features).")
        if len(sequence) == 0:
            raise ValueError(f"Sequence X[{i}] has no timesteps; {name} needs at "
                             f"least one per sequence.")
        if sequence.shape[1] != (sequences[0].shape[1] if sequences else sequence.shape[1]):
            hint = ""
            if sequence.shape[0] == sequences[0].shape[0]:
                hint = (f" They have {sequence.shape[0]} rows each: if they are "
                        f"channels-first (n_channels, n_timepoints_i), as aeon's "
                        f"collections, pass [x.T for x in X].{_PANEL_HINT}")
            raise ValueError(
                f"Sequence X[{i}] has {sequence.shape[1]} features per timestep, but "
                f"X[0] has {sequences[0].shape[1]}: all sequences need the same "
                f"features.{hint}")
        if sequence.shape[1] == 0:
            raise ValueError(f"Sequence X[{i}] has 0 features per timestep.")
        sequences.append(sequence)
    if not sequences:
        raise ValueError(f"X is an empty list of sequences; found 0 samples, but {name} "
                         f"needs at least one.")
    data = SequenceData.from_list(sequences, dtype=dtype)
    finite = np.isfinite(data.values).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite))
        i = int(np.searchsorted(data.starts, row, side="right")) - 1
        kind = "NaN" if np.isnan(data.values[row]).any() else "infinity"
        raise ValueError(f"Sequence X[{i}] contains {kind} (at step {row - data.starts[i]}).")
    return data


# Token ids go up to this (exclusive) in both dtypes: 2**24 is where float32
# stops holding every integer, and a vocabulary of 16.7 million ids exceeds
# any tokenizer's, while an id far beyond (a hash, a raw code point of 1e9)
# would make the embedding an allocation of hundreds of GiB.
MAX_TOKEN_ID = 2**24


def check_token_ids(data, *, estimator, vocabulary_size=None, embedding_dim=None):
    """Check that validated sequences hold token ids; return the vocabulary
    size they imply (largest id + 1).

    Parameters
    ----------
    data : SequenceData
        Sequences from :func:`check_sequences`.
    estimator : estimator instance
        Named in error messages.
    vocabulary_size : int or None
        The ids the estimator was fitted on; None when fitting.
    embedding_dim : int or None
        The size of the token vectors, for the memory an id beyond
        ``MAX_TOKEN_ID`` would need, named in the error.

    Returns
    -------
    vocabulary_size : int
    """
    name = type(estimator).__name__
    if data.n_features != 1:
        raise ValueError(
            f"With embedding_dim, X holds one token id per timestep: shape "
            f"(n_samples, n_timesteps), (n_samples, n_timesteps, 1) or a list of "
            f"1D sequences; got {data.n_features} features per timestep.")
    ids = data.values.ravel()
    bad = (ids < 0) | (ids != np.floor(ids))
    if bad.any():
        raise ValueError(f"With embedding_dim, X must hold non-negative integer "
                         f"token ids; {name} got {ids[bad][0]}.")
    largest = int(ids.max())
    if vocabulary_size is None and largest >= MAX_TOKEN_ID:
        size = ""
        if embedding_dim:
            n_bytes = (largest + 1) * embedding_dim * data.values.dtype.itemsize
            size = (f" Its embedding would hold {largest + 1} x {embedding_dim} "
                    f"{data.values.dtype} values ({n_bytes / 2**30:.1f} GiB).")
        raise ValueError(
            f"X contains token id {largest}, but {name} takes ids below "
            f"2**24 = {MAX_TOKEN_ID}: the vocabulary is 0 .. the largest id.{size} "
            f"Map the tokens to consecutive ids, e.g. with SequenceTokenizer.")
    if vocabulary_size is not None and largest >= vocabulary_size:
        raise ValueError(
            f"X contains token id {largest}, but {name} was fitted on the ids "
            f"0..{vocabulary_size - 1}. Map tokens unseen in fit to an id seen in "
            f"fit, such as a tokenizer's unknown-token id.")
    return largest + 1


def check_step_targets(y, data, *, dtype, estimator, labels):
    """Validate the per-step targets of sequences `data` and return them a
    row per step, aligned with ``data.values``.

    Parameters
    ----------
    y : array-like of shape (n_samples, n_timesteps[, n_outputs]), or list
        One target (or class label) per step of each sequence: an array for
        sequences of one length, a list of arrays (n_timesteps_i[, n_outputs])
        for ragged ones.
    data : SequenceData
    dtype : numpy dtype or None
    estimator : estimator instance
        Named in error messages.
    labels : bool
        Class labels: one per step, no outputs axis.

    Returns
    -------
    rows : ndarray of shape (total steps,) or (total steps, n_outputs)
    ndim : int
        2 when each sequence has one target per step, 3 with an outputs axis
        (as the dimensions of y for equal lengths).
    """
    shape_hint = ("(n_samples, n_timesteps)" if labels else
                  "(n_samples, n_timesteps) or (n_samples, n_timesteps, n_outputs)")
    if not data.ragged:
        y = check_array(y, ensure_2d=False, allow_nd=True, dtype=dtype, input_name="y",
                        estimator=estimator)
        T = int(data.lengths[0])
        if (y.ndim not in ((2,) if labels else (2, 3)) or y.shape[0] != data.n_samples
                or y.shape[1] != T):
            raise ValueError(
                f"With return_sequences=True, y must have shape {shape_hint} with "
                f"n_samples={data.n_samples} and n_timesteps={T} as X; got shape "
                f"{y.shape}.")
        return y.reshape(data.n_samples * T, *y.shape[2:]), y.ndim
    if len(y) != data.n_samples:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"{data.n_samples} sequences in X, {len(y)} in y.")
    rows, ndims = [], set()
    for i, (target, length) in enumerate(zip(y, data.lengths)):
        target = check_array(target, ensure_2d=False, dtype=dtype, input_name=f"y[{i}]",
                             estimator=estimator)
        if target.ndim not in ((1,) if labels else (1, 2)) or len(target) != length:
            raise ValueError(
                f"y[{i}] has shape {target.shape}, but X[{i}] has {length} steps: with "
                f"return_sequences=True each y[i] needs one "
                f"{'label' if labels else 'target'} per step of X[i].")
        rows.append(target)
        ndims.add(target.ndim)
    if len(ndims) > 1 or len({r.shape[1:] for r in rows}) > 1:
        raise ValueError("The sequences of y must all have the same number of outputs.")
    return np.concatenate(rows), ndims.pop() + 1
