"""The `Engine`: the engine thread, the model registry and the open project stores, and a job factory
for every feature. Each factory takes a job description (engine/api/requests.py) or plain values and
returns a `Job` that is not yet submitted; the job imports its model libraries when it runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.api.requests import (
    BatchRequest,
    CaptionRequest,
    EnhanceRequest,
    ExportRequest,
    FilterRequest,
    RefineEdgeRequest,
)
from engine.api.sam_jobs import SamJobs
from engine.diffusion.recipes import GenerateRequest
from engine.filter.classes import ClassSet, default_classes
from engine.models.config import ModelsConfig
from engine.models.locate import role_problem
from engine.project.store import ProjectStore
from engine.runtime.jobs import Job, JobContext, Outcome, Priority, Progress
from engine.runtime.worker import EngineWorker
from engine.segment.prefetch import EmbedAhead
from engine.training.config import TrainingConfig


def load_models(path: Path | str | None = None) -> ModelsConfig:
    """The models.toml at `path` (default: $SHOOTSTUDIO_MODELS, else the user's config)."""
    return ModelsConfig.load(path)


class Engine(SamJobs):
    """The engine thread, the model registry and the open project stores of one app or command."""

    def __init__(
        self,
        models: ModelsConfig | None = None,
        device: str = "auto",
        *,
        registry: Any = None,
        name: str = "shootstudio-engine",
        precision: str = "auto",
    ):
        self.models = models if models is not None else getattr(registry, "config", ModelsConfig.defaults())
        self.device = device
        self.precision = precision  # SAM's (and the filter's default): auto|fp32|bf16|fp16
        self._registry = registry
        self._worker = EngineWorker(name=name)
        self._lock = threading.Lock()  # stores and SAM sessions: held briefly, the UI thread may take it
        self._registry_lock = threading.Lock()  # engine thread only: creating a registry imports torch
        self._stores: dict[Path, ProjectStore] = {}
        self._closing: list[ProjectStore] = []  # closed by a job after the running one, or at shutdown
        self._sam: dict[Path, Any] = {}  # embedding cache folder → SamSession
        self._ahead = EmbedAhead()  # SAM embeddings ahead of the user, in browse order

    # -- the engine thread ---------------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        """Queue `job`; a job with the same key that is still waiting is cancelled (latest wins).
        Any job but an idle one makes a running embed-ahead job yield (engine/segment/prefetch.py)."""
        if job.priority < Priority.IDLE:
            self._yield_embed_ahead()
        return self._worker.submit(job)

    def run(
        self,
        job: Job,
        on_progress: Callable[[Progress], None] | None = None,
        on_event: Callable[[Any], None] | None = None,
    ) -> Outcome:
        """Submit `job` and wait for its outcome; callbacks run on the engine thread."""
        if on_progress is not None:
            job.add_progress_callback(on_progress)
        if on_event is not None:
            job.add_event_callback(on_event)
        return self.submit(job).wait()

    def cancel_all(self, reason: str = "cancelled") -> None:
        self._worker.cancel_all(reason)

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancel every job, stop the thread and close the stores; True when the thread stopped."""
        stopped = self._worker.shutdown(timeout)
        with self._lock:
            stores, self._stores = [*self._stores.values(), *self._closing], {}
            self._closing = []
        for store in stores:
            store.close()
        return stopped

    # -- models ------------------------------------------------------------------------------
    @property
    def registry(self) -> Any:
        """The model registry for the current models (engine thread: creating it imports torch, under a
        lock of its own so that the UI thread, opening a store, never waits for it)."""
        with self._registry_lock:
            models = self.models
            if self._registry is None or self._registry.config is not models:
                from engine.models.registry import ModelRegistry

                self._registry = ModelRegistry(models, self.device)
            return self._registry

    def set_models(self, models: ModelsConfig) -> None:
        """Point the roles elsewhere; the next model job loads from there (running jobs finish)."""
        with self._lock:
            self.models = models
            self._sam.clear()

    def model_problem(self, role: str) -> str | None:
        """Why `role` cannot load (which role, where it looked, how to fix it), or None. No torch."""
        return role_problem(self.models, role)

    # -- project stores ----------------------------------------------------------------------
    def store(self, folder: Path | str) -> ProjectStore:
        """The project store of a shoot folder, opened (or created) once and shared by every job."""
        key = Path(folder).resolve()
        with self._lock:
            if key not in self._stores:
                self._stores[key] = ProjectStore.open(key)
            return self._stores[key]

    def close_store(self, folder: Path | str) -> None:
        """Close a folder's store once the job running now is over (it may still be writing to it)."""
        with self._lock:
            store = self._stores.pop(Path(folder).resolve(), None)
            if store is None:
                return
            self._closing.append(store)

        def close(ctx: JobContext) -> None:
            with self._lock:
                if store not in self._closing:
                    return  # shut down meanwhile
                self._closing.remove(store)
            store.close()

        self.submit(Job(close, name="close store", priority=Priority.INTERACTIVE))

    # -- the product filter ------------------------------------------------------------------
    def filter(self, request: FilterRequest) -> Job:
        """SAM proposals + CLIP classes for every image → a `FilterRun` (results in the store)."""

        def run(ctx: JobContext) -> Any:
            from engine.filter.run import FilterRun, FilterSettings, ProductFilter
            from engine.imaging.raw import pair_raw_jpeg
            from engine.imaging.read import list_images

            paths = request.paths
            if paths is None:  # a RAW + JPEG pair is one shot: filtered once, through its JPEG
                listed = list_images(request.folder, recursive=request.recursive)
                paths = [shown for shown, _ in pair_raw_jpeg(listed)]
            classes = request.classes or default_classes()
            settings = request.settings or FilterSettings()
            if request.proposals_mode is not None:
                settings = replace(settings, proposals_mode=request.proposals_mode)
            product_filter = ProductFilter(self.registry, self.store(request.folder), classes, settings)
            return FilterRun(product_filter.run_key, product_filter.run(paths, ctx))

        return Job(run, name="Product filter", priority=Priority.BATCH, key="filter")

    def redecide(self, folder: Path, classes: ClassSet, run_key: str) -> Job:
        """Re-decide every stored result of `run_key` under `classes`' thresholds (no model)."""

        def run(ctx: JobContext) -> dict:
            from engine.filter.scores import redecide

            return redecide(self.store(folder), classes, run_key)

        return Job(run, name="Re-decide", priority=Priority.NORMAL)

    # -- enhancement and generation ----------------------------------------------------------
    def enhance(self, request: EnhanceRequest) -> Job:
        """SD 1.5 inpainting + depth ControlNet on the masked product → `EnhanceResult`."""

        def run(ctx: JobContext) -> Any:
            from engine.diffusion.enhance import enhance, save_variants

            result = enhance(
                request.image, request.mask, request.recipe, self.registry, ctx, request.class_name
            )
            if request.save_to is not None:
                ctx.check_cancelled()  # all variants or none
                result.saved = save_variants(result, request.save_to, request.keep_format)
            return result

        return Job(run, name=f"Enhance {request.image.name}", priority=Priority.NORMAL)

    def save_variant(self, result: Any, index: int, out: Path, keep_format: bool = False) -> Job:
        """Write variant `index` of an `EnhanceResult` into `out`, atomically → its path."""

        def run(ctx: JobContext) -> Path:
            from engine.diffusion.enhance import save_variant

            return save_variant(result, result.variants[index], out, keep_format)

        return Job(run, name="Save variant", priority=Priority.INTERACTIVE)

    def enhance_batch(self, request: BatchRequest) -> Job:
        """One recipe over many images → `BatchReport`; a rerun resumes after what was written."""

        def run(ctx: JobContext) -> Any:
            from engine.diffusion.batch import enhance_batch, items_from_store

            items = request.items
            if request.folder is not None:
                items = items_from_store(self.store(request.folder), request.class_name)
            return enhance_batch(
                items,
                request.recipe,
                self.registry,
                request.out_dir,
                ctx,
                request.class_name,
                keep_best=request.keep_best,
            )

        name = f"Enhance all {request.class_name or 'images'}"
        return Job(run, name=name, priority=Priority.BATCH)

    def generate(self, request: GenerateRequest) -> Job:
        """Text-to-image with SD 1.5 + LoRAs; each written image is emitted as a `GeneratedImage`."""

        def run(ctx: JobContext) -> Any:
            from engine.diffusion.generate import generate_images

            return generate_images(request, self.registry, ctx)

        return Job(run, name="Generate", priority=Priority.NORMAL)

    # -- matting -----------------------------------------------------------------------------
    def refine_edge(self, request: RefineEdgeRequest) -> Job:
        """Matte the mask's edge → `RefinedEdge` (alpha soft in the band, 0/1 elsewhere, and the trimap)."""

        def run(ctx: JobContext) -> Any:
            from engine.project.matting import refine_edge

            ctx.progress(0, None, "loading the matting model")
            matte = self.registry.matting()
            ctx.check_cancelled()
            ctx.progress(0, None, "refining the edge")
            edge = refine_edge(request.rgb, request.mask, matte, request.band)
            edge.image_id = request.image_id
            return edge

        return Job(run, name="Refine edge", priority=Priority.INTERACTIVE, key="refine-edge")

    # -- LoRA training -------------------------------------------------------------------------
    def caption(self, request: CaptionRequest) -> Job:
        """BLIP captions beside the images → `CaptionReport`; each written one is emitted."""

        def run(ctx: JobContext) -> Any:
            from engine.training.captions import caption_folder

            return caption_folder(
                request.folder, self.registry, ctx, tag=request.tag, overwrite=request.overwrite
            )

        return Job(run, name="Caption", priority=Priority.BATCH)

    def train(self, config: TrainingConfig) -> Job:
        """Train a product LoRA → `TrainingResult`; steps, checkpoints and samples are emitted."""

        def run(ctx: JobContext) -> Any:
            from engine.training.trainer import train_lora

            return train_lora(config, self.registry, ctx)

        return Job(run, name="Train LoRA", priority=Priority.BATCH)

    # -- export --------------------------------------------------------------------------------
    def export(self, request: ExportRequest) -> Job:
        """Masks, cut-outs, COCO/LabelMe and a manifest for the selected images → `ExportReport`."""

        def run(ctx: JobContext) -> Any:
            from engine.export.presets import ExportPreset, resolve_preset, with_contents
            from engine.export.run import run_export
            from engine.export.selection import select_entries

            chosen = request.preset
            preset = with_contents(
                chosen if isinstance(chosen, ExportPreset) else resolve_preset(chosen),
                masks=request.masks,
                cutouts=request.cutouts,
                coco=request.coco,
                labelme=request.labelme,
            )
            from engine.project.matting import cutout_alpha

            store = self.store(request.folder)
            entries = select_entries(store, request.select, request.paths)
            return run_export(
                store,
                entries,
                request.out_dir,
                preset,
                ctx,
                preflight_only=request.preflight_only,
                soft_alpha=lambda rgb, mask, band: cutout_alpha(rgb, mask, self.registry, band),
            )

        return Job(run, name="Export", priority=Priority.NORMAL)

    # -- first run -----------------------------------------------------------------------------
    def download_models(self, roles: list[str], dest: Path | str | None = None) -> Job:
        """Fetch each role's standard weights (the only job that uses the network) → a list of
        `FoundWeights` for `use_in_place`; progress counts roles, message says which one."""

        def run(ctx: JobContext) -> list:
            from engine.models.config import DEFAULT_ROLES
            from engine.models.discover import FoundWeights, size_of
            from engine.models.download import download_role

            fetched = []
            for index, role in enumerate(roles):
                ctx.check_cancelled()

                def report(done: float, total: float | None, index: int = index, role: str = role) -> None:
                    ctx.check_cancelled()  # stops a direct download between chunks
                    share = done / total if total else 0.0
                    message = f"downloading {role} ({index + 1} of {len(roles)})"
                    ctx.progress(index + share, len(roles), message)

                path = download_role(role, dest, report)
                options = {k: v for k, v in DEFAULT_ROLES[role].items() if k != "path"}
                fetched.append(FoundWeights(role, path, "downloaded", role, size_of(path), options))
            return fetched

        return Job(run, name="Download models", priority=Priority.BATCH)
