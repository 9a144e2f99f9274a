"""Export fitted sklstm models to ONNX, and skl2onnx converters for them.

:func:`to_onnx` turns a fitted :class:`~sklstm.LSTMRegressor` or
:class:`~sklstm.LSTMClassifier`, or a :class:`~sklearn.pipeline.Pipeline` of
sklstm's :class:`~sklstm.preprocessing.SequenceScaler` and (as its first step)
:class:`~sklstm.preprocessing.SlidingWindow` ending in one, into an ONNX model
that runs in onnxruntime or any other ONNX runtime. It needs the ``onnx``
package (``pip install 'sklstm[onnx]'`` also installs onnxruntime and
skl2onnx).

The model's inputs (their batch size and sequence length are dynamic):

- ``X``: ``(N, T, n_features)`` floats for a model fitted on 3D or ragged
  sequences; ``(N, T)`` floats for one fitted on a 2D table of univariate
  sequences (any ``T``, not only the fitted number of columns); ``(N, T)``
  int64 token ids for an ``embedding_dim`` model; ``(T, n_features)`` floats,
  the series, for a pipeline that starts with ``SlidingWindow``.
- ``sequence_lens`` (with ``sequence_lens=True``): ``(N,)`` int64, the length
  of each sequence of a zero-padded ``X`` (see :func:`pad_sequences`); each
  sequence's final state is the one at its own last step, as ``predict`` of a
  list of sequences gives. Without it every sequence has ``T`` steps.

Its outputs, as ``predict`` and ``predict_proba`` shape them:

- regressor: ``variable``, ``(N,)`` or ``(N, n_outputs)`` as the fitted
  ``y``, or per step ``(N, T)`` / ``(N, T, n_outputs)`` with
  ``return_sequences``;
- classifier: ``label``, ``(N,)`` (per step ``(N, T)``) of the type of
  ``classes_``, and ``probabilities``, ``(N, n_classes)`` (per step
  ``(N, T, n_classes)``), as skl2onnx's classifiers with ``zipmap=False``.

Per-step outputs at the padding steps of a ragged batch (``t >=
sequence_lens[n]``) are those of a zero hidden state: ignore them.

The LSTM layers are ONNX's ``LSTM`` operator (gates in ONNX's order i, o, f,
c; peepholes; sigmoid or ``HardSigmoid`` gates; tanh, relu, sigmoid or
identity cells; both directions; ``sequence_lens``) in float32 models.
onnxruntime's ``LSTM`` kernel runs float32 only, so float64 models run the
same cell in a ``Scan`` of elementary operators (``recurrence="scan"``),
which onnxruntime runs in float64. Token ids go through ``Gather`` (an id
outside the vocabulary is an error in onnxruntime; a negative one counts
from the end, as a numpy index), the dense layers through ``MatMul``, and
the output link is the identity, a sigmoid or a softmax.

With skl2onnx installed, importing this module registers converters of the
estimators and of ``SequenceScaler`` and ``SlidingWindow`` with skl2onnx, so
that ``skl2onnx.to_onnx`` converts pipelines that mix them with scikit-learn's
transformers (``make_pipeline(StandardScaler(), LSTMRegressor())`` on a 2D
table of lags, say); the input types are then skl2onnx's to choose.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._estimators import BaseLSTM, LSTMClassifier, LSTMRegressor
from .preprocessing import SequenceScaler, SequenceTokenizer, SlidingWindow

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("sklstm.onnx needs the onnx package: pip install "
                      "'sklstm[onnx]' (onnx, onnxruntime and skl2onnx).") from error

__all__ = ["to_onnx", "pad_sequences", "register_skl2onnx_converters"]

DEFAULT_OPSET = 17
# Squeeze, Split and ReduceSum take their axes as inputs from opset 13 on;
# the graphs are written for that form only.
MIN_OPSET = 13

# sklstm's activations as ONNX's LSTM attribute names, with their
# (alpha, beta) where the function takes them.
_LSTM_ACTIVATIONS = {
    "sigmoid": ("Sigmoid", None), "logistic": ("Sigmoid", None),
    "hard_sigmoid": ("HardSigmoid", (1 / 6, 0.5)), "tanh": ("Tanh", None),
    "relu": ("Relu", None), "identity": ("Affine", (1.0, 0.0)),
}
# The same as operators (identity is no operator at all; hard_sigmoid is
# written out in _activation).
_OPERATORS = {"sigmoid": "Sigmoid", "logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu",
              "identity": None}
_FLOAT_TYPES = {np.dtype(np.float32): TensorProto.FLOAT,
                np.dtype(np.float64): TensorProto.DOUBLE}


# -- graph building ---------------------------------------------------------------

class _Graph:
    """Nodes of an ONNX graph under construction. Names and constants come
    from `names` and `consts` (a scan body takes its parent's, so that every
    name is unique in the model and its weights stay in the main graph)."""

    def __init__(self, names=None, consts=None):
        self.nodes, self.initializers, self._used = [], [], set()
        self.name = names or self._unique
        self.const = consts or self._const

    def _unique(self, seed):
        name, k = seed, 0
        while name in self._used:
            k += 1
            name = f"{seed}_{k}"
        self._used.add(name)
        return name

    def _const(self, seed, value):
        name = self.name(seed)
        self.initializers.append(_tensor(name, value))
        return name

    def node(self, op, inputs, n_outputs=1, outputs=None, **attrs):
        """Add a node; returns its output name (a list when several)."""
        outputs = outputs or [self.name(op.lower()) for _ in range(n_outputs)]
        self.add(op, inputs, outputs, attrs)
        return outputs[0] if len(outputs) == 1 else outputs

    def add(self, op, inputs, outputs, attrs):
        name = self.name(f"{op}_node")
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))


class _Skl2onnxGraph(_Graph):
    """The same interface, writing into skl2onnx's scope and container."""

    def __init__(self, scope, container):
        super().__init__(names=scope.get_unique_variable_name, consts=self._initializer)
        self.scope, self.container = scope, container

    def _initializer(self, seed, value):
        name = self.name(seed)
        tensor = _tensor(name, value)
        if tensor.data_type == TensorProto.STRING:
            self.container.add_initializer(name, TensorProto.STRING, list(tensor.dims),
                                           list(tensor.string_data))
        else:
            self.container.add_initializer(name, tensor.data_type, list(tensor.dims),
                                           tensor)
        return name

    def add(self, op, inputs, outputs, attrs):
        self.container.add_node(op, inputs, outputs,
                                name=self.scope.get_unique_operator_name(op), **attrs)


