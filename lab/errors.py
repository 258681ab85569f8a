"""The one exception the lab command turns into a one-line message and exit status 1."""


class LabError(Exception):
    """A failure the user can act on; the message says what failed and what to do."""
