from rest_framework.renderers import JSONRenderer

# As Django's json_script: <, > and & written as \u escapes (valid JSON, same strings once parsed), so a
# name typed as "<script>" can never become markup, even for a client that sniffs the answer as HTML.
ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


class SafeJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        rendered = super().render(data, accepted_media_type, renderer_context)
        return rendered.decode().translate(ESCAPES).encode()
