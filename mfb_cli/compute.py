"""One call from label files to class weights, for training scripts.

In the spirit of scikit-learn's ``compute_class_weight``: paths and the command line's
options in, a ``ClassWeights`` out (``np.asarray(result)`` is the vector), with the same
warnings ``mfb weights`` prints, the same class sets and the same errors (``MfbError``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .count.scan import count_masks
from .read.labels.class_sets import class_set_of
from .read.labels.colormaps import ColorMap, load_colormap
from .read.labels.remap import Remap, load_remap
from .read.options import DEFAULT_MAX_PIXELS, ReadOptions
from .read.sources.find import DEFAULT_GLOB, find_label_sources
from .weigh.classes import class_stats, label_check
from .weigh.spec import LabelSpec
from .weigh.weights import class_weights

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .count.counts import ClassCounts
    from .weigh.sampling import Sampling
    from .weigh.schemes import ClassWeights


def compute_class_weights(
    paths: str | Path | Iterable[str | Path] = (),
    *,
    scheme: str = "median-frequency",
    num_classes: int | None = None,
    void: Iterable[int] = (),
    ignore: Iterable[int] = (),
    colormap: str | ColorMap | None = None,
    remap: str | Remap | None = None,
    glob: str = DEFAULT_GLOB,
    lists: Iterable[str | Path] = (),
    normalize: str = "none",
    clip: float | None = None,
    palette_index: bool = False,
    unknown_color: int | None = None,
    transparent: int | None = None,
    unmapped: int | None = None,
    skip_bad: bool = False,
    jobs: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    **scheme_options: object,
) -> ClassWeights:
    """Weights of the label files in ``paths`` (and ``lists``), as ``mfb weights`` gives them.

    ``colormap`` / ``remap`` take a built-in name, a table file or a loaded table; the
    class set they define sets the vector length unless ``num_classes`` is given.
    ``scheme_options`` are the scheme's own (``void_in_median``, ``enet_c``, ``beta``).
    The result's ``warnings`` hold what the command would print on stderr.
    """
    read = ReadOptions(
        max_pixels=max_pixels,
        colormap=load_colormap(colormap) if isinstance(colormap, str) else colormap,
        palette_index=palette_index,
        unknown_color=unknown_color,
        transparent=transparent,
        remap=load_remap(remap) if isinstance(remap, str) else remap,
        unmapped=unmapped,
    )
    spec = LabelSpec.of(num_classes, void, ignore, class_set_of(read))
    counts = _count(paths, glob, lists, read, spec, jobs=jobs, skip_bad=skip_bad)
    return class_weights(
        class_stats(counts, spec), scheme, normalize=normalize, clip=clip, **scheme_options
    )


def compute_sampling(
    paths: str | Path | Iterable[str | Path] = (),
    *,
    scheme: str = "repeat-factor",
    num_classes: int | None = None,
    void: Iterable[int] = (),
    ignore: Iterable[int] = (),
    colormap: str | ColorMap | None = None,
    remap: str | Remap | None = None,
    glob: str = DEFAULT_GLOB,
    lists: Iterable[str | Path] = (),
    skip_bad: bool = False,
    jobs: int | None = None,
    threshold: float = 0.1,
    rounding: str = "ceil",
    temperature: float = 0.01,
    min_pixels: int = 3000,
) -> Sampling:
    """Per-image sampling weights of the label files in ``paths``, as ``mfb sampling`` gives.

    One scan; each image's counts are kept (sparse) for the scheme. The result has the
    images in file order, their ``weights`` and ``probabilities``, the ``effect`` and the
    ``warnings`` the command would print.
    """
    from .count.per_image import ImageCounts
    from .weigh.sampling import sample_images

    read = ReadOptions(
        colormap=load_colormap(colormap) if isinstance(colormap, str) else colormap,
        remap=load_remap(remap) if isinstance(remap, str) else remap,
    )
    spec = LabelSpec.of(num_classes, void, ignore, class_set_of(read))
    images: list[ImageCounts] = []
    counts = _count(
        paths,
        glob,
        lists,
        read,
        spec,
        jobs=jobs,
        skip_bad=skip_bad,
        on_image=lambda path, ids, pixels: images.append(
            ImageCounts(str(path), tuple(ids.tolist()), tuple(pixels.tolist()))
        ),
    )
    return sample_images(
        images,
        class_stats(counts, spec),
        scheme,
        threshold=threshold,
        rounding=rounding,
        temperature=temperature,
        min_pixels=min_pixels,
    )


def _count(
    paths: str | Path | Iterable[str | Path],
    glob: str,
    lists: Iterable[str | Path],
    read: ReadOptions,
    spec: LabelSpec,
    **scan: Any,
) -> ClassCounts:
    """Find the label files as the commands do and count them, checking every label."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = find_label_sources([Path(p) for p in paths], glob, lists=[Path(p) for p in lists])
    return count_masks(files, read=read, check=label_check(spec), **scan)
