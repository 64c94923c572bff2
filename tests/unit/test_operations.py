"""The operation registry: each operation's declarations are complete and no two claim the same place."""

from __future__ import annotations

import inspect

from arktrace.operations import OPERATIONS, PATCH_POINTS, PATH_OPERATIONS, Operation, operation_for_path
from arktrace.operations._common import StreamState


def test_no_two_operations_claim_the_same_path_or_patch_point():
    paths = [path for op in OPERATIONS for path in op.paths]
    assert len(paths) == len(set(paths)) == len(PATH_OPERATIONS)
    points = [point[:3] for point in PATCH_POINTS]
    assert len(points) == len(set(points))


def test_each_operation_declares_what_the_lifecycle_reads():
    for op in OPERATIONS:
        assert isinstance(op, Operation)
        # no paths: not a POST (a task's get, list, delete), traced at its resource methods only
        assert op.name and op.span_kind and op.patch_points, op
        assert all(path.startswith("/") and operation_for_path(path) is op for path in op.paths)
        assert all(
            len(point) == 3 and all(isinstance(part, str) for part in point) for point in op.patch_points
        )
        assert isinstance(op.safe_arguments, dict) and "model" in op.safe_arguments
        assert callable(op.request_content) and callable(op.price)
        assert isinstance(op.content_arguments, frozenset)
        assert all(isinstance(name, str) for name in op.content_arguments)
        # a stream is folded by a state class, and asking for usage needs a stream to hide it from
        if op.stream_state is not None:
            assert inspect.isclass(op.stream_state) and issubclass(op.stream_state, StreamState)
        else:
            assert not op.include_usage
        for hook in (
            op.output_messages,
            op.reported_failure,
            op.outcome,
            op.output_format,
            op.output_summary,
            op.output_content,
            op.links,
            op.ended,
        ):
            assert hook is None or callable(hook)
