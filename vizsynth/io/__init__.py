"""Writers persist: per-frame files, frame records, and the merged COCO file."""

from vizsynth.io.files import frame_stem, record_path, remove_stale_temporaries, write_json_atomic
from vizsynth.io.frame_writer import encode_depth, write_frame
from vizsynth.io.merge import CONVENTIONS, merge_coco

__all__ = [
    "CONVENTIONS", "encode_depth", "frame_stem", "merge_coco", "record_path",
    "remove_stale_temporaries", "write_frame", "write_json_atomic",
]
