"""XMP sidecars: what Lightroom, Capture One and darktable write is read; our merge keeps the rest."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from engine.project import xmp
from engine.project.xmp import XmpError, merge_xmp, parse_xmp, read_sidecar, sidecar_candidates, write_sidecar

# Lightroom Classic's shape: properties as attributes of one rdf:Description, plus develop settings.
LIGHTROOM = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
   xmp:Rating="4"
   xmp:Label="Green"
   crs:Exposure2012="+0.35"
   crs:WhiteBalance="As Shot"
   photoshop:DateCreated="2026-03-14T09:26:53">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>spring catalogue</rdf:li>
     <rdf:li>product/old class</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <dc:creator><rdf:Seq><rdf:li>Studio A</rdf:li></rdf:Seq></dc:creator>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

# darktable's shape: IMG.CR2.xmp, rating attribute, colour labels as an rdf:Seq of indices, history.
DARKTABLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="-1"
   darktable:xmp_version="5"
   darktable:history_end="1">
   <darktable:colorlabels><rdf:Seq><rdf:li>3</rdf:li></rdf:Seq></darktable:colorlabels>
   <darktable:history><rdf:Seq><rdf:li darktable:operation="exposure" darktable:enabled="1"/></rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

# Capture One's shape: properties as elements (a sidecar posted on the Camera Bits forum).
CAPTURE_ONE = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 5.5.0">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">
<xmp:Rating>2</xmp:Rating>
<xmp:Label>Pink</xmp:Label>
<photoshop:Urgency>4</photoshop:Urgency>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
"""


def test_lightroom_sidecar_is_read(tmp_path):
    (tmp_path / "IMG_0001.xmp").write_bytes(LIGHTROOM)
    values = read_sidecar(tmp_path / "IMG_0001.xmp")
    assert (values.rating, values.label) == (4, "green")
    assert values.keywords == ["spring catalogue", "product/old class"]
    assert values.problems == []


def test_darktable_sidecar_is_read(tmp_path):
    image = tmp_path / "IMG_0002.CR2"
    (tmp_path / "IMG_0002.CR2.xmp").write_bytes(DARKTABLE)
    assert [p.name for p in sidecar_candidates(image)] == ["IMG_0002.CR2.xmp"]
    values = read_sidecar(sidecar_candidates(image)[0])
    assert (values.rating, values.label) == (-1, "blue")  # rejected; darktable's label 3 is blue


def test_capture_one_elements_and_a_foreign_label(tmp_path):
    values = parse_xmp(CAPTURE_ONE, "IMG.xmp")
    assert values.rating == 2 and values.label is None
    assert values.problems == ["IMG.xmp: label 'Pink' is not one of ours; kept in the file"]
    merged = merge_xmp(CAPTURE_ONE, 5, None)
    again = parse_xmp(merged)
    assert again.rating == 5
    assert b"<xmp:Rating>5</xmp:Rating>" in merged  # the element form the file used
    assert b"Pink" in merged and b"<photoshop:Urgency>4</photoshop:Urgency>" in merged


def _facts(data: bytes) -> set[tuple]:
    """Every element and attribute of a document with its text: its meaning, whatever the layout."""
    facts = set()
    for element in ET.fromstring(data).iter():
        text = (element.text or "").strip()
        facts.add((element.tag, text))
        facts.update((element.tag, key, value) for key, value in element.attrib.items())
    return facts


def test_merge_keeps_every_other_field_and_namespace(tmp_path):
    path = tmp_path / "IMG_0001.xmp"
    path.write_bytes(LIGHTROOM)
    write_sidecar(path, 2, "red", keywords=["product/hand bag"])
    merged = path.read_bytes()
    values = read_sidecar(path)
    assert (values.rating, values.label) == (2, "red")
    assert values.keywords == ["spring catalogue", "product/hand bag"]  # our stale one replaced
    changed = {
        (
            "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description",
            "{http://ns.adobe.com/xap/1.0/}Rating",
            "4",
        ),
        (
            "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description",
            "{http://ns.adobe.com/xap/1.0/}Label",
            "Green",
        ),
        ("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li", "product/old class"),
    }
    assert _facts(LIGHTROOM) - changed <= _facts(merged)  # nothing else lost
    for prefix in (b"crs:Exposure2012", b"photoshop:DateCreated", b"dc:creator", b"xmp:Rating"):
        assert prefix in merged  # the file's own prefixes, not ns0
    assert ET.fromstring(merged).tag == "{adobe:ns:meta/}xmpmeta"


def test_round_trip_of_a_new_sidecar(tmp_path):
    path = tmp_path / "new.xmp"
    for rating, label in [(0, None), (3, "yellow"), (-1, "purple"), (5, None)]:
        write_sidecar(path, rating, label)
        values = read_sidecar(path)
        assert (values.rating, values.label) == (rating, label)


def test_darktable_history_survives_a_merge(tmp_path):
    merged = merge_xmp(DARKTABLE, 3, "red")
    assert parse_xmp(merged).rating == 3 and parse_xmp(merged).label == "red"
    assert _facts(DARKTABLE) - {
        (
            "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description",
            "{http://ns.adobe.com/xap/1.0/}Rating",
            "-1",
        )
    } <= _facts(merged)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"this is not xml <<<", "not XML"),
        (b"<html><body>hi</body></html>", "not XMP"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>',
            "refused",
        ),
    ],
)
def test_bad_xmp_is_a_clear_error_and_is_never_overwritten(tmp_path, data, words):
    path = tmp_path / "IMG.xmp"
    path.write_bytes(data)
    with pytest.raises(XmpError, match=words) as caught:
        read_sidecar(path)
    assert str(caught.value).startswith("IMG.xmp: ") and "\n" not in str(caught.value)
    with pytest.raises(XmpError):
        write_sidecar(path, 3, None)
    assert path.read_bytes() == data


