"""``capfence suggest``: draft a policy from what the agents were seen doing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from capfence.cli.options import audit_log_option, filter_options, filters_from, load_policy_file
from capfence.cli.progress import Ticker


@click.command()
@audit_log_option
@filter_options
@click.option(
    "--policy",
    "-p",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="POLICY",
    help="The policy in force, whose deny and require_approval rules are kept (default: the one the newest record "
    "names by digest, as filed in the audit log).",
)
@click.option(
    "--held",
    is_flag=True,
    help="Instead of a draft: narrow allow rules (program and exact arguments) for the shell calls that were held "
    "(require_approval, or warn 'would hold: ...' under packs/shell_observe.yaml), to paste into a policy that "
    "extends packs/shell.yaml.",
)
@click.option(
    "-o",
    "--output",
    default="-",
    metavar="FILE",
    show_default=True,
    help="Where to write the draft (- for standard output).",
)
def suggest(audit_log: str, policy_path: Path | None, held: bool, output: str, **filter_params: Any) -> None:
    """Draft a policy from observed traffic, for a human to edit; it never weakens the policy in force.

    Keeps every deny and require_approval rule of the policy in force (the
    one the newest record names by digest, as the runtime files it in the
    audit log, or --policy; with neither, it refuses) and default deny, and
    proposes the narrowest allow rules that cover the calls that ran: exact
    commands for shell tools, observed hosts, directories and numeric bounds
    for others, each with the calls it covers. A proposed rule that would
    allow a call the policy in force denied or held is withdrawn (shown
    commented out, with why). Capabilities whose calls were all blocked get
    no rule.

    With --held: allow rules for the shell calls the shell pack held, each
    naming one program and the exact arguments seen (never a program with any
    arguments); what no narrow rule can express is listed, not suggested.

    \b
    Examples:
      capfence suggest --audit-log audit.db --policy policies/shell_rollout.yaml -o draft.yaml
      capfence suggest --since 7d --agent 'prod-*'      # the policy in force is found by digest
      capfence suggest --held --audit-log audit.db --policy policies/packs/shell_observe.yaml -o allow.yaml
    """
    from capfence.cli.registry import open_log
    from capfence.offline.suggest import observe, render

    policy = None
    if policy_path is not None:
        policy = load_policy_file(policy_path)
    if held:
        _held(audit_log, policy, output, filter_params)
        return
    filters = filters_from(filter_params)
    with open_log(audit_log) as reader, Ticker("reading the log") as ticker:
        policy, origin = _in_force(reader, filters, policy, policy_path)
        groups = observe(ticker.counted(reader.calls(filters)))
    text = render(groups, source=audit_log, policy=policy, origin=origin)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(
            f"Draft policy with {sum(1 for g in groups if g.ran)} allow rule(s) written to {output}", err=True
        )


def _in_force(reader: Any, filters: Any, given: Any, path: Path | None) -> tuple[Any, str]:
    """The policy in force and where it came from: --policy, else the newest record's digest filed in the audit log."""
    finder = getattr(reader, "newest_digest", None)
    digest = finder(filters) if finder is not None else None
    if given is not None:
        if digest is not None and digest != given.digest:
            click.echo(
                f"capfence suggest: warning: the newest record was decided under policy {digest[:12]}, not {path} "
                f"({given.digest[:12]}); keeping the rules of {path}",
                err=True,
            )
        return given, f"{path} (digest {given.digest[:12]})"
    from capfence.cli.registry import registry
    from capfence.policy.recorded import policy_for

    text = reader.policy_text(digest) if digest is not None and hasattr(reader, "policy_text") else None
    if digest is None or text is None:
        why = (
            "no record names the policy it was decided under"
            if digest is None
            else f"the records were decided under policy {digest[:12]}, whose text this audit log does not have "
            "(it was written by an older CapFence, or imported)"
        )
        raise click.ClickException(
            f"suggest keeps the deny and require_approval rules of the policy in force, but {why}; "
            "give that policy with --policy POLICY"
        )
    try:
        return policy_for(
            digest, text, registry().conditions
        ), f"the policy filed under digest {digest[:12]} in the audit log"
    except ValueError as exc:
        raise click.ClickException(f"{exc}; give the policy in force with --policy POLICY") from None


def _held(audit_log: str, policy: Any, output: str, filter_params: dict[str, Any]) -> None:
    from capfence.cli.registry import open_log
    from capfence.offline.suggest_shell import collect, render

    with open_log(audit_log) as reader, Ticker("reading the log") as ticker:
        found = collect(ticker.counted(reader.decisions(filters_from(filter_params))), policy)
    text = render(found, source=audit_log)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(
            f"{len(found.uses)} allow rule(s) for {found.calls} held shell call(s) written to {output}",
            err=True,
        )
