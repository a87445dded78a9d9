"""The one exception the command line reports without a traceback."""


class InputError(Exception):
    """A template, a CSV file or an option is invalid; the message names which and why."""
