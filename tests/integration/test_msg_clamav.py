"""ClamAV's malformed-MIME test mails: the attachment is found in each.

ClamAV's unit tests (corpora/mime-torture/clamav-unit-tests) carry its
544-byte test executable clam.exe in seven deliberately malformed mails
(two boundary= parameters, two Content-Type fields, a boundary in
Content-Disposition, a comment in a header name, ...); libclamav's own
mail parser misses it in four. Scanners walk every reading of a message,
so for each mail some reading must hold a part whose decoded body is
clam.exe byte for byte, and a mail where it is not in reading 0 must be
flagged as ambiguous.
"""

from __future__ import annotations

import hashlib

import pytest

import msgdump

CLAM_EXE_SHA256 = "71e7b604d18aefd839e51a39c88df8383bb4c071dc31f87f00a2b5df580d4495"
DIR = msgdump.CORPORA / "mime-torture" / "clamav-unit-tests"
MAILS = ["clam.mail-boundary-content-disposition.eml",
         "clam.mail-comment-header-name.eml",
         "clam.mail-disposition-rfc2231-boundary.eml",
         "clam.mail-multiple-boundaries.eml",
         "clam.mail-multiple-content-type.eml",
         "clam.mail-nested-comment-header-name.eml",
         "clam.mail-semicolon-boundary.eml"]
AMBIGUITY = {"two-boundaries", "two-content-types", "header-name-comment", "header-no-colon",
             "boundary-prefix", "part-after-close", "boundary-in-base64", "two-cte"}


@pytest.mark.parametrize("name", MAILS)
def test_attachment_found(name, tmp_path):
    path = msgdump.need_corpora("mime-torture/clamav-unit-tests") / name
    d = msgdump.dump([path], extra=("--extract", str(tmp_path)))[str(path)]
    found = []
    for r, parts in enumerate(d["readings"]):
        for p in parts:
            body = (tmp_path / f"{name}.r{r}.p{p['index']}").read_bytes()
            if len(body) == 544 and hashlib.sha256(body).hexdigest() == CLAM_EXE_SHA256:
                found.append((r, p))
    assert found, f"clam.exe is in no reading of {name} ({len(d['readings'])} readings)"
    r, p = found[0]
    assert "clam.exe" in p["filenames"]
    if r > 0:
        assert AMBIGUITY & set(d["flags"]), f"found only in reading {r} but nothing flagged"


def test_plain_clam_mail():
    """the well-formed ones: clam.exe in reading 0 (base64 and uuencode)"""
    names = ["clam.mail", "clam.exe.mbox.base64", "clam.exe.mbox.uu"]
    paths = [msgdump.need_corpora("mime-torture/clamav-unit-tests") / n for n in names]
    out = msgdump.dump(paths)
    for p in paths:
        sizes = [q["decoded_len"] for q in out[str(p)]["readings"][0]]
        assert 544 in sizes, f"{p.name}: parts {sizes}"
