"""Every message of the corpora parses, within the limits, with a model
that holds together.

Runs `mxmoat dump --json` (in the ASan/UBSan build too: a sanitizer
report goes to stderr, which fails the test) over the SpamAssassin public
corpus, the recent ham/spam corpora and the MIME torture collection, and
checks for each message what the scanners rely on: at least one reading,
parts numbered in pre-order with consistent parents and depths, offsets
inside the message, decoded/text sizes within the limits, URLs that are
absolute and belong to a part. A second run with tight limits (a small
[mime] section) checks that the limits hold and are flagged.
"""

from __future__ import annotations

import pytest

import msgdump

CORPORA = ["mime-torture", "spamassassin/ham", "spamassassin/spam", "recent-ham", "recent-spam"]

DEFAULTS = {"decoded_part": 25 << 20, "text_part": 2 << 20, "urls": 4096, "readings": 8,
            "parts": 10000, "depth": 100}

TIGHT_CONF = """[mime]
max_header_size = 2K
max_headers = 20
max_header_line = 200
max_depth = 3
max_parts = 5
max_params = 3
max_decoded_part = 4K
max_decoded_total = 16K
max_text_part = 1K
max_urls = 5
max_addresses = 3
max_readings = 2
"""
TIGHT = {"decoded_part": 4096, "text_part": 1024, "urls": 5, "readings": 2, "parts": 5,
         "depth": 3, "decoded_total": 16384}


def check_message(d: dict, lim: dict) -> None:
    f = d["file"]
    assert 1 <= len(d["readings"]) <= lim["readings"], f
    assert len(d["urls"]) <= lim["urls"], f
    total_parts = 0
    total_decoded = 0
    for r, parts in enumerate(d["readings"]):
        assert parts, f"{f}: reading {r} has no parts"
        total_parts += len(parts)
        for i, p in enumerate(parts):
            where = f"{f}: reading {r} part {i}"
            assert p["index"] == i, where
            if i == 0:
                assert p["parent"] == -1, where
            else:
                assert 0 <= p["parent"] < i, where
                parent = parts[p["parent"]]
                assert p["depth"] == parent["depth"] + 1, where
            assert p["depth"] <= lim["depth"] + 1, where
            assert p["type"] and p["subtype"] is not None, where
            assert p["decoded_len"] <= lim["decoded_part"], where
            assert p["text_len"] <= lim["text_part"], where
            assert p["hidden_len"] <= lim["text_part"], where
            total_decoded += p["decoded_len"]
            assert p["offset"] <= p["body_offset"] <= p["body_end"], where
            if p["in_decoded_of"] < 0:
                assert p["body_end"] <= d["size"], where
            else:
                base = parts[p["in_decoded_of"]]
                assert p["body_end"] <= base["decoded_len"] + 1, where
            if p["type"] != "text":
                assert p["text_len"] == 0 or p["type"] == "message", where
    assert total_parts <= lim["parts"] + len(d["readings"]), f
    if "decoded_total" in lim:
        assert total_decoded <= lim["decoded_total"], f
    nparts0 = len(d["readings"][0])
    for u in d["urls"]:
        assert u["url"].startswith(("http://", "https://", "ftp://", "mailto:")), (f, u)
        assert 0 <= u["part"] < nparts0, (f, u)
        assert u["source"] in ("text", "href", "src", "other"), (f, u)


@pytest.mark.parametrize("corpus", CORPORA)
def test_corpus_parses(corpus):
    files = msgdump.corpus_files(corpus)
    assert files, f"no messages in {corpus}"
    out = msgdump.dump(files)
    assert len(out) == len(files)
    for d in out.values():
        check_message(d, DEFAULTS)


def test_corpus_tight_limits(tmp_path):
    conf = tmp_path / "tight.conf"
    conf.write_text(TIGHT_CONF)
    files = msgdump.corpus_files("mime-torture")
    out = msgdump.dump(files, extra=("-c", str(conf)))
    flagged = set()
    for d in out.values():
        check_message(d, TIGHT)
        flagged.update(fl for fl in d["flags"] if fl.startswith("limit-"))
    # the torture corpus reaches every limit that these settings make small
    for fl in ("limit-headers", "limit-depth", "limit-parts", "limit-decoded", "limit-text",
               "limit-urls", "limit-params"):
        assert fl in flagged, f"no message hit {fl}"
