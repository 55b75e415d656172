"""One ``device`` setting: auto picks what the machine has; a device it lacks is a clear error."""

import pytest
import torch

from genie.device import pick_device
from genie.errors import UserError


def test_auto_picks_the_gpu_only_when_there_is_one():
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device(None) == pick_device("auto") and pick_device("cpu") == "cpu"


@pytest.mark.parametrize("setting", ["tpu", "gpu0"] + ([] if torch.cuda.is_available() else ["cuda", "cuda:1"]))
def test_a_device_this_machine_lacks_names_the_setting(setting):
    with pytest.raises(UserError, match=f"device={setting}"):
        pick_device(setting)
