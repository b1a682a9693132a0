"""The command line's structure: light start-up, subcommands, errors, output (issue 10, item 4)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_nest import __version__, cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _without_log_settings():
    """The environment a user's shell has: no TF_CPP_MIN_LOG_LEVEL (tests/conftest.py sets one)."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def _run_as_console_script(code):
    """Runs `code` in a fresh interpreter that starts like the `keras-nest` script."""
    prelude = "import sys; sys.argv = ['keras-nest']\n"
    proc = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_help_and_models_import_no_tensorflow():
    out = _run_as_console_script(
        "from keras_nest import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "cli.main(['models'])\n"
        "print('TF_LOADED', 'tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    assert "TF_LOADED False False" in out
    assert "nest_tiny_imagenet" in out and "nest_gan_32" in out  # classifiers and generators


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"keras-nest {__version__}"


def test_help_shows_recipe_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    assert "--base-learning-rate" in text and "default 0.004 / 0.00025 / 0.00025" in text
    assert "default nest_nano_16" in text and "--resume" in text


def test_explain_subcommands_and_the_old_spelling_parse_alike():
    parser = cli.build_parser()
    new = parser.parse_args(cli._legacy_argv(["explain", "image", "x.png", "--model-path", "m.keras"]))
    old = parser.parse_args(cli._legacy_argv(["explain", "x.png", "--model-path", "m.keras"]))
    assert new.run is old.run is cli._cmd_explain_image and new.image == old.image == "x.png"
    flags_first = parser.parse_args(cli._legacy_argv(["explain", "--model-path", "m.keras", "x.png"]))
    assert flags_first.run is cli._cmd_explain_image and flags_first.image == "x.png"
    old_evaluate = parser.parse_args(cli._legacy_argv(["explain", "--model-path", "m.keras", "evaluate"]))
    assert old_evaluate.run is cli._cmd_explain_evaluate
    evaluate = parser.parse_args(["explain", "evaluate", "--model-path", "m.keras"])
    assert evaluate.run is cli._cmd_explain_evaluate and evaluate.dataset is None  # the function's default


def test_help_reads_the_python_defaults_without_importing_them():
    import inspect

    from keras_nest.explain.evaluation import evaluate_localization
    from keras_nest.gan.training import sample

    for path, function in (("gan/training.py", sample), ("explain/evaluation.py", evaluate_localization)):
        expected = {name: p.default for name, p in inspect.signature(function).parameters.items()
                    if p.default is not inspect.Parameter.empty and isinstance(p.default, (int, float, str))}
        assert {k: v for k, v in cli._defaults(path, function.__name__).items() if v is not None} == expected


def test_cli_choices_are_the_library_constants():
    from keras_nest.explain import CAM_METHODS

    assert cli._constant("explain/cam.py", "CAM_METHODS") == CAM_METHODS


def test_a_bug_keeps_its_traceback(monkeypatch):
    import keras_nest.training.trainer as trainer

    def broken(**kwargs):
        raise TypeError("unsupported operand type(s) for %: 'NoneType' and 'int'")  # not an InputError

    monkeypatch.setattr(trainer, "train", broken)
    with pytest.raises(TypeError, match="unsupported operand"):
        cli.main(["train", "--epochs", "1"])


def test_input_errors_are_one_line(capsys):
    assert cli.main(["train", "--epochs", "0", "--out", "never-made"]) == 2
    assert "keras-nest train: error: Recipe field epochs must be an int >= 1, got 0." in capsys.readouterr().err
    assert not os.path.exists("never-made")


def test_verbose_auto_is_one_line_per_epoch_off_a_terminal(monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert cli._verbose("auto") == 2
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli._verbose("auto") == 1 and cli._verbose("0") == 0


def test_validation_split_errors_name_their_argument():
    from keras_nest.training.trainer import _stratified_split

    with pytest.raises(ValueError, match="validation_fraction must be"):
        _stratified_split(np.arange(10) % 2, 0.0, 0, "validation_fraction")


@pytest.mark.slow
def test_training_output_is_quiet_and_machine_readable(tmp_path):
    """A CPU-only run prints no CUDA/absl lines, a first line, epoch lines, then one JSON line.

    Also digits at 32 px: normalised with the 32-px statistics (std 0.324), not the 16-px constants.
    """
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'keras-nest'; from keras_nest.cli import main; "
         "sys.exit(main())", "train", "--epochs", "1", "--train-fraction", "0.1", "--image-size", "32",
         "--out", str(tmp_path / "run"), "--no-export", "--no-tensorboard", "--jit-compile", "off"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=_without_log_settings())
    assert proc.returncode == 0, proc.stderr[-2000:]
    for noise in ("cuda", "absl", "I0000", "E0000", "oneDNN"):
        assert noise not in proc.stderr + proc.stdout, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("keras-nest train: nest_nano_16 on digits at 32x32, recipe small (1 epochs, "
                               "batch 64), new run in") and lines[0].endswith("XLA off")
    assert any(line.startswith("2/2") or "accuracy" in line for line in lines[1:-1])  # verbose=2 epoch line
    result = json.loads(lines[-1])
    from keras_nest.data import dataset_info

    expected = dataset_info("digits", image_size=32).std[0]
    assert result["normalization"]["std"][0] == pytest.approx(expected, abs=1e-6)
    assert abs(expected - 0.3186) > 0.003  # the 16-px constant would be wrong here
