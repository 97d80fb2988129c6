"""Per-image statistics: streamed in the scan, concatenated by merge, reused by --from;
DAFormer's files and RCS probabilities checked against its converter and formula."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfb_cli import (
    LabelSpec,
    class_stats,
    count_masks,
    daformer_files,
    find_label_files,
    load_per_image,
    sample_images,
)
from mfb_cli.cli import cli
from mfb_cli.count.per_image import PerImageError

from ..conftest import save_mask


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _three(tmp_path: Path) -> Path:
    folder = tmp_path / "m"
    save_mask(folder / "a.png", [[0, 0, 1], [1, 1, 255]])
    save_mask(folder / "b.png", [[2, 2, 2], [2, 2, 2]])
    save_mask(folder / "c.png", [[0, 3, 3], [255, 255, 0]])
    return folder


def test_scan_streams_one_line_per_image_in_file_order(tmp_path):
    folder = _three(tmp_path)
    out, images = tmp_path / "s.json", tmp_path / "i.jsonl"
    result = run("scan", folder, "-o", out, "--per-image", images, "-j", 2)
    assert result.exit_code == 0, result.stderr
    assert images.read_text().splitlines() == [
        '{"mfb_per_image":1,"label_mapping":{}}',
        f'{{"image":"{folder / "a.png"}","ids":[0,1,255],"pixels":[2,3,1]}}',
        f'{{"image":"{folder / "b.png"}","ids":[2],"pixels":[6]}}',
        f'{{"image":"{folder / "c.png"}","ids":[0,3,255],"pixels":[2,2,2]}}',
    ]
    # The per-image lines add up to the statistics file's counts exactly.
    from mfb_cli import load_stats

    assert load_per_image([images]).counts == load_stats(out).counts
    assert load_stats(out).source["per_image"] == str(images)


def test_on_image_is_called_in_file_order_whatever_the_jobs(tmp_path):
    folder = _three(tmp_path)
    files = find_label_files([folder])
    seen: list[tuple[str, list[int], list[int]]] = []
    count_masks(
        files, jobs=3, on_image=lambda p, i, n: seen.append((p.name, i.tolist(), n.tolist()))
    )
    assert seen == [
        ("a.png", [0, 1, 255], [2, 3, 1]),
        ("b.png", [2], [6]),
        ("c.png", [0, 3, 255], [2, 2, 2]),
    ]


def test_a_failed_scan_leaves_no_per_image_file(tmp_path):
    folder = _three(tmp_path)
    (folder / "d.png").write_bytes(b"not a png")
    images = tmp_path / "i.jsonl"
    result = run("scan", folder, "--per-image", images)
    assert result.exit_code == 1
    assert not images.exists()
    assert list(tmp_path.glob(".i.jsonl*")) == []  # nor its temporary file


def test_merge_concatenates_and_from_gives_the_scan_result(tmp_path):
    folder = _three(tmp_path)
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    for name in ("a.png", "b.png"):
        (first / name).write_bytes((folder / name).read_bytes())
    (second / "c.png").write_bytes((folder / "c.png").read_bytes())
    assert run("scan", first, "--per-image", tmp_path / "1.jsonl").exit_code == 0
    assert run("scan", second, "--per-image", tmp_path / "2.jsonl").exit_code == 0
    merged = run("merge", tmp_path / "1.jsonl", tmp_path / "2.jsonl")
    assert merged.exit_code == 0, merged.stderr
    lines = merged.stdout.splitlines()
    assert lines[0] == '{"mfb_per_image":1,"label_mapping":{}}' and len(lines) == 4
    # Plain concatenation (a repeated header) reads the same as merge's output.
    (tmp_path / "cat.jsonl").write_text(
        (tmp_path / "1.jsonl").read_text() + (tmp_path / "2.jsonl").read_text()
    )
    from_cat = run("sampling", "--from", tmp_path / "cat.jsonl", "--ignore", 255, "-f", "csv")
    from_two = run(
        "sampling",
        "--from",
        tmp_path / "1.jsonl",
        "--from",
        tmp_path / "2.jsonl",
        "--ignore",
        255,
        "-f",
        "csv",
    )
    assert from_cat.exit_code == 0, from_cat.stderr
    assert from_cat.stdout == from_two.stdout
    scanned = run("sampling", first, second, "--ignore", 255, "-f", "csv")
    assert scanned.stdout == from_cat.stdout
    assert scanned.stdout.splitlines()[0] == "image,weight,probability"


def test_merge_refuses_mixed_inputs(tmp_path):
    folder = _three(tmp_path)
    assert (
        run(
            "scan", folder, "-o", tmp_path / "s.json", "--per-image", tmp_path / "i.jsonl"
        ).exit_code
        == 0
    )
    result = run("merge", tmp_path / "i.jsonl", tmp_path / "s.json")
    assert result.exit_code == 2
    assert "is not a per-image file" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"image":"a","ids":[0],"pixels":[1]}\n', "i.jsonl:1: no header line"),
        (
            '{"mfb_per_image":1}\n{"image":"a","ids":[1,0],"pixels":[1,1]}\n',
            "i.jsonl:2: 'ids' must be sorted",
        ),
        (
            '{"mfb_per_image":1}\n{"image":"a","ids":[0],"pixels":[0]}\n',
            "i.jsonl:2: pixel counts must be positive",
        ),
        (
            '{"mfb_per_image":1}\n{"image":"a","ids":[0],"pixels":[1,2]}\n',
            "i.jsonl:2: 'ids' and 'pixels' differ",
        ),
        ('{"mfb_per_image":1}\n[1]\n', "i.jsonl:2: expected a JSON object"),
        ('{"mfb_per_image":2}\n', "i.jsonl:1: unknown per-image format 2"),
        ('{"mfb_per_image":1}\n{"image"\n', "i.jsonl:2: not JSON"),
        (
            '{"mfb_per_image":1,"label_mapping":{"map":{"1":0}}}\n{"mfb_per_image":1}\n',
            "different label mapping",
        ),
        ('{"mfb_per_image":1}\n', "no image lines"),
    ],
)
def test_bad_per_image_files_are_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "i.jsonl"
    path.write_text(text)
    with pytest.raises(PerImageError, match=message.replace("[", r"\[")):
        load_per_image([path])
    result = run("sampling", "--from", path)
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_sampling_cli_formats_and_usage_errors(tmp_path):
    folder = _three(tmp_path)
    record = json.loads(run("sampling", folder, "--ignore", 255, "--threshold", 0.5).stdout)
    # images(c): 0 in a and c, 1 in a, 2 in b, 3 in c (N = 3): f = 2/3, 1/3, 1/3, 1/3;
    # t = 0.5: r(0) = 1, r(1) = r(2) = r(3) = sqrt(1.5) -> ceil 2 for every image.
    assert [row["weight"] for row in record["images"]] == [2.0, 2.0, 2.0]
    assert record["images"][0]["classes"] == [0, 1]
    assert record["effect"]["draws_per_epoch"] == 6.0
    assert record["scheme"] == "repeat-factor" and record["threshold"] == 0.5
    torch = run("sampling", folder, "--ignore", 255, "--scheme", "weighted", "-f", "torch")
    compile(torch.stdout, "snippet", "exec")
    assert "WeightedRandomSampler(" in torch.stdout and "num_samples=3" in torch.stdout
    mmengine = run("sampling", folder, "--ignore", 255, "-f", "mmengine")
    compile(mmengine.stdout, "snippet", "exec")
    assert 'CAT_IDS = {"a.png": [0, 1], "b.png": [2], "c.png": [0, 3]}' in mmengine.stdout
    table = run("sampling", folder, "--ignore", 255, "-f", "table", "--threshold", 0.5)
    assert table.stdout.splitlines()[-1] == "draws per epoch 6, distinct images 3.0 of 3"
    unused = run("sampling", folder, "--min-pixels", 3)
    assert unused.exit_code == 2 and "--min-pixels has no effect" in unused.stderr
    both = run("sampling", folder, "--from", tmp_path / "x.jsonl")
    assert both.exit_code == 2


def test_priors_cli(tmp_path):
    folder = _three(tmp_path)
    result = run("priors", folder, "--ignore", 255, "--num-classes", 5)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    # Labelled pixels: 0: 4, 1: 3, 2: 6, 3: 2 (15); class 4 absent.
    assert record["prior"] == [4 / 15, 3 / 15, 6 / 15, 2 / 15, 0.0]
    assert record["floored"] == [4] and record["floor"] == 0.5 / 15
    assert "not -inf: 4" in result.stderr
    snippet = run("priors", folder, "--ignore", 255, "-f", "torch").stdout
    compile(snippet, "snippet", "exec")
    assert "if not training:" in snippet


def test_a_label_without_a_class_in_a_per_image_file_names_file_and_image(tmp_path):
    folder = _three(tmp_path)
    images = tmp_path / "i.jsonl"
    assert run("scan", folder, "-o", tmp_path / "s.json", "--per-image", images).exit_code == 0
    lines = images.read_text().splitlines()
    negative = tmp_path / "n.jsonl"  # b.png's line says -1 where the scan said 2
    negative.write_text("\n".join([*lines[:2], lines[2].replace('"ids":[2]', '"ids":[-1]')]))
    for command in ("sampling", "priors"):
        result = run(command, "--from", images, "--ignore", 255, "--num-classes", 3)
        assert result.exit_code == 1
        assert result.stderr == (  # a.png holds 0, 1 and 255; c.png is the first with a 3
            f"Error: {images}: {folder / 'c.png'}: label 3 >= --num-classes 3; pass "
            "--ignore 3 or --void 3, or raise --num-classes\n"
        )
        result = run(command, "--from", negative)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: {negative}: {folder / 'b.png'}: label -1 is negative; pass --ignore -1 if "
            "it marks pixels without a class\n"
        )


def test_a_file_name_that_is_not_utf8_round_trips_through_a_per_image_file(tmp_path):
    import os

    folder = tmp_path / "m"
    odd = folder / os.fsdecode(b"caf\xe9-\xff.png")  # Latin-1 bytes: not UTF-8
    save_mask(odd, [[0, 1], [1, 1]])
    save_mask(folder / "b.png", [[2, 2], [0, 0]])
    images = tmp_path / "i.jsonl"
    assert run("scan", folder, "-o", tmp_path / "s.json", "--per-image", images).exit_code == 0
    line = images.read_bytes().splitlines()[2]  # after the header and b.png
    assert b"\\udce9" in line and b"\\udcff" in line  # JSON escapes, the file is UTF-8
    images.read_bytes().decode("utf-8")
    direct = run("sampling", folder)
    via_file = run("sampling", "--from", images)
    assert json.loads(via_file.stdout)["images"] == json.loads(direct.stdout)["images"]
    assert json.loads(direct.stdout)["images"][1]["image"] == str(odd)


# --- DAFormer -------------------------------------------------------------------------


def _converter_reference(label_files: list[str]) -> dict[str, str]:
    """DAFormer's tools/convert_datasets/cityscapes.py, its statistics part, re-typed.

    convert_json_to_label: for c in range(19) count label == c if > 0, then 'file';
    save_class_stats: the three json.dump(..., indent=2) calls, in its order.
    """
    from PIL import Image

    sample_class_stats = []
    for label_file in label_files:
        label = np.asarray(Image.open(label_file))
        stats: dict = {}
        for c in range(19):
            n = int(np.sum(label == c))
            if n > 0:
                stats[int(c)] = n
        stats["file"] = label_file
        sample_class_stats.append(stats)
    out = {"sample_class_stats.json": json.dumps(sample_class_stats, indent=2)}
    sample_class_stats_dict = {}
    for stats in sample_class_stats:
        f = stats.pop("file")
        sample_class_stats_dict[f] = stats
    out["sample_class_stats_dict.json"] = json.dumps(sample_class_stats_dict, indent=2)
    samples_with_class: dict = {}
    for file, stats in sample_class_stats_dict.items():
        for c, n in stats.items():
            if c not in samples_with_class:
                samples_with_class[c] = [(file, n)]
            else:
                samples_with_class[c].append((file, n))
    out["samples_with_class.json"] = json.dumps(samples_with_class, indent=2)
    return out


def _get_rcs_class_probs(sample_class_stats_json: str, temperature: float):
    """DAFormer's mmseg/datasets/uda_dataset.py get_rcs_class_probs, NumPy for torch."""
    sample_class_stats = json.loads(sample_class_stats_json)
    overall_class_stats: dict[int, int] = {}
    for s in sample_class_stats:
        s.pop("file")
        for c, n in s.items():
            c = int(c)
            if c not in overall_class_stats:
                overall_class_stats[c] = n
            else:
                overall_class_stats[c] += n
    overall_class_stats = dict(sorted(overall_class_stats.items(), key=lambda item: item[1]))
    freq = np.array(list(overall_class_stats.values()), dtype=np.float64)
    freq = freq / np.sum(freq)
    freq = 1 - freq
    logits = freq / temperature
    probs = np.exp(logits - logits.max())
    return list(overall_class_stats.keys()), probs / probs.sum()


