"""Checks of sequence input: every error names the problem and the shape."""

import numpy as np
from sklearn.utils.validation import check_array


def check_sequences(X, *, dtype, estimator, n_features=None, n_timesteps_2d=None):
    """Validate sequence data and return it as a C-contiguous 3D array.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps, n_features) or \
            (n_samples, n_timesteps)
        Sequences; a 2D array holds univariate sequences (one feature).
    dtype : numpy dtype
        The dtype of the returned array.
    estimator : estimator instance
        Named in error messages.
    n_features : int or None
        Features per timestep the estimator was fitted on; None when fitting.
    n_timesteps_2d : int or None
        The number of columns a 2D X must have: that of the 2D X the estimator
        was fitted on. A 2D X is usually a table of lagged values, where
        another number of columns is a mistake; sequences of other lengths
        are still accepted as 3D X.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features)
    ndim : int
        The dimensions of the X given, 2 or 3.
    """
    name = type(estimator).__name__
    X = check_array(X, dtype=dtype, order="C", ensure_2d=False, allow_nd=True,
                    ensure_min_samples=1, input_name="X", estimator=estimator)
    if X.ndim not in (2, 3):
        raise ValueError(
            f"{name} expects X as a 3D array (n_samples, n_timesteps, n_features) "
            f"or a 2D array (n_samples, n_timesteps) of univariate sequences; got a "
            f"{X.ndim}D array of shape {X.shape}. Reshape your data: a single "
            f"series of shape (n_timesteps,) is one sample, X.reshape(1, -1)."
        )
    ndim = X.ndim
    if ndim == 2:
        if n_timesteps_2d is not None and X.shape[1] != n_timesteps_2d:
            raise ValueError(
                f"X has {X.shape[1]} timesteps (columns), but {name} was fitted on "
                f"2D X of {n_timesteps_2d} timesteps. Sequences of another length "
                f"can be passed as a 3D array of shape (n_samples, n_timesteps, 1).")
        X = X[:, :, np.newaxis]
    if X.shape[1] == 0:
        raise ValueError(f"X has sequences of 0 timesteps (shape {X.shape}); "
                         f"{name} needs at least one timestep.")
    if X.shape[2] == 0:
        raise ValueError(f"X has 0 features per timestep (shape {X.shape}); "
                         f"{name} needs at least one.")
    if n_features is not None and X.shape[2] != n_features:
        raise ValueError(
            f"X has {X.shape[2]} features per timestep, but {name} is expecting "
            f"{n_features} features per timestep as input."
        )
    return X, ndim


def check_token_ids(X, *, estimator, vocabulary_size=None):
    """Check that validated sequences hold token ids; return the vocabulary
    size they imply (largest id + 1).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_timesteps, 1)
        Sequences from :func:`check_sequences`.
    estimator : estimator instance
        Named in error messages.
    vocabulary_size : int or None
        The ids the estimator was fitted on; None when fitting.

    Returns
    -------
    vocabulary_size : int
    """
    name = type(estimator).__name__
    if X.shape[2] != 1:
        raise ValueError(
            f"With embedding_dim, X holds one token id per timestep: shape "
            f"(n_samples, n_timesteps) or (n_samples, n_timesteps, 1); got {X.shape}.")
    ids = X.ravel()
    if ids.min() < 0 or np.any(ids != np.floor(ids)):
        raise ValueError(f"With embedding_dim, X must hold non-negative integer "
                         f"token ids; {name} got {ids[(ids < 0) | (ids != np.floor(ids))][0]}.")
    largest = int(ids.max())
    if X.dtype == np.float32 and largest >= 2**24:
        raise ValueError(f"Token ids from 2**24 on are not exact in float32 (X holds "
                         f"{largest}); use dtype='float64' or a smaller vocabulary.")
    if vocabulary_size is not None and largest >= vocabulary_size:
        raise ValueError(
            f"X contains token id {largest}, but {name} was fitted on the ids "
            f"0..{vocabulary_size - 1}. Map tokens unseen in fit to an id seen in "
            f"fit, such as a tokenizer's unknown-token id.")
    return largest + 1
