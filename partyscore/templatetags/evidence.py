"""{% evidence url name %}: an uploaded file on a review page, a thumbnail for an image, else a link."""

from django import template

from partyscore.evidence_files import is_image, safe_filename

register = template.Library()


@register.inclusion_tag("_evidence.html")
def evidence(url, name):
    return {"url": url, "name": safe_filename(name), "image": is_image(name)}
