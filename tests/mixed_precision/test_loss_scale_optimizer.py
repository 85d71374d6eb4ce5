"""``LossScaleOptimizer``: loss scaling, unscaled updates, skipped steps, growth, configs,
saved state, compile's wrapping, and no device reads inside a step (fake CuPy device)."""
import numpy as np
import pytest

import gkeras
from gkeras import Tensor, Variable, backends, layers, mixed_precision, optimizers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.optimizers import LossScaleOptimizer

from fakecupy import DeviceArray, FakeCupy

# float16 overflow (NumPy's RuntimeWarnings) is what several of these tests provoke
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture
def fake():
    device = FakeCupy()
    backends.set_backend(CupyBackend(xp=device))
    return device


def _weights():
    return Variable(np.array([1.0, 2.0], "float32"), name="w")


# Keras 3.15 (torch backend) on this sequence with SGD(0.5, momentum=0.5), initial_scale=4,
# dynamic_growth_steps=2: weights, scale, step counter and momentum after each step.
SEQUENCE = [[4.0, 8.0], [np.inf, 1.0], [2.0, -2.0], [1.0, 1.0], [np.nan, 0.0], [8.0, 8.0]]
KERAS3 = [([0.5, 1.0], 4.0, 1, [-0.5, -1.0]),
          ([0.5, 1.0], 2.0, 0, [-0.5, -1.0]),
          ([-0.25, 1.0], 2.0, 1, [-0.75, 0.0]),
          ([-0.875, 0.75], 4.0, 0, [-0.625, -0.25]),
          ([-0.875, 0.75], 2.0, 0, [-0.625, -0.25]),
          ([-3.1875, -1.375], 2.0, 1, [-2.3125, -2.125])]


def test_steps_skips_and_growth_match_keras3():
    optimizer = LossScaleOptimizer(optimizers.SGD(0.5, momentum=0.5), initial_scale=4.0,
                                   dynamic_growth_steps=2)
    w = _weights()
    for step, (grad, (weights, scale, counter, momentum)) in enumerate(zip(SEQUENCE, KERAS3)):
        optimizer.apply([np.array(grad, "float32")], [w])
        np.testing.assert_array_equal(w.numpy(), weights, err_msg=f"step {step}")
        assert float(optimizer.dynamic_scale) == scale
        assert int(optimizer.step_counter) == counter
        np.testing.assert_array_equal(optimizer.inner_optimizer.variables[-1].numpy(), momentum)
    # as Keras 3: the two skipped steps are not counted
    assert int(optimizer.iterations) == 4


# Keras 3.15 (torch backend): Adam(0.1) in LossScaleOptimizer(initial_scale=4,
# dynamic_growth_steps=2) on these scaled gradients, from w = [1, -2]: iterations, dynamic
# scale, step counter and weights after each step. A skipped step does not advance
# `iterations`, so the bias corrections of the steps after it use the applied-step count.
ADAM_SEQUENCE = [[4.0, 8.0], [np.inf, 1.0], [2.0, -4.0], [4.0, np.nan], [8.0, 8.0], [1.0, 1.0]]
ADAM_KERAS3 = [(1, 4.0, 1, [0.9000009894371033, -2.099999189376831]),
               (1, 2.0, 0, [0.9000009894371033, -2.099999189376831]),
               (2, 2.0, 1, [0.8000022172927856, -2.094736099243164]),
               (2, 1.0, 0, [0.8000022172927856, -2.094736099243164]),
               (3, 1.0, 1, [0.7236486077308655, -2.153613567352295]),
               (4, 2.0, 0, [0.6544705629348755, -2.20831561088562])]


@pytest.mark.parametrize("device", [False, True], ids=["numpy", "fake_cupy"])
def test_skipped_steps_leave_iterations_and_adam_bias_corrections_as_keras3(device, request):
    fake = request.getfixturevalue("fake") if device else None
    optimizer = LossScaleOptimizer(optimizers.Adam(0.1), initial_scale=4.0,
                                   dynamic_growth_steps=2)
    w = Variable(np.array([1.0, -2.0], "float32"), name="w")
    for step, (grad, (iterations, scale, counter, weights)) in enumerate(
            zip(ADAM_SEQUENCE, ADAM_KERAS3)):
        grad = np.array(grad, "float32")
        if fake is not None:
            grad = fake.asarray(grad)
            fake.reset()
        optimizer.apply([grad], [w])
        if fake is not None:  # the skip decision and the count stay on the device
            assert fake.counts["to_host"] == 0, fake.sites["to_host"]
        assert int(optimizer.iterations) == iterations, f"step {step}"
        assert int(optimizer.inner_optimizer.iterations) == iterations
        assert float(optimizer.dynamic_scale) == scale
        assert int(optimizer.step_counter) == counter
        # Keras 3 (torch) and NumPy round Adam's float32 arithmetic differently in the last bits
        np.testing.assert_allclose(w.numpy(), weights, rtol=1e-5, err_msg=f"step {step}")


