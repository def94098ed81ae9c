"""Writers persist: per-frame files and records, then the label formats built from the records."""

from vizsynth.io.coco import CONVENTIONS, write_coco
from vizsynth.io.files import frame_stem, record_path, remove_stale_temporaries, write_json_atomic
from vizsynth.io.frame_writer import write_frame
from vizsynth.io.labels import coco_categories, write_labels
from vizsynth.maps import encode_depth

__all__ = [
    "CONVENTIONS", "coco_categories", "encode_depth", "frame_stem", "record_path",
    "remove_stale_temporaries", "write_coco", "write_frame", "write_json_atomic", "write_labels",
]
