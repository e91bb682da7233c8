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
    FilterRequest,
    SamImage,
    SamPrompt,
)

# What the GUI may use besides the Engine and the document objects: plain values, light helpers it runs
# off its UI thread, and the settings it shows. Each is imported from a module that loads no torch.
from engine.diffusion.batch import BatchItem
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
from engine.filter.classes import (
    ClassSet,
    ProductClass,
    default_classes,
    load_shoot_classes,
    save_shoot_classes,
)
from engine.filter.scores import StoredScores, save_verdicts
from engine.imaging.thumbnails import Thumbnail, ThumbnailCache
from engine.models.config import ROLE_DESCRIPTIONS, ROLES, ModelsConfig, default_config_path
from engine.models.discover import Discovery, FoundWeights, discover, use_in_place
from engine.models.download import DOWNLOAD_SIZES
from engine.models.errors import ModelError
from engine.models.locate import FILE_ROLES, role_problem
from engine.project import mask_ops
from engine.project.mask_ops import Brush
from engine.project.store import ProjectStore
from engine.project.values import ERROR, FLAGS, PICK, PRODUCT, REJECT, SKIPPED, UNCERTAIN, VERDICTS
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
    "FILE_ROLES",
    "FLAGS",
    "GENERATE_NEGATIVE",
    "LR_SCHEDULERS",
    "PICK",
    "PRECISIONS",
    "PRODUCT",
    "REJECT",
    "ROLES",
    "ROLE_DESCRIPTIONS",
    "SAMPLE_TEMPLATE",
    "SCHEDULERS",
    "SCHEDULER_CHOICES",
    "SD15_BUCKET_STEP",
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
    "Failed",
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
    "SamImage",
    "SamPrompt",
    "SamResult",
    "SampleEvent",
    "SampleSettings",
    "StepEvent",
    "StoredScores",
    "Succeeded",
    "Thumbnail",
    "ThumbnailCache",
    "TrainingConfig",
    "TrainingInputError",
    "default_classes",
    "default_config_path",
    "discover",
    "load_models",
    "load_shoot_classes",
    "mask_ops",
    "parse_lora_arg",
    "role_problem",
    "save_shoot_classes",
    "save_verdicts",
    "scan_folder",
    "use_in_place",
]
