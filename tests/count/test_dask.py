"""--dask: the same bytes, errors, skipped files and warnings as a local scan, on a real cluster.

One LocalCluster of 2 worker processes serves the whole module; the CLI reaches it by its
scheduler address (the 'existing scheduler' route), the library through its Client.
"""

from __future__ import annotations

import functools
import itertools
import operator
import os
import signal
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mfb_cli.cli import cli
from mfb_cli.count.dask_engine import Partial, Task, count_masks_dask, count_task, plan_tasks
from mfb_cli.count.scan import count_masks
from mfb_cli.errors import LabelRangeError, MfbError
from mfb_cli.read.options import ReadOptions
from mfb_cli.read.sources.archives import ArchiveMember
from mfb_cli.read.sources.find import find_label_sources
from tests.conftest import save_mask

distributed = pytest.importorskip(
    "distributed", reason="needs the 'dask' extra: pip install 'mfb-cli[dask]'"
)


@pytest.fixture(scope="module")
def client():
    """A 2-process cluster (1 thread each), shared by the module's tests: mfb's own local
    cluster, in a process group of its own whose logs never reach the test's stderr."""
    from mfb_cli.count.dask_local import local_cluster

    with local_cluster(2) as address, distributed.Client(address) as connected:
        yield connected


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def dataset(folder: Path) -> Path:
    """Masks of several kinds (ids, palette, 16-bit, grey RGB that earns a warning) and a zip."""
    rng = np.random.default_rng(7)
    for index in range(23):
        labels = rng.integers(0, 6, (5, 7)) + (index % 3) * 4  # ids 0-13, not all everywhere
        mode = ("L", "P", "I;16")[index % 3]
        save_mask(folder / "plain" / f"{index:03d}.png", labels, mode)
    for index in range(3):
        grey = rng.integers(0, 5, (4, 4), dtype=np.uint8)
        Image.fromarray(np.stack([grey] * 3, axis=-1), "RGB").save(folder / f"rgb{index}.png")
    with zipfile.ZipFile(folder / "shard.zip", "w") as archive:
        for index in range(4):
            member = folder / f"member{index}.png"
            save_mask(member, rng.integers(20, 23, (3, 3)))
            archive.write(member, f"z/{index}.png")
            member.unlink()
    return folder


def _finish(files, partial: Partial) -> tuple[object, ...]:
    """What the client makes of the final Partial: (counts, warnings, skipped) or the error."""
    from mfb_cli.count.scan import scan_warnings

    if partial.error is not None:
        index, failure = partial.error
        error = failure.error()
        text = str(error) if "distinct" not in str(error) else f"{files[index]}: {error}"
        return ("error", text)
    skipped = [files[i] for i, _ in partial.skipped]
    warnings = scan_warnings(len(files), skipped, partial.notes)
    return (partial.counts, warnings, skipped)


def _local(files, skip_bad: bool) -> tuple[object, ...]:
    skipped: list = []
    try:
        counts = count_masks(
            files, jobs=1, skip_bad=skip_bad, on_skip=lambda path, _: skipped.append(path)
        )
    except MfbError as error:
        return ("error", str(error))
    return (counts, counts.warnings, skipped)


