"""Dependencies are bounded, above published server advisories, and locked with hashes (R-PS7)."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.settings import PROJECT_ROOT

# the last release with a published advisory (aiohttp: HTTP parser and WebSocket issues
# fixed in 3.14.3; PyYAML: full_load code execution; pydantic: e-mail validation ReDoS)
LAST_VULNERABLE = {"aiohttp": "3.14.2", "pyyaml": "5.3.1", "pydantic": "2.3.0"}


def _requirements(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    raw = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(line) for line in raw]


def _locked() -> dict[str, tuple[Version, int]]:
    text = (PROJECT_ROOT / "requirements.lock").read_text()
    pins: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        found = re.match(r"([A-Za-z0-9_.-]+)==([^\s\\]+)", block)
        if found:
            hashes = len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block))
            pins[canonicalize_name(found[1])] = (Version(found[2]), hashes)
    return pins


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    unbounded = [
        r.name
        for r in _requirements()
        if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)
    ]
    assert unbounded == []


def test_floors_exclude_releases_with_published_advisories() -> None:
    specifiers = {canonicalize_name(r.name): r.specifier for r in _requirements()}
    for name, vulnerable in LAST_VULNERABLE.items():
        assert Version(vulnerable) not in specifiers[name], f"{name} {vulnerable} is allowed"


def test_the_lock_pins_every_dependency_with_hashes_inside_its_bounds() -> None:
    pins = _locked()
    for requirement in _requirements() + _requirements("dev"):
        version, hashes = pins[canonicalize_name(requirement.name)]
        assert version in requirement.specifier, (requirement.name, version)
        assert hashes >= 1, requirement.name
    assert all(hashes >= 1 for _, hashes in pins.values())
