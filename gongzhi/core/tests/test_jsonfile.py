"""The strict JSON file reader shared by the command-line checkers: every failure is the caller's error."""

from decimal import Decimal

import pytest

from gongzhi.core.jsonfile import read_json_file


class Refused(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def write(tmp_path, data: bytes):
    path = tmp_path / "doc.json"
    path.write_bytes(data)
    return str(path)


def test_reads_numbers_exactly_and_accepts_a_byte_order_mark(tmp_path):
    path = write(tmp_path, '\ufeff{"a": 0.1, "b": 7}'.encode())
    assert read_json_file(path, Refused) == {"a": Decimal("0.1"), "b": 7}
    assert read_json_file(path, Refused, parse_int=Decimal)["b"] == Decimal(7)


@pytest.mark.parametrize(
    ("data", "zh", "en"),
    [
        (b'{"a": 1, "a": 2}', "JSON 对象中键 'a' 重复", "duplicate key 'a' in a JSON object"),
        (b'{"a": NaN}', "JSON 中不允许出现 NaN", "NaN is not allowed in the JSON input"),
        (b"\xff\xfe", "文件不是有效的 UTF-8 编码", "file is not valid UTF-8"),
        (b'{"a": ', "JSON 格式无效（第 1 行第 7 列）", "invalid JSON (line 1, column 7)"),
    ],
)
def test_a_bad_document_raises_the_callers_error_in_both_languages(tmp_path, data, zh, en):
    with pytest.raises(Refused) as caught:
        read_json_file(write(tmp_path, data), Refused)
    assert caught.value.zh.startswith(zh)
    assert caught.value.en.startswith(en)


def test_a_missing_file_and_a_directory_are_named(tmp_path):
    with pytest.raises(Refused, match="file not found"):
        read_json_file(str(tmp_path / "absent.json"), Refused)
    with pytest.raises(Refused, match="is a directory"):
        read_json_file(str(tmp_path), Refused)