@settings(max_examples=40, deadline=None)
@given(
    kinds=st.lists(
        st.sampled_from(["ok", "ok", "ok", "grey-rgb", "bad", "empty"]), min_size=1, max_size=9
    ),
    cuts=st.sets(st.integers(1, 8)),
    shape=st.sampled_from(["left", "right", "pairs"]),
    skip_bad=st.booleans(),
)
def test_any_split_and_any_order_of_additions_gives_the_local_result(kinds, cuts, shape, skip_bad):
    """Partials of any contiguous split, added in any bracketing, give the local scan."""
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for index, kind in enumerate(kinds):
            path = Path(folder) / f"{index}.png"
            if kind == "bad":
                path.write_bytes(b"\x89PNG\r\n\x1a\n broken")
            elif kind == "empty":
                path.write_bytes(b"")
            elif kind == "grey-rgb":
                grey = np.full((2, 3), 3 + index, dtype=np.uint8)
                Image.fromarray(np.stack([grey] * 3, axis=-1), "RGB").save(path)
            else:
                save_mask(path, [[index % 4, 7], [1, 2 + index % 3]])
            files.append(path)
        bounds = [0, *sorted(c for c in cuts if c < len(files)), len(files)]
        parts = [
            count_task(Task(a, tuple(files[a:b])), ReadOptions(), None, skip_bad)
            for a, b in itertools.pairwise(bounds)
        ]
        if shape == "left":
            total = functools.reduce(operator.add, parts)
        elif shape == "right":
            total = functools.reduce(lambda later, earlier: earlier + later, reversed(parts))
        else:
            while len(parts) > 1:
                parts = [sum(parts[i : i + 2][1:], parts[i]) for i in range(0, len(parts), 2)]
            total = parts[0]
        mine, local = _finish(files, total), _local(files, skip_bad)
        if skip_bad and all(kind in ("bad", "empty") for kind in kinds):
            # The client's rule (as the local scan's): nothing left is an error.
            assert local == ("error", f"all {len(files)} label files were bad and skipped")
            assert mine[2] == files and mine[0].num_images == 0
        elif local[0] == "error":
            assert mine == local
        else:
            assert mine[0] == local[0]
            assert (mine[1], mine[2]) == (local[1], local[2])


def test_tasks_keep_file_order_and_give_each_archive_a_task_of_its_own(tmp_path):
    files = find_label_sources([dataset(tmp_path), tmp_path / "shard.zip"])
    for task_bytes in (1, 150, 10**9):
        tasks = plan_tasks(files, workers=2, task_bytes=task_bytes)
        assert [f for task in tasks for f in task.files] == files
        assert [task.start for task in tasks] == list(
            np.cumsum([0] + [len(task.files) for task in tasks[:-1]])
        )
        for task in tasks:
            archives = {f.archive for f in task.files if isinstance(f, ArchiveMember)}
            assert not archives or (len(archives) == 1 and len(task.files) == 4)
    # One byte per task: every plain file alone; 10**9: every plain file in one task.
    assert len(plan_tasks(files, 2, 1)) == 26 + 1
    assert len(plan_tasks(files, 2, 10**9)) == 1 + 1
    # The default spreads the bytes over 4 tasks per worker or more.
    assert len(plan_tasks(files, 2)) >= 8


@pytest.mark.parametrize("task_bytes", [1, 300, None, 10**9])
def test_counts_and_warnings_equal_the_local_scan_whatever_the_task_size(
    client, tmp_path, task_bytes
):
    files = find_label_sources([dataset(tmp_path), tmp_path / "shard.zip"])
    local = count_masks(files, jobs=1)
    seen: list[tuple[int, int]] = []
    remote = count_masks_dask(
        files, client, task_bytes=task_bytes, on_task=lambda n, p: seen.append((n, p))
    )
    assert remote == local
    assert remote.warnings == local.warnings
    assert any("RGB with r = g = b" in w for w in local.warnings)
    assert sum(n for n, _ in seen) == len(files)
    assert sum(p for _, p in seen) == local.total_pixels


def test_scan_weights_and_histogram_print_the_same_bytes(client, tmp_path):
    folder = dataset(tmp_path)
    address = client.scheduler.address
    for command in (
        ["scan", folder, folder / "shard.zip"],
        ["weights", folder, folder / "shard.zip", "--void", "5"],
        ["weights", folder, "--void", "0", "--scheme", "enet", "-f", "yaml"],
        ["histogram", folder, folder / "shard.zip", "-f", "json", "--void", "21"],
        ["histogram", folder, "-f", "csv"],
    ):
        local = run(*command)
        assert local.exit_code == 0, local.stderr
        remote = run(*command, "--dask", address)
        assert remote.exit_code == 0, remote.stderr
        assert remote.stdout == local.stdout
        assert remote.stderr == local.stderr  # the same warnings, once each