def _cityscapes_like(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(7)
    paths = []
    for city, count in (("aachen", 4), ("bremen", 3)):
        for k in range(count):
            labels = np.full((60, 80), 255, dtype=np.uint8)
            # Large road/building blocks and a few rare classes in small patches.
            labels[30:, :] = 0
            labels[:30, : 40 + 5 * k] = 2
            for rare in rng.choice(np.arange(3, 19), size=3, replace=False):
                y, x = rng.integers(0, 50), rng.integers(0, 70)
                labels[y : y + 2 + int(rare) % 7, x : x + 3 + k] = rare
            name = f"{city}_{k:06d}_000019_gtFine_labelTrainIds.png"
            paths.append(save_mask(tmp_path / "gtFine" / "train" / city / name, labels))
    return paths


def test_daformer_files_are_byte_identical_to_its_converter(tmp_path):
    paths = _cityscapes_like(tmp_path)
    out = tmp_path / "daformer"
    result = run(
        "sampling",
        tmp_path / "gtFine",
        "--glob",
        "*_labelTrainIds.png",
        "--ignore",
        255,
        "--num-classes",
        19,
        "--scheme",
        "rare-class",
        "--min-pixels",
        3,
        "--daformer",
        out,
    )
    assert result.exit_code == 0, result.stderr
    assert "have no image with more than" not in result.stderr  # DAFormer would assert
    reference = _converter_reference([str(p) for p in sorted(paths)])
    for name, text in reference.items():
        assert (out / name).read_bytes() == text.encode(), name
    # RCS: the class probabilities and the per-image ones DAFormer's sampler gives.
    record = json.loads(result.stdout)
    classes, probs = _get_rcs_class_probs(reference["sample_class_stats.json"], 0.01)
    assert [int(c) for c in record["class_probabilities"]] == classes
    assert list(record["class_probabilities"].values()) == pytest.approx(probs, rel=1e-12)
    with_class = json.loads(reference["samples_with_class.json"])
    expected: dict[str, float] = {}
    for c, p in zip(classes, probs, strict=True):
        files = [f.split("/")[-1] for f, n in with_class[str(c)] if n > 3]
        for f in files:
            expected[f] = expected.get(f, 0.0) + p / len(files)
    got = {row["image"].split("/")[-1]: row["probability"] for row in record["images"]}
    assert got == pytest.approx({f: expected.get(f, 0.0) for f in got}, rel=1e-12, abs=1e-300)


def test_daformer_files_leave_void_and_ignored_ids_out():
    from mfb_cli import ImageCounts

    images = [ImageCounts("x.png", (0, 1, 255), (5, 6, 7)), ImageCounts("y.png", (1,), (3,))]
    stats = class_stats(load_counts(images), LabelSpec.of(void=[0], ignore=[255]))
    files = daformer_files(images, stats)
    assert json.loads(files["sample_class_stats.json"]) == [
        {"1": 6, "file": "x.png"},
        {"1": 3, "file": "y.png"},
    ]
    assert json.loads(files["samples_with_class.json"]) == {"1": [["x.png", 6], ["y.png", 3]]}
    assert not files["samples_with_class.json"].endswith("\n")  # json.dump writes none
    assert sample_images(images, stats, "weighted").classes == ((1,), (1,))


def load_counts(images):
    from mfb_cli import ClassCounts

    total = ClassCounts.empty()
    for one in images:
        total = total + ClassCounts.from_histogram(np.array(one.ids), np.array(one.pixels))
    return total


def test_the_docs_effect_table_is_current_output(monkeypatch):
    root = Path(__file__).resolve().parents[2]
    page = (root / "docs" / "sampling.md").read_text(encoding="utf-8")
    monkeypatch.chdir(root)
    result = run("sampling", "sample_masks", "--void", 11, "--threshold", 0.3, "-f", "table")
    assert result.exit_code == 0, result.stderr
    section = page[page.index("## The effect, before training") :]
    assert '```text title="output"\n' + result.stdout + "```" in section


def test_per_image_needs_a_file_and_repeated_images_are_warned(tmp_path):
    folder = _three(tmp_path)
    result = run("scan", folder, "--per-image", "-")
    assert result.exit_code == 2 and "needs a file name" in result.stderr
    images = tmp_path / "i.jsonl"
    assert run("scan", folder, "--per-image", images).exit_code == 0
    twice = run("sampling", "--from", images, "--from", images, "--ignore", 255)
    assert twice.exit_code == 0, twice.stderr
    message = f"3 images are listed more than once (first: {folder / 'a.png'})"
    assert message in twice.stderr
    assert any(w.startswith(message) for w in json.loads(twice.stdout)["warnings"])


def test_plot_draws_the_effect_as_two_series(tmp_path):
    pytest.importorskip("matplotlib")
    folder = _three(tmp_path)
    svg = tmp_path / "effect.svg"
    result = run("sampling", folder, "--ignore", 255, "--scheme", "weighted", "--plot", svg)
    assert result.exit_code == 0, result.stderr
    text = svg.read_text()
    assert "dataset" in text and "drawn by weighted" in text
    # Every w = 3 (each image's rarest class is in 1 of 3): 3 (1 - (2/3)^3) = 2.11 distinct.
    assert "2.1 of 3 images seen" in text
    bad = run("sampling", folder, "--plot", tmp_path / "effect.jpg")
    assert bad.exit_code == 2 and "must end in .png or .svg" in bad.stderr


def test_compute_sampling_is_the_command_in_one_call(tmp_path):
    from mfb_cli import compute_sampling

    folder = _three(tmp_path)
    result = compute_sampling(folder, ignore=[255], scheme="weighted", jobs=2)
    record = json.loads(run("sampling", folder, "--ignore", 255, "--scheme", "weighted").stdout)
    assert list(result.images) == [row["image"] for row in record["images"]]
    assert list(result.weights) == [row["weight"] for row in record["images"]] == [3.0] * 3
    assert result.effect.distinct_images == record["effect"]["distinct_images_per_epoch"]


def test_mmengine_keys_by_file_name_and_refuses_two_with_one_name(tmp_path):
    save_mask(tmp_path / "x" / "a:1.png", [[0, 1]])
    save_mask(tmp_path / "y" / "a:1.png", [[1, 1]])
    one = run("sampling", tmp_path / "x", "-f", "mmengine")
    assert one.exit_code == 0, one.stderr
    assert 'CAT_IDS = {"a:1.png": [0, 1]}' in one.stdout
    both = run("sampling", tmp_path / "x", tmp_path / "y", "-f", "mmengine")
    assert both.exit_code == 1 and "two images are named a:1.png" in both.stderr


def test_priors_from_a_per_image_file_equal_priors_from_the_stats_file(tmp_path):
    folder = _three(tmp_path)
    stats, images = tmp_path / "s.json", tmp_path / "i.jsonl"
    assert run("scan", folder, "-o", stats, "--per-image", images).exit_code == 0
    from_stats = json.loads(run("priors", "--from", stats, "--ignore", 255).stdout)
    from_images = json.loads(run("priors", "--from", images, "--ignore", 255).stdout)
    assert from_images["prior"] == from_stats["prior"] == [4 / 15, 3 / 15, 6 / 15, 2 / 15]


def test_the_whole_int64_range_of_ids_reads_back_from_a_per_image_file(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    low, high = -(2**63), 2**63 - 1
    np.save(folder / "a.npy", np.array([[low, 0, 1], [high, 1, 1]], dtype=np.int64))
    images = tmp_path / "i.jsonl"
    assert (
        run(
            "scan", folder, "--glob", "*.npy", "-o", tmp_path / "s.json", "--per-image", images
        ).exit_code
        == 0
    )
    ignore = [f"--ignore={low}", f"--ignore={high}"]
    direct = run("sampling", folder, "--glob", "*.npy", *ignore, "-f", "csv")
    from_file = run("sampling", "--from", images, *ignore, "-f", "csv")
    assert direct.exit_code == from_file.exit_code == 0, from_file.stderr
    assert from_file.stdout.splitlines()[1:] == direct.stdout.splitlines()[1:]


def _wide_lines(first: int, count: int) -> list[str]:
    """Image lines of 900 new ids each, starting at image ``first``."""
    return [
        json.dumps(
            {
                "image": f"img{k}.png",
                "ids": list(range(900 * k, 900 * k + 900)),
                "pixels": [1] * 900,
            }
        )
        for k in range(first, first + count)
    ]


def test_too_many_ids_in_per_image_files_names_file_line_and_image(tmp_path):
    # 900 new ids a line: the fifth image line (line 6) takes the total to 4500 > 4096.
    header = json.dumps({"mfb_per_image": 1, "label_mapping": {}})
    whole = tmp_path / "whole.jsonl"
    whole.write_text("\n".join([header, *_wide_lines(0, 5)]) + "\n")
    expected = (
        f"{whole}:6: img4.png: more than 4096 distinct label values: these are not semantic "
        "class ids (instance ids, a continuous raster, or colours read as values?)"
    )
    with pytest.raises(PerImageError) as raised:
        load_per_image([whole])
    assert str(raised.value) == expected
    for command in ("sampling", "report", "priors"):
        result = run(command, "--from", whole)
        assert result.exit_code == 1
        assert result.stderr == f"Error: {expected}\n", command
    # Shards: the file and line where the limit is passed (the second shard's line 3).
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join([header, *_wide_lines(0, 3)]) + "\n")
    second.write_text("\n".join([header, *_wide_lines(3, 2)]) + "\n")
    result = run("sampling", "--from", first, "--from", second)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {second}:3: img4.png: more than 4096 distinct")
