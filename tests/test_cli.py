import json

import keras_nest
from keras_nest import cli


def test_models_command_lists_sizes(capsys):
    assert cli.main(["models", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(keras_nest.list_models())
    assert rows["nest_tiny_imagenet"] == {
        "name": "nest_tiny_imagenet",
        "params": 17_057_608,
        "input_size": "224x224",
        "gmacs": 5.807,
    }
