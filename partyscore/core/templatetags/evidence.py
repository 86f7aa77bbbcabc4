"""{% evidence url name %}: an uploaded file on a review page, a thumbnail for an image, else a link."""

import posixpath

from django import template

from partyscore.core.evidence_files import is_image
from partyscore.core.filenames import download_name

register = template.Library()


@register.inclusion_tag("_evidence.html")
def evidence(url, name):
    return {"url": url, "name": download_name(posixpath.basename(name or "")), "image": is_image(name)}
