"""``techbar app``: serve the web page on this machine (Streamlit, the ``[app]`` extra)."""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress

from sim.scenario import ScenarioError, load_scenario


def add_parser(sub) -> None:
    a = sub.add_parser("app", help="serve the what-if page in the browser (127.0.0.1:8501)")
    a.add_argument(
        "scenario", nargs="?", default=None, help="base scenario file (default: embedded)"
    )
    a.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    a.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 serves "
        "the network, without any login)",
    )


def _app(args: argparse.Namespace, argv: list[str] | None) -> int:
    if not 1 <= args.port <= 65535:
        raise ScenarioError(f"--port: {args.port} is not allowed; give a port 1–65535")
    try:
        ipaddress.ip_address(args.host)
    except ValueError:
        if args.host != "localhost":
            raise ScenarioError(
                f"--host: '{args.host}' is not an IP address; give e.g. 127.0.0.1 or 0.0.0.0"
            ) from None
    if importlib.util.find_spec("streamlit") is None:
        raise ScenarioError(
            "the page needs Streamlit: run `make app`, or pip install 'techbar-sim[app]'"
        )
    load_scenario(args.scenario)  # a bad scenario is refused here, before the server starts
    from sim.app import serve

    print(f"techbar: serving the page on http://{args.host}:{args.port} (Ctrl-C to stop)")
    return serve(args.scenario, args.port, args.host)
