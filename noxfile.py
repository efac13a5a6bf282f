"""Every check idckit runs, in one place: ``python3 -m nox`` runs the default set (CI runs it too).

Sessions
--------
tests        the full CPU suite on the default TensorFlow backend (GPU tests skip)
tests-jax    the model and metric tests (marker ``backend``) under KERAS_BACKEND=jax, CPU JAX
tests-torch  the same under KERAS_BACKEND=torch (CPU PyTorch)
tests-gpu    the suite plus ``gpu`` tests with the CUDA build of TensorFlow; GPU tests skip
             cleanly where no GPU is visible
lint         ruff (lint + format check) and mypy --strict on src/
docs         Sphinx with warnings as errors, executing the sphinx-gallery examples
demo         the README's main job: ``idckit demo`` on the embedded synthetic data set
benchmarks   data-layer throughput against ../shared/bench (long; not in the default set)
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "tests", "tests-jax", "tests-torch", "docs"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

PYTEST = ("pytest", "-p", "no:cacheprovider")
LINT_PATHS = ("src", "tests", "benchmarks", "examples", "docs", "noxfile.py")
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test,docs]")  # docs: tests/test_docs.py checks the docs machinery
    # The docstring examples run too: they are the documentation's promises.
    args = session.posargs or ["--doctest-modules", "src/idckit", "tests"]
    session.run(*PYTEST, "-m", "not gpu", *args, env=QUIET_TF)


@nox.session(name="tests-jax")
def tests_jax(session: nox.Session) -> None:
    session.install("-e", ".[test,jax]")
    env = {**QUIET_TF, "KERAS_BACKEND": "jax"}
    session.run(*PYTEST, "-m", "backend and not gpu", *session.posargs, env=env)


@nox.session(name="tests-torch")
def tests_torch(session: nox.Session) -> None:
    # CPU PyTorch; on machines that only offer CUDA wheels this is a multi-GB download.
    session.install("-e", ".[test]", "torch==2.13.0")
    env = {**QUIET_TF, "KERAS_BACKEND": "torch"}
    session.run(*PYTEST, "-m", "backend and not gpu", *session.posargs, env=env)


@nox.session(name="tests-gpu")
def tests_gpu(session: nox.Session) -> None:
    session.install("-e", ".[test]", "tensorflow[and-cuda]")
    session.run(*PYTEST, *session.posargs, env=QUIET_TF)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("-e", ".[lint,test,docs]")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    build = os.path.join("docs", "_build", "html")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        build,
        *session.posargs,
        env={**QUIET_TF, "MPLBACKEND": "Agg"},
    )


@nox.session
def demo(session: nox.Session) -> None:
    session.install("-e", ".")
    session.run("idckit", "demo", *session.posargs, env=QUIET_TF)


@nox.session
def benchmarks(session: nox.Session) -> None:
    if not session.posargs:
        session.error(
            "pass the data and options: nox -s benchmarks -- DATA --shared-bench DIR "
            "--out RESULT.json (see docs/benchmarks.rst)"
        )
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/bench_data.py", *session.posargs, env=QUIET_TF)
