"""The exceptions vizsynth raises for problems a user can fix.

    VizsynthError            base: the CLI prints its message and exits non-zero
    ├── ConfigError          a config value breaks a rule (field, rule and value in the message)
    ├── AssetError           a mesh/texture file is missing, unreadable or unusable
    ├── SceneError           a fixed-scene / frame-record JSON is malformed
    │   └── RecordError      a frame record breaks its schema (vizsynth validate: malformed_record)
    ├── PlacementError       a sampler could not satisfy its constraints within its tries
    ├── RenderError          the GL context could not be created or a render failed
    └── OutputError          the output folder cannot be used as asked (non-empty, resume mismatch,
                             full or read-only storage)

    KeyboardInterrupt
    └── Interrupted          SIGTERM or SIGHUP stopped a job (handled like Ctrl-C)
"""


class VizsynthError(Exception):
    """Base class for every error meant to be read by a person."""


class ConfigError(VizsynthError):
    """A config value breaks a rule of the schema."""


class AssetError(VizsynthError):
    """A mesh or texture asset cannot be used."""


class SceneError(VizsynthError):
    """A scene JSON (fixed scene or frame record) is malformed."""


class RecordError(SceneError):
    """A frame record (``frames/*.json``) is not valid JSON or breaks the FrameRecord schema."""


class PlacementError(VizsynthError):
    """Sampling could not satisfy its constraints within its bounded tries."""


class RenderError(VizsynthError):
    """The renderer could not be created or failed on a frame."""


class OutputError(VizsynthError):
    """The output folder cannot be used as asked."""


class Interrupted(KeyboardInterrupt):
    """A job was stopped by a signal; the CLI exits with 128 + ``signum``, like a shell.

    A subclass of KeyboardInterrupt, so one handler covers Ctrl-C, SIGTERM and SIGHUP.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def format_validation_error(error, source: str, known_names: set[str] = frozenset()) -> str:
    """A pydantic ValidationError as one line per problem: where, the rule, and the value seen.

    Args:
        error: a ``pydantic.ValidationError``.
        source: the file (or "config") the data came from.
        known_names: field names offered as "did you mean" for an unknown key.
    """
    import difflib

    lines = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        if item["type"] in ("extra_forbidden", "unexpected_keyword_argument"):  # models, dataclasses
            hint = difflib.get_close_matches(str(item["loc"][-1]), sorted(known_names), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            lines.append(f"{source}: unknown key '{loc}'{suggestion}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        where = f"field '{loc}': " if loc else ""
        lines.append(f"{source}: {where}{message} (got {item.get('input')!r})" if loc else f"{source}: {message}")
    return "\n".join(dict.fromkeys(lines))
