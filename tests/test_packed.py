"""Packed trials: trials of one architecture trained as one compiled program give, bit for
bit, the records they give trained one by one; a diverging trial in a pack ends at its
own step and leaves the others alone; what cannot pack trains alone and says why."""
import numpy as np
import pytest

STEPS, EVERY = 60, 20


@pytest.fixture(autouse=True)
def small_packs(monkeypatch):
    """Packs of a few short trials, which a study would train alone (too few to pay)."""
    from playbook_kit.training import packed

    monkeypatch.setattr(packed, "MIN_TRIALS", 2)
    monkeypatch.setattr(packed, "MIN_TRIAL_STEPS", 0)


def same_record(packed, alone):
    assert (packed.status, packed.reason, packed.steps_completed, packed.best_step) == \
        (alone.status, alone.reason, alone.steps_completed, alone.best_step)
    assert packed.curves[["step", "split", "metric"]].equals(
        alone.curves[["step", "split", "metric"]])
    assert np.array_equal(packed.curves["value"].to_numpy(), alone.curves["value"].to_numpy(),
                          equal_nan=True)
    assert packed.best_metrics == alone.best_metrics


def test_a_pack_gives_each_trial_its_own_bits_a_diverging_one_included(pk, digits, tmp_path):
    """A pack of 17 (wider than a SIMD register of float32, so that per-trial vectors take
    the vector path), one trial diverging (learning rate 30), schedules, warmup, betas and
    epsilons varying, each trial with its own seed, and one of another width (a pack of
    its own): every curve value, best step and kept checkpoint is the one train_trial
    gives alone."""
    workload = pk.Workload(digits, defaults={"width": 32})
    schedules = [{}, {"schedule": "cosine", "warmup_steps": 10},
                 {"schedule": "linear", "decay_factor": 0.1}]
    configs = [{"learning_rate": 1e-3 * 1.3 ** i, "beta1": 0.8 + 0.01 * i,
                "beta2": 0.99 + 0.0005 * i, "epsilon": 10.0 ** -(4 + i % 4),
                **schedules[i % 3]} for i in range(17)]
    configs[1] = {"learning_rate": 30.0}
    configs.append({"learning_rate": 2e-3, "width": 48})
    seeds = list(range(len(configs)))
    packed = pk.train_pack(workload, configs, seeds, max_train_steps=STEPS, eval_every=EVERY,
                           checkpoint_dirs=[tmp_path / f"p{i}" for i in seeds], keep_best=1,
                           pack=32)
    alone = [pk.train_trial(workload, c, s, max_train_steps=STEPS, eval_every=EVERY,
                            checkpoint_dir=tmp_path / f"a{s}", keep_best=1)
             for c, s in zip(configs, seeds)]
    assert packed[1].status == "infeasible"
    assert sum(r.status == "completed" for r in packed) == len(configs) - 1
    for one, other in zip(packed, alone):
        same_record(one, other)
    assert {r.engine_reason.split("; ")[-1] for r in packed[:17]} == \
        {"packed with 16 other trials"}
    assert packed[17].engine_reason.endswith("not packed: 1 trial of this architecture, "
                                             "fewer than the 2 a pack needs to pay")
    for i in (0, 2, 17):
        a, b = (pk.restore_checkpoint(workload, r) for r in (packed[i], alone[i]))
        assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def test_clipped_trials_pack_to_the_same_bits(pk, digits):
    workload = pk.Workload(digits, defaults={"width": 32, "clip_norm": 0.5})
    configs = [{"learning_rate": r, "clip_norm": c}
               for r, c in ((3e-3, 0.5), (1e-2, 1.0), (3e-2, 0.1))]
    packed = pk.train_pack(workload, configs, [5, 6, 7], max_train_steps=STEPS,
                           eval_every=EVERY)
    for config, seed, one in zip(configs, [5, 6, 7], packed):
        alone = pk.train_trial(workload, config, seed, max_train_steps=STEPS,
                               eval_every=EVERY)
        same_record(one, alone)
        assert one.curves.query("metric == 'clipped_fraction'")["value"].max() > 0


