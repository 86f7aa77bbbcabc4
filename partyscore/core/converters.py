"""URL converters, registered on import by the URL modules that use them."""

from django.urls import register_converter


class YearConverter:
    """A year in a URL: four digits, 1000–2999. A page about year 1000000 is simply not found, instead
    of reaching date arithmetic and the database with a number they cannot hold (a 500)."""

    regex = "[12][0-9]{3}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(YearConverter, "year")
