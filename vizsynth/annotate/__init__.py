"""Annotation measures: boxes, masks and poses from the render of a SceneSpec."""

from vizsynth.annotate.annotator import AssetInfo, FrameAnnotations, ObjectAnnotation, annotate_frame
from vizsynth.annotate.masks import box_xywh, encode_rle, instance_boxes

__all__ = ["AssetInfo", "FrameAnnotations", "ObjectAnnotation", "annotate_frame", "box_xywh", "encode_rle", "instance_boxes"]
