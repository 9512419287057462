import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sys

import pytest

from tests.fresh_environment import (built, executed_tour,  # noqa: F401 (fixtures)
                                     fresh_environment, wheel_tour)


@pytest.fixture(autouse=True)
def _close_figures():
    """Figures a test leaves open in pyplot do not leak into the next test's count."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(autouse=True)
def _keep_working_directory():
    """A test that leaves the process in another folder does not move the next one: a
    relative name (``find_notebook("01_exploration.ipynb")``) then found the repository's
    notebooks/ in one ``make test`` run."""
    before = os.getcwd()
    yield
    if os.getcwd() != before:
        os.chdir(before)


@pytest.fixture(scope="session")
def pk():
    import playbook_kit

    playbook_kit.setup(seed=0)
    return playbook_kit


@pytest.fixture(scope="session")
def digits(pk):
    return pk.load_digits(seed=0)


@pytest.fixture(scope="session")
def digits_workload(pk, digits):
    return pk.Workload(digits, defaults={"width": 32, "learning_rate": 3.0e-3})


@pytest.fixture
def plain_keras_tuner(digits, tmp_path):
    """Runs a plain keras-tuner ``RandomSearch`` (no playbook-kit files) into
    ``tmp_path/plain`` and returns its tuner: a study as keras-tuner's own users have it."""
    def run(max_trials=3, max_units=32, examples=None, epochs=2):
        import keras
        import keras_tuner as kt

        def build(hp):
            model = keras.Sequential([
                keras.Input(digits.input_shape), keras.layers.Flatten(),
                keras.layers.Dense(hp.Int("units", 8, max_units, step=8), activation="relu"),
                keras.layers.Dense(10)])
            model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            return model

        tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=max_trials,
                                seed=1, directory=str(tmp_path), project_name="plain")
        tuner.search(digits.x_train[:examples], digits.y_train[:examples], epochs=epochs,
                     verbose=0, validation_data=(digits.x_val, digits.y_val))
        return tuner
    return run
