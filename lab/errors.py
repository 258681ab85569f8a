"""The one exception the lab command turns into a one-line message and exit status 1."""


class LabError(Exception):
    """A failure the user can act on. The message states what failed and what to do."""