def _tensor(name, value):
    value = np.asarray(value)
    if value.dtype.kind in "OUS":
        return helper.make_tensor(name, TensorProto.STRING, value.shape,
                                  [str(v).encode() for v in value.ravel()])
    return numpy_helper.from_array(value, name)


def _i64(*values):
    return np.array(values, dtype=np.int64)


def _affine(g, x, weight, bias, dtype):
    """x @ weight + bias, the weight of shape (inputs, outputs)."""
    return g.node("Add", [g.node("MatMul", [x, g.const("weight", weight.astype(dtype))]),
                          g.const("bias", bias.astype(dtype))])


def _activation(g, kind, x, dtype):
    if kind == "hard_sigmoid":
        # sklstm's formula, x / 6 + 1 / 2 clipped to [0, 1]: onnxruntime's
        # HardSigmoid has no float64 kernel.
        y = g.node("Add", [g.node("Div", [x, g.const("six", np.array(6, dtype))]),
                           g.const("half", np.array(0.5, dtype))])
        return g.node("Clip", [y, g.const("zero", np.array(0, dtype)),
                               g.const("one", np.array(1, dtype))])
    op = _OPERATORS[kind]
    return x if op is None else g.node(op, [x])


# -- the estimator ----------------------------------------------------------------

def _emit_estimator(g, estimator, x, lengths, outputs, dtype, recurrence):
    """The estimator's graph from input `x` (in to_onnx's signature: floats
    or token ids, 2D or 3D) and optional int64 `lengths` to the output names
    `outputs`."""
    net = estimator._network
    for name, kind, known in [
            ("recurrent_activation", net.gate_activation, _LSTM_ACTIVATIONS),
            ("cell_activation", net.cell_activation, _LSTM_ACTIVATIONS),
            ("activation", net.dense_activation, _OPERATORS)]:
        if kind not in known:
            raise ValueError(f"{name}={kind!r} has no ONNX counterpart in sklstm.onnx.")
    if net.embedding_dim:
        x = g.node("Gather", [g.const("embedding", estimator.embedding_.astype(dtype)), x])
    elif _rank(estimator) == 2:
        x = g.node("Unsqueeze", [x, g.const("axis", _i64(2))])
    steps = g.node("Transpose", [x], perm=[1, 0, 2])  # (T, N, features): ONNX's layout

    if recurrence == "lstm":
        if lengths:
            lengths = g.node("Cast", [lengths], to=TensorProto.INT32)
        layer = _lstm_layer
    else:
        if lengths:
            lengths = _step_mask(g, steps, lengths)
        layer = _scan_layer
    for weights in estimator.lstm_weights_:
        steps, final = layer(g, steps, lengths, weights, net, dtype)

    # The head reads every step, (N, T, features), or the final states.
    x = g.node("Transpose", [steps], perm=[1, 0, 2]) if net.per_step else final
    for coef, intercept in zip(estimator.coefs_[:-1], estimator.intercepts_[:-1]):
        x = _affine(g, x, coef, intercept, dtype)
        x = _activation(g, net.dense_activation, x, dtype)
    raw = _affine(g, x, estimator.coefs_[-1], estimator.intercepts_[-1], dtype)

    if isinstance(estimator, LSTMClassifier):
        _emit_link(g, estimator, raw, outputs, dtype)
    elif estimator._y_ndim == (3 if net.per_step else 2):
        g.node("Identity", [raw], outputs=outputs)
    else:  # y had no outputs axis
        g.node("Squeeze", [raw, g.const("axis", _i64(-1))], outputs=outputs)


