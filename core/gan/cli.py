"""The ``gan`` command line (click), built after plugins load.

Plugins can add sub-commands (``gan_register_commands``) and ``gan run`` options
(``gan_add_cli_options``), so the click app is assembled only once the plugin manager has loaded:
``-p no:NAME``, ``--strict-plugins`` and ``--debug`` are read from argv first, as pytest does.

Every user error is one line on stderr and exit code 2; a traceback appears only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from .config import RunConfig, parse_assignments
from .errors import USER_ERRNOS, GanError, choices_error, os_error_message
from .plugins import GanPluginManager
from .sampling import NICE_FACTOR

LIST_KINDS = {"models": "model", "losses": "loss", "datasets": "dataset", "metrics": "metric"}


def _early_flags(args: Sequence[str]) -> tuple[list[str], bool, bool]:
    blocked, strict, debug = [], False, False
    it = iter(range(len(args)))
    for i in it:
        a = args[i]
        if a == "--":
            break
        val = None
        if a == "-p" and i + 1 < len(args):
            val = args[i + 1]
        elif a.startswith("-p") and len(a) > 2 and not a.startswith("--"):
            val = a[2:]
        if val is not None and val.startswith("no:"):
            blocked.append(val[3:])
        strict |= a == "--strict-plugins"
        debug |= a == "--debug"
    return blocked, strict, debug


def _default_run_dir(model: str) -> Path:
    return Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"


def _init_distributed() -> None:
    """Under torchrun: NCCL on CUDA, gloo on CPU; one GPU per local rank.

    A 1-process torchrun job is distributed too (DDP over one rank), so that path can be checked on a
    single GPU; a plain ``gan run`` (no torchrun) never initialises a process group.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 and "TORCHELASTIC_RUN_ID" not in os.environ:
        return
    import torch
    import torch.distributed as dist
    if dist.is_initialized():
        return
    from datetime import timedelta
    # A hung peer should fail the others within minutes, not gloo's default 30.
    timeout = timedelta(seconds=int(os.environ.get("GANFORGE_DIST_TIMEOUT", "600")))
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl", timeout=timeout)
    else:
        dist.init_process_group("gloo", timeout=timeout)


def _outlast_launcher_sigterm() -> None:
    """Under torchrun: a SIGTERM no longer kills this worker before it has said why it stopped.

    torchrun's agent polls its workers every 0.1 s and SIGTERMs the survivors as soon as one dies. A
    survivor that has just lost its connection to the dead peer is then past the trainer's own
    handler (which turns SIGTERM into a checkpointed stop) and about to print its explanation; the
    default action killed it silently (seen in CI). The command ends right after, and the agent
    follows with SIGKILL after 30 s should a worker hang. Installed just before training, so the
    trainer's handler saves and restores this one.
    """
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: None)


