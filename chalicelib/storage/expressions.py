"""Expressions: one item's change (SET/REMOVE/ADD and the conditions it is guarded by),
written once here so that no other code spells an UpdateExpression or a condition.

`Filter()` is a Query's FilterExpression, built the same way.

`Change(key)` collects clauses and conditions, binding every attribute name and value to a
placeholder; it then becomes a transaction action (`.action()`, `.delete()`, `.check()`,
`.put(item)`) or runs alone (`.apply()`).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import Any, Callable, Mapping, Self

from . import keys, table
from .schema import PK

Action = dict[str, Any]


class Placeholders:
    """Attribute names and values bound to placeholders (`#name`, `:v0`), for one request,
    and the conditions on them that all must hold."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._conditions: list[str] = []

    def equals(self, field: str, value: Any) -> Self:
        self._conditions.append(f"{self._name(field)} = {self._value(value)}")
        return self

    def _name(self, path: str) -> str:
        """`revocation.cascade_pending` → `#revocation.#cascade_pending`."""
        placeholders = []
        for part in path.split("."):
            placeholder = "#" + re.sub(r"\W", "_", part)
            self.names[placeholder] = part
            placeholders.append(placeholder)
        return ".".join(placeholders)

    def _value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder


class Filter(Placeholders):
    """A Query's FilterExpression: conditions on attributes that are not keys, all of
    which must hold (DynamoDB applies it after reading a page: a page may come back short).

    Each condition is also kept as a test of an item (`matches`), for items read by key
    (a BatchGet after an index page), so that a filter is written once for both."""

    def __init__(self) -> None:
        super().__init__()
        self._tests: list[Callable[[Mapping[str, Any]], bool]] = []

    def equals(self, field: str, value: Any) -> Self:
        self._tests.append(lambda item: _at(item, field) == value)
        return super().equals(field, value)

    def at_least(self, field: str, value: Any) -> Filter:
        self._conditions.append(f"{self._name(field)} >= {self._value(value)}")
        self._tests.append(lambda item: (found := _at(item, field)) is not None and found >= value)
        return self

    def below(self, field: str, value: Any) -> Filter:
        self._conditions.append(f"{self._name(field)} < {self._value(value)}")
        self._tests.append(lambda item: (found := _at(item, field)) is not None and found < value)
        return self

    def contains(self, field: str, value: Any) -> Filter:
        """The set or list `field` holds `value`."""
        self._conditions.append(f"contains({self._name(field)}, {self._value(value)})")
        self._tests.append(lambda item: value in (_at(item, field) or ()))
        return self

    def entry(self, field: str, key: str, value: Any) -> Filter:
        """The map `field` has `key` (any characters: bound apart from `field`) set to `value`."""
        placeholder = f"#k{len(self.names)}"
        self.names[placeholder] = key
        self._conditions.append(f"{self._name(field)}.{placeholder} = {self._value(value)}")
        self._tests.append(lambda item: (_at(item, field) or {}).get(key) == value)
        return self

    @property
    def expression(self) -> str | None:
        """None: nothing to filter."""
        return " AND ".join(self._conditions) or None

    def matches(self, item: Mapping[str, Any]) -> bool:
        """Whether an item (as read) meets every condition, as DynamoDB would decide."""
        return all(test(item) for test in self._tests)


