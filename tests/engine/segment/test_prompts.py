"""The SAM prompt session: points and box since the last other edit, the base mask, generations."""

from __future__ import annotations

import numpy as np

from engine.segment.prompts import Prompt, PromptSession, combine


def test_a_session_keeps_its_base_and_a_new_session_gets_a_new_generation():
    session = PromptSession()
    changes = []
    session.changed.connect(lambda: changes.append(list(session.points)))
    mask = np.zeros((4, 4), np.uint8)
    session.add_point((1.0, 2.0, True), mask)
    mask[0, 0] = 255  # the SAM result lands in the live mask; the session's base stays as it was
    session.add_point((3.0, 1.0, False), mask)
    assert session.active and not session.base.any()
    assert session.prompt == Prompt(((1.0, 2.0, True), (3.0, 1.0, False)))
    first = session.generation
    session.end()
    assert not session.active and session.points == [] and session.generation == first + 1
    assert changes == [[(1.0, 2.0, True)], [(1.0, 2.0, True), (3.0, 1.0, False)], []]
    session.end()  # nothing to end: no event
    assert len(changes) == 3
    session.set_box((0, 0, 2, 2), mask)
    assert session.base[0, 0] == 255  # a new session starts from the mask as it is now


def test_sam_inputs_and_combining():
    add = Prompt(((5.0, 6.0, True), (1.0, 1.0, False)))
    assert add.sam_inputs() == ([(5.0, 6.0), (1.0, 1.0)], [1, 0], None) and not add.subtracts
    cut = Prompt(((5.0, 6.0, False),))
    assert cut.subtracts and cut.sam_inputs() == ([(5.0, 6.0)], [1], None)  # SAM finds the region to cut
    boxed = Prompt(((5.0, 6.0, False),), box=(0, 0, 9, 9))
    assert not boxed.subtracts and boxed.sam_inputs() == ([(5.0, 6.0)], [0], (0, 0, 9, 9))
    base = np.array([[0, 128], [255, 0]], np.uint8)
    found = np.array([[True, True], [False, False]])
    np.testing.assert_array_equal(combine(base, found, add), [[255, 255], [255, 0]])
    np.testing.assert_array_equal(combine(base, found, cut), [[0, 0], [255, 0]])
