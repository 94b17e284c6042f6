"""Import-linter contract types of our own (registered under ``contract_types`` in ``pyproject.toml``).

``public_doors``: an app reaches another app only through that app's doors (``services``, ``selectors``,
``errors``, ``types``), and another app's ``models`` only from a ``models`` module, for foreign keys. The
built-in contracts can forbid a list of modules, but a list of private modules goes stale the day an app
grows a new one; this contract states the rule the other way round, so a new module is private by default.
"""

from dataclasses import dataclass

import grimp
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True)
class _Breach:
    importer: str
    imported: str
    line_numbers: tuple[int, ...]


class PublicDoorsContract(Contract):
    """Imports between apps go through the imported app's doors.

    Options:
        - apps: the app packages (a surface such as ``apps.api.native`` counts as an app). Imports inside one
          app are not checked. Listed packages that do not exist yet are skipped, so an app's slot can be
          declared before the app lands.
        - sub_apps: packages inside an app that keep doors of their own (``apps.delivery.telegram``): another
          app imports ``apps.delivery.telegram.services``, never its ``models`` or ``bot_api``.
        - shared: packages that any app may import whole (plumbing such as ``apps.api.shared``); their own
          imports of an app still go through its doors.
        - doors: the module names another app may import.
        - exempt: module names (any component) whose imports are not checked, e.g. ``tests``, ``migrations``.
    """

    type_name = "public_doors"

    apps = fields.ListField(subfield=fields.StringField())
    sub_apps = fields.ListField(subfield=fields.StringField(), required=False, default=[])
    shared = fields.ListField(subfield=fields.StringField(), required=False, default=[])
    doors = fields.ListField(subfield=fields.StringField())
    exempt = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        apps = sorted((name for name in [*self.apps, *self.shared] if name in graph.modules), key=len, reverse=True)
        shared = set(self.shared)
        owners = sorted(apps + [name for name in self.sub_apps if name in graph.modules], key=len, reverse=True)
        doors, exempt = set(self.doors), set(self.exempt)
        breaches = []
        for importer in sorted(graph.modules):
            importer_app = _owner(importer, apps)
            if importer_app is None or exempt & set(importer.split(".")):
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                imported_app = _owner(imported, apps)
                if imported_app is None or imported_app == importer_app or imported_app in shared:
                    continue
                if _through_a_door(importer, imported, _owner(imported, owners), doors):
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                breaches.append(_Breach(importer, imported, tuple(sorted(d["line_number"] for d in details))))
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error(f"Imports that bypass an app's doors ({', '.join(self.doors)}):", bold=False)
        output.new_line()
        for breach in check.metadata["breaches"]:
            lines = ", ".join(map(str, breach.line_numbers))
            output.print_error(f"- {breach.importer} -> {breach.imported} (l.{lines})", bold=False)
        output.new_line()


def _owner(module: str, packages: list[str]) -> str | None:
    """The longest listed package that holds ``module`` (``packages`` sorted longest first)."""
    for package in packages:
        if module == package or module.startswith(package + "."):
            return package
    return None


def _through_a_door(importer: str, imported: str, owner: str, doors: set[str]) -> bool:
    inside = imported[len(owner) + 1 :].split(".") if imported != owner else []
    if not inside:
        return True  # the package itself: ``from apps.personas import services`` records the module, not this
    if inside[0] in doors:
        return True
    # Another app's models only from a models module, to point a foreign key at them.
    return inside[0] == "models" and "models" in importer.split(".")
