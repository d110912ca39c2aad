"""The ``fathom`` command. The only module that prints for the user or picks exit codes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Callable, Sequence

import yaml

from collector import __version__
from collector.component import Kind
from collector.config import ConfigErrors, load_config, redact
from collector.registry import PluginError, Registry
from collector.resolve import ResolvedConfig, resolve


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.command(args)
    except BrokenPipeError:  # `fathom replay ... | head`: the reader left, which is fine
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fathom", description="A telemetry collector: structured logs into metrics, fanned out to "
                                   "CloudWatch, Prometheus and OTLP.")
    parser.add_argument("--version", action="version", version=f"fathom {__version__}")
    commands = parser.add_subparsers(title="commands")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str,
                config: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(command=handler)
        if config:
            sub.add_argument("--config", "-c", action="append", default=[], metavar="FILE",
                             help="a config file; repeat to merge several in order (default: the embedded default)")
        return sub

    command("run", _run, "Run the collector until SIGTERM or SIGINT; SIGHUP reloads the config.")
    command("validate", _validate, "Check a config, building the whole pipeline graph, without starting anything.")
    command("print-config", _print_config, "Print the merged, expanded config with secrets redacted.")
    sub = command("replay", _replay, "Run log files through the config's logs_to_metrics rules, offline.")
    sub.add_argument("files", nargs="+", metavar="LOGFILE", help="log files (.gz unzipped, - for stdin)")
    sub.add_argument("--format", choices=["table", "prometheus", "json"], default="table",
                     help="how to print the resulting series (default: table)")
    sub.add_argument("--connector", metavar="ID", help="which logs_to_metrics connector, if there are several")
    sub.add_argument("--no-progress", action="store_true", help="do not show progress on stderr")
    sub = command("components", _components, "List every registered component.", config=False)
    sub.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _config_paths(args: argparse.Namespace) -> list[str]:
    if args.config:
        return args.config
    from configs import DEFAULT

    return [str(DEFAULT)]


def _load(paths: list[str], registry: Registry) -> ResolvedConfig:
    return resolve(load_config(paths), registry)


def _report(errors: ConfigErrors) -> None:
    count = len(errors.issues)
    print(f"fathom: the config has {count} error{'s' if count != 1 else ''}:", file=sys.stderr)
    for issue in errors.issues:
        print(f"  {issue}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from collector import selflog
    from collector.service import run

    registry = Registry.discover()
    paths = _config_paths(args)
    try:
        config = _load(paths, registry)
    except ConfigErrors as exc:
        _report(exc)
        return 1
    logs = config.service.telemetry.logs
    selflog.configure(logs.level, logs.encoding)
    for warning in config.warnings:
        print(f"fathom: warning: {warning}", file=sys.stderr)
    first = [config]

    def load() -> ResolvedConfig:
        # The first call returns what was just checked; SIGHUP reloads read the files again.
        return first.pop() if first else _load(paths, Registry.discover())

    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(load))
    return uvloop.run(run(load))


def _validate(args: argparse.Namespace) -> int:
    from collector.graph import build
    from collector.telemetry import Telemetry

    try:
        config = _load(_config_paths(args), Registry.discover())
    except ConfigErrors as exc:
        _report(exc)
        return 1
    try:
        build(config, Telemetry())
    except Exception as exc:  # a factory that rejects its config at create time
        print(f"fathom: building the pipelines failed: {exc}", file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"fathom: warning: {warning}", file=sys.stderr)
    print(f"fathom: the config is valid ({len(config.pipelines)} pipelines)")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from collector import replaytool

    try:
        config = _load(_config_paths(args), Registry.discover())
        rules = replaytool.pick_connector(config, args.connector)
        progress = None if args.no_progress else replaytool.Progress()
        metrics, bad = replaytool.replay(rules, args.files, progress)
    except ConfigErrors as exc:
        _report(exc)
        return 1
    except (replaytool.ReplayError, OSError) as exc:
        print(f"fathom: {exc}", file=sys.stderr)
        return 1
    print(replaytool.FORMATS[args.format](metrics))
    for reason, count in sorted(bad.items()):
        print(f"fathom: {count} bad records: {reason}", file=sys.stderr)
    return 0


def _print_config(args: argparse.Namespace) -> int:
    try:
        loaded = load_config(_config_paths(args))
    except ConfigErrors as exc:
        _report(exc)
        return 1
    yaml.safe_dump(redact(loaded.data), sys.stdout, sort_keys=False)
    return 0


def _components(args: argparse.Namespace) -> int:
    registry = Registry.discover()
    rows = []
    broken = []
    for kind in Kind:
        for type_ in registry.types(kind):
            try:
                factory = registry.get(kind, type_)
            except PluginError as exc:
                broken.append(str(exc))
                continue
            assert factory is not None
            if kind is Kind.EXTENSION:
                signals = {}
            elif kind is Kind.CONNECTOR:
                signals = {f"{a}->{b}": str(s) for (a, b), s in factory.signals.items()}
            else:
                signals = {str(sig): str(s) for sig, s in factory.signals.items()}
            rows.append({"kind": str(kind), "type": type_, "signals": signals,
                         "stability": str(factory.stability) if kind is Kind.EXTENSION else None,
                         "description": factory.description})
    if args.json:
        import json

        print(json.dumps({"components": rows, "broken": broken}, indent=2))
    else:
        for kind in Kind:
            kind_rows = [r for r in rows if r["kind"] == str(kind)]
            if not kind_rows:
                continue
            print(f"{kind.section}:")
            for r in kind_rows:
                detail = r["stability"] or ", ".join(f"{k}: {v}" for k, v in r["signals"].items())
                print(f"  {r['type']:<24} {detail:<44} {r['description']}")
        for line in broken:
            print(f"broken: {line}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