@pytest.mark.parametrize("rating", ["80", "4.5", "five", "-2"])
def test_foreign_rating_scale_is_reported_and_ignored(rating):
    data = LIGHTROOM.replace(b'xmp:Rating="4"', f'xmp:Rating="{rating}"'.encode())
    values = parse_xmp(data, "IMG.xmp")
    assert values.rating is None and values.label == "green"
    assert "not on XMP's -1 to 5 scale" in values.problems[0]


def test_embedded_xmp_of_a_jpeg_is_read(tmp_path):
    from PIL import Image

    path = tmp_path / "shot.jpg"
    Image.new("RGB", (8, 8)).save(path, xmp=LIGHTROOM)
    values = xmp.read_embedded(path)
    assert values is not None and (values.rating, values.label) == (4, "green")
    assert xmp.read_embedded(tmp_path / "missing.jpg") is None


def test_sidecar_path_follows_the_naming_and_an_existing_case(tmp_path):
    image = tmp_path / "IMG_0003.NEF"
    assert xmp.sidecar_path(image, "stem").name == "IMG_0003.xmp"
    assert xmp.sidecar_path(image, "full").name == "IMG_0003.NEF.xmp"
    (tmp_path / "IMG_0003.XMP").write_bytes(LIGHTROOM)
    assert xmp.sidecar_path(image, "stem").name == "IMG_0003.XMP"


# digiKam's shape (IMG.CR2.xmp, written through Exiv2): its own colour number and pick label beside
# xmp:Label and xmp:Rating (KDE/digikam dmetadata_labels.cpp, setImageColorLabel / setImagePickLabel).
DIGIKAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
   xmp:Rating="3"
   xmp:Label="Green"
   digiKam:ColorLabel="4"
   digiKam:PickLabel="3"
   photoshop:Urgency="4">
   <digiKam:TagsList><rdf:Seq><rdf:li>Shoots/Spring</rdf:li></rdf:Seq></digiKam:TagsList>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def test_digikam_sidecar_is_read():
    values = parse_xmp(DIGIKAM, "IMG_0001.CR2.xmp")
    assert (values.rating, values.label, values.pick) == (3, "green", "pick")
    assert values.problems == []
    # digiKam clears a label by writing 0 and leaves the old xmp:Label behind; it reads its number first.
    cleared = parse_xmp(DIGIKAM.replace(b'digiKam:ColorLabel="4"', b'digiKam:ColorLabel="0"'))
    assert cleared.label is None and cleared.label_cleared
    magenta = parse_xmp(DIGIKAM.replace(b'digiKam:ColorLabel="4"', b'digiKam:ColorLabel="6"'))
    assert magenta.label == "purple"  # digiKam writes "Purple" to xmp:Label for its magenta
    orange = parse_xmp(DIGIKAM.replace(b'digiKam:ColorLabel="4"', b'digiKam:ColorLabel="2"'), "X.xmp")
    assert orange.label is None and orange.label_present and not orange.label_cleared
    assert orange.problems == ["X.xmp: digiKam colour label 2 is not one of ours; kept"]
    rejected = parse_xmp(DIGIKAM.replace(b'digiKam:PickLabel="3"', b'digiKam:PickLabel="1"'))
    assert rejected.pick == "reject"
    assert parse_xmp(DIGIKAM.replace(b'digiKam:PickLabel="3"', b'digiKam:PickLabel="2"')).pick == ""


def test_a_cleared_label_is_told_from_no_label_field():
    assert parse_xmp(LIGHTROOM.replace(b'xmp:Label="Green"', b'xmp:Label=""')).label_cleared
    element = CAPTURE_ONE.replace(b"<xmp:Label>Pink</xmp:Label>", b"<xmp:Label/>")
    assert parse_xmp(element).label_cleared
    absent = parse_xmp(LIGHTROOM.replace(b'xmp:Label="Green"', b""))
    assert absent.label is None and not absent.label_cleared and not absent.label_present


def test_merge_keeps_digikam_fields_in_step_and_adds_none_elsewhere():
    merged = merge_xmp(DIGIKAM, 5, "blue", flag=None)
    values = parse_xmp(merged)
    assert (values.rating, values.label, values.pick) == (5, "blue", "")
    root = ET.fromstring(merged)
    description = root.find(f".//{{{xmp.RDF}}}Description")
    assert description.get(f"{{{xmp.DIGIKAM}}}ColorLabel") == "5"
    assert description.get(f"{{{xmp.XMP}}}Label") == "Blue"
    assert b"Shoots/Spring" in merged and b'photoshop:Urgency="4"' in merged  # the rest is kept
    cleared = parse_xmp(merge_xmp(DIGIKAM, 3, None, flag="pick"))
    assert cleared.label is None and cleared.label_cleared and cleared.pick == "pick"
    assert b"digiKam" not in merge_xmp(LIGHTROOM, 2, "red", flag="pick")  # no digiKam fields elsewhere
