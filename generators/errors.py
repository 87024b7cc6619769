"""Errors that reach the user as one line."""


class DatasetError(Exception):
    """A dataset folder, manifest or shard is missing, corrupt or inconsistent."""


class ShardError(DatasetError):
    """A shard file cannot be read; the message names the file."""