def test_sgd_momentum_and_nesterov_trials_pack_to_the_same_bits(pk, digits):
    """Each optimizer's trials in a pack of their own (the update is structural), a
    schedule and a zero momentum (plain SGD) among them."""
    workload = pk.Workload(digits, defaults={"width": 32})
    configs = [{"optimizer": kind, "learning_rate": rate, "momentum": momentum,
                "schedule": schedule}
               for kind in ("sgd", "momentum", "nesterov")
               for rate, momentum, schedule in ((0.05, 0.9, "constant"), (0.1, 0.5, "cosine"),
                                                (0.02, 0.0, "linear"))]
    packed = pk.train_pack(workload, configs, list(range(9)), max_train_steps=STEPS,
                           eval_every=EVERY)
    for seed, (config, one) in enumerate(zip(configs, packed)):
        same_record(one, pk.train_trial(workload, config, seed, max_train_steps=STEPS,
                                        eval_every=EVERY))
    reasons = [r.engine_reason.split("; ")[-1] for r in packed]
    assert reasons.count("packed with 4 other trials") == 5  # SGD, and a zero momentum
    assert reasons.count("packed with 1 other trial") == 4  # momentum, Nesterov


def test_what_cannot_pack_trains_alone_and_says_why(pk, digits):
    workload = pk.Workload(digits, defaults={"width": 32})
    configs = [{"optimizer": "adamw", "learning_rate": 0.01}, {"dropout": 0.1}]
    results = pk.train_pack(workload, configs, [0, 0], max_train_steps=20, eval_every=10)
    assert [r.engine_reason.split("; ")[-1] for r in results] == [
        "not packed: only Adam and SGD (with momentum or Nesterov's) pack yet",
        "not packed: dropout does not pack yet"]
    assert all(r.status == "completed" for r in results)


@pytest.mark.parametrize("pack", [0, 65, 2.0, "4", True])
def test_a_pack_size_outside_1_to_64_is_refused_naming_it(pk, digits, pack):
    workload = pk.Workload(digits, defaults={"width": 32})
    with pytest.raises(ValueError, match=r"pack.*1 \(no packing\) to 64"):
        pk.train_pack(workload, [{}], [0], pack=pack)


def test_mismatched_seeds_are_refused_before_training(pk, digits):
    workload = pk.Workload(digits, defaults={"width": 32})
    with pytest.raises(ValueError, match="seeds.*one per config"):
        pk.train_pack(workload, [{}, {}], [0])


def test_a_study_packs_its_trials_and_records_what_it_records_one_by_one(pk, digits,
                                                                          tmp_path):
    """The same quasi-random nuisance study (two seeds per config) packed and one by one:
    the same trial table and curves, bit for bit; packing shows in the engine reason."""
    workload = pk.Workload(digits, defaults={"width": 32})
    space = (pk.SearchSpace().nuisance("learning_rate", 1e-4, 3e-1, scale="log")
             .nuisance("beta1", 0.8, 0.95))
    studies = {pack: pk.run_study(workload, space, max_trials=6, max_train_steps=STEPS,
                                  eval_every=EVERY, repeats=2, directory=tmp_path,
                                  name=f"pack{pack}", progress=False, pack=pack)
               for pack in (1, 8)}
    packed, alone = studies[8], studies[1]
    columns = ["trial_id", "status", "objective", "learning_rate", "beta1"]
    assert packed.trials[columns].equals(alone.trials[columns])
    keys = ["trial_id", "seed", "step", "split", "metric"]
    a, b = (s.curves.sort_values(keys).reset_index(drop=True) for s in (packed, alone))
    assert a[keys].equals(b[keys]) and np.array_equal(a["value"], b["value"], equal_nan=True)
    assert (packed.trials["status"] == "completed").sum() >= 4
    assert packed.runs["engine_reason"].str.contains("; packed with").all()
    assert not alone.runs["engine_reason"].str.contains("packed").any()
    from playbook_kit.insight.audit import _summary

    assert "12 runs on the compiled engine (12 packed)" in _summary(packed)
    retrained = pk.retrain(packed, "0", seeds=3, progress=False)  # a config's seeds: a pack
    assert retrained.runs["engine_reason"].str.endswith("packed with 2 other trials").all()


def test_a_study_refuses_a_pack_outside_1_to_64(pk, digits, tmp_path):
    workload = pk.Workload(digits, defaults={"width": 32})
    space = pk.SearchSpace().nuisance("learning_rate", 1e-4, 3e-1, scale="log")
    with pytest.raises(ValueError, match="pack=0 is not allowed"):
        pk.run_study(workload, space, max_trials=2, max_train_steps=20, eval_every=10,
                     directory=tmp_path, progress=False, pack=0)
    assert not (tmp_path / "study").exists()


