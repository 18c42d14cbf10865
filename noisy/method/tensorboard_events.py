"""TensorBoard event files of a training's history, an optional way to watch long runs.

Each monitored epoch's history row (:data:`noisy.method.training.HISTORY_COLUMNS`) becomes
scalars at step = epoch, in the model's folder (``events/``), so ``tensorboard
--logdir results/models`` shows every training side by side. It needs the ``tensorboard``
package (``pip install -e '.[tensorboard]'``), which nothing else needs. A resumed training
purges what its killed attempt had logged after the state it resumes from, so every epoch
shows once. The event files are a view: no job reads them, and they define nothing.
"""

from __future__ import annotations

import importlib.util
import os

from noisy.errors import UserError

# Set to 1 (config `tensorboard`, through the rules' shell prefix), the train job writes
# event files: how a training is watched, not what it computes, so no rule's command holds it.
ENVIRONMENT_VARIABLE = "NOISY_TENSORBOARD"
# Scalar tag -> history column.
TAGS = {"train/loss": "train_loss", "train/accuracy": "train_acc", "test/loss": "test_loss",
        "test/accuracy": "test_acc", "lr": "lr", "speed/images_per_s": "images_per_s"}


def require_tensorboard() -> None:
    """Raise a :class:`UserError` saying how to install TensorBoard when it is missing."""
    if importlib.util.find_spec("tensorboard") is None:
        raise UserError("config key 'tensorboard': event files need the tensorboard package: "
                        "pip install -e '.[tensorboard]' (or set tensorboard: false)")


class TensorBoardHistory:
    """Writes history rows to TensorBoard event files in ``folder``; call it with each row,
    close it (or use it as a context manager) when the training ends."""

    def __init__(self, folder: str | os.PathLike):
        require_tensorboard()
        self.folder = str(folder)
        self.writer = None

    def __call__(self, row: dict) -> None:
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            # The first row of this attempt: any later epoch an earlier attempt logged
            # was lost with it and is hidden.
            self.writer = SummaryWriter(self.folder, purge_step=row["epoch"])
        for tag, column in TAGS.items():
            self.writer.add_scalar(tag, row[column], row["epoch"])
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def __enter__(self) -> TensorBoardHistory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
