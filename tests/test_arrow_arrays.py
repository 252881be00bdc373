"""Arrow arrays built from buffers (curation.io.arrow_arrays) equal what `pa.array` builds, nulls included."""

import numpy as np
import pyarrow as pa
import pytest

from curation.io.arrow_arrays import bool_array, int64_array, string_array


@pytest.mark.parametrize("values", [[], ["a"], ["a", None, "ççé 漢字", "", None], [None, None]])
def test_string_array_equals_pa_array(values):
    built = string_array(values)
    built.validate(full=True)
    assert built.equals(pa.array(values, pa.string())) and built.null_count == values.count(None)


def test_numeric_and_mask_arrays_equal_pa_array():
    ints = np.array([3, -1, 2**40], dtype=np.int64)
    assert int64_array(ints).equals(pa.array(ints.tolist(), pa.int64()))
    mask = np.array([True, False, True] * 5)
    assert bool_array(mask).equals(pa.array(mask.tolist(), pa.bool_()))