def _emit_link(g, estimator, raw, outputs, dtype):
    """Labels and probabilities of a classifier from its outputs `raw`, as
    predict and predict_proba compute them."""
    label, probabilities = outputs
    if estimator._network.n_outputs == 1:
        p = g.node("Sigmoid", [raw])
        g.node("Concat", [g.node("Sub", [g.const("one", np.ones(1, dtype)), p]), p],
               outputs=[probabilities], axis=-1)
        # The second class where raw > 0, as predict decides: a probability
        # rounded to 0.5 would not tell.
        positive = g.node("Greater", [raw, g.const("zero", np.zeros(1, dtype))])
        index = g.node("Squeeze", [g.node("Cast", [positive], to=TensorProto.INT64),
                                   g.const("axis", _i64(-1))])
    else:
        g.node("Softmax", [raw], outputs=[probabilities], axis=-1)
        index = g.node("ArgMax", [raw], axis=-1, keepdims=0)
    g.node("Gather", [g.const("classes", _class_values(estimator.classes_)), index],
           outputs=[label])


def _class_values(classes):
    """classes_ as the values of an ONNX tensor: int64, float64, bool or str."""
    kind = classes.dtype.kind
    if kind in "iu":
        return classes.astype(np.int64)
    if kind == "f":
        return classes.astype(np.float64)
    if kind == "b":
        return classes
    return np.array([str(c) for c in classes], dtype=object)


def _label_type(classes):
    kind = classes.dtype.kind
    return {"i": TensorProto.INT64, "u": TensorProto.INT64, "f": TensorProto.DOUBLE,
            "b": TensorProto.BOOL}.get(kind, TensorProto.STRING)


def _gate_blocks(array, order):
    """Rows of a (4H, ...) or (3H,) array reordered by gate blocks `order`."""
    blocks = np.split(array, len(order))
    return np.concatenate([blocks[i] for i in order])


def _lstm_layer(g, steps, lengths, weights, net, dtype):
    """One (bidirectional) layer as ONNX's LSTM operator: (T, N, D) steps to
    the layer's (T, N, directions * H) outputs and (N, directions * H) final
    states."""
    h = weights[0]["weight_hh"].shape[1]
    iofc = (0, 3, 1, 2)  # sklstm's rows are i, f, g, o; ONNX's i, o, f, c
    W = np.stack([_gate_blocks(w["weight_ih"], iofc) for w in weights]).astype(dtype)
    R = np.stack([_gate_blocks(w["weight_hh"], iofc) for w in weights]).astype(dtype)
    # ONNX adds an input and a recurrent bias; sklstm has one.
    B = np.stack([np.concatenate([_gate_blocks(w["bias"], iofc), np.zeros(4 * h)])
                  for w in weights]).astype(dtype)
    inputs = [steps, g.const("W", W), g.const("R", R), g.const("B", B)]
    if lengths:
        inputs.append(lengths)
    if net.peephole:  # sklstm's are i, f, o; ONNX's i, o, f
        P = np.stack([_gate_blocks(w["peephole"], (0, 2, 1)) for w in weights])
        # P is the 8th input: the ones before it are given, not left empty,
        # as skl2onnx cannot order nodes with empty inputs.
        if not lengths:
            t = g.node("Slice", [g.node("Shape", [steps]), g.const("start", _i64(0)),
                                 g.const("end", _i64(1))])
            inputs.append(g.node("Expand", [g.node("Cast", [t], to=TensorProto.INT32),
                                            _batch(g, steps)]))
        zeros = _zeros(g, steps, [len(weights)], h, dtype)
        inputs += [zeros, zeros, g.const("P", P.astype(dtype))]
    functions = [_LSTM_ACTIVATIONS[kind] for kind in
                 (net.gate_activation, net.cell_activation, net.cell_activation)]
    attrs = dict(hidden_size=h, activations=[name for name, _ in functions] * len(weights),
                 direction="bidirectional" if len(weights) == 2 else "forward")
    # alpha and beta are read in the order of the activations that take them.
    parameters = [ab for _, ab in functions if ab is not None] * len(weights)
    if parameters:
        attrs["activation_alpha"] = [a for a, _ in parameters]
        attrs["activation_beta"] = [b for _, b in parameters]
    y, y_h = g.node("LSTM", inputs, n_outputs=2, **attrs)
    # Y is (T, directions, N, H), Y_h (directions, N, H): directions side by
    # side, forward first.
    steps = g.node("Reshape", [g.node("Transpose", [y], perm=[0, 2, 1, 3]),
                               g.const("shape", _i64(0, 0, -1))])
    final = g.node("Reshape", [g.node("Transpose", [y_h], perm=[1, 0, 2]),
                               g.const("shape", _i64(0, -1))])
    return steps, final


