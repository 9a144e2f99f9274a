"""Sequence transformers: time-series windows, per-feature scaling, tokens.

They speak the estimators' sequence formats: a 3D array (n_samples,
n_timesteps, n_features), a 2D array (n_samples, n_timesteps) of univariate
sequences, or a list of sequences of different lengths. Under
``set_output(transform="pandas")`` (or "polars") their 2D outputs are
DataFrames; 3D arrays and lists stay as they are.
"""

import re
from collections import Counter
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OneToOneFeatureMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import _check_feature_names, check_array, check_is_fitted

from ._set_output import SequenceTransformerMixin
from ._validation import _is_ragged, check_sequences

__all__ = ["SlidingWindow", "SequenceScaler", "SequenceTokenizer"]


def _check_series(series, estimator, n_features=None, input_name="series"):
    """A series as a 2D array (n_timesteps, n_features): numeric, finite, at
    least one timestep."""
    if series is None:
        # check_array would read None as NaN.
        raise TypeError(f"{type(estimator).__name__} takes a {input_name} of numbers, "
                        f"got None.")
    series = check_array(series, ensure_2d=False, dtype=np.float64, input_name=input_name,
                         estimator=estimator)
    if series.ndim == 1:
        series = series[:, np.newaxis]
    if series.ndim != 2:
        raise ValueError(f"A {input_name} has shape (n_timesteps,) or (n_timesteps, "
                         f"n_features); got {series.shape}.")
    if n_features is not None and series.shape[1] != n_features:
        raise ValueError(f"The {input_name} has {series.shape[1]} features, but "
                         f"{type(estimator).__name__} was fitted on {n_features}.")
    return series


