"""URLs of the dashboards and boards (issue: dashboards)."""

urlpatterns = []