def _batch(g, steps):
    """The batch size of (T, N, D) steps, as a (1,) int64 shape."""
    return g.node("Slice", [g.node("Shape", [steps]), g.const("start", _i64(1)),
                            g.const("end", _i64(2))])


def _zeros(g, steps, lead, h, dtype):
    """Zero states of shape (*lead, N, h) for (T, N, D) steps."""
    shape = g.node("Concat", [g.const("lead", np.array(lead, np.int64)), _batch(g, steps),
                              g.const("h", _i64(h))], axis=0)
    return g.node("ConstantOfShape", [shape],
                  value=numpy_helper.from_array(np.zeros(1, dtype)))


def _step_mask(g, steps, lengths):
    """(T, N, 1) booleans: whether step t is within sequence n's length."""
    t = g.node("Gather", [g.node("Shape", [steps]), g.const("zero", np.array(0, np.int64))])
    times = g.node("Range", [g.const("start", np.array(0, np.int64)), t,
                             g.const("delta", np.array(1, np.int64))])
    times = g.node("Reshape", [times, g.const("shape", _i64(-1, 1, 1))])
    lengths = g.node("Reshape", [lengths, g.const("shape", _i64(1, -1, 1))])
    return g.node("Less", [times, lengths])


def _scan_layer(g, steps, mask, weights, net, dtype):
    """One (bidirectional) layer as a Scan of the cell in elementary
    operators, for the precisions onnxruntime's LSTM kernel lacks; the same
    outputs as _lstm_layer (padding steps of the outputs are zero too)."""
    h = weights[0]["weight_hh"].shape[1]
    zeros = _zeros(g, steps, [], h, dtype)
    outputs, finals = [], []
    for d, w in enumerate(weights):
        # The input projection of all steps at once, outside the loop.
        z = _affine(g, steps, w["weight_ih"].T, w["bias"], dtype)
        body = _scan_body(g, w, h, net, dtype, masked=bool(mask))
        scanned = [z, mask] if mask else [z]
        h_final, _, y = g.node("Scan", [zeros, zeros, *scanned], n_outputs=3, body=body,
                               num_scan_inputs=len(scanned),
                               scan_input_directions=[d] * len(scanned),
                               scan_output_directions=[d])
        outputs.append(y)
        finals.append(h_final)
    if len(weights) == 1:
        return outputs[0], finals[0]
    return (g.node("Concat", outputs, axis=-1), g.node("Concat", finals, axis=-1))


def _scan_body(parent, w, h, net, dtype, masked):
    """The graph of one step: (h, c, projected input[, mask]) to (h, c, output)."""
    g = _Graph(names=parent.name, consts=parent.const)
    h_prev, c_prev, z_t, m_t = (g.name(s) for s in ("h_prev", "c_prev", "z_t", "m_t"))
    recurrent = g.const("R", w["weight_hh"].T.astype(dtype))
    z = g.node("Add", [z_t, g.node("MatMul", [h_prev, recurrent])])
    zi, zf, zg, zo = g.node("Split", [z, g.const("split", _i64(h, h, h, h))], n_outputs=4,
                            axis=-1)
    if net.peephole:
        p = w["peephole"].astype(dtype)
        zi = g.node("Add", [zi, g.node("Mul", [c_prev, g.const("peephole_i", p[:h])])])
        zf = g.node("Add", [zf, g.node("Mul", [c_prev, g.const("peephole_f", p[h:2 * h])])])
    i = _activation(g, net.gate_activation, zi, dtype)
    f = _activation(g, net.gate_activation, zf, dtype)
    c = g.node("Add", [g.node("Mul", [f, c_prev]),
                       g.node("Mul", [i, _activation(g, net.cell_activation, zg, dtype)])])
    if net.peephole:
        zo = g.node("Add", [zo, g.node("Mul", [c, g.const("peephole_o", p[2 * h:])])])
    o = _activation(g, net.gate_activation, zo, dtype)
    h_t = g.node("Mul", [o, _activation(g, net.cell_activation, c, dtype)])
    outs = [g.name(s) for s in ("h_next", "c_next", "y_t")]
    if masked:  # past a sequence's end its state stays, its output is zero
        g.node("Where", [m_t, h_t, h_prev], outputs=[outs[0]])
        g.node("Where", [m_t, c, c_prev], outputs=[outs[1]])
        g.node("Where", [m_t, h_t, g.const("zero", np.zeros(1, dtype))], outputs=[outs[2]])
    else:
        g.node("Identity", [h_t], outputs=[outs[0]])
        g.node("Identity", [c], outputs=[outs[1]])
        g.node("Identity", [h_t], outputs=[outs[2]])
    real = _FLOAT_TYPES[np.dtype(dtype)]
    inputs = [helper.make_tensor_value_info(h_prev, real, ["N", h]),
              helper.make_tensor_value_info(c_prev, real, ["N", h]),
              helper.make_tensor_value_info(z_t, real, ["N", 4 * h])]
    if masked:
        inputs.append(helper.make_tensor_value_info(m_t, TensorProto.BOOL, ["N", 1]))
    outputs = [helper.make_tensor_value_info(name, real, ["N", h]) for name in outs]
    return helper.make_graph(g.nodes, parent.name("lstm_step"), inputs, outputs)


