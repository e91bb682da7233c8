"""The engine's one door: the GUI and the CLI describe work here as jobs and run them on its thread.

```python
engine = Engine(load_models(path), device="auto")   # engine/api/engine.py
job = engine.filter(FilterRequest(folder, classes=default_classes()))
outcome = engine.submit(job).wait()              # the CLI; the GUI goes through gui/bridge.py
engine.shutdown()
```

`Engine` owns the engine thread (one model job at a time, interactive ones first), the model registry
(created on the engine thread by the first model job) and the open project stores. Each factory takes a
job description (engine/api/requests.py: plain data) and returns a `Job` that is not yet submitted; the
job imports its model libraries when it runs, so importing this package loads no torch. The names
re-exported here are what the GUI may use besides the document objects (an import-linter contract says so).
"""

from __future__ import annotations

from engine.api.engine import Engine, load_models
from engine.api.requests import (
    BatchRequest,
    CaptionRequest,
    EnhanceRequest,
    ExportRequest,
    FilterRequest,
    RefineEdgeRequest,
    SamImage,
    SamPrompt,
    SelectRequest,
    SelectResult,
)

# What the GUI may use besides the Engine and the document objects: plain values, light helpers it runs
# off its UI thread, and the settings it shows. Each is imported from a module that loads no torch.
from engine.diffusion.batch import BatchItem
from engine.diffusion.fidelity import GRADES, FidelityReport
from engine.diffusion.lora import LoraSpec, parse_lora_arg
from engine.diffusion.recipes import (
    DEFAULT_TEMPLATE,
    ENHANCE_NEGATIVE,
    GENERATE_NEGATIVE,
    SCHEDULER_CHOICES,
    EnhanceRecipe,
    GenerateRequest,
)
from engine.diffusion.samplers import SCHEDULERS
from engine.export.presets import BUILTIN as EXPORT_PRESETS
from engine.export.presets import ExportPreset, load_preset_file
from engine.export.selection import SELECT_HELP
from engine.filter.classes import (
    ClassSet,
    ProductClass,
    default_classes,
    load_shoot_classes,
    save_shoot_classes,
)
from engine.filter.scores import StoredScores, save_verdicts
from engine.imaging.raw import RAW_SUFFIXES, screen_preview
from engine.imaging.thumbnails import Thumbnail, ThumbnailCache
from engine.models.config import ROLE_DESCRIPTIONS, ROLES, ModelsConfig, default_config_path
from engine.models.discover import Discovery, FoundWeights, discover, use_in_place
from engine.models.download import DOWNLOAD_SIZES
from engine.models.errors import ModelError
from engine.models.locate import FILE_ROLES, role_problem
from engine.project import mask_ops
from engine.project.mask_ops import Brush
from engine.project.matting import RefinedEdge
from engine.project.sidecars import SidecarSettings, write_groups
from engine.project.store import ProjectStore
from engine.project.values import (
    ERROR,
    FLAGS,
    LABEL_KEYS,
    LABELS,
    PICK,
    PRODUCT,
    RATINGS,
    REJECT,
    SKIPPED,
    UNCERTAIN,
    VERDICTS,
)
from engine.project.xmp import NAMINGS as SIDECAR_NAMINGS
from engine.project.xmp import XmpError
from engine.runtime.errors import user_message
from engine.runtime.jobs import (
    Cancelled,
    EngineError,
    Failed,
    Job,
    JobContext,
    Outcome,
    Priority,
    Progress,
    Succeeded,
)
from engine.segment.prompts import Prompt, SamResult
from engine.training.captions import Caption
from engine.training.config import (
    LR_SCHEDULERS,
    PRECISIONS,
    CheckpointEvent,
    SampleEvent,
    StepEvent,
    TrainingConfig,
)
from engine.training.data import SD15_BUCKET_STEP, TrainingInputError, scan_folder
from engine.training.samples import SAMPLE_TEMPLATE, SampleSettings

__all__ = [
    "DEFAULT_TEMPLATE",
    "DOWNLOAD_SIZES",
    "ENHANCE_NEGATIVE",
    "ERROR",
    "EXPORT_PRESETS",
    "FILE_ROLES",
    "FLAGS",
    "GENERATE_NEGATIVE",
    "GRADES",
    "LABELS",
    "LABEL_KEYS",
    "LR_SCHEDULERS",
    "PICK",
    "PRECISIONS",
    "PRODUCT",
    "RATINGS",
    "RAW_SUFFIXES",
    "REJECT",
    "ROLES",
    "ROLE_DESCRIPTIONS",
    "SAMPLE_TEMPLATE",
    "SCHEDULERS",
    "SCHEDULER_CHOICES",
    "SD15_BUCKET_STEP",
    "SELECT_HELP",
    "SIDECAR_NAMINGS",
    "SKIPPED",
    "UNCERTAIN",
    "VERDICTS",
    "BatchItem",
    "BatchRequest",
    "Brush",
    "Cancelled",
    "Caption",
    "CaptionRequest",
    "CheckpointEvent",
    "ClassSet",
    "Discovery",
    "Engine",
    "EngineError",
    "EnhanceRecipe",
    "EnhanceRequest",
    "ExportPreset",
    "ExportRequest",
    "Failed",
    "FidelityReport",
    "FilterRequest",
    "FoundWeights",
    "GenerateRequest",
    "Job",
    "JobContext",
    "LoraSpec",
    "ModelError",
    "ModelsConfig",
    "Outcome",
    "Priority",
    "ProductClass",
    "Progress",
    "ProjectStore",
    "Prompt",
    "RefineEdgeRequest",
    "RefinedEdge",
    "SamImage",
    "SamPrompt",
    "SamResult",
    "SampleEvent",
    "SampleSettings",
    "SelectRequest",
    "SelectResult",
    "SidecarSettings",
    "StepEvent",
    "StoredScores",
    "Succeeded",
    "Thumbnail",
    "ThumbnailCache",
    "TrainingConfig",
    "TrainingInputError",
    "XmpError",
    "default_classes",
    "default_config_path",
    "discover",
    "load_models",
    "load_preset_file",
    "load_shoot_classes",
    "mask_ops",
    "parse_lora_arg",
    "role_problem",
    "save_shoot_classes",
    "save_verdicts",
    "scan_folder",
    "screen_preview",
    "use_in_place",
    "user_message",  # one line for the user about any error (engine/runtime/errors.py)
    "write_groups",
]
