import shlex

from lepton_ai.report.reproduce import api_call, command_line


def test_command_line_quotes_and_drops_defaults():
    line = command_line("train", ["my data.csv"], {"label": "a<b c", "quiet": True, "seed": 0, "test": None,
                                                   "max_latency_ms": 2.5, "verbose": False})
    assert shlex.split(line) == ["lepton", "train", "my data.csv", "--label", "a<b c", "--quiet", "--seed", "0",
                                 "--max-latency-ms", "2.5"]


def test_api_call_loads_a_split_file_once():
    text = api_call({"objective": "speed", "budget": "30s", "seed": None},
                    {"train": "iris[train]", "dev": "iris[dev]", "label": "species", "epochs": 4})
    assert "train, dev, test = load_data('iris', label='species')" in text
    assert "LeptonModel(objective='speed', budget='30s').train(train, dev, epochs=4)" in text
    compile(text, "<report>", "exec")


def test_api_call_marks_data_given_in_memory(tmp_path):
    path = tmp_path / "dev.csv"
    path.write_text("a,y\n1,2\n")
    text = api_call({"objective": "balanced"}, {"train": "DataFrame", "dev": str(path), "label": "y"})
    assert "train = ...  # DataFrame, given in memory" in text
    assert f"dev = load_data({str(path)!r}, label='y', split=None)" in text
