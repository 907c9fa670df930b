"""LaTeX math in titles and abstracts, rendered on the server as MathML.

Text between `$...$` (or `\\(...\\)`) is converted with latex2mathml; everything else is
escaped. The converter passes some input through verbatim (the argument of `\\text{}`),
so its output is parsed and checked against an allow-list of MathML elements and
attributes; a formula that fails the check or does not convert is shown as its escaped
source. Browsers render MathML natively: no math library, no CDN, no JavaScript.
"""

from __future__ import annotations

import re
from functools import lru_cache
from xml.etree import ElementTree

from defusedxml.ElementTree import fromstring
from django.utils.html import escape
from latex2mathml.converter import convert

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
ElementTree.register_namespace("", MATHML_NS)

ALLOWED_TAGS = frozenset(
    "math mrow mi mn mo ms mtext mspace msub msup msubsup mfrac msqrt mroot mover munder "  # noqa: SIM905
    "munderover mtable mtr mtd mstyle mpadded mphantom menclose merror mmultiscripts "
    "mprescripts none semantics".split()
)
ALLOWED_ATTRS = frozenset(
    "display mathvariant stretchy fence separator lspace rspace accent accentunder "  # noqa: SIM905
    "movablelimits columnalign rowalign columnspacing rowspacing columnlines rowlines "
    "width height depth linethickness displaystyle scriptlevel notation form minsize "
    "maxsize symmetric largeop frame framespacing voffset".split()
)
# $...$ with no space just inside the dollars (so "$5 and $10" stays text), or \(...\).
# An escaped dollar (\$) is never a delimiter.
FORMULA = re.compile(r"(?<!\\)\$(?=\S)((?:[^$\\]|\\.){1,500}?)(?<=\S)(?<!\\)\$|\\\((.{1,500}?)\\\)")
MAX_FORMULAS = 40


def _checked(tree: ElementTree.Element) -> bool:
    for element in tree.iter():
        tag = element.tag
        if not isinstance(tag, str) or not tag.startswith("{" + MATHML_NS + "}"):
            return False
        if tag.split("}", 1)[1] not in ALLOWED_TAGS:
            return False
        if any(name not in ALLOWED_ATTRS for name in element.attrib):
            return False
    return True


def formula_to_mathml(latex: str) -> str | None:
    """One formula as safe MathML markup, or None when it cannot be shown as such."""
    try:
        tree = fromstring(convert(latex))
    except Exception:  # the converter raises many kinds of errors on odd input
        return None
    if not _checked(tree):
        return None
    tree.set("alttext", latex)  # screen readers and copy-paste get the source
    return ElementTree.tostring(tree, encoding="unicode")


@lru_cache(maxsize=16384)
def render_math(text: str) -> str:
    """HTML for a text with inline LaTeX: escaped text, MathML for the formulas."""
    if "$" not in text and "\\(" not in text:
        return escape(text)
    out: list[str] = []
    position = 0
    for count, match in enumerate(FORMULA.finditer(text)):
        if count >= MAX_FORMULAS:
            break
        latex = match.group(1) if match.group(1) is not None else match.group(2)
        mathml = formula_to_mathml(latex)
        out.append(escape(text[position : match.start()]))
        out.append(mathml if mathml is not None else escape(match.group(0)))
        position = match.end()
    out.append(escape(text[position:]))
    return "".join(out)


def plain_text(text: str) -> str:
    """The text with math delimiters dropped: for <title>, meta tags and feeds."""
    return FORMULA.sub(lambda m: m.group(1) or m.group(2) or "", text)