def test_a_pack_that_would_not_fit_in_memory_is_shrunk_with_a_warning(pk, digits):
    from playbook_kit.training import packed

    model = pk.build_model(pk.resolve_config({"width": 64}), (8, 8, 1), 10)
    each = packed.trial_bytes(model, 64)
    assert each > 4 * 4 * 64 * 64  # four copies of the first kernel at least
    assert packed.pack_that_fits(16, model, 64, available=100 * each) == 16
    with pytest.warns(UserWarning, match=r"pack=16 of .* MiB available; packing 5 trials"):
        assert packed.pack_that_fits(16, model, 64, available=10 * each + 1) == 5


def test_the_command_line_takes_pack_and_refuses_one_outside_1_to_64(tmp_path, capsys):
    import yaml

    from playbook_kit.cli import main

    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump({
        "name": "s", "max_trials": 2, "max_train_steps": 20, "eval_every": 10,
        "space": {"learning_rate": {"role": "nuisance", "low": 1e-3, "high": 1e-2}}}))
    assert main(["study", str(study), "--directory", str(tmp_path), "--pack", "65",
                 "--no-progress"]) == 2
    assert "pack=65 is not allowed; use an integer from 1 (no packing) to 64" in \
        capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_too_few_trials_of_an_architecture_train_alone_and_say_why(pk, digits, monkeypatch):
    from playbook_kit.training import packed

    monkeypatch.setattr(packed, "MIN_TRIALS", 8)
    monkeypatch.setattr(packed, "MIN_TRIAL_STEPS", 4_800)
    workload = pk.Workload(digits, defaults={"width": 32})
    few = pk.train_pack(workload, [{"learning_rate": 1e-3}] * 3, [0, 1, 2],
                        max_train_steps=20, eval_every=10)
    assert {r.engine_reason.split("; ")[-1] for r in few} == {
        "not packed: 3 trials of this architecture, fewer than the 8 a pack needs to pay"}
    for seed, result in enumerate(few):  # each drew its data order under its own seed
        same_record(result, pk.train_trial(workload, {"learning_rate": 1e-3}, seed,
                                           max_train_steps=20, eval_every=10))
    short = pk.train_pack(workload, [{"learning_rate": 1e-3}] * 8, list(range(8)),
                          max_train_steps=20, eval_every=10)
    assert short[0].engine_reason.endswith(
        "not packed: 8 trials of 20 steps, fewer than the 4,800 trial-steps that pay for "
        "tracing a pack")


def test_a_stopped_pack_leaves_each_trial_a_state_that_resumes_to_the_same_bits(
        pk, digits, tmp_path, monkeypatch):
    """SIGTERM during a pack (a stop asked for after its first call): every trial writes
    its own state and the pack stops; run again, each trial resumes from its state (alone)
    and ends with the record the pack would have given it uninterrupted."""
    from playbook_kit.training import packed, trial_state

    workload = pk.Workload(digits, defaults={"width": 32})
    configs = [{"learning_rate": r} for r in (1e-3, 3e-3, 1e-2, 3e-2)]
    run = dict(max_train_steps=80, eval_every=20, checkpoint_every=20)
    whole = pk.train_pack(workload, configs, [0, 1, 2, 3],
                          checkpoint_dirs=[tmp_path / f"whole{i}" for i in range(4)], **run)
    dirs = [tmp_path / f"stopped{i}" for i in range(4)]
    real = packed.PackedProgram.train_steps

    def then_stop(self, *args):
        answer = real(self, *args)
        trial_state.request_stop()
        return answer

    with monkeypatch.context() as patch:
        patch.setattr(packed.PackedProgram, "train_steps", then_stop)
        with pytest.raises(trial_state.TrialInterrupted):
            pk.train_pack(workload, configs, [0, 1, 2, 3], checkpoint_dirs=dirs, **run)
    trial_state._STOP.clear()
    assert all(trial_state.TrialState(d, {}).states() for d in dirs)
    resumed = pk.train_pack(workload, configs, [0, 1, 2, 3], checkpoint_dirs=dirs, **run)
    for one, other in zip(resumed, whole):
        same_record(one, other)
        assert one.resumed_from == [20]
        assert one.engine_reason.endswith("not packed: it resumes from its state")


def test_data_not_held_as_one_array_does_not_pack(pk, digits):
    """A pipeline or a keras.utils.PyDataset has no training array to gather from."""
    from types import SimpleNamespace

    from playbook_kit.training.packed import unpackable_reason

    workload = pk.Workload(digits, defaults={"width": 32})
    config = workload.config({})
    assert unpackable_reason(workload, config, None, digits) == ""
    assert unpackable_reason(workload, config, None, SimpleNamespace()) == \
        "the training features are not one float32 array in memory"
