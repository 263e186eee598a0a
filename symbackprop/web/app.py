r"""The Starlette application behind ``symbackprop serve``: two pages and a small JSON API.

Pages: ``GET /`` (students: pick a network and a derivative, type the derivation, see the verdict)
and ``GET /instructor`` (the full derivation, worksheets, grading a class CSV).  The API
(docs/web.md) is what the pages call:

====================================  ==========================================================
``GET /api/specs``                    the specs: the bundled lecture examples, ``--specs DIR``, uploads
``GET /api/specs/{name}``             drawing (SVG), loss, reduction, targets with LaTeX names
``POST /api/specs``                   upload a spec (TOML text) -> its generated name
``POST /api/verify``                  ``{spec, wrt, answer}`` -> verdict, feedback, first wrong step
``POST /api/hint``                    ``{spec, wrt, level}`` -> paths of influence, local derivatives
``GET /api/solution?spec=&wrt=``      the worked derivation (LaTeX)
``GET /api/document?spec=``           the full derivation as HTML with LaTeX for KaTeX
``POST /api/worksheet``               ``{spec, variants, seed, pdf}`` -> a zip of .tex (and .pdf)
``POST /api/grade``                   a class CSV (multipart ``file`` or JSON ``csv``) -> a job id
``GET /api/grade/{job}``              progress; when done the summary and the results
``GET /api/grade/{job}/results.csv``  the graded CSV (``results.json``: the JSON report)
====================================  ==========================================================

Safe by default: spec names come from a fixed list (never a path from the request); every
computation runs in a worker process with a hard time limit (:mod:`symbackprop.web.workers`);
bodies are bounded; the Host header must name this server; on an address other than loopback
every request needs the token (``?token=`` once, then a SameSite cookie, or the
``X-Symbackprop-Token`` header); every error is one line of JSON ``{"error": ...}``.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import SymbackpropError
from .workers import JobError, JobTimeout, PoolBusy, WorkerPool

MAX_JSON_BYTES = 64 * 1024
MAX_SPEC_BYTES = 64 * 1024
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_ANSWER_CHARS = 2000          # the grammar's own bound (symbackprop.grammar.parser.MAX_LENGTH)
MAX_WRT_CHARS = 100
MAX_GRADE_ROWS = 2000
MAX_UPLOADS = 32
MAX_JOBS = 16
GRADE_CHUNK = 8
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TOKEN_COOKIE = "symbackprop_token"
TOKEN_HEADER = "x-symbackprop-token"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; media-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


def _static_dir() -> str:
    return str(resources.files("symbackprop.web") / "static")


def bundled_specs_dir() -> str | None:
    """The lecture examples shipped with the package (``symbackprop/web/examples``), else the
    source checkout's ``derivations/``."""
    here = resources.files("symbackprop.web") / "examples"
    if here.is_dir():
        return str(here)
    repo = os.path.join(os.path.dirname(__file__), "..", "..", "derivations")
    return os.path.normpath(repo) if os.path.isdir(repo) else None


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# ---------------------------------------------------------------------------------------------
# the specs


