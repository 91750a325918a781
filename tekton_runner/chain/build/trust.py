"""Decides whether a TaskRun read from the API server is the build a run may deploy; used by the orchestrator.

Only objects the runner itself read from its own build namespace come here, never an event's copy: the
sink is open, so what an event says is at most a reason to look.
"""

from __future__ import annotations

import re
from datetime import datetime

from ...models.apps import TRIGGER_PREFIX, RegisteredApp
from ...models.ids import taskrun_name
from ...models.images import image_repository
from ...models.runs import Run
from ...models.taskruns import APP_ID_LABEL, EVENTLISTENER_LABEL, RUN_ID_LABEL, TRIGGER_LABEL, TaskRunView

_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class Untrusted(Exception):
    """The TaskRun is not one this run may deploy; the message says why (for the log, never for users)."""


def check_requested_build(view: TaskRunView, run: Run, *, namespace: str) -> None:
    """A /run build: `build-<run id>` in the build namespace, labelled for this run, building its image."""
    if view.metadata.name != taskrun_name(run.id) or view.metadata.namespace != namespace:
        raise Untrusted(f"TaskRun {view.metadata.namespace}/{view.metadata.name} is not {namespace}/"
                        f"{taskrun_name(run.id)}")
    if view.metadata.labels.get(RUN_ID_LABEL) != run.id:
        raise Untrusted(f"TaskRun {view.metadata.name} is labelled for another run")
    _check_same_object(view, run)
    if view.param("IMAGE") != run.image:
        raise Untrusted(f"TaskRun {view.metadata.name} builds {view.param('IMAGE')!r}, not {run.image!r}")


def check_push_build(view: TaskRunView, app: RegisteredApp, *, namespace: str, eventlistener: str) -> str:
    """A git-push build of a registered app; returns the image it pushes (from the TaskRun, never an event).

    It must be made by our EventListener for this app's Trigger, after the app was registered, and push
    under the app's registered repository.
    """
    labels = view.metadata.labels
    where = f"TaskRun {view.metadata.namespace}/{view.metadata.name}"
    if view.metadata.namespace != namespace:
        raise Untrusted(f"{where} is outside the build namespace {namespace}")
    if labels.get(APP_ID_LABEL) != app.id or RUN_ID_LABEL in labels:
        raise Untrusted(f"{where} is not a push build of app {app.id}")
    if labels.get(EVENTLISTENER_LABEL) != eventlistener or labels.get(TRIGGER_LABEL) != TRIGGER_PREFIX + app.id:
        raise Untrusted(f"{where} was not created by EventListener {eventlistener} for Trigger "
                        f"{TRIGGER_PREFIX + app.id}")
    if not created_after(view.metadata.creation_timestamp, app.created_at):
        raise Untrusted(f"{where} is older than the registration of app {app.id}")
    image = view.param("IMAGE") or ""
    if not in_repository(image, app.image_repository):
        raise Untrusted(f"{where} pushes {image!r}, which is not under {app.image_repository}")
    return image


def check_adopted_build(view: TaskRunView, run: Run) -> None:
    """A push build already recorded as `run`: the same object, still pushing the recorded image."""
    _check_same_object(view, run)
    if view.param("IMAGE") != run.image:
        raise Untrusted(f"TaskRun {view.metadata.name} now builds {view.param('IMAGE')!r}, not {run.image!r}")


def _check_same_object(view: TaskRunView, run: Run) -> None:
    """Once a run has seen its TaskRun's uid, a TaskRun of the same name made later is another build."""
    if run.taskrun_uid and view.metadata.uid != run.taskrun_uid:
        raise Untrusted(f"TaskRun {view.metadata.name} was replaced (uid {view.metadata.uid}, expected "
                        f"{run.taskrun_uid})")


def in_repository(image: str, repository: str) -> bool:
    """`<repository>:<tag>` exactly: no other host, no sub-path, no digest the build did not report."""
    tag = image.removeprefix(repository + ":") if image.startswith(repository + ":") else None
    return tag is not None and bool(_TAG.match(tag)) and image_repository(image) == repository


def created_after(created: datetime | None, registered: datetime) -> bool:
    """Kubernetes timestamps have whole seconds: compare at that precision; no timestamp is not after."""
    return created is not None and created >= registered.replace(microsecond=0)
