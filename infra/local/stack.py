"""The embedded local stack: moto with ASL execution, the app's Lambda functions dispatched
in-process, the Chalice app served over HTTP, in one process with no account and no Docker."""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from chalicelib.adapters.payments import SandboxPaymentGateway
from chalicelib.config import LOCAL_DEMO_VARIABLE
from infra.local import adaptations, lambda_adaptations, speedups
from infra.local.collector import pace
from infra.local.outbox import EmlOutbox
from infra.local.provision import ROOT, provision, subscribe_handlers, verify_sender

log = logging.getLogger("orquesta.local")

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
STAGE = "local"
SENDER_DOMAIN = "orquesta.example"
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
    "core": {"reset_boto3_session": True},
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalStack:
    """Start with ``start()``, stop with ``stop()`` (or use it as a context manager)."""

    port: int = 8000
    host: str = "127.0.0.1"
    moto_port: int | None = None
    outbox: Path = ROOT / "var" / "outbox"
    demo_data: bool = True
    env: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    lambdas: lambda_adaptations.InProcessLambdas | None = None
    app_module: ModuleType | None = None
    _mock: Any = None
    _http: Any = None
    _http_thread: threading.Thread | None = None
    _moto_server: Any = None
    scheduler: Any = None

    @property
    def url(self) -> str:
        """Where the API answers."""
        return f"http://localhost:{self.port}"

    def start(self) -> LocalStack:
        """Provision everything and start serving; returns self."""
        from moto import mock_aws

        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "POWERTOOLS_SERVICE_NAME": "orquesta",
            }
        )
        if self.moto_port is not None:
            # The interpreter calls back to moto's server port when it is not in-process.
            os.environ["MOTO_PORT"] = str(self.moto_port)
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        pace.slow_down()
        adaptations.apply_all(self.outbox)
        prefix = f"orquesta-{STAGE}-"
        self.settings = provision(STAGE, REGION, ACCOUNT_ID, prefix)
        os.environ.update(self.settings)
        os.environ.update(
            {
                "ORQUESTA_ACCOUNT_ID": ACCOUNT_ID,
                "ORQUESTA_PUBLIC_URL": self.url,
                "ORQUESTA_SENDER_EMAIL": f"pedidos@{SENDER_DOMAIN}",
                # The local stack, and only it, runs on the demo keys and secrets.
                LOCAL_DEMO_VARIABLE: "1",
                **self.env,
            }
        )
        from chalicelib import composition

        composition.reset()
        import app as app_module

        self.app_module = app_module
        lambda_adaptations.import_lazy_modules_up_front()
        speedups.tracer_off(app_module)  # the app may have been imported before the stack
        chalice_app = app_module.app
        self.lambdas = lambda_adaptations.InProcessLambdas(dict(chalice_app.handler_map), prefix)
        lambda_adaptations.dispatch_lambdas_in_process(self.lambdas)
        # Executions that end unfinished are told to the app, as EventBridge does.
        adaptations.tell_execution_endings(chalice_app, self.lambdas)
        # Every SNS handler of the app, with its subscription's filter (app.SNS_FILTERS).
        for handler in sns_handlers(chalice_app):
            subscribe_handlers(
                self.settings["ORQUESTA_ORDER_EVENTS_TOPIC"],
                [handler],
                REGION,
                ACCOUNT_ID,
                prefix,
                app_module.SNS_FILTERS.get(handler),
            )
        verify_sender(SENDER_DOMAIN, REGION)
        if self.demo_data:
            from infra.local.demo_data import load_demo_data

            load_demo_data(composition.deps().store)
        # The app's Outbox port: read back the emails write_outbox saved (none on AWS).
        composition.deps().outbox = EmlOutbox(self.outbox)
        # The sandbox gateway's ledger is readable here (GET /sandbox/payments/{id}).
        payments = composition.deps().payments
        if isinstance(payments, SandboxPaymentGateway):
            composition.deps().sandbox_ledger = payments
        self._serve(chalice_app)
        from infra.local.scheduler import Scheduler

        self.scheduler = Scheduler(chalice_app, composition.deps().settings.time_scale)
        self.scheduler.start()
        return self

    def _serve(self, chalice_app: Any) -> None:
        from chalice.config import Config
        from chalice.local import create_local_server

        from infra.local.gateway import ProblemRequestHandler

        config = Config.create(chalice_app=chalice_app, lambda_timeout=30, app_name="orquesta")
        self._http = create_local_server(chalice_app, config, self.host, self.port)
        # Each request handled on ProblemGateway: unknown paths and methods as problem details.
        self._http.server.RequestHandlerClass = functools.partial(
            ProblemRequestHandler, app_object=chalice_app, config=config
        )
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, name="chalice-http", daemon=True
        )
        self._http_thread.start()
        if self.moto_port is not None:
            from moto.server import ThreadedMotoServer

            self._moto_server = ThreadedMotoServer(ip_address=self.host, port=self.moto_port)
            self._moto_server.start()
            import requests

            requests.post(
                f"http://{self.host}:{self.moto_port}/moto-api/config", json=MOTO_CONFIG, timeout=5
            )

    def stop(self) -> None:
        """Stop executions, deliveries and servers; leave the process as it was."""
        if self.scheduler is not None:
            self.scheduler.stop()
        # Each execution stopped while parked on a wait makes moto's interpreter log an
        # ERROR: expected at shutdown, and nothing a person needs to read.
        interpreter_log = logging.getLogger("moto.stepfunctions")
        level = interpreter_log.level
        interpreter_log.setLevel(logging.CRITICAL)
        try:
            adaptations.stop_running_executions()
        finally:
            interpreter_log.setLevel(level)
            if self.lambdas is not None:
                self.lambdas.drain(timeout=10, everything=True)
            if self._http is not None:
                self._http.shutdown()
                self._http.server.server_close()
            if self._moto_server is not None:
                self._moto_server.stop()
            if self._mock is not None:
                self._mock.stop()
                pace.restore()
            from chalicelib import composition

            composition.reset()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sns_handlers(chalice_app: Any) -> list[str]:
    """The names of the app's SNS handlers (every one subscribes to the order events)."""
    from chalice.app import SNSEventConfig

    return [s.name for s in chalice_app.event_sources if isinstance(s, SNSEventConfig)]