class Catalog:
    """The specs a request may name: ``{name: path}``, built by listing fixed folders (never from a request)."""

    def __init__(self, specs_dir: str | None = None, bundled: bool = True):
        self.dirs = []
        if specs_dir is not None:
            if not os.path.isdir(specs_dir):
                raise SymbackpropError(f"--specs {specs_dir}: not a folder")
            self.dirs.append(("yours", os.path.realpath(specs_dir)))
        if bundled:
            b = bundled_specs_dir()
            if b is not None:
                self.dirs.append(("lecture", os.path.realpath(b)))
        self.upload_dir = tempfile.mkdtemp(prefix="symbackprop-uploads-")
        self.uploads: OrderedDict = OrderedDict()  # name -> path
        self._lock = threading.Lock()
        self._entries: dict = {}
        self._titles: dict = {}

    def scan(self) -> dict:
        entries = {}
        for origin, folder in self.dirs:
            try:
                files = sorted(os.listdir(folder))
            except OSError:
                continue
            for fn in files:
                if not fn.endswith(".toml"):
                    continue
                name = fn[:-5]
                if not NAME.match(name) or name in entries:
                    continue
                path = os.path.join(folder, fn)
                if os.path.isfile(path):
                    entries[name] = (origin, path)
        with self._lock:
            for name, path in self.uploads.items():
                entries[name] = ("upload", path)
            self._entries = entries
        return entries

    def listing(self) -> list:
        out = []
        for name, (origin, path) in self.scan().items():
            out.append({"name": name, "title": self._title(path) or name, "origin": origin})
        return out

    def _title(self, path: str) -> str | None:
        try:
            mtime = os.path.getmtime(path)
        except OSError:
            return None
        key = (path, mtime)
        if key not in self._titles:
            title = None
            try:
                with open(path, "rb") as fh:
                    head = fh.read(4096).decode("utf-8", "replace")
                m = re.search(r'^title\s*=\s*"([^"\n]{1,120})"', head, re.M)
                title = m.group(1) if m else None
            except OSError:
                pass
            self._titles[key] = title
        return self._titles[key]

    def path(self, name) -> str:
        if not isinstance(name, str) or not NAME.match(name):
            raise ApiError(404, "spec: unknown name; choose one from GET /api/specs "
                                "(letters, digits, _ . - only; never a path)")
        entry = self._entries.get(name) or self.scan().get(name)
        if entry is None:
            raise ApiError(404, f"spec: no spec called {name!r}; choose one from GET /api/specs")
        return entry[1]

    def add_upload(self, text: str) -> str:
        name = "upload-" + secrets.token_hex(5)
        path = os.path.join(self.upload_dir, name + ".toml")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        with self._lock:
            self.uploads[name] = path
            while len(self.uploads) > MAX_UPLOADS:
                _, old = self.uploads.popitem(last=False)
                try:
                    os.remove(old)
                except OSError:
                    pass
        self.scan()
        return name

    def drop_upload(self, name: str) -> None:
        with self._lock:
            path = self.uploads.pop(name, None)
        if path:
            try:
                os.remove(path)
            except OSError:
                pass
        self.scan()

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.upload_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# middleware: Host header, token, body size, security headers


def _is_loopback(host: str) -> bool:
    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


