"""The mime4j test messages as an oracle for the message model.

Apache James mime4j ships, next to each test message NAME.msg, the
structure it expects (NAME_decoded.xml) and every decoded leaf body
(NAME_decoded_1_2.txt / .bin). For each message we check, against
`mxmoat dump --json --extract`:

  * the part tree: multipart nesting, number of children, message/rfc822
    parts descended into (also when the message is base64-encoded);
  * every leaf's decoded body, byte for byte;
  * preamble and epilogue text (where mime4j gives them).

A reading other than reading 0 may match when mxmoat flags the message
as ambiguous (mime4j's defaults differ from ours in a few places, and its
"StartsBody" cases are the same input parsed with another option). The
few cases where mime4j's expectation is not what mail clients do are in
DEVIATIONS, each with its reason, and are checked to still deviate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import msgdump

MIME4J = msgdump.CORPORA / "mime-torture" / "mime4j"

# name -> why mxmoat's reading differs from mime4j's expectation
DEVIATIONS = {
    "malformedHeaderStartsBody-nocrlfcrlf":
        "mime4j's malformedHeaderStartsBody option drops the header line after "
        "the malformed one; mxmoat's reading 1 (the malformed line starts the "
        "body) keeps it, as a client that stops at the bad line would show it",
    "malformedHeaderStartsBody-noheader":
        "mime4j's oracle keeps only the first of the two body lines (its "
        "StartsBody option consumes the second); mxmoat keeps both",
    "frag":
        "the last base64 group of aprilfools.jpg lacks its padding '=': mxmoat "
        "decodes its two bytes (and flags bad-base64), mime4j and GMime drop them",
    "malformedHeader-noheader":
        "mime4j expects an empty body for a message without a header block; "
        "mxmoat (and clients) show the text as the body",
}


def messages():
    if not MIME4J.is_dir():
        return []
    return sorted(MIME4J.rglob("*.msg"))


def expected_tree(xml_path: Path):
    """the _decoded.xml as nested dicts: {kind, children, body, preamble, epilogue}"""
    root = ET.parse(xml_path).getroot()

    def entity(el):
        # el is <message> or <body-part>: a header, then one body element
        node = {"kind": "leaf", "children": [], "body": None, "preamble": None,
                "epilogue": None}
        for child in el:
            if child.tag == "header":
                continue
            if child.tag in ("text-body", "binary-body"):
                node["body"] = child.get("name")
            elif child.tag == "body":
                node["body"] = ("inline", child.text or "")
            elif child.tag == "message":
                node["kind"] = "message"
                node["children"] = [entity(child)]
            elif child.tag == "multipart":
                node["kind"] = "multipart"
                for mc in child:
                    if mc.tag == "body-part":
                        node["children"].append(entity(mc))
                    elif mc.tag == "preamble":
                        node["preamble"] = mc.text or ""
                    elif mc.tag == "epilogue":
                        node["epilogue"] = mc.text or ""
        return node

    return entity(root)


def our_tree(parts, extract_dir: Path, base: str, reading: int):
    by_index = {p["index"]: p for p in parts}
    kids = {p["index"]: [] for p in parts}
    for p in parts:
        if p["parent"] >= 0:
            kids[p["parent"]].append(p["index"])

    def node(i):
        p = by_index[i]
        n = {"part": p, "children": [node(c) for c in kids[i]]}
        f = extract_dir / f"{base}.r{reading}.p{i}"
        n["decoded"] = f.read_bytes() if f.exists() else b""
        return n

    return node(0)


def compare(exp, ours, xml_dir: Path, where="r"):
    """None if they agree, else a description of the first difference"""
    p = ours["part"]
    kids = ours["children"]
    if p["type"] == "text" and p["cte"] != "uuencode":
        # inline uuencoded files are children of their text part in our
        # model; mime4j leaves them in the text
        kids = [k for k in kids if k["part"]["cte"] != "uuencode"]
    if exp["kind"] == "multipart":
        if p["type"] != "multipart":
            return f"{where}: expected multipart, got {p['type']}/{p['subtype']}"
        if len(kids) != len(exp["children"]):
            return f"{where}: expected {len(exp['children'])} children, got {len(kids)}"
    elif exp["kind"] == "message":
        if len(kids) != 1:
            return f"{where}: expected an attached message, got {len(kids)} children " \
                   f"({p['type']}/{p['subtype']})"
    else:
        if p["type"] == "multipart" and len(kids) > 0:
            return f"{where}: expected a leaf, got a multipart with {len(kids)} children"
        body = exp["body"]
        if isinstance(body, str):
            want = (xml_dir / body).read_bytes()
            got = ours["decoded"]
            if p["cte"] == "quoted-printable":
                # mime4j writes CRLF for every line break of a QP body (the
                # canonical form); we keep the line ends as sent, as GMime
                want, got = want.replace(b"\r\n", b"\n"), got.replace(b"\r\n", b"\n")
            if want != got:
                return f"{where}: decoded body differs: expected {len(want)} bytes " \
                       f"{want[:60]!r}..., got {len(got)} bytes {got[:60]!r}..."
    for k, (e, o) in enumerate(zip(exp["children"], kids), 1):
        d = compare(e, o, xml_dir, f"{where}.{k}")
        if d is not None:
            return d
    return None


def case_id(p) -> str:
    return f"{p.parent.name}/{p.stem}" if isinstance(p, Path) else "none"


@pytest.mark.parametrize("msg", messages(), ids=case_id)
def test_mime4j_oracle(msg: Path, tmp_path: Path):
    xml = msg.with_name(msg.stem + "_decoded.xml")
    if not xml.exists():
        pytest.skip("no decoded oracle")
    exp = expected_tree(xml)
    out = msgdump.dump([msg], extra=("--extract", str(tmp_path)))[str(msg)]
    diffs = []
    for r, parts in enumerate(out["readings"]):
        d = compare(exp, our_tree(parts, tmp_path, msg.name, r), xml.parent)
        if d is None:
            break
        diffs.append(f"reading {r}: {d}")
    else:
        if msg.stem in DEVIATIONS:
            return
        pytest.fail("; ".join(diffs) + f" (flags {out['flags']})")
    assert msg.stem not in DEVIATIONS, "a listed deviation now agrees: drop it from DEVIATIONS"
    if r > 0:
        # another reading than the first matched: only if we said why
        assert set(out["flags"]) - {"bare-lf", "long-line"}, \
            f"reading {r} matches but no ambiguity was flagged"
