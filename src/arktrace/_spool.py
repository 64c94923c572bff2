"""The disk spool: span batches a backend does not take are kept on disk and sent when it answers again.

Opt-in (``ARKTRACE_SPOOL_DIR`` / ``init(spool_dir=…)``). Each backend gets a folder under the spool
directory. A batch the backend did not take after the exporter's own retries (no answer, 408, 429, 5xx)
is written there as the exact OTLP/HTTP protobuf request body, one file per batch, under a temporary name
then renamed, so a reader never sees half a file. While a backend is known to be down, batches go straight
to disk without a network attempt, so the export queue keeps draining and nothing waits on a dead socket.

A sender thread per backend (never the application's thread) sends the files oldest first, deleting each
after a 2xx: when the process starts, after the next successful live export, every :data:`RESCAN`
seconds while the backend is up (another process may have left files), and while it is down as a probe
whose interval doubles up to :data:`PROBE_MAX` seconds. A file is claimed by renaming it
to a name that carries the claiming pid, so among processes sharing a folder (pre-fork workers and their
parent) only one sends it; a claim whose process is gone (or that is older than :data:`STALE_CLAIM_AGE`)
is taken back by the next scan. A 4xx other than 408/429 sets the file aside (``….rejected-<status>``),
logged once; a file whose content does not match the checksum in its name is set aside as ``….corrupt``
with one warning. The folder is bounded: the oldest files go first, and the spans they held are counted
and logged once per outage.

File names sort by age and carry what ``arktrace check`` needs without reading the file:
``<time_ns>-<pid>-<seq>-<span count>-<crc32>.otlp``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
import time
import weakref
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from arktrace._errors import ConfigError

__all__ = ["DEFAULT_MAX_MB", "Spool", "SpoolSettings", "SpoolingSpanExporter", "prepare", "read_settings"]

logger = logging.getLogger("arktrace")

DEFAULT_MAX_MB = 100.0
PROBE_FIRST = 1.0
"""Seconds after a failure before the sender first tries the backend again; doubled per failure."""
PROBE_MAX = 30.0
RESCAN = 5.0
"""While the backend is up, the folder is looked at again this often (another process may fill it)."""
STALE_CLAIM_AGE = 600.0
CLOSE_TIMEOUT = 5.0

_NAME = re.compile(r"^(\d{20})-(\d+)-(\d+)-(\d+)-([0-9a-f]{8})\.otlp$")
_CLAIMED = re.compile(r"^(.+\.otlp)\.sending-(\d+)$")
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)$")
_SET_ASIDE = re.compile(r"^(.+\.otlp)\.(?:rejected-\d+|corrupt)$")
_PROTOBUF = "application/x-protobuf"


# ------------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class SpoolSettings:
    directory: str
    max_bytes: int


def read_settings(env: Mapping[str, str], directory: Any = None, max_mb: Any = None) -> SpoolSettings | None:
    """The spool settings from the keywords over the environment; None when the spool is off.

    Only parses: :func:`prepare` checks that the directory can be written.
    """
    if max_mb is not None:
        if isinstance(max_mb, bool) or not isinstance(max_mb, (int, float)):
            raise ConfigError("spool_max_mb", repr(max_mb), "a number of megabytes > 0")
        size = float(max_mb)
        if not (math.isfinite(size) and size > 0):
            raise ConfigError("spool_max_mb", repr(max_mb), "a number of megabytes > 0")
    else:
        raw = env.get("ARKTRACE_SPOOL_MAX_MB", "").strip()
        size = DEFAULT_MAX_MB
        if raw:
            try:
                size = float(raw)
            except ValueError:
                size = math.nan
            if not (math.isfinite(size) and size > 0):
                raise ConfigError(
                    "ARKTRACE_SPOOL_MAX_MB", repr(raw), "a number of megabytes > 0 (such as 100 or 0.5)"
                )
    if directory is not None:
        if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
            raise ConfigError("spool_dir", repr(directory), "a directory path (str or os.PathLike)")
        path = os.fspath(directory)
    else:
        path = env.get("ARKTRACE_SPOOL_DIR", "").strip()
        if not path:
            return None
    if isinstance(path, bytes):
        raise ConfigError("spool_dir", repr(directory), "a directory path as text")
    return SpoolSettings(os.path.abspath(os.path.expanduser(path)), int(size * 1024 * 1024))


def prepare(settings: SpoolSettings, from_keyword: bool) -> None:
    """Create the spool directory if needed and prove it can be written; ConfigError naming it if not."""
    name = "spool_dir" if from_keyword else "ARKTRACE_SPOOL_DIR"
    probe = os.path.join(settings.directory, f".arktrace-probe-{os.getpid()}")
    try:
        os.makedirs(settings.directory, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"arktrace")
        os.unlink(probe)
    except OSError as error:
        raise ConfigError(
            name,
            repr(settings.directory),
            f"a directory arktrace can create and write to ({error.strerror or error})",
        ) from None


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Waiting:
    """What one backend's folder holds, for ``arktrace check``."""

    spans: int
    files: int
    set_aside: int
    folder: str