def _at(item: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted attribute path (None where absent)."""
    value: Any = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


class Change(Placeholders):
    """A change to one item, guarded by conditions that all must hold."""

    def __init__(self, key: table.Item) -> None:
        super().__init__()
        self.key = key
        self._sets: list[str] = []
        self._removes: list[str] = []
        self._adds: list[str] = []

    # ---- clauses ------------------------------------------------------------------------

    def set(self, field: str, value: Any) -> Change:
        """Set `field`; None removes it (DynamoDB stores no nulls the registry reads)."""
        if value is None:
            return self.remove(field)
        self._sets.append(f"{self._name(field)} = {self._value(value)}")
        return self

    def set_all(self, fields: Mapping[str, Any]) -> Change:
        for field, value in fields.items():
            self.set(field, value)
        return self

    def set_if_absent(self, field: str, value: Any) -> Change:
        name = self._name(field)
        self._sets.append(f"{name} = if_not_exists({name}, {self._value(value)})")
        return self

    def increment(self, field: str, by: int, start: int = 0) -> Change:
        """`field` += `by` (from `start` when absent), as a SET so it sits with other SETs."""
        name = self._name(field)
        self._sets.append(f"{name} = if_not_exists({name}, {self._value(start)}) + {self._value(by)}")
        return self

    def append(self, field: str, *values: Any) -> Change:
        """Append to the list `field` (started when absent)."""
        name = self._name(field)
        self._sets.append(f"{name} = list_append(if_not_exists({name}, {self._value([])}), {self._value(list(values))})")
        return self

    def add(self, field: str, by: int | AbstractSet[str]) -> Change:
        """ADD a number, or the strings of a set to a string set (started when absent)."""
        self._adds.append(f"{self._name(field)} {self._value(by)}")
        return self

    def remove(self, *fields: str) -> Change:
        self._removes.extend(self._name(f) for f in fields)
        return self

    # ---- conditions ---------------------------------------------------------------------

    def exists(self) -> Change:
        """The item exists."""
        self._conditions.append(f"attribute_exists({self._name(PK)})")
        return self

    def absent(self, field: str = PK) -> Change:
        """`field` is not set (by default: the item does not exist)."""
        self._conditions.append(f"attribute_not_exists({self._name(field)})")
        return self

    def present(self, field: str) -> Change:
        self._conditions.append(f"attribute_exists({self._name(field)})")
        return self

    def lacks(self, field: str, value: Any) -> Change:
        """The list or set `field` does not contain `value`."""
        self._conditions.append(f"NOT contains({self._name(field)}, {self._value(value)})")
        return self

    def equals_or_absent(self, field: str, value: Any) -> Change:
        name = self._name(field)
        self._conditions.append(f"(attribute_not_exists({name}) OR {name} = {self._value(value)})")
        return self

    def holds(self, field: str, value: Any) -> Change:
        """`field` equals `value`, or is not set when `value` is None."""
        return self.absent(field) if value is None else self.equals(field, value)

    def bump(self, field: str, read: int | None) -> Change:
        """Assert the counter `field` still has the value read and increment it (an item that
        never had one must exist and still have none)."""
        if read is None:
            self.exists().absent(field)
        else:
            self.equals(field, read)
        return self.set(field, (read or 0) + 1)

    # ---- what it becomes ----------------------------------------------------------------

    @property
    def expression(self) -> str:
        clauses = [("SET", self._sets), ("REMOVE", self._removes), ("ADD", self._adds)]
        return " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses if parts)

    @property
    def condition(self) -> str | None:
        return " AND ".join(self._conditions) or None

    def action(self) -> Action:
        """An Update action for a transaction."""
        return table.action("Update", self.key, expression=self.expression, condition=self.condition,
                            values=self.values, names=self.names)

    def apply(self) -> table.Item:
        """UpdateItem alone; the item as it is after."""
        return table.update(self.key, self.expression, self.values or None, self.names or None, self.condition)

    def delete(self) -> Action:
        """A Delete action of the item, under the conditions."""
        return table.action("Delete", self.key, condition=self.condition, values=self.values, names=self.names)

    def check(self) -> Action:
        """A ConditionCheck action: the transaction holds only if the conditions do."""
        if not self.condition:
            raise ValueError("a condition check needs a condition")
        return table.action("ConditionCheck", self.key, condition=self.condition, values=self.values, names=self.names)

    def put(self, fields: Mapping[str, Any]) -> Action:
        """A Put action of the item (this key plus `fields`), under the conditions."""
        return table.action("Put", {**fields, **self.key}, condition=self.condition, values=self.values,
                            names=self.names)

