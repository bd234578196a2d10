"""scratchnn.parallel: the thread count follows SCRATCHNN_NUM_THREADS and the process's cores,
one thread creates no pool, and every threaded kernel gives bit for bit the one-thread result
(for any thread count), down to a whole training step of a conv net."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import functional as F
from scratchnn import parallel
from scratchnn.errors import ConfigError
from scratchnn.models import convnet

THREADS = [2, 3, 5]


@pytest.fixture
def split_everything(monkeypatch):
    """Split every pass, however small (the tests' arrays are below MIN_BYTES)."""
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)


def channel_major(x: np.ndarray) -> np.ndarray:
    """x with the same values, laid out (C, N, H, W) in memory like a conv output."""
    return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


def kernel_results(x: np.ndarray) -> dict[str, np.ndarray]:
    """Forward and backward of every threaded kernel on x (N, C, H, W)."""
    rng = np.random.default_rng(0)
    results = {}

    def dout(shape, like):
        d = rng.standard_normal(shape).astype(x.dtype)
        return channel_major(d) if like.strides[1] > like.strides[0] else d

    out, mask = F.relu_forward(x)
    results.update(relu=out, relu_dx=F.relu_backward(dout(out.shape, out), mask))
    for name, kernel, stride, padding in [("tiles", (2, 2), (2, 2), (0, 0)),
                                          ("overlap", (3, 3), (2, 2), (1, 1))]:
        out, cache = F.maxpool2d_forward(x, kernel, stride, padding)
        results[f"max_{name}"] = out
        results[f"max_{name}_argmax"] = cache.argmax
        nchw_dout = rng.standard_normal(out.shape).astype(x.dtype)   # as Flatten hands it back
        results[f"max_{name}_dx"] = F.maxpool2d_backward(nchw_dout, cache)
        out, cache = F.avgpool2d_forward(x, kernel, stride, padding)
        results[f"avg_{name}"] = out
        results[f"avg_{name}_dx"] = F.avgpool2d_backward(dout(out.shape, out), cache)
    c = x.shape[1]
    gamma, beta = rng.standard_normal(c).astype(x.dtype), rng.standard_normal(c).astype(x.dtype)
    out, mean, var, cache = F.batchnorm_forward(x, gamma, beta, 1e-5, (0, 2, 3))
    dx, dgamma, dbeta = F.batchnorm_backward(dout(out.shape, out), cache)
    results.update(bn=out, bn_mean=mean, bn_var=var, bn_dx=dx, bn_dgamma=dgamma, bn_dbeta=dbeta)
    weight = rng.standard_normal((4, c, 3, 3)).astype(x.dtype)
    bias = rng.standard_normal(4).astype(x.dtype)
    out, cache = F.conv2d_forward(x, weight, bias, (1, 1), (1, 1))
    dx, dweight, dbias = F.conv2d_backward(dout(out.shape, out), cache)
    results.update(conv=out, conv_dx=dx, conv_dweight=dweight, conv_dbias=dbias)
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["nchw", "channel-major"])
def test_every_threaded_kernel_equals_the_one_thread_result_bit_for_bit(
        layout, dtype, split_everything, monkeypatch, rng):
    x = rng.standard_normal((7, 5, 9, 8)).astype(dtype)
    x[:, :, ::3] = 0.0                                     # ties, as after a ReLU
    if layout == "channel-major":
        x = channel_major(x)
    monkeypatch.setenv(parallel.ENV, "1")
    expected = kernel_results(x)
    for threads in THREADS:
        monkeypatch.setenv(parallel.ENV, str(threads))
        for name, value in kernel_results(x).items():
            assert value.dtype == expected[name].dtype, name
            assert np.array_equal(value, expected[name]), f"{name} with {threads} threads"


def adam_steps(threads: int, monkeypatch, steps: int = 3) -> dict[str, np.ndarray]:
    """Parameters and running statistics of a small BN conv net after `steps` Adam steps."""
    monkeypatch.setenv(parallel.ENV, str(threads))
    rng = np.random.default_rng(0)
    model = convnet((1, 12, 12), channels=(6, 8), hidden_sizes=(16,), dropout=0.2, rng=rng)
    loss_fn, optimizer = snn.losses.SoftmaxCrossEntropy(), snn.optim.Adam(model.parameters())
    for _ in range(steps):
        x = rng.standard_normal((10, 1, 12, 12)).astype(np.float32)
        y = rng.integers(0, 10, 10)
        loss_fn.forward(model(x), y)
        optimizer.zero_grad()
        model.backward_params(loss_fn.backward())
        optimizer.step()
    return model.state_dict()


