import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.memory import available_memory, format_bytes, parse_memory


@pytest.mark.parametrize("text, expected", [
    ("4GB", 4 * 10**9), ("4 GB", 4 * 10**9), ("512MiB", 512 * 2**20), ("1.5GiB", int(1.5 * 2**30)),
    ("800m", 800 * 10**6), ("123", 123), (2**30, 2**30), (1e9, 10**9),
])
def test_sizes_are_read_in_the_units_free_prints(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("bad", ["four GB", "4XB", "", "-1GB", "0", True, 0])
def test_a_size_that_is_not_one_is_a_config_error_naming_the_option(bad):
    with pytest.raises(ConfigError, match="memory must be"):
        parse_memory(bad)


def test_available_memory_is_what_the_machine_reports_free():
    with open("/proc/meminfo") as lines:
        meminfo = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in lines}
    free = available_memory()
    assert 0 < free <= meminfo["MemTotal"]
    assert free <= meminfo["MemAvailable"] * 1.2  # it moves between the two reads


def test_sizes_are_printed_in_the_units_they_are_read_in():
    assert format_bytes(5.1e9) == "5.1 GB" and parse_memory("5.1GB") == 5_100_000_000
    assert format_bytes(340e6) == "340 MB" and format_bytes(12) == "12 B"
