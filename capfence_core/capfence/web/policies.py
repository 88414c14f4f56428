"""Policy files for the console: the ``--policy-dir`` listing, confined reads, pasted policies, rule locations.

Every name a browser sends is resolved inside the policy directory and
refused if it leaves it (``..``, an absolute path, a symlink pointing out):
:func:`resolve`. The loader reads through :class:`ConfinedFiles`, so an
``extends:`` in a listed or pasted policy cannot reach outside either. A
pasted policy is validated by the same loader as ``capfence check`` and its
problems come back as ``file:line: error: ...`` lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from capfence.errors import PolicyError
from capfence.policy.compiled import Policy, Rule
from capfence.policy.loader import load_policy
from capfence.policy.spec import ConditionType

SUFFIXES = (".yaml", ".yml")
PASTED = "pasted-policy.yaml"
MAX_PASTE = 1 << 20
MAX_FILES = 500


class OutsidePolicyDir(ValueError):
    """A requested policy name is not a policy file inside ``--policy-dir``."""


class ConfinedFiles:
    """:class:`~capfence.policy.source.PolicyFiles` limited to ``root``, plus an optional pasted file held in memory."""

    def __init__(self, root: Path | None, pasted: bytes | None = None) -> None:
        self.root = root.resolve() if root is not None else None
        self.pasted = pasted
        self.pasted_path = (self.root or Path.cwd().resolve()) / PASTED

    def _inside(self, path: Path) -> bool:
        return self.root is not None and path.resolve().is_relative_to(self.root)

    def is_file(self, path: Path) -> bool:
        if self.pasted is not None and path == self.pasted_path:
            return True
        return self._inside(path) and path.resolve().is_file()

    def read_bytes(self, path: Path) -> bytes:
        if self.pasted is not None and path == self.pasted_path:
            return self.pasted
        if not self._inside(path):
            raise PermissionError(f"{path} is outside the policy directory")
        return path.resolve().read_bytes()


def listing(root: Path | None) -> list[str]:
    """Policy files under ``root``, as relative names (sorted; at most :data:`MAX_FILES`)."""
    if root is None:
        return []
    base = root.resolve()
    names = []
    for path in sorted(base.rglob("*")):
        if path.suffix in SUFFIXES and path.is_file() and path.resolve().is_relative_to(base):
            names.append(path.relative_to(base).as_posix())
        if len(names) >= MAX_FILES:
            break
    return names


def resolve(root: Path | None, name: str) -> Path:
    """``name`` as a policy file inside ``root``; raises :class:`OutsidePolicyDir` for anything else."""
    if root is None:
        raise OutsidePolicyDir("no --policy-dir was given")
    base = root.resolve()
    candidate = (base / name).resolve()
    if (
        "\x00" in name
        or not candidate.is_relative_to(base)
        or candidate.suffix not in SUFFIXES
        or not candidate.is_file()
    ):
        raise OutsidePolicyDir(f"{name!r} is not a policy file in the policy directory")
    return candidate


def load_named(root: Path | None, name: str, conditions: Mapping[str, ConditionType]) -> Policy:
    """Load the listed policy ``name`` (raises :class:`OutsidePolicyDir` or :class:`PolicyError`)."""
    path = resolve(root, name)
    return load_policy(path, conditions, files=ConfinedFiles(root))


def load_pasted(root: Path | None, text: str, conditions: Mapping[str, ConditionType]) -> Policy:
    """Validate and compile pasted policy text; its ``extends:`` resolve inside ``root``. Raises :class:`PolicyError`."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) > MAX_PASTE:
        from capfence.errors import PolicyProblem

        raise PolicyError(
            [PolicyProblem(PASTED, None, None, "", f"a pasted policy may be at most {MAX_PASTE} bytes")]
        )
    files = ConfinedFiles(root, data)
    return load_policy(files.pasted_path, conditions, files=files)


def problem_lines(exc: PolicyError, root: Path | None) -> list[str]:
    """The problems as ``capfence check`` prints them, with paths relative to the policy directory."""
    from dataclasses import replace

    from capfence.cli.check import error_line

    base = str(root.resolve()) + "/" if root is not None else ""
    cwd = str(Path.cwd().resolve()) + "/"
    out = []
    for problem in exc.problems:
        path = problem.path.removeprefix(base).removeprefix(cwd)
        out.append(error_line(replace(problem, path=path)))
    return out


@dataclass(frozen=True)
class RuleLocation:
    file: str
    line: int | None
    policy: str
    exact: bool
    """True when the policy's digest is the one recorded with the decision."""


class PolicyIndex:
    """The policies of ``--policy-dir`` by digest, to show where a recorded rule is written (reloaded when files change)."""

    def __init__(self, root: Path | None, conditions: Mapping[str, ConditionType]) -> None:
        self.root = root
        self.conditions = conditions
        self._stamp: tuple[tuple[str, float], ...] = ()
        self._policies: list[tuple[str, Policy]] = []

    def locate(self, rule_id: str | None, digest: str | None) -> RuleLocation | None:
        """Where ``rule_id`` is defined: in the policy whose digest is ``digest`` if any, else the first that has the rule."""
        if not rule_id or self.root is None:
            return None
        self._load()
        fallback = None
        for name, policy in self._policies:
            rule = _rule(policy, rule_id)
            if rule is None:
                continue
            location = RuleLocation(self._relative(rule.source), rule.line, name, policy.digest == digest)
            if location.exact:
                return location
            fallback = fallback or location
        return fallback

    def _relative(self, source: str) -> str:
        base = str(self.root.resolve()) + "/" if self.root is not None else ""
        return source.removeprefix(base)

    def _load(self) -> None:
        names = listing(self.root)
        stamp = (
            tuple((name, (self.root / name).stat().st_mtime) for name in names)
            if self.root is not None
            else ()
        )
        if stamp == self._stamp:
            return
        loaded = []
        for name in names:
            try:
                loaded.append((name, load_named(self.root, name, self.conditions)))
            except (PolicyError, OutsidePolicyDir, OSError):
                continue
        self._policies, self._stamp = loaded, stamp


def _rule(policy: Policy, rule_id: str) -> Rule | None:
    return next((rule for rule in policy.rules if rule.id == rule_id), None)
