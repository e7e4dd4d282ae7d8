"""The Lambda functions ``chalice package`` generates for ``app.py``, named as chalice names them,
and the settings ``.chalice/config.json`` gives each stage.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass

from chalice.app import CloudWatchEventConfig, ScheduledEventConfig, SNSEventConfig
from chalice.utils import to_cfn_resource_name

from infra.aws.names import (
    API_HANDLER,
    API_HANDLER_ROLE,
    CHALICE_CONFIG,
    ROOT,
    Json,
    PackagingError,
)


@dataclass(frozen=True)
class Function:
    """A Lambda function ``chalice package`` generates for the app, as it names things."""

    logical_id: str
    role_id: str
    name: str
    # (event logical id, topic name) for each SNS subscription chalice gives the function.
    sns_events: tuple[tuple[str, str], ...] = ()
    # Event logical id of each EventBridge rule chalice gives the function: its schedules
    # and its event patterns (``on_cw_event``), wired the same way.
    schedule_events: tuple[str, ...] = ()
    # The SNS subscriptions' filter as JSON (scope, policy), from app.SNS_FILTERS.
    sns_filter: str | None = None

    @property
    def asynchronous(self) -> bool:
        """SNS or EventBridge invokes it: what fails for good ends in its dead-letter queue."""
        return bool(self.sns_events or self.schedule_events)

    @property
    def workflow_step(self) -> bool:
        """Step Functions invokes it and catches the business errors it raises by name, so
        its Lambda errors are not alarms (its failed executions are)."""
        return self.logical_id != API_HANDLER and not self.asynchronous


def chalice_config() -> Json:
    """``.chalice/config.json``."""
    return dict(json.loads(CHALICE_CONFIG.read_text()))


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables ``.chalice/config.json`` gives the stage's functions."""
    config = chalice_config()
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def app_functions(stage: str) -> list[Function]:
    """The functions chalice packages for ``app.py``, with the logical ids it gives them.
    The app reads its settings at import (the SNS topic's name, the secrets' parameters,
    without which it refuses to start), so it is imported with the stage's variables."""
    os.environ.update(stage_environment(stage))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app_module = importlib.import_module("app")
    app = app_module.app
    filters = getattr(app_module, "SNS_FILTERS", {})
    prefix = f"{chalice_config()['app_name']}-{stage}"
    functions = []
    if app.routes:
        functions.append(Function(API_HANDLER, API_HANDLER_ROLE, prefix))
    unhandled = [
        source.name
        for source in app.event_sources
        if not isinstance(source, (SNSEventConfig, ScheduledEventConfig, CloudWatchEventConfig))
    ]
    if unhandled:
        # Each kind of event source needs its own dead-letter wiring (SQS sources redrive
        # from their queue, streams have on-failure destinations): add it here first.
        raise PackagingError(f"no dead-letter handling for the event sources of {unhandled}")
    names = [function.name for function in app.pure_lambda_functions]
    names += [source.name for source in app.event_sources]
    for name in names:
        sns_events = tuple(
            (to_cfn_resource_name(f"{source.name}-sns-subscription"), str(source.topic))
            for source in app.event_sources
            if isinstance(source, SNSEventConfig) and source.name == name
        )
        schedule_events = tuple(
            to_cfn_resource_name(f"{source.name}-event")
            for source in app.event_sources
            if isinstance(source, (ScheduledEventConfig, CloudWatchEventConfig))
            and source.name == name
        )
        functions.append(
            Function(
                logical_id=to_cfn_resource_name(name),
                role_id=to_cfn_resource_name(f"{name}_role"),
                name=f"{prefix}-{name}",
                sns_events=sns_events,
                schedule_events=schedule_events,
                sns_filter=json.dumps(filters[name]) if name in filters else None,
            )
        )
    return functions