def test_an_inner_optimizer_without_a_device_form_keeps_counting_on_the_host():
    class Custom(optimizers.SGD):
        def _hyper(self, learning_rate):
            return super()._hyper(learning_rate)

    optimizer = LossScaleOptimizer(Custom(0.5), initial_scale=4.0)
    w = _weights()
    for grad in SEQUENCE[:3]:
        optimizer.apply([np.array(grad, "float32")], [w])
    assert "Custom computes its update on the host" in optimizer.host_iterations_reason
    assert int(optimizer.iterations) == 3  # the skipped step is counted


@pytest.mark.parametrize("inner", [
    lambda: optimizers.Adam(0.01, amsgrad=True), lambda: optimizers.RMSprop(centered=True),
    lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True)], ids=["adam", "rmsprop", "sgd"])
def test_unscaled_updates_equal_the_inner_optimizer_on_unscaled_gradients(inner):
    rng = np.random.default_rng(0)
    scaled_w, plain_w = _weights(), _weights()
    scaled, plain = LossScaleOptimizer(inner(), initial_scale=2.0 ** 10), inner()
    for _ in range(3):
        grad = rng.standard_normal(2).astype("float32")
        scaled.apply([Tensor(grad * np.float32(2.0 ** 10))], [scaled_w])  # a power of 2: exact
        plain.apply([grad], [plain_w])
    np.testing.assert_array_equal(scaled_w.numpy(), plain_w.numpy())
    for got, want in zip(scaled.inner_optimizer.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_a_skipped_step_leaves_weights_and_adam_state_unchanged():
    optimizer = LossScaleOptimizer(optimizers.Adam(0.1), initial_scale=8.0)
    w, b = _weights(), Variable(np.zeros(3, "float32"), name="b")
    optimizer.apply([np.ones(2, "float32"), np.ones(3, "float32")], [w, b])
    state = optimizer.get_weights()
    values = [w.numpy(), b.numpy()]
    optimizer.apply([np.ones(2, "float32"), np.array([1, np.inf, 1], "float32")], [w, b])
    np.testing.assert_array_equal(w.numpy(), values[0])
    np.testing.assert_array_equal(b.numpy(), values[1])
    after = optimizer.get_weights()
    assert (float(optimizer.dynamic_scale), int(optimizer.step_counter)) == (4.0, 0)
    # everything but the host step count (the inner 'iteration') and the scale bookkeeping
    # is unchanged: Adam's moments included
    for variable, old, new in zip(optimizer.variables, state, after):
        if not variable.path.endswith(("iteration", "dynamic_scale", "step_counter")):
            np.testing.assert_array_equal(new, old, err_msg=variable.path)


def test_scale_loss_uses_the_current_scale():
    optimizer = LossScaleOptimizer(optimizers.SGD(), initial_scale=64.0)
    loss = Tensor(np.float32(1.5))
    assert float(optimizer.scale_loss(loss)) == 96.0  # not built: the initial scale
    w = _weights()
    optimizer.apply([np.array([np.inf, 0], "float32")], [w])
    scaled = optimizer.scale_loss(loss)
    assert float(scaled) == 48.0 and scaled.dtype == np.float32


def test_model_gradients_are_unscaled_through_fit():
    # one SGD step through fit with and without loss scaling gives the same weights
    x = np.random.default_rng(1).standard_normal((8, 3)).astype("float32")
    y = np.random.default_rng(2).standard_normal((8, 2)).astype("float32")
    results = []
    for optimizer in (optimizers.SGD(0.1), LossScaleOptimizer(optimizers.SGD(0.1)),
                      optimizers.SGD(0.1, loss_scale_factor=4.0)):
        model = gkeras.Sequential([layers.Dense(2, input_shape=(3,),
                                                kernel_initializer="ones")])
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        results.append(model.get_weights())
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_allclose(got, want, rtol=1e-6)


def test_compile_wraps_the_optimizer_of_a_mixed_float16_model():
    def model():
        return gkeras.Sequential([layers.Dense(2, input_shape=(3,))])
    plain = model()
    plain.compile(optimizer="adam", loss="mse")
    assert type(plain.optimizer).__name__ == "Adam"
    mixed_precision.set_global_policy("mixed_float16")
    mixed = model()
    mixed.compile(optimizer="adam", loss="mse")
    assert isinstance(mixed.optimizer, LossScaleOptimizer)
    assert mixed.optimizer.name == "loss_scale_optimizer"
    assert type(mixed.optimizer.inner_optimizer).__name__ == "Adam"
    given = LossScaleOptimizer(optimizers.SGD(), initial_scale=8.0)
    wrapped = model()
    wrapped.compile(optimizer=given, loss="mse")
    assert wrapped.optimizer is given  # not wrapped twice
    unscaled = model()
    unscaled.compile(optimizer="adam", loss="mse", auto_scale_loss=False)
    assert type(unscaled.optimizer).__name__ == "Adam"


def test_config_round_trip_and_lookup_by_name():
    optimizer = LossScaleOptimizer(optimizers.Adam(0.002, beta_1=0.8), initial_scale=128.0,
                                   dynamic_growth_steps=10, name="lso")
    cfg = optimizer.get_config()
    assert cfg["inner_optimizer"]["class_name"] == "Adam"
    assert (cfg["name"], cfg["initial_scale"], cfg["dynamic_growth_steps"]) == (
        "lso", 128.0, 10)
    again = optimizers.deserialize(optimizers.serialize(optimizer))
    assert isinstance(again, LossScaleOptimizer) and again.get_config() == cfg
    assert again.inner_optimizer.beta_1 == 0.8
    assert mixed_precision.LossScaleOptimizer is LossScaleOptimizer
    assert again.learning_rate == pytest.approx(0.002)
    again.learning_rate = 0.5
    assert again.inner_optimizer.learning_rate == 0.5


def test_keras3_argument_errors():
    with pytest.raises(ValueError, match="dynamic=False"):
        LossScaleOptimizer(optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="`clipnorm`.*inner_optimizer"):
        LossScaleOptimizer(optimizers.SGD(), clipnorm=1.0)
    with pytest.raises(TypeError, match="inner_optimizer.*Optimizer instance"):
        LossScaleOptimizer("adam")
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        LossScaleOptimizer(optimizers.SGD(), dynamic_growth_steps=0)


def test_state_in_keras3_order_and_restored_by_set_weights():
    optimizer = LossScaleOptimizer(optimizers.SGD(0.5, momentum=0.5), initial_scale=4.0,
                                   dynamic_growth_steps=2)
    w = _weights()
    for grad in SEQUENCE[:3]:
        optimizer.apply([np.array(grad, "float32")], [w])
    assert [v.path for v in optimizer.variables] == [
        "loss_scale_optimizer/iteration", "loss_scale_optimizer/learning_rate",
        "loss_scale_optimizer/step_counter", "loss_scale_optimizer/dynamic_scale",
        "SGD/iteration", "SGD/learning_rate", "SGD/w_momentum"]
    fresh = LossScaleOptimizer(optimizers.SGD(0.5, momentum=0.5), initial_scale=4.0,
                               dynamic_growth_steps=2)
    fresh.build([w])
    fresh.set_weights(optimizer.get_weights())
    assert (float(fresh.dynamic_scale), int(fresh.step_counter), int(fresh.iterations)) == (
        2.0, 1, 2)
    with pytest.raises(ValueError, match="7 state variable"):
        fresh.set_weights(optimizer.get_weights()[:-1])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_saved_model_keeps_the_loss_scale_state(tmp_path, suffix):
    mixed_precision.set_global_policy("mixed_float16")
    model = gkeras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer=LossScaleOptimizer(optimizers.Adam(), initial_scale=2.0 ** 20,
                                               dynamic_growth_steps=3), loss="mse")
    x = np.random.default_rng(0).standard_normal((10, 3)).astype("float32")
    y = np.full((10, 2), 300.0, "float32")  # a loss * 2**20 past float16's range: skips
    model.fit(x, y, batch_size=5, epochs=2, verbose=0)
    scale, counter = float(model.optimizer.dynamic_scale), int(model.optimizer.step_counter)
    assert scale < 2.0 ** 20
    model.save(tmp_path / f"m{suffix}")
    loaded = gkeras.models.load_model(tmp_path / f"m{suffix}")
    assert isinstance(loaded.optimizer, LossScaleOptimizer)
    assert (float(loaded.optimizer.dynamic_scale), int(loaded.optimizer.step_counter)) == (
        scale, counter)
    assert loaded.optimizer.dynamic_growth_steps == 3
    for got, want in zip(loaded.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(got, want)
    if suffix == ".keras":  # Keras 3's layout: all variables, then the inner optimizer's again
        import io
        import zipfile
        import h5py
        with zipfile.ZipFile(tmp_path / "m.keras") as archive, h5py.File(
                io.BytesIO(archive.read("model.weights.h5"))) as f:
            assert len(f["optimizer/vars"]) == len(model.optimizer.variables)
            inner = f["optimizer/inner_optimizer/vars"]
            assert len(inner) == len(model.optimizer.inner_optimizer.variables)
            np.testing.assert_array_equal(inner[str(len(inner) - 1)],
                                          model.optimizer.inner_optimizer.get_weights()[-1])


def test_float16_overflow_in_fit_is_skipped_then_trains():
    mixed_precision.set_global_policy("mixed_float16")
    model = gkeras.Sequential([layers.Dense(1, input_shape=(2,), kernel_initializer="zeros")])
    model.compile(optimizer=LossScaleOptimizer(optimizers.SGD(0.05), initial_scale=2.0 ** 24),
                  loss="mse")
    x = np.random.default_rng(0).standard_normal((32, 2)).astype("float32")
    y = (x @ np.array([[2.0], [-1.0]], "float32")).astype("float32")
    history = model.fit(x, y, batch_size=8, epochs=20, verbose=0).history["loss"]
    assert float(model.optimizer.dynamic_scale) < 2.0 ** 24  # overflowing steps halved it
    assert np.isfinite(model.get_weights()[0]).all()
    assert history[-1] < 0.05 * history[0]


# --- on the fake device: the step never reads the device -------------------------------------

def test_skipping_on_the_device_reads_nothing(fake):
    optimizer = LossScaleOptimizer(optimizers.Adam(0.1), initial_scale=4.0,
                                   dynamic_growth_steps=2)
    w = _weights()
    fake.reset()
    for grad in SEQUENCE:
        optimizer.apply([fake.asarray(np.array(grad, "float32"))], [w])
    assert fake.counts["to_host"] == 0 and fake.counts["synchronize"] == 0
    assert isinstance(optimizer.dynamic_scale.value, DeviceArray)
    assert float(optimizer.dynamic_scale) == 2.0  # read when asked: one read
    assert fake.counts["to_host"] == 1


def test_mixed_precision_fit_reads_the_device_per_epoch_not_per_batch(fake):
    mixed_precision.set_global_policy("mixed_float16")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8)).astype("float32")
    y = x[:, :3].argmax(-1)

    def counted_fit(batch_size):
        model = gkeras.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)),
                                   layers.Dense(3),
                                   layers.Activation("softmax", dtype="float32")])
        model.compile(optimizer=LossScaleOptimizer(optimizers.Adam(), initial_scale=2.0 ** 40),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        fake.reset()
        history = model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0)
        return dict(fake.counts), model, history.history["loss"]

    many, model, losses = counted_fit(10)
    few, _, _ = counted_fit(100)
    assert many == few  # 20 steps an epoch or 2: no read is per step
    assert many["to_host"] == 2 * 2 and many["synchronize"] == 0  # loss, accuracy per epoch
    assert all(isinstance(w.value, DeviceArray) for w in model.weights)
    assert model.weights[0].dtype == np.float32
    assert float(model.optimizer.dynamic_scale) < 2.0 ** 40  # it skipped steps on the device
    assert losses[-1] < losses[0]


def test_scaling_rescues_gradients_that_underflow_in_float16():
    from gkeras import GradientTape, ops
    layer = layers.Dense(2, dtype="mixed_float16")
    x = np.ones((4, 3), "float32")
    layer(x)
    optimizer = LossScaleOptimizer(optimizers.SGD(1.0))

    def kernel_gradient(scale):
        with GradientTape() as tape:
            loss = ops.sum(ops.cast(layer(x), "float32")) * np.float32(1e-8)
            scaled = optimizer.scale_loss(loss) if scale else loss
        return tape.gradient(scaled, layer.kernel).numpy()

    assert not kernel_gradient(False).any()  # 1e-8 is below float16's smallest subnormal
    rescued = kernel_gradient(True) / optimizer.initial_scale
    np.testing.assert_allclose(rescued, np.full((3, 2), 4e-8), rtol=1e-2)
