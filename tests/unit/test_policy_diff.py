"""What changed between two versions of a policy document (scheduler/policies/document.py)."""

from __future__ import annotations

from scheduler.policies.document import DiffLine, document_diff, pretty


def test_a_changed_value_is_one_removed_and_one_added_line_among_unchanged_ones() -> None:
    before = {"a": 1, "b": {"c": 2, "d": 3}, "e": 4, "f": 5, "g": 6, "h": 7}
    after = {**before, "b": {"c": 2, "d": 30}}

    [group] = document_diff(before, after)

    changed = [line for line in group if line.change != "same"]
    assert changed == [DiffLine("removed", 5, '    "d": 3'), DiffLine("added", 5, '    "d": 30')]
    assert [line.text for line in group if line.change == "same"] == [
        '  "b": {',
        '    "c": 2,',
        "  },",
        '  "e": 4,',
    ]


def test_changes_far_apart_come_in_separate_groups() -> None:
    before = dict.fromkeys("abcdefghij", 0)
    after = {**before, "a": 1, "j": 1}

    assert len(document_diff(before, after)) == 2


def test_the_same_document_has_no_change_and_a_first_version_is_all_added() -> None:
    document = {"b": [1, 2], "a": "x"}

    assert document_diff(document, dict(reversed(document.items()))) == []
    [group] = document_diff(None, document)
    assert [line.change for line in group] == ["added"] * len(pretty(document).splitlines())