# -- the transformers -------------------------------------------------------------

def _emit_scaler(g, scaler, x, output, dtype):
    g.node("Div", [g.node("Sub", [x, g.const("center", scaler.center_.astype(dtype))]),
                   g.const("scale", scaler.scale_.astype(dtype))], outputs=[output])


def _emit_window(g, window, series, output):
    """Every complete window of a (T, F) series: (n_windows, look_back, F)."""
    t = g.node("Gather", [g.node("Shape", [series]),
                          g.const("zero", np.array(0, np.int64))])
    look_back = g.const("look_back", np.array(window.look_back, np.int64))
    step = g.const("step", np.array(window.step, np.int64))
    zero, one = (g.const(s, np.array(v, np.int64)) for s, v in (("zero", 0), ("one", 1)))
    n_windows = g.node("Add", [g.node("Div", [g.node("Sub", [t, look_back]), step]), one])
    starts = g.node("Mul", [g.node("Range", [zero, n_windows, one]), step])
    offsets = g.node("Range", [zero, look_back, one])
    starts = g.node("Unsqueeze", [starts, g.const("axis", _i64(1))])
    index = g.node("Add", [starts, offsets])
    g.node("Gather", [series, index], outputs=[output], axis=0)


# -- to_onnx ----------------------------------------------------------------------

def _rank(estimator):
    """The rank of the estimator's own input: 2 for token ids and for a model
    fitted on a 2D table of univariate sequences, else 3."""
    if estimator._network.embedding_dim or estimator._n_timesteps_2d:
        return 2
    return 3


def _steps(model):
    """The (transformers, estimator) of a model, checked for export."""
    if isinstance(model, Pipeline):
        steps = [(name, step) for name, step in model.steps
                 if step is not None and step != "passthrough"]
    else:
        steps = [(None, model)]
    name, estimator = steps[-1]
    if not isinstance(estimator, BaseLSTM):
        raise TypeError(f"to_onnx exports an LSTMRegressor or LSTMClassifier, or a "
                        f"Pipeline ending in one; got {type(estimator).__name__}.")
    for i, (name, step) in enumerate(steps[:-1]):
        kind = type(step).__name__
        if isinstance(step, SequenceTokenizer):
            raise ValueError(
                f"Step {name!r} (SequenceTokenizer) cannot be exported: ONNX has no "
                f"operator that splits texts into sklstm's tokens. Export the rest of "
                f"the pipeline, to_onnx(pipeline[{i + 1}:]), and feed it the token ids "
                f"of pipeline[:{i + 1}].transform(texts), padded with pad_sequences.")
        if isinstance(step, SlidingWindow) and i > 0:
            raise ValueError(f"Step {name!r} (SlidingWindow) reads a series: it can be "
                             f"exported as the first step of a pipeline only.")
        if not isinstance(step, (SequenceScaler, SlidingWindow)):
            raise ValueError(
                f"Step {name!r} ({kind}) has no converter in sklstm.onnx.to_onnx, which "
                f"exports SequenceScaler and SlidingWindow steps. For scikit-learn's "
                f"transformers use skl2onnx.to_onnx, which knows them and, once "
                f"sklstm.onnx is imported, sklstm's estimators.")
        check_is_fitted(step)
    check_is_fitted(estimator, "_params")
    return steps[:-1], estimator


