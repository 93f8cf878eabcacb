"""The image can run every hpsearch command, `--compile` included (Docker cannot run here, so
we read the Dockerfile as Docker does, and run its scripts)."""

from __future__ import annotations

import configparser
import os
import posixpath
import subprocess
import sys
from pathlib import Path

from dockerfile_stages import REPO_ROOT, Stage, apt_installs, shell_commands, stages, stages_of

# The packages that bring a C compiler; g++ depends on gcc, build-essential on both.
C_COMPILER_PACKAGES = {"gcc", "g++", "clang", "build-essential"}
# Where an unprivileged user's shell finds commands in the image (Debian's default PATH).
IMAGE_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
COMPILER_CHECK = REPO_ROOT / "docker" / "check-compiler.py"


def final_stage() -> Stage:
    return stages()[-1]


def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "setup.cfg")
    return parser


def run_compiler_check(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(COMPILER_CHECK)], capture_output=True, text=True,
                          env=environment, timeout=120)


def test_the_final_stage_has_a_c_compiler_for_torch_compile() -> None:
    """Triton, behind torch.compile on CUDA, builds C launchers while trials run; the PyTorch
    -runtime bases have no compiler, the -devel ones do."""
    stage = final_stage()
    installed = {word for step in stage.all("RUN") for packages in apt_installs(step)
                 for word in packages}
    assert stage.base.endswith("-devel") or installed & C_COMPILER_PACKAGES, installed


def test_the_compiler_layer_keeps_no_recommends_and_no_package_lists() -> None:
    for step in final_stage().all("RUN"):
        for packages in apt_installs(step):
            assert "--no-install-recommends" in packages
            assert ["rm", "-rf", "/var/lib/apt/lists/*"] in shell_commands(step)


def test_the_build_fails_unless_the_user_who_runs_trials_can_compile() -> None:
    stage = final_stage()
    checks = [step for step in stage.all("RUN")
              if any(Path(word).name == COMPILER_CHECK.name
                     for words in shell_commands(step) for word in words)]
    assert checks, "the Dockerfile never runs docker/check-compiler.py"
    (check,) = checks
    script = next(word for word in shell_commands(check)[0] if word.endswith(COMPILER_CHECK.name))
    assert check.copied[posixpath.join(check.workdir, script)] == "docker/check-compiler.py"
    runtime_user = stage.last("USER")
    assert check.user == (runtime_user.arguments[0] if runtime_user else "root")
    installs = [stage.steps.index(step) for step in stage.all("RUN") if list(apt_installs(step))]
    assert all(stage.steps.index(check) > index for index in installs)


def test_the_compiler_check_passes_where_gcc_builds_python_extensions() -> None:
    checked = run_compiler_check(dict(os.environ))
    assert checked.returncode == 0, checked.stderr
    assert "torch.compile can compile here" in checked.stdout


def test_the_compiler_check_fails_without_a_compiler(tmp_path: Path) -> None:
    """As it would in the bare -runtime image: no gcc, no clang, no $CC."""
    environment = {key: value for key, value in os.environ.items() if key != "CC"}
    checked = run_compiler_check({**environment, "PATH": str(tmp_path)})
    assert checked.returncode == 1 and "no C compiler" in checked.stderr
    broken = run_compiler_check({**environment, "CC": "false"})
    assert broken.returncode == 1 and "cannot build a Python extension" in broken.stderr


def test_the_image_installs_the_project_as_root_from_the_files_it_copied() -> None:
    stage = final_stage()
    installs = [(step, words) for step in stage.all("RUN") for words in shell_commands(step)
                if words[:2] == ["pip", "install"] or words[1:4] == ["-m", "pip", "install"]]
    assert installs, "the image never pip-installs the project"
    step, words = installs[-1]
    assert step.user in ("root", "0")  # into the base's environment, for every user
    project = posixpath.join(step.workdir, words[-1])
    needed = ["setup.cfg", "pyproject.toml"]
    needed += [value.split(":", 1)[1].strip() for value in setup_cfg()["metadata"].values()
               if value.startswith("file:")]  # README.md, the long description
    needed += [name for name in setup_cfg()["options.packages.find"]["include"].split()
               if "." not in name]  # search, objectives, spaces
    for name in needed:
        assert step.copied.get(posixpath.normpath(posixpath.join(project, name))) == name, name


def test_the_image_runs_as_an_unprivileged_user() -> None:
    user = final_stage().last("USER")
    assert user is not None and user.arguments[0] not in ("root", "0")


def test_the_entrypoint_checks_the_passwords_then_runs_hpsearch() -> None:
    stage = final_stage()
    entrypoint, command = stage.last("ENTRYPOINT"), stage.last("CMD")
    assert entrypoint is not None and entrypoint.command.json  # exec form: signals reach it
    script = entrypoint.arguments[0]
    installed = [path for path in stage.copied if posixpath.basename(path) == script
                 and posixpath.dirname(path) in IMAGE_PATH]
    assert [stage.copied[path] for path in installed] == ["docker/refuse-example-passwords.sh"]
    assert os.access(REPO_ROOT / "docker" / "refuse-example-passwords.sh", os.X_OK)
    assert command is not None and command.command.json and command.arguments[0] == "hpsearch"
    scripts = setup_cfg()["options.entry_points"]["console_scripts"]
    assert any(line.split("=")[0].strip() == "hpsearch" for line in scripts.splitlines())


def test_docker_stop_sends_the_signal_on_which_workers_finish_their_trial() -> None:
    stop_signal = final_stage().last("STOPSIGNAL")
    assert stop_signal is None or stop_signal.arguments[0] in ("SIGTERM", "15")


def test_the_base_is_a_cuda_pytorch_image() -> None:
    repository, _, tag = final_stage().base.rpartition(":")
    assert repository == "pytorch/pytorch" and "cuda" in tag


def test_the_reading_follows_docker_not_the_comments() -> None:
    (stage,) = stages_of(
        "FROM base:1 AS build\n"
        "WORKDIR /app\n"
        "# apt-get install clang\n"
        "RUN apt-get update \\\n"
        "# a comment inside the continuation\n"
        "    && DEBIAN_FRONTEND=noninteractive apt-get install -y gcc;rm -rf /tmp/x\n"
        "COPY a b dir/\n"
        "USER someone\n")
    (run,) = stage.all("RUN")
    assert shell_commands(run) == [["apt-get", "update"], ["apt-get", "install", "-y", "gcc"],
                                   ["rm", "-rf", "/tmp/x"]]
    assert list(apt_installs(run)) == [["-y", "gcc"]]
    assert stage.copied == {"/app/dir/a": "a", "/app/dir/b": "b"}
    assert (stage.name, run.workdir, run.user, stage.last("USER").arguments) == (
        "build", "/app", "root", ["someone"])
