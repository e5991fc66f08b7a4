"""What an enforced block may hold (domain/enforced.py): a provisioner Packer can find, in HCL,
HCL JSON or the legacy JSON payload (packer hcl2template/enforced_provisioner_parser.go), its
size, and the names and labels it is known by."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain.enforced import MAX_CONTENT_BYTES, NewBlock, holds_provisioner

HCL = 'provisioner "shell" {\n  inline = ["echo hi"]\n}\n'


@pytest.mark.parametrize("content", [
    HCL,
    '# hardening\n\n  provisioner "shell-local" {}',
    'provisioner "file" {\n}\nprovisioner "shell" {}',
    '{"provisioner": [{"shell": {"inline": ["echo hi"]}}]}',
    '{"provisioners": [{"type": "shell", "inline": ["echo hi"]}]}',
])
def test_packer_finds_a_provisioner_in(content):
    assert holds_provisioner(content)


@pytest.mark.parametrize("content", [
    "echo hi", 'build {\n}', 'source "null" "x" {}', '# provisioner "shell" {', 'xprovisioner "shell" {',
    '{"provisioner": []}', '{"builders": [{"type": "null"}]}', '[{"provisioner": 1}]', '"provisioner"', "{",
])
def test_no_provisioner_in(content):
    assert not holds_provisioner(content)


def test_a_block_is_checked_whole_and_its_text_by_its_bytes():
    NewBlock.model_validate({"name": "CIS hardening-2.0", "block_content": HCL, "version": "1.4.0+b1"})
    limit = HCL + "#" * (MAX_CONTENT_BYTES - len(HCL.encode()))
    NewBlock.model_validate({"name": "x", "block_content": limit})
    with pytest.raises(ValidationError, match="at most 32,768 bytes"):
        NewBlock.model_validate({"name": "x", "block_content": limit[:-1] + "é"})  # one character more than it takes: two bytes
    for name in ("", " x", "x ", "x" * 65, "a/b", "a#b"):
        with pytest.raises(ValidationError):
            NewBlock.model_validate({"name": name, "block_content": HCL})
    for label in ("", "a b", "-1", "v" * 65, "a#b"):
        with pytest.raises(ValidationError):
            NewBlock.model_validate({"name": "x", "block_content": HCL, "version": label})
