"""Errors caused by the user's input (files, configs, checkpoints). Entry points print them as one line and exit 2."""


class UserError(Exception):
    """Something the user can fix; the message names the file or config key and the problem."""


class CheckpointMismatch(UserError):
    """A checkpoint does not fit the stage or the other components (codebook size, token grid, window...)."""
