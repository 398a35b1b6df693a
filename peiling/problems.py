"""A refused staff form's problems, as the form shows them: beside their fields.

The public form and the panel sign-up mark each field in error (WCAG 3.3.1); staff forms
do the same through FormProblems and templates/_problems.html, so that a researcher who
typed "1O0" in one of twelve municipalities' fields is shown which one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FormProblems:
    """A summary on top, each line linking to its field when it has one, and the messages
    beside the fields (by element id)."""

    summary: list[tuple[str | None, str]] = field(default_factory=list)
    beside: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.summary)

    def add(self, text: str, element: str | None = None, label: object = None) -> None:
        """`text` about form element `element` (None: the form as a whole); the summary
        names the field by `label` when the text alone would not."""
        self.summary.append((element, f"{label}: {text}" if label else text))
        if element is not None:
            earlier = self.beside.get(element)
            self.beside[element] = f"{earlier}; {text}" if earlier else text

    def extend(self, other: FormProblems) -> None:
        for element, text in other.summary:
            self.summary.append((element, text))
        for element, text in other.beside.items():
            earlier = self.beside.get(element)
            self.beside[element] = f"{earlier}; {text}" if earlier else text
