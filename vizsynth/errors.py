"""The exceptions vizsynth raises for problems a user can fix.

    VizsynthError            base: the CLI prints its message and exits non-zero
    ├── ConfigError          a config value breaks a rule (field, rule and value in the message)
    ├── AssetError           a mesh/texture file is missing, unreadable or unusable
    ├── SceneError           a fixed-scene / frame-record JSON is malformed
    ├── PlacementError       a sampler could not satisfy its constraints within its tries
    ├── RenderError          the GL context could not be created or a render failed
    └── OutputError          the output folder cannot be used as asked (non-empty, resume mismatch)
"""


class VizsynthError(Exception):
    """Base class for every error meant to be read by a person."""


class ConfigError(VizsynthError):
    """A config value breaks a rule of the schema."""


class AssetError(VizsynthError):
    """A mesh or texture asset cannot be used."""


class SceneError(VizsynthError):
    """A scene JSON (fixed scene or frame record) is malformed."""


class PlacementError(VizsynthError):
    """Sampling could not satisfy its constraints within its bounded tries."""


class RenderError(VizsynthError):
    """The renderer could not be created or failed on a frame."""


class OutputError(VizsynthError):
    """The output folder cannot be used as asked."""