class SlidingWindow(OneToOneFeatureMixin, SequenceTransformerMixin, BaseEstimator):
    """Cut a time series into windows of its past and the values that follow.

    Window ``i`` holds the ``look_back`` values from ``i * step`` on; its
    target is the ``horizon`` values right after it. A window never contains
    a value from its target's time or later, and the targets of windows run
    in time order, so the samples pair with ``TimeSeriesSplit`` without
    leaking the future into training. With ``horizon > 1`` the targets of
    neighbouring windows share timesteps: pass
    ``gap=ceil((horizon - 1) / step)`` to ``TimeSeriesSplit`` so that no
    training target reaches into the test period.

    Parameters
    ----------
    look_back : int, default=10
        Timesteps in each window.
    horizon : int, default=1
        Future timesteps each target holds (> 1 for direct multi-step
        forecasting).
    step : int, default=1
        Timesteps between the starts of consecutive windows.
    target_columns : int, array-like of int or None, default=None
        The indices (from 0) of the features that make the target; None
        takes them all.

    Attributes
    ----------
    n_features_in_ : int
        Features of the series seen in fit.
    feature_names_in_ : ndarray of str
        The series' column names, when fit saw a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.preprocessing import SlidingWindow
    >>> series = np.arange(8.0)
    >>> X, y = SlidingWindow(look_back=3).fit(series).to_supervised(series)
    >>> X.shape, y.shape
    ((5, 3, 1), (5,))
    >>> X[0, :, 0], y[0]
    (array([0., 1., 2.]), np.float64(3.0))
    >>> SlidingWindow(look_back=3).fit_transform(series)[-1, :, 0]
    array([5., 6., 7.])
    """

    _parameter_constraints = {
        "look_back": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "step": [Interval(Integral, 1, None, closed="left")],
        "target_columns": ["array-like", Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(self, look_back=10, *, horizon=1, step=1, target_columns=None):
        self.look_back = look_back
        self.horizon = horizon
        self.step = step
        self.target_columns = target_columns

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, series, y=None):
        """Learn the number of features of the series.

        Parameters
        ----------
        series : array-like of shape (n_timesteps,) or (n_timesteps, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : SlidingWindow
        """
        _check_feature_names(self, series, reset=True)
        series = _check_series(series, self)
        self.n_features_in_ = series.shape[1]
        self._targets = self._target_indices()
        return self

    def _target_indices(self):
        """target_columns as checked column indices."""
        n_features = self.n_features_in_
        if self.target_columns is None:
            return np.arange(n_features)
        columns = np.atleast_1d(np.asarray(self.target_columns))
        # Indices only: a float would be truncated, a bool read as 0/1.
        if columns.ndim != 1 or columns.size == 0 or columns.dtype.kind not in "iu":
            raise InvalidParameterError(
                f"target_columns must be a column index or a non-empty list of "
                f"column indices (int); got {self.target_columns!r}.")
        outside = columns[(columns < 0) | (columns >= n_features)]
        if outside.size:
            raise ValueError(
                f"target_columns holds {outside[0]}, but a series of {n_features} "
                f"features has the columns 0..{n_features - 1} (negative indices "
                f"are not accepted).")
        return columns

    def _check(self, series):
        check_is_fitted(self)
        _check_feature_names(self, series, reset=False)
        return _check_series(series, self, self.n_features_in_)

    def _windows(self, series, n_windows):
        starts = np.arange(n_windows) * self.step
        return series[starts[:, None] + np.arange(self.look_back)]

    def transform(self, series):
        """Every complete window of the series, the last one included (the
        one to forecast from).

        Parameters
        ----------
        series : array-like of shape (n_timesteps,) or (n_timesteps, n_features)

        Returns
        -------
        windows : ndarray of shape (n_windows, look_back, n_features)
            A 3D array, also under ``set_output(transform="pandas")``.
        """
        series = self._check(series)
        n_windows = (len(series) - self.look_back) // self.step + 1
        if n_windows < 1:
            raise ValueError(f"The series has {len(series)} timesteps, fewer than "
                             f"look_back={self.look_back}.")
        return self._windows(series, n_windows)

    def to_supervised(self, series):
        """Windows and their targets: the samples to train a forecaster on.

        Parameters
        ----------
        series : array-like of shape (n_timesteps,) or (n_timesteps, n_features)

        Returns
        -------
        X : ndarray of shape (n_windows, look_back, n_features)
        y : ndarray of shape (n_windows, horizon * n_targets)
            The ``horizon`` values after each window of the target columns,
            step by step (then column by column); an axis of size one is
            dropped, so ``horizon=1`` with one target column gives (n_windows,).
        """
        series = self._check(series)
        n_windows = (len(series) - self.look_back - self.horizon) // self.step + 1
        if n_windows < 1:
            raise ValueError(
                f"The series has {len(series)} timesteps, fewer than look_back + "
                f"horizon = {self.look_back + self.horizon}.")
        X = self._windows(series, n_windows)
        starts = np.arange(n_windows) * self.step + self.look_back
        y = series[starts[:, None] + np.arange(self.horizon)][:, :, self._targets]
        y = y.reshape(n_windows, -1)
        return X, (y[:, 0] if y.shape[1] == 1 else y)


class SequenceScaler(OneToOneFeatureMixin, SequenceTransformerMixin, BaseEstimator):
    """Scale each feature of sequences across all samples and timesteps.

    scikit-learn's scalers reject 3D arrays and lists of sequences; this one
    takes the estimators' formats and gives the same format back, ragged lists
    included. A 2D X is univariate sequences, one column per timestep, all
    scaled alike (as one feature); as for any scikit-learn transformer, its
    columns are the input features (``n_features_in_``, ``feature_names_in_``)
    and, under ``set_output(transform="pandas")``, the columns of the output.

    Parameters
    ----------
    method : {"standard", "minmax"}, default="standard"
        Zero mean and unit variance, or a linear map onto ``feature_range``.
    feature_range : tuple (min, max), default=(0, 1)
        The target range of "minmax": finite numbers, min < max.

    Attributes
    ----------
    center_ : ndarray of shape (n_features_per_timestep,)
        Subtracted from each feature.
    scale_ : ndarray of shape (n_features_per_timestep,)
        Then each feature is divided by this (constant features keep 1).
    n_features_in_ : int
        Features per timestep for 3D X and lists; the number of columns
        (timesteps) for 2D X.
    feature_names_in_ : ndarray of str
        The columns of X, when fit saw a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.preprocessing import SequenceScaler
    >>> sequences = [np.array([[1.0], [3.0]]), np.array([[5.0], [7.0], [9.0]])]
    >>> scaler = SequenceScaler().fit(sequences)
    >>> scaler.center_, scaler.scale_
    (array([5.]), array([2.82842712]))
    >>> [s.shape for s in scaler.transform(sequences)]
    [(2, 1), (3, 1)]
    """

    _parameter_constraints = {
        "method": [StrOptions({"standard", "minmax"})],
        "feature_range": [tuple],
    }

    def __init__(self, method="standard", *, feature_range=(0, 1)):
        self.method = method
        self.feature_range = feature_range

    def _check_feature_range(self):
        low_high = self.feature_range
        if not (len(low_high) == 2
                and all(isinstance(v, Real) and not isinstance(v, bool) for v in low_high)
                and np.all(np.isfinite(low_high)) and low_high[0] < low_high[1]):
            raise InvalidParameterError(
                f"The 'feature_range' parameter of SequenceScaler must be a tuple "
                f"(min, max) of finite numbers with min < max. Got {low_high!r} "
                f"instead.")
        return low_high

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn each feature's center and scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Sequences.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceScaler
        """
        low, high = self._check_feature_range()
        _check_feature_names(self, X, reset=True)
        data, ndim = check_sequences(X, dtype=np.float64, estimator=self)
        # Statistics of values divided by a power of two near each feature's
        # largest magnitude: the same numbers (powers of two scale without
        # rounding), but squares neither overflow (values near 1e200) nor
        # underflow (near 1e-200).
        _, exponent = np.frexp(np.abs(data.values).max(axis=0))
        values = np.ldexp(data.values, -exponent)
        if self.method == "standard":
            center = values.mean(axis=0)
            spread = values.std(axis=0)
            # A spread within the rounding of the mean is none (0.1 repeated
            # has a std of ~4e-17): scikit-learn's bound for constant features.
            n, eps = len(values), np.finfo(np.float64).eps
            constant = spread**2 <= n * eps * spread**2 + (n * center * eps)**2
        else:
            minimum, maximum = values.min(axis=0), values.max(axis=0)
            spread = (maximum - minimum) / (high - low)
            constant = maximum == minimum
        # A constant feature is only shifted (onto min with "minmax").
        self.scale_ = np.where(constant, 1.0, np.ldexp(spread, exponent))
        self.center_ = (np.ldexp(center, exponent) if self.method == "standard"
                        else np.ldexp(minimum, exponent) - low * self.scale_)
        self.n_features_in_ = int(data.lengths[0]) if ndim == 2 else data.n_features
        self._n_timesteps_2d = self.n_features_in_ if ndim == 2 else None
        return self

    def _apply(self, X, function, n_timesteps_2d):
        n_features = len(self.center_)
        data, ndim = check_sequences(X, dtype=np.float64, estimator=self,
                                     n_features=n_features, n_timesteps_2d=n_timesteps_2d)
        values = function(data.values)
        if ndim == 0:
            return data.split(values)
        shaped = values.reshape(data.n_samples, -1, n_features)
        return shaped[:, :, 0] if ndim == 2 else shaped

    def transform(self, X):
        """Scale sequences.

        Parameters
        ----------
        X : array-like or list of array-like
            Sequences, as for ``fit``; a 2D X after a fit on 2D X has the
            same number of columns.

        Returns
        -------
        X_scaled : ndarray, DataFrame or list of ndarray
            In the format of X: 3D, 2D (a DataFrame under pandas output), or
            a list of (n_timesteps_i, n_features) arrays.
        """
        check_is_fitted(self)
        _check_feature_names(self, X, reset=False)
        return self._apply(X, lambda values: (values - self.center_) / self.scale_,
                           self._n_timesteps_2d)

    def inverse_transform(self, X):
        """Undo the scaling: back to the original units.

        Parameters
        ----------
        X : array-like or list of array-like
            Scaled sequences, or (with one feature) any 1D or 2D array of
            scaled values, such as predictions of the next values.

        Returns
        -------
        X_original : ndarray or list of ndarray
            In the format of X.
        """
        check_is_fitted(self)

        def unscale(values):
            return values * self.scale_ + self.center_

        if len(self.center_) == 1 and not _is_ragged(X) and np.ndim(X) == 1:
            return self._apply(np.asarray(X)[:, np.newaxis], unscale, None)[:, 0]
        # With one feature, 2D X of any number of columns: predictions of
        # several steps, say.
        return self._apply(X, unscale, None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class SequenceTokenizer(ClassNamePrefixFeaturesOutMixin, SequenceTransformerMixin,
                        BaseEstimator):
    """Texts to sequences of integer token ids, with a vocabulary learned in fit.

    Id 0 is padding and id 1 the unknown token; the vocabulary takes ids from
    2 on, most frequent tokens first. Feed the ids to an estimator with
    ``embedding_dim``.

    Parameters
    ----------
    level : {"word", "char"}, default="word"
        Tokens are words (runs of letters, digits and apostrophes; each other
        visible character is a token of its own) or characters.
    lowercase : bool, default=True
        Lowercase texts first.
    min_frequency : int, default=1
        Tokens seen fewer times in fit are unknown.
    max_tokens : int or None, default=None
        Keep only this many most frequent tokens.
    output : {"ragged", "padded"}, default="ragged"
        A list of 1D id arrays, one per text, of the text's own length; or a
        2D array padded (and truncated) to ``max_length_`` with 0 at the end
        (a DataFrame under ``set_output(transform="pandas")``).
    max_length : int or None, default=None
        The length of "padded" output; None takes the longest text seen in
        fit, so that every transform gives a model the columns it was fitted
        on.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token to id.
    tokens_ : ndarray of str
        Id to token (``tokens_[0]`` is "<pad>", ``tokens_[1]`` "<unk>").
    max_length_ : int
        The length of "padded" output: ``max_length``, or the most tokens of
        a text in fit.

    Examples
    --------
    >>> from sklstm.preprocessing import SequenceTokenizer
    >>> tokenizer = SequenceTokenizer().fit(["the cat sat", "the dog"])
    >>> [ids.tolist() for ids in tokenizer.transform(["the cat ran"])]
    [[2, 3, 1]]
    >>> tokenizer.inverse_transform(tokenizer.transform(["the dog sat"]))
    ['the dog sat']
    >>> padded = SequenceTokenizer(output="padded").fit(["the cat sat", "the dog"])
    >>> padded.transform(["the dog", "cat"])
    array([[2, 4, 0],
           [3, 0, 0]])
    """

    PAD, UNKNOWN = 0, 1
    _pattern = re.compile(r"[\w']+|[^\w\s]")

    _parameter_constraints = {
        "level": [StrOptions({"word", "char"})],
        "lowercase": ["boolean"],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "max_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "output": [StrOptions({"ragged", "padded"})],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, level="word", *, lowercase=True, min_frequency=1, max_tokens=None,
                 output="ragged", max_length=None):
        self.level = level
        self.lowercase = lowercase
        self.min_frequency = min_frequency
        self.max_tokens = max_tokens
        self.output = output
        self.max_length = max_length

    def _tokens(self, text):
        if not isinstance(text, str):
            raise ValueError(f"SequenceTokenizer takes texts (str); got "
                             f"{type(text).__name__}: {text!r}.")
        if self.lowercase:
            text = text.lower()
        return list(text) if self.level == "char" else self._pattern.findall(text)

    def _texts(self, texts):
        if texts is None or not hasattr(texts, "__iter__"):
            raise TypeError(f"SequenceTokenizer takes a list of texts, got "
                            f"{type(texts).__name__}.")
        if isinstance(texts, str):
            raise ValueError("SequenceTokenizer takes a list of texts, not one text: "
                             "wrap it in a list.")
        if getattr(texts, "ndim", 1) != 1:
            # Iterating a table would give its column names, or rows.
            raise ValueError(f"SequenceTokenizer takes a 1D list of texts; got shape "
                             f"{texts.shape}. Pass one column, such as df['text'].")
        return list(texts)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, texts, y=None):
        """Learn the vocabulary.

        Parameters
        ----------
        texts : iterable of str
        y : None
            Ignored.

        Returns
        -------
        self : SequenceTokenizer
        """
        counts, longest = Counter(), 1
        texts = self._texts(texts)
        if not texts:
            raise ValueError("SequenceTokenizer needs at least one text to fit; got "
                             "none.")
        for text in texts:
            tokens = self._tokens(text)
            counts.update(tokens)
            longest = max(longest, len(tokens))
        kept = sorted((token for token, count in counts.items()
                       if count >= self.min_frequency),
                      key=lambda token: (-counts[token], token))[:self.max_tokens]
        self.tokens_ = np.array(["<pad>", "<unk>", *kept], dtype=object)
        self.vocabulary_ = {token: i for i, token in enumerate(self.tokens_)}
        self.max_length_ = self.max_length or longest
        return self

    @property
    def _n_features_out(self):
        """Columns of the padded output; a ragged one has one id per step."""
        return self.max_length_ if self.output == "padded" else 1

    def transform(self, texts):
        """Texts as token ids; unknown tokens get id 1, and an empty text is
        one padding step (0), as an estimator needs a step per sequence.

        Parameters
        ----------
        texts : iterable of str

        Returns
        -------
        ids : list of ndarray of int, or ndarray of shape (n_texts, ``max_length_``)
            As ``output`` asks.
        """
        check_is_fitted(self)
        get = self.vocabulary_.get
        sequences = [np.array([get(token, self.UNKNOWN) for token in self._tokens(text)]
                              or [self.PAD], dtype=np.int64)
                     for text in self._texts(texts)]
        if self.output == "ragged":
            return sequences
        length = self.max_length_
        padded = np.zeros((len(sequences), length), dtype=np.int64)
        for i, sequence in enumerate(sequences):
            padded[i, :min(length, len(sequence))] = sequence[:length]
        return padded

    def _id_sequences(self, ids):
        """The sequences of ids: a list's items, or the rows of a table."""
        if isinstance(ids, (list, tuple)) or (isinstance(ids, np.ndarray) and ids.ndim == 1
                                              and ids.dtype == object):
            return list(ids)
        # A table of padded ids: an array, or a DataFrame as set_output gives.
        return list(check_array(ids, dtype=None, ensure_min_samples=0, input_name="ids",
                                estimator=self))

    def inverse_transform(self, ids):
        """Token ids back to texts, without padding.

        Parameters
        ----------
        ids : list of array-like of int, or 2D array-like of int

        Returns
        -------
        texts : list of str
            Words joined by spaces, or characters joined; unknown tokens as
            "<unk>".
        """
        check_is_fitted(self)
        separator = "" if self.level == "char" else " "
        texts = []
        for i, sequence in enumerate(self._id_sequences(ids)):
            sequence = np.asarray(sequence)
            if (sequence.ndim != 1 or sequence.dtype.kind not in "iuf"
                    or not np.all(np.isfinite(sequence) & (sequence == np.round(sequence)))):
                raise ValueError(
                    f"ids[{i}] must be a 1D sequence of integer token ids; got "
                    f"{sequence!r}. One sequence of ids goes in a list: [ids].")
            sequence = sequence.astype(np.int64)
            outside = sequence[(sequence < 0) | (sequence >= len(self.tokens_))]
            if outside.size:
                raise ValueError(
                    f"ids[{i}] holds the token id {outside[0]}, which is not in the "
                    f"vocabulary (ids 0..{len(self.tokens_) - 1}).")
            texts.append(separator.join(self.tokens_[sequence[sequence != self.PAD]]))
        return texts
