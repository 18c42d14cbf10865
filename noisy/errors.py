"""The one error type of a problem the user can fix, as opposed to a bug.

``python -m noisy`` prints a :class:`UserError` as one line (its type and message) and
exits with status 1; every other exception is a bug in this code (or a fault below it, such
as a CUDA error) and keeps its traceback. What is a user error:

* a configuration value (:class:`noisy.workflow.config.ConfigError`);
* a data source that cannot be read (:class:`noisy.method.data.DataSourceError`);
* a workflow file that is damaged or missing (:class:`noisy.files.DamagedFileError`,
  :class:`noisy.files.MissingFileError`);
* a training job already running elsewhere (:class:`noisy.method.resume.JobLockedError`) or
  stopped by a signal after saving its state
  (:class:`noisy.method.resume.TrainingInterrupted`);
* a setting a job received that is not valid (:class:`SettingsError`), and anything else the
  user can act on that the message explains (a device without CUDA, a class left without
  images, a missing optional package).

The message names what is wrong and, where there is one, the fix.
"""


class UserError(Exception):
    """A problem the user can fix; its message says what is wrong (see the module docstring)."""


class SettingsError(UserError):
    """A setting a job received is not valid; the message names it and what it may be."""
