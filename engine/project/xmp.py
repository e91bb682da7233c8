"""XMP sidecars: read stars, colour labels and keywords that other culling tools wrote, and merge ours
into a sidecar without losing anything else in it.

What the tools write (checked against each tool's files or documentation):

- **Rating** — `xmp:Rating` (namespace http://ns.adobe.com/xap/1.0/), 0-5 stars, −1 = rejected (Adobe's
  XMP specification, part 2; Bridge writes −1 for a reject). Lightroom Classic writes it as an attribute
  of `rdf:Description`, Capture One as an element (`<xmp:Rating>0</xmp:Rating>`, a sidecar posted on the
  Camera Bits forum, topic 14626); both forms are read, and a merge keeps the form the file uses.
- **Colour label** — `xmp:Label`, free text; Lightroom writes the names of its label set ("Red",
  "Yellow", "Green", "Blue", "Purple"), Capture One and Photo Mechanic write the same field (Photo
  Mechanic also keeps its own Color Class, forums.camerabits.com topic 16192). darktable reads
  `xmp:Label` but writes `darktable:colorlabels`, an `rdf:Seq` of indices 0 red … 4 purple
  (darktable src/common/exif.cc, `dt_xmp_keys` and the label import); both are read.
- **digiKam** — `digiKam:ColorLabel` (namespace http://www.digikam.org/ns/1.0/), a number: 0 none,
  1 red, 2 orange, 3 yellow, 4 green, 5 blue, 6 magenta, 7 gray, 8 black, 9 white (`enum ColorLabel`,
  core/app/utils/digikam_globals.h); it also writes `xmp:Label` for Lightroom's five colours ("Purple"
  for magenta) but leaves a stale one behind when the label is cleared, and it reads `digiKam:ColorLabel`
  first (KDE/digikam core/libs/metadataengine/dmetadata/dmetadata_labels.cpp, `getImageColorLabel`,
  `setImageColorLabel`); so do we. Its pick flag is `digiKam:PickLabel`: 0 none, 1 rejected, 2 pending,
  3 accepted (`enum PickLabel`, `setImagePickLabel`), the one pick field any of these tools writes; it
  is read, and a merge keeps both digiKam fields in step when the file already has them.
- **A cleared label** — an empty `xmp:Label`, or `digiKam:ColorLabel` 0, says "no label"; a label that
  simply vanished from a sidecar is judged by the caller against what the sidecar said before.
- **Keywords** — `dc:subject`, an `rdf:Bag` of `rdf:li` (what Lightroom smart collections match).
- **Sidecar names** — Lightroom, Camera Raw/Bridge, Capture One and Photo Mechanic use `IMG_0001.xmp`
  (the extension replaced); darktable and digiKam use `IMG_0001.CR2.xmp` (the full name kept; digiKam
  pull request KDE/digikam#6 describes the two camps). Both are looked for; `sidecar_path` picks one.
- **Embedded XMP** — JPEG (APP1 "http://ns.adobe.com/xap/1.0/"), TIFF/DNG (tag 700), PNG (iTXt
  "XML:com.adobe.xmp") and WebP carry a packet inside the image; Pillow exposes it and it is read as
  a fallback. Originals are never written.

Parsing goes through defusedxml (no entities, no DTDs: a sidecar is untrusted input); writing builds
the tree with ElementTree and keeps every element, attribute and namespace it does not own.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from engine.project.values import LABELS
from engine.runtime.atomic import atomic_write_bytes
from engine.runtime.jobs import EngineError

X = "adobe:ns:meta/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XMP = "http://ns.adobe.com/xap/1.0/"
DC = "http://purl.org/dc/elements/1.1/"
DARKTABLE = "http://darktable.sf.net/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
PREFIXES = {"x": X, "rdf": RDF, "xmp": XMP, "dc": DC, "darktable": DARKTABLE, "digiKam": DIGIKAM}
# digiKam's colour label numbers for ours (its 2 orange, 7 gray, 8 black and 9 white are not ours).
DIGIKAM_LABELS = {"red": 1, "yellow": 3, "green": 4, "blue": 5, "purple": 6}
DIGIKAM_PICKS = {0: None, 1: "reject", 2: None, 3: "pick"}  # none, rejected, pending, accepted
NAMINGS = ("stem", "full")  # IMG.xmp (Lightroom, Capture One, Photo Mechanic) | IMG.CR2.xmp (darktable)
MANAGED_KEYWORD_PREFIX = "product/"  # our dc:subject keywords; others' keywords are never touched


class XmpError(EngineError):
    """A sidecar that cannot be used (not XML, not XMP); the message names the file and says why."""

    exit_code = 2


@dataclass
class XmpValues:
    """What a packet says. None: the field is not there (so it must not change anything)."""

    rating: int | None = None  # -1 (rejected) .. 5
    label: str | None = None  # one of values.LABELS
    keywords: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # fields present but unusable, in plain words
    label_present: bool = False  # some label field has a value (ours or not)
    label_cleared: bool = False  # the packet says "no label" (an empty xmp:Label, digiKam's 0)
    pick: str | None = None  # digiKam:PickLabel: "pick", "reject", "" (neither), None (not there)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _parse_tree(data: bytes, name: str) -> ET.Element:
    try:
        root = SafeET.fromstring(data)
    except ET.ParseError as error:
        raise XmpError(f"{name}: not XML ({error}); left as it is") from error
    except DefusedXmlException as error:
        raise XmpError(f"{name}: refused (XML entities or a DTD: {error}); left as it is") from error
    if root.tag != _q(X, "xmpmeta") and root.tag != _q(RDF, "RDF"):
        raise XmpError(f"{name}: XML but not XMP (its root is {root.tag}); left as it is")
    return root


def _descriptions(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(_q(RDF, "Description")))


def _field(root: ET.Element, ns: str, name: str) -> str | None:
    """A simple property, as an attribute of rdf:Description or as its child element."""
    for description in _descriptions(root):
        if _q(ns, name) in description.attrib:
            return description.attrib[_q(ns, name)]
        child = description.find(_q(ns, name))
        if child is not None and child.text is not None:
            return child.text
    return None


def _list_items(root: ET.Element, ns: str, name: str) -> list[str]:
    for description in _descriptions(root):
        child = description.find(_q(ns, name))
        if child is not None:
            return [li.text.strip() for li in child.iter(_q(RDF, "li")) if li.text and li.text.strip()]
    return []


def parse_xmp(data: bytes, name: str = "XMP") -> XmpValues:
    """Rating, label and keywords of an XMP packet; `XmpError` when it is not XMP at all."""
    root = _parse_tree(data, name)
    values = XmpValues(keywords=_list_items(root, DC, "subject"))
    rating = _field(root, XMP, "Rating")
    if rating is not None:
        try:
            number = float(rating.strip())
        except ValueError:
            number = None
        if number is not None and number.is_integer() and -1 <= number <= 5:
            values.rating = int(number)
        else:
            values.problems.append(
                f"{name}: xmp:Rating {rating.strip()!r} is not on XMP's -1 to 5 scale; rating ignored"
            )
    _read_label(root, values, name)
    pick = _field(root, DIGIKAM, "PickLabel")
    if pick is not None and pick.strip().isdigit() and int(pick) in DIGIKAM_PICKS:
        values.pick = DIGIKAM_PICKS[int(pick)] or ""
    return values


def _read_label(root: ET.Element, values: XmpValues, name: str) -> None:
    """digiKam's number first (as digiKam reads it), else xmp:Label, else darktable's indices."""
    number = _field(root, DIGIKAM, "ColorLabel")
    if number is not None and number.strip().isdigit():
        values.label_present = int(number) != 0
        values.label_cleared = int(number) == 0
        by_number = {n: label for label, n in DIGIKAM_LABELS.items()}
        values.label = by_number.get(int(number))
        if values.label_present and values.label is None:
            values.problems.append(f"{name}: digiKam colour label {number.strip()} is not one of ours; kept")
        return
    label = _field(root, XMP, "Label")
    if label is None:  # an empty element (<xmp:Label/>) has no text but is there
        label = "" if _has_element(root, XMP, "Label") else None
    if label is not None and label.strip():
        values.label_present = True
        known = {name.casefold(): name for name in LABELS}
        if label.strip().casefold() in known:
            values.label = known[label.strip().casefold()]
        else:
            values.problems.append(f"{name}: label {label.strip()!r} is not one of ours; kept in the file")
    elif (colours := _list_items(root, DARKTABLE, "colorlabels")) and colours[0].isdigit():
        index = int(colours[0])
        values.label_present = True
        values.label = LABELS[index] if index < len(LABELS) else None
    elif label is not None:
        values.label_cleared = True


def _has_element(root: ET.Element, ns: str, name: str) -> bool:
    return any(d.find(_q(ns, name)) is not None for d in _descriptions(root))


def read_sidecar(path: Path) -> XmpValues:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise XmpError(f"{path.name}: cannot be read ({error.strerror or error})") from error
    return parse_xmp(data, path.name)


def read_embedded(image_path: Path) -> XmpValues | None:
    """The XMP packet inside a JPEG/TIFF/PNG/WebP, or None when it has none (or is not an image)."""
    from PIL import Image

    packet = None
    with contextlib.suppress(Exception), Image.open(image_path) as image:
        packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
        if packet is None and hasattr(image, "tag_v2"):
            packet = image.tag_v2.get(700)
    if not packet:
        return None
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    return parse_xmp(bytes(packet), f"{image_path.name} (embedded XMP)")


def sidecar_candidates(image_path: Path) -> list[Path]:
    """Existing sidecars of `image_path`, in either naming and either case of `.xmp`."""
    names = [image_path.with_suffix(s) for s in (".xmp", ".XMP")]
    names += [image_path.with_name(image_path.name + s) for s in (".xmp", ".XMP")]
    found, seen = [], set()
    for path in names:
        with contextlib.suppress(OSError):
            if path.is_file() and (key := path.stat().st_ino) not in seen:
                seen.add(key)
                found.append(path)
    return found


def sidecar_path(image_path: Path, naming: str) -> Path:
    """Where a sidecar in `naming` goes; an existing one in that naming keeps its case (`IMG.XMP`)."""
    if naming not in NAMINGS:
        raise ValueError(f"sidecar naming must be one of {NAMINGS}, not {naming!r}")
    if naming == "stem":
        options = [image_path.with_suffix(".xmp"), image_path.with_suffix(".XMP")]
    else:
        options = [image_path.with_name(image_path.name + s) for s in (".xmp", ".XMP")]
    return next((p for p in options if p.is_file()), options[0])


def _register_prefixes(data: bytes) -> None:
    """Keep the file's own prefixes on writing (ElementTree's registry is global, hence only known ones
    and the file's, and never ElementTree's reserved ns0-style names)."""
    import io

    with contextlib.suppress(ET.ParseError, DefusedXmlException, ValueError):
        for _, (prefix, uri) in SafeET.iterparse(io.BytesIO(data), events=("start-ns",)):
            if prefix and not prefix.startswith("ns") and uri:
                ET.register_namespace(prefix, uri)


def _skeleton() -> ET.Element:
    root = ET.Element(_q(X, "xmpmeta"), {_q(X, "xmptk"): "ShootStudio"})
    rdf = ET.SubElement(root, _q(RDF, "RDF"))
    ET.SubElement(rdf, _q(RDF, "Description"), {_q(RDF, "about"): ""})
    return root


def _set_simple(root: ET.Element, ns: str, name: str, value: str | None) -> None:
    """Set (or with None remove) a simple property wherever the file keeps it, else as an attribute of
    the first rdf:Description (Lightroom's form)."""
    key = _q(ns, name)
    placed = False
    for description in _descriptions(root):
        if key in description.attrib:
            if value is None or placed:
                del description.attrib[key]
            else:
                description.attrib[key] = value
                placed = True
        for child in description.findall(key):
            if value is None or placed:
                description.remove(child)
            else:
                child.text = value
                placed = True
    if value is not None and not placed:
        _descriptions(root)[0].set(key, value)


def _set_keywords(root: ET.Element, keywords: list[str]) -> None:
    """Replace our `product/...` keywords in dc:subject by `keywords`; every other keyword stays."""
    bag = None
    for description in _descriptions(root):
        subject = description.find(_q(DC, "subject"))
        if subject is not None:
            bag = subject.find(_q(RDF, "Bag"))
            if bag is None:
                bag = ET.SubElement(subject, _q(RDF, "Bag"))
            break
    if bag is None:
        if not keywords:
            return
        subject = ET.SubElement(_descriptions(root)[0], _q(DC, "subject"))
        bag = ET.SubElement(subject, _q(RDF, "Bag"))
    for li in list(bag.findall(_q(RDF, "li"))):
        if (li.text or "").startswith(MANAGED_KEYWORD_PREFIX) and li.text not in keywords:
            bag.remove(li)
    present = {li.text for li in bag.findall(_q(RDF, "li"))}
    for keyword in keywords:
        if keyword not in present:
            ET.SubElement(bag, _q(RDF, "li")).text = keyword


def merge_xmp(
    existing: bytes | None,
    rating: int,
    label: str | None,
    keywords: list[str] | None = None,
    name: str = "XMP",
    flag: str | None = None,
) -> bytes:
    """`existing` (a sidecar's bytes, or None for a new one) with our rating (-1 rejected .. 5), label and,
    when `keywords` is not None, our `product/...` keywords; everything else is kept. A label we do not
    know (Capture One's "Pink", a custom label set) stays when ours is None. A file digiKam manages
    (it has `digiKam:ColorLabel` or `digiKam:PickLabel`) gets both in step too, with `flag` (pick,
    reject or None) as its pick label; no other file gains digiKam's fields."""
    if not -1 <= rating <= 5:
        raise ValueError(f"an XMP rating is -1 to 5, not {rating}")
    for prefix, uri in PREFIXES.items():
        ET.register_namespace(prefix, uri)
    if existing:
        _register_prefixes(existing)
        root = _parse_tree(existing, name)
        if not _descriptions(root):
            rdf = root if root.tag == _q(RDF, "RDF") else root.find(_q(RDF, "RDF"))
            if rdf is None:
                rdf = ET.SubElement(root, _q(RDF, "RDF"))
            ET.SubElement(rdf, _q(RDF, "Description"), {_q(RDF, "about"): ""})
    else:
        root = _skeleton()
    _set_simple(root, XMP, "Rating", str(rating))
    current = _field(root, XMP, "Label")
    ours = {name.casefold() for name in LABELS}
    if label is not None:
        _set_simple(root, XMP, "Label", label.capitalize())
    elif current is not None and current.strip().casefold() in ours:
        _set_simple(root, XMP, "Label", None)
    if _field(root, DIGIKAM, "ColorLabel") is not None or _field(root, DIGIKAM, "PickLabel") is not None:
        number = (_field(root, DIGIKAM, "ColorLabel") or "").strip()
        foreign = number.isdigit() and int(number) not in (0, *DIGIKAM_LABELS.values())  # orange, gray...
        if label is not None or not foreign:
            _set_simple(root, DIGIKAM, "ColorLabel", str(DIGIKAM_LABELS.get(label or "", 0)))
        picks = {"pick": "3", "reject": "1"}
        _set_simple(root, DIGIKAM, "PickLabel", picks.get(flag or "", "0"))
    if keywords is not None:
        _set_keywords(root, keywords)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def write_sidecar(
    path: Path, rating: int, label: str | None, keywords: list[str] | None = None, flag: str | None = None
) -> Path:
    """Merge our values into the sidecar at `path` (created when missing), atomically. A sidecar that is
    not XMP is left untouched and raises `XmpError` (nothing of it is lost)."""
    existing = None
    if path.is_file():
        try:
            existing = path.read_bytes()
        except OSError as error:
            raise XmpError(f"{path.name}: cannot be read ({error.strerror or error})") from error
    return atomic_write_bytes(path, merge_xmp(existing, rating, label, keywords, path.name, flag))
