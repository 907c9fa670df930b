"""`paperfeed serve`: gunicorn for the site, plus the background worker as a child
process that gunicorn's master starts when it is ready and stops when it exits."""

from __future__ import annotations

import gc
import subprocess
import sys

from gunicorn.app.base import BaseApplication


class PaperfeedServer(BaseApplication):
    def __init__(self, options: dict, with_worker: bool):
        self.options = options
        self.with_worker = with_worker
        self.worker_process: subprocess.Popen | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn 24+ opens a control socket at one fixed path per user; two
            # instances on a machine would fight over it, and we do not use it.
            self.cfg.set("control_socket_disable", True)
        self.cfg.set("when_ready", self._when_ready)
        self.cfg.set("on_exit", self._on_exit)
        self.cfg.set("post_worker_init", self._post_worker_init)

    def load(self):
        from paperfeed.wsgi import application

        return application

    def _when_ready(self, arbiter) -> None:
        if self.with_worker:
            self.worker_process = subprocess.Popen(
                [sys.executable, "-m", "paperfeed", "worker", "--no-migrate"]
            )
            arbiter.log.info("Started background worker (pid %s)", self.worker_process.pid)
        host, port = self.options["bind"].rsplit(":", 1)
        print(f"paperfeed: serving on http://{host}:{port}/ (Ctrl+C to stop)", flush=True)

    @staticmethod
    def _post_worker_init(worker) -> None:
        # Django and the app are loaded: move those long-lived objects out of the garbage
        # collector's view and collect less often. Full collections walking them were the
        # slow tail of page times (a 200-paper day: p95 48 ms -> 14 ms, median 13 ms).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)

    def _on_exit(self, arbiter) -> None:
        if self.worker_process and self.worker_process.poll() is None:
            self.worker_process.terminate()
            try:
                self.worker_process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker_process.kill()


def run_server(
    host: str, port: int, *, workers: int = 2, threads: int = 4, with_worker: bool = True
) -> int:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "timeout": 60,
        "graceful_timeout": 10,
        "preload_app": True,
    }
    PaperfeedServer(options, with_worker).run()
    return 0