def _output_infos(estimator, dtype, per_window):
    """The value infos of the outputs, shaped as predict's."""
    batch = "n_windows" if per_window else "N"
    lead = [batch, "T"] if estimator._network.per_step else [batch]
    real = _FLOAT_TYPES[dtype]
    k = estimator._network.n_outputs
    if isinstance(estimator, LSTMClassifier):
        label_type = _label_type(estimator.classes_)
        return [helper.make_tensor_value_info("label", label_type, lead),
                helper.make_tensor_value_info("probabilities", real,
                                              [*lead, len(estimator.classes_)])]
    with_axis = estimator._y_ndim == len(lead) + 1
    shape = [*lead, k] if with_axis else lead
    return [helper.make_tensor_value_info("variable", real, shape)]


def to_onnx(model, *, sequence_lens=False, dtype=None, recurrence="auto",
            target_opset=DEFAULT_OPSET):
    """Export a fitted sklstm estimator, or a pipeline ending in one, to ONNX.

    Parameters
    ----------
    model : LSTMRegressor, LSTMClassifier or Pipeline
        Fitted. A pipeline's steps before the estimator may be
        ``SequenceScaler`` and, first, ``SlidingWindow`` (or None /
        "passthrough").
    sequence_lens : bool, default=False
        Add the input ``sequence_lens``, the lengths of the sequences of a
        zero-padded batch (see :func:`pad_sequences`).
    dtype : {"float32", "float64"} or None, default=None
        Precision of the model's inputs, weights and outputs; None takes the
        estimator's ``dtype``.
    recurrence : {"auto", "lstm", "scan"}, default="auto"
        How the LSTM layers are written: ONNX's ``LSTM`` operator, or a
        ``Scan`` of elementary operators. "auto" is "lstm" for float32 and
        "scan" for float64, which onnxruntime's ``LSTM`` kernel does not run.
    target_opset : int, default=17
        The ONNX opset, at least 13.

    Returns
    -------
    onnx_model : onnx.ModelProto
        Inputs ``X`` (and ``sequence_lens``); outputs ``variable``
        (regressor) or ``label`` and ``probabilities`` (classifier), shaped
        as ``predict`` and ``predict_proba`` give them. Save it with
        ``onnx.save`` or ``SerializeToString()``.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklstm import LSTMClassifier
    >>> from sklstm.onnx import to_onnx
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 6, 2)).astype(np.float32)
    >>> y = X[:, 0, 0] > 0
    >>> clf = LSTMClassifier(hidden_layer_sizes=4, random_state=0)
    >>> clf = clf.partial_fit(X, y, classes=[False, True])  # one epoch, for the example
    >>> session = onnxruntime.InferenceSession(to_onnx(clf).SerializeToString(),
    ...                                        providers=["CPUExecutionProvider"])
    >>> label, proba = session.run(None, {"X": X[:3]})
    >>> bool((label == clf.predict(X[:3])).all())
    True
    >>> bool(np.allclose(proba, clf.predict_proba(X[:3]), atol=1e-5))
    True
    """
    transformers, estimator = _steps(model)
    dtype = np.dtype(estimator._params.dtype if dtype is None else dtype)
    if dtype not in _FLOAT_TYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype}.")
    if recurrence not in ("auto", "lstm", "scan"):
        raise ValueError(f"recurrence must be 'auto', 'lstm' or 'scan', got "
                         f"{recurrence!r}.")
    if recurrence == "auto":
        recurrence = "lstm" if dtype == np.float32 else "scan"
    if not isinstance(target_opset, int) or target_opset < MIN_OPSET:
        raise ValueError(f"target_opset must be an int of at least {MIN_OPSET}, got "
                         f"{target_opset!r}.")
    per_window = bool(transformers) and isinstance(transformers[0][1], SlidingWindow)
    if per_window and sequence_lens:
        raise ValueError("A pipeline that starts with SlidingWindow reads one series "
                         "and makes windows of one length: sequence_lens does not apply.")

    real = _FLOAT_TYPES[dtype]
    if per_window:
        inputs = [helper.make_tensor_value_info(
            "X", real, ["T", transformers[0][1].n_features_in_])]
    elif estimator._network.embedding_dim:
        inputs = [helper.make_tensor_value_info("X", TensorProto.INT64, ["N", "T"])]
    elif _rank(estimator) == 2:
        inputs = [helper.make_tensor_value_info("X", real, ["N", "T"])]
    else:
        inputs = [helper.make_tensor_value_info("X", real,
                                                ["N", "T", estimator._network.n_inputs])]
    if sequence_lens:
        inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT64,
                                                    ["N"]))
    outputs = _output_infos(estimator, dtype, per_window)

    g = _Graph()
    for info in inputs + outputs:
        g.name(info.name)
    x = "X"
    for name, step in transformers:
        out = g.name(f"{name}_output")
        if isinstance(step, SlidingWindow):
            _emit_window(g, step, x, out)
        else:
            _emit_scaler(g, step, x, out, dtype)
        x = out
    _emit_estimator(g, estimator, x, "sequence_lens" if sequence_lens else "",
                    [info.name for info in outputs], dtype, recurrence)

    graph = helper.make_graph(g.nodes, f"sklstm_{type(estimator).__name__}", inputs,
                              outputs, g.initializers)
    opsets = [helper.make_opsetid("", target_opset)]
    onnx_model = helper.make_model(graph, opset_imports=opsets, producer_name="sklstm",
                                   producer_version=_version(),
                                   ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(onnx_model)
    return onnx_model


def _version():
    from . import __version__
    return __version__


def pad_sequences(sequences, *, dtype=np.float32):
    """Sequences of different lengths as one zero-padded array and their lengths.

    Parameters
    ----------
    sequences : list of array-like
        Each of shape (n_timesteps_i, n_features), or (n_timesteps_i,) for
        univariate sequences and token ids.
    dtype : numpy dtype, default=np.float32
        The dtype of the padded array: the model's float type, or int64 for
        token ids.

    Returns
    -------
    X : ndarray of shape (n_sequences, max n_timesteps_i, n_features) or \
            (n_sequences, max n_timesteps_i)
        The sequences, zeros after each one's end.
    lengths : ndarray of int64, shape (n_sequences,)
        The ``sequence_lens`` input of a model exported with
        ``sequence_lens=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm.onnx import pad_sequences
    >>> X, lengths = pad_sequences([[1, 2, 3], [4]], dtype=np.int64)
    >>> X
    array([[1, 2, 3],
           [4, 0, 0]])
    >>> lengths
    array([3, 1])
    """
    arrays = [np.asarray(s, dtype=dtype) for s in sequences]
    if not arrays or len({a.ndim for a in arrays}) != 1 or arrays[0].ndim not in (1, 2) \
            or len({a.shape[1:] for a in arrays}) != 1:
        raise ValueError("pad_sequences takes a non-empty list of sequences, all of shape "
                         "(n_timesteps_i,) or all of (n_timesteps_i, n_features) with one "
                         "n_features.")
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    X = np.zeros((len(arrays), lengths.max(), *arrays[0].shape[1:]), dtype=dtype)
    for row, a in zip(X, arrays):
        row[:len(a)] = a
    return X, lengths


# -- skl2onnx ---------------------------------------------------------------------

def _skl2onnx_dtype(variable_type):
    """The float precision of a skl2onnx variable type (None for others)."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    if isinstance(variable_type, DoubleTensorType):
        return np.dtype(np.float64)
    if isinstance(variable_type, FloatTensorType):
        return np.dtype(np.float32)
    return None


def _skl2onnx_types():
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
    return {TensorProto.FLOAT: FloatTensorType, TensorProto.DOUBLE: DoubleTensorType,
            TensorProto.INT64: Int64TensorType, TensorProto.STRING: StringTensorType,
            TensorProto.BOOL: BooleanTensorType}


def _estimator_dtype(operator):
    """The precision of the estimator's graph: its input's when it is a float
    tensor (skl2onnx's convention), else the estimator's."""
    return (_skl2onnx_dtype(operator.inputs[0].type)
            or np.dtype(operator.raw_operator._params.dtype))


def _estimator_input(g, operator, dtype):
    """The converter's input, cast to what the graph reads (int64 ids or
    floats of `dtype`), and the estimator's expected rank checked."""
    estimator, variable = operator.raw_operator, operator.inputs[0]
    shape = variable.type.shape
    if len(shape) != _rank(estimator):
        fitted_on = ("token ids" if estimator._network.embedding_dim else
                     "a 2D table of univariate sequences" if _rank(estimator) == 2 else
                     "3D or ragged sequences")
        raise ValueError(f"{type(estimator).__name__} reads {_rank(estimator)}D input (it "
                         f"was fitted on {fitted_on}), but skl2onnx gives it a tensor of "
                         f"shape {shape}.")
    want = TensorProto.INT64 if estimator._network.embedding_dim else _FLOAT_TYPES[dtype]
    if variable.type.to_onnx_type().tensor_type.elem_type == want:
        return variable.full_name
    return g.node("Cast", [variable.full_name], to=want)


def _shape_estimator(operator):
    estimator = operator.raw_operator
    check_is_fitted(estimator, "_params")
    dtype = _estimator_dtype(operator)
    shape = operator.inputs[0].type.shape
    lead = list(shape[:2]) if estimator._network.per_step else [shape[0]]
    types = _skl2onnx_types()
    real = types[_FLOAT_TYPES[dtype]]
    if isinstance(estimator, LSTMClassifier):
        operator.outputs[0].type = types[_label_type(estimator.classes_)](lead)
        operator.outputs[1].type = real([*lead, len(estimator.classes_)])
    else:
        k = estimator._network.n_outputs
        with_axis = estimator._y_ndim == len(lead) + 1
        operator.outputs[0].type = real([*lead, k] if with_axis else lead)


def _convert_estimator(scope, operator, container):
    if container.target_opset < MIN_OPSET:
        raise ValueError(f"sklstm's converters need target_opset >= {MIN_OPSET}, got "
                         f"{container.target_opset}.")
    g = _Skl2onnxGraph(scope, container)
    dtype = _estimator_dtype(operator)
    x = _estimator_input(g, operator, dtype)
    lengths = ""
    if len(operator.inputs) > 1:  # the second input holds the sequence lengths
        lengths = g.node("Cast", [operator.inputs[1].full_name], to=TensorProto.INT64)
    _emit_estimator(g, operator.raw_operator, x, lengths,
                    [v.full_name for v in operator.outputs], dtype,
                    "lstm" if dtype == np.float32 else "scan")


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """A classifier's two outputs, label and probabilities (no ZipMap)."""
    from skl2onnx._supported_operators import sklearn_operator_name_map
    operator = scope.declare_local_operator(sklearn_operator_name_map[type(model)], model)
    operator.inputs = list(inputs)
    types = _skl2onnx_types()
    operator.outputs.append(scope.declare_local_variable(
        "label", types[_label_type(model.classes_)]()))
    operator.outputs.append(scope.declare_local_variable(
        "probabilities", types[TensorProto.FLOAT]()))
    return list(operator.outputs)


def _shape_same(operator):
    variable = operator.inputs[0].type
    operator.outputs[0].type = variable.__class__(variable.shape)


def _convert_scaler(scope, operator, container):
    g = _Skl2onnxGraph(scope, container)
    dtype = _skl2onnx_dtype(operator.inputs[0].type)
    if dtype is None:
        raise ValueError("SequenceScaler's converter reads float tensors.")
    _emit_scaler(g, operator.raw_operator, operator.inputs[0].full_name,
                 operator.outputs[0].full_name, dtype)


def _shape_window(operator):
    variable = operator.inputs[0].type
    if len(variable.shape) != 2:
        raise ValueError(f"SlidingWindow's converter reads a (T, n_features) series, got "
                         f"shape {variable.shape}.")
    operator.outputs[0].type = variable.__class__(
        [None, operator.raw_operator.look_back, variable.shape[1]])


def _convert_window(scope, operator, container):
    _emit_window(_Skl2onnxGraph(scope, container), operator.raw_operator,
                 operator.inputs[0].full_name, operator.outputs[0].full_name)


def register_skl2onnx_converters():
    """Register sklstm's converters with skl2onnx (done when this module is
    imported, if skl2onnx is installed).

    After it, ``skl2onnx.to_onnx`` converts ``LSTMRegressor``,
    ``LSTMClassifier`` (outputs ``label`` and ``probabilities``, no ZipMap),
    ``SequenceScaler`` and ``SlidingWindow``, alone or in pipelines with
    scikit-learn's steps. Float32 inputs give float32 graphs built on ONNX's
    ``LSTM``, float64 inputs float64 graphs built on ``Scan``. A second input
    of the estimator, when it is the pipeline's only model, holds the lengths
    of a zero-padded batch.

    Returns
    -------
    registered : bool
        False when skl2onnx is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> import skl2onnx
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.onnx import register_skl2onnx_converters
    >>> register_skl2onnx_converters()
    True
    >>> X = np.random.RandomState(0).normal(size=(30, 8)).astype(np.float32)
    >>> scaler = StandardScaler().fit(X)
    >>> lstm = LSTMRegressor(hidden_layer_sizes=3)
    >>> lstm = lstm.partial_fit(scaler.transform(X), X[:, -1])  # one epoch
    >>> onx = skl2onnx.to_onnx(make_pipeline(scaler, lstm), X[:1])
    >>> [o.name for o in onx.graph.output]
    ['variable']
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        return False
    update_registered_converter(LSTMRegressor, "SklstmLSTMRegressor", _shape_estimator,
                                _convert_estimator)
    update_registered_converter(LSTMClassifier, "SklstmLSTMClassifier", _shape_estimator,
                                _convert_estimator, parser=_parse_classifier,
                                options={"zipmap": [False]})
    update_registered_converter(SequenceScaler, "SklstmSequenceScaler", _shape_same,
                                _convert_scaler)
    update_registered_converter(SlidingWindow, "SklstmSlidingWindow", _shape_window,
                                _convert_window)
    return True


register_skl2onnx_converters()