def build_cli(pm: GanPluginManager) -> click.Group:
    @click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
    @click.option("-p", "plugin_flags", multiple=True, metavar="no:NAME",
                  help="Block a plugin (repeatable), e.g. -p no:tensorboard.")
    @click.option("--strict-plugins", is_flag=True, help="A plugin that fails to load is an error.")
    @click.option("--debug", is_flag=True, help="Show tracebacks.")
    @click.version_option(package_name="ganforge", prog_name="gan")
    @click.pass_context
    def cli(ctx: click.Context, plugin_flags: tuple[str, ...], strict_plugins: bool, debug: bool) -> None:
        """ganforge: train, sample and evaluate GANs from plugins."""
        ctx.obj = pm  # plugin commands reach the manager (and its registries) as ctx.obj

    extra_options: list[click.Option] = []
    _tolerant(pm, "gan_add_cli_options", options=extra_options)

    @click.command("run")
    @click.option("--plugin", "plugin", required=True,
                  help="A model name (seqgan, dcgan, cyclegan, ...) or a plugin that registers one.")
    @click.option("--model", default=None, help="Model within --plugin when it registers several.")
    @click.option("--dataset", default=None, help="Dataset name (gan list datasets).")
    @click.option("--data-root", default=None, type=click.Path(path_type=Path),
                  help="Where the dataset's files are (never downloaded).")
    @click.option("--preset", default=None, help="Named partial config, e.g. tiny or paper.")
    @click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                  help="Override a config value (type-checked); repeatable. run.KEY for run settings.")
    @click.option("--config", "config_file", default=None, type=click.Path(path_type=Path),
                  help="TOML file with [run] and [model] tables.")
    @click.option("--device", default=None, help="auto (default), cpu, cuda or cuda:N.")
    @click.option("--max-steps", default=None, type=click.IntRange(min=1), help="Stop after N steps.")
    @click.option("--seed", default=None, type=int, help="Random seed (run.seed).")
    @click.option("--run-dir", default=None, type=click.Path(path_type=Path),
                  help="Run directory (default runs/<model>-<time>).")
    @click.option("--resume", is_flag=True, help="Continue from the run directory's last checkpoint.")
    def run_cmd(plugin: str, model: str | None, dataset: str | None, data_root: Path | None,
                preset: str | None, sets: tuple[str, ...], config_file: Path | None,
                device: str | None, max_steps: int | None, seed: int | None, run_dir: Path | None,
                resume: bool, **plugin_options: Any) -> None:
        """Train a model."""
        from .runs import build_recipe, check_run_dir, make_trainer
        _init_distributed()
        name = pm.default_model(plugin)
        if model is not None:
            owner = pm.plugin_of_model(name)
            own = [e.name for e in pm.registry("model").entries() if e.plugin == owner]
            if model not in own:
                raise choices_error(f"model of plugin {owner!r}", model, own)
            name = model
        run = RunConfig()
        assignments = parse_assignments(sets)
        if seed is not None:
            assignments.append(("run.seed", str(seed)))
        if max_steps is not None:
            assignments.append(("run.max_steps", str(max_steps)))
        if device is not None:
            assignments.append(("run.device", device))
        if resume and run_dir is None:
            raise GanError("--resume needs --run-dir (the run to continue)")
        run_dir = check_run_dir(run_dir or _default_run_dir(name))
        from .data import dist_info
        from .rundir import RunLock
        _refuse_existing(run_dir, resume)
        plan = None
        if resume:
            from . import resume as resuming
            if dataset is not None:
                pm.registry("dataset").resolve(dataset)  # an unknown name is named as such first
            if preset is not None:
                presets = getattr(pm.registry("model").resolve(name), "presets", {})
                if preset not in presets:
                    raise choices_error("preset", preset, presets)
                click.echo(f"warning: --preset {preset} ignored: a resumed run continues with the "
                           f"settings saved in {run_dir / 'config.json'}", err=True)
            toml = None
            if config_file is not None:
                from .config import load_toml
                toml = load_toml(config_file)
            plan = resuming.plan_resume(pm.registry("model").resolve(name),
                                        resuming.saved_settings(run_dir), assignments, toml=toml,
                                        dataset=dataset, data_root=data_root, run_dir=run_dir)
            built = build_recipe(name, pm=pm, run=plan.run, config_values=plan.config,
                                 dataset=plan.dataset, data_root=plan.data_root)
        else:
            built = build_recipe(name, pm=pm, preset=preset, config_file=config_file,
                                 assignments=assignments, dataset=dataset, data_root=data_root, run=run)
        # one writer per run directory, held until this command returns (or the process dies);
        # taken once the settings are known good, so a refused command leaves no trace
        with RunLock(run_dir) if dist_info()[0] == 0 else contextlib.nullcontext():
            _refuse_existing(run_dir, resume, locked=True)  # again: another run may have written meanwhile
            trainer = make_trainer(built, run_dir, pm=pm, cli_options=plugin_options)
            if plan is not None:
                fresh = resuming.fresh_learning_rates(built.recipe.optimizers)
                found = trainer.resume()
                resuming.apply_learning_rates(built.recipe.optimizers, built.recipe.schedulers, fresh)
                if trainer.is_main:
                    click.echo(f"resumed from {found} (step {trainer.step})", err=True)
                    for line in plan.lines():
                        click.echo(line, err=True)
                    resuming.record_resume(run_dir, plan, trainer.step, found)
            if trainer.is_main:
                click.echo(f"training {name} on {built.recipe.device} -> {run_dir}", err=True)
            if trainer.distributed:
                _outlast_launcher_sigterm()
            results = trainer.fit()
        if trainer.is_main:
            shown = {k: round(v, 4) for k, v in results.items() if isinstance(v, float)}
            click.echo(f"{trainer.status} at step {trainer.step}; {json.dumps(shown)}")
            click.echo(f"run directory: {run_dir}")
        if trainer.status == "interrupted":
            raise SystemExit(130)
        if trainer.status == "stopped":  # a health alarm with run.on_alarm=stop
            raise SystemExit(1)

    for opt in extra_options:
        run_cmd.params.append(opt)
    cli.add_command(run_cmd)

    @cli.command("plugins")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def plugins_cmd(as_json: bool) -> None:
        """List plugins with their origin and status."""
        regs = pm.registries()
        rows = []
        for info in pm.info.values():
            d = info.as_dict()
            d["provides"] = {kind: [e.name for e in reg.entries() if e.plugin == info.name]
                             for kind, reg in regs.items()}
            rows.append(d)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        for d in rows:
            provided = ", ".join(n for names in d["provides"].values() for n in names)
            origin = "built-in" if d["builtin"] else f"{d['distribution']} {d['version']}"
            line = f"{d['name']:<14} {d['status']:<8} {origin:<22} {provided}"
            if d["error"]:
                line += f"  [{d['error']}]"
            click.echo(line.rstrip())

    @cli.command("list")
    @click.argument("kind", type=click.Choice(sorted(LIST_KINDS)))
    def list_cmd(kind: str) -> None:
        """List registered models, losses, datasets or metrics."""
        for e in pm.registry(LIST_KINDS[kind]).entries():
            extra = f" [{e.meta['kind']}]" if "kind" in e.meta else ""
            click.echo(f"{e.name:<18} {e.plugin:<12}{extra} {e.help}".rstrip())

    @cli.command("sample")
    @click.option("--run-dir", default=None, type=click.Path(path_type=Path), help="A finished run.")
    @click.option("--checkpoint", default=None, type=click.Path(path_type=Path), help="A checkpoint file.")
    @click.option("-n", "num", default=16, type=click.IntRange(min=1), help="Number of samples.")
    @click.option("--out", default=None, type=click.Path(path_type=Path),
                  help="Output folder (default <run-dir>/samples/cli).")
    @click.option("--nice", is_flag=False, flag_value=NICE_FACTOR, default=0, type=click.IntRange(min=0),
                  metavar="[N]", help=f"Keep the samples the discriminator scores best, of N per sample "
                                      f"kept (N={NICE_FACTOR} when not given).")
    @click.option("--format", "fmt", default=None, type=click.Choice(["png", "npy"]),
                  help="Image models: one PNG per sample (default) or one uint8 samples.npy.")
    @click.option("--list", "list_files", is_flag=True, help="Print every file written.")
    @click.option("--seed", default=None, type=int)
    @click.option("--device", default="auto")
    @click.option("--data-root", default=None, type=click.Path(path_type=Path),
                  help="Where the run's training data is now, if it moved since training.")
    def sample_cmd(run_dir: Path | None, checkpoint: Path | None, num: int, out: Path | None,
                   nice: int, fmt: str | None, list_files: bool, seed: int | None, device: str,
                   data_root: Path | None) -> None:
        """Draw samples from a trained run."""
        from .runs import load_run
        src = _source(run_dir, checkpoint)
        recipe = load_run(src, device=device, pm=pm, data_root=data_root)
        out = out or (Path(recipe.run_dir) / "samples" / "cli")
        extra = {"format": fmt} if fmt is not None else {}
        if extra and not _accepts(recipe.export_samples, "format"):
            raise GanError(f"--format {fmt}: model {recipe.name!r} writes one kind of sample file only")
        lines = recipe.export_samples(num, out, seed=seed, nice=nice, **extra)
        files = [Path(x) for x in lines]
        if list_files or not files or not all(p.is_file() for p in files):
            for line in lines:  # samples themselves (points, sentences), or paths when asked
                click.echo(line)
            return
        grids = [p for p in files if p.name.endswith("grid.png")]
        click.echo(f"wrote {len(files) - len(grids)} sample file(s) to {out}"
                   + (f"; grid: {grids[0]}" if grids else "") + " (--list prints every path)")

    @cli.command("eval")
    @click.option("--run-dir", default=None, type=click.Path(path_type=Path), help="A finished run.")
    @click.option("--checkpoint", default=None, type=click.Path(path_type=Path), help="A checkpoint file.")
    @click.option("--device", default="auto")
    @click.option("--json", "as_json", is_flag=True)
    @click.option("--samples", "-n", "samples", default=None, type=click.IntRange(min=2),
                  help="Generated samples to score (default: the model's, 10,000 for images).")
    @click.option("--data-root", default=None, type=click.Path(path_type=Path),
                  help="Where the run's training data is now, if it moved since training.")
    def eval_cmd(run_dir: Path | None, checkpoint: Path | None, device: str, as_json: bool,
                 samples: int | None, data_root: Path | None) -> None:
        """Evaluate a trained run with the model's full protocol."""
        from .config import to_jsonable
        from .runs import load_run
        recipe = load_run(_source(run_dir, checkpoint), device=device, pm=pm, data_root=data_root)
        extra = {"samples": samples} if samples is not None else {}
        if extra and not _accepts(recipe.evaluate, "samples"):
            raise GanError(f"--samples {samples}: model {recipe.name!r} sets its evaluation size in "
                           f"its config, not with --samples")
        results = recipe.evaluate(full=True, **extra) or {}
        record = {"model": recipe.name, "checkpoint": str(recipe.checkpoint_path), **results}
        if as_json:
            click.echo(json.dumps(to_jsonable(record), indent=2, sort_keys=True))
        else:
            for k, v in record.items():
                if k != "protocol":
                    click.echo(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
            if "protocol" in record:
                click.echo("protocol: " + json.dumps(to_jsonable(record["protocol"]), sort_keys=True))

    @cli.command("report")
    @click.option("--run-dir", default=None, type=click.Path(path_type=Path), help="A run (finished or running).")
    @click.option("--compare", "compare", is_flag=True, help="Overlay the runs given as arguments.")
    @click.option("--out", default=None, type=click.Path(path_type=Path),
                  help="HTML file (default <run-dir>/report.html; with --compare: report-compare.html).")
    @click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
    def report_cmd(run_dir: Path | None, compare: bool, out: Path | None, runs: tuple[Path, ...]) -> None:
        """Write one self-contained HTML page: curves, sample timeline, evaluation with protocol."""
        from .report import render, render_compare, write_report
        if compare:
            dirs = ([run_dir] if run_dir else []) + list(runs)
            if len(dirs) < 2:
                raise GanError("--compare needs at least two run directories: gan report --compare R1 R2 ...")
            path = write_report(out or Path("report-compare.html"), render_compare(dirs))
        else:
            if run_dir is None or runs:
                raise GanError("give one --run-dir R (or --compare R1 R2 ... to overlay several runs)")
            path = write_report(out or run_dir / "report.html", render(run_dir))
        click.echo(str(path))

    from .deploy_cli import export_command, import_command
    cli.add_command(export_command)
    cli.add_command(import_command(pm))

    _tolerant(pm, "gan_register_commands", cli=_ShadowGuard(cli, set(cli.commands)))
    return cli


def _refuse_existing(run_dir: Path, resume: bool, locked: bool = False) -> None:
    from .data import dist_info
    if not locked and dist_info()[0] == 0:  # (other ranks share rank 0's lock)
        from .rundir import RunLock
        RunLock(run_dir).check_free()  # a busy directory is named as such before anything else
    has_ckpt = (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").glob("ckpt-*.pt"))
    if has_ckpt and not resume:
        raise GanError(f"--run-dir {run_dir} already holds checkpoints; pass --resume to continue "
                       f"it or choose another --run-dir")


def _tolerant(pm: GanPluginManager, hook: str, **kwargs: Any) -> None:
    import warnings

    from .plugins import PluginWarning
    before = len(pm.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        pm.call(hook, **kwargs)  # a failing third-party plugin is skipped (ISOLATED_HOOKS)
    for w in pm.warnings[before:]:
        click.echo(f"warning: {w}", err=True)


class _ShadowGuard:
    """What ``gan_register_commands`` receives: the root group, minus silent shadowing of built-ins."""

    def __init__(self, group: click.Group, builtin: set[str]) -> None:
        self._group, self._builtin = group, builtin

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        from .plugins import current_plugin
        name = name or cmd.name
        if name in self._builtin or name in self._group.commands:
            from .errors import PluginError
            raise PluginError(f"plugin {current_plugin.get()!r} registers command {name!r}, which "
                              f"already exists")
        self._group.add_command(cmd, name)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        def deco(f: Any) -> click.Command:
            cmd = click.command(*args, **kwargs)(f)
            self.add_command(cmd)
            return cmd
        return deco

    def __getattr__(self, name: str) -> Any:
        return getattr(self._group, name)


def _accepts(fn: Any, name: str) -> bool:
    """Whether ``fn`` takes keyword ``name`` (optional recipe features such as ``--format``)."""
    import inspect
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _source(run_dir: Path | None, checkpoint: Path | None) -> Path:
    if (run_dir is None) == (checkpoint is None):
        raise GanError("give exactly one of --run-dir or --checkpoint")
    return checkpoint if checkpoint is not None else run_dir


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    blocked, strict, debug = _early_flags(args)
    import warnings
    try:
        from .plugins import PluginWarning
        pm = GanPluginManager(blocked=blocked, strict=strict)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginWarning)  # shown below, once, as one line each
            pm.load()
        for w in pm.warnings:
            click.echo(f"warning: {w}", err=True)
        # The registries are collected by the first command that needs one (their hooks import
        # the models and torch), so `gan --help` and `gan --version` stay fast; the warnings of
        # that collection are printed as one line each by _one_line_warning below.
        cli = build_cli(pm)
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            rc = cli.main(args, prog_name="gan", standalone_mode=False)
        return int(rc or 0)
    except GanError as e:
        if debug:
            raise
        click.echo(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", err=True)
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return 2
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        return 130
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except OSError as e:  # permissions, read-only or full disks, missing paths: the user can fix these
        if debug or e.errno not in USER_ERRNOS:
            return _unexpected(e, debug)
        click.echo(f"error: {os_error_message(e)}", err=True)
        return 2
    except MemoryError as e:
        if debug:
            raise
        click.echo(f"error: out of memory{(': ' + str(e)) if str(e) else ''}", err=True)
        return 2
    except Exception as e:  # noqa: BLE001
        return _unexpected(e, debug)


def _unexpected(e: BaseException, debug: bool) -> int:
    if debug:
        raise e
    notes = " ".join(getattr(e, "__notes__", []))
    click.echo(f"error: {type(e).__name__}: {e} {notes}".rstrip()
               + " (rerun with --debug for the traceback)", err=True)
    return 1


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                      file: Any = None, line: str | None = None) -> None:
    """Warnings reach a CLI user as one ``warning:`` line, never with a Python source line."""
    text = str(message).strip().splitlines()
    click.echo(f"warning: {text[0] if text else category.__name__}", err=True)


def entry() -> None:  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
