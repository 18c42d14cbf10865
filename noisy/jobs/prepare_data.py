"""rule prepare_data: a data source turned into the canonical data set and its summary."""

from __future__ import annotations

from noisy.jobs import add_out
from noisy.method.data import read_source, save


def add_arguments(parser) -> None:
    parser.add_argument("--source", required=True,
                        help="torchvision, a cifar-10-batches-py folder, an image folder "
                             "train/<class>/*, test/<class>/* or a .tar.gz of one")
    add_out(parser, "the canonical data set (.npz)",
            summary="sha256, counts per class, where the data came from")
    parser.add_argument("--download-root", default="data",
                        help="where torchvision downloads to (--source torchvision)")


def run(args) -> None:
    dataset, source = read_source(args.source, args.download_root)
    save(dataset, args.out, source, args.summary)