def test_training_steps_are_the_same_bit_for_bit_with_any_thread_count(split_everything,
                                                                      monkeypatch):
    expected = adam_steps(1, monkeypatch)
    for threads in THREADS:
        state = adam_steps(threads, monkeypatch)
        for key, value in expected.items():
            assert np.array_equal(state[key], value), f"{key} with {threads} threads"


def test_one_thread_creates_no_pool(split_everything, monkeypatch):
    monkeypatch.setattr(parallel, "_pool", None)

    def refuse(*args, **kwargs):
        raise AssertionError("a pool was created with SCRATCHNN_NUM_THREADS=1")

    monkeypatch.setattr(parallel, "ThreadPoolExecutor", refuse)
    adam_steps(1, monkeypatch, steps=1)
    assert parallel._pool is None


def test_several_threads_share_the_work_and_cover_it_once(split_everything, monkeypatch):
    monkeypatch.setenv(parallel.ENV, "3")
    seen, covered = set(), []

    def work(s):
        seen.add(threading.get_ident())
        covered.extend(range(s.start, s.stop))
        time.sleep(0.05)                          # long enough for every thread to take some
    parallel.run(work, 10, nbytes=1 << 30)
    assert len(seen) == 3 and sorted(covered) == list(range(10))
    seen.clear()
    monkeypatch.setattr(parallel, "MIN_BYTES", 1 << 20)       # small work stays on the caller
    parallel.run(work, 10, nbytes=1000)
    assert seen == {threading.get_ident()}


def test_thread_count_follows_the_variable_else_the_cores_given_to_the_process(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "3")
    assert parallel.num_threads() == 3
    monkeypatch.delenv(parallel.ENV)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert parallel.num_threads() == 1                         # taskset -c 0: no oversubscription
    monkeypatch.setenv(parallel.ENV, "4")
    with parallel.limit(2):
        assert parallel.num_threads() == 2
        with parallel.limit(8):
            assert parallel.num_threads() == 4
    assert parallel.num_threads() == 4
    for bad in ("0", "-2", "two"):
        monkeypatch.setenv(parallel.ENV, bad)
        with pytest.raises(ConfigError, match=parallel.ENV):
            parallel.num_threads()


def test_slices_cover_the_range_once_in_order():
    for length in (1, 2, 7, 128):
        for parts in (1, 2, 3, 8):
            covered = [i for s in parallel.slices(length, parts) for i in range(s.start, s.stop)]
            assert covered == list(range(length))


def test_an_exception_in_a_worker_reaches_the_caller(split_everything, monkeypatch):
    monkeypatch.setenv(parallel.ENV, "2")

    def work(s):
        if s.start > 0:
            raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        parallel.run(work, 4, nbytes=1 << 30)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_pool_of_its_own(split_everything, monkeypatch):
    monkeypatch.setenv(parallel.ENV, "2")
    parallel.run(lambda s: None, 4, nbytes=1 << 30)            # the parent's pool exists
    pid = os.fork()
    if pid == 0:                                               # child: the pool's threads are gone
        signal.alarm(30)                                       # a hang would kill the child
        code = 1
        try:
            together = threading.Barrier(2, timeout=10)
            parallel.run(lambda s: together.wait(), 4, nbytes=1 << 30)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity")
def test_a_process_given_one_core_runs_a_training_step_without_a_pool():
    import subprocess
    import sys
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "import numpy as np, scratchnn as snn\n"
        "from scratchnn import parallel\n"
        "from scratchnn.models import convnet\n"
        "parallel.MIN_BYTES = 0\n"
        "model = convnet((1, 12, 12), channels=(4,), hidden_sizes=(8,),"
        " rng=np.random.default_rng(0))\n"
        "loss = snn.losses.SoftmaxCrossEntropy()\n"
        "loss.forward(model(np.ones((6, 1, 12, 12), np.float32)), np.zeros(6, int))\n"
        "model.backward_params(loss.backward())\n"
        "print(parallel.num_threads(), parallel._pool is None)\n")
    env = {k: v for k, v in os.environ.items() if k != parallel.ENV}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["1", "True"]
