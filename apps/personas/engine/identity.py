"""Identity: who the character is (name, values, speaking style, role, language), apart from its traits."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the character is. ``language`` steers the language of ``prompt_data`` (e.g. ``en``, ``ko``, ``ja``)."""

    name: str = ""
    core_values: tuple[str, ...] = ()
    speaking_style: str = ""
    role: str = ""
    language: str = "en"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "core_values": list(self.core_values),
            "speaking_style": self.speaking_style,
            "role": self.role,
            "language": self.language,
        }