def waiting(settings: SpoolSettings, backend: str) -> Waiting:
    """Count the spans waiting in ``backend``'s folder from the file names alone (nothing is opened)."""
    folder = os.path.join(settings.directory, backend)
    spans = files = aside = 0
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for name in names:
        claimed = _CLAIMED.match(name)
        match = _NAME.match(claimed.group(1) if claimed else name)
        if match:
            spans += int(match.group(4))
            files += 1
        elif _SET_ASIDE.match(name):
            aside += 1
    return Waiting(spans, files, aside, folder)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # alive as another user, or not knowable here: leave it to the age rule
    return True


@dataclass(frozen=True)
class _File:
    name: str  # the batch's own name, which sorts by age
    size: int
    spans: int
    pending: bool  # False: set aside or claimed by a sender
    on_disk: str = ""  # the name it has now, when claimed or set aside


# ------------------------------------------------------------------------------------------ the spool


class Spool:
    """One backend's folder: writing batches into it, and the thread that sends them."""

    def __init__(
        self,
        folder: str,
        max_bytes: int,
        backend: str,
        endpoint: str,
        headers: Mapping[str, str],
        timeout: float,
        session_factory: Callable[[], Any],
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.backend = backend
        self._endpoint = endpoint
        self._headers = {k: v for k, v in headers.items() if v is not None}
        self._headers["content-type"] = _PROTOBUF
        self._headers.setdefault("user-agent", "arktrace-spool")  # tells the backend's logs what resent it
        self._timeout = timeout
        self._session_factory = session_factory
        self.down = False  # a send failed: batches go to disk until a probe gets a 2xx
        self._warned: set[str] = set()
        self._closing = False
        self._reinit()
        if hasattr(os, "register_at_fork"):
            this = weakref.ref(self)

            def after_in_child() -> None:
                spool = this()
                if spool is not None:
                    spool._reinit()

            os.register_at_fork(after_in_child=after_in_child)

    def _reinit(self) -> None:
        # Also the after-fork hook: the child has none of the parent's threads, and a lock the parent's
        # sender held at fork time would stay locked forever in the child.
        self._pid = os.getpid()
        self.sent = 0  # spans delivered from disk by this process
        self.dropped = 0  # spans dropped to keep the folder within its bound, since the last report
        self._wake = threading.Event()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._session: Any = None
        self._seq = 0
        self._probe_delay = PROBE_FIRST
        self._files_waiting = True  # unknown until the folder is looked at
        self._next_scan = 0.0
        self._deadline: float | None = None

    # -- the exporter's worker thread --------------------------------------------------------------

    def start(self) -> None:
        """Start the sender, which first sends whatever an earlier process left behind."""
        self._ensure_sender()
        self._wake.set()

    def answered(self) -> None:
        """A live export succeeded: send what waits, if anything may."""
        if self._files_waiting or time.monotonic() >= self._next_scan:
            self._ensure_sender()
            self._wake.set()

    def went_down(self) -> None:
        if not self.down:
            self.down = True
            self._probe_delay = PROBE_FIRST
            self._ensure_sender()
            self._wake.set()  # the sender starts its probe delay now

    def keep(self, payload: bytes, spans: int) -> bool:
        """Write one batch into the folder, making room first; False when it could not be kept."""
        size = len(payload)
        temporary = None
        try:
            with self._write_lock:
                if size > self.max_bytes:
                    self._dropped(spans)
                    return False
                self._make_room(size)
                self._seq += 1
                crc = zlib.crc32(payload) & 0xFFFFFFFF
                name = f"{time.time_ns():020d}-{self._pid}-{self._seq}-{spans}-{crc:08x}.otlp"
                temporary = os.path.join(self.folder, f".{name}.tmp-{self._pid}")
                os.makedirs(self.folder, exist_ok=True)
                with open(temporary, "wb") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, os.path.join(self.folder, name))
        except OSError as error:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            self._warn_once(
                "write",
                "arktrace: cannot write to the spool folder %s (%s); spans that cannot be sent to %s are "
                "dropped meanwhile (logged once)",
                self.folder,
                error,
                self.backend,
            )
            return False
        self._files_waiting = True
        self._ensure_sender()
        return True

    def _make_room(self, size: int) -> None:
        files = self._scan()
        used = sum(f.size for f in files)
        for old in files:  # oldest first
            if used + size <= self.max_bytes:
                return
            # A file being sent goes too when it is the oldest: its sender then either delivers the copy it
            # read (and its delete finds nothing) or, failing, finds nothing to put back.
            try:
                os.unlink(os.path.join(self.folder, old.on_disk or old.name))
            except OSError:
                continue  # claimed, put back or removed by another process meanwhile
            used -= old.size
            self._dropped(old.spans)

    def _dropped(self, spans: int) -> None:
        self.dropped += spans
        self._warn_once(
            "full",
            "arktrace: the spool folder %s is full (%.1f MB); the oldest spooled spans for %s are dropped "
            "to make room. The count is logged when %s answers again or at exit",
            self.folder,
            self.max_bytes / 1024 / 1024,
            self.backend,
            self.backend,
        )

    def report_dropped(self) -> None:
        if self.dropped:
            count, self.dropped = self.dropped, 0
            self._warned.discard("full")
            logger.warning(
                "arktrace: %d spans for %s were dropped from the spool folder %s because it was full "
                "(limit %.1f MB, ARKTRACE_SPOOL_MAX_MB)",
                count,
                self.backend,
                self.folder,
                self.max_bytes / 1024 / 1024,
            )

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message, *args)

    # -- the folder ----------------------------------------------------------------------------------

    def _scan(self) -> list[_File]:
        """Every file of the folder, oldest first; claims and temporary files of dead processes are undone."""
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return []
        files = []
        now = time.time()
        for entry in entries:
            name = entry.name
            try:
                stat = entry.stat()
            except OSError:
                continue
            match = _NAME.match(name)
            if match:
                files.append(_File(name, stat.st_size, int(match.group(4)), True))
                continue
            claimed = _CLAIMED.match(name)
            if claimed:
                pid = int(claimed.group(2))
                stale = now - stat.st_mtime > STALE_CLAIM_AGE
                if pid != self._pid and (stale or not _pid_alive(pid)):
                    with contextlib.suppress(OSError):  # another scanner may take it back first
                        os.rename(entry.path, os.path.join(self.folder, claimed.group(1)))
                        match = _NAME.match(claimed.group(1))
                        spans = int(match.group(4)) if match else 0
                        files.append(_File(claimed.group(1), stat.st_size, spans, match is not None))
                        continue
                match = _NAME.match(claimed.group(1))
                spans = int(match.group(4)) if match else 0
                files.append(_File(claimed.group(1), stat.st_size, spans, False, name))
                continue
            temporary = _TEMPORARY.match(name)
            if temporary:
                pid = int(temporary.group(1))
                if pid != self._pid and not _pid_alive(pid):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                continue
            if _SET_ASIDE.match(name):
                files.append(_File(name, stat.st_size, 0, False, name))
            elif name.endswith(".otlp") and not name.startswith("."):
                files.append(_File(name, stat.st_size, 0, True))  # not ours to parse: checked when sent
        files.sort(key=lambda f: f.name)
        return files

    # -- the sender thread ---------------------------------------------------------------------------

    def _ensure_sender(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        if self._pid != os.getpid():
            self._reinit()
        thread = threading.Thread(target=self._run, name=f"arktrace-spool-{self.backend}", daemon=True)
        self._thread = thread
        thread.start()

    def _run(self) -> None:
        while True:
            was_down = self.down
            # Up, the folder is looked at every RESCAN seconds too: another process that exits while the
            # backend fails leaves files that only a process still running can send.
            woken = self._wake.wait(self._probe_delay if was_down else RESCAN)
            self._wake.clear()
            if self._closing:
                if not self.down:
                    self._drain()
                return
            if woken and self.down and not was_down:
                continue  # it just went down: wait the probe delay before trying again
            try:
                self._drain()
            except Exception:  # never let the thread die: the next wake tries again
                logger.debug("arktrace: spool sender failed", exc_info=True)

    def _drain(self) -> None:
        """Send the waiting files oldest first until none is left or the backend fails."""
        while True:
            pending = [f for f in self._scan() if f.pending]
            if not pending:
                self._files_waiting = False
                self._next_scan = time.monotonic() + RESCAN
                if self.down:
                    self.down = False  # nothing left to probe with: the next live export tries
                self.report_dropped()
                return
            for file in pending:
                if self._deadline is not None and time.monotonic() > self._deadline:
                    return
                outcome = self._send(file)
                if outcome == "retry":
                    self._probe_delay = min(self._probe_delay * 2, PROBE_MAX) if self.down else PROBE_FIRST
                    self.down = True
                    self._files_waiting = True
                    return
                if outcome == "sent" and self.down:
                    self.down = False
                    self._probe_delay = PROBE_FIRST

    def _send(self, file: _File) -> str:
        """Claim, send and settle one file: "sent", "retry", "aside" or "gone" (another process has it)."""
        path = os.path.join(self.folder, file.name)
        claimed = f"{path}.sending-{self._pid}"
        try:
            os.rename(path, claimed)
            os.utime(claimed)  # the claim's age, for the stale-claim rule
            with open(claimed, "rb") as handle:
                payload = handle.read()
        except OSError:
            return "gone"
        match = _NAME.match(file.name)
        if match is None or zlib.crc32(payload) & 0xFFFFFFFF != int(match.group(5), 16):
            self._set_aside(claimed, f"{path}.corrupt")
            self._warn_once(
                "corrupt",
                "arktrace: skipped a damaged file in the spool folder %s (%s: truncated or not written by "
                "arktrace); it is kept there as .corrupt and not sent. Logged once",
                self.folder,
                file.name,
            )
            return "aside"
        try:
            if self._session is None:
                self._session = self._session_factory()
            response = self._session.post(
                self._endpoint,
                data=payload,
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
            status = response.status_code
            response.close()
        except Exception:  # no answer: refused, reset, timeout
            status = None
        if status is not None and 200 <= status < 300:
            with contextlib.suppress(OSError):
                os.unlink(claimed)
            self.sent += file.spans
            return "sent"
        if status is None or status in (408, 429) or status >= 500:
            with contextlib.suppress(OSError):
                os.rename(claimed, path)
            return "retry"
        self._set_aside(claimed, f"{path}.rejected-{status}")
        self._warn_once(
            "rejected",
            "arktrace: %s rejected a spooled batch with HTTP %d; such files are kept in %s as "
            ".rejected-<status> and not sent again (logged once)",
            self.backend,
            status,
            self.folder,
        )
        return "aside"

    @staticmethod
    def _set_aside(claimed: str, target: str) -> None:
        with contextlib.suppress(OSError):
            os.rename(claimed, target)

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Let the sender finish sending within ``timeout`` when the backend is up; then stop it."""
        self._deadline = time.monotonic() + timeout
        self._closing = True
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            self._wake.set()
            thread.join(timeout)
        self.report_dropped()


# ------------------------------------------------------------------------------------------ exporter


def _worth_keeping(status: int | None) -> bool:
    """Whether a failed export is one the backend may take later: no answer, 408, 429 or 5xx."""
    return status is None or status in (408, 429) or status >= 500


class SpoolingSpanExporter(SpanExporter):
    """Wraps a backend's OTLP/HTTP span exporter: what it could not deliver goes to the spool.

    The HTTP status of the exporter's last attempt is read from a response hook on its ``requests``
    session (the SDK's result says only success or failure). Returns FAILURE for a batch that was not
    delivered, kept or not; ``on_kept`` is told how many of those spans are safe on disk.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        spool: Spool,
        session: Any,
        on_kept: Callable[[int], None] | None = None,
    ) -> None:
        self.exporter = exporter
        self.spool = spool
        self._on_kept = on_kept
        self._seen = threading.local()
        session.hooks.setdefault("response", []).append(self._observe)

    def _observe(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self._seen.status = response.status_code
        return response

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        spool = self.spool
        if not spool.down:
            self._seen.status = None
            result = self.exporter.export(spans)
            if result is SpanExportResult.SUCCESS:
                spool.answered()
                return result
            if not _worth_keeping(getattr(self._seen, "status", None)):
                return result
            spool.went_down()
        try:
            from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

            payload = encode_spans(spans).SerializePartialToString()
        except Exception:
            logger.debug("arktrace: a batch could not be encoded for the spool", exc_info=True)
            return SpanExportResult.FAILURE
        if spool.keep(payload, len(spans)) and self._on_kept is not None:
            self._on_kept(len(spans))
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        try:
            self.exporter.shutdown()
        finally:
            self.spool.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
