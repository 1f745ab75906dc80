"""Bad load-test options are refused before anything starts, with a message naming the
option; through the options object, ``cetate loadtest`` and ``benchmarks/mqtt_ingest.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from cetate.cli import app
from cetate.loadtest import Broker, LoadtestError, LoadtestOptions

runner = CliRunner()
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "mqtt_ingest.py"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (LoadtestOptions(duration=-1), "--duration must be more than 0 seconds, got -1"),
        (LoadtestOptions(duration=0), "--duration must be more than 0 seconds, got 0"),
        (LoadtestOptions(duration=5, kill_at=8), "--kill-at 8 s is outside the publishing time"),
        (LoadtestOptions(duration=5, kill_at=0), "--kill-at 0 s is outside the publishing time"),
        (LoadtestOptions(devices=0), "--devices must be at least 1, got 0"),
        (LoadtestOptions(rate=-5), "--rate must be 0 (as fast as possible) or more"),
        (LoadtestOptions(broker="rabbitmq"), "--broker 'rabbitmq' is not a broker"),  # type: ignore[arg-type]
    ],
)
def test_bad_options_are_refused_with_the_reason(options: LoadtestOptions, message: str) -> None:
    with pytest.raises(LoadtestError) as raised:
        options.validate()
    assert message in str(raised.value)


def test_good_options_pass_and_quick_keeps_kill_inside_the_run() -> None:
    options = LoadtestOptions(duration=20, kill_at=8).validate()
    assert options.kill_at == 8
    quick = options.quick().validate()
    assert (quick.devices, quick.duration, quick.rate) == (5, 3.0, 200.0)
    assert quick.kill_at is not None
    assert 0 < quick.kill_at < quick.duration


def test_missing_mosquitto_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CETATE_LOADTEST_MOSQUITTO", str(tmp_path / "no-mosquitto"))
    with pytest.raises(LoadtestError, match="apt-get install mosquitto"):
        LoadtestOptions(broker=Broker.mosquitto).validate()
    result = runner.invoke(app, ["loadtest", "--broker", "mosquitto", "--quick"])
    assert result.exit_code == 2
    assert "apt-get install mosquitto" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "-1"], "--duration must be more than 0 seconds"),
        (["--duration", "10", "--kill-at", "12"], "--kill-at 12 s is outside the publishing"),
    ],
)
def test_cli_refuses_bad_options_with_exit_code_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["loadtest", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_cli_refuses_an_unknown_broker() -> None:
    result = runner.invoke(app, ["loadtest", "--broker", "rabbitmq"])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "rabbitmq" in output
    assert "builtin" in output
    assert "mosquitto" in output


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mqtt_ingest_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_refuses_an_unknown_broker(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        _script().main(["--broker", "rabbitmq"])
    assert raised.value.code == 2
    assert "invalid choice: 'rabbitmq'" in capsys.readouterr().err


def test_script_refuses_kill_at_beyond_duration(capsys: pytest.CaptureFixture[str]) -> None:
    assert _script().main(["--duration", "5", "--kill-at", "9"]) == 2
    assert "--kill-at 9 s is outside the publishing time" in " ".join(
        capsys.readouterr().err.split()
    )


def test_generated_mosquitto_config_keeps_every_queued_message(tmp_path: Path) -> None:
    from cetate.loadtest.broker import mosquitto_config

    settings = {
        line.split()[0]: line.split()[1]
        for line in mosquitto_config(tmp_path, 1883).splitlines()
        if line and not line.startswith("#") and len(line.split()) == 2
    }
    assert settings["max_queued_messages"] == "0"
    assert settings["max_queued_bytes"] == "0"
    assert settings["max_inflight_messages"] == "1000"
    assert "persistent_client_expiration" not in settings
    assert settings["allow_anonymous"] == "false"