class Guard:
    """ASGI middleware: checks the Host header, the token and the body size; adds security headers."""

    def __init__(self, app, *, allowed_hosts, token: str | None, max_body: int):
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}
        self.token = token
        self.max_body = max_body

    async def _send_error(self, send, status, message, extra_headers=()):
        body = json.dumps({"error": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"), *extra_headers]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host.lower() not in self.allowed and hostname.lower() not in self.allowed:
            return await self._send_error(send, 421 if host else 400,
                                          f"Host header {host[:80]!r} is not this server's "
                                          f"(allowed: {', '.join(sorted(self.allowed))})")
        set_cookie = None
        if self.token is not None:
            given = headers.get(TOKEN_HEADER)
            if given is None:
                for part in headers.get("cookie", "").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == TOKEN_COOKIE:
                        given = v
            query = scope.get("query_string", b"").decode("latin-1")
            m = re.search(r"(?:^|&)token=([A-Za-z0-9_\-]{1,200})", query)
            if m and given is None:
                given = m.group(1)
                set_cookie = given
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                return await self._send_error(send, 401, "this server needs its token: open the address it "
                                                         "printed at start-up (…/?token=...)")
        length = headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return await self._send_error(send, 400, "bad Content-Length header")
            if n > self.max_body:
                return await self._send_error(send, 413, f"the request body is {n} bytes; at most "
                                                         f"{self.max_body} are allowed")
        received = 0
        limit = self.max_body

        async def bounded_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ApiError(413, f"the request body is larger than {limit} bytes")
            return message

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                hs = list(message.get("headers", []))
                hs += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                       (b"x-frame-options", b"DENY"), (b"content-security-policy", CSP.encode())]
                if set_cookie:
                    hs.append((b"set-cookie", f"{TOKEN_COOKIE}={set_cookie}; Path=/; HttpOnly; "
                                              f"SameSite=Strict".encode()))
                message = {**message, "headers": hs}
            await send(message)

        try:
            await self.app(scope, bounded_receive, send_with_headers)
        except ApiError as exc:  # the body grew past the limit while streaming
            await self._send_error(send, exc.status, exc.message)


# ---------------------------------------------------------------------------------------------
# grading jobs


class GradeJob:
    def __init__(self, spec_name: str, rows: list):
        self.id = secrets.token_hex(8)
        self.spec = spec_name
        self.rows = rows
        self.total = len(rows)
        self.done = 0
        self.results: list = []
        self.state = "running"
        self.error = None
        self.started = time.time()
        self.finished = None

    def status(self) -> dict:
        out = {"job": self.id, "state": self.state, "done": self.done, "total": self.total, "spec": self.spec}
        if self.error:
            out["error"] = self.error
        if self.state == "done":
            from ..verify.grading import summarize

            out["summary"] = summarize(self.results)
            out["common_mistakes"] = sorted(out["summary"]["mistakes"].items(), key=lambda kv: -kv[1])[:5]
        return out

    def report(self) -> dict:
        from ..verify.grading import summarize

        return {"results": self.results, "summary": summarize(self.results)}


# ---------------------------------------------------------------------------------------------
# the app


class Settings:
    def __init__(self, *, specs_dir=None, host="127.0.0.1", port=8000, token=None, workers=None,
                 timeout=10.0, worksheet_timeout=120.0, bundled=True, extra_hosts=()):
        self.specs_dir = specs_dir
        self.host = host
        self.port = port
        self.token = token
        self.workers = workers
        self.timeout = timeout
        self.worksheet_timeout = worksheet_timeout
        self.bundled = bundled
        self.extra_hosts = tuple(extra_hosts)


def allowed_hosts(host: str, port: int, extra=()) -> set:
    names = {"127.0.0.1", "localhost", "[::1]"}
    if host not in ("0.0.0.0", "::", ""):
        names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    names.update(extra)
    out = set()
    for n in names:
        out.add(n)
        out.add(f"{n}:{port}")
    return out


def create_app(settings: Settings | None = None, *, pool: WorkerPool | None = None) -> Starlette:
    """The application (``uvicorn.run(create_app(Settings(...)))``); the workers start with it."""
    s = settings or Settings()
    if not _is_loopback(s.host) and not s.token:
        raise SymbackpropError(f"--host {s.host}: other addresses than 127.0.0.1 need a token (--token)")
    catalog = Catalog(s.specs_dir, bundled=s.bundled)
    catalog.scan()
    pool = pool or WorkerPool(s.workers)
    jobs: OrderedDict = OrderedDict()
    static = _static_dir()

    async def call(kind, payload, timeout=None):
        try:
            return await run_in_threadpool(pool.call, kind, payload, timeout or s.timeout)
        except JobTimeout as exc:
            raise ApiError(503, str(exc)) from None
        except PoolBusy as exc:
            raise ApiError(503, str(exc)) from None
        except JobError as exc:
            raise ApiError(422, str(exc)) from None

    async def body_json(request: Request) -> dict:
        raw = await request.body()
        if len(raw) > MAX_JSON_BYTES:
            raise ApiError(413, f"the request body is {len(raw)} bytes; at most {MAX_JSON_BYTES} are allowed")
        try:
            data = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, f"the body is not JSON ({str(exc).splitlines()[0][:80]})") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object")
        return data

    def text_field(data: dict, key: str, limit: int, required=True) -> str | None:
        v = data.get(key)
        if v is None or v == "":
            if required:
                raise ApiError(400, f"{key}: missing")
            return None
        if not isinstance(v, str):
            raise ApiError(400, f"{key}: must be a string")
        if len(v) > limit:
            raise ApiError(413, f"{key}: {len(v)} characters; at most {limit} are allowed")
        if "\x00" in v:
            raise ApiError(400, f"{key}: contains a NUL character")
        return v

    def page(name):
        async def handler(request):
            return FileResponse(os.path.join(static, name), media_type="text/html; charset=utf-8",
                                headers={"cache-control": "no-store"})
        return handler

    async def specs(request):
        return JSONResponse({"specs": catalog.listing()})

    async def spec_info(request):
        path = catalog.path(request.path_params["name"])
        out = await call("info", {"path": path})
        out["name"] = request.path_params["name"]
        return JSONResponse(out)

    async def upload_spec(request):
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            async with request.form(max_files=1, max_fields=4, max_part_size=MAX_SPEC_BYTES) as form:
                f = form.get("file")
                raw = (await f.read(MAX_SPEC_BYTES + 1)) if hasattr(f, "read") else (f or "").encode()
        else:
            raw = await request.body()
        if len(raw) > MAX_SPEC_BYTES:
            raise ApiError(413, f"the spec is larger than {MAX_SPEC_BYTES} bytes")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"the spec is not UTF-8 text (byte {exc.start})") from None
        name = catalog.add_upload(text)
        try:
            info = await call("info", {"path": catalog.path(name)})
        except ApiError as exc:
            catalog.drop_upload(name)
            msg = exc.message.replace(catalog.upload_dir + os.sep, "")
            raise ApiError(exc.status, msg) from None
        return JSONResponse({"name": name, "title": info["title"]})

    async def verify(request):
        data = await body_json(request)
        path = catalog.path(data.get("spec"))
        answer = text_field(data, "answer", MAX_ANSWER_CHARS)
        wrt = text_field(data, "wrt", MAX_WRT_CHARS, required=False)
        out = await call("verify", {"path": path, "answer": answer, "wrt": wrt})
        return JSONResponse(out)

    async def hint(request):
        data = await body_json(request)
        path = catalog.path(data.get("spec"))
        wrt = text_field(data, "wrt", MAX_WRT_CHARS)
        level = data.get("level", 1)
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 2:
            raise ApiError(400, "level: 1 (the paths of influence) or 2 (also the local derivatives)")
        return JSONResponse(await call("hint", {"path": path, "wrt": wrt, "level": level}))

    async def solution(request):
        q = request.query_params
        path = catalog.path(q.get("spec"))
        wrt = text_field(dict(q), "wrt", MAX_WRT_CHARS)
        return JSONResponse(await call("solution", {"path": path, "wrt": wrt}))

    async def document(request):
        path = catalog.path(request.query_params.get("spec"))
        return JSONResponse(await call("document", {"path": path}, timeout=max(s.timeout, 60.0)))

    async def worksheet(request):
        data = await body_json(request)
        name = data.get("spec")
        path = catalog.path(name)
        variants = data.get("variants")
        if variants in (None, "", 0):
            variants = None
        elif not isinstance(variants, int) or isinstance(variants, bool) or not 1 <= variants <= 10:
            raise ApiError(400, "variants: a whole number from 1 to 10 (or leave it out for the spec's numbers)")
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2 ** 31:
            raise ApiError(400, "seed: a whole number from 0 to 2147483647")
        pdf = bool(data.get("pdf", False))
        out = await call("worksheet", {"path": path, "variants": variants, "seed": seed, "pdf": pdf},
                         timeout=s.worksheet_timeout)
        return Response(out["zip"], media_type="application/zip",
                        headers={"content-disposition": f'attachment; filename="{out["name"]}"',
                                 "x-files": ",".join(out["files"])})

    def run_grade(job: GradeJob, path: str):
        try:
            rows = job.rows
            for start in range(0, len(rows), GRADE_CHUNK):
                chunk = rows[start:start + GRADE_CHUNK]
                try:
                    results = pool.call("grade", {"path": path, "rows": chunk}, s.timeout * len(chunk))
                except JobTimeout:
                    results = []
                    for row in chunk:  # one at a time: only the slow row loses
                        try:
                            results += pool.call("grade", {"path": path, "rows": [row]}, s.timeout)
                        except (JobTimeout, JobError) as exc:
                            results.append({"row": row.get("row"), "student": row.get("student") or "",
                                            "wrt": row.get("wrt") or "", "verdict": "unparseable",
                                            "mistake": None, "decided_by": None, "feedback": str(exc)})
                job.results.extend(results)
                job.done = len(job.results)
            job.state = "done"
        except (SymbackpropError, OSError) as exc:
            job.state, job.error = "failed", str(exc).splitlines()[0]
        except Exception as exc:  # never a traceback
            job.state, job.error = "failed", f"internal error ({type(exc).__name__})"
        job.rows = []
        job.finished = time.time()

    async def grade(request):
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            async with request.form(max_files=1, max_fields=4, max_part_size=MAX_CSV_BYTES) as form:
                name = form.get("spec")
                f = form.get("file")
                if f is None or not hasattr(f, "read"):
                    raise ApiError(400, "file: missing (a CSV with the columns student,wrt,answer)")
                raw = await f.read(MAX_CSV_BYTES + 1)
        else:
            data = await body_json(request)
            name = data.get("spec")
            raw = (data.get("csv") or "").encode("utf-8") if isinstance(data.get("csv"), str) else b""
        path = catalog.path(name)
        if len(raw) > MAX_CSV_BYTES:
            raise ApiError(413, f"the CSV is larger than {MAX_CSV_BYTES} bytes")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"the CSV is not UTF-8 text (byte {exc.start})") from None
        from ..verify.grading import parse_answers_csv

        try:
            rows = parse_answers_csv(text, source="the CSV")
        except SymbackpropError as exc:
            raise ApiError(400, str(exc).splitlines()[0]) from None
        if not rows:
            raise ApiError(400, "the CSV has a header but no answers")
        if len(rows) > MAX_GRADE_ROWS:
            raise ApiError(413, f"the CSV has {len(rows)} answers; at most {MAX_GRADE_ROWS} per upload here "
                                f"(use `symbackprop grade` for more)")
        for r in rows:
            if r.get("answer") and len(r["answer"]) > MAX_ANSWER_CHARS:
                r["error"] = f"row {r['row']}: the answer is longer than {MAX_ANSWER_CHARS} characters"
        running = [j for j in jobs.values() if j.state == "running"]
        if len(running) >= 2:
            raise ApiError(503, "two classes are being graded already; try again in a minute")
        job = GradeJob(name, rows)
        jobs[job.id] = job
        while len(jobs) > MAX_JOBS:
            oldest = next(iter(jobs))
            if jobs[oldest].state == "running":
                break
            jobs.pop(oldest)
        threading.Thread(target=run_grade, args=(job, path), daemon=True, name=f"grade-{job.id}").start()
        return JSONResponse(job.status(), status_code=202)

    def find_job(request) -> GradeJob:
        jid = request.path_params["job"]
        job = jobs.get(jid) if re.fullmatch(r"[0-9a-f]{16}", jid) else None
        if job is None:
            raise ApiError(404, "no such grading job (it may have expired)")
        return job

    async def grade_status(request):
        return JSONResponse(find_job(request).status())

    async def grade_results(request):
        job = find_job(request)
        if job.state != "done":
            raise ApiError(409, f"the job is {job.state}, not done ({job.done}/{job.total})")
        fmt = request.path_params["fmt"]
        if fmt not in ("csv", "json"):
            raise ApiError(404, "results.csv or results.json")
        if fmt == "json":
            body = json.dumps(job.report(), ensure_ascii=False, indent=2) + "\n"
            return Response(body, media_type="application/json",
                            headers={"content-disposition": f'attachment; filename="graded-{job.spec}.json"'})
        from ..verify.grading import results_csv

        return Response(results_csv(job.report()), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="graded-{job.spec}.csv"'})

    async def health(request):
        return JSONResponse({"ok": True, "workers": len(pool.pids())})

    async def api_error(request, exc):
        return _error(exc.status, exc.message)

    async def http_error(request, exc):
        messages = {404: "not found", 405: "method not allowed"}
        return _error(exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    async def any_error(request, exc):
        return _error(500, f"internal error ({type(exc).__name__}); the server goes on")

    async def multipart_error(request, exc):
        return _error(400, f"bad upload: {str(exc)[:120]}")

    handlers = {ApiError: api_error, HTTPException: http_error, Exception: any_error}
    try:
        from starlette.formparsers import MultiPartException

        handlers[MultiPartException] = multipart_error
    except ImportError:  # pragma: no cover
        pass

    routes = [
        Route("/", page("student.html")),
        Route("/instructor", page("instructor.html")),
        Route("/api/health", health),
        Route("/api/specs", specs, methods=["GET"]),
        Route("/api/specs", upload_spec, methods=["POST"]),
        Route("/api/specs/{name}", spec_info, methods=["GET"]),
        Route("/api/verify", verify, methods=["POST"]),
        Route("/api/hint", hint, methods=["POST"]),
        Route("/api/solution", solution, methods=["GET"]),
        Route("/api/document", document, methods=["GET"]),
        Route("/api/worksheet", worksheet, methods=["POST"]),
        Route("/api/grade", grade, methods=["POST"]),
        Route("/api/grade/{job}", grade_status, methods=["GET"]),
        Route("/api/grade/{job}/results.{fmt:str}", grade_results, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(pool.start)
        try:
            yield
        finally:
            await run_in_threadpool(pool.close)
            catalog.close()

    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.pool = pool
    app.state.catalog = catalog
    app.state.jobs = jobs
    hosts = allowed_hosts(s.host, s.port, s.extra_hosts)
    guarded = Guard(app, allowed_hosts=hosts, token=s.token, max_body=MAX_CSV_BYTES + 64 * 1024)
    guarded.state = app.state  # for the tests
    guarded.inner = app
    return guarded
