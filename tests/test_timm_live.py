"""Live parity against timm, run where torch and timm are installed.

CI has neither (the committed fixture test covers conversion there); this
test runs in a developer environment with `pip install 'keras-nest[torch]'`.
"""

import pytest

pytest.importorskip("torch")
pytest.importorskip("timm")


@pytest.mark.slow
def test_nest_tiny_jx_parity():
    from tools.timm_parity import main

    assert main(["--model", "nest_tiny_jx", "--batch-size", "2"]) == 0
