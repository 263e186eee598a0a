"""The ``serve`` subcommand: the web pages for a class (``symbackprop serve``; see docs/web.md)."""
from __future__ import annotations

import argparse
import secrets
import sys

from ..errors import SymbackpropError


def register(sub):
    help_ = "serve the student and instructor web pages (offline, 127.0.0.1 by default)"
    p = sub.add_parser(
        "serve", help=help_, description=help_,
        epilog=("the student page is http://HOST:PORT/, the instructor page /instructor, the JSON API /api/...\n"
                "any --host other than 127.0.0.1/localhost needs a token (--token, or one is generated and printed).\n"
                "example:\n  symbackprop serve --specs my_specs/ --open"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--specs", metavar="DIR", help="a folder of spec files (*.toml) offered besides the lecture examples")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--token", help="the token every request needs (required off loopback; generated when left out)")
    p.add_argument("--workers", type=int, help="checker processes (default: the number of CPUs, at most 4)")
    p.add_argument("--timeout", type=float, default=10.0, help="hard time limit of one check in seconds (default 10)")
    p.add_argument("--open", action="store_true", help="open the student page in the web browser")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        import uvicorn

        from .app import Settings, _is_loopback, create_app
    except ImportError as exc:
        raise SymbackpropError(f"serve needs the web extra ({exc.name} is missing): pip install \".[web]\"") from None
    if not 1 <= args.port <= 65535:
        raise SymbackpropError("--port must be between 1 and 65535")
    if args.workers is not None and not 1 <= args.workers <= 32:
        raise SymbackpropError("--workers must be between 1 and 32")
    if not 0.5 <= args.timeout <= 600:
        raise SymbackpropError("--timeout must be between 0.5 and 600 seconds")
    token = args.token
    if token is not None and not (16 <= len(token) <= 200 and token.replace("-", "").replace("_", "").isalnum()):
        raise SymbackpropError("--token: 16 to 200 letters, digits, - or _")
    if token is None and not _is_loopback(args.host):
        token = secrets.token_urlsafe(18)
    settings = Settings(specs_dir=args.specs, host=args.host, port=args.port, token=token,
                        workers=args.workers, timeout=args.timeout)
    app = create_app(settings)
    shown = args.host if args.host not in ("0.0.0.0", "::") else "127.0.0.1"
    url = f"http://{shown}:{args.port}/" + (f"?token={token}" if token else "")
    print(f"symbackprop serve: students {url}", file=sys.stderr)
    print(f"symbackprop serve: instructor {url.replace('/?', '/instructor?') if token else url + 'instructor'}",
          file=sys.stderr)
    if args.open:
        import threading
        import webbrowser

        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False)
    return 0
