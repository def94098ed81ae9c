"""Job orchestration: the runner schedules FrameTasks; it never samples, renders or writes itself."""

from vizsynth.run.fixed_scenes import render_scenes
from vizsynth.run.job import JobSummary, generate
from vizsynth.run.task import FrameOutcome, FrameTask

__all__ = ["FrameOutcome", "FrameTask", "JobSummary", "generate", "render_scenes"]