def damaged(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n not really")


def test_the_first_bad_file_in_order_is_reported_and_nothing_written(client, tmp_path):
    folder = dataset(tmp_path / "d")
    damaged(folder / "plain", ["005b.png", "017b.png"])
    out = tmp_path / "w.json"
    local = run("weights", folder, "-o", out)
    assert local.exit_code == 1
    assert "plain/005b.png" in local.stderr
    remote = run("weights", folder, "-o", out, "--dask", client.scheduler.address)
    assert (remote.exit_code, remote.stderr) == (1, local.stderr)
    assert not out.exists()
    files = find_label_sources([folder])
    with pytest.raises(MfbError) as error:
        count_masks_dask(files, client, task_bytes=1)
    with pytest.raises(MfbError) as expected:
        count_masks(files)
    assert str(error.value) == str(expected.value)


def test_skip_bad_skips_the_same_files_and_tells_them_in_order(client, tmp_path):
    folder = dataset(tmp_path / "d")
    damaged(folder / "plain", ["000b.png", "005b.png", "017b.png"])
    (folder / "plain" / "009b.png").write_bytes(b"")
    local = run("scan", folder, "--skip-bad")
    assert local.exit_code == 0, local.stderr
    assert local.stderr.count("skipped: ") == 4
    remote = run("scan", folder, "--skip-bad", "--dask", client.scheduler.address)
    assert (remote.exit_code, remote.stdout, remote.stderr) == (0, local.stdout, local.stderr)
    files = find_label_sources([folder])
    told: list[str] = []
    for task_bytes in (1, 10**9):
        told.clear()
        counts = count_masks_dask(
            files,
            client,
            skip_bad=True,
            task_bytes=task_bytes,
            on_skip=lambda path, error: told.append(str(error)),
        )
        assert counts == count_masks(files, skip_bad=True)
        names = ("000b.png", "005b.png", "009b.png", "017b.png")
        assert [t.split(":")[0] for t in told] == [str(folder / "plain" / n) for n in names]


def test_a_label_out_of_range_names_the_first_such_file(client, tmp_path):
    folder = tmp_path / "d"
    for index in range(12):
        save_mask(folder / f"{index:02d}.png", [[0, 1], [2, 3 + 5 * (index in (4, 9))]])
    files = find_label_sources([folder])

    def check(path, ids):
        if ids.max() >= 5:
            raise LabelRangeError(f"{path}: label {ids.max()} >= 5")

    for task_bytes in (1, 10**9):
        with pytest.raises(LabelRangeError, match=r"04\.png: label 8 >= 5"):
            count_masks_dask(files, client, check=check, task_bytes=task_bytes)
    local = run("histogram", folder, "--num-classes", "5")
    remote = run("histogram", folder, "--num-classes", "5", "--dask", client.scheduler.address)
    assert local.exit_code == remote.exit_code == 1
    assert remote.stderr == local.stderr
    assert "04.png" in local.stderr


def _images(files, on_image_run):
    """The (image, ids, pixels) triples a scan passes to on_image, as plain lists."""
    seen: list[tuple[str, list[int], list[int]]] = []

    def on_image(path, ids, pixels):
        seen.append((str(path), ids.tolist(), pixels.tolist()))

    try:
        on_image_run(on_image)
    except MfbError as error:
        return seen, str(error)
    return seen, None


@pytest.mark.parametrize("task_bytes", [1, 300, None, 10**9])
@pytest.mark.parametrize("bad", [[], ["005b.png"], ["000b.png", "017b.png"]])
def test_on_image_gets_the_local_scans_images_in_order(client, tmp_path, task_bytes, bad):
    """Every counted file once, in file order, with its ids and pixels; none after an error."""
    folder = dataset(tmp_path / "d")
    damaged(folder / "plain", bad)
    files = find_label_sources([folder, folder / "shard.zip"])
    for skip_bad in (False, True):
        local = _images(
            files, lambda on, skip=skip_bad: count_masks(files, jobs=1, skip_bad=skip, on_image=on)
        )
        remote = _images(
            files,
            lambda on, skip=skip_bad: count_masks_dask(
                files, client, skip_bad=skip, task_bytes=task_bytes, on_image=on
            ),
        )
        assert remote == local
        # A second, naive count: each image's own histogram, straight from its pixels.
        counted = len(files) - (len(bad) if skip_bad else 0)
        if not bad or skip_bad:
            assert local[1] is None and len(local[0]) == counted
        else:
            first = files.index(folder / "plain" / bad[0])
            assert local[1] is not None and len(local[0]) == first
        for image, ids, pixels in local[0][:5]:
            values, numbers = np.unique(np.asarray(Image.open(image)), return_counts=True)
            assert (ids, pixels) == (values.tolist(), numbers.tolist())


def test_scan_geometry_on_dask_writes_the_same_bytes(client, tmp_path):
    """--geometry through the workers: the statistics and per-image files of a local scan."""
    pytest.importorskip("cc3d")
    folder = dataset(tmp_path / "d")
    address = client.scheduler.address
    outputs = {}
    for where, extra in (("local", []), ("dask", ["--dask", address])):
        stats, images = tmp_path / f"{where}.json", tmp_path / f"{where}.jsonl"
        result = run(
            "scan", folder, folder / "shard.zip", "-q", "--geometry", "--connectivity", "4",
            "-o", stats, "--per-image", images, *extra,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        text = stats.read_text().replace(str(stats), "STATS").replace(str(images), "IMAGES")
        outputs[where] = (result.stdout, result.stderr, text, images.read_bytes())
    assert outputs["dask"] == outputs["local"]
    assert '"geometry": {' in outputs["local"][2]
    assert all('"components":[' in line for line in outputs["local"][3].decode().splitlines()[1:])


def test_scan_per_image_writes_the_same_bytes(client, tmp_path):
    folder = dataset(tmp_path / "d")
    damaged(folder / "plain", ["005b.png", "017b.png"])
    address = client.scheduler.address
    outputs = {}
    for where, extra in (("local", []), ("dask", ["--dask", address])):
        stats, images = tmp_path / f"{where}.json", tmp_path / f"{where}.jsonl"
        result = run(
            "scan", folder, folder / "shard.zip", "--skip-bad", "-q",
            "-o", stats, "--per-image", images, *extra,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        outputs[where] = (
            result.stdout,
            result.stderr,
            stats.read_text().replace(str(stats), "STATS").replace(str(images), "IMAGES"),
            images.read_bytes(),
        )
    assert outputs["dask"] == outputs["local"]
    lines = outputs["local"][3].decode().splitlines()
    assert len(lines) == 1 + 23 + 3 + 4  # header, plain, grey RGB, zip members; bad skipped
    # A bad file without --skip-bad: the same one-line error, neither file written.
    stats, images = tmp_path / "x.json", tmp_path / "x.jsonl"
    local = run("scan", folder, "-o", stats, "--per-image", images)
    remote = run("scan", folder, "-o", stats, "--per-image", images, "--dask", address)
    assert (remote.exit_code, remote.stderr) == (local.exit_code, local.stderr)
    assert local.exit_code == 1 and "plain/005b.png" in local.stderr
    assert not stats.exists() and not images.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_sampling_and_priors_print_the_same_bytes(client, tmp_path):
    folder = dataset(tmp_path / "d")
    address = client.scheduler.address
    for command in (
        ["sampling", folder, folder / "shard.zip", "--void", "21"],
        ["sampling", folder, "--scheme", "rare-class", "--min-pixels", "3", "-f", "csv"],
        ["sampling", folder, "--scheme", "weighted", "-f", "table"],
        ["priors", folder, folder / "shard.zip", "--void", "0"],
    ):
        local = run(*command)
        assert local.exit_code == 0, local.stderr
        remote = run(*command, "--dask", address)
        assert remote.exit_code == 0, remote.stderr
        assert (remote.stdout, remote.stderr) == (local.stdout, local.stderr)
    out = {}
    for where, extra in (("local", []), ("dask", ["--dask", address])):
        target = tmp_path / where
        result = run(
            "sampling",
            folder,
            "--scheme",
            "rare-class",
            "--min-pixels",
            "2",
            "--daformer",
            target,
            *extra,
        )
        assert result.exit_code == 0, result.stderr
        out[where] = {p.name: p.read_bytes() for p in sorted(target.iterdir())}
    assert out["dask"] == out["local"] and len(out["local"]) == 3
    refused = run("sampling", "--from", tmp_path / "x.jsonl", "--dask", address)
    assert refused.exit_code == 2 and "--dask" in refused.stderr


def test_check_reports_the_same_bytes(client, tmp_path):
    folder = dataset(tmp_path / "d")
    damaged(folder / "plain", ["005b.png", "017b.png"])
    (folder / "plain" / "009b.png").write_bytes(b"")
    (folder / "plain" / "020b.png").write_bytes((folder / "plain" / "001.png").read_bytes())
    save_mask(folder / "plain" / "021b.png", [[4, 4], [4, 4]])
    for extra in ([], ["--skip-bad"], ["--num-classes", "6"]):
        command = ["check", folder, folder / "shard.zip", "-f", "json", *extra]
        local = run(*command)
        remote = run(*command, "--dask", client.scheduler.address)
        assert (remote.exit_code, remote.stdout, remote.stderr) == (
            local.exit_code,
            local.stdout,
            local.stderr,
        )
        assert "017b.png" in local.stdout and "020b.png" in local.stdout


def test_report_is_the_same_page(client, tmp_path):
    folder = dataset(tmp_path / "d")
    damaged(folder / "plain", ["005b.png"])
    address = client.scheduler.address
    command = ["report", folder, folder / "shard.zip", "--check", "--skip-bad", "--void", "21"]
    local = run(*command)
    assert local.exit_code == 0, local.stderr
    remote = run(*command, "--dask", address)
    assert remote.exit_code == 0, remote.stderr
    # The page shows its command; apart from that it is byte for byte the local one.
    assert f" --dask {address}" in remote.stdout
    assert remote.stdout.replace(f" --dask {address}", "") == local.stdout
    assert remote.stderr == local.stderr and "005b.png" in local.stdout
    refused = run("report", "--from", tmp_path / "x.json", "--dask", address)
    assert refused.exit_code == 2 and "--dask" in refused.stderr


def test_more_distinct_ids_than_counted_names_the_same_file(client, tmp_path):
    # 10 files of 500 new ids each: the 4097th distinct id (4096) is in the 9th file.
    for index in range(10):
        ids = index * 500 + np.arange(1024) % 500
        save_mask(tmp_path / f"{index}.png", ids.reshape(32, 32), "I;16")
    files = find_label_sources([tmp_path])
    with pytest.raises(MfbError) as expected:
        count_masks(files)
    assert str(expected.value).startswith(f"{files[8]}: more than 4096 distinct")
    for task_bytes in (1, 10**9):
        with pytest.raises(MfbError) as error:
            count_masks_dask(files, client, task_bytes=task_bytes)
        assert str(error.value) == str(expected.value)


def test_a_file_a_worker_cannot_see_is_named_as_such(client, tmp_path):
    save_mask(tmp_path / "here.png", [[1]])
    gone = tmp_path / "gone.png"  # listed by the client, then not there for the workers
    with pytest.raises(MfbError, match=r"gone\.png: cannot be read on the Dask worker .*shared"):
        count_masks_dask([tmp_path / "here.png", gone], client)


def test_a_worker_killed_mid_scan_changes_nothing(client, tmp_path):
    folder = tmp_path / "d"
    rng = np.random.default_rng(3)
    for index in range(24):
        save_mask(folder / f"{index:02d}.png", rng.integers(0, 9, (6, 6)))
    files = find_label_sources([folder])
    before = client.run(os.getpid)
    victim = next(iter(before.values()))
    killed = []

    def slow(path, ids):  # each file takes a while, so tasks are running when one dies
        time.sleep(0.1)

    def kill_once(files_done: int, pixels: int) -> None:
        if not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    counts = count_masks_dask(files, client, check=slow, task_bytes=1, on_task=kill_once)
    assert killed and counts == count_masks(files)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the next tests
    assert victim not in client.run(os.getpid).values()


def test_addresses_and_the_missing_extra_are_one_line_errors(tmp_path, monkeypatch):
    save_mask(tmp_path / "a.png", [[1]])
    for address in ("local:0", "local:x", "8786", "host:8786"):
        result = run("scan", tmp_path, "--dask", address)
        assert result.exit_code == 2, address
        assert "Invalid value for '--dask'" in result.stderr
    result = run("scan", tmp_path, "--dask", "local:1", "-j", "2")
    assert result.exit_code == 2
    assert "-j/--jobs has no effect with --dask" in result.stderr
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "distributed" else real(name, *a),
    )
    result = run("scan", tmp_path, "--dask", "local")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: --dask needs the 'dask' extra: pip install 'mfb-cli[dask]' (dask[distributed])"
    ]
